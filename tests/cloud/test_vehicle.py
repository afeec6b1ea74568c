"""Vehicle against the Owner API twin: sleep is respected, vehicle_data, wake_up, commands, helpers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from teslalink.cloud import CloudUrls, StaticToken
from teslalink.cloud.api import TeslaApi
from teslalink.cloud.vehicle import (
    Vehicle,
    compose_image_url,
    decode_vin,
    describe_option_codes,
)
from teslalink.errors import CommandFailed, ConfigError, VehicleUnavailable
from teslalink.simulator.accounts import Account
from teslalink.simulator.serve import Cloud, serve_cloud
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.world import World


@dataclass
class Sent:
    """Every request the api makes, recorded on its way to the twin."""

    calls: list[tuple[str, str, Any]] = field(default_factory=list)


@dataclass
class Env:
    world: World
    account: Account
    cloud: Cloud
    api: TeslaApi
    sent: Sent


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    world = World(seed=21, speed=0)
    account = world.add_account("driver@teslalink.test", "account-password")
    async with serve_cloud(world) as cloud:
        token = world.auth.issue(account)["access_token"]
        api = TeslaApi(CloudUrls(api=cloud.owner_api), StaticToken(token))
        sent = Sent()
        real = api.request

        async def recording(method: str, path: str, **kwargs: Any) -> Any:
            sent.calls.append((method, path, kwargs.get("json")))
            return await real(method, path, **kwargs)

        api.request = recording  # type: ignore[method-assign]
        try:
            yield Env(world, account, cloud, api, sent)
        finally:
            await api.close()


async def vehicle_of(env: Env, car: Car) -> Vehicle:
    (found,) = [v for v in await env.api.vehicles() if v.id_s == car.id_s]
    return found


# --- sleep ------------------------------------------------------------------------------------------


async def test_a_sleeping_car_stays_asleep_through_list_and_summary(env: Env) -> None:
    car = env.world.add_vehicle(env.account, asleep=True, newer_computer=False)
    vehicle = await vehicle_of(env, car)
    for _ in range(40):
        env.world.advance(30.0)
        assert [v.state for v in await env.api.vehicles()] == ["asleep"]
        summary = await vehicle.summary()
        assert summary["state"] == "asleep"
        assert vehicle.state == "asleep"
    assert car.state == "asleep"
    assert car.wake_count == 0
    assert car.awake_seconds == 0.0


async def test_vehicle_data_on_a_sleeping_car_is_408_and_does_not_wake_it(env: Env) -> None:
    car = env.world.add_vehicle(env.account, asleep=True, newer_computer=False)
    vehicle = await vehicle_of(env, car)
    with pytest.raises(VehicleUnavailable):
        await vehicle.vehicle_data()
    with pytest.raises(VehicleUnavailable):
        await vehicle.nearby_charging_sites()
    with pytest.raises(VehicleUnavailable):
        await vehicle.honk_horn()
    env.world.advance(60.0)
    assert car.state == "asleep"
    assert car.wake_count == 0


# --- wake_up ----------------------------------------------------------------------------------------


async def test_wake_up_with_progress_while_the_world_moves(env: Env) -> None:
    car = env.world.add_vehicle(env.account, asleep=True, newer_computer=False)
    fake_now = [0.0]

    async def sleep(seconds: float) -> None:
        fake_now[0] += seconds
        env.world.advance(seconds)  # the world keeps up with the fake clock however loaded the loop
        await asyncio.sleep(0.005)

    async def advance_world() -> None:
        while True:
            await asyncio.sleep(0.001)
            env.world.advance(1.0)

    summary = (await env.api.products())[0]
    vehicle = Vehicle(env.api, summary, sleep=sleep, clock=lambda: fake_now[0])
    seen: list[tuple[str, float]] = []
    mover = asyncio.create_task(advance_world())
    try:
        await vehicle.wake_up(timeout=120, progress=lambda state, waited: seen.append((state, waited)))
    finally:
        mover.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await mover
    assert vehicle.state == "online"
    assert seen[0] == ("asleep", 0.0)
    assert seen[-1][0] == "online"
    assert [w for _, w in seen] == sorted(w for _, w in seen)
    assert car.wake_count == 1
    assert car.wake_reasons.get("wake_up") == 1
    paths = [p for _, p, _ in env.sent.calls]
    assert sum(p.endswith("/wake_up") for p in paths) == 1
    assert not any("vehicle_data" in p for p in paths)


async def test_wake_up_times_out_on_an_offline_car(env: Env) -> None:
    car = env.world.add_vehicle(env.account, asleep=True)
    car.go_offline()
    fake_now = [0.0]

    async def sleep(seconds: float) -> None:
        fake_now[0] += seconds

    summary = (await env.api.products())[0]
    vehicle = Vehicle(env.api, summary, sleep=sleep, clock=lambda: fake_now[0])
    with pytest.raises(VehicleUnavailable, match="not online after 30 s"):
        await vehicle.wake_up(timeout=30)
    assert fake_now[0] == pytest.approx(30.0)
    polls = [p for _, p, _ in env.sent.calls if p.endswith(car.id_s)]
    assert 5 <= len(polls) <= 15


async def test_wake_up_rejects_a_bad_timeout(env: Env) -> None:
    car = env.world.add_vehicle(env.account, asleep=True)
    vehicle = await vehicle_of(env, car)
    with pytest.raises(ConfigError):
        await vehicle.wake_up(timeout=0)
    assert car.wake_count == 0


# --- vehicle_data -----------------------------------------------------------------------------------


async def test_vehicle_data_typed_accessors_match_the_raw_answer(env: Env) -> None:
    car = env.world.add_vehicle(env.account, battery_level=64.0, charge_limit_soc=85)
    vehicle = await vehicle_of(env, car)
    data = await vehicle.vehicle_data()
    raw = data.raw
    charge, climate, drive = raw["charge_state"], raw["climate_state"], raw["drive_state"]
    assert data.battery_level == charge["battery_level"] == 64
    assert data.charge_limit_soc == 85
    assert data.charging_state == charge["charging_state"] == "Disconnected"
    assert data.charger_power_kw == charge["charger_power"]
    assert data.charger_actual_current_a == charge["charger_actual_current"]
    assert data.est_battery_range_mi == charge["est_battery_range"]
    assert data.inside_temp_c == climate["inside_temp"]
    assert data.outside_temp_c == climate["outside_temp"]
    assert data.is_climate_on is False
    assert data.locked is raw["vehicle_state"]["locked"]
    assert data.odometer_mi == pytest.approx(car.odometer_mi, abs=0.01)
    assert (data.latitude, data.longitude) == pytest.approx(car.location)
    assert data.heading == drive["heading"]
    assert data.shift_state is None
    assert data.speed_mph is None
    mode = data.speed_limit_mode
    assert mode is not None
    assert (mode.active, mode.min_limit_mph, mode.max_limit_mph) == (False, 50, 90)
    update = data.software_update
    assert update is not None
    assert update.status == ""
    assert data.gui_temperature_units == "F"
    assert data.vin == car.vin
    assert "secret" not in repr(data)


async def test_vehicle_data_blocks_and_missing_fields(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    vehicle = await vehicle_of(env, car)
    data = await vehicle.vehicle_data(["charge_state"])
    assert data.battery_level is not None
    assert data.inside_temp_c is None
    assert data.latitude is None
    assert data.speed_limit_mode is None
    assert env.sent.calls[-1][1].endswith("/vehicle_data")
    with pytest.raises(ConfigError, match=r"unknown vehicle_data endpoints: nonsense$"):
        await vehicle.vehicle_data(["charge_state", "nonsense"])
    teslapy_style = await vehicle.vehicle_data("charge_state;location_data")  # one string, as TeslaPy takes
    assert teslapy_style.battery_level is not None
    assert teslapy_style.latitude is not None
    assert teslapy_style.inside_temp_c is None
    with pytest.raises(ConfigError, match=r"endpoints: nonsense$"):
        await vehicle.vehicle_data("charge_state, nonsense")


async def test_gui_units_and_last_seen(env: Env) -> None:
    car = env.world.add_vehicle(env.account, units="km", temperature_units="C")
    vehicle = await vehicle_of(env, car)
    data = await vehicle.vehicle_data()
    assert data.uses_km
    assert not data.uses_fahrenheit
    assert data.format_distance(10.0) == "16.1 km"
    assert data.format_distance(10.0, speed=True) == "16.1 km/h"
    assert data.format_temperature(21.0) == "21.0 C"
    stamp = data.timestamp_ms
    assert stamp is not None
    assert data.last_seen(stamp / 1000.0) == "just now"
    assert data.last_seen(stamp / 1000.0 + 300) == "5 minutes ago"
    assert data.last_seen(stamp / 1000.0 + 2 * 86400) == "2 days ago"
    assert ":" in data.gui_time(stamp)


async def test_fahrenheit_and_miles(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    data = await (await vehicle_of(env, car)).vehicle_data(["gui_settings"])
    assert data.format_distance(10.0) == "10.0 mi"
    assert data.format_temperature(20.0) == "68.0 F"
    assert data.format_temperature(None) is None


# --- small reads and helpers --------------------------------------------------------------------


async def test_small_reads(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    vehicle = await vehicle_of(env, car)
    sites = await vehicle.nearby_charging_sites()
    assert "destination_charging" in sites
    assert await vehicle.service_data() == {"service_status": "not_in_service"}
    assert await vehicle.mobile_enabled() is True
    assert isinstance(await vehicle.release_notes(), dict)


async def test_service_data_does_not_wake_a_sleeping_car(env: Env) -> None:
    car = env.world.add_vehicle(env.account, asleep=True, newer_computer=False)
    vehicle = await vehicle_of(env, car)
    assert (await vehicle.service_data())["service_status"] == "not_in_service"
    assert isinstance(await vehicle.charge_history(), dict)
    assert car.wake_count == 0


def test_decode_vin_and_images() -> None:
    decoded = decode_vin("5YJ3E1EA4TF255584")
    assert decoded["model"] == "Model 3"
    assert decoded["year"] == "2026"
    assert decoded["plant"] == "Fremont, CA, USA"
    assert decoded["manufacturer"] == "Tesla"
    with pytest.raises(ConfigError):
        decode_vin("short")
    url = compose_image_url("5YJ3E1EA4TF255584", "MDL3,PMNG", view="STUD_SIDE", size=320)
    assert url.startswith("https://static-assets.tesla.com/v1/compositor/?")
    assert "model=m3" in url
    assert "view=STUD_SIDE" in url
    assert "options=MDL3%2CPMNG" in url
    with pytest.raises(ConfigError):
        compose_image_url("5YJ3E1EA4TF255584", "MDL3", view="BOGUS")
    assert describe_option_codes("MDL3,ZZZZ,PMNG") == ["Model 3", "Paint: Midnight Silver Metallic"]


async def test_vehicle_helpers_use_the_summary(env: Env) -> None:
    car = env.world.add_vehicle(env.account, model="Y")
    vehicle = await vehicle_of(env, car)
    assert vehicle.decode_vin()["model"] == "Model Y"
    assert "model=my" in vehicle.compose_image_url()
    assert "Model Y" in vehicle.option_code_descriptions()
    assert vehicle.vehicle_id == car.vehicle_id
    assert repr(vehicle).startswith("Vehicle(")


# --- commands ---------------------------------------------------------------------------------------

Call = Callable[[Vehicle], Awaitable[Any]]

COMMANDS: list[tuple[str, Call, str, dict[str, Any] | None]] = [
    ("unlock", lambda v: v.unlock(), "door_unlock", None),
    ("lock", lambda v: v.lock(), "door_lock", None),
    ("honk", lambda v: v.honk_horn(), "honk_horn", None),
    ("flash", lambda v: v.flash_lights(), "flash_lights", None),
    ("climate_on", lambda v: v.climate_on(), "auto_conditioning_start", None),
    ("climate_off", lambda v: v.climate_off(), "auto_conditioning_stop", None),
    ("defrost", lambda v: v.set_max_defrost(True), "set_preconditioning_max", {"on": True}),
    ("temps", lambda v: v.set_temps(21.5, 20.0), "set_temps", {"driver_temp": 21.5, "passenger_temp": 20.0}),
    ("temps_one", lambda v: v.set_temps(22.0), "set_temps", {"driver_temp": 22.0, "passenger_temp": 22.0}),
    ("limit", lambda v: v.set_charge_limit(90), "set_charge_limit", {"percent": 90}),
    ("max_range", lambda v: v.charge_max_range(), "charge_max_range", None),
    ("standard", lambda v: v.charge_standard(), "charge_standard", None),
    ("amps", lambda v: v.set_charging_amps(16), "set_charging_amps", {"charging_amps": 16}),
    ("start", lambda v: v.charge_start(), "charge_start", None),
    ("stop", lambda v: v.charge_stop(), "charge_stop", None),
    ("port_open", lambda v: v.charge_port_door_open(), "charge_port_door_open", None),
    ("port_close", lambda v: v.charge_port_door_close(), "charge_port_door_close", None),
    (
        "scheduled",
        lambda v: v.set_scheduled_charging(True, 120),
        "set_scheduled_charging",
        {"enable": True, "time": 120},
    ),
    (
        "departure",
        lambda v: v.set_scheduled_departure(True, 450, preconditioning_enabled=True),
        "set_scheduled_departure",
        {"enable": True, "departure_time": 450, "preconditioning_enabled": True},
    ),
    ("sunroof", lambda v: v.sun_roof_control("vent"), "sun_roof_control", {"state": "vent"}),
    ("vent", lambda v: v.window_control("vent"), "window_control", {"command": "vent", "lat": 0, "lon": 0}),
    (
        "close",
        lambda v: v.window_control("close", 37.4925, -121.9447),
        "window_control",
        {"command": "close", "lat": 37.4925, "lon": -121.9447},
    ),
    ("trunk", lambda v: v.actuate_trunk("rear"), "actuate_trunk", {"which_trunk": "rear"}),
    ("remote_start", lambda v: v.remote_start_drive(), "remote_start_drive", None),
    (
        "homelink",
        lambda v: v.trigger_homelink(37.4925, -121.9447),
        "trigger_homelink",
        {"lat": 37.4925, "lon": -121.9447},
    ),
    ("sentry", lambda v: v.set_sentry_mode(True), "set_sentry_mode", {"on": True}),
    ("valet", lambda v: v.set_valet_mode(True, "1234"), "set_valet_mode", {"on": True, "password": "1234"}),
    ("valet_pin", lambda v: v.reset_valet_pin(), "reset_valet_pin", None),
    ("speed_set", lambda v: v.speed_limit_set_limit(65), "speed_limit_set_limit", {"limit_mph": 65}),
    ("speed_on", lambda v: v.speed_limit_activate("4321"), "speed_limit_activate", {"pin": "4321"}),
    ("speed_off", lambda v: v.speed_limit_deactivate("4321"), "speed_limit_deactivate", {"pin": "4321"}),
    ("speed_clear", lambda v: v.speed_limit_clear_pin("4321"), "speed_limit_clear_pin", {"pin": "4321"}),
    (
        "update",
        lambda v: v.schedule_software_update(60),
        "schedule_software_update",
        {"offset_sec": 60},
    ),
    ("update_cancel", lambda v: v.cancel_software_update(), "cancel_software_update", None),
    (
        "seat",
        lambda v: v.remote_seat_heater_request(1, 3),
        "remote_seat_heater_request",
        {"heater": 1, "level": 3},
    ),
    (
        "wheel",
        lambda v: v.remote_steering_wheel_heater_request(True),
        "remote_steering_wheel_heater_request",
        {"on": True},
    ),
    ("keeper", lambda v: v.set_climate_keeper_mode(2), "set_climate_keeper_mode", {"climate_keeper_mode": 2}),
    (
        "cop",
        lambda v: v.set_cabin_overheat_protection(True, fan_only=True),
        "set_cabin_overheat_protection",
        {"on": True, "fan_only": True},
    ),
    ("bioweapon", lambda v: v.set_bioweapon_mode(True), "set_bioweapon_mode", {"on": True}),
    ("play", lambda v: v.media_toggle_playback(), "media_toggle_playback", None),
    ("next", lambda v: v.media_next_track(), "media_next_track", None),
    ("prev", lambda v: v.media_prev_track(), "media_prev_track", None),
    ("next_fav", lambda v: v.media_next_fav(), "media_next_fav", None),
    ("prev_fav", lambda v: v.media_prev_fav(), "media_prev_fav", None),
    ("vol_up", lambda v: v.media_volume_up(), "media_volume_up", None),
    ("vol_down", lambda v: v.media_volume_down(), "media_volume_down", None),
    ("volume", lambda v: v.adjust_volume(5), "adjust_volume", {"volume": 5}),
    ("name", lambda v: v.set_vehicle_name("Zappy"), "set_vehicle_name", {"vehicle_name": "Zappy"}),
]

# Reasons the twin gives for a well-formed command in a state where it cannot act (not a bad body).
STATE_REASONS = {
    "disconnected",
    "not_charging",
    "no_update_available",
    "no_update_scheduled",
    "not_supported",
}


@pytest.mark.parametrize(("label", "call", "path", "body"), COMMANDS, ids=[c[0] for c in COMMANDS])
async def test_command_sends_the_right_path_and_body(
    env: Env, label: str, call: Call, path: str, body: dict[str, Any] | None
) -> None:
    car = env.world.add_vehicle(env.account)
    car.user_present = True
    vehicle = await vehicle_of(env, car)
    if label in ("speed_off",):
        await vehicle.speed_limit_activate("4321")
    env.sent.calls.clear()
    reason = ""
    try:
        await call(vehicle)
    except CommandFailed as exc:
        reason = exc.reason
    assert reason in {"", *STATE_REASONS}, reason
    ((method, sent_path, sent_body),) = env.sent.calls
    assert method == "POST"
    assert sent_path == f"api/1/vehicles/{car.id_s}/command/{path}"
    assert sent_body == body


async def test_every_catalogue_command_has_a_method() -> None:
    from teslalink.cloud.endpoints import catalogue

    covered = {path for _, _, path, _ in COMMANDS}
    commands = {e.path.rsplit("/", 1)[1] for e in catalogue().values() if "/command/" in e.path}
    # In the catalogue under TeslaPy's names for api(NAME); no source we have gives their arguments.
    api_only = {
        "remote_boombox", "share", "get_active_route", "set_cop_temp", "get_managed_charging_sites",
        "add_managed_charging_site", "remove_managed_charging_site", "update_charge_on_solar_feature",
        "get_charge_on_solar_feature", "upcoming_calendar_entries", "take_drivenote", "navigation_sc_request",
        "navigation_gps_request", "navigation_waypoints_request", "remote_auto_seat_climate_request",
        "remote_seat_cooler_request", "remote_auto_steering_wheel_heat_climate_request",
        "remote_steering_wheel_heat_level_request", "dashcam_save_clip",
    }  # fmt: skip
    assert commands - covered == api_only


BAD_ARGUMENTS: list[tuple[str, Call]] = [
    ("limit_low", lambda v: v.set_charge_limit(49)),
    ("limit_high", lambda v: v.set_charge_limit(101)),
    ("limit_fraction", lambda v: v.set_charge_limit(80.5)),  # type: ignore[arg-type]
    ("amps_high", lambda v: v.set_charging_amps(49)),
    ("amps_negative", lambda v: v.set_charging_amps(-1)),
    ("amps_bool", lambda v: v.set_charging_amps(True)),
    ("temps_low", lambda v: v.set_temps(10.0)),
    ("temps_passenger_high", lambda v: v.set_temps(20.0, 30.0)),
    ("speed_low", lambda v: v.speed_limit_set_limit(49)),
    ("speed_high", lambda v: v.speed_limit_set_limit(91)),
    ("pin_short", lambda v: v.speed_limit_activate("123")),
    ("pin_letters", lambda v: v.speed_limit_deactivate("12a4")),
    ("pin_int", lambda v: v.speed_limit_clear_pin(1234)),  # type: ignore[arg-type]
    ("valet_pin", lambda v: v.set_valet_mode(True, "12345")),
    ("seat_heater", lambda v: v.remote_seat_heater_request(6, 1)),
    ("seat_level", lambda v: v.remote_seat_heater_request(0, 4)),
    ("window_close_no_position", lambda v: v.window_control("close")),
    ("window_bad", lambda v: v.window_control("open")),
    ("trunk", lambda v: v.actuate_trunk("side")),
    ("sunroof", lambda v: v.sun_roof_control("wide")),
    ("homelink_lat", lambda v: v.trigger_homelink(91.0, 0.0)),
    ("scheduled_no_time", lambda v: v.set_scheduled_charging(True)),
    ("scheduled_time", lambda v: v.set_scheduled_charging(True, 1440)),
    ("departure_no_time", lambda v: v.set_scheduled_departure(True)),
    ("sentry", lambda v: v.set_sentry_mode("yes")),  # type: ignore[arg-type]
    ("keeper", lambda v: v.set_climate_keeper_mode(4)),
    ("volume", lambda v: v.adjust_volume(12)),
    ("name", lambda v: v.set_vehicle_name("  ")),
    ("update", lambda v: v.schedule_software_update(-1)),
]


@pytest.mark.parametrize(("label", "call"), BAD_ARGUMENTS, ids=[b[0] for b in BAD_ARGUMENTS])
async def test_bad_arguments_raise_before_sending(env: Env, label: str, call: Call) -> None:
    car = env.world.add_vehicle(env.account)
    vehicle = await vehicle_of(env, car)
    env.sent.calls.clear()
    before = dict(env.world.accounting.totals)
    with pytest.raises(ConfigError) as caught:
        await call(vehicle)
    assert env.sent.calls == []
    assert dict(env.world.accounting.totals) == before
    if label.startswith("pin"):
        assert "123" not in str(caught.value)


async def test_command_failed_carries_the_reason(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    car.plug_into(env.world.add_wall_connector())
    env.world.advance(30.0)
    vehicle = await vehicle_of(env, car)
    assert (await vehicle.vehicle_data(["charge_state"])).charging_state == "Charging"
    with pytest.raises(CommandFailed) as caught:
        await vehicle.charge_port_door_close()
    assert caught.value.reason == "cable_connected"
    assert caught.value.command == "CHARGE_PORT_DOOR_CLOSE"


async def test_already_as_asked_is_a_success_that_keeps_the_reason(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    car.plug_into(env.world.add_wall_connector())
    env.world.advance(30.0)
    vehicle = await vehicle_of(env, car)
    started = await vehicle.charge_start()
    assert (started.already, started.reason, started["result"]) == (True, "is_charging", False)
    stopped = await vehicle.charge_stop()
    assert (stopped.already, stopped.reason, stopped["result"]) == (False, "", True)
    again = await vehicle.charge_stop()
    assert (again.already, again.reason) == (True, "not_charging")
    limit = (await vehicle.vehicle_data(["charge_state"])).charge_limit_soc
    assert limit is not None
    same = await vehicle.set_charge_limit(limit)
    assert (same.already, same.reason, same.command) == (True, "already_set", "CHANGE_CHARGE_LIMIT")
    assert (await vehicle.speed_limit_deactivate("1234")).reason == "not_active"
    assert (await vehicle.cancel_software_update()).already is True
    car.unplug()
    with pytest.raises(CommandFailed, match="disconnected"):
        await vehicle.charge_start()


async def test_speed_limit_round_trip(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    vehicle = await vehicle_of(env, car)
    await vehicle.speed_limit_set_limit(70)
    await vehicle.speed_limit_activate("2468")
    mode = (await vehicle.vehicle_data(["vehicle_state"])).speed_limit_mode
    assert mode is not None
    assert (mode.active, mode.pin_code_set, mode.current_limit_mph) == (True, True, 70.0)
    with pytest.raises(CommandFailed) as caught:
        await vehicle.speed_limit_deactivate("1111")
    assert caught.value.reason == "incorrect_pin"
    await vehicle.speed_limit_deactivate("2468")
    await vehicle.speed_limit_clear_pin("2468")


async def test_media_needs_a_user(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    vehicle = await vehicle_of(env, car)
    with pytest.raises(CommandFailed) as caught:
        await vehicle.media_next_track()
    assert caught.value.reason == "user_not_present"


async def test_wake_up_of_an_online_car_returns_at_once(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    vehicle = await vehicle_of(env, car)
    seen: list[str] = []
    await vehicle.wake_up(progress=lambda state, _: seen.append(state))
    assert seen == ["online"]
    assert sum(p.endswith(car.id_s) for _, p, _ in env.sent.calls) == 0


async def test_stream_uses_the_api_urls_and_tokens(env: Env) -> None:
    car = env.world.add_vehicle(env.account)
    car.drive("loop_10km")
    urls = CloudUrls(api=env.cloud.owner_api, streaming=env.cloud.streaming)
    async with TeslaApi(urls, env.api.tokens) as api:
        (vehicle,) = [v for v in await api.vehicles() if v.id_s == car.id_s]
        async with vehicle.stream(max_failures=1) as stream:
            update = await asyncio.wait_for(anext(aiter(stream)), 30.0)  # a hang guard
    assert update.vehicle_id == str(car.vehicle_id)
    assert update.shift_state == "D"
    nameless = Vehicle(api, {"id": 1, "id_s": "1", "display_name": "No id"})
    with pytest.raises(ConfigError, match="No id has no vehicle_id"):
        nameless.stream()
