"""Blocking facade for scripts: the same objects as the async API, without `await`.

Every method hands the work to the async implementation on a private loop thread
(`teslalink._sync.LoopThread`); no logic lives here. The cloud objects forward every coroutine
method of their async twin as a blocking call (`car.speed_limit_set_limit(65)`,
`site.set_storm_mode(True)`...); the common ones are also spelled out here for their types.

    from teslalink.sync import WallConnector
    with WallConnector("192.168.1.50") as charger:
        print(charger.vitals().evse_state)

    from teslalink.sync import Tesla
    with Tesla("me@example.com") as tesla:
        car = tesla.vehicle_list()[0]
        car.wake_up()
        print(car.vehicle_data().battery_level)

    from teslalink.sync import Fleet                  # the Fleet API, with a Fleet token provider
    with Fleet(tokens) as fleet:
        print(fleet.discover_region(), fleet.fleet_status([car.vin]).paired)
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

from . import cloud as _cloud
from ._sync import LoopThread
from .cloud.fleet import api as _fleet_api
from .cloud.fleet import hosts as _fleet_hosts
from .cloud.fleet.status import FleetStatus
from .wallconnector import client as _async_client
from .wallconnector.models import Lifetime, Version, Vitals, WifiStatus
from .wallconnector.power import PowerReading

__all__ = ["EnergySite", "Fleet", "Tesla", "Vehicle", "WallConnector"]


class _ClosesOnExit:
    """`with` support for the blocking objects: leaving the block closes them."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class WallConnector(_ClosesOnExit):
    """Blocking twin of `teslalink.wallconnector.WallConnector`; takes the same arguments."""

    def __init__(self, host: str, **options: Any) -> None:
        self._loop = LoopThread()
        self._async = _async_client.WallConnector(host, **options)
        self.host = self._async.host

    def __repr__(self) -> str:
        return repr(self._async)

    def vitals(self) -> Vitals:
        return self._loop.run(self._async.vitals())

    def lifetime(self) -> Lifetime:
        return self._loop.run(self._async.lifetime())

    def version(self) -> Version:
        return self._loop.run(self._async.version())

    def wifi_status(self) -> WifiStatus:
        return self._loop.run(self._async.wifi_status())

    def power(self, vitals: Vitals) -> PowerReading:
        return self._async.power(vitals)

    def close(self) -> None:
        try:
            self._loop.run(self._async.close())
        finally:
            self._loop.close()


# --- the Tesla cloud -------------------------------------------------------------------------------


class _Forwards:
    """Any attribute not spelled out comes from the async object; its coroutine methods block."""

    _loop: LoopThread
    _FORWARD_TO = ""

    def __getattr__(self, name: str) -> Any:
        target = self.__dict__.get(self._FORWARD_TO)
        if name.startswith("_") or target is None:
            raise AttributeError(name)
        value = getattr(target, name)
        if not inspect.iscoroutinefunction(value):
            return value
        loop = self._loop

        @functools.wraps(value)
        def blocking(*args: Any, **kwargs: Any) -> Any:
            return loop.run(value(*args, **kwargs))

        return blocking


class Vehicle(_Forwards):
    """Blocking twin of `teslalink.cloud.Vehicle` (made by `Tesla.vehicle_list()`); thin forwarding."""

    _FORWARD_TO = "async_vehicle"

    def __init__(self, loop: LoopThread, vehicle: _cloud.Vehicle) -> None:
        self._loop = loop
        self.async_vehicle = vehicle

    def __repr__(self) -> str:
        return repr(self.async_vehicle)

    def __getitem__(self, key: str) -> Any:
        """TeslaPy style: `vehicle["display_name"]` reads the last summary."""
        return self.async_vehicle.raw[key]

    @property
    def vin(self) -> str:
        return self.async_vehicle.vin

    @property
    def id_s(self) -> str:
        return self.async_vehicle.id_s

    @property
    def display_name(self) -> str:
        return self.async_vehicle.display_name

    @property
    def state(self) -> str:
        return self.async_vehicle.state

    def summary(self) -> Mapping[str, Any]:
        return self._loop.run(self.async_vehicle.summary())

    def vehicle_data(self, endpoints: Iterable[str] | str | None = None) -> _cloud.VehicleData:
        return self._loop.run(self.async_vehicle.vehicle_data(endpoints))

    def wake_up(self, timeout: float = 60.0, **options: Any) -> None:
        self._loop.run(self.async_vehicle.wake_up(timeout, **options))

    def command(self, name: str, **params: Any) -> _cloud.CommandResult:
        return self._loop.run(self.async_vehicle.command(name, **params))

    def lock(self) -> _cloud.CommandResult:
        return self._loop.run(self.async_vehicle.lock())

    def unlock(self) -> _cloud.CommandResult:
        return self._loop.run(self.async_vehicle.unlock())

    def climate_on(self) -> _cloud.CommandResult:
        return self._loop.run(self.async_vehicle.climate_on())

    def climate_off(self) -> _cloud.CommandResult:
        return self._loop.run(self.async_vehicle.climate_off())

    def set_temps(self, driver_temp: float, passenger_temp: float | None = None) -> _cloud.CommandResult:
        return self._loop.run(self.async_vehicle.set_temps(driver_temp, passenger_temp))

    def charge_start(self) -> _cloud.CommandResult:
        return self._loop.run(self.async_vehicle.charge_start())

    def charge_stop(self) -> _cloud.CommandResult:
        return self._loop.run(self.async_vehicle.charge_stop())

    def set_charge_limit(self, percent: int) -> _cloud.CommandResult:
        return self._loop.run(self.async_vehicle.set_charge_limit(percent))

    def set_charging_amps(self, charging_amps: int) -> _cloud.CommandResult:
        return self._loop.run(self.async_vehicle.set_charging_amps(charging_amps))

    def honk_horn(self) -> _cloud.CommandResult:
        return self._loop.run(self.async_vehicle.honk_horn())

    def flash_lights(self) -> _cloud.CommandResult:
        return self._loop.run(self.async_vehicle.flash_lights())

    def stream(
        self,
        callback: Callable[[_cloud.StreamUpdate], object],
        *,
        duration_s: float | None = None,
        **options: Any,
    ) -> _cloud.StreamStats:
        """Call `callback(update)` for each streamed update until `duration_s` passes or Ctrl-C.

        The callback runs on teslalink's loop thread: keep it short, and make no blocking
        teslalink call from it. `options` go to `VehicleStream`. Returns the stream's counters.
        """
        stream = self.async_vehicle.stream(**options)

        async def follow() -> None:
            budget = asyncio.timeout(duration_s)
            try:
                async with budget:
                    await stream.run(callback)
            except TimeoutError:
                if not budget.expired():
                    raise  # the stream's own (teslalink.errors.TimeoutError), not our time being up
            finally:
                await stream.stop()

        try:
            self._loop.run(follow())
        except KeyboardInterrupt:
            self._loop.run(stream.stop())
            raise
        return stream.stats


class EnergySite(_Forwards):
    """Blocking twin of `teslalink.cloud.EnergySite` (made by `Tesla.battery_list()`)."""

    _FORWARD_TO = "async_site"

    def __init__(self, loop: LoopThread, site: _cloud.EnergySite) -> None:
        self._loop = loop
        self.async_site = site

    def __repr__(self) -> str:
        return repr(self.async_site)

    @property
    def energy_site_id(self) -> int:
        return self.async_site.energy_site_id

    @property
    def site_name(self) -> str:
        return self.async_site.site_name

    def live_status(self) -> _cloud.LiveStatus:
        return self._loop.run(self.async_site.live_status())

    def site_info(self) -> _cloud.SiteInfo:
        return self._loop.run(self.async_site.site_info())

    def set_backup_reserve(self, percent: float) -> None:
        self._loop.run(self.async_site.set_backup_reserve(percent))

    def set_operation(self, mode: str) -> None:
        self._loop.run(self.async_site.set_operation(mode))


class _Account(_ClosesOnExit):
    """What the blocking accounts share: the cars and sites of one `TeslaApi` (or `FleetApi`)."""

    _loop: LoopThread
    _api: _cloud.TeslaApi

    def vehicle_list(self) -> list[Vehicle]:
        return [Vehicle(self._loop, v) for v in self._loop.run(self._api.vehicles())]

    def vehicle(self, name_or_vin_or_id: str | None = None) -> Vehicle:
        """One car by display name, VIN, id or vehicle_id (None: the first); see `TeslaApi.vehicle`."""
        return Vehicle(self._loop, self._loop.run(self._api.vehicle(name_or_vin_or_id)))

    def battery_list(self) -> list[EnergySite]:
        return [EnergySite(self._loop, s) for s in self._loop.run(self._api.energy_sites())]

    energy_sites = battery_list

    def products(self) -> list[dict[str, Any]]:
        return self._loop.run(self._api.products())

    def api(self, name: str, path_vars: Mapping[str, object] | None = None, **params: Any) -> Any:
        return self._loop.run(self._api.api(name, path_vars=path_vars, **params))


class Tesla(_Account):
    """A Tesla account for scripts, TeslaPy style: `with Tesla(email) as tesla: tesla.vehicle_list()`.

    Tokens come from the token store (`store`, default the token file); `login()` signs in when
    there are none. `urls`: where the cloud is (default: the environment, else Tesla).
    """

    def __init__(
        self, email: str, *, urls: _cloud.CloudUrls | None = None, store: _cloud.TokenStore | None = None
    ) -> None:
        self._loop = LoopThread()
        try:
            self._auth, self._api = self._loop.run(self._open(email, urls, store))
        except BaseException:
            self._loop.close()
            raise
        self.email = self._auth.identity

    @staticmethod
    async def _open(
        email: str, urls: _cloud.CloudUrls | None, store: _cloud.TokenStore | None
    ) -> tuple[_cloud.Auth, _cloud.TeslaApi]:
        # made on the loop thread, so their locks and sessions belong to it
        auth = _cloud.Auth(email, urls=urls, store=store)
        return auth, _cloud.TeslaApi(auth.urls, auth)

    def __repr__(self) -> str:
        return f"Tesla({self.email!r})"

    @property
    def authorized(self) -> bool:
        """Whether tokens are held for this account (they may still need a refresh)."""
        return self._auth.token is not None

    def login(self, password: str, *, passcode: str | Callable[[], str] | None = None) -> None:
        """Headless sign-in; `passcode`: the TOTP code, or a function returning it, for MFA accounts."""
        getter = (lambda: passcode) if isinstance(passcode, str) else passcode
        self._loop.run(self._auth.login_headless(password, passcode=getter))

    def refresh_token(self, refresh_token: str) -> None:
        """Sign in from a refresh token obtained elsewhere."""
        self._loop.run(self._auth.login_with_refresh_token(refresh_token))

    def logout(self, *, revoke: bool = True) -> bool:
        """Forget the account's tokens (and end them at Tesla); False if there were none."""
        return self._loop.run(self._auth.logout(revoke=revoke))

    def close(self) -> None:
        try:
            self._loop.run(self._api.close())
            self._loop.run(self._auth.close())
        finally:
            self._loop.close()


class Fleet(_Account):
    """A Fleet API account for scripts: `with Fleet(tokens) as fleet: fleet.vehicle_list()`.

    `tokens`: a `TokenProvider` of a Fleet user login. `hosts`: the regional hosts (default: the
    environment, else Tesla's). `options` go to `FleetApi` (region, ledger and account,
    command_proxy, on_region...). The same cars and sites as `Tesla`, plus the Fleet reads.
    """

    def __init__(
        self,
        tokens: _cloud.TokenProvider,
        *,
        hosts: _fleet_hosts.FleetHosts | None = None,
        **options: Any,
    ) -> None:
        self._loop = LoopThread()
        chosen = hosts or _fleet_hosts.FleetHosts.from_env()
        try:
            self._api: _fleet_api.FleetApi = self._loop.run(self._open(chosen, tokens, options))
        except BaseException:
            self._loop.close()
            raise

    @staticmethod
    async def _open(
        hosts: _fleet_hosts.FleetHosts, tokens: _cloud.TokenProvider, options: dict[str, Any]
    ) -> _fleet_api.FleetApi:
        return _fleet_api.FleetApi(hosts, tokens, **options)  # on the loop thread, like its session

    def __repr__(self) -> str:
        return f"Fleet({self._api!r})"

    @property
    def region(self) -> str | None:
        return self._api.region

    @property
    def base_url(self) -> str:
        return str(self._api.base_url)

    def discover_region(self) -> str:
        return self._loop.run(self._api.discover_region())

    def fleet_status(self, vins: list[str] | tuple[str, ...]) -> FleetStatus:
        return self._loop.run(self._api.fleet_status(vins))

    def close(self) -> None:
        try:
            self._loop.run(self._api.close())
        finally:
            self._loop.close()
