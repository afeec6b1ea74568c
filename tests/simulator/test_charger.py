"""Charging behaviour: EVSE sequence, current, session and lifetime energy, heat, reboot."""

from __future__ import annotations

import pytest

from teslalink.simulator import EvseState, Wiring, World


def _state(world: World, unit_index: int = 0) -> tuple[int, bool, bool]:
    v = world.wall_connectors[unit_index].vitals()
    return v["evse_state"], v["contactor_closed"], v["vehicle_connected"]


def test_evse_sequence_from_plug_in_to_unplug(world: World) -> None:
    unit = world.add_wall_connector()
    assert _state(world) == (1, False, False)
    unit.plug_in(32.0)
    seen = []
    for _ in range(100):  # 10 s in 0.1 s steps
        seen.append(_state(world))
        world.advance(0.1)
    states = [s for s, _, _ in seen]
    # 7 first (a short transient), then 9 for a few seconds, then 11
    assert states[0] == 7
    collapsed = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    assert collapsed == [7, 9, 11]
    assert 1.0 <= states.count(7) * 0.1 <= 2.1
    assert 3.0 <= states.count(9) * 0.1 <= 5.1
    assert all(connected for _, _, connected in seen)
    assert all(closed == (s == 11) for s, closed, _ in seen)
    unit.unplug()
    assert _state(world) == (1, False, False)


def test_zero_request_waits_and_resumes(world: World) -> None:
    unit = world.add_wall_connector()
    unit.plug_in(0.0)
    world.advance(10)
    assert _state(world) == (9, False, True)
    unit.set_requested_current(16.0)
    assert _state(world) == (11, True, True)
    unit.set_requested_current(0.0)
    assert _state(world) == (9, False, True)
    assert unit.current_a == 0.0


def test_finish_then_restart(world: World) -> None:
    unit = world.add_wall_connector()
    unit.plug_in(32.0)
    world.advance(60)
    unit.finish_charging()
    assert _state(world) == (8, False, True)
    v = unit.vitals()
    assert v["vehicle_current_a"] < 1.0
    assert unit.evse_state is EvseState.CHARGING_FINISHED
    unit.set_requested_current(10.0)  # the owner raised the charge limit
    assert _state(world) == (11, True, True)


def test_current_follows_request_capped_at_max(world: World) -> None:
    unit = world.add_wall_connector(max_current_a=40.0)
    unit.plug_in(48.0)
    world.advance(30)
    assert unit.current_a == 40.0
    assert abs(unit.vitals()["vehicle_current_a"] - 40.0) < 0.5
    unit.set_requested_current(12.0)
    world.advance(1.0)
    assert 12.0 < unit.current_a < 40.0  # ramping down over a few seconds
    world.advance(5.0)
    assert unit.current_a == 12.0


def test_plug_in_twice_is_an_error(world: World) -> None:
    unit = world.add_wall_connector()
    unit.plug_in()
    with pytest.raises(RuntimeError, match="already plugged"):
        unit.plug_in()
    unit.unplug()
    unit.unplug()  # harmless


def test_session_counts_from_plug_in_and_resets_on_unplug(world: World) -> None:
    unit = world.add_wall_connector()
    unit.plug_in(0.0)
    world.advance(125.6)
    assert unit.vitals()["session_s"] == 125
    unit.unplug()
    assert unit.vitals()["session_s"] == 0


@pytest.mark.parametrize(
    ("wiring", "phases"),
    [(Wiring.SPLIT_PHASE, 1), (Wiring.THREE_PHASE, 3), (Wiring.SINGLE_PHASE, 1)],
)
def test_session_energy_integrates_real_power(world: World, wiring: Wiring, phases: int) -> None:
    unit = world.add_wall_connector(wiring=wiring)
    unit.plug_in(16.0)
    world.advance(10)  # handshake done, current ramped
    start = unit.session_energy_wh
    vitals = unit.vitals()
    if wiring is Wiring.THREE_PHASE:
        volts = vitals["voltageA_v"] + vitals["voltageB_v"] + vitals["voltageC_v"]
    else:
        volts = vitals["grid_v"]
    world.advance(3600)
    measured = unit.vitals()["session_energy_wh"] - start
    expected = volts * 16.0  # one hour
    assert measured == pytest.approx(expected, rel=0.01)
    assert (measured > 10_000) == (phases == 3)


def test_energy_does_not_depend_on_poll_rate() -> None:
    worlds = [World(seed=1, speed=0.0, start=0.0) for _ in range(2)]
    units = [w.add_wall_connector() for w in worlds]
    for unit in units:
        unit.plug_in(32.0)
    for _ in range(360):
        worlds[0].advance(10)
        units[0].vitals()
    worlds[1].advance(3600)
    assert units[0].session_energy_wh == pytest.approx(units[1].session_energy_wh, rel=1e-9)
    assert units[0].lifetime() == units[1].lifetime()


def test_session_energy_kept_after_unplug_reset_on_next_session(world: World) -> None:
    unit = world.add_wall_connector()
    assert unit.vitals()["session_energy_wh"] == 0  # fresh boot
    unit.plug_in(32.0)
    world.advance(1800)
    unit.unplug()
    kept = unit.vitals()["session_energy_wh"]
    assert kept > 3000
    world.advance(7200)
    assert unit.vitals()["session_energy_wh"] == kept
    unit.plug_in(32.0)
    assert unit.vitals()["session_energy_wh"] == 0
    world.advance(60)
    assert 0 < unit.vitals()["session_energy_wh"] < kept


def test_reboot_clears_session_energy_and_uptime(world: World) -> None:
    unit = world.add_wall_connector()
    unit.plug_in(32.0)
    world.advance(600)
    unit.unplug()
    assert unit.vitals()["session_energy_wh"] > 0
    assert unit.vitals()["uptime_s"] > 3000
    unit.reboot()
    world.advance(5)
    vitals = unit.vitals()
    assert vitals["session_energy_wh"] == 0
    assert vitals["uptime_s"] == 5
    assert unit.lifetime()["uptime_s"] == 5


def test_lifetime_counts_sessions_and_energy(world: World) -> None:
    unit = world.add_wall_connector()
    before = unit.lifetime()
    unit.plug_in(32.0)
    world.advance(3600)
    unit.unplug()
    after = unit.lifetime()
    assert after["charge_starts"] == before["charge_starts"] + 1
    assert after["contactor_cycles"] == before["contactor_cycles"] + 1
    assert after["contactor_cycles_loaded"] == before["contactor_cycles_loaded"] + 1  # unplugged under load
    assert after["connector_cycles"] == before["connector_cycles"] + 1
    session = unit.vitals()["session_energy_wh"]
    assert after["energy_wh"] - before["energy_wh"] == pytest.approx(session, abs=1.5)
    assert after["charging_time_s"] - before["charging_time_s"] == pytest.approx(3600 - 5, abs=2)
    assert after["uptime_s"] == unit.vitals()["uptime_s"]
    assert after["alert_count"] >= before["alert_count"]


def test_lifetime_without_car_changes_only_uptime(world: World) -> None:
    unit = world.add_wall_connector()
    before = unit.lifetime()
    world.advance(86_400)
    after = unit.lifetime()
    assert after["uptime_s"] == before["uptime_s"] + 86_400
    assert {k: v for k, v in after.items() if k != "uptime_s"} == {
        k: v for k, v in before.items() if k != "uptime_s"
    }


def test_temperatures_rise_while_charging_and_cool_back(world: World) -> None:
    unit = world.add_wall_connector()
    physics = unit.physics
    idle = (physics.pcba.value_c, physics.handle.value_c, physics.mcu.value_c)
    unit.plug_in(40.0)
    world.advance(2 * 3600)
    physics = unit.physics
    hot = (physics.pcba.value_c, physics.handle.value_c, physics.mcu.value_c)
    assert all(h > i + 4 for h, i in zip(hot, idle, strict=True))
    vitals = unit.vitals()
    assert vitals["pcba_temp_c"] > idle[0] + 4
    unit.unplug()
    world.advance(4 * 3600)
    physics = unit.physics
    cooled = (physics.pcba.value_c, physics.handle.value_c, physics.mcu.value_c)
    assert all(abs(c - i) < 0.5 for c, i in zip(cooled, idle, strict=True))


def test_pilot_and_prox_follow_the_plug(world: World) -> None:
    unit = world.add_wall_connector()
    v = unit.vitals()
    assert (v["pilot_high_v"], v["pilot_low_v"]) == (11.9, 11.9)
    assert v["prox_v"] == 0
    unit.plug_in(0.0)
    world.advance(10)
    v = unit.vitals()
    assert v["pilot_high_v"] == pytest.approx(8.9, abs=0.15)
    assert v["pilot_low_v"] == pytest.approx(-11.7, abs=0.15)
    assert v["prox_v"] == pytest.approx(1.5, abs=0.1)
    unit.set_requested_current(32.0)
    v = unit.vitals()
    assert abs(v["pilot_high_v"]) < 0.1
    assert abs(v["pilot_low_v"]) < 0.1


def test_relay_fields_by_firmware(world: World) -> None:
    old = world.add_wall_connector(firmware="21.29.1+g4152353e50f744")
    new = world.add_wall_connector()
    assert "relay_coil_v" in old.vitals()
    assert "relay_k1_v" not in old.vitals()
    assert "evse_not_ready_reasons" not in old.vitals()
    v = new.vitals()
    assert "relay_coil_v" not in v
    assert v["relay_k1_v"] == pytest.approx(12.0, abs=0.2)
    assert v["evse_not_ready_reasons"] == [4, 8]
    new.plug_in(32.0)
    world.advance(10)
    assert new.vitals()["evse_not_ready_reasons"] == []


def test_seeded_lifetime_history_is_plausible_for_its_uptime() -> None:
    # Published units charge 5-10 % of their uptime; a fresh twin must not claim more.
    from teslalink.simulator import World

    for seed in range(40):
        unit = World(seed=seed, speed=0.0, start=1_700_000_000).add_wall_connector()
        life = unit.lifetime()
        assert life["charging_time_s"] <= 0.081 * life["uptime_s"]
        assert life["contactor_cycles_loaded"] <= life["charge_starts"] == life["contactor_cycles"]
        assert life["energy_wh"] > 0
