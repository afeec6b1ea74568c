"""What a simulated car refuses, as `Refusal`s that carry the status and body the Owner API answers.

A command that the car *executes and declines* is not an exception: it answers
``{"result": false, "reason": "..."}`` with HTTP 200, which `Car.command` returns as a tuple.
These exceptions are for calls the car never gets to judge (strings marked seen are what clients
logged from the real service):

=========================  ======  ==============================================================
exception                  status  ``error`` of the body
=========================  ======  ==============================================================
`VehicleUnavailable`       408     ``vehicle unavailable: {:error=>"vehicle unavailable:"}`` (seen)
`VehicleInService`         405     ``vehicle is currently in service`` (seen)
`MobileAccessDisabled`     405     ``mobile_access_disabled`` (seen)
`CommandSigningRequired`   403     ``Tesla Vehicle Command Protocol required, please refer to the
                                   documentation here: <url>`` (seen; developer.tesla.cn for cn)
`UnknownCommand`           404     ``not_found`` (what the cloud answers for a path it does not route)
=========================  ======  ==============================================================

The body is the Owner API's ``{"response": null, "error": "...", "error_description": ""}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..refusal import NOT_FOUND, Refusal

if TYPE_CHECKING:
    from ..accounts import Region

__all__ = [
    "IN_SERVICE",
    "MOBILE_ACCESS_DISABLED",
    "SIGNING_REQUIRED",
    "VEHICLE_UNAVAILABLE",
    "CarError",
    "CommandSigningRequired",
    "MobileAccessDisabled",
    "UnknownCommand",
    "VehicleInService",
    "VehicleUnavailable",
]

VEHICLE_UNAVAILABLE: Final = 'vehicle unavailable: {:error=>"vehicle unavailable:"}'
IN_SERVICE: Final = "vehicle is currently in service"
MOBILE_ACCESS_DISABLED: Final = "mobile_access_disabled"
SIGNING_REQUIRED: Final = "Tesla Vehicle Command Protocol required"
_SIGNING_DOCS: Final[dict[str, str]] = {
    "na": "https://developer.tesla.com/docs/fleet-api#2023-10-09-rest-api-vehicle-commands-endpoint-deprecation-warning",
    "cn": "https://developer.tesla.cn/docs/fleet-api/support/announcements"
    "#2023-10-09-rest-api-vehicle-commands-endpoint-deprecation-warning",
}


class CarError(Refusal):
    """Root of what a simulated car refuses before judging a request."""


class VehicleUnavailable(CarError):
    """The car is asleep, waking up or offline: the endpoint needs it online (HTTP 408)."""

    status = 408
    default_error = VEHICLE_UNAVAILABLE


class VehicleInService(CarError):
    """The car is at a service center: commands are refused (HTTP 405)."""

    status = 405
    default_error = IN_SERVICE


class MobileAccessDisabled(CarError):
    """The owner switched off mobile access in the car (HTTP 405 mobile_access_disabled)."""

    status = 405
    default_error = MOBILE_ACCESS_DISABLED


class CommandSigningRequired(CarError):
    """The car only accepts signed commands (Vehicle Command Protocol, HTTP 403); docs by region."""

    status = 403

    def __init__(self, region: Region = "na") -> None:
        docs = _SIGNING_DOCS[region]
        super().__init__(f"{SIGNING_REQUIRED}, please refer to the documentation here: {docs}")
        self.region = region


class UnknownCommand(CarError):
    """No command of that name exists (HTTP 404 not_found)."""

    status = 404
    default_error = NOT_FOUND

    def __init__(self, name: str) -> None:
        super().__init__(detail=f"unknown vehicle command {name!r}")
        self.name = name
