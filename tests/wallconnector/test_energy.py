"""Sessions and lifetime energy that survive the Wall Connector's counter quirks, and their saved state."""

from __future__ import annotations

import itertools
import math
import os
import stat
from dataclasses import dataclass

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from teslalink import _files
from teslalink._files import atomic_write_bytes
from teslalink.errors import ConfigError
from teslalink.wallconnector import PowerCalculator, Vitals
from teslalink.wallconnector.energy import (
    GEN3_MAX_POWER_W,
    ChargingSession,
    LifetimeEnergy,
    RejectedJump,
    SessionMonitor,
)

THREE_PHASE = PowerCalculator("three_phase")
W_PER_AMP = 3 * 230.0  # three phases at 230 V
T0 = 1_700_000_000.0
PREVIOUS_SESSION_WH = 22_128.301  # what the counter still shows from an earlier session


def vitals(
    *,
    connected: bool = True,
    amps: float = 0.0,
    session_s: int | None = 0,
    energy: float | None = 0.0,
    uptime: int | None = 100_000,
    closed: bool | None = None,
) -> Vitals:
    """EU three-phase vitals; `None` leaves a field out, as some firmware does."""
    raw: dict[str, object] = {
        "vehicle_connected": connected,
        "contactor_closed": amps > 0 if closed is None else closed,
        "session_s": session_s, "session_energy_wh": energy, "uptime_s": uptime,
        "grid_v": 230.0, "vehicle_current_a": amps,
        "currentA_a": amps, "currentB_a": amps, "currentC_a": amps,
        "voltageA_v": 230.0, "voltageB_v": 230.0, "voltageC_v": 230.0,
        "evse_state": 11 if amps else (2 if connected else 1),
    }  # fmt: skip
    return Vitals.from_raw({k: v for k, v in raw.items() if v is not None})


def feed(monitor: SessionMonitor, ts: float, **kw: object) -> ChargingSession | None:
    v = vitals(**kw)  # type: ignore[arg-type]
    return monitor.feed(ts, v, THREE_PHASE.power(v))


@dataclass
class FakeUnit:
    """The device's session counters as docs/reference.md §1 describes them, enough to drive a monitor."""

    t: float = T0
    connected: bool = False
    session_s: int = 0
    uptime: int = 50_000
    counter: float = PREVIOUS_SESSION_WH
    amps: float = 0.0
    counting: bool = False  # has the counter restarted for the session under way
    held: float | None = None  # the counter value left from before the plug-in (None after a reboot)

    def run(self, seconds: int, amps: float = 0.0) -> float:
        """Let time pass, charging at `amps` if a car is plugged in; return the energy delivered."""
        self.amps = amps if self.connected else 0.0
        if self.amps and not self.counting:
            self.counter, self.counting = 0.0, True
        delivered = W_PER_AMP * self.amps * seconds / 3600.0
        self.counter += delivered
        self.t += seconds
        self.uptime += seconds
        if self.connected:
            self.session_s += seconds
        return delivered

    def plug(self) -> None:
        self.connected, self.session_s, self.counting, self.held = True, 0, False, self.counter

    @property
    def indistinguishable(self) -> bool:
        """The new session's counter ended exactly on the old value: no reader of vitals can tell."""
        return self.counting and self.counter == self.held

    def unplug(self) -> None:
        self.connected, self.session_s, self.amps = False, 0, 0.0

    def reboot(self) -> None:
        self.uptime, self.session_s, self.counter, self.amps, self.held = 0, 0, 0.0, 0.0, None

    def poll(self, monitor: SessionMonitor) -> ChargingSession | None:
        return feed(
            monitor, self.t, connected=self.connected, amps=self.amps, session_s=self.session_s,
            energy=self.counter, uptime=self.uptime,
        )  # fmt: skip


# --------------------------------------------------------------------------------------------------------
# Sessions


def test_plug_charge_unplug_reports_one_session_with_counter_energy():
    unit, monitor = FakeUnit(), SessionMonitor()
    assert unit.poll(monitor) is None
    assert monitor.in_progress is None
    unit.run(30)
    unit.plug()
    unit.run(10)
    assert unit.poll(monitor) is None  # counter still shows the previous session: not this one's
    started = monitor.in_progress
    assert started is not None
    assert started.energy_wh == 0.0
    assert started.start == T0 + 30  # plug-in time from session_s
    assert started.observed_start

    delivered = 0.0
    for _ in range(120):  # one hour at 16 A, polled every 30 s
        delivered += unit.run(30, amps=16.0)
        assert unit.poll(monitor) is None
    live = monitor.in_progress
    assert live is not None
    assert live.in_progress
    assert live.energy_wh == pytest.approx(delivered)
    assert live.duration_s == pytest.approx(10 + 3600)

    unit.run(30)  # charging stops, the car stays plugged in a bit
    unit.poll(monitor)
    unit.run(20)
    unit.unplug()
    done = unit.poll(monitor)
    assert done is not None
    assert monitor.in_progress is None
    assert not done.in_progress
    assert done.energy_wh == pytest.approx(16 * W_PER_AMP)  # 11.04 kWh
    assert done.end == unit.t
    assert done.duration_s == pytest.approx(10 + 3600 + 30 + 20)
    assert done.peak_w == pytest.approx(16 * W_PER_AMP)
    assert done.agrees is True
    assert done.integrated_s == pytest.approx(3600 + 30 + 20)
    # The two ramp intervals are trapezoids: half of one 30 s interval at 11 kW is missed and added.
    assert done.integrated_wh == pytest.approx(done.energy_wh, abs=100)
    assert done.counter_resets == 0
    assert unit.poll(monitor) is None  # still unplugged: nothing more ends


def test_plugged_in_without_charging_counts_nothing_from_the_old_counter_value():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=False, energy=PREVIOUS_SESSION_WH)
    feed(monitor, T0 + 30, connected=True, session_s=25, energy=PREVIOUS_SESSION_WH)
    feed(monitor, T0 + 60, connected=True, session_s=55, energy=PREVIOUS_SESSION_WH)
    done = feed(monitor, T0 + 90, connected=False, energy=PREVIOUS_SESSION_WH)
    assert done is not None
    assert done.energy_wh == 0.0
    assert done.integrated_wh == 0.0
    assert done.agrees is True
    assert done.peak_w == 0.0
    assert done.start == T0 + 5


def test_counter_value_at_the_unplug_reading_is_the_sessions_final_value():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=False, energy=0.0)
    feed(monitor, T0 + 30, connected=True, amps=16, session_s=30, energy=90.0)
    # Charged on until just before the unplug: the counter keeps the value after unplugging.
    done = feed(monitor, T0 + 60, connected=False, energy=180.0)
    assert done is not None
    assert done.energy_wh == 180.0


def test_unplug_and_replug_between_polls_ends_one_session_and_starts_the_next():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=False, energy=PREVIOUS_SESSION_WH)
    feed(monitor, T0 + 30, connected=True, amps=16, session_s=30, energy=0.0)
    feed(monitor, T0 + 3630, connected=True, amps=16, session_s=3630, energy=11_040.0)
    feed(monitor, T0 + 3660, connected=True, session_s=3660, energy=11_100.0)
    # Unplugged and plugged in again 20 s before this poll: session_s went back, still connected.
    first = feed(monitor, T0 + 3690, connected=True, session_s=20, energy=11_100.0)
    assert first is not None
    assert first.energy_wh == 11_100.0
    assert first.end == T0 + 3670
    assert first.last_seen == T0 + 3660
    second = monitor.in_progress
    assert second is not None
    assert second.start == T0 + 3670
    assert second.energy_wh == 0.0  # the counter still holds the first session's value
    # The car starts charging: the device restarts the counter for the new session.
    feed(monitor, T0 + 3720, connected=True, amps=16, session_s=50, energy=40.0)
    feed(monitor, T0 + 3750, connected=True, amps=16, session_s=80, energy=132.0)
    done = feed(monitor, T0 + 3780, connected=False, energy=132.0)
    assert done is not None
    assert done.energy_wh == 132.0
    assert done.start == T0 + 3670


def test_replug_where_the_new_session_already_counted_before_the_poll():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=True, amps=16, session_s=600, energy=1_840.0)
    first = feed(monitor, T0 + 60, connected=True, amps=16, session_s=40, energy=120.0)
    assert first is not None
    assert first.energy_wh == 1_840.0
    second = monitor.in_progress
    assert second is not None
    assert second.energy_wh == 120.0


def test_reboot_mid_session_adds_the_counter_parts_and_keeps_one_session():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=False, energy=0.0, uptime=5_000)
    feed(monitor, T0 + 30, connected=True, amps=16, session_s=30, energy=0.0, uptime=5_030)
    feed(monitor, T0 + 1_800, connected=True, amps=16, session_s=1_800, energy=5_000.0, uptime=6_800)
    # The unit rebooted: uptime and session_s restart, the counter is 0 and counts again.
    assert feed(monitor, T0 + 1_860, connected=True, amps=16, session_s=20, energy=0.0, uptime=20) is None
    feed(monitor, T0 + 1_890, connected=True, amps=16, session_s=50, energy=92.0, uptime=50)
    live = monitor.in_progress
    assert live is not None
    assert live.energy_wh == 5_092.0
    assert live.counter_resets == 1
    assert live.start == T0  # the same session (plugged in 30 s before the poll that saw it)
    done = feed(monitor, T0 + 1_920, connected=False, energy=2_000.0, uptime=80)
    assert done is not None
    assert done.energy_wh == 7_000.0


def test_counter_falling_without_a_seen_reboot_is_added_as_a_new_part():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=False, energy=0.0, uptime=None)
    feed(monitor, T0 + 30, connected=True, amps=16, session_s=30, energy=50.0, uptime=None)
    feed(monitor, T0 + 60, connected=True, amps=16, session_s=None, energy=10.0, uptime=None)
    live = monitor.in_progress
    assert live is not None
    assert live.energy_wh == 60.0
    assert live.counter_resets == 1


def test_cross_check_flags_a_power_figure_that_over_reads():
    """A split-phase unit set up as three-phase over-reads by ~30 %: the counter says otherwise."""

    def split_phase(energy: float, session_s: int, connected: bool = True) -> Vitals:
        return Vitals.from_raw(
            {
                "vehicle_connected": connected, "contactor_closed": connected, "session_s": session_s,
                "session_energy_wh": energy, "uptime_s": 10_000, "grid_v": 240.0,
                "vehicle_current_a": 30.0 if connected else 0.0, "currentA_a": 30.0, "currentB_a": 30.0,
                "currentC_a": 12.0, "voltageA_v": 240.0, "voltageB_v": 240.0, "voltageC_v": 120.0,
            }
        )  # fmt: skip

    readings = [split_phase(0.0, 0, connected=False)]
    readings += [split_phase(240 * 30 * n * 60 / 3600, n * 60) for n in range(61)]
    readings.append(split_phase(240 * 30.0, 0, connected=False))  # 7.2 kWh in the hour

    for calculator, agrees in ((PowerCalculator(), True), (PowerCalculator("three_phase"), False)):
        monitor = SessionMonitor()
        ended = [monitor.feed(T0 + i * 60, v, calculator.power(v)) for i, v in enumerate(readings)]
        done = ended[-1]
        assert done is not None
        assert done.energy_wh == pytest.approx(7_200.0)
        assert done.agrees is agrees
        assert done.mismatch_wh is not None
        if agrees:
            assert abs(done.mismatch_wh) < 100
        else:
            assert done.mismatch_wh < -1_000  # the power figure claims far more than the counter
            assert done.peak_w == pytest.approx(240 * 30 * 2 + 120 * 12)


def test_counter_and_power_disagree_when_the_counter_sticks():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=False, energy=PREVIOUS_SESSION_WH)
    for n in range(1, 30):  # charging at 11 kW for 15 minutes, but the counter never moves
        feed(monitor, T0 + n * 30, connected=True, amps=16, session_s=n * 30, energy=PREVIOUS_SESSION_WH)
    live = monitor.in_progress
    assert live is not None
    assert live.energy_wh == 0.0
    assert live.integrated_wh > 2_000
    assert live.agrees is False


def test_gaps_are_left_out_of_the_integral_but_the_counter_keeps_the_energy():
    monitor = SessionMonitor(max_gap_s=300)
    unit = FakeUnit()
    unit.poll(monitor)
    unit.plug()
    unit.run(10)
    unit.poll(monitor)
    for _ in range(10):
        unit.run(30, amps=16)
        unit.poll(monitor)
    unit.run(1_200, amps=16)  # the poller was away for 20 minutes
    unit.poll(monitor)
    for _ in range(10):
        unit.run(30, amps=16)
        unit.poll(monitor)
    live = monitor.in_progress
    assert live is not None
    assert live.energy_wh == pytest.approx(W_PER_AMP * 16 * 1_800 / 3600)
    assert live.integrated_s == pytest.approx(600)  # the gap is unknown, not invented
    assert live.integrated_wh == pytest.approx(W_PER_AMP * 16 * 585 / 3600)  # first ramp is a trapezoid
    assert live.agrees is True  # compared over the same 600 s only
    assert live.duration_s == pytest.approx(10 + 1_800)


def test_a_reboot_interval_is_not_integrated():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=True, amps=16, session_s=100, energy=300.0, uptime=1_000)
    feed(monitor, T0 + 30, connected=True, amps=16, session_s=5, energy=0.0, uptime=5)
    live = monitor.in_progress
    assert live is not None
    assert live.integrated_s == 0.0
    assert live.agrees is None  # nothing could be compared
    assert live.mismatch_wh is None


def test_peak_power_is_the_highest_reading_in_the_session():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=False)
    for n, amps in enumerate([6, 16, 32, 24, 10], start=1):
        feed(monitor, T0 + n * 30, connected=True, amps=amps, session_s=n * 30, energy=float(n))
    live = monitor.in_progress
    assert live is not None
    assert live.peak_w == pytest.approx(32 * W_PER_AMP)
    done = feed(monitor, T0 + 200, connected=False, energy=5.0)
    assert done is not None
    assert done.peak_w == pytest.approx(32 * W_PER_AMP)


def test_joining_a_charging_session_counts_the_counter_and_estimates_the_start():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=True, amps=16, session_s=3_600, energy=10_000.0)
    live = monitor.in_progress
    assert live is not None
    assert not live.observed_start
    assert live.start == T0 - 3_600
    assert live.energy_wh == 10_000.0


def test_joining_an_idle_connected_car_does_not_count_a_possibly_stale_counter():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=True, session_s=0, energy=PREVIOUS_SESSION_WH)
    feed(monitor, T0 + 30, connected=True, amps=16, session_s=30, energy=0.0)
    feed(monitor, T0 + 60, connected=True, amps=16, session_s=60, energy=92.0)
    live = monitor.in_progress
    assert live is not None
    assert live.energy_wh == 92.0


def test_a_reboot_while_unplugged_does_not_hide_the_next_session():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=False, energy=PREVIOUS_SESSION_WH, uptime=90_000)
    feed(monitor, T0 + 60, connected=False, energy=0.0, uptime=40)
    feed(monitor, T0 + 90, connected=True, amps=16, session_s=10, energy=0.0, uptime=70)
    feed(monitor, T0 + 120, connected=True, amps=16, session_s=40, energy=92.0, uptime=100)
    done = feed(monitor, T0 + 150, connected=False, energy=92.0, uptime=130)
    assert done is not None
    assert done.energy_wh == 92.0


def test_firmware_without_session_energy_gives_no_counter_figure():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=False, energy=None)
    feed(monitor, T0 + 30, connected=True, amps=16, session_s=30, energy=None)
    done = feed(monitor, T0 + 60, connected=False, energy=None)
    assert done is not None
    assert done.energy_wh is None
    assert done.agrees is None
    assert done.peak_w == pytest.approx(16 * W_PER_AMP)


def test_a_reading_that_does_not_say_whether_a_car_is_connected_changes_nothing():
    monitor = SessionMonitor()
    feed(monitor, T0, connected=False)
    feed(monitor, T0 + 30, connected=True, session_s=30)
    v = Vitals.from_raw({"session_s": 60, "session_energy_wh": 0.0})
    assert monitor.feed(T0 + 60, v, THREE_PHASE.power(v)) is None
    assert monitor.in_progress is not None


@pytest.mark.parametrize("kwargs", [{"max_gap_s": 0}, {"tolerance_wh": -1}, {"tolerance_ratio": -0.1}])
def test_monitor_rejects_nonsense_settings(kwargs):
    with pytest.raises(ConfigError):
        SessionMonitor(**kwargs)


def test_a_timestamp_that_is_not_a_number_is_refused():
    v = vitals()
    with pytest.raises(ConfigError, match="timestamp"):
        SessionMonitor().feed(math.nan, v, THREE_PHASE.power(v))
    with pytest.raises(ConfigError, match="timestamp"):
        LifetimeEnergy().feed(math.inf, 1.0)


# One poll per step, so that every state change is visible, as with a poller that keeps up.
_OPS = st.one_of(
    st.tuples(st.just("charge"), st.integers(10, 600), st.sampled_from([6.0, 16.0, 32.0])),
    st.tuples(st.just("idle"), st.integers(10, 3_600), st.just(0.0)),
    st.tuples(st.sampled_from(["plug", "unplug", "replug", "reboot"]), st.just(0), st.just(0.0)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_OPS, max_size=40))
def test_session_energies_match_what_the_device_delivered(ops):
    unit, monitor = FakeUnit(), SessionMonitor()
    truth: list[float] = []
    reported: list[float] = []

    def poll() -> None:
        done = unit.poll(monitor)
        if done is not None:
            assert done.energy_wh is not None
            reported.append(done.energy_wh)

    poll()
    for op, seconds, amps in ops:
        if op == "plug" and not unit.connected:
            unit.plug()
            truth.append(0.0)
            unit.run(1)
        elif op == "unplug" and unit.connected:
            assume(not unit.indistinguishable)
            unit.unplug()
        elif op == "replug" and unit.connected and unit.session_s > 1:
            assume(not unit.indistinguishable)
            unit.unplug()
            unit.plug()
            truth.append(0.0)
            unit.run(1)
        elif op == "reboot":
            unit.reboot()
            unit.run(1)
        else:
            delivered = unit.run(seconds or 10, amps)
            if unit.connected:
                truth[-1] += delivered
        poll()
    assume(not (unit.connected and unit.indistinguishable))
    live = monitor.in_progress
    assert (live is not None) == unit.connected
    if live is not None:
        assert live.energy_wh is not None
        reported.append(live.energy_wh)
    assert reported == pytest.approx(truth)


# --------------------------------------------------------------------------------------------------------
# Lifetime


def test_normal_11kw_charging_is_accepted():
    counter = LifetimeEnergy()
    raw = 386_204.0
    counter.feed(T0, raw)
    for n in range(1, 121):  # two hours at 11 kW, read every minute
        raw += 11_000 / 60
        assert counter.feed(T0 + n * 60, raw) is None
    assert counter.counted_wh == pytest.approx(22_000)
    assert counter.total_wh == pytest.approx(raw)
    assert counter.rejected_wh == 0
    assert counter.rejected_jumps == 0
    assert counter.last_rejected is None


def test_a_120_kwh_jump_in_five_minutes_is_rejected_and_later_increases_count():
    counter = LifetimeEnergy()
    counter.feed(T0, 100_000.0)
    counter.feed(T0 + 60, 100_180.0)
    jump = counter.feed(T0 + 360, 220_180.0)
    assert isinstance(jump, RejectedJump)
    assert jump.increase_wh == 120_000.0
    assert jump.previous_wh == 100_180.0
    assert jump.elapsed_s == 300.0
    assert jump.allowed_wh == pytest.approx(GEN3_MAX_POWER_W * 1.1 * 360 / 3600)
    assert counter.rejected_wh == 120_000.0
    assert counter.rejected_jumps == 1
    assert counter.last_rejected == jump
    assert counter.baseline_wh == 220_180.0
    assert counter.feed(T0 + 420, 220_360.0) is None  # the counter goes on from its new value
    assert counter.total_wh == pytest.approx(100_000 + 180 + 180)


def test_a_decrease_rebases_without_counting():
    counter = LifetimeEnergy()
    counter.feed(T0, 386_204.0)
    counter.feed(T0 + 60, 386_300.0)
    assert counter.feed(T0 + 120, 50.0) is None  # a replaced unit starts near 0
    assert counter.total_wh == 386_300.0
    counter.feed(T0 + 180, 150.0)
    assert counter.total_wh == 386_400.0
    assert counter.rejected_wh == 0


def test_increases_with_no_car_connected_are_rejected():
    counter = LifetimeEnergy()
    counter.feed(T0, 386_204.0)
    # ~90 min with no car, +1.5 kWh: possible at 22 kW, impossible without a car.
    jump = counter.feed(T0 + 5_400, 387_704.0, car_connected=False)
    assert jump is not None
    assert jump.allowed_wh == counter.idle_slack_wh
    assert counter.feed(T0 + 5_460, 387_706.0, car_connected=False) is None  # rounding is tolerated
    assert counter.feed(T0 + 10_800, 389_204.0) is None  # unknown: judged on power alone
    assert counter.total_wh == pytest.approx(386_204 + 2 + 1_498)


def test_missing_and_nan_readings_are_skipped():
    counter = LifetimeEnergy()
    assert counter.feed(T0, None) is None
    assert counter.baseline_wh is None
    counter.feed(T0 + 60, 1_000.0)
    counter.feed(T0 + 120, None)
    counter.feed(T0 + 180, math.nan)
    assert counter.feed(T0 + 240, 1_500.0) is None  # judged over the 180 s since the last good one
    assert counter.total_wh == 1_500.0


def test_allowance_includes_jitter_so_a_late_first_reading_is_not_rejected():
    counter = LifetimeEnergy(jitter_s=60)
    counter.feed(T0, 0.0)
    # Polled 2 s apart, but the device counted over a longer span: within the jitter allowance.
    assert counter.feed(T0 + 2, 300.0) is None
    assert counter.allowed_wh(0) == pytest.approx(GEN3_MAX_POWER_W * 1.1 * 60 / 3600)


@pytest.mark.parametrize(
    "kwargs", [{"max_power_w": 0}, {"margin": -0.1}, {"jitter_s": -1}, {"idle_slack_wh": -1}]
)
def test_lifetime_rejects_nonsense_settings(kwargs):
    with pytest.raises(ConfigError):
        LifetimeEnergy(**kwargs)


_LIFETIME_STEPS = st.lists(
    st.tuples(
        st.integers(0, 7_200),  # seconds since the previous reading
        st.one_of(st.integers(-50_000, 50_000), st.integers(0, 300_000), st.none()),  # raw change, or missing
        st.sampled_from([None, True, False]),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, 10**7), steps=_LIFETIME_STEPS)
def test_lifetime_never_decreases_and_accounts_for_every_increase(start, steps):
    counter = LifetimeEnergy()
    ts, raw = T0, start
    counter.feed(ts, float(raw))
    previous_total = counter.total_wh
    for elapsed, change, car in steps:
        ts += elapsed
        if change is None:
            counter.feed(ts, None, car_connected=car)
            continue
        raw = max(0, raw + change)
        before = counter.baseline_wh
        assert before is not None
        positive_step = max(0.0, raw - before)
        rejected_before = counter.rejected_wh
        counter.feed(ts, float(raw), car_connected=car)
        assert counter.total_wh >= previous_total
        assert (counter.total_wh - previous_total) + (counter.rejected_wh - rejected_before) == positive_step
        previous_total = counter.total_wh
    assert counter.counted_wh + counter.rejected_wh == pytest.approx(
        _sum_of_rises([start, *_raws(start, steps)])
    )


def _raws(start: int, steps: list[tuple[int, int | None, bool | None]]) -> list[int]:
    raws, raw = [], start
    for _, change, _ in steps:
        if change is not None:
            raw = max(0, raw + change)
            raws.append(raw)
    return raws


def _sum_of_rises(values: list[int]) -> int:
    return sum(max(0, b - a) for a, b in itertools.pairwise(values))


# --------------------------------------------------------------------------------------------------------
# Saved state


def _charging_monitor() -> tuple[FakeUnit, SessionMonitor]:
    unit, monitor = FakeUnit(), SessionMonitor()
    unit.poll(monitor)
    unit.plug()
    unit.run(10)
    unit.poll(monitor)
    for _ in range(20):
        unit.run(30, amps=16)
        unit.poll(monitor)
    return unit, monitor


def test_a_restarted_monitor_continues_the_session_in_progress(tmp_path):
    unit, monitor = _charging_monitor()
    path = tmp_path / "sessions.json"
    monitor.save(path)
    restored = SessionMonitor()
    assert restored.load(path) is True
    assert restored.in_progress == monitor.in_progress

    for _ in range(10):
        unit.run(30, amps=16)
        assert unit.poll(monitor) == unit.poll(restored) is None
    unit.run(30)
    unit.unplug()
    done = unit.poll(monitor)
    assert done is not None
    assert unit.poll(restored) == done
    assert done.energy_wh == pytest.approx(W_PER_AMP * 16 * 900 / 3600)


def test_a_restart_after_a_long_stop_leaves_the_downtime_out_of_the_integral(tmp_path):
    unit, monitor = _charging_monitor()
    state = orjson.loads(orjson.dumps(monitor.to_state()))  # plain JSON all the way
    restored = SessionMonitor()
    restored.restore(state)
    unit.run(3_600, amps=16)  # teslalink was down for an hour while the car charged
    unit.poll(restored)
    live = restored.in_progress
    assert live is not None
    assert live.energy_wh == pytest.approx(W_PER_AMP * 16 * 4_200 / 3600)
    assert live.integrated_s == pytest.approx(600)


def test_a_fresh_monitor_state_round_trips():
    state = SessionMonitor().to_state()
    restored = SessionMonitor()
    restored.restore(orjson.loads(orjson.dumps(state)))
    assert restored.to_state() == state
    assert restored.in_progress is None


def test_a_restarted_lifetime_counter_keeps_its_total_baseline_and_rejections(tmp_path):
    counter = LifetimeEnergy()
    counter.feed(T0, 100_000.0)
    counter.feed(T0 + 300, 220_000.0)
    counter.feed(T0 + 360, 220_150.0)
    path = tmp_path / "lifetime.json"
    counter.save(path)
    restored = LifetimeEnergy()
    assert restored.load(path)
    assert restored.to_state() == counter.to_state()
    assert restored.last_rejected == counter.last_rejected
    for c in (counter, restored):
        assert c.feed(T0 + 420, 220_300.0) is None
        assert c.feed(T0 + 480, 500_000.0) is not None
    assert restored.to_state() == counter.to_state()
    assert restored.total_wh == 100_300.0
    assert restored.rejected_jumps == 2


def test_saved_state_is_owner_only(tmp_path):
    path = tmp_path / "lifetime.json"
    LifetimeEnergy().save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_loading_a_missing_file_says_so_and_changes_nothing(tmp_path):
    counter = LifetimeEnergy()
    counter.feed(T0, 5.0)
    assert counter.load(tmp_path / "absent.json") is False
    assert counter.total_wh == 5.0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"kind": "teslalink.wallconnector.lifetime", "version": 1, "baseline', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"kind": "teslalink.wallconnector.lifetime", "version": 99}', "version 99"),
        (b'{"kind": "teslalink.wallconnector.sessions", "version": 1}', "kind"),
        (b'{"kind": "teslalink.wallconnector.lifetime", "version": 1}', "'baseline_wh'"),
    ],
)
def test_a_bad_lifetime_state_file_is_a_clear_error_and_left_untouched(tmp_path, body, words):
    path = tmp_path / "lifetime.json"
    path.write_bytes(body)
    counter = LifetimeEnergy()
    counter.feed(T0, 7.0)
    with pytest.raises(ConfigError, match=r"lifetime\.json") as info:
        counter.load(path)
    assert words in str(info.value)
    assert path.read_bytes() == body
    assert counter.total_wh == 7.0  # not half-restored


def test_a_state_with_a_wrong_field_type_names_the_field_and_changes_nothing(tmp_path):
    _, monitor = _charging_monitor()
    before = monitor.in_progress
    state = monitor.to_state()
    state["open"]["banked_wh"] = "lots"
    path = tmp_path / "sessions.json"
    path.write_bytes(orjson.dumps(state))
    with pytest.raises(ConfigError, match="'banked_wh'"):
        monitor.load(path)
    assert monitor.in_progress == before
    state = monitor.to_state()
    state["last"] = None
    with pytest.raises(ConfigError, match="no last reading"):
        monitor.restore(state)


def test_a_lifetime_state_with_negative_totals_is_refused():
    state = LifetimeEnergy().to_state()
    state["rejected_wh"] = -5
    with pytest.raises(ConfigError, match="negative"):
        LifetimeEnergy().restore(state)


# --------------------------------------------------------------------------------------------------------
# Atomic writes


def test_atomic_write_replaces_the_file_with_the_given_mode(tmp_path):
    path = tmp_path / "state.json"
    path.write_bytes(b"old")
    atomic_write_bytes(path, b"new", mode=0o644)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(tmp_path) == ["state.json"]


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    path.write_bytes(b"old")

    def fail(src: str, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_files.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["state.json"]
