"""One simulated Tesla energy site: solar and/or Powerwalls behind a gateway, on the grid.

The site is the model of the Owner API's `api/1/energy_sites/{id}/...`: it decides every read
(`product`, `live_status`, `site_status`, `site_info`, `calendar_history`, `history`,
`tariff_rate`, `backup_time_remaining`) and every command's outcome (`set_backup_reserve`,
`set_operation`, `set_grid_import_export`, `set_storm_mode`, `set_time_of_use_settings`,
`set_off_grid_vehicle_charging_reserve`). An HTTP handler only parses the request, calls one method
and wraps what it returns in `{"response": ...}`; a refusal is a `SiteError` carrying the status
and the message to answer with.

Every method first integrates the physics to `world.now()` (see .power for the rules and the
integrator, .solar for sun, weather and load, .history for the records), so reads and
commands always act on the present; settings take effect from the moment they are set.

Command answers come in the two shapes Tesla has used (`answer_style` "lower":
`{"code": 201, "message": "Updated"}`, "upper": `{"Code": 201, "Message": "Updated"}`), except
`grid_import_export`, which answers an empty object (TeslaPy sends it and ignores the body).

Randomness: the identity comes from a stream derived from (world seed, site id), never from the
world's shared generator; weather, load and the meters' jitter are functions of world time (see
..noise). Two worlds with one seed and the same calls replay the same bodies, however often the
site is read in between.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import random
import uuid
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...errors import ConfigError
from ..noise import SampledNoise
from . import render
from .errors import SiteCommandError, SiteError, SiteRequestError
from .history import HOME_BATTERY, HOME_GRID, HOME_SOLAR, EnergyLedger, HistoryQuery, energy_by_name
from .power import (
    EXPORT_RULES,
    OPERATIONS,
    POWERWALL_USABLE_WH,
    Operation,
    SitePhysics,
    SitePower,
    SiteSettings,
)
from .solar import Environment
from .tariff import TariffError, validate_tou_settings

if TYPE_CHECKING:
    from ..accounts import Account
    from ..world import World

__all__ = [
    "ANSWER_STYLES",
    "EXPORT_RULES",
    "OPERATIONS",
    "EnergySite",
    "Operation",
    "SiteCommandError",
    "SiteError",
    "SitePower",
    "SiteRequestError",
    "SiteSettings",
]

ANSWER_STYLES = ("lower", "upper")


def _number(value: object, what: str, low: float, high: float) -> float:
    """A JSON number within [low, high] (bools are not numbers here), else a 400."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SiteCommandError(400, f"{what} must be a number")
    if not low <= value <= high:
        raise SiteCommandError(400, f"{what} must be between {low:g} and {high:g}")
    return float(value)


class EnergySite:
    """A solar and/or Powerwall site in a `World`. Create it with `World.add_energy_site`."""

    def __init__(
        self,
        world: World,
        account: Account,
        *,
        energy_site_id: int,
        site_name: str = "My Home",
        solar_kw: float = 7.6,
        powerwalls: int = 1,
        location: tuple[float, float] = (37.4925, -121.9447),
        time_zone: str = "America/Los_Angeles",
        backup_reserve_percent: float = 20.0,
        operation: Operation = "self_consumption",
        answer_style: Literal["lower", "upper"] = "lower",
        installation_date: float | str | None = None,
        weather_seed: int | str | None = None,
        initial_charge_percent: float | None = None,
        daily_load_kwh: float | None = None,
        customer_preferred_export_rule: str = "pv_only",
        disallow_charge_from_grid_with_solar_installed: bool = False,
        storm_mode_enabled: bool = False,
    ) -> None:
        if not (solar_kw >= 0 and math.isfinite(solar_kw)) or isinstance(powerwalls, bool) or powerwalls < 0:
            raise ConfigError(f"need solar_kw >= 0 and powerwalls >= 0, got {solar_kw!r} and {powerwalls!r}")
        if solar_kw == 0 and powerwalls == 0:
            raise ConfigError("an energy site needs solar (solar_kw > 0) or at least one Powerwall")
        if operation not in OPERATIONS:
            raise ConfigError(f"unknown operation {operation!r}; expected one of {', '.join(OPERATIONS)}")
        if answer_style not in ANSWER_STYLES:
            raise ConfigError(f"unknown answer_style {answer_style!r}; expected lower or upper")
        if customer_preferred_export_rule not in EXPORT_RULES:
            raise ConfigError(f"unknown export rule {customer_preferred_export_rule!r}")
        latitude, longitude = location
        if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
            raise ConfigError(f"location must be (latitude, longitude) in degrees, got {location!r}")
        if not 0.0 <= backup_reserve_percent <= 100.0:
            raise ConfigError(f"backup_reserve_percent must be 0-100, got {backup_reserve_percent!r}")
        try:
            zone = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"unknown time zone {time_zone!r}") from exc

        self.world = world
        self.account = account
        self.energy_site_id = energy_site_id
        self.site_name = site_name
        self.time_zone = time_zone
        self.answer_style = answer_style
        self.battery_count = int(powerwalls)
        self.solar_w = float(solar_kw) * 1000.0
        key = f"teslalink:energy_site:{world.seed}:{energy_site_id}"
        identity = random.Random(f"{key}:identity")
        now = world.now()

        # Packs differ a little from the 13.5 kWh on the label (the fixture's reads 13746 Wh).
        spread = identity.uniform(0.985, 1.025)
        self.capacity_wh = float(round(self.battery_count * POWERWALL_USABLE_WH * spread))
        self.installed_t = self._installation_time(installation_date, zone, now)
        installed = dt.datetime.fromtimestamp(self.installed_t, zone)
        self.id = f"STE{installed:%Y%m%d}-{identity.randrange(100_000):05d}"
        self.gateway_id = f"1232100-00-E--TG1{identity.randrange(10**10, 10**11)}"
        self.asset_site_id = str(uuid.UUID(int=identity.getrandbits(128), version=4))
        self.serial_number = str(uuid.UUID(int=identity.getrandbits(128), version=4))
        daily_kwh = identity.uniform(18.0, 30.0) if daily_load_kwh is None else daily_load_kwh
        start_percent = (
            identity.uniform(35.0, 95.0) if initial_charge_percent is None else initial_charge_percent
        )

        weather = f"{world.seed}:{energy_site_id}" if weather_seed is None else weather_seed
        self.env = Environment(
            latitude=float(latitude),
            longitude=float(longitude),
            time_zone=zone,
            solar_w=self.solar_w,
            daily_load_wh=1000.0 * daily_kwh,
            weather_key=f"teslalink:weather:{weather}",
            load_key=f"{key}:load",
        )
        self.settings = SiteSettings(
            backup_reserve_percent=float(backup_reserve_percent),
            operation=operation,
            customer_preferred_export_rule=customer_preferred_export_rule,
            disallow_charge_from_grid_with_solar_installed=bool(
                disallow_charge_from_grid_with_solar_installed
            ),
            storm_mode_enabled=bool(storm_mode_enabled) and self.battery_count > 0,
        )
        self.physics = SitePhysics(
            self.env,
            self.settings,
            powerwalls=self.battery_count,
            capacity_wh=self.capacity_wh,
            t0=now,
            initial_energy_wh=self.capacity_wh * min(100.0, max(0.0, start_percent)) / 100.0,
        )
        self._meter_noise = SampledNoise(f"{key}:noise:meters", normals=3)

    @staticmethod
    def _installation_time(value: float | str | None, zone: ZoneInfo, now: float) -> float:
        if value is None:
            return now
        if not isinstance(value, str):
            return float(value)
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise ConfigError(f"installation_date is not an ISO date: {value!r}") from exc
        return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()

    def __repr__(self) -> str:
        return (
            f"EnergySite(energy_site_id={self.energy_site_id!r}, site_name={self.site_name!r}, "
            f"solar_kw={self.solar_w / 1000:g}, powerwalls={self.battery_count})"
        )

    # --- what the site is ------------------------------------------------------------------------

    @property
    def has_battery(self) -> bool:
        return self.battery_count > 0

    @property
    def has_solar(self) -> bool:
        return self.solar_w > 0

    @property
    def resource_type(self) -> str:
        """ "battery" for a Powerwall site, "solar" for a solar-only one (as in api/1/products)."""
        return "battery" if self.has_battery else "solar"

    @property
    def max_power_w(self) -> float:
        """The Powerwalls' continuous power together (5 kW each)."""
        return self.physics.max_power_w

    @property
    def ledger(self) -> EnergyLedger:
        """The energy records (15-minute buckets, days, outages)."""
        return self.physics.ledger

    # --- true state, integrated to now -------------------------------------------------------------

    @property
    def energy_left_wh(self) -> float:
        self._sync()
        return self.physics.energy_wh

    @property
    def percentage_charged(self) -> float:
        self._sync()
        return 100.0 * self.physics.energy_wh / self.capacity_wh if self.capacity_wh else 0.0

    @property
    def grid_up(self) -> bool:
        return self.physics.grid_up

    @property
    def dark(self) -> bool:
        """True while an outage has left the home without power (empty battery, or no battery)."""
        self._sync()
        self.physics.flows()  # the controller notices an empty battery when it decides
        return self.physics.dark or (not self.physics.grid_up and not self.has_battery)

    def power(self) -> SitePower:
        """The true flows now (what live_status shows before the meters' jitter and rounding)."""
        self._sync()
        return self.physics.flows()

    def meter_readings(self) -> tuple[int, int, int, int]:
        """(solar, load, battery, grid) in whole watts as the meters read them now.

        The meters jitter a little around the true flows (a function of world time); the grid
        (on grid) or the battery (off grid) takes up the difference, so the four always balance.
        """
        self._sync()
        flows = self.physics.flows()
        solar, load = flows.solar_w, flows.load_w
        z = self._meter_noise.at(self.physics.t).z
        load_j = max(0.0, load * (1.0 + 0.01 * z[0]) + 6.0 * z[1]) if load > 0.0 else 0.0
        solar_j = max(0.0, solar * (1.0 + 0.004 * z[2])) if solar > 0.0 else 0.0
        solar_i, load_i = round(solar_j), round(load_j)
        if self.physics.grid_up:
            battery_i = round(flows.battery_w)
            return solar_i, load_i, battery_i, load_i - solar_i - battery_i
        return solar_i, load_i, load_i - solar_i, 0

    def lifetime_energy(self) -> dict[str, float]:
        """Every energy counter since the site was added (Wh), by calendar_history field name."""
        self._sync()
        return energy_by_name(self.physics.ledger.lifetime_total())

    def storm_watch_active(self) -> bool:
        """Whether a storm is forecast now (whether or not storm mode is enabled)."""
        return self.physics.storm_forecast(self.env.local_day(self.world.now()))

    def cloud_cover(self, t: float | None = None) -> float:
        """The day's cloud cover (0 clear .. 1 overcast) at world time `t` (default now)."""
        if self.env.cloud_cover_override is not None:
            return self.env.cloud_cover_override
        t = self.world.now() if t is None else t
        return self.env.day_weather(self.env.local_day(t)).cloud_cover

    # --- scenario knobs ----------------------------------------------------------------------------

    def grid_outage(self, active: bool) -> None:
        """Cut (True) or restore (False) the grid; an outage is recorded as a backup event."""
        self._sync()
        self.physics.set_grid(not active)

    def set_cloud_cover(self, cover: float | None) -> None:
        """Fix the cloud cover (0 clear .. 1 overcast) from now on; None returns to the site's weather."""
        if cover is not None and not 0.0 <= cover <= 1.0:
            raise ConfigError(f"cloud cover must be between 0 and 1, got {cover!r}")
        self._sync()
        self.env.cloud_cover_override = None if cover is None else float(cover)
        self.physics.inputs_changed()

    def set_house_load(self, watts: float | None) -> None:
        """Fix the home's load in W from now on; None returns to the household's daily habits."""
        if watts is not None and not (0.0 <= watts <= 1e6 and math.isfinite(watts)):
            raise ConfigError(f"house load must be between 0 and 1000000 W, got {watts!r}")
        self._sync()
        self.env.load_override_w = None if watts is None else float(watts)
        self.physics.inputs_changed()

    def storm_watch(self, active: bool | None) -> None:
        """Force a storm forecast on or off from now on; None returns to the site's weather."""
        self._sync()
        self.physics.storm_override = None if active is None else bool(active)
        self.physics.settings_changed()

    # --- commands (POST api/1/energy_sites/{id}/...) -----------------------------------------------

    def _answer(self) -> dict[str, Any]:
        if self.answer_style == "upper":
            return {"Code": 201, "Message": "Updated"}
        return {"code": 201, "message": "Updated"}

    def _need_battery(self, what: str) -> None:
        if not self.has_battery:
            raise SiteCommandError(400, f"{what} needs a Powerwall; this site has none")

    def set_backup_reserve(self, percent: float) -> dict[str, Any]:
        """`backup {backup_reserve_percent}`: the share the battery keeps for outages (0-100)."""
        self._need_battery("backup")
        value = _number(percent, "backup_reserve_percent", 0.0, 100.0)
        self._sync()
        self.settings.backup_reserve_percent = value
        return self._answer()

    def set_operation(self, mode: str) -> dict[str, Any]:
        """`operation {default_real_mode}`: self_consumption, backup or autonomous."""
        self._need_battery("operation")
        if mode not in OPERATIONS:
            raise SiteCommandError(400, f"default_real_mode must be one of {', '.join(OPERATIONS)}")
        self._sync()
        self.settings.operation = mode
        self.physics.settings_changed()
        return self._answer()

    def set_grid_import_export(
        self,
        disallow_charge_from_grid_with_solar_installed: bool | None = None,
        customer_preferred_export_rule: str | None = None,
    ) -> dict[str, Any]:
        """`grid_import_export`: either setting or both; answers `{}`, not a code."""
        disallow = disallow_charge_from_grid_with_solar_installed
        rule = customer_preferred_export_rule
        if disallow is not None and not isinstance(disallow, bool):
            raise SiteCommandError(400, "disallow_charge_from_grid_with_solar_installed must be a boolean")
        if rule is not None and rule not in EXPORT_RULES:
            rules = ", ".join(EXPORT_RULES)
            raise SiteCommandError(400, f"customer_preferred_export_rule must be one of {rules}")
        self._sync()
        if disallow is not None:
            self.settings.disallow_charge_from_grid_with_solar_installed = disallow
        if rule is not None:
            self.settings.customer_preferred_export_rule = rule
        return {}

    def set_storm_mode(self, enabled: bool) -> dict[str, Any]:
        """`storm_mode {enabled}`: take part in Storm Watch (charge to full before a storm)."""
        self._need_battery("storm_mode")
        if not isinstance(enabled, bool):
            raise SiteCommandError(400, "enabled must be a boolean")
        self._sync()
        self.settings.storm_mode_enabled = enabled
        self.physics.settings_changed()
        return self._answer()

    def set_time_of_use_settings(self, tou_settings: dict[str, Any]) -> dict[str, Any]:
        """`time_of_use_settings {tou_settings}`: a tariff_content and/or optimization_strategy."""
        try:
            tariff, strategy = validate_tou_settings(tou_settings)
        except TariffError as exc:
            raise SiteCommandError(400, str(exc)) from exc
        self._sync()
        if tariff is not None:
            self.settings.tariff = tariff
        if strategy is not None:
            self.settings.optimization_strategy = strategy
        self.physics.settings_changed()
        return self._answer()

    def set_off_grid_vehicle_charging_reserve(self, percent: float) -> dict[str, Any]:
        """`off_grid_vehicle_charging_reserve`: below this share, cars stop charging off grid."""
        self._need_battery("off_grid_vehicle_charging_reserve")
        value = _number(percent, "off_grid_vehicle_charging_reserve_percent", 0.0, 100.0)
        self._sync()
        self.settings.off_grid_vehicle_charging_reserve_percent = value
        return self._answer()

    # --- reads (GET api/1/products, api/1/energy_sites/{id}/...) -----------------------------------

    def product(self) -> dict[str, Any]:
        """This site's entry in `GET api/1/products` (keys, order and types as the real one)."""
        return render.product(self)

    def live_status(self) -> dict[str, Any]:
        """`GET .../live_status`: the flows now (W), the battery (Wh, %), grid and storm state."""
        return render.live_status(self)

    def site_status(self) -> dict[str, Any]:
        """`GET .../site_status`: the summary the app shows on the site's tile."""
        return render.site_status(self)

    def site_info(self) -> dict[str, Any]:
        """`GET .../site_info`: configuration, settings, tariff schedule and nameplate."""
        self._sync()
        return render.site_info(self)

    def tariff_rate(self) -> dict[str, Any]:
        """`GET .../tariff_rate`: the tariff_content last set (or the default plan)."""
        return copy.deepcopy(self.settings.tariff)

    def backup_time_remaining(self) -> dict[str, Any]:
        """`GET .../backup_time_remaining`: how long the battery would carry the home at today's load."""
        if not self.has_battery:
            raise SiteRequestError(400, "this site has no Powerwall")
        self._sync()
        physics = self.physics
        today = self.env.local_day(physics.t)
        day = physics.ledger.day_total(today)
        elapsed = physics.t - max(physics.ledger.start_t, self.env.day_start(today))
        home_wh = day[HOME_GRID] + day[HOME_SOLAR] + day[HOME_BATTERY]
        load_w = home_wh * 3600.0 / elapsed if elapsed >= 3600.0 and home_wh > 0.0 else 0.0
        load_w = max(load_w, physics.flows().load_w, 300.0)
        return {"time_remaining_hours": round(physics.energy_wh / load_w, 3)}

    def calendar_history(
        self,
        kind: str,
        period: str | None = "day",
        start_date: str | None = None,
        end_date: str | None = None,
        time_zone: str | None = None,
    ) -> dict[str, Any]:
        """`GET .../calendar_history`: energy, power, self_consumption or backup (see .history)."""
        return self._query().calendar_history(kind, period, start_date, end_date, time_zone)

    def history(self, kind: str, period: str | None = None) -> dict[str, Any]:
        """`GET .../history`: the older history endpoint (see .history)."""
        return self._query().history(kind, period)

    # --- internals ---------------------------------------------------------------------------------

    def _sync(self) -> None:
        self.physics.integrate(self.world.now())

    def _query(self) -> HistoryQuery:
        self._sync()
        return HistoryQuery(self.physics.ledger, self.env, self.physics.t, self.serial_number, self.time_zone)
