"""The electrical service a Wall Connector is wired to.

Three services exist in the field, and they decide what the phase readings look like:

* EU three-phase 230/400 V 50 Hz: three real phases, each carrying the car's current;
* North-American split-phase 240 V 60 Hz: one 240 V circuit between two legs. The unit still
  reports a third "phase" (about half the grid voltage, about half the current) that is not a
  real phase, which is why summing all three over-reads;
* single-phase 230 V 50 Hz: one phase wired, B and C read near zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..errors import ConfigError

__all__ = ["GRIDS", "GridSpec", "Wiring"]


class Wiring(Enum):
    """How the unit is wired; the value is the name used on the command line and in JSON."""

    THREE_PHASE = "three_phase"
    SPLIT_PHASE = "split_phase"
    SINGLE_PHASE = "single_phase"

    @classmethod
    def parse(cls, value: Wiring | str) -> Wiring:
        """Accept a member or its value (``"split_phase"``, ``"split-phase"``, any case)."""
        if isinstance(value, Wiring):
            return value
        key = str(value).strip().lower().replace("-", "_")
        for member in cls:
            if member.value == key:
                return member
        names = ", ".join(m.value for m in cls)
        raise ConfigError(f"unknown wiring {value!r}; expected one of: {names}")


@dataclass(frozen=True, slots=True)
class GridSpec:
    """Nominal values of a service; each unit draws its own actual voltage around them."""

    nominal_v: float
    spread_v: float
    frequency_hz: float
    phases: int
    part_number: str


GRIDS: dict[Wiring, GridSpec] = {
    Wiring.THREE_PHASE: GridSpec(230.0, 4.0, 50.0, 3, "1734412-02-B"),
    Wiring.SPLIT_PHASE: GridSpec(240.0, 3.0, 60.0, 1, "1529455-02-D"),
    Wiring.SINGLE_PHASE: GridSpec(230.0, 4.0, 50.0, 1, "1734412-02-B"),
}
