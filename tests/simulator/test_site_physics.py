"""The energy site's physics: sun, weather, battery rules, export rules, outages, speed, replay."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from teslalink.simulator import World
from teslalink.simulator.site.energy_site import EnergySite
from teslalink.simulator.site.power import EFFICIENCY

LA = ZoneInfo("America/Los_Angeles")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    """Epoch seconds of a wall-clock time at the default site (Fremont, California)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=LA).timestamp()


SUMMER = local(2024, 6, 20)
WINTER = local(2024, 1, 10)


def make(start: float = SUMMER, seed: int = 7, **options: object) -> tuple[World, EnergySite]:
    world = World(seed=seed, speed=0.0, start=start)
    account = world.add_account("owner@example.com", "pw")
    return world, world.add_energy_site(account, **options)


def advance_to(world: World, t: float) -> None:
    world.advance(t - world.now())


def balanced(body: dict[str, object]) -> bool:
    flows = body["solar_power"], body["battery_power"], body["grid_power"], body["load_power"]
    solar, battery, grid, load = (int(v) for v in flows)  # type: ignore[call-overload]
    return solar + battery + grid == load


# --- sun and weather ------------------------------------------------------------------------------


def test_solar_is_zero_at_night_and_peaks_near_solar_noon() -> None:
    world, site = make(powerwalls=0)
    day: list[tuple[float, float]] = []
    for _ in range(24 * 12):
        day.append((world.now(), site.power().solar_w))
        world.advance(300)
    night = [w for t, w in day if not local(2024, 6, 20, 5, 30) <= t <= local(2024, 6, 20, 21)]
    assert night
    assert all(w == 0.0 for w in night)
    peak_t, peak_w = max(day, key=lambda p: p[1])
    # Solar noon in Fremont in June is about 13:10 PDT; clouds move the maximum a little.
    assert local(2024, 6, 20, 11) <= peak_t <= local(2024, 6, 20, 15, 30)
    assert 0.3 * 7600 < peak_w < 7600
    # The morning rises, the evening falls.
    assert site.env.sun_elevation_sin(local(2024, 6, 20, 8)) < site.env.sun_elevation_sin(peak_t)


def test_cloudier_days_make_less_solar() -> None:
    world, site = make(powerwalls=0)
    days: list[tuple[float, float]] = []
    for _ in range(40):
        cloud = site.cloud_cover()
        before = site.lifetime_energy()["solar_energy_exported"]
        world.advance(86_400)
        days.append((cloud, site.lifetime_energy()["solar_energy_exported"] - before))
    days.sort()
    clear = sum(e for _, e in days[:8]) / 8
    cloudy = sum(e for _, e in days[-8:]) / 8
    assert days[-1][0] - days[0][0] > 0.3
    assert cloudy < 0.85 * clear
    assert 10_000 < clear < 60_000  # Wh a day from 7.6 kW in June


def test_winter_makes_less_than_summer() -> None:
    _, summer_site = make(SUMMER, powerwalls=0, weather_seed=1)
    world_w, winter_site = make(WINTER, powerwalls=0, weather_seed=1)
    summer_site.world.advance(14 * 86_400)
    world_w.advance(14 * 86_400)
    assert (
        winter_site.lifetime_energy()["solar_energy_exported"]
        < 0.7 * summer_site.lifetime_energy()["solar_energy_exported"]
    )


def test_southern_hemisphere_is_sunny_in_december() -> None:
    sydney = {"location": (-33.87, 151.21), "time_zone": "Australia/Sydney", "powerwalls": 0}
    world, site = make(local(2024, 12, 10), **sydney)
    world.advance(86_400 * 3)
    december = site.lifetime_energy()["solar_energy_exported"]
    world2, site2 = make(local(2024, 6, 10), **sydney)
    world2.advance(86_400 * 3)
    assert site2.lifetime_energy()["solar_energy_exported"] < december


# --- balance and battery rules ---------------------------------------------------------------------


def test_energy_balances_at_every_instant() -> None:
    world, site = make(WINTER, backup_reserve_percent=30)
    steps = [37, 301, 599, 1234, 4000, 61, 5]
    for i in range(400):
        if i == 150:
            site.grid_outage(True)
        if i == 260:
            site.grid_outage(False)
            site.set_operation("autonomous")
        if i == 330:
            site.set_grid_import_export(customer_preferred_export_rule="never")
        body = site.live_status()
        assert balanced(body), body
        p = site.power()
        assert p.solar_w + p.battery_w + p.grid_w == pytest.approx(p.load_w, abs=1e-6)
        assert abs(p.battery_w) <= site.max_power_w + 1e-6
        world.advance(steps[i % len(steps)])


def test_the_books_match_the_state_of_energy() -> None:
    """What the records say went in and out of the battery, less its losses, is what it holds."""
    world, site = make(SUMMER, initial_charge_percent=50, operation="autonomous")
    before = site.energy_left_wh
    world.advance(3 * 86_400)
    site.grid_outage(True)
    world.advance(86_400)
    site.grid_outage(False)
    world.advance(86_400)
    books = site.lifetime_energy()
    charged = books["battery_energy_imported_from_grid"] + books["battery_energy_imported_from_solar"]
    discharged = books["battery_energy_exported"]
    assert charged > 10_000
    assert discharged > 10_000
    expected = before + charged * EFFICIENCY - discharged / EFFICIENCY
    assert site.energy_left_wh == pytest.approx(expected, abs=1e-3)


def test_self_consumption_keeps_the_reserve_while_on_grid() -> None:
    world, site = make(WINTER, backup_reserve_percent=40, initial_charge_percent=80)
    discharged = False
    for _ in range(3 * 24 * 6):
        world.advance(600)
        assert site.percentage_charged >= 40.0 - 1e-6
        p = site.power()
        discharged |= p.battery_w > 100
        if site.percentage_charged <= 40.0 + 1e-6 and p.load_w > p.solar_w:
            assert p.battery_w == 0.0
            assert p.grid_w == pytest.approx(p.load_w - p.solar_w)
    assert discharged


def test_self_consumption_recharges_up_to_a_raised_reserve() -> None:
    world, site = make(WINTER, backup_reserve_percent=20, initial_charge_percent=25)
    site.set_backup_reserve(60)
    world.advance(60)
    assert site.power().battery_w < -3000  # charging from the grid at night
    world.advance(6 * 3600)
    assert site.percentage_charged == pytest.approx(60.0, abs=0.01)


def test_solar_surplus_charges_then_exports() -> None:
    world, site = make(SUMMER, initial_charge_percent=50)
    charged = False
    for _ in range(24 * 12):
        world.advance(300)
        p = site.power()
        if p.solar_w > p.load_w and site.percentage_charged < 99.99:
            assert p.battery_w < 0
            charged = True
    assert charged
    world.advance(4 * 86_400)
    # Some time in five June days the battery is full and the surplus goes to the grid.
    assert site.lifetime_energy()["grid_energy_exported_from_solar"] > 1000
    assert site.lifetime_energy()["grid_energy_exported_from_battery"] == 0


def test_backup_mode_fills_the_battery_from_the_grid() -> None:
    world, site = make(WINTER, initial_charge_percent=30)
    site.set_operation("backup")
    world.advance(60)
    assert site.power().battery_w <= -3000
    world.advance(5 * 3600)
    assert site.percentage_charged == pytest.approx(100.0)
    p = site.power()
    assert p.battery_w == 0.0
    assert p.grid_w == pytest.approx(p.load_w - p.solar_w)


def test_backup_without_grid_charging_fills_from_solar_only() -> None:
    world, site = make(
        SUMMER,
        initial_charge_percent=30,
        operation="backup",
        disallow_charge_from_grid_with_solar_installed=True,
    )
    world.advance(5 * 3600)  # night: nothing to charge from
    assert site.percentage_charged == pytest.approx(30.0)
    assert site.lifetime_energy()["battery_energy_imported_from_grid"] == 0.0
    world.advance(2 * 86_400)
    assert site.percentage_charged == pytest.approx(100.0)
    assert site.lifetime_energy()["battery_energy_exported"] == 0.0


def test_export_rule_never_curtails_solar() -> None:
    world, site = make(SUMMER, initial_charge_percent=100, customer_preferred_export_rule="never")
    exported_any = False
    for _ in range(12 * 24):
        world.advance(300)
        p = site.power()
        assert p.grid_w >= -1e-6
        body = site.live_status()
        assert body["grid_power"] > -100  # only the meters' jitter
    assert site.lifetime_energy()["grid_energy_exported_from_solar"] == pytest.approx(0.0, abs=1e-6)
    site.set_grid_import_export(customer_preferred_export_rule="pv_only")
    advance_to(world, local(2024, 6, 22, 13))
    for _ in range(12):
        world.advance(300)
        exported_any |= site.power().grid_w < -500
    assert exported_any


def test_time_based_control_discharges_at_peak_and_recharges_off_peak() -> None:
    world, site = make(WINTER, operation="autonomous", initial_charge_percent=90, backup_reserve_percent=10)
    advance_to(world, local(2024, 1, 10, 13))
    noon = site.power()
    assert noon.battery_w <= 0.0  # off-peak: the battery does not cover the home
    advance_to(world, local(2024, 1, 10, 18))
    assert site.power().battery_w > 0  # the default tariff's peak is 16:00-21:00
    advance_to(world, local(2024, 1, 10, 22))
    assert site.power().battery_w < 0  # off-peak again, charging from the grid
    # battery_ok lets the battery export at full power during the peak.
    site.set_grid_import_export(customer_preferred_export_rule="battery_ok")
    advance_to(world, local(2024, 1, 11, 17))
    p = site.power()
    assert p.battery_w == pytest.approx(site.max_power_w)
    assert p.grid_w < 0


def test_storm_watch_charges_to_full() -> None:
    world, site = make(WINTER, initial_charge_percent=40, storm_mode_enabled=True)
    site.storm_watch(True)
    assert site.live_status()["storm_mode_active"] is True
    world.advance(60)
    assert site.power().battery_w < 0
    world.advance(6 * 3600)
    assert site.percentage_charged == pytest.approx(100.0)
    site.storm_watch(False)
    assert site.live_status()["storm_mode_active"] is False
    # A forecast without storm mode enabled changes nothing.
    _, site2 = make(WINTER, initial_charge_percent=40)
    site2.storm_watch(True)
    assert site2.live_status()["storm_mode_active"] is False


def test_weather_brings_storms_now_and_then() -> None:
    _, site = make(WINTER, weather_seed=3)
    env = site.env
    first = env.local_day(WINTER)
    storms = [day for day in range(first, first + 3 * 365) if env.day_weather(day).storm]
    assert 5 <= len(storms) <= 60
    assert all(env.day_weather(day).cloud_cover >= 0.9 for day in storms)


# --- outages ---------------------------------------------------------------------------------------


def test_grid_outage_islands_uses_the_reserve_and_goes_dark() -> None:
    world, site = make(WINTER, initial_charge_percent=30, backup_reserve_percent=25)
    advance_to(world, local(2024, 1, 10, 18))
    site.grid_outage(True)
    body = site.live_status()
    assert body["grid_status"] == "Inactive"
    assert body["island_status"] == "off_grid_unintentional"
    assert body["grid_power"] == 0
    assert body["battery_power"] == body["load_power"] - body["solar_power"]
    low = 100.0
    went_dark = False
    for _ in range(16 * 12):
        world.advance(300)
        p = site.power()
        assert p.grid_w == 0.0
        low = min(low, site.percentage_charged)
        if site.dark:
            went_dark = True
            assert p.load_w == 0.0
            assert site.live_status()["load_power"] == 0
    assert low == pytest.approx(0.0, abs=1e-9)  # well below the 25 % reserve
    assert went_dark
    # The next day's sun recharges the battery and brings the home back.
    advance_to(world, local(2024, 1, 11, 15))
    assert not site.dark
    assert site.power().load_w > 0
    site.grid_outage(False)
    assert site.live_status()["grid_status"] == "Active"
    events = site.calendar_history("backup", "week")["events"]
    assert len(events) == 1
    assert events[0]["duration"] == pytest.approx(local(2024, 1, 11, 15) - local(2024, 1, 10, 18), abs=1)


def test_outage_never_exceeds_the_battery_power() -> None:
    world, site = make(WINTER, powerwalls=1, initial_charge_percent=90)
    site.grid_outage(True)
    for _ in range(500):
        world.advance(97)
        p = site.power()
        assert p.battery_w <= site.max_power_w + 1e-9
        assert p.grid_w == 0.0


def test_solar_only_site_shuts_down_in_an_outage() -> None:
    world, site = make(SUMMER, powerwalls=0)
    advance_to(world, local(2024, 6, 20, 13))
    assert site.power().solar_w > 0
    site.grid_outage(True)
    body = site.live_status()
    assert (body["solar_power"], body["load_power"], body["grid_power"]) == (0, 0, 0)
    assert site.dark
    site.grid_outage(False)
    assert site.power().solar_w > 0


# --- speed and replay ------------------------------------------------------------------------------


def test_a_year_of_advance_keeps_bounded_books() -> None:
    """One jump of a year integrates every day (its wall time: `python bench/timings.py`)."""
    world, site = make(WINTER)
    world.advance(365 * 86_400)
    body = site.live_status()
    assert balanced(body)
    assert len(site.ledger.days) in (365, 366)
    assert len(site.ledger.recent) <= 35 * 96


def _scenario(seed: int, reads_every: float) -> list[dict[str, object]]:
    world, site = make(WINTER, seed=seed)
    bodies = []
    waited = 0.0
    for hour in range(60):
        while waited < 3600:
            world.advance(reads_every)
            waited += reads_every
            if reads_every < 3600:
                site.power()
        waited = 0.0
        if hour == 20:
            site.grid_outage(True)
        if hour == 30:
            site.grid_outage(False)
            site.set_operation("autonomous")
        bodies.append(site.live_status())
    return bodies


def test_same_seed_same_bodies() -> None:
    assert _scenario(5, 3600) == _scenario(5, 3600)
    assert _scenario(5, 3600) != _scenario(6, 3600)


def test_reading_often_changes_nothing() -> None:
    rare, often = _scenario(5, 3600), _scenario(5, 112.5)
    for a, b in zip(rare, often, strict=True):
        assert a["percentage_charged"] == pytest.approx(b["percentage_charged"], abs=1e-6)
        assert {k: v for k, v in a.items() if k != "percentage_charged"} == {
            k: v for k, v in b.items() if k != "percentage_charged"
        }


def test_live_readings_are_a_function_of_world_time() -> None:
    world, site = make(WINTER)
    world.advance(1000)
    first = site.live_status()
    assert site.live_status() == first  # same instant, same reading
    world.advance(1)
    assert site.live_status() != first  # a new sample period, new jitter
