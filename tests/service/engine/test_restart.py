"""A restart in the middle of a charge: the same session goes on under its key, nothing twice."""

from __future__ import annotations

import json

import pytest

from teslalink.errors import ConfigError
from teslalink.service.engine import STATE_KIND, Engine
from teslalink.service.records import ChargeSource, ChargingSession, StateSpan, WallConnectorSession
from teslalink.service.settings import EngineSettings
from teslalink.service.state import ServiceState
from teslalink.simulator import scenario

from .harness import twin


async def test_a_restart_mid_charge_continues_the_same_sessions_and_tells_nothing_twice() -> None:
    async with twin(battery_level=70.0, charge_limit_soc=80) as t:
        await t.start()
        await t.run(60)
        scenario.plug_in(t.world, t.car.vin, t.unit.serial)
        await t.run(1200)
        assert t.car.charging_state == "Charging"
        assert t.engine is not None
        assert t.monitor is not None
        # The runner's saves: the engine's state and the unit's, as JSON files would hold them.
        saved = json.loads(json.dumps(t.engine.to_state()))
        unit_saved = json.loads(json.dumps(t.monitor.to_state()))
        open_spans = t.open_spans()
        before = dict(t.latest(ChargingSession).items())
        scenario.advance(t.world, 90)  # the service is down for a minute and a half
        await t.start(engine_state=saved, open_spans=open_spans, monitor_state=unit_saved)
        await t.run_until(lambda: t.car.charging_state == "Complete", limit_s=4 * 3600)
        await t.run(120)
        scenario.unplug(t.world, t.car.vin)
        await t.run(900)
        assert t.engine.failures == 0

        assert t.kinds() == ["plugged_in", "charging_started", "charge_complete", "unplugged"]
        sessions = t.latest(ChargingSession)
        assert list(sessions) == list(before)  # one session, under the key it had before the restart
        (session,) = sessions.values()
        assert session.source is ChargeSource.BOTH
        assert session.end_ms is not None
        assert session.stop_reason == "complete"
        truth = t.unit_truth()["session_energy_wh"]
        assert session.energy_grid_wh is not None
        assert abs(session.energy_grid_wh - truth) <= 0.02 * truth
        assert len(t.latest(WallConnectorSession)) == 1
        spans = list(t.latest(StateSpan).values())
        assert sum(s.end_ms is None for s in spans) == 1  # one open span per car, across the restart
        charging = [s for s in spans if s.state.value == "charging"]
        assert len(charging) == 1  # the charging span went on under its key


async def test_a_restart_without_a_state_file_continues_from_the_recorders_open_spans() -> None:
    async with twin(battery_level=70.0, charge_limit_soc=80) as t:
        await t.start()
        await t.run(60)
        scenario.plug_in(t.world, t.car.vin, t.unit.serial)
        await t.run(900)
        assert t.monitor is not None
        open_spans = t.open_spans()
        before = list(t.latest(ChargingSession))
        await t.start(engine_state=None, open_spans=open_spans, monitor_state=t.monitor.to_state())
        await t.run(600)
        assert list(t.latest(ChargingSession)) == before
        assert len(t.latest(WallConnectorSession)) == 1
        assert t.kinds().count("charging_started") == 1


def test_a_state_that_is_not_one_is_refused_in_one_line_and_changes_nothing() -> None:
    engine = Engine(EngineSettings(), [], lambda record: None, ServiceState("test", 0), clock_ms=lambda: 0)
    good = engine.to_state()
    assert good["kind"] == STATE_KIND
    for bad, words in [
        ({"kind": "teslalink.other", "version": 1}, "kind"),
        ({**good, "version": 99}, "version 99"),
        ({**good, "cars": {"VIN": {"vin": "VIN", "summary": 5}}}, "cars.VIN.summary must be a string"),
        ({**good, "charges": {"K": {"key": "K"}}}, "lacks 'start_ms'"),
        ({**good, "units": []}, "units must be an object"),
    ]:
        with pytest.raises(ConfigError, match=words) as caught:
            engine.restore(bad)
        assert "\n" not in str(caught.value)
    assert engine.to_state()["cars"] == {}
    engine.restore(good)  # its own output round-trips
    assert engine.ctx.charges == {}
