"""Laps of a closed route: one polyline, cruised through each lap's end."""

from __future__ import annotations

import pytest

from teslalink.simulator.vehicle.routes import DEMO_ROUTES, DriveProfile, Path, laps


def test_laps_repeat_a_closed_route_as_one_drive() -> None:
    loop = DEMO_ROUTES["loop_10km"]
    three = laps(loop, 3)
    assert three[0] == three[-1] == loop[0]
    assert len(three) == 1 + 3 * (len(loop) - 1)
    assert Path(three).length_m == pytest.approx(3 * Path(loop).length_m)
    profile = DriveProfile(Path(three).length_m, cruise_m_s=50 / 3.6)
    lap_s = Path(loop).length_m / profile.cruise_m_s
    assert profile.state(1.5 * lap_s)[1] == pytest.approx(profile.cruise_m_s)  # no stop between laps


def test_laps_refuse_an_open_route_or_no_lap() -> None:
    with pytest.raises(ValueError, match="closed route"):
        laps(DEMO_ROUTES["commute"], 2)
    with pytest.raises(ValueError, match="at least 1"):
        laps(DEMO_ROUTES["loop_10km"], 0)
