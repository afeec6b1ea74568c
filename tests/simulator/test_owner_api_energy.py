"""Energy site endpoints of the Owner API twin: reads, commands in both answer styles, refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from teslalink.simulator import World
from teslalink.simulator.accounts import Account
from teslalink.simulator.owner_api import link_wall_connector
from teslalink.simulator.site.energy_site import EnergySite

from .test_owner_api import PASSWORD, Api, error_body, start_api


@dataclass
class Sites:
    world: World
    owner: Account
    battery: EnergySite
    upper: EnergySite
    solar: EnergySite
    foreign: EnergySite
    api: Api


@pytest.fixture
async def sites(world: World) -> AsyncIterator[Sites]:
    owner = world.add_account("owner@example.com", PASSWORD)
    other = world.add_account("other@example.com", PASSWORD)
    battery = world.add_energy_site(owner, site_name="Home")
    upper = world.add_energy_site(owner, site_name="Cabin", answer_style="upper")
    solar = world.add_energy_site(owner, site_name="Barn", powerwalls=0)
    foreign = world.add_energy_site(other)
    world.advance(6 * 3600)
    server, session, api = await start_api(world)
    api.login(owner)
    try:
        yield Sites(world, owner, battery, upper, solar, foreign, api)
    finally:
        await session.close()
        await server.close()


def _path(site: EnergySite, name: str) -> str:
    return f"api/1/energy_sites/{site.energy_site_id}/{name}"


async def test_reads_answer_what_the_site_says(sites: Sites) -> None:
    site, api = sites.battery, sites.api
    for name, expected in (
        ("site_status", site.site_status),
        ("live_status", site.live_status),
        ("site_info", site.site_info),
        ("tariff_rate", site.tariff_rate),
        ("backup_time_remaining", site.backup_time_remaining),
    ):
        reply = await api.get(_path(site, name))
        assert reply.status == 200, name
        assert reply.json == {"response": expected()}, name
    live = (await api.get(_path(site, "live_status"))).json["response"]
    assert {"solar_power", "battery_power", "load_power", "grid_power", "percentage_charged"} <= set(live)


async def test_history_and_calendar_history_with_either_zone_parameter(sites: Sites) -> None:
    site, api = sites.battery, sites.api
    history = await api.get(_path(site, "history"), params={"kind": "energy", "period": "day"})
    assert history.json == {"response": site.history("energy", "day")}
    params = {"kind": "energy", "period": "day", "end_date": "2023-11-14T07:59:59.999Z"}
    expected = site.calendar_history("energy", "day", None, params["end_date"], "Europe/Brussels")
    as_teslapy = await api.get(
        _path(site, "calendar_history"), params={**params, "timezone": "Europe/Brussels"}
    )
    as_app = await api.get(_path(site, "calendar_history"), params={**params, "time_zone": "Europe/Brussels"})
    assert as_teslapy.json == as_app.json == {"response": expected}
    bad_zone = await api.get(_path(site, "calendar_history"), params={**params, "timezone": "Mars/Olympus"})
    assert bad_zone.status == 400
    assert bad_zone.json["error"] == "invalid time_zone 'Mars/Olympus'"
    bad_kind = await api.get(_path(site, "calendar_history"), params={"kind": "gold"})
    assert bad_kind.status == 400
    assert bad_kind.json["response"] is None
    assert bad_kind.json["error_description"] == ""


async def test_commands_in_both_answer_styles(sites: Sites) -> None:
    api = sites.api
    lower = await api.post(_path(sites.battery, "backup"), json={"backup_reserve_percent": 35})
    assert lower.json == {"response": {"code": 201, "message": "Updated"}}
    assert sites.battery.settings.backup_reserve_percent == 35
    upper = await api.post(_path(sites.upper, "operation"), json={"default_real_mode": "backup"})
    assert upper.json == {"response": {"Code": 201, "Message": "Updated"}}
    assert sites.upper.settings.operation == "backup"
    storm = await api.post(_path(sites.battery, "storm_mode"), json={"enabled": True})
    assert storm.json["response"]["code"] == 201
    reserve = await api.post(
        _path(sites.battery, "off_grid_vehicle_charging_reserve"),
        json={"off_grid_vehicle_charging_reserve_percent": 50},
    )
    assert reserve.json["response"]["code"] == 201
    tou = await api.post(
        _path(sites.battery, "time_of_use_settings"),
        json={"tou_settings": {"optimization_strategy": "economics"}},
    )
    assert tou.json == {"response": {"code": 201, "message": "Updated"}}
    assert sites.battery.settings.optimization_strategy == "economics"
    tariff = await api.get(_path(sites.battery, "tariff_rate"))
    assert tariff.json == {"response": sites.battery.tariff_rate()}
    export = await api.post(
        _path(sites.battery, "grid_import_export"),
        json={
            "disallow_charge_from_grid_with_solar_installed": True,
            "customer_preferred_export_rule": "battery_ok",
        },
    )
    assert export.status == 200
    assert export.json == {"response": {}}
    assert sites.battery.settings.customer_preferred_export_rule == "battery_ok"


async def test_form_bodies_mean_the_same_as_json(sites: Sites) -> None:
    reply = await sites.api.post(_path(sites.battery, "backup"), data={"backup_reserve_percent": "42"})
    assert reply.json["response"]["code"] == 201
    assert sites.battery.settings.backup_reserve_percent == 42
    storm = await sites.api.post(_path(sites.battery, "storm_mode"), data={"enabled": "false"})
    assert storm.json["response"]["code"] == 201
    assert sites.battery.settings.storm_mode_enabled is False


async def test_refusals_carry_the_sites_status_and_message(sites: Sites) -> None:
    api = sites.api
    out_of_range = await api.post(_path(sites.battery, "backup"), json={"backup_reserve_percent": 120})
    assert out_of_range.status == 400
    assert out_of_range.json == error_body("backup_reserve_percent must be between 0 and 100")
    missing = await api.post(_path(sites.battery, "operation"), json={})
    assert missing.status == 400
    no_battery = await api.post(_path(sites.solar, "backup"), json={"backup_reserve_percent": 20})
    assert no_battery.status == 400
    assert "Powerwall" in no_battery.json["error"]
    no_battery_read = await api.get(_path(sites.solar, "backup_time_remaining"))
    assert no_battery_read.status == 400
    garbage = await api.post(
        _path(sites.battery, "backup"), data=b"[1, 2]", headers={"Content-Type": "application/json"}
    )
    assert garbage.status == 400
    for site_id in (sites.foreign.energy_site_id, 42, "abc"):
        reply = await api.get(f"api/1/energy_sites/{site_id}/live_status")
        assert reply.status == 404
        assert reply.json == error_body("not_found")


async def test_a_paired_wall_connector_answers_live_status(sites: Sites) -> None:
    unit = sites.world.add_wall_connector()
    link = link_wall_connector(sites.world, sites.owner, unit)
    unit.plug_in(32.0)
    sites.world.advance(60)
    live = (await sites.api.get(f"api/1/energy_sites/{link.energy_site_id}/live_status")).json["response"]
    (connector,) = live["wall_connectors"]
    assert connector["din"] == link.din
    assert connector["wall_connector_power"] == pytest.approx(unit.power_w, abs=1)
    info = (await sites.api.get(f"api/1/energy_sites/{link.energy_site_id}/site_info")).json["response"]
    assert info["components"]["wall_connectors"][0]["din"] == link.din
    history = await sites.api.get(f"api/1/energy_sites/{link.energy_site_id}/history")
    assert history.status == 404
    command = await sites.api.post(f"api/1/energy_sites/{link.energy_site_id}/backup", json={})
    assert command.status == 404
