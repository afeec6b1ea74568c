"""A charge from plug-in to unplug: one joined session, its energy the twin's, each edge told once."""

from __future__ import annotations

import itertools

from teslalink.service.events import EventKind
from teslalink.service.records import (
    ChargeSample,
    ChargeSource,
    ChargingSession,
    WallConnectorSample,
    WallConnectorSession,
)
from teslalink.simulator import scenario
from teslalink.simulator.vehicle.ac import AC_EFFICIENCY

from .harness import UNIT, twin


async def test_a_charge_to_complete_is_one_joined_session_with_the_twins_energy() -> None:
    async with twin(battery_level=74.0, charge_limit_soc=80) as t:
        await t.start()
        await t.run(120)
        scenario.plug_in(t.world, t.car.vin, t.unit.serial)
        plugged_at = t.world.now()
        await t.run_until(lambda: t.car.charging_state == "Complete", limit_s=4 * 3600)
        await t.run(120)  # the unit sees the contactor open, the car is asked why
        complete = t.events(EventKind.CHARGE_COMPLETE)
        assert len(complete) == 1
        assert complete[0].figures["reason"] == "complete"
        assert complete[0].figures["battery_level"] == 80

        scenario.unplug(t.world, t.car.vin)
        unplugged_at = t.world.now()
        await t.run(900)
        truth = t.unit_truth()  # session_energy_wh keeps the last session's value after the unplug
        assert t.engine is not None
        assert t.engine.failures == 0

        assert t.kinds() == ["plugged_in", "charging_started", "charge_complete", "unplugged"]
        (unplugged,) = t.events(EventKind.UNPLUGGED)
        assert unplugged.figures["source"] == "wallconnector"
        assert 0 <= unplugged.at_ms / 1000 - unplugged_at <= t.unit_policy.connected_s

        sessions = t.latest(ChargingSession)
        assert len(sessions) == 1
        (session,) = sessions.values()
        assert session.source is ChargeSource.BOTH
        assert session.vin == t.car.vin
        assert session.serial == t.unit.serial
        assert session.stop_reason == "complete"
        assert session.end_ms is not None
        assert session.start_ms / 1000 - plugged_at <= t.unit_policy.idle_s
        assert session.energy_grid_wh is not None
        assert session.energy_added_wh is not None
        assert abs(session.energy_grid_wh - truth["session_energy_wh"]) <= 0.02 * truth["session_energy_wh"]
        # The car counts what reached the pack: the unit's energy less the charger's losses.
        added_truth = truth["session_energy_wh"] * AC_EFFICIENCY
        assert abs(session.energy_added_wh - added_truth) <= 0.02 * added_truth
        assert session.losses_wh is not None
        losses_truth = truth["session_energy_wh"] - added_truth
        assert abs(session.losses_wh - losses_truth) <= 0.02 * truth["session_energy_wh"]
        assert session.start_battery_level == 74
        assert session.end_battery_level == 80
        assert session.max_power_w is not None
        assert 5_000 < session.max_power_w < 12_000
        assert session.fast_charger is False

        (plug_session,) = t.latest(WallConnectorSession).values()
        assert plug_session.end_ms is not None
        assert plug_session.vin == t.car.vin
        assert plug_session.energy_wh == session.energy_grid_wh
        assert plug_session.charging_s is not None
        charging_s = (session.end_ms - session.start_ms) / 1000
        # The contactor's closed time; the session runs from the car's "Starting" (the handshake).
        # At most: the twin's handshake (2 + 5 s), the plug-in seen (an idle poll), the end seen (a
        # connected poll once the contactor opened).
        handshake_s = 7.0
        assert (
            0
            <= charging_s - plug_session.charging_s
            <= handshake_s + t.unit_policy.idle_s + t.unit_policy.connected_s
        )

        samples = t.of(ChargeSample)
        assert samples
        assert {s.session_key for s in samples} == {session.key}
        unit_samples = t.of(WallConnectorSample)
        charging = [s for s in unit_samples if s.contactor_closed]
        gaps = [b.at_ms - a.at_ms for a, b in itertools.pairwise(charging)]
        assert gaps
        assert min(gaps) >= 60_000
        assert len(unit_samples) <= charging_s / 60 + 12  # and a few at the changes
        assert not t.events(EventKind.PLUGGED_IN_NOT_CHARGING)
        status = t.state.devices if t.state is not None else {}
        unit_status = next(s for s in status.values() if s.device.name == UNIT)
        assert unit_status.reading["vehicle_connected"] is False
        assert unit_status.error is None


async def test_a_supercharger_session_is_the_cars_alone_and_never_joined_to_the_unit_at_home() -> None:
    async with twin(battery_level=60.0, charge_limit_soc=80) as t:
        await t.start()
        await t.run(60)
        t.car.start_supercharging(max_kw=150.0)
        await t.run_until(lambda: t.car.charging_state == "Complete", limit_s=2 * 3600)
        await t.run(t.car_policy.charging_s)
        t.car.unplug()
        await t.run(600)
        assert t.engine is not None
        assert t.engine.failures == 0
        assert t.kinds() == ["plugged_in", "charging_started", "charge_complete", "unplugged"]
        assert {e.figures["source"] for e in t.events(EventKind.PLUGGED_IN)} == {"car"}
        (session,) = t.latest(ChargingSession).values()
        assert session.source is ChargeSource.CAR
        assert session.fast_charger is True
        assert session.serial is None
        assert session.energy_grid_wh is None
        assert session.energy_added_wh is not None
        record = t.car.port.history[-1]
        assert abs(session.energy_added_wh - record.energy_kwh * 1000) <= 0.02 * record.energy_kwh * 1000
        assert session.key.startswith(t.car.vin)
        assert session.end_ms is not None
        assert not t.latest(WallConnectorSession)
