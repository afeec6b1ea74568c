"""Plugged in but not charging after the grace; a Wall Connector's outage, alerts and lifetime jumps."""

from __future__ import annotations

from teslalink.service.events import DeviceKind, EventKind
from teslalink.service.settings import EngineSettings
from teslalink.service.watch import UnitPolicy
from teslalink.simulator import scenario
from teslalink.simulator.quirks import Quirks

from .harness import START, UNIT, twin

WAIT_FOR_10_AM = {"enable": True, "time": 600}  # local 10:00; the world starts at 07:06 local


async def test_plugged_in_not_charging_fires_once_after_the_grace_from_a_reading() -> None:
    async with twin(battery_level=60.0) as t:
        assert t.car.command("set_scheduled_charging", WAIT_FOR_10_AM) == (True, "")
        await t.start()
        await t.run(60)
        scenario.plug_in(t.world, t.car.vin, t.unit.serial)
        await t.run(1800)
        assert t.car.charging_state == "Stopped"  # waiting for its schedule
        (plugged,) = t.events(EventKind.PLUGGED_IN)
        (waiting,) = t.events(EventKind.PLUGGED_IN_NOT_CHARGING)
        grace_ms = t.settings.plugged_in_grace_s * 1000
        assert 0 <= waiting.at_ms - plugged.at_ms - grace_ms <= t.unit_policy.connected_s * 1000
        assert waiting.device.id == t.car.vin
        assert waiting.figures["wallconnector"] == UNIT
        assert not t.events(EventKind.CHARGING_STARTED)


async def test_plugged_in_not_charging_fires_from_the_tick_while_nothing_is_read() -> None:
    unread = UnitPolicy(connected_s=3600.0)  # after the plug-in edge the unit is not read for an hour
    async with twin(settings=EngineSettings(plugged_in_grace_s=300.0), unit_policy=unread) as t:
        assert t.car.command("set_scheduled_charging", WAIT_FOR_10_AM) == (True, "")
        scenario.go_offline(t.world, t.car.vin)
        await t.start()
        await t.run(30)
        scenario.plug_in(t.world, t.car.vin, t.unit.serial)
        await t.run(900)
        (plugged,) = t.events(EventKind.PLUGGED_IN)
        (waiting,) = t.events(EventKind.PLUGGED_IN_NOT_CHARGING)
        assert t.state is not None
        unit_status = next(s for s in t.state.devices.values() if s.device.kind is DeviceKind.WALL_CONNECTOR)
        assert unit_status.last_reading_ms == plugged.at_ms  # nothing was read since the edge
        assert 300_000 <= waiting.at_ms - plugged.at_ms <= 300_000 + 30_000  # the next 30 s tick


async def test_a_wall_connector_offline_and_back_is_told_once_each() -> None:
    async with twin() as t:
        await t.start()
        await t.run(120)
        scenario.set_unit_online(t.world, t.unit.serial, False)
        went = t.world.now()
        await t.run(600)
        (offline,) = t.events(EventKind.WALLCONNECTOR_OFFLINE)
        assert offline.device.id == t.unit.serial
        assert offline.figures["failures"] == 4
        assert offline.at_ms / 1000 - went <= t.unit_policy.idle_s + 3 * t.unit_policy.error_s
        assert t.state is not None
        assert "wallconnector Garage" in t.state.problems()[0]
        scenario.set_unit_online(t.world, t.unit.serial, True)
        back = t.world.now()
        await t.run(300)
        (online,) = t.events(EventKind.WALLCONNECTOR_ONLINE)
        assert online.at_ms / 1000 - back <= t.unit_policy.error_s  # an unreachable unit is asked less often
        offline_s = online.figures["offline_s"]
        assert isinstance(offline_s, float)
        assert abs(offline_s - (back - went)) <= t.unit_policy.idle_s + t.unit_policy.error_s
        assert t.kinds() == ["wallconnector_offline", "wallconnector_online"]
        assert t.state.problems() == []


async def test_a_new_alert_is_told_once_and_again_only_after_it_cleared() -> None:
    async with twin() as t:
        await t.start()
        await t.run(120)
        scenario.set_unit_alerts(t.world, t.unit.serial, ["ground_fault"])
        await t.run(300)
        scenario.set_unit_alerts(t.world, t.unit.serial, ["ground_fault", 17])
        await t.run(300)
        scenario.set_unit_alerts(t.world, t.unit.serial, [])
        await t.run(120)
        scenario.set_unit_alerts(t.world, t.unit.serial, ["ground_fault"])
        await t.run(120)
        alerts = [e.figures["alert"] for e in t.events(EventKind.WALLCONNECTOR_ALERT)]
        assert alerts == ["ground_fault", "17", "ground_fault"]


async def test_a_rejected_lifetime_jump_is_told_with_its_size() -> None:
    async with twin(quirks=Quirks.parse("glitch=3")) as t:  # a jump of tens of kWh every ~3 min
        await t.start()
        await t.run(900)
        assert t.monitor is not None
        jumps = t.events(EventKind.LIFETIME_JUMP_REJECTED)
        assert len(jumps) == t.monitor.lifetime.rejected_jumps >= 2
        for jump in jumps:
            increase = jump.figures["increase_wh"]
            allowed = jump.figures["allowed_wh"]
            assert isinstance(increase, float)
            assert isinstance(allowed, float)
            assert increase >= 20_000 > allowed
        total = jumps[-1].figures["rejected_total_wh"]
        assert total == round(t.monitor.lifetime.rejected_wh, 1)
        truth = t.unit_truth()
        assert t.monitor.lifetime.total_wh == truth["lifetime_energy_wh"] // 1  # nothing of the jumps counted
        assert START < jumps[0].at_ms / 1000 < t.world.now()
