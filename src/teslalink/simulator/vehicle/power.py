"""Whether the car's computer is awake: the idle timer, wake-ups, hourly check-ins, accounting.

Three states: AWAKE (the API says online), WAKING (booting after a wake_up; the API still says
asleep) and ASLEEP. Connectivity is separate (the car decides this; the cloud only reaches it
when it is connected): a car without connectivity shows offline whatever it does.

The idle timer: an awake car falls asleep `timeout` seconds after `idle_since` unless something
keeps it awake (the car tells `next_event` whether a keeper is active). A touch (vehicle_data,
a command, streaming) or the end of a keeper restarts the timer with the full idle time. A car
with a newer computer wakes about every hour for 2-3 minutes (timeout = that short stay) and
sleeps again unless touched. Every transition to awake is counted by reason, and the time spent
awake or waking is accumulated, because later features must prove that they let cars sleep
(and the Fleet API bills wakes).

Durations are drawn from `draw(purpose, n)`: uniforms that depend only on the world seed, the car
and the n-th occurrence, never on how often anyone read the car.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable

__all__ = ["PERIODIC_WAKE_S", "WAKE_UP_S", "Power", "SleepMachine"]

WAKE_UP_S = (10.0, 30.0)
"""How long a wake_up takes, world seconds."""

PERIODIC_WAKE_S = (55 * 60.0, 65 * 60.0)
"""Interval between the check-ins of a sleeping car with a newer computer."""

PERIODIC_STAY_S = (120.0, 180.0)
"""How long such a check-in stays online when nobody touches the car."""


class Power(enum.Enum):
    AWAKE = "awake"
    WAKING = "waking"
    ASLEEP = "asleep"


class SleepMachine:
    """The sleep state of one car, advanced by the car's event loop."""

    def __init__(
        self,
        t0: float,
        *,
        idle_sleep_s: float,
        newer_computer: bool,
        draw: Callable[[str, int], float],
        asleep: bool = False,
    ) -> None:
        if not idle_sleep_s > 0:
            raise ValueError(f"idle_sleep_s must be positive, got {idle_sleep_s!r}")
        self.idle_sleep_s = float(idle_sleep_s)
        self.newer_computer = newer_computer
        self._draw = draw
        self.state = Power.AWAKE
        self.idle_since = t0
        self.timeout = self.idle_sleep_s
        self.wake_done_at: float | None = None
        self.next_periodic_at: float | None = None
        self.wake_count = 0
        self.wake_reasons: Counter[str] = Counter()
        self.awake_seconds = 0.0
        self.sleep_count = 0
        self._n_wake_up = 0
        self._n_periodic = 0
        if asleep:
            self.fall_asleep(t0)
            self.sleep_count = 0

    @property
    def awake(self) -> bool:
        return self.state is Power.AWAKE

    def accrue(self, seconds: float) -> None:
        """Count `seconds` of time passing in the present state."""
        if seconds > 0 and self.state is not Power.ASLEEP:
            self.awake_seconds += seconds

    def next_event(self, kept: bool) -> float | None:
        """When this machine changes state by itself, given whether a keeper is active."""
        if self.state is Power.WAKING:
            return self.wake_done_at
        if self.state is Power.ASLEEP:
            return self.next_periodic_at
        return None if kept else self.idle_since + self.timeout

    def fire(self, t: float) -> None:
        """Apply the event `next_event` announced for time `t`."""
        if self.state is Power.WAKING:
            self._become_awake(t, "wake_up", self.idle_sleep_s)
        elif self.state is Power.ASLEEP:
            stay = _between(PERIODIC_STAY_S, self._draw("periodic_stay", self._n_periodic))
            self._n_periodic += 1
            self._become_awake(t, "periodic", stay)
        else:
            self.fall_asleep(t)

    def fall_asleep(self, t: float) -> None:
        self.state = Power.ASLEEP
        self.wake_done_at = None
        self.sleep_count += 1
        if self.newer_computer:
            self.next_periodic_at = t + _between(
                PERIODIC_WAKE_S, self._draw("periodic_interval", self._n_periodic)
            )
        else:
            self.next_periodic_at = None

    def touch(self, t: float) -> bool:
        """Restart the idle timer if awake; False if the car is not awake to be touched."""
        if self.state is not Power.AWAKE:
            return False
        self.idle_since = max(self.idle_since, t)
        self.timeout = self.idle_sleep_s
        return True

    def keeper_ended(self, t: float) -> None:
        """A keeper (charging, climate...) ended at `t`: the full idle time counts from there."""
        if self.state is Power.AWAKE:
            self.idle_since = max(self.idle_since, t)
            self.timeout = self.idle_sleep_s

    def wake_up(self, t: float) -> None:
        """The cloud asked the car to wake: it boots for 10-30 s (no-op unless asleep)."""
        if self.state is Power.AWAKE:
            self.touch(t)
        elif self.state is Power.ASLEEP:
            self.state = Power.WAKING
            self.wake_done_at = t + _between(WAKE_UP_S, self._draw("wake_up", self._n_wake_up))
            self._n_wake_up += 1

    def wake_now(self, t: float, reason: str) -> None:
        """Something physical woke the car (a door, a cable, a person, its own schedule)."""
        if self.state is Power.AWAKE:
            self.touch(t)
        else:
            self._become_awake(t, reason, self.idle_sleep_s)

    def _become_awake(self, t: float, reason: str, timeout: float) -> None:
        self.state = Power.AWAKE
        self.wake_done_at = None
        self.next_periodic_at = None
        self.idle_since = t
        self.timeout = timeout
        self.wake_count += 1
        self.wake_reasons[reason] += 1


def _between(bounds: tuple[float, float], u: float) -> float:
    return bounds[0] + (bounds[1] - bounds[0]) * u
