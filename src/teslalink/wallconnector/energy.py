"""Energy you can trust: charging sessions and a lifetime total that ignores firmware glitches.

Two figures the Wall Connector reports need care before anyone can rely on them.

**Sessions** (`SessionMonitor`). `session_energy_wh` counts correctly, but its life cycle is
awkward: it is *not* reset on unplug (it keeps the last session's value until the next session
starts counting) and it is 0 after a reboot. `session_s` does reset on unplug. So the monitor:

* starts a session when `vehicle_connected` goes False -> True, or when `session_s` goes
  backwards while connected (the car was unplugged and plugged back in between two polls);
* ignores the value the counter still holds from the previous session: it counts only once the
  counter shows something else (the device reset it and started counting this session);
* treats `uptime_s` going backwards as a reboot: the session goes on, the counter restarts from 0,
  and the parts before and after are added;
* ends the session on unplug, taking the counter's value at that reading (it holds the final value).

The counter is cross-checked by integrating power over time (trapezoids between readings). A
gap longer than `max_gap_s`, a reboot or a missing counter value leaves that interval out rather
than inventing energy, and the check compares the integral with what the counter gained over
exactly the intervals that were integrated. A disagreement usually means the power figure is
wrong (a wrong wiring setting over-reads split-phase by 25-30 %).

**Lifetime** (`LifetimeEnergy`). `energy_wh` in /api/1/lifetime jumps by impossible amounts:
+120 kWh during a 36 kWh charge, increases every ~90 min with no car. An increase larger than
the unit could deliver in the elapsed time is rejected and the baseline moves to the new raw value,
so later normal increases count again; a decrease (counter reset, replaced unit) only moves the
baseline. What was rejected is kept, so a user can see how much was thrown away.

Both objects are pure logic (no clock, no I/O) apart from `save`/`load`, which write their state
as JSON so a restart continues where it stopped.
"""

from __future__ import annotations

import abc
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .._files import atomic_write_bytes
from .._json import dumps, loads
from ..errors import ConfigError, DecodeError
from .models import Vitals
from .power import PowerReading

__all__ = [
    "GEN3_MAX_POWER_W",
    "ChargingSession",
    "LifetimeEnergy",
    "RejectedJump",
    "SessionMonitor",
]

#: The most a Gen 3 unit delivers: 3 phases x 32 A x 230 V (22 kW; North-American units top out at 11.5 kW).
GEN3_MAX_POWER_W = 22_000.0

_STATE_VERSION = 1


# ---------------------------------------------------------------------------------------------------------
# Sessions


@dataclass(frozen=True, slots=True)
class ChargingSession:
    """One plug-in to unplug. A snapshot: the monitor hands out a new one at each reading.

    Times are in the caller's epoch seconds. `energy_wh` is the device's counter (the figure to
    trust), None if the firmware never reported one. `integrated_wh` is power integrated over the
    `integrated_s` seconds that had readings close enough together; `mismatch_wh` is what the
    counter gained over those same seconds minus `integrated_wh`, and `agrees` says whether that is
    within the monitor's tolerance (None when no interval could be integrated).
    """

    start: float  # estimated from session_s, bounded by the readings around the plug-in
    end: float | None  # None while the car is still plugged in
    last_seen: float  # the latest reading that belonged to this session
    energy_wh: float | None
    integrated_wh: float
    integrated_s: float
    mismatch_wh: float | None
    agrees: bool | None
    peak_w: float
    counter_resets: int  # reboots (or other counter resets) whose parts were added up
    observed_start: bool  # False when the monitor joined a session already in progress

    @property
    def in_progress(self) -> bool:
        return self.end is None

    @property
    def duration_s(self) -> float:
        """Plugged-in time so far (to the last reading) or in all (to the unplug)."""
        return (self.last_seen if self.end is None else self.end) - self.start


@dataclass(slots=True)
class _Reading:
    """What the monitor keeps of the previous reading."""

    ts: float
    connected: bool
    session_s: int | None
    uptime_s: int | None
    power_w: float
    counter_wh: float | None  # this reading's session_energy_wh
    last_counter_wh: float | None  # the latest counter value seen at all, carried over missing ones


@dataclass(slots=True)
class _Open:
    """The session in progress, as mutable running sums."""

    start: float
    observed_start: bool
    last_ts: float
    # The counter value left over from the previous session. While the counter still shows exactly
    # this, it counts nothing; the first different value means the device started counting anew.
    stale_wh: float | None
    banked_wh: float  # counter parts closed by resets
    segment_wh: float  # the counter's value in the current part
    counter_seen: bool
    counter_resets: int
    integrated_wh: float
    integrated_s: float
    counter_gain_wh: float  # what the counter gained over the integrated intervals
    peak_w: float

    @property
    def counter_total_wh(self) -> float:
        return self.banked_wh + self.segment_wh


class _Persistent(abc.ABC):
    """`save`/`load` on top of `to_state`/`restore`, with the same checks for every state kind."""

    __slots__ = ()
    _KIND: ClassVar[str]

    @abc.abstractmethod
    def to_state(self) -> dict[str, Any]: ...

    @abc.abstractmethod
    def restore(self, state: Mapping[str, Any]) -> None: ...

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state atomically (owner-only): a crash mid-write leaves the previous file."""
        atomic_write_bytes(path, dumps(self.to_state()))

    def load(self, path: str | os.PathLike[str]) -> bool:
        """Continue from a saved state. False if there is no file yet (the first run).

        A file that is not a valid state of this kind and version raises ConfigError and is left
        untouched, so nothing is lost that a person could still repair or inspect.
        """
        try:
            with open(path, "rb") as file:
                body = file.read()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise ConfigError(f"cannot read energy state file {os.fspath(path)!r}: {exc}") from None
        try:
            state = loads(body)
        except DecodeError as exc:
            raise ConfigError(f"energy state file {os.fspath(path)!r}: {exc}") from None
        try:
            self.restore(state)
        except ConfigError as exc:
            raise ConfigError(f"energy state file {os.fspath(path)!r}: {exc}") from None
        return True

    @classmethod
    def _check_header(cls, state: object) -> _StateReader:
        if not isinstance(state, Mapping):
            raise ConfigError(f"state must be a JSON object, got {type(state).__name__}")
        kind = state.get("kind")
        if kind != cls._KIND:
            raise ConfigError(f"state is of kind {kind!r}, expected {cls._KIND!r}")
        version = state.get("version")
        if version != _STATE_VERSION:
            raise ConfigError(
                f"state version {version!r} is not supported (this teslalink reads {_STATE_VERSION})"
            )
        return _StateReader(state)


class SessionMonitor(_Persistent):
    """Turns successive vitals into charging sessions. Feed every reading, in time order.

    `max_gap_s`: readings further apart than this are not integrated (the power in between is
    unknown). `tolerance_wh` and `tolerance_ratio`: the counter and the integral agree when they
    differ by at most the larger of the two (an absolute allowance for the ramps a trapezoid
    misses between polls, a relative one for apparent versus real power).
    """

    __slots__ = ("_last", "_open", "max_gap_s", "tolerance_ratio", "tolerance_wh")
    _KIND = "teslalink.wallconnector.sessions"

    def __init__(
        self, *, max_gap_s: float = 300.0, tolerance_wh: float = 100.0, tolerance_ratio: float = 0.05
    ) -> None:
        _require(max_gap_s > 0, f"max_gap_s must be positive, got {max_gap_s!r}")
        _require(tolerance_wh >= 0, f"tolerance_wh must not be negative, got {tolerance_wh!r}")
        _require(tolerance_ratio >= 0, f"tolerance_ratio must not be negative, got {tolerance_ratio!r}")
        self.max_gap_s = float(max_gap_s)
        self.tolerance_wh = float(tolerance_wh)
        self.tolerance_ratio = float(tolerance_ratio)
        self._last: _Reading | None = None
        self._open: _Open | None = None

    def __repr__(self) -> str:
        return f"<SessionMonitor in_progress={self._open is not None}>"

    @property
    def in_progress(self) -> ChargingSession | None:
        """The session under way (energy, duration and peak so far), or None if nothing is plugged in."""
        return None if self._open is None else self._snapshot(self._open, end=None)

    def feed(self, ts: float, vitals: Vitals, power: PowerReading) -> ChargingSession | None:
        """Take one reading; return the session it ended, if any.

        At most one session ends per reading: an unplug ends one, and an unplug and re-plug between
        two polls ends one and starts the next.
        """
        _require(math.isfinite(ts), f"timestamp must be a finite number, got {ts!r}")
        last = self._last
        connected = vitals.vehicle_connected
        if connected is None:  # a firmware that did not say: assume nothing changed
            connected = last.connected if last is not None else False
        power_w = max(power.total_w, 0.0) if math.isfinite(power.total_w) else 0.0
        counter = vitals.session_energy_wh
        rebooted = _went_back(last.uptime_s if last else None, vitals.uptime_s)
        ended: ChargingSession | None = None
        session = self._open

        if session is not None and last is not None:
            if not connected:
                self._advance(
                    session, last, ts=ts, power_w=power_w, counter=counter, rebooted=rebooted, closing=True
                )
                ended = self._snapshot(session, end=ts)
                session = None
            elif not rebooted and _went_back(last.session_s, vitals.session_s):
                # Unplugged and plugged in again between two polls. What flowed between the polls
                # cannot be split between the two sessions, so neither integrates it.
                boundary = _plug_in_time(ts, vitals.session_s, last.ts)
                ended = self._snapshot(session, end=max(boundary, session.last_ts))
                session = self._start(ts, vitals, power_w, last, rebooted)
            else:
                self._advance(
                    session, last, ts=ts, power_w=power_w, counter=counter, rebooted=rebooted, closing=False
                )
        elif connected:
            session = self._start(ts, vitals, power_w, last, rebooted)

        self._open = session
        self._last = _Reading(
            ts=ts,
            connected=connected,
            session_s=vitals.session_s,
            uptime_s=vitals.uptime_s,
            power_w=power_w,
            counter_wh=counter,
            last_counter_wh=counter if counter is not None else (last.last_counter_wh if last else None),
        )
        return ended

    # -- the rules ----------------------------------------------------------------------------------------

    def _start(
        self, ts: float, vitals: Vitals, power_w: float, last: _Reading | None, rebooted: bool
    ) -> _Open:
        counter = vitals.session_energy_wh
        if rebooted:
            stale = None  # a reboot zeroes the counter: whatever it shows now is this session's
        elif last is not None:
            stale = last.last_counter_wh
        else:
            # Joined a session already under way, with nothing to compare against. A closed contactor
            # means the counter is this session's; otherwise it may still be the previous one's, so
            # count only what it adds from here.
            stale = None if vitals.contactor_closed else counter
        session = _Open(
            start=_plug_in_time(ts, vitals.session_s, last.ts if last else None),
            observed_start=last is not None,
            last_ts=ts,
            stale_wh=stale,
            banked_wh=0.0,
            segment_wh=0.0,
            counter_seen=False,
            counter_resets=0,
            integrated_wh=0.0,
            integrated_s=0.0,
            counter_gain_wh=0.0,
            peak_w=power_w,
        )
        self._take_counter(session, counter, closing=False)
        return session

    def _advance(
        self,
        session: _Open,
        last: _Reading,
        *,
        ts: float,
        power_w: float,
        counter: float | None,
        rebooted: bool,
        closing: bool,
    ) -> None:
        before = session.counter_total_wh
        if rebooted:
            session.banked_wh += session.segment_wh
            session.segment_wh = 0.0
            session.stale_wh = None
            session.counter_resets += 1
        self._take_counter(session, counter, closing=closing)
        elapsed = ts - session.last_ts
        # Integrate only where both ends are known: a reboot, a long gap or a missing counter value
        # leaves the interval out of the cross-check (and out of integrated_s) instead of guessing.
        if (
            not rebooted
            and 0 < elapsed <= self.max_gap_s
            and counter is not None
            and last.counter_wh is not None
        ):
            session.integrated_wh += (last.power_w + power_w) / 2.0 * elapsed / 3600.0
            session.integrated_s += elapsed
            session.counter_gain_wh += session.counter_total_wh - before
        session.peak_w = max(session.peak_w, power_w)
        session.last_ts = max(session.last_ts, ts)

    @staticmethod
    def _take_counter(session: _Open, value: float | None, *, closing: bool) -> None:
        if value is None:
            return
        session.counter_seen = True
        if session.stale_wh is not None:
            if value != session.stale_wh:
                session.stale_wh = None
                session.segment_wh = value
        elif value >= session.segment_wh:
            session.segment_wh = value
        elif not closing:
            # It fell without a reboot we saw (a reboot between polls with uptime unknown, or the
            # device restarting its count): keep what was counted and add the new part.
            session.banked_wh += session.segment_wh
            session.segment_wh = value
            session.counter_resets += 1
        # A fall at the unplug reading is not this session's energy: keep the last value.

    def _snapshot(self, session: _Open, end: float | None) -> ChargingSession:
        mismatch: float | None = None
        agrees: bool | None = None
        if session.integrated_s > 0:
            mismatch = session.counter_gain_wh - session.integrated_wh
            allowed = max(
                self.tolerance_wh,
                self.tolerance_ratio * max(session.counter_gain_wh, session.integrated_wh),
            )
            agrees = abs(mismatch) <= allowed
        return ChargingSession(
            start=session.start,
            end=end,
            last_seen=session.last_ts,
            energy_wh=session.counter_total_wh if session.counter_seen else None,
            integrated_wh=session.integrated_wh,
            integrated_s=session.integrated_s,
            mismatch_wh=mismatch,
            agrees=agrees,
            peak_w=session.peak_w,
            counter_resets=session.counter_resets,
            observed_start=session.observed_start,
        )

    # -- state --------------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Everything needed to continue after a restart, as plain JSON types."""
        last, session = self._last, self._open
        return {
            "kind": self._KIND,
            "version": _STATE_VERSION,
            "last": None
            if last is None
            else {
                "ts": last.ts,
                "connected": last.connected,
                "session_s": last.session_s,
                "uptime_s": last.uptime_s,
                "power_w": last.power_w,
                "counter_wh": last.counter_wh,
                "last_counter_wh": last.last_counter_wh,
            },
            "open": None
            if session is None
            else {
                "start": session.start,
                "observed_start": session.observed_start,
                "last_ts": session.last_ts,
                "stale_wh": session.stale_wh,
                "banked_wh": session.banked_wh,
                "segment_wh": session.segment_wh,
                "counter_seen": session.counter_seen,
                "counter_resets": session.counter_resets,
                "integrated_wh": session.integrated_wh,
                "integrated_s": session.integrated_s,
                "counter_gain_wh": session.counter_gain_wh,
                "peak_w": session.peak_w,
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from `to_state()` output. Raises ConfigError (and changes nothing) if it is invalid."""
        reader = self._check_header(state)
        raw_last, raw_open = reader.section("last"), reader.section("open")
        last = None
        if raw_last is not None:
            last = _Reading(
                ts=raw_last.number("ts"),
                connected=raw_last.boolean("connected"),
                session_s=raw_last.optional_int("session_s"),
                uptime_s=raw_last.optional_int("uptime_s"),
                power_w=raw_last.number("power_w"),
                counter_wh=raw_last.optional_number("counter_wh"),
                last_counter_wh=raw_last.optional_number("last_counter_wh"),
            )
        session = None
        if raw_open is not None:
            if last is None:
                raise ConfigError("state has a session in progress but no last reading")
            session = _Open(
                start=raw_open.number("start"),
                observed_start=raw_open.boolean("observed_start"),
                last_ts=raw_open.number("last_ts"),
                stale_wh=raw_open.optional_number("stale_wh"),
                banked_wh=raw_open.number("banked_wh"),
                segment_wh=raw_open.number("segment_wh"),
                counter_seen=raw_open.boolean("counter_seen"),
                counter_resets=raw_open.integer("counter_resets"),
                integrated_wh=raw_open.number("integrated_wh"),
                integrated_s=raw_open.number("integrated_s"),
                counter_gain_wh=raw_open.number("counter_gain_wh"),
                peak_w=raw_open.number("peak_w"),
            )
        self._last, self._open = last, session


# ---------------------------------------------------------------------------------------------------------
# Lifetime


@dataclass(frozen=True, slots=True)
class RejectedJump:
    """An increase of the raw lifetime counter that no charging could explain."""

    ts: float
    previous_wh: float  # the raw value it jumped from
    raw_wh: float  # the raw value it jumped to (the new baseline)
    elapsed_s: float
    allowed_wh: float  # the most the unit could have delivered in that time

    @property
    def increase_wh(self) -> float:
        return self.raw_wh - self.previous_wh


class LifetimeEnergy(_Persistent):
    """A running lifetime total from `Lifetime.energy_wh` that rejects impossible jumps.

    An increase is accepted when it is at most `max_power_w` (plus `margin`, a fraction, for grids
    above nominal voltage) delivered over the elapsed time plus `jitter_s` (the poll timestamp and
    the device's counter update are not the same instant). Anything more is rejected and becomes
    the new baseline. `total_wh` starts at the first raw value seen, so it reads like the device's
    own counter, and only ever grows.
    """

    __slots__ = (
        "_baseline_ts",
        "_baseline_wh",
        "_counted_wh",
        "_first_wh",
        "_last_rejected",
        "_rejected_count",
        "_rejected_wh",
        "idle_slack_wh",
        "jitter_s",
        "margin",
        "max_power_w",
    )
    _KIND = "teslalink.wallconnector.lifetime"

    def __init__(
        self,
        *,
        max_power_w: float = GEN3_MAX_POWER_W,
        margin: float = 0.1,
        jitter_s: float = 60.0,
        idle_slack_wh: float = 10.0,
    ) -> None:
        _require(max_power_w > 0, f"max_power_w must be positive, got {max_power_w!r}")
        _require(margin >= 0, f"margin must not be negative, got {margin!r}")
        _require(jitter_s >= 0, f"jitter_s must not be negative, got {jitter_s!r}")
        _require(idle_slack_wh >= 0, f"idle_slack_wh must not be negative, got {idle_slack_wh!r}")
        self.max_power_w = float(max_power_w)
        self.margin = float(margin)
        self.jitter_s = float(jitter_s)
        self.idle_slack_wh = float(idle_slack_wh)
        self._baseline_wh: float | None = None
        self._baseline_ts = 0.0
        self._first_wh = 0.0
        self._counted_wh = 0.0
        self._rejected_wh = 0.0
        self._rejected_count = 0
        self._last_rejected: RejectedJump | None = None

    def __repr__(self) -> str:
        return (
            f"<LifetimeEnergy total_wh={self.total_wh:.0f} rejected_wh={self._rejected_wh:.0f}"
            f" rejected_jumps={self._rejected_count}>"
        )

    @property
    def total_wh(self) -> float:
        """The trustworthy lifetime energy: the first raw value plus every accepted increase."""
        return self._first_wh + self._counted_wh

    @property
    def counted_wh(self) -> float:
        """Energy accepted since tracking began."""
        return self._counted_wh

    @property
    def rejected_wh(self) -> float:
        """Sum of all rejected increases."""
        return self._rejected_wh

    @property
    def rejected_jumps(self) -> int:
        return self._rejected_count

    @property
    def last_rejected(self) -> RejectedJump | None:
        return self._last_rejected

    @property
    def baseline_wh(self) -> float | None:
        """The raw value the next reading is compared with (None before the first reading)."""
        return self._baseline_wh

    def allowed_wh(self, elapsed_s: float, car_connected: bool | None = None) -> float:
        """The largest increase accepted over `elapsed_s` seconds."""
        if car_connected is False:
            return self.idle_slack_wh
        return self.max_power_w * (1.0 + self.margin) * (max(elapsed_s, 0.0) + self.jitter_s) / 3600.0

    def feed(
        self, ts: float, energy_wh: float | None, *, car_connected: bool | None = None
    ) -> RejectedJump | None:
        """Take one raw reading; return the jump it was, if it was rejected.

        `car_connected`: pass False when no vehicle was connected at any time since the previous
        reading (then no energy can have flowed, and only `idle_slack_wh` is allowed: this catches
        the increases users see every ~90 min with no car); None when unknown. A missing reading
        (None, or not finite) is skipped: the next one is compared with the last good one.
        """
        _require(math.isfinite(ts), f"timestamp must be a finite number, got {ts!r}")
        if energy_wh is None or not math.isfinite(energy_wh):
            return None
        baseline = self._baseline_wh
        if baseline is None:
            self._first_wh = energy_wh
        elif energy_wh > baseline:
            increase = energy_wh - baseline
            elapsed = ts - self._baseline_ts
            allowed = self.allowed_wh(elapsed, car_connected)
            if increase > allowed:
                jump = RejectedJump(ts, baseline, energy_wh, elapsed, allowed)
                self._rejected_wh += increase
                self._rejected_count += 1
                self._last_rejected = jump
                self._baseline_wh, self._baseline_ts = energy_wh, ts
                return jump
            self._counted_wh += increase
        # A first reading, an accepted increase, no change or a fall (a reset or a replaced unit):
        # either way the raw value is the new reference.
        self._baseline_wh, self._baseline_ts = energy_wh, ts
        return None

    def to_state(self) -> dict[str, Any]:
        jump = self._last_rejected
        return {
            "kind": self._KIND,
            "version": _STATE_VERSION,
            "baseline_wh": self._baseline_wh,
            "baseline_ts": self._baseline_ts,
            "first_wh": self._first_wh,
            "counted_wh": self._counted_wh,
            "rejected_wh": self._rejected_wh,
            "rejected_jumps": self._rejected_count,
            "last_rejected": None
            if jump is None
            else {
                "ts": jump.ts,
                "previous_wh": jump.previous_wh,
                "raw_wh": jump.raw_wh,
                "elapsed_s": jump.elapsed_s,
                "allowed_wh": jump.allowed_wh,
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from `to_state()` output. Raises ConfigError (and changes nothing) if it is invalid."""
        reader = self._check_header(state)
        baseline = reader.optional_number("baseline_wh")
        baseline_ts = reader.number("baseline_ts")
        first = reader.number("first_wh")
        counted = reader.number("counted_wh")
        rejected = reader.number("rejected_wh")
        count = reader.integer("rejected_jumps")
        _require(counted >= 0 and rejected >= 0 and count >= 0, "energy totals must not be negative")
        raw_jump = reader.section("last_rejected")
        jump = None
        if raw_jump is not None:
            jump = RejectedJump(
                ts=raw_jump.number("ts"),
                previous_wh=raw_jump.number("previous_wh"),
                raw_wh=raw_jump.number("raw_wh"),
                elapsed_s=raw_jump.number("elapsed_s"),
                allowed_wh=raw_jump.number("allowed_wh"),
            )
        self._baseline_wh, self._baseline_ts, self._first_wh = baseline, baseline_ts, first
        self._counted_wh, self._rejected_wh, self._rejected_count = counted, rejected, count
        self._last_rejected = jump


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _went_back(before: int | None, now: int | None) -> bool:
    return before is not None and now is not None and now < before


def _plug_in_time(ts: float, session_s: int | None, not_before: float | None) -> float:
    """When the car was plugged in: `session_s` before this reading, but not before the previous poll."""
    start = ts - session_s if session_s is not None and session_s >= 0 else ts
    if not_before is not None:
        start = min(max(start, not_before), ts)
    return start


class _StateReader:
    """Typed access to a decoded state object; every wrong field is a ConfigError naming it."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def _get(self, key: str) -> Any:
        if key not in self._data:
            raise ConfigError(f"state lacks the field {key!r}")
        return self._data[key]

    def number(self, key: str) -> float:
        value = self._get(key)
        if type(value) not in (int, float) or not math.isfinite(value):
            raise ConfigError(f"state field {key!r} must be a finite number, got {value!r}")
        return float(value)

    def optional_number(self, key: str) -> float | None:
        return None if self._get(key) is None else self.number(key)

    def integer(self, key: str) -> int:
        value = self._get(key)
        if type(value) is not int:
            raise ConfigError(f"state field {key!r} must be an integer, got {value!r}")
        return value

    def optional_int(self, key: str) -> int | None:
        return None if self._get(key) is None else self.integer(key)

    def boolean(self, key: str) -> bool:
        value = self._get(key)
        if type(value) is not bool:
            raise ConfigError(f"state field {key!r} must be true or false, got {value!r}")
        return value

    def section(self, key: str) -> _StateReader | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ConfigError(f"state field {key!r} must be an object, got {type(value).__name__}")
        return _StateReader(value)
