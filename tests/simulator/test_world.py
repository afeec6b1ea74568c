"""The world clock, seeding and the registry of wall connectors."""

from __future__ import annotations

import time

import pytest

from teslalink.errors import ConfigError
from teslalink.simulator import Quirks, WallConnectorUnit, Wiring, World

from .helpers import START


def test_frozen_clock_moves_only_by_advance(world: World) -> None:
    assert world.now() == START
    world.advance(12.5)
    assert world.now() == START + 12.5
    world.advance(0)
    assert world.now() == START + 12.5


def test_running_clock_scales_real_time() -> None:
    world = World(seed=0, speed=1000.0, start=START)
    before = time.monotonic()
    first = world.now()
    while time.monotonic() - before < 0.01:
        pass
    assert world.now() - first >= 9.0  # at least 10 ms real = 10 s world, minus rounding


def test_speed_change_keeps_time_continuous() -> None:
    world = World(seed=0, speed=100.0, start=START)
    world.speed = 0.0
    frozen = world.now()
    assert world.now() == frozen
    world.advance(5)
    assert world.now() == frozen + 5


def test_default_start_is_real_time() -> None:
    assert abs(World(speed=0.0).now() - time.time()) < 5


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf")])
def test_advance_rejects_bad_values(world: World, seconds: float) -> None:
    with pytest.raises(ValueError, match="advance"):
        world.advance(seconds)


def test_bad_speed_rejected() -> None:
    with pytest.raises(ValueError, match="speed"):
        World(speed=-1.0)


def test_add_wall_connector_defaults(world: World) -> None:
    unit = world.add_wall_connector()
    assert isinstance(unit, WallConnectorUnit)
    assert unit.wiring is Wiring.SPLIT_PHASE
    assert unit.firmware == "23.8.2+gce13e49b546382"
    assert unit.max_current_a == 48.0
    assert unit.quirks == Quirks()
    assert len(unit.serial) == 14
    assert world.wall_connectors == [unit]
    assert world.wall_connector(unit.serial) is unit


def test_serials_are_seeded_unique_and_checked() -> None:
    a = World(seed=3, speed=0.0, start=START)
    b = World(seed=3, speed=0.0, start=START)
    serials_a = [a.add_wall_connector().serial for _ in range(20)]
    serials_b = [b.add_wall_connector().serial for _ in range(20)]
    assert serials_a == serials_b
    assert len(set(serials_a)) == 20
    a.add_wall_connector(serial="MYSERIAL")
    with pytest.raises(ValueError, match="already exists"):
        a.add_wall_connector(serial="MYSERIAL")


def test_wiring_accepts_strings(world: World) -> None:
    assert world.add_wall_connector(wiring="three_phase").wiring is Wiring.THREE_PHASE
    assert world.add_wall_connector(wiring="Single-Phase").wiring is Wiring.SINGLE_PHASE
    with pytest.raises(ConfigError, match="unknown wiring"):
        world.add_wall_connector(wiring="two_phase")


def test_bad_firmware_rejected(world: World) -> None:
    with pytest.raises(ConfigError, match="firmware"):
        world.add_wall_connector(firmware="latest")


def test_wall_connectors_is_a_copy(world: World) -> None:
    world.add_wall_connector()
    world.wall_connectors.clear()
    assert len(world.wall_connectors) == 1
    with pytest.raises(KeyError):
        world.wall_connector("nope")
