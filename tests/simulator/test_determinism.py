"""Same seed, same calls, same advances: the same bodies, byte for byte."""

from __future__ import annotations

import statistics

import pytest

from teslalink.simulator import ENDPOINTS, Quirks, WallConnectorUnit, Wiring, World
from teslalink.simulator.noise import SampledNoise, sample_index

from .helpers import OLD_FW, START


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


# --- noise is a function of world time, not of reads -----------------------------------------------


def _noisy_world(seed: int) -> tuple[World, list[WallConnectorUnit]]:
    world = World(seed=seed, speed=0.0, start=START)
    units = [
        world.add_wall_connector(wiring=Wiring.SPLIT_PHASE, quirks=Quirks.parse("nan,glitch")),
        world.add_wall_connector(wiring=Wiring.THREE_PHASE, firmware=OLD_FW),
        world.add_wall_connector(wiring=Wiring.SINGLE_PHASE),
    ]
    units[0].plug_in(40.0)
    units[1].plug_in(16.0)
    return world, units


# Sub-second steps on purpose: reads land inside a sample period, between periods and on the edge.
_STEPS = [0.25, 0.5, 0.25, 0.75, 1.0, 2.5, 0.1, 0.9, 37.0, 3600.0, 0.4, 0.6]


def _checkpoints(seed: int, extra_reads: int) -> list[bytes]:
    """Every endpoint of every unit after each step; `extra_reads` more reads of each in between."""
    world, units = _noisy_world(seed)
    bodies: list[bytes] = []
    for i, step in enumerate(_STEPS):
        world.advance(step / 2)
        for _ in range(extra_reads * (i % 3)):  # a different number of reads each step
            for unit in units:
                for endpoint in ENDPOINTS:
                    unit.render(endpoint)
                unit.vitals()
                unit.wifi_status()
        world.advance(step / 2)
        for _ in range(extra_reads):
            units[i % len(units)].render("vitals")
        if i == 6:
            units[2].plug_in(24.0)
        bodies.extend(unit.render(endpoint) for unit in units for endpoint in ENDPOINTS)
    return bodies


def test_how_often_the_twin_is_read_changes_nothing_read_later() -> None:
    quiet = _checkpoints(21, extra_reads=0)
    busy = _checkpoints(21, extra_reads=5)
    assert busy == quiet
    assert _checkpoints(22, extra_reads=0) != quiet


def test_a_frozen_instant_reads_the_same_until_the_clock_moves() -> None:
    world, units = _noisy_world(31)
    world.advance(120.0)
    for unit in units:
        for endpoint in ENDPOINTS:
            first = unit.render(endpoint)
            assert all(unit.render(endpoint) == first for _ in range(20)), endpoint
        assert unit.vitals() == unit.vitals()
        assert unit.wifi_status() == unit.wifi_status()
    before = [unit.render("vitals") for unit in units]
    after = []
    for _ in range(5):  # the next sample periods: new noise (five tries, so a tie cannot fail this)
        world.advance(1.0)
        after.extend(unit.render("vitals") for unit in units)
    assert not set(before) & set(after)


_TRUE_STATE = frozenset({"session_s", "uptime_s", "session_energy_wh"})


def _changed(a: dict[str, object], b: dict[str, object]) -> set[str]:
    return {key for key in a if a[key] != b[key]}


def test_within_one_sample_period_only_the_true_state_moves() -> None:
    world = World(seed=5, speed=0.0, start=START)  # steps exact in binary: no edge rounding
    unit = world.add_wall_connector()
    unit.plug_in(32.0)
    world.advance(60.125)
    first = unit.vitals()
    world.advance(0.75)  # still the same sample period: the same sensor noise
    within = unit.vitals()
    assert _changed(first, within) <= _TRUE_STATE
    assert within["session_energy_wh"] > first["session_energy_wh"]  # energy counts on
    world.advance(0.25)  # the next period: new noise
    assert _changed(within, unit.vitals()) - _TRUE_STATE


def test_sampled_noise_depends_only_on_key_and_period() -> None:
    a = SampledNoise("unit-a:vitals", normals=5, uniforms=3)
    again = SampledNoise("unit-a:vitals", normals=5, uniforms=3)
    other = SampledNoise("unit-b:vitals", normals=5, uniforms=3)
    t = START + 41.0
    assert a.at(t) is a.at(t + 0.999)  # cached within the period
    assert a.at(t) == again.at(t + 0.5) == a.draw(sample_index(t))
    assert a.at(t + 1.0) != a.at(t)
    assert other.at(t) != a.at(t)
    draws = a.at(t)
    assert (len(draws.z), len(draws.u)) == (5, 3)
    assert all(0.0 < u < 1.0 for u in draws.u)
    odd = SampledNoise("odd", normals=3).at(t)
    assert (len(odd.z), odd.u) == (3, ())


def test_sampled_noise_is_standard() -> None:
    noise = SampledNoise("stats", normals=4, uniforms=2)
    draws = [noise.draw(i) for i in range(5000)]
    z = [value for d in draws for value in d.z]
    u = [value for d in draws for value in d.u]
    assert statistics.fmean(z) == pytest.approx(0.0, abs=0.03)
    assert statistics.pstdev(z) == pytest.approx(1.0, abs=0.03)
    assert statistics.fmean(u) == pytest.approx(0.5, abs=0.01)
    assert min(u) > 0.0
    assert max(u) < 1.0
