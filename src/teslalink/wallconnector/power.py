"""Power from the Wall Connector's readings, correct on every kind of grid.

The unit reports no power, only voltages and currents, and the right formula depends on the
wiring (all figures are apparent power: no power factor is reported):

* three-phase (EU 400 V): P = VA*IA + VB*IB + VC*IC;
* split-phase (North America 240 V, one circuit across two legs): P = grid_v * vehicle_current_a.
  Summing three phases here over-reads by 25-30 %: voltageC_v (~120 V) and currentC_a are not a
  real phase. It is the most common wrong reading users report;
* single-phase (230 V): P = grid_v * vehicle_current_a.

With the contactor open no power flows, whatever tenths of an amp the sensors show.
`auto` recognises the wiring from the phase voltages while the contactor is closed (they read
near 0 when idle) and remembers it; an explicit setting always wins.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import ConfigError
from .models import Vitals

__all__ = ["ElectricalService", "PowerCalculator", "PowerReading", "detect_service"]

# Below this a phase voltage is sensor noise, not a live conductor.
_LIVE_PHASE_V = 50.0
# Split-phase: voltageC_v sits near half the grid voltage (docs/reference.md §1: within ~25 V of grid_v / 2).
_SPLIT_TOLERANCE_V = 25.0


class ElectricalService(enum.Enum):
    """How the unit is wired. AUTO detects it from the readings while charging."""

    AUTO = "auto"
    THREE_PHASE = "three_phase"
    SPLIT_PHASE = "split_phase"
    SINGLE_PHASE = "single_phase"

    @classmethod
    def parse(cls, text: str | ElectricalService) -> ElectricalService:
        if isinstance(text, ElectricalService):
            return text
        key = text.strip().lower().replace("-", "_")
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(member.value for member in cls)
            raise ConfigError(f"unknown electrical service {text!r}; use one of: {names}") from None


@dataclass(frozen=True, slots=True)
class PowerReading:
    """Power now. `phases_w` has one entry per real circuit: three on three-phase, one otherwise."""

    total_w: float
    phases_w: tuple[float, ...]
    service: ElectricalService  # the wiring the figure was computed for; AUTO if still unknown

    @property
    def total_kw(self) -> float:
        return self.total_w / 1000.0


def detect_service(vitals: Vitals) -> ElectricalService:
    """Recognise the wiring from live phase voltages; AUTO when the readings cannot tell (idle)."""
    if not vitals.contactor_closed:
        return ElectricalService.AUTO
    grid = vitals.grid_voltage_v
    va, vb, vc = (v or 0.0 for v in vitals.phase_voltages_v)
    if grid is None or va < _LIVE_PHASE_V:
        return ElectricalService.AUTO
    if abs(vc - grid / 2.0) <= _SPLIT_TOLERANCE_V:
        return ElectricalService.SPLIT_PHASE
    if vb < _LIVE_PHASE_V and vc < _LIVE_PHASE_V:
        return ElectricalService.SINGLE_PHASE
    if vb >= _LIVE_PHASE_V and vc >= _LIVE_PHASE_V:
        return ElectricalService.THREE_PHASE
    return ElectricalService.AUTO


class PowerCalculator:
    """Turns vitals into power for one unit, remembering the wiring once it has been seen."""

    __slots__ = ("_detected", "configured")

    def __init__(self, service: ElectricalService | str = ElectricalService.AUTO) -> None:
        self.configured = ElectricalService.parse(service)
        self._detected = ElectricalService.AUTO

    @property
    def service(self) -> ElectricalService:
        """The wiring in force: the explicit setting, else what was detected (AUTO if not yet)."""
        if self.configured is not ElectricalService.AUTO:
            return self.configured
        return self._detected

    def power(self, vitals: Vitals) -> PowerReading:
        if self.configured is ElectricalService.AUTO and self._detected is ElectricalService.AUTO:
            self._detected = detect_service(vitals)
        service = self.service
        if not vitals.contactor_closed:
            zero = (0.0, 0.0, 0.0) if service is ElectricalService.THREE_PHASE else (0.0,)
            return PowerReading(0.0, zero, service)
        if service is ElectricalService.THREE_PHASE:
            phases = tuple(
                (v or 0.0) * (i or 0.0)
                for v, i in zip(vitals.phase_voltages_v, vitals.phase_currents_a, strict=True)
            )
            return PowerReading(sum(phases), phases, service)
        # Split-phase, single-phase, and a closed contactor whose wiring is still unknown (the
        # voltages did not tell): one circuit at grid voltage never over-reads.
        total = (vitals.grid_voltage_v or 0.0) * (vitals.vehicle_current_a or 0.0)
        return PowerReading(total, (total,), service)
