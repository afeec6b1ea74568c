"""Compat: TeslaPy 2.9.2, used unchanged, against the whole twin cloud (`serve_cloud`) on loopback.

TeslaPy is not modified, wrapped or patched. Only its module globals BASE_URL, SSO_BASE_URL and
STREAMING_BASE_URL are pointed at the twin, and OAUTHLIB_INSECURE_TRANSPORT=1 is set (TeslaPy
sets it itself on import; we set it again through monkeypatch) so that oauthlib accepts plain
http on loopback. Everything else is TeslaPy's public API as its README shows it: an
`authenticator` callable, `cache_loader`/`cache_dumper`, `fetch_token`, `refresh_token`,
`vehicle_list`, `battery_list`, `get_vehicle_data`, `sync_wake_up`, `command`, `stream`...

How the pieces run:

* The twin's event loop runs in a background thread (`ThreadedTwin`); TeslaPy is synchronous and
  runs in the test's thread (and `Vehicle.stream` in a thread of its own). Whatever the test
  does to the world (advance the clock, read a car, set a fault) runs on the twin's loop through
  `ThreadedTwin.call`, between two requests, never concurrently with a handler.
* The world clock stands still (speed 0) and moves only when a test advances it, so a seeded
  world replays the same cars, sites, tokens and passcodes. The one place where TeslaPy itself
  waits on the wall clock is `Vehicle.sync_wake_up` (`time.sleep(int(interval))`): there a
  ticker thread advances the world through the admin endpoint POST /_twin/advance while TeslaPy
  sleeps (see `test_sync_wake_up_wakes_a_sleeping_car`).
* The world is the demo world of `populate_demo` (what `teslalink sim all` serves): demo1 (na,
  password only), demo2 (na, TOTP MFA) and demo3 (cn), each with a car charging on its Wall
  Connector, a sleeping car, and a solar + Powerwall site. demo2 gets one more car, parked and
  online, with metric units, to drive and stream.
* Our own HTTP calls (the authenticator, the admin endpoint) carry a timeout; TeslaPy's carry
  `Tesla(timeout=...)` (the Owner API, and its automatic refresh, which reuses the request's
  arguments) and an explicit `timeout=` where its API takes one (fetch_token, refresh_token).
  Only TeslaPy's region probe (the GET of the authorize URL with login_hint inside
  `authorization_url`) goes without one: TeslaPy offers no way to give it one.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from teslalink.simulator import Car, ThreadedTwin, World
from teslalink.simulator.demo import DemoAccount, populate_demo
from teslalink.simulator.serve import Cloud
from teslalink.simulator.sso import jwt
from teslalink.simulator.sso.tokens import InvalidToken
from teslalink.simulator.sso.totp import totp

teslapy = pytest.importorskip("teslapy")

T = TypeVar("T")

START = 1_700_000_000.0
SEED = 23
TIMEOUT = 30.0
"""Seconds: every HTTP call of ours, every wait for another thread (a hang guard: each takes
milliseconds, and a loaded 2-core machine must not fail them)."""

ACCESS_LIFETIME_S = 28_800  # what the twin's SSO (and Tesla's) gives an access token


# --- the twin in a background thread -----------------------------------------------------------------


@dataclass
class Twin:
    """The running twin and the handles a test needs on it."""

    server: ThreadedTwin
    cloud: Cloud
    accounts: list[DemoAccount]
    driver: Car  # demo2's third car: parked, online, km and °C

    @property
    def world(self) -> World:
        return self.server.world

    @property
    def owner(self) -> DemoAccount:
        """demo2: na, with TOTP MFA; owns the charging car, the sleeper, the driver and a Powerwall."""
        return self.accounts[1]

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        return self.server.call(fn, *args)

    def advance(self, seconds: float) -> None:
        self.call(self.world.advance, seconds)

    def now(self) -> float:
        return self.call(self.world.now)


@pytest.fixture
def twin(monkeypatch: pytest.MonkeyPatch) -> Iterator[Twin]:
    """The demo cloud on loopback, TeslaPy's base URLs pointed at it; stopped afterwards."""
    world = World(seed=SEED, speed=0.0, start=START)
    accounts = populate_demo(world, accounts=3, cars_per_account=2, sites=1, chargers=1)
    driver = world.add_vehicle(
        world.account(accounts[1].email), model="3", battery_level=80.0, units="km", temperature_units="C"
    )
    world.advance(60)  # past "Starting": the first car of each account charges on its Wall Connector
    server = ThreadedTwin(world, accounts=accounts, timeout_s=TIMEOUT)
    try:
        cloud = server.start().cloud
        monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
        monkeypatch.setattr(teslapy, "BASE_URL", cloud.owner_api)
        monkeypatch.setattr(teslapy, "SSO_BASE_URL", cloud.sso["na"])
        monkeypatch.setattr(teslapy, "STREAMING_BASE_URL", cloud.streaming.removesuffix("streaming/"))
        yield Twin(server, cloud, accounts, driver)
    finally:
        server.stop()


# --- signing in like a person: the SSO form, the authenticator app -------------------------------------


class LoginRefused(Exception):
    """The SSO did not let our authenticator through; the message is the page's error."""


class _Page(HTMLParser):
    """The form of an SSO page: its action, every input's value, the error shown."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.errors: list[str] = []
        self._error_depth = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action = attr.get("action", "")
        elif tag == "input" and attr.get("name"):
            self.fields[attr["name"]] = attr.get("value", "")
        elif "error" in attr.get("class", "").split():
            self._error_depth = 1

    def handle_endtag(self, tag: str) -> None:
        self._error_depth = 0

    def handle_data(self, data: str) -> None:
        if self._error_depth and data.strip():
            self.errors.append(data.strip())


@dataclass
class FormLogin:
    """A TeslaPy `authenticator`: fills the SSO form and the MFA step with requests, returns the redirect.

    `passcodes` is what the person types into the MFA step, in order ("right": the authenticator
    app's code at the world's present, "wrong": a code one off from it); after the last one the
    form is posted, and a page instead of the redirect is a `LoginRefused`.
    """

    twin: Twin
    email: str
    password: str
    totp_secret: str | None = None
    passcodes: tuple[str, ...] = ("right",)
    urls: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)

    def __call__(self, url: str) -> str:
        self.urls.append(url)
        with requests.Session() as browser:
            page = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
            self.steps.append(f"GET authorize {page.status_code}")
            assert page.status_code == 200, page.text
            form = _Page(page.text)
            fields = {**form.fields, "identity": self.email, "credential": self.password}
            action = urljoin(url, form.action)
            answer = browser.post(action, data=fields, allow_redirects=False, timeout=TIMEOUT)
            self.steps.append(f"POST credentials {answer.status_code}")
            if answer.status_code == 200 and _Page(answer.text).fields.get("_phase") == "mfa":
                answer = self._second_factor(browser, url, action, fields["transaction_id"])
            if answer.status_code != 302:
                raise LoginRefused(" ".join(_Page(answer.text).errors) or f"HTTP {answer.status_code}")
            return answer.headers["Location"]

    def _second_factor(
        self, browser: requests.Session, url: str, action: str, transaction_id: str
    ) -> requests.Response:
        assert self.totp_secret is not None, "the SSO asks for a passcode: the account has MFA"
        base = urljoin(url, "/")
        factors = browser.get(
            base + "oauth2/v3/authorize/mfa/factors",
            params={"transaction_id": transaction_id},
            timeout=TIMEOUT,
        )
        factors.raise_for_status()
        (factor,) = factors.json()["data"]
        self.steps.append(f"GET factors {factor['factorType']}")
        for kind in self.passcodes:
            passcode = totp(self.totp_secret, self.twin.now())
            if kind == "wrong":
                passcode = f"{(int(passcode) + 1) % 1_000_000:06d}"
            verdict = browser.post(
                base + "oauth2/v3/authorize/mfa/verify",
                json={"transaction_id": transaction_id, "factor_id": factor["id"], "passcode": passcode},
                timeout=TIMEOUT,
            )
            verdict.raise_for_status()
            self.valid.append(verdict.json()["data"]["valid"])
            self.steps.append(f"POST verify valid={self.valid[-1]}")
            if self.valid[-1]:
                break
        answer = browser.post(
            action, data={"transaction_id": transaction_id}, allow_redirects=False, timeout=TIMEOUT
        )
        self.steps.append(f"POST transaction {answer.status_code}")
        return answer


class TokenCache:
    """TeslaPy's cache_loader / cache_dumper over a dict (copies both ways, as a file would)."""

    def __init__(self, saved: dict[str, Any] | None = None) -> None:
        self.saved: dict[str, Any] = saved or {}
        self.dumps = 0

    def load(self) -> dict[str, Any]:
        return copy.deepcopy(self.saved)

    def dump(self, cache: dict[str, Any]) -> None:
        self.saved = copy.deepcopy(cache)
        self.dumps += 1


def open_tesla(email: str, cache: TokenCache, authenticator: FormLogin | None = None) -> Any:
    return teslapy.Tesla(
        email,
        authenticator=authenticator,
        cache_loader=cache.load,
        cache_dumper=cache.dump,
        timeout=TIMEOUT,
    )


def login(twin: Twin, account: DemoAccount, **options: Any) -> tuple[Any, FormLogin, TokenCache]:
    """A Tesla signed in through the SSO form (the caller closes it)."""
    authenticator = FormLogin(twin, account.email, account.password, account.totp_secret, **options)
    cache = TokenCache()
    tesla = open_tesla(account.email, cache, authenticator)
    try:
        tesla.fetch_token(timeout=TIMEOUT)
    except BaseException:
        tesla.close()
        raise
    return tesla, authenticator, cache


@pytest.fixture
def tesla(twin: Twin) -> Iterator[Any]:
    """TeslaPy signed in as the demo owner (demo2, with MFA)."""
    session, _, _ = login(twin, twin.owner)
    with session:
        yield session


def _claims(token: str) -> dict[str, Any]:
    return jwt.peek(token)[1]


def _response(error: requests.HTTPError) -> requests.Response:
    """The answer behind TeslaPy's HTTPError (its reason phrase rewritten from the error body)."""
    assert error.response is not None
    return error.response


def _by_id(vehicles: list[Any], car: Car) -> Any:
    return next(v for v in vehicles if v["id"] == car.id)


# --- 1. signing in -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "region", "amr", "steps"),
    [
        pytest.param(0, "na", ["pwd"], ["GET authorize 200", "POST credentials 302"], id="na-password"),
        pytest.param(
            1,
            "na",
            ["pwd", "mfa", "otp"],
            [
                "GET authorize 200",
                "POST credentials 200",
                "GET factors token:software",
                "POST verify valid=True",
                "POST transaction 302",
            ],
            id="na-mfa",
        ),
        pytest.param(2, "cn", ["pwd"], ["GET authorize 200", "POST credentials 302"], id="cn-region"),
    ],
)
def test_login_through_the_sso_form(
    twin: Twin, index: int, region: str, amr: list[str], steps: list[str]
) -> None:
    account = twin.accounts[index]
    assert account.region == region
    tesla, authenticator, cache = login(twin, account)
    with tesla:
        assert tesla.authorized
        assert authenticator.steps == steps
        # TeslaPy starts at its SSO_BASE_URL (the na twin); the login_hint probe moves a cn
        # account to the cn twin before the authenticator sees the URL.
        (url,) = authenticator.urls
        assert url.startswith(twin.cloud.sso[region] + "oauth2/v3/authorize?")
        query = parse_qs(urlsplit(url).query)
        assert query["login_hint"] == [account.email]
        assert query["code_challenge_method"] == ["S256"]
        assert tesla.sso_base_url == twin.cloud.sso[region]
        claims = _claims(tesla.token["access_token"])
        assert claims["iss"] == twin.cloud.sso[region] + "oauth2/v3"
        assert claims["amr"] == amr
        assert tesla.token["expires_in"] == ACCESS_LIFETIME_S
        assert cache.dumps == 1
        assert cache.saved[account.email]["url"] == twin.cloud.sso[region]
        assert cache.saved[account.email]["sso"]["refresh_token"] == tesla.token["refresh_token"]
        # the Owner API takes the token: the account's own cars, in order
        cars = twin.call(lambda: twin.world.vehicles_of(twin.world.account(account.email)))
        assert [v["vin"] for v in tesla.vehicle_list()] == [car.vin for car in cars]

        # a restart reads the cache: no second login
        with open_tesla(account.email, cache) as again:
            assert again.authorized
            assert again.sso_base_url == twin.cloud.sso[region]
            assert [v["id"] for v in again.vehicle_list()] == [car.id for car in cars]
            again.refresh_token(timeout=TIMEOUT)  # at the account's region, where the token came from
            assert _claims(again.token["access_token"])["iss"] == twin.cloud.sso[region] + "oauth2/v3"
            assert cache.saved[account.email]["sso"]["access_token"] == again.token["access_token"]


def test_wrong_passcode_then_right_one(twin: Twin) -> None:
    tesla, authenticator, _ = login(twin, twin.owner, passcodes=("wrong", "right"))
    with tesla:
        assert authenticator.valid == [False, True]
        assert tesla.authorized
        assert _claims(tesla.token["access_token"])["amr"] == ["pwd", "mfa", "otp"]


def test_wrong_passcode_only_leaves_teslapy_signed_out(twin: Twin) -> None:
    owner = twin.owner
    authenticator = FormLogin(twin, owner.email, owner.password, owner.totp_secret, passcodes=("wrong",))
    cache = TokenCache()
    with open_tesla(owner.email, cache, authenticator) as tesla:
        # the authenticator's exception goes through TeslaPy unchanged
        with pytest.raises(LoginRefused, match="Enter the passcode from your authenticator app"):
            tesla.fetch_token(timeout=TIMEOUT)
        assert authenticator.valid == [False]
        assert authenticator.steps[-1] == "POST transaction 200"  # the MFA page again, no code
        assert not tesla.authorized
        assert cache.dumps == 0
    assert twin.call(twin.world.auth.logins.failures, owner.email) == 1  # counts towards the lock


def test_refresh_token_near_expiry(twin: Twin, tesla: Any) -> None:
    first = dict(tesla.token)
    twin.advance(ACCESS_LIFETIME_S - 120)  # two minutes left on the access token
    tesla.refresh_token(timeout=TIMEOUT)
    assert tesla.token["access_token"] != first["access_token"]
    assert tesla.token["refresh_token"] != first["refresh_token"]  # rotated, as Tesla does since 2024
    twin.advance(300)  # the first access token has expired; the new one has not
    (car, _, driver) = tesla.vehicle_list()
    assert (car["vin"], driver["vin"]) == (twin.owner.vehicles[0].vin, twin.driver.vin)
    with pytest.raises(InvalidToken) as refused:
        twin.call(twin.world.auth.verify_access_token, first["access_token"])
    assert refused.value.reason == "expired"


def test_restart_with_an_expired_cache_refreshes_by_itself(twin: Twin, tesla: Any) -> None:
    """TeslaPy's auto-refresh (requests-oauthlib's) against the twin's token endpoint.

    TeslaPy keeps `expires_at` in real time; the twin's clock is the world's. Eight world hours
    pass, and the cached `expires_at` is set to what the real clock would show eight hours on.
    """
    owner = twin.owner
    cache = TokenCache({owner.email: {"url": tesla.sso_base_url, "sso": dict(tesla.token)}})
    old = dict(tesla.token)
    twin.advance(ACCESS_LIFETIME_S + 60)
    cache.saved[owner.email]["sso"]["expires_at"] = time.time() - 60
    with open_tesla(owner.email, cache) as restarted:  # no authenticator: it must not be needed
        assert [v["id"] for v in restarted.vehicle_list()][:1] == [owner.vehicles[0].id]
        assert restarted.token["access_token"] != old["access_token"]
        assert restarted.token["expires_at"] > time.time() + ACCESS_LIFETIME_S - 60
    assert cache.saved[owner.email]["sso"]["refresh_token"] == restarted.token["refresh_token"]


# --- 2. listing products; a sleeping car stays asleep --------------------------------------------------


def test_vehicle_and_battery_lists_leave_a_sleeping_car_asleep(twin: Twin, tesla: Any) -> None:
    charging, sleeper = twin.owner.vehicles
    wakes_before = twin.call(lambda: sleeper.wake_count)
    assert twin.call(lambda: sleeper.state) == "asleep"

    vehicles = tesla.vehicle_list()
    assert [v["id"] for v in vehicles] == [charging.id, sleeper.id, twin.driver.id]
    assert [v["state"] for v in vehicles] == ["online", "asleep", "online"]
    asleep = _by_id(vehicles, sleeper)
    assert asleep["vin"] == sleeper.vin
    assert asleep.order["vin"] == sleeper.vin  # TeslaPy's order lookup (api/1/users/orders)
    assert asleep.decode_vin()["make"] == "Tesla Model S"
    assert asleep.get_vehicle_summary()["state"] == "asleep"
    assert not asleep.available(max_age=0)

    (battery,) = tesla.battery_list()
    (site,) = twin.owner.sites
    assert battery["energy_site_id"] == site.energy_site_id
    assert battery["resource_type"] == "battery"
    assert tesla.solar_list() == []  # the site has a Powerwall: listed as a battery
    (charger,) = tesla.wall_connector_list()
    assert charger["energy_site_id"] == twin.owner.chargers[0].energy_site_id

    assert twin.call(lambda: sleeper.state) == "asleep"
    assert twin.call(lambda: sleeper.wake_count) == wakes_before


def test_vehicle_data_of_a_sleeping_car_is_408_with_the_reason(twin: Twin, tesla: Any) -> None:
    sleeper = twin.owner.vehicles[1]
    asleep = _by_id(tesla.vehicle_list(), sleeper)
    with pytest.raises(requests.HTTPError) as raised:
        asleep.get_vehicle_data()
    response = _response(raised.value)
    assert response.status_code == 408
    # TeslaPy joins the error body's values into the reason phrase
    assert response.reason == 'vehicle unavailable: {:error=>"vehicle unavailable:"}'
    assert str(raised.value).startswith(
        '408 Client Error: vehicle unavailable: {:error=>"vehicle unavailable:"}'
    )
    assert twin.call(lambda: sleeper.state) == "asleep"  # vehicle_data is not a wake_up


def test_expired_token_is_a_401_from_the_owner_api(twin: Twin, tesla: Any) -> None:
    # TeslaPy's own expiry bookkeeping is in real time, so it sends the token the world has expired
    twin.advance(ACCESS_LIFETIME_S + 1)
    with pytest.raises(requests.HTTPError) as raised:
        tesla.vehicle_list()
    response = _response(raised.value)
    assert response.status_code == 401
    assert response.reason == "token expired (401)"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    tesla.refresh_token(timeout=TIMEOUT)  # what a client does next
    assert len(tesla.vehicle_list()) == 3


# --- 3. vehicle_data -----------------------------------------------------------------------------------


def test_vehicle_data_of_an_online_car(twin: Twin, tesla: Any) -> None:
    charging = twin.owner.vehicles[0]
    car = _by_id(tesla.vehicle_list(), charging)
    data = car.get_vehicle_data()
    assert data is car  # TeslaPy merges the answer into the Vehicle
    assert {"charge_state", "climate_state", "drive_state", "gui_settings", "vehicle_state"} <= set(car)
    assert car["charge_state"]["charging_state"] == "Charging"
    assert car["charge_state"]["battery_level"] == round(twin.call(lambda: charging.battery_level))
    assert car["drive_state"]["latitude"] == pytest.approx(charging.home[0], abs=1e-3)  # location_data
    assert car["vehicle_state"]["vehicle_name"] == charging.display_name
    # the demo cars show miles and °F; TeslaPy converts from the API's miles and °C
    assert car["gui_settings"]["gui_distance_units"] == "mi/hr"
    assert car.dist_units(10) == "10.0 mi"
    assert car.dist_units(30, speed=True) == "30.0 mph"
    assert car.temp_units(20) == "68.0 F"
    assert car.temp_units(car["climate_state"]["outside_temp"]) is not None
    # last_seen compares the car's (world) timestamp with the real clock: the world is in 2023
    assert car.last_seen().endswith("years ago")

    metric = _by_id(tesla.vehicle_list(), twin.driver).get_vehicle_data()
    assert metric["gui_settings"]["gui_distance_units"] == "km/hr"
    assert metric["gui_settings"]["gui_temperature_units"] == "C"
    assert metric.dist_units(10) == "16.1 km"
    assert metric.dist_units(10, speed=True) == "16.1 km/h"
    assert metric.temp_units(20) == "20.0 C"


# --- 4. waking a car -----------------------------------------------------------------------------------


@contextlib.contextmanager
def world_ticking(twin: Twin, world_seconds: float, every_real_s: float) -> Iterator[list[int]]:
    """Advance the world by `world_seconds` every `every_real_s` real seconds (POST /_twin/advance)."""
    stop = threading.Event()
    ticks: list[int] = [0]
    failures: list[BaseException] = []

    def tick() -> None:
        with requests.Session() as admin:
            while not stop.wait(every_real_s):
                try:
                    admin.post(
                        twin.cloud.admin + "advance", json={"seconds": world_seconds}, timeout=TIMEOUT
                    ).raise_for_status()
                except requests.RequestException as exc:
                    failures.append(exc)
                    return
                ticks[0] += 1

    ticker = threading.Thread(target=tick, name="world-ticker", daemon=True)
    ticker.start()
    try:
        yield ticks
    finally:
        stop.set()
        ticker.join(TIMEOUT)
        assert not ticker.is_alive()
        assert not failures, failures


def test_sync_wake_up_wakes_a_sleeping_car(twin: Twin, tesla: Any) -> None:
    # TeslaPy polls with time.sleep(int(interval)), 2 s real at first. Patching its sleep would be
    # changing TeslaPy, and a world at speed > 0 would let every car's clock run for the whole
    # test. So the world stays at speed 0 and a ticker advances it 2 s every 50 ms real (40 world
    # seconds per real second) while TeslaPy sleeps: its first 2 s sleep covers 80 world seconds,
    # more than the twin's 10-30 s boot, so the first poll sees the car online. Cost: 2 s real.
    sleeper = twin.owner.vehicles[1]
    asleep = _by_id(tesla.vehicle_list(), sleeper)
    wakes = twin.call(lambda: sleeper.wake_reasons)
    assert asleep["state"] == "asleep"
    started = time.monotonic()
    with world_ticking(twin, world_seconds=2.0, every_real_s=0.05) as ticks:
        asleep.sync_wake_up()  # TeslaPy's defaults: timeout 60, interval 2, backoff 1.15
    elapsed = time.monotonic() - started
    assert asleep["state"] == "online"
    assert elapsed >= 2.0  # TeslaPy slept at least once, on the wall clock
    assert ticks[0] * 2.0 >= 10.0  # and the world moved while it slept
    assert twin.call(lambda: sleeper.state) == "online"
    woke = twin.call(lambda: sleeper.wake_reasons)
    assert woke.get("wake_up", 0) == wakes.get("wake_up", 0) + 1
    assert asleep.get_vehicle_data()["charge_state"]["battery_level"] == 70


# --- 5. commands ---------------------------------------------------------------------------------------


def test_commands_succeed_and_fail_with_the_cars_reasons(twin: Twin, tesla: Any) -> None:
    charging = twin.owner.vehicles[0]
    car = _by_id(tesla.vehicle_list(), charging)

    assert car.command("CLIMATE_ON") is True
    assert car.command("CHANGE_CHARGE_LIMIT", percent=90) is True
    assert car.command("CHARGING_AMPS", charging_amps=16) is True
    data = car.get_vehicle_data()
    assert data["climate_state"]["is_climate_on"] is True
    assert data["charge_state"]["charge_limit_soc"] == 90
    assert data["charge_state"]["charge_current_request"] == 16
    assert twin.call(lambda: charging.charge_limit_soc) == 90

    with pytest.raises(teslapy.VehicleError, match=r"^is_charging$"):
        car.command("START_CHARGE")
    with pytest.raises(teslapy.VehicleError, match=r"^already_set$"):
        car.command("CHANGE_CHARGE_LIMIT", percent=90)
    with pytest.raises(teslapy.VehicleError, match=r"^user_not_present$"):
        car.command("MEDIA_TOGGLE_PLAYBACK")

    def get_in() -> None:
        charging.user_present = True

    twin.call(get_in)
    assert car.command("MEDIA_TOGGLE_PLAYBACK") is True
    assert car.get_vehicle_data()["vehicle_state"]["media_info"]["media_playback_status"] == "Playing"


def test_speed_limit_mode_sequence(twin: Twin, tesla: Any) -> None:
    car = _by_id(tesla.vehicle_list(), twin.owner.vehicles[0])
    steps: list[tuple[str, dict[str, Any], str | None, tuple[bool, float, bool]]] = [
        # command, parameters, the car's reason (None: success), then (active, limit, pin set)
        ("SPEED_LIMIT_SET_LIMIT", {"limit_mph": 65}, None, (False, 65.0, False)),
        ("SPEED_LIMIT_ACTIVATE", {"pin": "1234"}, None, (True, 65.0, True)),
        ("SPEED_LIMIT_SET_LIMIT", {"limit_mph": 70}, "speed_limit_active", (True, 65.0, True)),
        ("SPEED_LIMIT_DEACTIVATE", {"pin": "4321"}, "incorrect_pin", (True, 65.0, True)),
        ("SPEED_LIMIT_DEACTIVATE", {"pin": "1234"}, None, (False, 65.0, True)),
        ("SPEED_LIMIT_CLEAR_PIN", {"pin": "1234"}, None, (False, 65.0, False)),
    ]
    mode = car.get_vehicle_data()["vehicle_state"]["speed_limit_mode"]
    assert (mode["active"], mode["pin_code_set"]) == (False, False)
    for name, params, reason, expected in steps:
        if reason is None:
            assert car.command(name, **params) is True, name
        else:
            with pytest.raises(teslapy.VehicleError) as refused:
                car.command(name, **params)
            assert str(refused.value) == reason, name
        mode = car.get_vehicle_data()["vehicle_state"]["speed_limit_mode"]
        assert (mode["active"], mode["current_limit_mph"], mode["pin_code_set"]) == expected, name


# --- 6. streaming a drive ------------------------------------------------------------------------------


class StreamThread:
    """TeslaPy's `Vehicle.stream(callback)` in a thread; `wait_for(n)` blocks until n updates came."""

    def __init__(self, vehicle: Any) -> None:
        self.updates: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=vehicle.stream, args=(self._received,), daemon=True)

    def _received(self, update: dict[str, Any]) -> None:
        with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    def start(self) -> StreamThread:
        self._thread.start()
        return self

    def wait_for(self, count: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.updates) >= count, TIMEOUT), (
                f"{len(self.updates)} of {count} updates"
            )

    def join(self) -> None:
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "TeslaPy's stream did not end"

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def test_stream_a_drive_until_the_stream_ends_by_itself(twin: Twin, tesla: Any) -> None:
    driver = twin.driver
    vehicle = _by_id(tesla.vehicle_list(), driver)
    stream = StreamThread(vehicle).start()
    try:
        stream.wait_for(1)  # subscribed: the snapshot of the parked car
        twin.call(lambda: driver.drive("to_supercharger", speed_kph=108.0))
        while twin.call(lambda: driver.is_driving):
            # one step of world time, then wait for the update it causes: the stream is in lock
            # step with the clock, so the same seed streams the same updates
            count = len(stream.updates)
            twin.advance(15)
            stream.wait_for(count + 1)
        twin.advance(11)  # parked for more than 10 s: the server ends the subscription and TeslaPy closes
    finally:
        if stream.alive:  # a failed assertion above: end the drive so that the stream ends too
            twin.call(driver.park)
            twin.advance(11)
        stream.join()

    updates = stream.updates
    parked, moving, arrived = updates[0], updates[len(updates) // 2], updates[-1]
    assert set(parked) == {"timestamp", *teslapy.Vehicle.COLS}
    assert parked["timestamp"] == int((START + 60) * 1000)
    assert (parked["speed"], parked["shift_state"], parked["power"]) == (None, None, 0)
    assert moving["shift_state"] == "D"
    assert isinstance(moving["speed"], int)
    assert 60 <= moving["speed"] <= 68  # mph: 108 km/h is 67 mph
    assert isinstance(moving["power"], int)
    assert moving["power"] > 0
    assert isinstance(moving["soc"], int)
    assert isinstance(moving["est_lat"], float)
    assert parked["est_lat"] < moving["est_lat"] < arrived["est_lat"]  # the route runs north
    odometers = [u["odometer"] for u in updates]
    assert odometers == sorted(odometers)
    assert odometers[-1] - odometers[0] == pytest.approx(7.66 / 1.609344, rel=0.05)
    assert (arrived["speed"], arrived["shift_state"]) == (None, "P")
    assert updates[-1]["soc"] <= updates[0]["soc"]
    stamps = [u["timestamp"] for u in updates]
    assert stamps == sorted(set(stamps))
    # TeslaPy folds the stream into the vehicle's data
    assert vehicle["drive_state"]["shift_state"] == "P"
    assert vehicle["vehicle_state"]["odometer"] == arrived["odometer"]
    assert arrived["odometer"] == pytest.approx(twin.call(lambda: driver.odometer_mi), abs=0.1)


def test_streaming_faults_of_the_cloud_reach_the_streaming_server(
    twin: Twin, tesla: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """`serve_cloud` without `faults`: `Cloud.faults.set("streaming", ...)` still takes effect."""
    vehicle = _by_id(tesla.vehicle_list(), twin.driver)
    twin.call(twin.cloud.faults.set, "streaming", "5xx=1")
    with caplog.at_level(logging.ERROR, logger="teslapy"):
        refused = StreamThread(vehicle).start()
        refused.join()  # the handshake is refused; TeslaPy logs it and returns (retry=0)
    assert refused.updates == []
    assert any("Handshake status 5" in record.getMessage() for record in caplog.records), caplog.text

    with requests.Session() as admin:  # clear it as a tool would, through the admin endpoint
        cleared = admin.post(
            twin.cloud.admin + "faults", json={"surface": "streaming", "spec": ""}, timeout=TIMEOUT
        )
    assert cleared.json()["streaming"] == ""
    served = StreamThread(vehicle).start()
    try:
        served.wait_for(1)
    finally:
        twin.advance(11)  # nothing changes for 10 s: the server ends the stream
        served.join()
    assert served.updates[0]["soc"] == 80


# --- 7. energy sites -----------------------------------------------------------------------------------


def test_battery_and_site_data_and_settings(twin: Twin, tesla: Any) -> None:
    (site,) = twin.owner.sites
    (battery,) = tesla.battery_list()

    info = battery.get_site_info()
    assert info is battery
    assert battery["site_name"] == "Demo Home 2.1"
    assert battery["backup_reserve_percent"] != 50

    live = battery.get_site_data()
    assert 0 <= live["percentage_charged"] <= 100
    for flow in ("solar_power", "battery_power", "load_power", "grid_power"):
        assert isinstance(live[flow], int | float), flow

    # TeslaPy's default end_date is the real date (at import); the twin answers up to its own now
    history = battery.get_calendar_history_data(kind="energy", period="day")
    (today,) = history["time_series"]
    assert today["timestamp"].startswith("2023-11-14T")  # START, in the site's Pacific time
    assert today["solar_energy_exported"] >= 0

    assert battery.set_backup_reserve_percent(50) == "Updated"
    assert battery.set_operation("autonomous") == "Updated"
    assert twin.call(lambda: site.settings.backup_reserve_percent) == 50
    assert twin.call(lambda: site.settings.operation) == "autonomous"
    battery.get_site_info()
    assert (battery["backup_reserve_percent"], battery["default_real_mode"]) == (50, "autonomous")

    with pytest.raises(requests.HTTPError) as refused:
        battery.set_operation("eco")
    assert _response(refused.value).status_code == 400
    assert "default_real_mode must be one of" in _response(refused.value).reason
    assert twin.call(lambda: site.settings.operation) == "autonomous"


def test_teslapy_is_the_pinned_release() -> None:
    """The proof is for TeslaPy 2.9.2 (pyproject pins it in the test extras)."""
    assert teslapy.__version__ == "2.9.2"
