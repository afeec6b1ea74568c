"""UnitMonitor against the twin, without the CLI: a session followed, the lifetime counter, one state file.

The world's clock is frozen and is the monitor's clock, so an hour of charging takes no real time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from teslalink.errors import ConfigError
from teslalink.simulator import Wiring, World, serve_wall_connectors
from teslalink.simulator.wall_connector.unit import WallConnectorUnit
from teslalink.wallconnector import SessionMonitor, WallConnector
from teslalink.wallconnector.monitor import STATE_KIND, StateNotSaved, UnitMonitor


@dataclass
class Env:
    world: World
    unit: WallConnectorUnit
    client: WallConnector

    def monitor(self, **options: object) -> UnitMonitor:
        return UnitMonitor(self.client, "garage", clock=self.world.now, **options)  # type: ignore[arg-type]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    world = World(seed=13, speed=0.0, start=1_700_000_000)
    unit = world.add_wall_connector(wiring=Wiring.SPLIT_PHASE)
    async with serve_wall_connectors(world) as servers, WallConnector(servers[0].url) as client:
        yield Env(world, unit, client)


async def test_a_charging_session_is_followed_and_its_energy_matches_the_twin(env: Env) -> None:
    monitor = env.monitor()
    first = await monitor.poll()
    assert first.error is None
    assert monitor.lifetime.baseline_wh is not None  # the first poll reads the lifetime counter too
    env.unit.plug_in(32.0)
    for _ in range(60):  # an hour, a reading a minute
        env.world.advance(60)
        reading = await monitor.poll()
        assert reading.session_ended is None
    truth_wh = env.unit.session_energy_wh
    env.unit.unplug()
    env.world.advance(5)
    ended = (await monitor.poll()).session_ended
    assert ended is not None
    assert ended.energy_wh == pytest.approx(truth_wh, rel=0.01)
    assert ended.agrees is True
    assert monitor.power is not None
    assert monitor.power.total_w == 0.0


async def test_an_offline_unit_keeps_its_last_reading_with_the_error_beside_it(env: Env) -> None:
    monitor = env.monitor()
    await monitor.poll()
    kept = monitor.vitals
    env.unit.offline = True
    reading = await monitor.poll()
    assert reading.vitals is None
    assert reading.error is not None
    assert monitor.error == reading.error
    assert monitor.vitals is kept
    env.unit.offline = False
    assert (await monitor.poll()).error is None
    assert monitor.error is None


async def test_the_state_is_one_file_and_a_restart_continues_the_session(env: Env, tmp_path: Path) -> None:
    path = tmp_path / "garage.json"
    env.unit.plug_in(32.0)
    monitor = env.monitor(state_path=path)
    assert monitor.open_state() is False  # nothing to continue from; but the file exists now
    assert path.exists()
    for _ in range(30):
        env.world.advance(60)
        await monitor.poll()
    monitor.save()
    state = orjson.loads(path.read_bytes())
    assert (state["kind"], state["version"]) == (STATE_KIND, 1)
    assert state["sessions"]["kind"] == "teslalink.wallconnector.sessions"

    restarted = env.monitor(state_path=path)
    assert restarted.open_state() is True
    assert restarted.sessions.in_progress is not None
    assert restarted.lifetime.total_wh == monitor.lifetime.total_wh
    for _ in range(30):
        env.world.advance(60)
        await restarted.poll()
    truth_wh = env.unit.session_energy_wh
    env.unit.unplug()
    env.world.advance(5)
    ended = (await restarted.poll()).session_ended
    assert ended is not None
    assert ended.energy_wh == pytest.approx(truth_wh, rel=0.01)  # one session across the restart


async def test_the_clis_old_state_file_is_read_and_rewritten_in_the_one_format(
    env: Env, tmp_path: Path
) -> None:
    env.unit.plug_in(32.0)
    before = env.monitor()
    await before.poll()
    env.world.advance(60)
    await before.poll()
    path = tmp_path / "old.json"
    old = {"sessions": before.sessions.to_state(), "lifetime": before.lifetime.to_state()}
    path.write_bytes(orjson.dumps(old))  # what `watch --state` wrote before UnitMonitor
    monitor = env.monitor(state_path=path)
    assert monitor.open_state() is True
    assert monitor.sessions.in_progress is not None
    assert monitor.lifetime.baseline_wh == before.lifetime.baseline_wh
    assert orjson.loads(path.read_bytes())["kind"] == STATE_KIND


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "unexpected character"),
        (
            json.dumps({"kind": "teslalink.other", "version": 1}).encode(),
            "expected 'teslalink.wallconnector.monitor'",
        ),
        (json.dumps({"kind": STATE_KIND, "version": 99}).encode(), "version 99 is not supported"),
        (json.dumps({"kind": STATE_KIND, "version": 1, "sessions": {}}).encode(), "cannot be used"),
        (json.dumps([1, 2]).encode(), "must be a JSON object"),
    ],
)
def test_a_bad_state_file_is_one_clear_error_and_is_left_alone(
    env: Env, tmp_path: Path, body: bytes, reason: str
) -> None:
    path = tmp_path / "garage.json"
    path.write_bytes(body)
    monitor = env.monitor(state_path=path)
    with pytest.raises(ConfigError, match="cannot be used") as caught:
        monitor.open_state()
    assert reason.lower() in str(caught.value).lower()
    assert "\n" not in str(caught.value)
    assert path.read_bytes() == body
    assert isinstance(monitor.sessions, SessionMonitor)


def test_an_unwritable_state_path_fails_at_open_before_any_polling(env: Env, tmp_path: Path) -> None:
    monitor = env.monitor(state_path=tmp_path / "missing" / "garage.json")
    with pytest.raises(StateNotSaved, match=r"cannot be written .* the previous file, if any, is kept"):
        monitor.open_state()
