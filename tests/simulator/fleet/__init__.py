"""The Fleet API twin: the car's protocol side, auth server, regional hosts, registration, reads."""
