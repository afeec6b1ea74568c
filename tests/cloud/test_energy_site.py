"""EnergySite against the Owner API twin: reads, commands in both answer styles, validation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from teslalink.cloud import CloudUrls, StaticToken
from teslalink.cloud.api import TeslaApi
from teslalink.cloud.energy import EnergySite, select_site
from teslalink.errors import ApiError, CommandFailed, ConfigError
from teslalink.simulator.accounts import Account
from teslalink.simulator.serve import Cloud, serve_cloud
from teslalink.simulator.site.energy_site import EnergySite as TwinSite
from teslalink.simulator.world import World


@dataclass
class Env:
    world: World
    account: Account
    cloud: Cloud
    api: TeslaApi


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    world = World(seed=31, speed=0)
    account = world.add_account("home@teslalink.test", "pw")
    async with serve_cloud(world) as cloud:
        token = world.auth.issue(account)["access_token"]
        api = TeslaApi(CloudUrls(api=cloud.owner_api), StaticToken(token))
        try:
            yield Env(world, account, cloud, api)
        finally:
            await api.close()


async def site_of(env: Env, twin: TwinSite) -> EnergySite:
    (found,) = [s for s in await env.api.energy_sites() if s.energy_site_id == twin.energy_site_id]
    return found


async def test_live_status_typed_and_raw(env: Env) -> None:
    twin = env.world.add_energy_site(env.account, site_name="Roof")
    site = await site_of(env, twin)
    live = await site.live_status()
    assert live.solar_power_w == live.raw["solar_power"]
    assert live.battery_power_w == live.raw["battery_power"]
    assert live.load_power_w == live.raw["load_power"]
    assert live.grid_power_w == live.raw["grid_power"]
    assert live.percentage_charged == pytest.approx(live.raw["percentage_charged"])
    assert live.energy_left_wh == live.raw["energy_left"]
    assert live.total_pack_energy_wh == live.raw["total_pack_energy"]
    assert live.grid_status == "Active"
    assert live.island_status == "on_grid"
    assert live.storm_mode_active is False
    assert live.timestamp is not None
    assert site.site_name == "Roof"
    assert site.resource_type == "battery"


async def test_site_info_history_calendar_and_tariff(env: Env) -> None:
    twin = env.world.add_energy_site(env.account, backup_reserve_percent=30.0)
    site = await site_of(env, twin)
    info = await site.site_info()
    assert info.backup_reserve_percent == 30
    assert info.operation_mode == "self_consumption"
    assert info.components["battery"] is True
    assert info.site_name == twin.site_name
    env.world.advance(3 * 3600)
    history = await site.history("energy", "day")
    assert history["period"] == "day"
    assert history["time_series"]
    calendar = await site.calendar_history("energy", "week", time_zone="America/Los_Angeles")
    assert calendar["period"] == "week"
    assert "time_series" in calendar
    power = await site.calendar_history("power", "day")
    assert "time_series" in power
    tariff = await site.get_tariff()
    assert tariff["name"]
    assert isinstance(await site.site_status(), dict)
    assert "time_remaining_hours" in await site.backup_time_remaining()


@pytest.mark.parametrize("style", ["lower", "upper"])
async def test_commands_in_both_answer_styles(env: Env, style: str) -> None:
    twin = env.world.add_energy_site(env.account, answer_style=style)
    site = await site_of(env, twin)
    await site.set_backup_reserve(55)
    await site.set_operation("autonomous")
    await site.set_storm_mode(True)
    await site.set_grid_import_export(
        disallow_charge_from_grid_with_solar_installed=True, customer_preferred_export_rule="battery_ok"
    )
    await site.set_off_grid_vehicle_charging_reserve(40)
    tariff = dict(await site.get_tariff())
    tariff["name"] = "Renamed plan"
    await site.set_tariff(tariff)
    info = await site.site_info()
    assert info.backup_reserve_percent == 55
    assert info.operation_mode == "autonomous"
    assert twin.settings.storm_mode_enabled is True
    assert twin.settings.customer_preferred_export_rule == "battery_ok"
    assert twin.settings.disallow_charge_from_grid_with_solar_installed is True
    assert (await site.get_tariff())["name"] == "Renamed plan"


async def test_a_refused_command_is_an_api_error(env: Env) -> None:
    twin = env.world.add_energy_site(env.account, powerwalls=0)
    (site,) = [s for s in await env.api.energy_sites() if s.energy_site_id == twin.energy_site_id]
    assert site.resource_type == "solar"
    with pytest.raises(ApiError) as caught:
        await site.set_backup_reserve(50)
    assert caught.value.status == 400


async def test_a_code_outside_2xx_is_command_failed(env: Env) -> None:
    twin = env.world.add_energy_site(env.account)
    site = await site_of(env, twin)

    async def answer(method: str, path: str, **kwargs: Any) -> Any:
        return {"Code": 500, "Message": "Internal failure"}

    site.api.request = answer  # type: ignore[method-assign]
    with pytest.raises(CommandFailed) as caught:
        await site.set_operation("backup")
    assert caught.value.reason == "Internal failure"


async def test_result_false_is_command_failed(env: Env) -> None:
    twin = env.world.add_energy_site(env.account)
    site = await site_of(env, twin)

    async def answer(method: str, path: str, **kwargs: Any) -> Any:
        return {"result": False, "reason": "gateway_offline"}

    site.api.request = answer  # type: ignore[method-assign]
    with pytest.raises(CommandFailed) as caught:
        await site.set_backup_reserve(30)
    assert caught.value.reason == "gateway_offline"
    assert str(caught.value) == "BACKUP_RESERVE: refused by the energy site: gateway_offline"


async def test_a_solar_only_site_is_named_from_site_info(env: Env) -> None:
    env.world.add_energy_site(env.account, site_name="My Home")
    barn = env.world.add_energy_site(env.account, site_name="Barn", powerwalls=0)
    home_site, barn_site = await env.api.energy_sites()
    assert barn_site.site_name == ""  # the products list has no name for it, as Tesla's
    assert barn_site.label == f"site {barn.energy_site_id}"
    assert (barn_site.has_battery, home_site.has_battery) == (False, True)
    before = dict(env.world.accounting.totals)
    assert await select_site([home_site, barn_site], "my home") is home_site
    assert await select_site([home_site, barn_site], None) is home_site
    assert dict(env.world.accounting.totals) == before  # a named site is found without a request
    assert await select_site([home_site, barn_site], "BARN") is barn_site
    assert dict(env.world.accounting.totals) != before  # its name took one site_info
    assert barn_site.site_name == "Barn"
    assert barn_site.label == "Barn"
    assert await select_site(await env.api.energy_sites(), str(barn.energy_site_id)) is not None
    with pytest.raises(ConfigError, match="it has: My Home, Barn"):
        await select_site([home_site, barn_site], "Shed")
    with pytest.raises(ConfigError, match="no energy site"):
        await select_site([], None)


async def test_site_info_reads_the_grid_rules_and_storm_setting(env: Env) -> None:
    twin = env.world.add_energy_site(env.account, customer_preferred_export_rule="never")
    site = await site_of(env, twin)
    info = await site.site_info()
    assert (info.export_rule, info.grid_charging, info.storm_mode_enabled) == ("never", True, False)
    assert info.has_battery is True
    await site.set_grid_import_export(disallow_charge_from_grid_with_solar_installed=True)
    await site.set_storm_mode(True)
    info = await site.site_info()
    assert (info.grid_charging, info.storm_mode_enabled) == (False, True)


Call = Callable[[EnergySite], Awaitable[Any]]

BAD: list[tuple[str, Call]] = [
    ("reserve_high", lambda s: s.set_backup_reserve(101)),
    ("reserve_negative", lambda s: s.set_backup_reserve(-1)),
    ("reserve_bool", lambda s: s.set_backup_reserve(True)),
    ("mode", lambda s: s.set_operation("turbo")),
    ("storm", lambda s: s.set_storm_mode("on")),  # type: ignore[arg-type]
    ("grid_nothing", lambda s: s.set_grid_import_export()),
    ("grid_rule", lambda s: s.set_grid_import_export(customer_preferred_export_rule="always")),
    ("grid_disallow", lambda s: s.set_grid_import_export(disallow_charge_from_grid_with_solar_installed=1)),  # type: ignore[arg-type]
    ("tariff", lambda s: s.set_tariff({})),
    ("history_kind", lambda s: s.history("weather")),
    ("calendar_period", lambda s: s.calendar_history("energy", "decade")),
    ("off_grid", lambda s: s.set_off_grid_vehicle_charging_reserve(150)),
]


@pytest.mark.parametrize(("label", "call"), BAD, ids=[b[0] for b in BAD])
async def test_bad_arguments_raise_before_sending(env: Env, label: str, call: Call) -> None:
    twin = env.world.add_energy_site(env.account)
    site = await site_of(env, twin)
    before = dict(env.world.accounting.totals)
    with pytest.raises(ConfigError):
        await call(site)
    assert dict(env.world.accounting.totals) == before


def test_energy_site_needs_an_id() -> None:
    with pytest.raises(ConfigError):
        EnergySite(None, {"site_name": "x"})  # type: ignore[arg-type]
