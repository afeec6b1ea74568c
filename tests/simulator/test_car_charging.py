"""A car charging: AC coupled to a simulated Wall Connector, DC at a Supercharger, schedules."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from teslalink.simulator import EvseState, Wiring, World
from teslalink.simulator.vehicle import render
from teslalink.simulator.vehicle.ac import AC_EFFICIENCY
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.wall_connector.charger import RAMP_A_PER_S
from teslalink.simulator.wall_connector.unit import WallConnectorUnit

from .helpers import START


def make(
    seed: int = 7, wiring: Wiring = Wiring.SPLIT_PHASE, max_a: float = 48.0, **options: object
) -> tuple[World, Car, WallConnectorUnit]:
    world = World(seed=seed, speed=0.0, start=START)
    account = world.add_account("owner@example.com", "secret")
    options.setdefault("newer_computer", False)
    car = world.add_vehicle(account, **options)
    unit = world.add_wall_connector(wiring=wiring, max_current_a=max_a)
    return world, car, unit


def charge_state(car: Car) -> dict[str, Any]:
    """charge_state as vehicle_data renders it, without touching the car (it may be asleep)."""
    return render.charge_state(car, car.now)


# --- AC on a Wall Connector -------------------------------------------------------------------


def test_plug_in_sequence_agrees_with_the_unit() -> None:
    world, car, unit = make(battery_level=50.0)
    car.plug_into(unit)
    assert car.charging_state == "Starting"
    assert unit.evse_state is EvseState.ERROR  # the short transient right after plug-in
    world.advance(30)
    assert unit.evse_state is EvseState.CHARGING
    cs = charge_state(car)
    assert cs["charging_state"] == "Charging"
    assert cs["charger_actual_current"] == 32 == round(unit.current_a)  # model 3: 32 A onboard
    assert cs["charger_phases"] == 1
    assert cs["charger_voltage"] == round(unit.physics.grid_v)
    assert cs["charger_power"] == round(unit.power_w / 1000)
    assert cs["charge_port_latch"] == "Engaged"
    assert cs["conn_charge_cable"] == "SAE"
    assert cs["fast_charger_present"] is False
    assert cs["charge_current_request_max"] == 32
    assert cs["charger_pilot_current"] == 48


@pytest.mark.parametrize("car_first", [True, False])
def test_current_and_energy_agree_at_every_instant(car_first: bool) -> None:
    world, car, unit = make(battery_level=40.0)
    car.plug_into(unit)
    steps = [0.5, 1.0, 2.0, 3.0, 0.7, 4.1, 60.0, 600.0, 1.3, 3600.0, 7.0]
    for i, dt in enumerate(steps * 3):
        world.advance(dt)
        if (i % 2 == 0) == car_first:
            cs = charge_state(car)
            unit_a, unit_wh, vitals = unit.current_a, unit.session_energy_wh, unit.vitals()
        else:
            unit_a, unit_wh, vitals = unit.current_a, unit.session_energy_wh, unit.vitals()
            cs = charge_state(car)
        assert cs["charger_actual_current"] == round(unit_a)
        assert cs["charge_energy_added"] == round(unit_wh * AC_EFFICIENCY / 1000, 2)  # the pack's gain
        assert abs(vitals["vehicle_current_a"] - unit_a) <= 0.7  # open contactor: a few tenths
        assert vitals["session_energy_wh"] == pytest.approx(unit_wh, abs=0.001)
        if cs["charging_state"] == "Charging":
            assert vitals["contactor_closed"] is True


@pytest.mark.parametrize("car_first", [True, False])
def test_stops_at_the_limit_at_the_right_time_with_no_reads(car_first: bool) -> None:
    world, car, unit = make(battery_level=50.0, charge_limit_soc=80)
    capacity = car.battery.capacity_kwh
    life0 = unit.physics.lifetime.charging_time_s
    car.plug_into(unit)
    world.advance(10 * 3600)  # nobody reads anything for ten hours
    volts = unit.physics.volts_per_amp
    needed_wh = 0.30 * capacity * 1000 / AC_EFFICIENCY
    amp_seconds = needed_wh * 3600 / volts
    ramp_s = 32 / RAMP_A_PER_S
    expected_closed_s = ramp_s + (amp_seconds - 32 * ramp_s / 2) / 32
    if car_first:
        assert car.charging_state == "Complete"
    # the unit's side
    assert unit.evse_state is EvseState.CHARGING_FINISHED
    assert unit.contactor_closed is False
    assert unit.current_a == 0.0
    assert unit.session_energy_wh == pytest.approx(needed_wh, rel=1e-9)
    assert unit.physics.lifetime.charging_time_s - life0 == pytest.approx(expected_closed_s, abs=1e-6)
    # the car's side
    assert car.charging_state == "Complete"
    assert car.battery_level == pytest.approx(80.0, abs=1e-6)
    cs = charge_state(car)
    assert cs["battery_level"] == 80
    assert cs["charge_energy_added"] == round(needed_wh * AC_EFFICIENCY / 1000, 2)
    assert cs["charger_actual_current"] == 0
    assert cs["time_to_full_charge"] == 0.0


def test_dense_and_no_reads_give_the_same_history() -> None:
    def run(read_every: float | None) -> tuple[float, ...]:
        world, car, unit = make(battery_level=55.0, charge_limit_soc=75)
        car.plug_into(unit)
        total, step = 0.0, read_every or 6 * 3600
        while total < 6 * 3600:
            world.advance(step)
            total += step
            if read_every:
                car.charging_state  # noqa: B018 - a read
                unit.vitals()
        return (
            unit.session_energy_wh,
            unit.physics.lifetime.charging_time_s,
            car.battery_level,
            car.awake_seconds,
            float(car.wake_count),
            float(car.sleep_count),
        )

    dense, none = run(40.0), run(None)
    assert dense == pytest.approx(none, rel=1e-9)


def test_stop_time_seen_by_the_unit_when_only_the_unit_is_read() -> None:
    world, car, unit = make(battery_level=78.0, charge_limit_soc=80)
    car.plug_into(unit)
    states = []
    for _ in range(200):
        world.advance(10)
        states.append(unit.evse_state)
    assert EvseState.CHARGING in states
    assert states[-1] is EvseState.CHARGING_FINISHED
    assert car.charging_state == "Complete"


def test_set_charging_amps_acts_on_the_unit() -> None:
    world, car, unit = make(battery_level=30.0)
    car.plug_into(unit)
    world.advance(30)
    assert car.command("set_charging_amps", {"charging_amps": 10}) == (True, "")
    world.advance(5)
    assert unit.current_a == pytest.approx(10.0)
    assert charge_state(car)["charge_current_request"] == 10
    car.command("set_charging_amps", {"charging_amps": 1})
    world.advance(5)
    assert unit.current_a == pytest.approx(2.0)
    car.command("set_charging_amps", {"charging_amps": 3})
    world.advance(5)
    assert unit.current_a == pytest.approx(3.0)
    car.command("set_charging_amps", {"charging_amps": 80})
    world.advance(5)
    assert unit.current_a == pytest.approx(32.0)  # the car's onboard maximum
    assert charge_state(car)["charge_current_request"] == 32


def test_the_unit_caps_the_request() -> None:
    world, car, unit = make(model="Y", max_a=24.0, battery_level=30.0)
    car.plug_into(unit)
    world.advance(30)
    assert unit.current_a == pytest.approx(24.0)
    assert charge_state(car)["charger_actual_current"] == 24


def test_charge_stop_and_start_act_on_both_sides() -> None:
    world, car, unit = make(battery_level=30.0)
    car.plug_into(unit)
    world.advance(30)
    assert car.command("charge_stop") == (True, "")
    assert unit.evse_state is EvseState.WAITING_FOR_CAR
    assert unit.contactor_closed is False
    assert unit.current_a == 0.0
    assert car.charging_state == "Stopped"
    assert car.command("charge_stop") == (False, "not_charging")
    energy = unit.session_energy_wh
    world.advance(600)
    assert unit.session_energy_wh == energy
    assert car.command("charge_start") == (True, "")
    world.advance(10)
    assert unit.evse_state is EvseState.CHARGING
    assert car.command("charge_start") == (False, "is_charging")
    assert charge_state(car)["charge_energy_added"] == round(unit.session_energy_wh * AC_EFFICIENCY / 1000, 2)


def test_charge_start_reasons() -> None:
    world, car, unit = make(battery_level=80.0, charge_limit_soc=80)
    assert car.command("charge_start") == (False, "disconnected")
    car.plug_into(unit)
    world.advance(10)
    assert car.charging_state == "Complete"
    assert unit.evse_state is EvseState.CHARGING_FINISHED
    assert car.command("charge_start") == (False, "complete")


def test_raising_the_limit_resumes_and_lowering_it_stops() -> None:
    world, car, unit = make(battery_level=79.5, charge_limit_soc=80)
    car.plug_into(unit)
    world.advance(600)
    assert unit.evse_state is EvseState.CHARGING_FINISHED
    assert car.command("set_charge_limit", {"percent": 90}) == (True, "")
    world.advance(20)
    assert unit.evse_state is EvseState.CHARGING
    assert car.charging_state == "Charging"
    assert car.command("set_charge_limit", {"percent": 60}) == (True, "")
    assert unit.evse_state is EvseState.CHARGING_FINISHED
    assert car.charging_state == "Complete"


def test_three_phase_charging() -> None:
    world, car, unit = make(
        wiring=Wiring.THREE_PHASE, max_a=32.0, model="Y", eu_vehicle=True, battery_level=20.0
    )
    car.plug_into(unit)
    world.advance(60)
    cs = charge_state(car)
    assert cs["charger_phases"] == 3
    assert cs["charger_actual_current"] == 16
    assert cs["charge_current_request_max"] == 16
    assert 220 <= cs["charger_voltage"] <= 240
    assert cs["charger_power"] == 11
    assert cs["conn_charge_cable"] == "IEC"


def test_unplug_keeps_the_session_energy() -> None:
    world, car, unit = make(battery_level=30.0)
    car.plug_into(unit)
    world.advance(1800)
    energy = unit.session_energy_wh
    car.unplug()
    assert unit.evse_state is EvseState.NOT_CONNECTED
    cs = charge_state(car)
    assert cs["charging_state"] == "Disconnected"
    assert cs["charge_energy_added"] == round(energy * AC_EFFICIENCY / 1000, 2)
    assert cs["charger_phases"] is None
    assert cs["charge_port_latch"] == "Disengaged"
    assert car.charge_history()["total_charged"]["value"] == f"{energy / 1000:.0f}"


def test_unplugging_at_the_unit_disconnects_the_car() -> None:
    world, car, unit = make(battery_level=30.0)
    car.plug_into(unit)
    world.advance(120)
    unit.unplug()
    world.advance(1)
    assert car.charging_state == "Disconnected"
    assert car.plugged_unit is None
    assert unit.load is None


def test_charging_keeps_the_car_awake_and_it_sleeps_after_completion() -> None:
    world, car, unit = make(battery_level=70.0, charge_limit_soc=80)
    car.plug_into(unit)
    world.advance(60)
    left_s = charge_state(car)["time_to_full_charge"] * 3600
    assert left_s > 1800  # longer than the idle time: only charging keeps it awake
    world.advance(left_s + 600)
    assert car.charging_state == "Complete"
    assert car.state == "online"  # the idle timer runs from the end of charging
    world.advance(400)
    assert car.state == "asleep"
    assert car.sleep_count == 1


def test_scheduled_charging_waits_then_wakes_the_car() -> None:
    # local midnight in Fremont (UTC-8) for the test clock; schedule 02:00 local
    world, car, unit = make(battery_level=40.0)
    assert car.command("set_scheduled_charging", {"enable": True, "time": 120}) == (True, "")
    local = (world.now() + car.local_offset_s) % 86_400
    wait = (120 * 60 - local) % 86_400
    if wait < 3600 or wait > 86_400 - 6 * 3600:
        world.advance(wait + 3 * 3600)  # get away from the start time and its grace period
        wait = 86_400 - 3 * 3600
    car.plug_into(unit)
    cs = charge_state(car)
    assert cs["charging_state"] == "Stopped"
    assert cs["scheduled_charging_pending"] is True
    assert world.now() + wait - 1 <= cs["scheduled_charging_start_time"] <= world.now() + wait + 1
    world.advance(wait - 60)
    assert unit.evse_state is EvseState.WAITING_FOR_CAR
    assert car.state == "asleep"
    world.advance(120)
    assert unit.evse_state is EvseState.CHARGING
    assert car.state == "online"
    assert car.wake_reasons.get("charging") == 1


def test_time_to_full_matches_the_stop() -> None:
    world, car, unit = make(battery_level=60.0, charge_limit_soc=70)
    car.plug_into(unit)
    world.advance(60)
    hours = charge_state(car)["time_to_full_charge"]
    assert isinstance(hours, float)
    world.advance(hours * 3600 - 300)
    assert car.charging_state == "Charging"
    world.advance(600)
    assert car.charging_state == "Complete"


# --- DC at a Supercharger ---------------------------------------------------------------------


def test_supercharging_tapers_and_stops_at_the_limit() -> None:
    world, car, _ = make(model="Y", battery_level=10.0, charge_limit_soc=90)
    car.start_supercharging(max_kw=250.0)
    powers = []
    for _ in range(12):
        cs = charge_state(car)
        if cs["charging_state"] != "Charging":
            break
        assert cs["fast_charger_present"] is True
        assert cs["charger_phases"] is None
        assert cs["charger_actual_current"] == 0
        powers.append((cs["battery_level"], cs["charger_power"]))
        assert render.drive_state(car, car.now)["power"] == -cs["charger_power"]
        world.advance(300)
    levels = [level for level, _ in powers]
    kws = [kw for _, kw in powers]
    assert levels == sorted(levels)
    assert max(kws) == 250
    assert kws[-1] < 100  # tapered near the top
    assert all(b <= a for a, b in itertools.pairwise(kws[1:]))  # monotone taper past the peak
    world.advance(3600)
    cs = charge_state(car)
    assert cs["charging_state"] == "Complete"
    assert cs["battery_level"] == 90
    assert cs["charge_energy_added"] == pytest.approx(0.8 * 75.0, abs=0.02)


def test_supercharging_time_to_limit_is_closed_form() -> None:
    world, car, _ = make(model="Y", battery_level=20.0, charge_limit_soc=80)
    car.start_supercharging(max_kw=150.0)
    predicted = car.port.dc_full_at(world.now())
    assert predicted is not None
    minutes = (predicted - world.now()) / 60
    assert 20 < minutes < 45
    world.advance(predicted - world.now() - 1)
    assert car.charging_state == "Charging"
    assert charge_state(car)["charger_power"] <= 150
    world.advance(2)
    assert car.charging_state == "Complete"


def test_supercharging_stop_and_unplug() -> None:
    world, car, _ = make(battery_level=30.0)
    car.start_supercharging()
    world.advance(60)
    assert car.command("charge_stop") == (True, "")
    level = car.battery_level
    world.advance(600)
    assert car.battery_level == level
    assert car.command("charge_start") == (True, "")
    world.advance(60)
    assert car.battery_level > level
    car.unplug()
    cs = charge_state(car)
    assert cs["charging_state"] == "Disconnected"
    assert cs["fast_charger_present"] is False
    assert cs["charge_energy_added"] > 0
