"""A scripted owner's week for the twin: commutes, evening charges on the Wall Connector, a
weekend outing and a Sunday the car sleeps through.

The service's tests and its benchmark (bench/service.py) play the same script against a frozen
world (`World(speed=0)`), each with its own watcher moving the clock, so what differs between two
runs is only how they watch. Every step is a scenario control (simulator.scenario), applied at
its world time by `play`.

The script (our choice, a plausible commuter; times are seconds from the start, which the caller
puts at a local midnight):

* Monday to Friday: 07:30 the ~27 km commute, 17:30 straight home, on Monday, Wednesday and
  Friday plugged into the Wall Connector at 18:15 and unplugged at 07:20 the next morning;
* Saturday: 10:00 the 10 km loop, 14:00 to the Supercharger area and back home at 15:30;
* Sunday: nothing; the car sleeps but for its own hourly check-ins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from . import scenario

if TYPE_CHECKING:
    from .world import World

__all__ = ["DAY_S", "HOME", "Step", "owner_week", "play"]

DAY_S: Final = 86_400.0
HOME: Final = (37.4925, -121.9447)  # the demo routes' home in Fremont, CA
_H: Final = 3600.0


@dataclass(frozen=True)
class Step:
    at_s: float  # seconds from the script's start
    action: str  # drive, plug_in, unplug
    args: Mapping[str, Any] = field(default_factory=dict)


def owner_week(days: int = 7) -> list[Step]:
    """The script's steps for `days` days (a second week repeats the first), in time order."""
    steps: list[Step] = []
    for day in range(days):
        base = day * DAY_S
        weekday = day % 7
        if weekday < 5:
            if steps and steps[-1].action == "plug_in":
                steps.append(Step(base + 7.33 * _H, "unplug"))
            steps.append(Step(base + 7.5 * _H, "drive", {"route": "commute", "speed_kph": 60.0}))
            steps.append(Step(base + 17.5 * _H, "drive", {"to": list(HOME), "speed_kph": 60.0}))
            if weekday in (0, 2, 4):
                steps.append(Step(base + 18.25 * _H, "plug_in"))
        elif weekday == 5:
            if steps and steps[-1].action == "plug_in":
                steps.append(Step(base + 7.33 * _H, "unplug"))
            steps.append(Step(base + 10 * _H, "drive", {"route": "loop_10km", "speed_kph": 45.0}))
            steps.append(Step(base + 14 * _H, "drive", {"route": "to_supercharger", "speed_kph": 60.0}))
            steps.append(Step(base + 15.5 * _H, "drive", {"to": list(HOME), "speed_kph": 60.0}))
    return steps


async def play(
    world: World,
    vehicle: int | str,
    steps: list[Step],
    run_until: Callable[[float], Awaitable[None]],
    *,
    start: float,
    end: float,
    on_step: Callable[[Step, float], None] | None = None,
) -> None:
    """Move the world with `run_until` (the watcher's scheduler) to each step, apply it, go on
    to `end`. `on_step(step, ts)` hears each one as it is applied (a benchmark's stopwatch)."""
    for step in steps:
        ts = start + step.at_s
        if ts > end:
            break
        await run_until(ts)
        if step.action == "drive":
            scenario.drive(world, vehicle, **step.args)
        elif step.action == "plug_in":
            scenario.plug_in(world, vehicle, step.args.get("wall_connector"))
        elif step.action == "unplug":
            scenario.unplug(world, vehicle)
        else:
            raise ValueError(f"unknown step {step.action!r}")
        if on_step is not None:
            on_step(step, ts)
    await run_until(end)
