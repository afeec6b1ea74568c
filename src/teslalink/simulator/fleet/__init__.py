"""The Fleet API twin: the simulated car's side of the Vehicle Command Protocol (`security_of`), and
`inspect_request`, what the Fleet API reads of a request before the car (scopes, AES-GCM).

Needs the `fleet` extra (cryptography, tesla-protocol); nothing outside simulator.fleet imports it.
"""

from __future__ import annotations

from .car_security import CarSecurity, KeyEntry, RequestView, inspect_request, security_of

__all__ = ["CarSecurity", "KeyEntry", "RequestView", "inspect_request", "security_of"]
