"""Phase readings per wiring, as real units show them (docs/reference.md §1, power)."""

from __future__ import annotations

import statistics

import pytest

from teslalink.simulator import Wiring, World


def _charging(world: World, wiring: Wiring, amps: float = 32.0) -> list[dict[str, object]]:
    unit = world.add_wall_connector(wiring=wiring)
    unit.plug_in(amps)
    world.advance(30)
    readings = []
    for _ in range(40):
        world.advance(15)
        readings.append(unit.vitals())
    return readings


def _naive(v: dict[str, float]) -> float:
    return (
        v["voltageA_v"] * v["currentA_a"]
        + v["voltageB_v"] * v["currentB_a"]
        + v["voltageC_v"] * v["currentC_a"]
    )


def test_split_phase_readings_and_naive_over_read(world: World) -> None:
    for v in _charging(world, Wiring.SPLIT_PHASE):
        grid, amps = v["grid_v"], v["vehicle_current_a"]
        assert 236 <= grid <= 245
        assert v["grid_hz"] == pytest.approx(60.0, abs=0.2)
        assert amps == pytest.approx(32.0, abs=0.5)
        assert v["voltageA_v"] == pytest.approx(grid + 2, abs=2.5)
        assert v["voltageB_v"] == pytest.approx(grid + 2, abs=2.5)
        assert 115 <= v["voltageC_v"] <= 125
        assert abs(v["voltageC_v"] - grid / 2) < 25  # how clients recognise split-phase
        assert v["currentA_a"] + v["currentB_a"] == pytest.approx(amps, abs=0.25)
        assert v["currentC_a"] == pytest.approx(amps / 2, abs=1.0)
        over_read = _naive(v) / (grid * amps) - 1
        assert 0.20 <= over_read <= 0.35


def test_three_phase_readings(world: World) -> None:
    for v in _charging(world, Wiring.THREE_PHASE, amps=16.0):
        assert v["grid_hz"] == pytest.approx(50.0, abs=0.2)
        for phase in "ABC":
            assert 222 <= v[f"voltage{phase}_v"] <= 238
            assert v[f"current{phase}_a"] == pytest.approx(v["vehicle_current_a"], abs=0.5)
        assert v["vehicle_current_a"] == pytest.approx(16.0, abs=0.5)
        power = _naive(v)  # here the three-phase sum is the right formula
        assert power == pytest.approx(3 * 230 * 16, rel=0.05)


def test_single_phase_readings(world: World) -> None:
    for v in _charging(world, Wiring.SINGLE_PHASE):
        assert v["voltageA_v"] == pytest.approx(v["grid_v"], abs=2)
        assert v["voltageB_v"] < 10
        assert v["voltageC_v"] < 10
        assert v["currentA_a"] == v["vehicle_current_a"]
        assert v["currentB_a"] < 1
        assert v["currentC_a"] < 1


@pytest.mark.parametrize("wiring", list(Wiring))
def test_idle_readings_are_noise(world: World, wiring: Wiring) -> None:
    unit = world.add_wall_connector(wiring=wiring)
    readings = []
    for _ in range(30):
        world.advance(7)
        readings.append(unit.vitals())
    for v in readings:
        assert v["contactor_closed"] is False
        for phase in "ABC":
            assert 0 <= v[f"voltage{phase}_v"] < 10
            assert 0 <= v[f"current{phase}_a"] < 1
        assert 0 < v["vehicle_current_a"] < 1
    grid = statistics.fmean(float(v["grid_v"]) for v in readings)
    assert grid == pytest.approx(240 if wiring is Wiring.SPLIT_PHASE else 230, abs=5)
    assert len({v["grid_v"] for v in readings}) > 3  # noisy, not constant
