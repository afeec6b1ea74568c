"""Firmware quirks in the model: parsing, nan, missing brace, energy glitches, drop decisions."""

from __future__ import annotations

import orjson
import pytest

from teslalink._json import decode_object
from teslalink.errors import ConfigError
from teslalink.simulator import Quirks, World

from .helpers import OLD_FW, fixture_bytes


def test_parse_names_and_values() -> None:
    assert Quirks.parse("") == Quirks()
    assert Quirks.parse("none") == Quirks()
    q = Quirks.parse("nan,missing-brace,slow,stall,drops,glitch")
    assert q == Quirks(
        nan_in_lifetime=True,
        missing_brace=True,
        slow_first_byte_s=3.0,
        stall_on_concurrent=True,
        drop_rate=0.1,
        energy_glitch=True,
    )
    assert Quirks.parse(" missing_brace=0.5 , slow=0.25,stall=2,drops=0.3,glitch=30") == Quirks(
        missing_brace=True,
        missing_brace_rate=0.5,
        slow_first_byte_s=0.25,
        stall_on_concurrent=True,
        stall_s=2.0,
        drop_rate=0.3,
        energy_glitch=True,
        glitch_interval_s=1800.0,
    )
    assert Quirks.parse("all") == Quirks.all() == q
    assert q.any
    assert not Quirks().any


def test_spec_round_trip() -> None:
    q = Quirks.parse("nan,missing-brace=0.3,slow=1.5,stall=4,drops=0.05,glitch=45")
    assert Quirks.parse(q.to_spec()) == q
    assert str(Quirks()) == "none"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus", "unknown quirk"),
        ("drops=2", "between 0 and 1"),
        ("slow=-1", "seconds"),
        ("slow=abc", "needs a number"),
        ("nan=1", "takes no value"),
        ("glitch=0", "positive"),
        ("stall=inf", "finite"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Quirks.parse(text)


def test_nan_in_lifetime_like_fw_21_29_1(world: World) -> None:
    unit = world.add_wall_connector(firmware=OLD_FW, quirks=Quirks(nan_in_lifetime=True))
    body = unit.render("lifetime")
    for field in ("avg_startup_temp", "alert_count", "contactor_cycles_loaded"):
        assert f'"{field}":nan,'.encode() in body
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    # same shape as the real 21.29.1 body: one line, bare nan
    real = fixture_bytes("lifetime_fw21.29.1_nan.txt")
    assert body.count(b"\n") == real.count(b"\n") == 1
    repaired = decode_object(body)
    assert repaired["avg_startup_temp"] is None
    assert repaired["energy_wh"] == unit.lifetime()["energy_wh"]


def test_missing_brace_only_while_charging(world: World) -> None:
    unit = world.add_wall_connector(quirks=Quirks(missing_brace=True, missing_brace_rate=0.5))
    idle = [unit.render("lifetime") for _ in range(50)]
    assert all(body.endswith(b"}\n") for body in idle)
    unit.plug_in(32.0)
    world.advance(30)
    bodies = [unit.render(endpoint) for endpoint in ("vitals", "lifetime") * 50]
    broken = [b for b in bodies if not b.rstrip().endswith(b"}")]
    assert 25 <= len(broken) <= 75
    for body in broken:
        assert body.endswith(b"\n\n")  # like lifetime_missing_final_brace.txt
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(body)
        assert decode_object(body)  # repairable


def test_energy_glitch_jumps_without_a_car(world: World) -> None:
    unit = world.add_wall_connector(quirks=Quirks(energy_glitch=True))
    start = unit.lifetime()["energy_wh"]
    samples = []
    for _ in range(6 * 60):  # six hours, minute by minute
        world.advance(60)
        samples.append(unit.lifetime()["energy_wh"])
    steps = [b - a for a, b in zip([start, *samples], samples, strict=False) if b != a]
    assert 3 <= len(steps) <= 5  # about every 90 min
    assert all(20_000 <= s <= 90_000 for s in steps)
    assert unit.vitals()["session_energy_wh"] == 0


def test_energy_glitch_during_charge_leaves_session_correct(world: World) -> None:
    quiet_world = World(seed=7, speed=0.0, start=world.now())
    quiet = quiet_world.add_wall_connector()
    glitchy = world.add_wall_connector(quirks=Quirks(energy_glitch=True, glitch_interval_s=1200))
    lifetime_delta = {}
    for name, unit, w in (("quiet", quiet, quiet_world), ("glitchy", glitchy, world)):
        before = unit.lifetime()["energy_wh"]
        unit.plug_in(32.0)
        w.advance(3 * 3600)
        unit.unplug()
        lifetime_delta[name] = unit.lifetime()["energy_wh"] - before
    session = glitchy.vitals()["session_energy_wh"]
    assert session == pytest.approx(quiet.vitals()["session_energy_wh"], rel=0.05)
    assert lifetime_delta["glitchy"] > session + 100_000
    assert lifetime_delta["quiet"] == pytest.approx(quiet.vitals()["session_energy_wh"], abs=1.5)


def test_glitches_stay_in_the_counter_when_quirk_switched_off(world: World) -> None:
    unit = world.add_wall_connector(quirks=Quirks(energy_glitch=True, glitch_interval_s=600))
    world.advance(3600)
    jumped = unit.lifetime()["energy_wh"]
    unit.quirks = Quirks()
    assert unit.lifetime()["energy_wh"] == jumped
    world.advance(3600)
    assert unit.lifetime()["energy_wh"] == jumped


def test_drop_decisions_follow_the_rate(world: World) -> None:
    never = world.add_wall_connector()
    always = world.add_wall_connector(quirks=Quirks(drop_rate=1.0))
    half = world.add_wall_connector(quirks=Quirks(drop_rate=0.5))
    assert not any(never.should_drop() for _ in range(100))
    assert all(always.should_drop() for _ in range(100))
    assert 30 <= sum(half.should_drop() for _ in range(100)) <= 70
