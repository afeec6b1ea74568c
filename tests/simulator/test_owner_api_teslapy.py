"""TeslaPy 2.9.2, unchanged, against the Owner API twin: its requests understood, its reads answered."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import requests

from teslalink.simulator import World
from teslalink.simulator.demo import populate_demo
from teslalink.simulator.serve import serve_cloud

teslapy = pytest.importorskip("teslapy")


async def test_teslapy_reads_commands_and_energy(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    (demo,) = populate_demo(world, accounts=1, cars_per_account=2, sites=1, chargers=1)
    charging, sleeper = demo.vehicles
    account = world.account(demo.email)
    world.advance(60)  # past "Starting": the first car charges on its Wall Connector
    async with serve_cloud(world) as cloud:
        monkeypatch.setattr(teslapy, "BASE_URL", cloud.owner_api)
        token = dict(world.auth.issue(account))
        token["expires_at"] = time.time() + 3600  # TeslaPy's own bookkeeping, in its (real) time
        cache = {demo.email: {"url": cloud.sso["na"], "sso": token}}
        seen: dict[str, Any] = {}

        def run() -> None:
            with teslapy.Tesla(demo.email, cache_loader=lambda: cache, cache_dumper=lambda _: None) as tesla:
                assert tesla.api("STATUS") == "ok"
                with pytest.raises(requests.HTTPError) as gone:
                    tesla.api("VEHICLE_LIST")
                assert gone.value.response.status_code == 412
                assert "Endpoint is only available on fleetapi" in gone.value.response.reason

                vehicles = tesla.vehicle_list()  # also asks for the orders
                assert [v["id"] for v in vehicles] == [charging.id, sleeper.id]
                assert vehicles[0].order["vin"] == charging.vin
                awake, asleep = vehicles
                data = awake.get_vehicle_data()
                seen["charging_state"] = data["charge_state"]["charging_state"]
                seen["latitude"] = data["drive_state"].get("latitude")
                assert awake.command("CHANGE_CHARGE_LIMIT", percent=90) is True
                with pytest.raises(teslapy.VehicleError, match="already_set"):
                    awake.command("CHANGE_CHARGE_LIMIT", percent=90)
                assert awake.command("CHARGING_AMPS", charging_amps=16) is True
                assert awake.mobile_enabled() is True
                assert awake.get_nearby_charging_sites()["superchargers"]
                assert awake.get_charge_history()["screen_title"] == "Charging History"
                assert awake.get_service_scheduling_data()["vin"] == charging.vin

                with pytest.raises(requests.HTTPError) as unavailable:
                    asleep.get_vehicle_data()
                assert unavailable.value.response.status_code == 408
                assert "vehicle unavailable" in unavailable.value.response.reason
                assert asleep.api("WAKE_UP")["response"]["state"] == "asleep"
                world.advance(30)
                assert asleep.get_vehicle_summary()["state"] == "online"

                (battery,) = tesla.battery_list()
                assert battery.get_site_data()["percentage_charged"] >= 0
                assert battery.set_backup_reserve_percent(30) == "Updated"
                assert battery.set_operation("backup") == "Updated"
                battery.set_import_export(allow_grid_charging=True, allow_battery_export=True)
                history = battery.get_calendar_history_data(
                    kind="energy", period="day", timezone="America/Los_Angeles"
                )
                assert "time_series" in history
                assert battery.get_tariff() == demo.sites[0].tariff_rate()
                (charger,) = tesla.wall_connector_list()
                seen["charger_site"] = charger["energy_site_id"]

        await asyncio.to_thread(run)

    assert seen["charging_state"] == "Charging"
    assert seen["latitude"] is not None  # TeslaPy asks for location_data
    assert charging.charge_limit_soc == 90
    site = demo.sites[0]
    assert site.settings.backup_reserve_percent == 30
    assert site.settings.operation == "backup"
    assert site.settings.customer_preferred_export_rule == "battery_ok"
    assert site.settings.disallow_charge_from_grid_with_solar_installed is False
    assert seen["charger_site"] == demo.chargers[0].energy_site_id
    world.advance(60)
    assert demo.chargers[0].unit.current_a == pytest.approx(16, abs=0.5)  # the amps went to the charger
