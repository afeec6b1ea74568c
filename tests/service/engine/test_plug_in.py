"""A plug-in at the Wall Connector: told from the charger at once, the car never woken, told once."""

from __future__ import annotations

from teslalink.service.events import DeviceKind, EventKind
from teslalink.service.records import ChargeSource, ChargingSession
from teslalink.simulator import scenario
from teslalink.simulator.accounting import BillingCategory

from .harness import START, UNIT, twin


async def test_a_plug_in_while_the_car_sleeps_is_told_from_the_charger_within_one_unit_poll() -> None:
    async with twin(asleep=True, battery_level=75.0) as t:
        await t.start(car_at=START + 30)  # the car's summary at :30, the unit's vitals at :00
        await t.run(95)
        assert t.car.state == "asleep"
        scenario.plug_in(t.world, t.car.vin, t.unit.serial)
        plugged_at = t.world.now()
        await t.run(600)

        (plugged,) = t.events(EventKind.PLUGGED_IN)  # told once, though the car confirmed it since
        assert plugged.figures["source"] == "wallconnector"
        assert plugged.figures["wallconnector"] == UNIT
        assert plugged.device.kind is DeviceKind.CAR
        assert plugged.device.id == t.car.vin
        assert 0 <= plugged.at_ms / 1000 - plugged_at <= t.unit_policy.idle_s  # within one unit poll
        assert (plugged.at_ms / 1000, t.car.vin) in t.asked  # the runner was asked to read the car
        # The car confirmed it (read because it woke by itself for the cable) and charges:
        assert t.engine is not None
        assert t.engine.failures == 0
        assert t.car.wake_reasons.get("wake_up", 0) == 0
        assert t.billed(BillingCategory.WAKE) == 0
        assert t.kinds().count("charging_started") == 1
        sessions = t.latest(ChargingSession)
        assert len(sessions) == 1
        (session,) = sessions.values()
        assert session.source is ChargeSource.BOTH
        assert session.vin == t.car.vin
        assert session.serial == t.unit.serial


async def test_a_car_without_connectivity_is_recorded_plugged_in_from_the_charger_alone() -> None:
    async with twin(battery_level=75.0) as t:
        scenario.go_offline(t.world, t.car.vin)
        await t.start()
        await t.run(60)
        scenario.plug_in(t.world, t.car.vin, t.unit.serial)
        await t.run(300)
        assert t.kinds() == ["plugged_in", "charging_started"]
        (started,) = t.events(EventKind.CHARGING_STARTED)
        assert started.figures["source"] == "wallconnector"
        (session,) = t.latest(ChargingSession).values()
        assert session.source is ChargeSource.WALL_CONNECTOR
        assert session.vin == t.car.vin  # the config's car for this unit
        assert session.energy_grid_wh is not None
        assert session.energy_grid_wh > 0
        assert session.energy_added_wh is None  # the car said nothing yet

        scenario.come_online(t.world, t.car.vin)
        await t.run(1200)
        assert t.kinds().count("plugged_in") == 1  # the car confirming it is no news
        assert t.kinds().count("charging_started") == 1
        assert "car_online" in t.kinds()
        sessions = t.latest(ChargingSession)
        assert list(sessions) == [session.key]  # the same session, now seen by both
        joined = sessions[session.key]
        assert joined.source is ChargeSource.BOTH
        assert joined.energy_added_wh is not None
        assert joined.energy_added_wh > 0
