"""The Fleet API twin: the simulated car's side of the Vehicle Command Protocol (`security_of`).

Needs the `fleet` extra (cryptography, tesla-protocol); nothing outside simulator.fleet imports it.
"""

from __future__ import annotations

from .car_security import CarSecurity, KeyEntry, security_of

__all__ = ["CarSecurity", "KeyEntry", "security_of"]
