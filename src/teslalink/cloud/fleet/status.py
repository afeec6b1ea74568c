"""What `POST api/1/vehicles/fleet_status` says about cars: paired with our key or not, and per VIN.

The shape is research/fleet.md 1.7's (consistent across four client codebases and a Tesla doc
sample); Tesla warns that the key state "may have some lag" after pairing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..._convert import to_nearest_int

__all__ = ["FleetStatus", "FleetVehicleInfo"]


@dataclass(frozen=True, slots=True)
class FleetVehicleInfo:
    """One car's entry in `vehicle_info`; a field Tesla left out is None."""

    vin: str
    firmware_version: str | None = None
    vehicle_command_protocol_required: bool | None = None
    discounted_device_data: bool | None = None
    """Only returned for a single-VIN call (Tesla's docs)."""
    fleet_telemetry_version: str | None = None
    """Not None when the car can stream Fleet Telemetry."""
    total_number_of_keys: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, vin: str, raw: Mapping[str, Any]) -> FleetVehicleInfo:
        def text(key: str) -> str | None:
            value = raw.get(key)
            return None if value is None else str(value)

        def flag(key: str) -> bool | None:
            value = raw.get(key)
            return value if isinstance(value, bool) else None

        return cls(
            vin=vin,
            firmware_version=text("firmware_version"),
            vehicle_command_protocol_required=flag("vehicle_command_protocol_required"),
            discounted_device_data=flag("discounted_device_data"),
            fleet_telemetry_version=text("fleet_telemetry_version"),
            total_number_of_keys=to_nearest_int(raw.get("total_number_of_keys")),
            raw=dict(raw),
        )


@dataclass(frozen=True, slots=True)
class FleetStatus:
    """Which of the asked VINs have our app's key (`paired`), which not (`unpaired`), and each one's info.

    A VIN the account does not own may be in neither list (the twin leaves it out).
    """

    paired: tuple[str, ...] = ()
    unpaired: tuple[str, ...] = ()
    vehicles: Mapping[str, FleetVehicleInfo] = field(default_factory=dict)

    @classmethod
    def of(cls, response: Any) -> FleetStatus:
        """From the unwrapped `response`; missing or malformed parts are empty, never an error."""
        body: Mapping[str, Any] = response if isinstance(response, Mapping) else {}
        info = body.get("vehicle_info")
        return cls(
            paired=_vins(body.get("key_paired_vins")),
            unpaired=_vins(body.get("unpaired_vins")),
            vehicles={
                str(vin): FleetVehicleInfo.of(str(vin), entry)
                for vin, entry in (info.items() if isinstance(info, Mapping) else ())
                if isinstance(entry, Mapping)
            },
        )

    def is_paired(self, vin: str) -> bool:
        return vin in self.paired


def _vins(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()
