"""What happened, in a form people are told about and the recorder keeps.

An `Event` is the one shape every part agrees on: the engine makes them from readings, the
recorder stores them in its `events` table, notification targets deliver them and `/status`
shows the latest. Its `kind` is one of `EventKind` (the names users put in the config's
`[notify.events]`), its `device` says which car, Wall Connector, energy site or account, its
`figures` carry the numbers (energy, distance, levels) in SI-ish units named by their keys
(`energy_wh`, `distance_km`, `battery_level`), and `text` is one line for a person.

Times are integer epoch milliseconds (UTC) of the service's clock: real time in production, the
world's clock against the twin (research/control.md 9.12: integer epoch-ms timestamps).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["EVENT_KINDS", "DeviceKind", "DeviceRef", "Event", "EventKind", "Figure"]

Figure = float | int | str | bool | None
"""One value of an event's figures: JSON-safe scalars only."""


class EventKind(enum.StrEnum):
    """Every event the service reports (issue 11 section 3; research/control.md 9.15)."""

    PLUGGED_IN = "plugged_in"
    UNPLUGGED = "unplugged"
    CHARGING_STARTED = "charging_started"
    CHARGING_STOPPED = "charging_stopped"  # figures: reason when known
    CHARGE_COMPLETE = "charge_complete"
    PLUGGED_IN_NOT_CHARGING = "plugged_in_not_charging"  # after the grace period
    DRIVE_STARTED = "drive_started"
    DRIVE_ENDED = "drive_ended"  # figures: distance_km, energy_wh, duration_s
    CAR_ASLEEP = "car_asleep"
    CAR_ONLINE = "car_online"
    CAR_OFFLINE = "car_offline"
    WALLCONNECTOR_OFFLINE = "wallconnector_offline"
    WALLCONNECTOR_ONLINE = "wallconnector_online"  # back after being offline
    WALLCONNECTOR_ALERT = "wallconnector_alert"  # a new entry in current_alerts
    LIFETIME_JUMP_REJECTED = "lifetime_jump_rejected"
    SOFTWARE_UPDATE = "software_update"  # an update is available
    BUDGET_LOW = "budget_low"  # the account's month of billable calls nears its budget


EVENT_KINDS: Final = frozenset(kind.value for kind in EventKind)


class DeviceKind(enum.StrEnum):
    CAR = "car"
    WALL_CONNECTOR = "wallconnector"
    SITE = "site"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """Which device: `id` is stable (a VIN, a Wall Connector's serial, an energy_site_id, an
    account's email), `name` is what the owner calls it (the car's display name, the config's
    unit name)."""

    kind: DeviceKind
    id: str
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    at_ms: int
    device: DeviceRef
    text: str
    figures: Mapping[str, Figure] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of an event: the webhook body, `/status` and `history events --json`."""
        return {
            "kind": self.kind.value,
            "at_ms": self.at_ms,
            "device": {"kind": self.device.kind.value, "id": self.device.id, "name": self.device.name},
            "text": self.text,
            "figures": dict(self.figures),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        device = data["device"]
        return cls(
            kind=EventKind(data["kind"]),
            at_ms=int(data["at_ms"]),
            device=DeviceRef(DeviceKind(device["kind"]), str(device["id"]), str(device.get("name", ""))),
            text=str(data["text"]),
            figures=dict(data.get("figures", {})),
        )
