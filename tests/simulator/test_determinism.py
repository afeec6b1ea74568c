"""Same seed, same calls, same advances: the same bodies, byte for byte."""

from __future__ import annotations

from teslalink.simulator import ENDPOINTS, Quirks, Wiring, World

from .helpers import START


def _scenario(seed: int) -> list[bytes]:
    world = World(seed=seed, speed=0.0, start=START)
    units = [
        world.add_wall_connector(wiring=Wiring.SPLIT_PHASE, quirks=Quirks.parse("nan,missing-brace,glitch")),
        world.add_wall_connector(wiring=Wiring.THREE_PHASE, firmware="21.29.1+g4152353e50f744"),
        world.add_wall_connector(wiring=Wiring.SINGLE_PHASE, quirks=Quirks(drop_rate=0.3)),
    ]
    bodies: list[bytes] = []
    units[0].plug_in(40.0)
    units[1].plug_in(16.0)
    for step in range(40):
        world.advance(37.5)
        if step == 10:
            units[0].set_requested_current(20.0)
            units[2].plug_in()
        if step == 25:
            units[1].finish_charging()
            units[0].unplug()
        for unit in units:
            bodies.extend(unit.render(endpoint) for endpoint in ENDPOINTS)
            bodies.append(b"drop" if unit.should_drop() else b"keep")
    return bodies


def test_same_seed_same_bodies() -> None:
    assert _scenario(11) == _scenario(11)


def test_other_seed_other_bodies() -> None:
    a, b = _scenario(11), _scenario(12)
    assert a != b
    assert sum(x != y for x, y in zip(a, b, strict=True)) > len(a) // 2
