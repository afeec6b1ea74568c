"""The energy site's answers: products entry, live_status, site_info, history, commands, errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from teslalink.simulator import World
from teslalink.simulator.site.energy_site import EnergySite, SiteCommandError, SiteError, SiteRequestError
from teslalink.simulator.site.history import ENERGY_FIELDS

from .test_site_physics import LA, WINTER, local, make

FIXTURE = Path(__file__).parent.parent / "fixtures" / "owner_api" / "battery_site_data.json"


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def assert_same_shape(ours: Any, theirs: Any, path: str = "") -> None:
    """Every key of `theirs` is in `ours`, with the same JSON type, recursively."""
    assert json_type(ours) == json_type(theirs), path
    if isinstance(theirs, dict):
        for key, value in theirs.items():
            assert key in ours, f"{path}.{key} missing"
            assert_same_shape(ours[key], value, f"{path}.{key}")
    elif isinstance(theirs, list) and theirs:
        assert ours, f"{path} is empty"
        assert_same_shape(ours[0], theirs[0], f"{path}[0]")


# --- reads ------------------------------------------------------------------------------------------


def test_product_matches_the_real_entry() -> None:
    _, site = make(WINTER)
    real = json.loads(FIXTURE.read_text())
    ours = site.product()
    assert_same_shape(ours, real)
    assert set(ours["components"]) == set(real["components"])
    # Keys in the real order; ours adds the newer firmware's flags in between.
    order = [k for k in ours if k in real]
    assert order == list(real)
    assert ours["resource_type"] == "battery"
    assert ours["energy_site_id"] == site.energy_site_id
    assert ours["total_pack_energy"] == int(site.capacity_wh)
    assert 13_000 < ours["total_pack_energy"] < 14_000
    assert ours["installation_date"] == dt.datetime.fromtimestamp(WINTER, LA).isoformat()
    json.dumps(ours)


def test_solar_only_product() -> None:
    _, site = make(WINTER, powerwalls=0)
    product = site.product()
    assert product["resource_type"] == "solar"
    assert product["components"]["battery"] is False
    assert "energy_left" not in product
    # as on a real account: the name of a solar-only site is in site_info only
    assert "site_name" not in product
    assert "site_name" not in site.site_status()
    assert site.site_info()["site_name"] == site.site_name
    assert product["storm_mode_enabled"] is None
    assert site.live_status()["backup_capable"] is False
    assert site.site_status()["resource_type"] == "solar"
    with pytest.raises(SiteRequestError):
        site.backup_time_remaining()


def test_live_status_fields() -> None:
    world, site = make(WINTER)
    world.advance(4000)
    body = site.live_status()
    assert list(body) == [
        "solar_power",
        "energy_left",
        "total_pack_energy",
        "percentage_charged",
        "backup_capable",
        "battery_power",
        "load_power",
        "grid_status",
        "grid_services_active",
        "grid_power",
        "grid_services_power",
        "generator_power",
        "island_status",
        "storm_mode_active",
        "timestamp",
        "wall_connectors",
    ]
    assert body["timestamp"] == dt.datetime.fromtimestamp(WINTER + 4000, LA).isoformat()
    assert body["timestamp"].endswith("-08:00")
    assert body["grid_status"] == "Active"
    assert body["island_status"] == "on_grid"
    assert body["percentage_charged"] == pytest.approx(
        100 * body["energy_left"] / body["total_pack_energy"], 1e-3
    )
    for key in ("solar_power", "battery_power", "load_power", "grid_power"):
        assert isinstance(body[key], int)


def test_site_status_and_site_info() -> None:
    _, site = make(WINTER, powerwalls=2, backup_reserve_percent=25)
    status = site.site_status()
    assert status["resource_type"] == "battery"
    assert status["gateway_id"] == site.gateway_id
    info = site.site_info()
    assert info["id"] == site.id
    assert info["backup_reserve_percent"] == 25
    assert info["default_real_mode"] == "self_consumption"
    assert info["battery_count"] == 2
    assert info["nameplate_power"] == 10_000
    assert info["nameplate_energy"] == 27_000
    assert info["installation_time_zone"] == "America/Los_Angeles"
    assert info["components"]["customer_preferred_export_rule"] == "pv_only"
    assert info["components"]["disallow_charge_from_grid_with_solar_installed"] is False
    assert info["tou_settings"]["optimization_strategy"] == "economics"
    targets = {(e["target"], e["start_seconds"], e["end_seconds"]) for e in info["tou_settings"]["schedule"]}
    assert targets == {("peak", 16 * 3600, 21 * 3600), ("off_peak", 21 * 3600, 16 * 3600)}
    assert info["max_site_meter_power_ac"] > 0 > info["min_site_meter_power_ac"]
    assert {"storm_mode_enabled", "sync_grid_alert_enabled", "breaker_alert_enabled"} <= set(
        info["user_settings"]
    )


def test_backup_time_remaining() -> None:
    world, site = make(WINTER, initial_charge_percent=50)
    world.advance(6 * 3600)
    hours = site.backup_time_remaining()["time_remaining_hours"]
    assert 2.0 < hours < 40.0


def test_identity_is_stable_and_plausible() -> None:
    _, a = make(WINTER, seed=3)
    _, b = make(WINTER, seed=3)
    assert (a.id, a.gateway_id, a.asset_site_id) == (b.id, b.gateway_id, b.asset_site_id)
    assert a.id.startswith("STE20240110-")
    assert a.gateway_id.startswith("1232100-00-E--TG")


# --- history ----------------------------------------------------------------------------------------


def _integrate_day(world: World, site: EnergySite) -> dict[str, float]:
    """Integrate the true flows sampled every 10 s over one local day (Wh)."""
    total = dict.fromkeys(("solar", "import", "export", "charge", "discharge", "home"), 0.0)
    for _ in range(24 * 360):
        p = site.power()
        h = 10 / 3600
        total["solar"] += p.solar_w * h
        total["import"] += max(p.grid_w, 0.0) * h
        total["export"] += max(-p.grid_w, 0.0) * h
        total["charge"] += max(-p.battery_w, 0.0) * h
        total["discharge"] += max(p.battery_w, 0.0) * h
        total["home"] += p.load_w * h
        world.advance(10)
    return total


def test_calendar_day_sums_equal_the_integrated_energy() -> None:
    world, site = make(local(2024, 3, 5), backup_reserve_percent=10)
    measured = _integrate_day(world, site)
    world.advance(3600)
    answer = site.calendar_history("energy", "day", end_date="2024-03-05T23:00:00-08:00")
    assert answer["period"] == "day"
    assert answer["installation_time_zone"] == "America/Los_Angeles"
    (entry,) = answer["time_series"]
    assert entry["timestamp"] == "2024-03-05T01:00:00-08:00"
    assert list(entry) == ["timestamp", *ENERGY_FIELDS]
    home = sum(entry[f"consumer_energy_imported_from_{s}"] for s in ("grid", "solar", "battery", "generator"))
    exported = sum(entry[f"grid_energy_exported_from_{s}"] for s in ("solar", "battery", "generator"))
    charged = entry["battery_energy_imported_from_grid"] + entry["battery_energy_imported_from_solar"]

    def close(a: float, b: float) -> bool:  # a sample misses at most 10 s of a battery limit
        return abs(a - b) <= 0.005 * abs(b) + 30.0

    assert close(entry["solar_energy_exported"], measured["solar"])
    assert close(home, measured["home"])
    assert close(entry["grid_energy_imported"], measured["import"])
    assert close(exported, measured["export"])
    assert close(charged, measured["charge"])
    assert close(entry["battery_energy_exported"], measured["discharge"])
    assert measured["solar"] > 5000
    assert measured["home"] > 5000
    # Energy is conserved in the books too: what came in went somewhere.
    sources = (
        entry["solar_energy_exported"] + entry["grid_energy_imported"] + entry["battery_energy_exported"]
    )
    assert sources == pytest.approx(home + exported + charged, rel=1e-9)


def test_calendar_periods() -> None:
    world, site = make(local(2024, 1, 1))
    world.advance(400 * 86_400)  # to 2025-02-04
    today_end = "2025-02-04T12:00:00-08:00"

    def series(period: str, **kw: str) -> list[dict[str, Any]]:
        answer = site.calendar_history(
            "energy", period, end_date=kw.get("end", today_end), **kw.get("extra", {})
        )
        return list(answer["time_series"])

    assert len(series("day")) == 1
    week = series("week")  # Sunday 2 February to Tuesday 4 February
    assert [e["timestamp"][:10] for e in week] == ["2025-02-02", "2025-02-03", "2025-02-04"]
    assert len(series("month")) == 4
    year = series("year")
    assert [e["timestamp"][:10] for e in year] == ["2025-01-01", "2025-02-01"]
    lifetime = series("lifetime")
    assert [e["timestamp"][:4] for e in lifetime] == ["2024", "2025"]
    whole_2024 = series("year", end="2024-12-31T20:00:00-08:00")
    assert len(whole_2024) == 12
    assert sum(e["solar_energy_exported"] for e in whole_2024) == pytest.approx(
        lifetime[0]["solar_energy_exported"], rel=1e-9
    )
    ranged = site.calendar_history(
        "energy", "day", start_date="2025-01-10T00:00:00-08:00", end_date="2025-01-19T23:59:59-08:00"
    )
    assert len(ranged["time_series"]) == 10
    # Dates in UTC are converted to the site's time; later than now means now.
    assert len(site.calendar_history("energy", "day", end_date="2030-01-01T00:00:00Z")["time_series"]) == 1


def test_calendar_power_self_consumption_and_backup() -> None:
    world, site = make(local(2024, 5, 1))
    world.advance(2 * 86_400 + 6 * 3600)
    power = site.calendar_history("power", "day", end_date="2024-05-02T23:59:59-07:00")
    points = power["time_series"]
    assert len(points) == 96
    # The report ends at end_date.
    assert (
        len(site.calendar_history("power", "day", end_date="2024-05-02T12:00:00-07:00")["time_series"]) == 48
    )
    assert points[0]["timestamp"] == "2024-05-02T00:00:00-07:00"
    assert set(points[0]) == {
        "timestamp",
        "solar_power",
        "battery_power",
        "grid_power",
        "grid_services_power",
        "generator_power",
    }
    noon = points[48]
    assert noon["solar_power"] > 0
    today = site.calendar_history("power", "lifetime")["time_series"]  # the period is ignored
    assert len(today) == 24  # midnight to 06:00
    consumption = site.calendar_history("self_consumption", "week")
    assert consumption["period"] == "week"
    for entry in consumption["time_series"]:
        assert 0 <= entry["solar"] <= 100
        assert 0 <= entry["battery"] <= 100
        assert entry["solar"] + entry["battery"] <= 100.01
    assert site.calendar_history("backup", "day") == {"events": [], "total_events": 0}
    site.grid_outage(True)
    world.advance(1800)
    backup = site.calendar_history("backup", "day")
    assert backup["total_events"] == 1
    assert backup["events"][0]["duration"] == 1800


def test_daylight_saving_days() -> None:
    world, site = make(local(2024, 3, 9))
    world.advance(local(2024, 11, 4) - world.now())
    spring = site.calendar_history("power", "day", end_date="2024-03-10T23:59:00-07:00")["time_series"]
    autumn = site.calendar_history("power", "day", end_date="2024-11-03T23:59:00-08:00")["time_series"]
    assert len(autumn) == 100  # 25 hours
    assert spring == []  # older than the kept 15-minute buckets
    days = site.calendar_history("energy", "month", end_date="2024-03-31T12:00:00-07:00")["time_series"]
    assert [e["timestamp"] for e in days[:2]] == ["2024-03-09T01:00:00-08:00", "2024-03-10T01:00:00-08:00"]
    assert days[2]["timestamp"] == "2024-03-11T01:00:00-07:00"
    month = site.calendar_history("energy", "month", end_date="2024-11-30T12:00:00-08:00")["time_series"]
    assert len(month) == 4  # 1 to 4 November
    home = [sum(e[f"consumer_energy_imported_from_{s}"] for s in ("grid", "solar", "battery")) for e in month]
    assert all(h > 5000 for h in home[:3])  # the 4th has only begun


def test_history_endpoint() -> None:
    world, site = make(local(2024, 1, 1))
    world.advance(local(2024, 3, 16, 1) - world.now())
    power = site.history("power")
    assert "period" not in power
    assert len(power["time_series"]) == 96 + 4  # yesterday and today to 01:00
    assert [e["timestamp"][:10] for e in site.history("energy", "day")["time_series"]] == [
        "2024-03-15",
        "2024-03-16",
    ]
    assert len(site.history("energy", "week")["time_series"]) == 7
    month = site.history("energy", "month")["time_series"]
    assert [e["timestamp"][:10] for e in month] == ["2024-02-17", "2024-02-24", "2024-03-02", "2024-03-09"]
    assert [e["timestamp"][:7] for e in site.history("energy", "year")["time_series"]] == [
        "2024-01",
        "2024-02",
    ]
    with pytest.raises(SiteRequestError):
        site.history("energy")


@pytest.mark.parametrize(
    ("kind", "period", "start", "end", "zone"),
    [
        ("solar", "day", None, None, None),
        ("energy", "fortnight", None, None, None),
        ("energy", "day", None, "yesterday", None),
        ("energy", "day", "2024-02-01T00:00:00Z", "2024-01-01T00:00:00Z", None),
        ("energy", "day", None, None, "Mars/Olympus_Mons"),
    ],
)
def test_bad_history_requests(
    kind: str, period: str, start: str | None, end: str | None, zone: str | None
) -> None:
    world, site = make(WINTER)
    world.advance(86_400 * 40)
    with pytest.raises(SiteRequestError) as caught:
        site.calendar_history(kind, period, start, end, zone)
    assert caught.value.status == 400
    assert caught.value.message
    assert isinstance(caught.value, SiteError)


# --- commands ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "answer"),
    [("lower", {"code": 201, "message": "Updated"}), ("upper", {"Code": 201, "Message": "Updated"})],
)
def test_answer_styles(style: str, answer: dict[str, Any]) -> None:
    _, site = make(WINTER, answer_style=style)
    assert site.set_backup_reserve(35) == answer
    assert site.set_operation("autonomous") == answer
    assert site.set_storm_mode(True) == answer
    assert site.set_off_grid_vehicle_charging_reserve(70) == answer
    assert site.set_time_of_use_settings({"optimization_strategy": "balanced"}) == answer
    assert site.set_grid_import_export(True, "battery_ok") == {}
    info = site.site_info()
    assert info["backup_reserve_percent"] == 35
    assert info["default_real_mode"] == "autonomous"
    assert info["user_settings"]["storm_mode_enabled"] is True
    assert info["off_grid_vehicle_charging_reserve_percent"] == 70
    assert info["tou_settings"]["optimization_strategy"] == "balanced"
    assert info["components"]["customer_preferred_export_rule"] == "battery_ok"
    assert info["components"]["disallow_charge_from_grid_with_solar_installed"] is True
    assert site.product()["backup"]["backup_reserve_percent"] == 35


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("set_backup_reserve", (-1,)),
        ("set_backup_reserve", (100.5,)),
        ("set_backup_reserve", ("50",)),
        ("set_backup_reserve", (True,)),
        ("set_backup_reserve", (float("nan"),)),
        ("set_operation", ("eco",)),
        ("set_grid_import_export", ("yes", None)),
        ("set_grid_import_export", (None, "always")),
        ("set_storm_mode", ("on",)),
        ("set_off_grid_vehicle_charging_reserve", (101,)),
        ("set_time_of_use_settings", ("peak",)),
        ("set_time_of_use_settings", ({},)),
        ("set_time_of_use_settings", ({"optimization_strategy": "cheapest"},)),
        ("set_time_of_use_settings", ({"tariff_content": {"seasons": {}}},)),
    ],
)
def test_command_validation(command: str, args: tuple[object, ...]) -> None:
    _, site = make(WINTER)
    before = site.site_info()
    with pytest.raises(SiteCommandError) as caught:
        getattr(site, command)(*args)
    assert caught.value.status == 400
    assert site.site_info() == before


def test_battery_commands_need_a_powerwall() -> None:
    _, site = make(WINTER, powerwalls=0)
    for command, arg in [("set_backup_reserve", 20), ("set_operation", "backup"), ("set_storm_mode", True)]:
        with pytest.raises(SiteCommandError):
            getattr(site, command)(arg)
    assert site.set_grid_import_export(customer_preferred_export_rule="never") == {}


def _tariff(peak_from: int, peak_to: int) -> dict[str, Any]:
    teslapy = pytest.importorskip("teslapy")
    cost = teslapy.BatteryTariffPeriodCost
    period = teslapy.BatteryTariffPeriod
    off = cost(0.20, 0.05, "OFF_PEAK")
    peak = period(cost(0.55, 0.10, "ON_PEAK"), dt.time(peak_from), dt.time(peak_to))
    tariff: dict[str, Any] = teslapy.Battery.create_tariff(off, [peak], "Sim Power", "Evening Saver")
    return json.loads(json.dumps(tariff))


def test_time_of_use_settings_from_teslapy_drive_the_battery() -> None:
    world, site = make(WINTER, operation="autonomous", initial_charge_percent=90)
    tariff = _tariff(7, 10)  # a morning peak instead of the evening one
    assert site.set_time_of_use_settings({"tariff_content": tariff}) == {"code": 201, "message": "Updated"}
    assert site.tariff_rate() == tariff
    schedule = site.site_info()["tou_settings"]["schedule"]
    assert {
        "target": "peak",
        "week_days": [0, 1, 2, 3, 4, 5, 6],
        "start_seconds": 7 * 3600,
        "end_seconds": 36_000,
    } in schedule
    assert site.site_info()["utility"] == "Sim Power"
    world.advance(local(2024, 1, 10, 8) - world.now())
    assert site.power().battery_w > 0  # the new peak
    world.advance(local(2024, 1, 10, 18) - world.now())
    assert site.power().battery_w <= 0  # no longer a peak
    bad = json.loads(json.dumps(tariff))
    bad["seasons"]["Summer"]["tou_periods"]["ON_PEAK"][0]["toHour"] = 25
    with pytest.raises(SiteCommandError, match="toHour"):
        site.set_time_of_use_settings({"tariff_content": bad})
    assert site.tariff_rate() == tariff


@pytest.mark.parametrize(
    "options",
    [
        {"solar_kw": 0, "powerwalls": 0},
        {"powerwalls": -1},
        {"operation": "eco"},
        {"answer_style": "shouty"},
        {"customer_preferred_export_rule": "sometimes"},
        {"backup_reserve_percent": 120},
        {"time_zone": "Mars/Olympus_Mons"},
        {"location": (95.0, 0.0)},
        {"installation_date": "last spring"},
    ],
)
def test_bad_site_options(options: dict[str, Any]) -> None:
    from teslalink.errors import ConfigError

    world = World(seed=1, speed=0.0, start=WINTER)
    with pytest.raises(ConfigError):
        world.add_energy_site(world.add_account("x@example.com", "pw"), **options)
