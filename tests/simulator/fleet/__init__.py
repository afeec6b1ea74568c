"""The Fleet API twin (fleet-twin): auth server, regional hosts, partner registration, reads."""
