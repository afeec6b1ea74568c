"""TeslaApi against the Owner API twin on loopback: listing, errors, retries, 429 cooldown, 401 renewal."""

from __future__ import annotations

import json
import re
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources

import pytest

from teslalink.cloud import CloudUrls, StaticToken
from teslalink.cloud.api import TeslaApi
from teslalink.cloud.endpoints import catalogue, endpoint
from teslalink.errors import (
    ApiError,
    CommandSigningRequired,
    ConfigError,
    RateLimited,
    TokenExpired,
    VehicleUnavailable,
)
from teslalink.simulator.accounts import Account
from teslalink.simulator.owner_api import RateLimits
from teslalink.simulator.serve import Cloud, serve_cloud
from teslalink.simulator.world import World
from teslalink.transport import RetryPolicy

FAST_RETRY = RetryPolicy(retries=2, backoff_s=0.001, max_backoff_s=0.01)


@dataclass
class Env:
    world: World
    account: Account
    cloud: Cloud
    api: TeslaApi
    token: str


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    world = World(seed=11, speed=0)
    account = world.add_account("owner@teslalink.test", "secret-pw")
    async with serve_cloud(world) as cloud:
        token = world.auth.issue(account)["access_token"]
        api = TeslaApi(CloudUrls(api=cloud.owner_api), StaticToken(token), retry=FAST_RETRY)
        try:
            yield Env(world, account, cloud, api, token)
        finally:
            await api.close()


def billed(world: World) -> int:
    totals = world.accounting.totals
    return sum(totals.values()) + world.accounting.unbilled


# --- the catalogue ---------------------------------------------------------------------------------

DOCUMENTED_ENDPOINTS = {  # the endpoints docs/reference.md §2.2-2.3 names
    # name: (method, path tail, needs the car online)
    "PRODUCT_LIST": ("GET", "api/1/products", False),
    "VEHICLE_LIST": ("GET", "api/1/vehicles", False),
    "VEHICLE_SUMMARY": ("GET", "api/1/vehicles/{vehicle_id}", False),
    "VEHICLE_DATA": ("GET", "/vehicle_data", True),
    "WAKE_UP": ("POST", "/wake_up", False),
    "NEARBY_CHARGING_SITES": ("GET", "/nearby_charging_sites", True),
    "VEHICLE_SERVICE_DATA": ("GET", "/service_data", False),
    "VEHICLE_MOBILE_ENABLED": ("GET", "/mobile_enabled", True),
    "RELEASE_NOTES": ("GET", "/release_notes", False),
    "VEHICLE_CHARGE_HISTORY": ("POST", "/charge_history", False),
    "SEND_NOTIFICATION_CONFIRMATION": ("POST", "api/1/notification_confirmations", False),
    "UNLOCK": ("POST", "/command/door_unlock", True),
    "LOCK": ("POST", "/command/door_lock", True),
    "HONK_HORN": ("POST", "/command/honk_horn", True),
    "FLASH_LIGHTS": ("POST", "/command/flash_lights", True),
    "CLIMATE_ON": ("POST", "/command/auto_conditioning_start", True),
    "CLIMATE_OFF": ("POST", "/command/auto_conditioning_stop", True),
    "MAX_DEFROST": ("POST", "/command/set_preconditioning_max", True),
    "CHANGE_CLIMATE_TEMPERATURE_SETTING": ("POST", "/command/set_temps", True),
    "CHANGE_CHARGE_LIMIT": ("POST", "/command/set_charge_limit", True),
    "CHANGE_CHARGE_MAX": ("POST", "/command/charge_max_range", True),
    "CHANGE_CHARGE_STANDARD": ("POST", "/command/charge_standard", True),
    "CHARGING_AMPS": ("POST", "/command/set_charging_amps", True),
    "START_CHARGE": ("POST", "/command/charge_start", True),
    "STOP_CHARGE": ("POST", "/command/charge_stop", True),
    "CHARGE_PORT_DOOR_OPEN": ("POST", "/command/charge_port_door_open", True),
    "CHARGE_PORT_DOOR_CLOSE": ("POST", "/command/charge_port_door_close", True),
    "SCHEDULED_CHARGING": ("POST", "/command/set_scheduled_charging", True),
    "SCHEDULED_DEPARTURE": ("POST", "/command/set_scheduled_departure", True),
    "CHANGE_SUNROOF_STATE": ("POST", "/command/sun_roof_control", True),
    "WINDOW_CONTROL": ("POST", "/command/window_control", True),
    "ACTUATE_TRUNK": ("POST", "/command/actuate_trunk", True),
    "REMOTE_START": ("POST", "/command/remote_start_drive", True),
    "TRIGGER_HOMELINK": ("POST", "/command/trigger_homelink", True),
    "SET_SENTRY_MODE": ("POST", "/command/set_sentry_mode", True),
    "SET_VALET_MODE": ("POST", "/command/set_valet_mode", True),
    "RESET_VALET_PIN": ("POST", "/command/reset_valet_pin", True),
    "SCHEDULE_SOFTWARE_UPDATE": ("POST", "/command/schedule_software_update", True),
    "CANCEL_SOFTWARE_UPDATE": ("POST", "/command/cancel_software_update", True),
    "REMOTE_SEAT_HEATER_REQUEST": ("POST", "/command/remote_seat_heater_request", True),
    "REMOTE_STEERING_WHEEL_HEATER_REQUEST": ("POST", "/command/remote_steering_wheel_heater_request", True),
    "MEDIA_TOGGLE_PLAYBACK": ("POST", "/command/media_toggle_playback", True),
    "MEDIA_NEXT_TRACK": ("POST", "/command/media_next_track", True),
    "SPEED_LIMIT_SET_LIMIT": ("POST", "/command/speed_limit_set_limit", True),
    "SPEED_LIMIT_ACTIVATE": ("POST", "/command/speed_limit_activate", True),
    "SPEED_LIMIT_DEACTIVATE": ("POST", "/command/speed_limit_deactivate", True),
    "SPEED_LIMIT_CLEAR_PIN": ("POST", "/command/speed_limit_clear_pin", True),
    "SITE_SUMMARY": ("GET", "/site_status", False),
    "SITE_DATA": ("GET", "/live_status", False),
    "SITE_CONFIG": ("GET", "/site_info", False),
    "HISTORY_DATA": ("GET", "/history", False),
    "CALENDAR_HISTORY_DATA": ("GET", "/calendar_history", False),
    "BACKUP_RESERVE": ("POST", "/backup", False),
    "OPERATION_MODE": ("POST", "/operation", False),
    "ENERGY_SITE_IMPORT_EXPORT_CONFIG": ("POST", "/grid_import_export", False),
    "STORM_MODE_SETTINGS": ("POST", "/storm_mode", False),
    "TIME_OF_USE_SETTINGS": ("POST", "/time_of_use_settings", False),
    "OFF_GRID_VEHICLE_CHARGING_RESERVE": ("POST", "/off_grid_vehicle_charging_reserve", False),
    "SITE_TARIFF": ("GET", "/tariff_rate", False),
}


def test_catalogue_names_are_unique_and_paths_valid() -> None:
    text = resources.files("teslalink.cloud").joinpath("endpoints.json").read_text()
    names = re.findall(r'^  "([A-Z0-9_]+)": \{', text, re.MULTILINE)
    assert len(names) == len(set(names)) == len(catalogue())
    for found in catalogue().values():
        assert found.method in ("GET", "POST")
        assert not found.path.startswith("/")
        fields = [f for _, f, _, _ in string.Formatter().parse(found.path) if f is not None]
        assert all(f in ("vehicle_id", "site_id") for f in fields), found
        assert found.format_path({"vehicle_id": 1, "site_id": 2}).count("{") == 0
        if found.online:
            assert "{vehicle_id}" in found.path
        assert found.idempotent == (found.method == "GET")
    assert json.loads(text)["_about"]


@pytest.mark.parametrize(("name", "expected"), sorted(DOCUMENTED_ENDPOINTS.items()))
def test_catalogue_has_every_reference_endpoint(name: str, expected: tuple[str, str, bool]) -> None:
    method, tail, online = expected
    found = endpoint(name)
    assert (found.method, found.online) == (method, online)
    assert found.path.endswith(tail)


def test_unknown_endpoint_and_missing_path_var() -> None:
    with pytest.raises(ConfigError):
        endpoint("NO_SUCH_THING")
    with pytest.raises(ConfigError, match="vehicle_id"):
        endpoint("VEHICLE_DATA").format_path({})


# --- listing -------------------------------------------------------------------------------------


async def test_products_vehicles_and_energy_sites(env: Env) -> None:
    car = env.world.add_vehicle(env.account, asleep=True)
    site = env.world.add_energy_site(env.account, site_name="Home")
    products = await env.api.products()
    assert len(products) == 2
    vehicles = await env.api.vehicles()
    assert [v.vin for v in vehicles] == [car.vin]
    assert vehicles[0].state == "asleep"
    assert vehicles[0].id_s == car.id_s
    sites = await env.api.energy_sites()
    assert [s.energy_site_id for s in sites] == [site.energy_site_id]
    assert sites[0].site_name == "Home"
    assert car.state == "asleep"
    assert car.wake_count == 0


async def test_vehicles_list_endpoint_is_fleet_only(env: Env) -> None:
    with pytest.raises(ApiError) as caught:
        await env.api.api("VEHICLE_LIST")
    assert caught.value.status == 412
    assert "fleetapi" in caught.value.error


async def test_not_found_is_api_error_with_the_body_error(env: Env) -> None:
    with pytest.raises(ApiError) as caught:
        await env.api.api("VEHICLE_SUMMARY", path_vars={"vehicle_id": 123})
    assert caught.value.status == 404
    assert "not_found" in caught.value.error


async def test_vehicle_unavailable_408(env: Env) -> None:
    car = env.world.add_vehicle(env.account, asleep=True)
    with pytest.raises(VehicleUnavailable) as caught:
        await env.api.api("VEHICLE_DATA", path_vars={"vehicle_id": car.id_s})
    assert caught.value.status == 408
    assert car.state == "asleep"
    assert car.wake_count == 0
    # Tesla's body says `vehicle unavailable: {:error=>"vehicle unavailable:"}`: people get words
    assert str(caught.value) == f"HTTP 408: GET /api/1/vehicles/{car.id_s}/vehicle_data: vehicle unavailable"
    assert "=>" not in caught.value.error


# --- 429 --------------------------------------------------------------------------------------------


async def test_429_raises_with_retry_after_and_cools_down_without_sending() -> None:
    world = World(seed=3, speed=0)
    account = world.add_account("limited@teslalink.test", "pw")
    car = world.add_vehicle(account, asleep=True)
    limits = RateLimits(per_vehicle_per_min=2, retry_after_s=120.0)
    async with serve_cloud(world, rate_limits=limits) as cloud:
        now = [1000.0]
        token = world.auth.issue(account)["access_token"]
        async with TeslaApi(
            CloudUrls(api=cloud.owner_api), StaticToken(token), retry=FAST_RETRY, clock=lambda: now[0]
        ) as api:
            path = {"vehicle_id": car.id_s}
            await api.api("VEHICLE_SUMMARY", path_vars=path)
            await api.api("VEHICLE_SUMMARY", path_vars=path)
            with pytest.raises(RateLimited) as caught:
                await api.api("VEHICLE_SUMMARY", path_vars=path)
            assert caught.value.retry_after == 120.0
            assert caught.value.status == 429
            sent = billed(world)
            assert sent == 3
            # During the cooldown nothing reaches the twin, whatever the endpoint.
            for _ in range(5):
                now[0] += 20.0
                with pytest.raises(RateLimited) as again:
                    await api.api("VEHICLE_SUMMARY", path_vars=path)
                assert again.value.retry_after is not None
                assert 0 < again.value.retry_after <= 120.0
            with pytest.raises(RateLimited):
                await api.products()
            assert billed(world) == sent
            assert api.cooldown_remaining() == pytest.approx(20.0)
            # After Retry-After (on both clocks), calls go out again and are admitted.
            now[0] += 21.0
            world.advance(121.0)
            summary = await api.api("VEHICLE_SUMMARY", path_vars=path)
            assert summary["state"] == "asleep"
            assert billed(world) == sent + 1
    assert car.wake_count == 0


async def test_injected_429_is_never_retried(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    env.cloud.faults.set("owner_api", "429=1,retry_after=30")
    with pytest.raises(RateLimited) as caught:
        await env.api.api("VEHICLE_SUMMARY", path_vars={"vehicle_id": car.id_s})
    assert caught.value.retry_after == 30.0
    assert billed(env.world) == 1
    env.cloud.faults.set("owner_api", "")
    with pytest.raises(RateLimited):
        await env.api.products()
    assert billed(env.world) == 1


# --- 5xx ------------------------------------------------------------------------------------------


async def test_get_is_retried_on_5xx(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    env.cloud.faults.set("owner_api", "5xx=1")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        env.cloud.faults.set("owner_api", "")  # the service recovers while we back off

    env.api.sleep = sleep
    summary = await env.api.api("VEHICLE_SUMMARY", path_vars={"vehicle_id": car.id_s})
    assert summary["vin"] == car.vin
    assert len(waits) == 1
    assert env.world.accounting.unbilled == 1


async def test_get_gives_up_after_the_retries(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    env.cloud.faults.set("owner_api", "5xx=1")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    env.api.sleep = sleep
    with pytest.raises(ApiError) as caught:
        await env.api.api("VEHICLE_SUMMARY", path_vars={"vehicle_id": car.id_s})
    assert caught.value.status >= 500
    assert len(waits) == FAST_RETRY.retries
    assert env.world.accounting.unbilled == FAST_RETRY.retries + 1


async def test_command_is_not_retried_on_5xx(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    env.cloud.faults.set("owner_api", "5xx=1")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    env.api.sleep = sleep
    with pytest.raises(ApiError) as caught:
        await env.api.api("HONK_HORN", path_vars={"vehicle_id": car.id_s})
    assert caught.value.status >= 500
    assert waits == []
    assert env.world.accounting.unbilled == 1


# --- 401 ------------------------------------------------------------------------------------------


class RenewingToken:
    def __init__(self, first: str, fresh: str) -> None:
        self.current = first
        self.fresh = fresh
        self.rejected: list[str] = []

    async def access_token(self) -> str:
        return self.current

    async def token_rejected(self, token: str) -> str:
        self.rejected.append(token)
        self.current = self.fresh
        return self.fresh


async def test_401_renews_the_token_once(env: Env) -> None:
    provider = RenewingToken("not-a-valid-token", env.token)
    async with TeslaApi(CloudUrls(api=env.cloud.owner_api), provider) as api:
        assert await api.products() == []
    assert provider.rejected == ["not-a-valid-token"]


async def test_401_twice_is_token_expired_without_the_token_in_the_message(env: Env) -> None:
    provider = RenewingToken("bad-one", "bad-two")
    async with TeslaApi(CloudUrls(api=env.cloud.owner_api), provider) as api:
        with pytest.raises(TokenExpired) as caught:
            await api.products()
    assert provider.rejected == ["bad-one"]
    assert "bad-two" not in str(caught.value)
    assert "bad-two" not in repr(api)


async def test_static_token_rejected_is_token_expired(env: Env) -> None:
    async with TeslaApi(CloudUrls(api=env.cloud.owner_api), StaticToken("nope")) as api:
        with pytest.raises(TokenExpired):
            await api.products()


# --- signed commands ----------------------------------------------------------------------------


async def test_signed_commands_mode_is_command_signing_required() -> None:
    world = World(seed=5, speed=0)
    account = world.add_account("signed@teslalink.test", "pw")
    car = world.add_vehicle(account)
    async with serve_cloud(world, require_signed_commands=True) as cloud:
        token = world.auth.issue(account)["access_token"]
        async with TeslaApi(CloudUrls(api=cloud.owner_api), StaticToken(token)) as api:
            with pytest.raises(CommandSigningRequired) as caught:
                await api.api("FLASH_LIGHTS", path_vars={"vehicle_id": car.id_s})
    assert caught.value.status == 403


async def test_request_raw_path_and_unwrap(env: Env) -> None:
    found = await env.api.request("GET", "api/1/products", idempotent=True)
    assert found == []


async def test_locked_account_423_and_in_service_405(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    car.enter_service()
    with pytest.raises(ApiError) as in_service:
        await env.api.api("VEHICLE_DATA", path_vars={"vehicle_id": car.id_s})
    assert in_service.value.status == 405
    assert "in service" in in_service.value.error
    env.cloud.api.lock(env.account)
    with pytest.raises(ApiError) as locked:
        await env.api.products()
    assert locked.value.status == 423
    assert "account_locked" in locked.value.error


def test_retry_after_header_forms() -> None:
    from teslalink.transport import retry_after as _retry_after

    assert _retry_after({"Retry-After": "17"}, 0.0) == 17.0
    assert _retry_after({}, 0.0) is None
    assert _retry_after({"Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT"}, 40.0) == 60.0
    assert _retry_after({"Retry-After": "soon"}, 0.0) is None


async def test_a_429_without_retry_after_still_cools_down(env: Env) -> None:
    from aiohttp import web

    async def limited(request: web.Request) -> web.Response:
        return web.Response(status=429, text="slow down")

    app = web.Application()
    app.router.add_get("/api/1/products", limited)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with TeslaApi(CloudUrls(api=f"http://127.0.0.1:{port}/"), StaticToken("t")) as api:
            with pytest.raises(RateLimited) as caught:
                await api.products()
            assert caught.value.retry_after is None
            assert api.cooldown_remaining() > 50
    finally:
        await runner.cleanup()


async def test_no_token_in_logs(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="teslalink")
    provider = RenewingToken("stale-token-value", env.token)
    async with TeslaApi(CloudUrls(api=env.cloud.owner_api), provider) as api:
        await api.products()
    assert caplog.records
    assert env.token not in caplog.text
    assert "stale-token-value" not in caplog.text
