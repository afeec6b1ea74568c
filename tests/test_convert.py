"""The one set of value converters, and every typed view reading an odd value the same way through it."""

from __future__ import annotations

from typing import Any

import pytest

from teslalink._convert import INT_MAX, INT_MIN, to_bool, to_float, to_int, to_nearest_int, to_str, to_tuple
from teslalink.cloud import LiveStatus, SiteInfo, VehicleData
from teslalink.wallconnector.models import Vitals

HUGE = 10**400  # beyond float and int64: a decoder keeps it as an int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (230.5, 230.5),
        (7, 7.0),
        (float("nan"), None),
        (float("inf"), None),
        (HUGE, None),
        (True, None),
        ("230.1", None),
        (None, None),
    ],
)
def test_to_float(value: Any, expected: float | None) -> None:
    assert to_float(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3),
        (3.0, 3),
        (3.5, None),
        (INT_MAX, INT_MAX),
        (INT_MAX + 1, None),
        (INT_MIN, INT_MIN),
        (INT_MIN - 1, None),
        (False, None),
        ("3", None),
    ],
)
def test_to_int(value: Any, expected: int | None) -> None:
    assert to_int(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (79.6, 80),
        (80, 80),
        (2**60 + 1, 2**60 + 1),
        (float("nan"), None),
        (HUGE, None),
        (1e30, None),
        (True, None),
    ],
)
def test_to_nearest_int(value: Any, expected: int | None) -> None:
    assert to_nearest_int(value) == expected


def test_bool_str_tuple_take_only_their_own_kind() -> None:
    assert [to_bool(v) for v in (True, False, 0, 1, "true", None)] == [True, False, None, None, None, None]
    assert to_str("a\ud800b") == "a\ufffdb"
    assert [to_str(v) for v in ("x", 5, None)] == ["x", None, None]
    assert [to_tuple(v) for v in ([1, 2], (1, 2), "12")] == [(1, 2), None, None]


@pytest.mark.parametrize("odd", [HUGE, True, "230.1"])
def test_every_view_reads_an_odd_number_as_no_reading(odd: Any) -> None:
    """A Wall Connector, a car and an energy site agree: no reading, and no exception.

    (nan is left out for the Wall Connector: its decoder turns nan into null before the model.)
    """
    assert Vitals.from_raw({"grid_v": odd}).grid_voltage_v is None
    car = VehicleData({"charge_state": {"charger_power": odd, "battery_level": odd}})
    assert car.charger_power_kw is None
    assert car.battery_level is None
    assert LiveStatus({"solar_power": odd}).solar_power_w is None
    assert SiteInfo({"backup_reserve_percent": odd}).backup_reserve_percent is None
