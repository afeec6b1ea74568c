"""What every part of the engine shares: the tracks, the way out (records, events), the settings.

The engine's logic is split by device (cars.py, units.py, sites.py) and by what joins them
(plugs.py, sessions.py); each part is a set of functions over this one `Context`, so a Wall
Connector's reading can find the car configured at it, and a car's reading the session a unit
opened for it, without the parts holding each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from ..events import DeviceRef, Event, EventKind, Figure
from ..records import Record
from ..settings import EngineSettings, UnitSettings
from ..state import ServiceState
from .tracks import CarTrack, OpenCharge, SiteTrack, UnitTrack

__all__ = ["FINAL_WAIT_MS", "RESEND_MS", "STOP_WAIT_MS", "Context"]

_LOG = logging.getLogger("teslalink.service.engine")

STOP_WAIT_MS: Final = 180_000
"""How long a charge stop the Wall Connector saw waits for the car to say why (complete, stopped)
before it is told without a reason. Our choice: the car's job is woken at once and reads an awake
car within seconds; three minutes allow for a slow cloud."""

FINAL_WAIT_MS: Final = 900_000
"""How long a session one side saw unplugged waits for the other side's last figures (the car's
final charge_energy_added, the unit's session energy) before it is closed as it is. Our choice:
one metered car poll (15 min)."""

RESEND_MS: Final = 60_000
"""An open span is handed on again at most this often as it grows (and at every change): the
recorder upserts it, so a crash loses at most a minute of its figures. Our choice."""


@dataclass
class Context:
    settings: EngineSettings
    emit: Callable[[Record], None]
    state: ServiceState
    unit_settings: Mapping[str, UnitSettings]
    on_plug_edge: Callable[[str], None] | None = None
    cars: dict[str, CarTrack] = field(default_factory=dict)
    units: dict[str, UnitTrack] = field(default_factory=dict)
    charges: dict[str, OpenCharge] = field(default_factory=dict)
    sites: dict[str, SiteTrack] = field(default_factory=dict)  # by energy_site_id
    _index: dict[str, CarTrack] | None = field(default=None, repr=False)

    # --- the way out ---------------------------------------------------------------------------

    def record(self, record: Record) -> None:
        self.emit(record)

    def event(
        self, kind: EventKind, at_ms: int, device: DeviceRef, text: str, figures: Mapping[str, Figure]
    ) -> Event:
        """Hand on one event (to the recorder and the notifier behind `emit`) and show it in /status."""
        event = Event(kind, at_ms, device, text, {k: v for k, v in figures.items() if v is not None})
        self.emit(event)
        self.state.add_event(event)
        return event

    def ask_car(self, who: str | None) -> None:
        """Ask the runner to read this car now (`on_plug_edge`): its job reads it only if it is
        awake. The engine never wakes a car itself."""
        if who is None or self.on_plug_edge is None:
            return
        try:
            self.on_plug_edge(who)
        except Exception:  # the runner's callback must not break a reading's bookkeeping
            _LOG.exception("on_plug_edge(%r) failed", who)

    # --- lookups -------------------------------------------------------------------------------

    def car_named(self, text: str | None) -> CarTrack | None:
        """The car a config names by VIN or display name (case-insensitive), if it is known."""
        if not text:
            return None
        index = self._index
        if index is None:
            index = {car.name.casefold(): car for car in self.cars.values() if car.name}
            index.update({car.vin.casefold(): car for car in self.cars.values()})  # a VIN wins
            self._index = index
        return index.get(text.strip().casefold())

    def cars_changed(self) -> None:
        """A car was added or renamed: the names are looked up afresh."""
        self._index = None

    def car_of_unit(self, unit: UnitTrack) -> CarTrack | None:
        """The car that charges at `unit` by the config, unless another car is plugged in there."""
        return None if unit.foreign else self.car_named(unit.car)

    def units_of_car(self, car: CarTrack) -> list[UnitTrack]:
        return [u for u in self.units.values() if not u.foreign and self.car_named(u.car) is car]

    def unit_by_serial(self, serial: str | None) -> UnitTrack | None:
        if serial is None:
            return None
        return next((u for u in self.units.values() if serial in (u.serial, u.name)), None)
