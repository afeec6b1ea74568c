"""What a simulated car refuses, as exceptions the Owner API handlers map to statuses and bodies.

A command that the car *executes and declines* is not an exception: it answers
``{"result": false, "reason": "..."}`` with HTTP 200, which `Car.command` returns as a tuple.
These exceptions are for calls the car never gets to judge:

=========================  ======  ==============================================================
exception                  status  body the HTTP layer should send
=========================  ======  ==============================================================
`VehicleUnavailable`       408     ``{"response": null, "error": "vehicle unavailable:
                                   {:error=>\\"vehicle unavailable:\\"}", "error_description": ""}``
`VehicleInService`         405     ``{"response": null, "error": "vehicle is currently in service",
                                   "error_description": ""}``
`MobileAccessDisabled`     405     ``{"response": null, "error": "mobile_access_disabled", ...}``
`CommandSigningRequired`   403     ``{"response": null, "error": "Tesla Vehicle Command Protocol
                                   required, please refer to the documentation here: ...", ...}``
`UnknownCommand`           404     ``{"response": null, "error": "not_found", "error_description":
                                   ""}`` (what the cloud answers for a path it does not route)
=========================  ======  ==============================================================

The exact error strings are the HTTP layer's business; the status is the contract.
"""

from __future__ import annotations

__all__ = [
    "CarError",
    "CommandSigningRequired",
    "MobileAccessDisabled",
    "UnknownCommand",
    "VehicleInService",
    "VehicleUnavailable",
]


class CarError(Exception):
    """Root of what a simulated car refuses before judging a request."""

    status = 500


class VehicleUnavailable(CarError):
    """The car is asleep, waking up or offline: the endpoint needs it online (HTTP 408)."""

    status = 408


class VehicleInService(CarError):
    """The car is at a service center: commands are refused (HTTP 405)."""

    status = 405


class MobileAccessDisabled(CarError):
    """The owner switched off mobile access in the car (HTTP 405 mobile_access_disabled)."""

    status = 405


class CommandSigningRequired(CarError):
    """The car only accepts signed commands (Vehicle Command Protocol, HTTP 403)."""

    status = 403


class UnknownCommand(CarError):
    """No command of that name exists (HTTP 404)."""

    status = 404

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown vehicle command {name!r}")
        self.name = name
