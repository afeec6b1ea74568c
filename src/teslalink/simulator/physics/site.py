"""One simulated Tesla energy site: solar and/or Powerwalls behind a gateway, on the grid.

The site is the model: it decides every flow and every answer of the Owner API's energy
endpoints (`product`, `live_status`, `site_info`, `calendar_history`...) and every command's
outcome; the HTTP layer only routes and wraps in `{"response": ...}` (errors: `SiteError`).

Physics is integrated lazily, like the rest of the twin: nothing ticks. Every read or command
first integrates from the last update to `world.now()`. Solar and load (see .solar) are constant
within each 5-minute step of world time, so within a step every flow is constant until the battery
hits a limit (full, the reserve, empty); the integrator cuts the step there and carries on. That
makes the integral exact and independent of how often anyone reads: a year of world time is about
a hundred thousand steps, the same whether it is read once or every second.

Sign conventions are the Owner API's: `battery_power` > 0 discharges, `grid_power` > 0 imports,
and at every instant ``solar + battery + grid == load``. The battery's own losses (95 % each way)
show only in its state of energy, not in the balance, since all powers are AC-side.

Rules (the site's controller, kept simple but plausible):

* self_consumption: solar feeds the home first, surplus charges the battery, the rest is exported;
  the battery covers what solar does not, down to the backup reserve; below the reserve it
  recharges (from the grid too, unless that is disallowed).
* backup: the battery stays full: it charges from solar and the grid (unless disallowed) and never
  discharges while the grid is up.
* autonomous (time-based control): in ON_PEAK and PARTIAL_PEAK periods the battery covers the
  home down to the reserve (and exports at full power when the export rule is battery_ok); outside
  them it holds its charge, takes solar surplus, and in the cheapest period of the day charges from
  the grid (unless disallowed).
* Storm Watch: with storm mode enabled and a storm forecast (a storm today or tomorrow in the
  site's weather, or `storm_watch(True)`), the site behaves as in backup.
* Export rule: pv_only and battery_ok export solar surplus, never curtails solar instead; only
  battery_ok lets the battery export.
* Grid outage (`grid_outage(True)`): the site islands. Solar and the battery serve the home, the
  reserve no longer applies; surplus solar beyond what the battery takes is curtailed; demand beyond
  the battery's continuous power is shed. When the battery is empty and solar cannot carry the home
  the house goes dark (load 0) until solar has recharged it to 5 %. A solar-only site shuts down
  (anti-islanding) for the whole outage.

Randomness: identity from a stream derived from (world seed, site id); weather, load and the live
readings' jitter are functions of world time (see ..noise), so two worlds with one seed replay the
same bodies, however often they are read.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import random
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...errors import ConfigError
from ..noise import SampledNoise
from .site_errors import SiteCommandError, SiteError, SiteRequestError
from .site_history import (
    BATTERY_IN_GRID,
    BATTERY_IN_SOLAR,
    BATTERY_OUT,
    BUCKET_S,
    GRID_IN,
    GRID_OUT_BATTERY,
    GRID_OUT_SOLAR,
    HOME_BATTERY,
    HOME_GRID,
    HOME_SOLAR,
    SOLAR,
    BackupEvent,
    EnergyLedger,
    HistoryQuery,
    energy_by_name,
)
from .site_tariff import (
    PEAK_PERIODS,
    TariffError,
    default_tariff,
    period_slots,
    schedule,
    validate_tou_settings,
)
from .solar import STEP_S, STEPS_PER_HOUR, Environment, local_date

if TYPE_CHECKING:
    from ..accounts import Account
    from ..world import World

__all__ = [
    "ANSWER_STYLES",
    "EXPORT_RULES",
    "OPERATIONS",
    "EnergySite",
    "SiteCommandError",
    "SiteError",
    "SitePower",
    "SiteRequestError",
]

Operation = Literal["self_consumption", "backup", "autonomous"]
OPERATIONS: tuple[Operation, ...] = ("self_consumption", "backup", "autonomous")
EXPORT_RULES = ("battery_ok", "pv_only", "never")
ANSWER_STYLES = ("lower", "upper")

POWERWALL_USABLE_WH = 13_500.0
POWERWALL_CONTINUOUS_W = 5_000.0
GRID_CHARGE_W = 3_300.0
"""How fast one Powerwall charges from the grid (solar surplus can add up to the continuous power)."""
EFFICIENCY = 0.95
"""One-way efficiency of the battery (about 90 % round trip)."""
RESTART_FRACTION = 0.05
"""After going dark off-grid, the home comes back once solar has recharged the battery this far."""
FIRMWARE = "23.44.0 eb113390"
SITE_METER_LIMIT_W = 1_000_000_000  # what real sites report when no meter limit is configured

# What the controller does in one step (derived from the operation, the tariff and Storm Watch).
_SELF, _FILL, _PEAK, _HOLD, _CHEAP = range(5)


@dataclass(frozen=True, slots=True)
class SitePower:
    """The true flows at one instant, in W (no sensor jitter): solar + battery + grid == load."""

    solar_w: float
    load_w: float
    battery_w: float  # > 0 discharging
    grid_w: float  # > 0 importing


def _number(value: object, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SiteCommandError(400, f"{what} must be a number")
    if not low <= value <= high:
        raise SiteCommandError(400, f"{what} must be between {low:g} and {high:g}")
    return float(value)


def _json_number(value: float) -> int | float:
    """Whole numbers as ints, as the API prints settings (20, not 20.0)."""
    return int(value) if float(value).is_integer() else value


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
        key = f"teslalink:energy_site:{world.seed}:{energy_site_id}"
        identity = random.Random(f"{key}:identity")
        now = world.now()

        self.battery_count = int(powerwalls)
        self.solar_w = float(solar_kw) * 1000.0
        # Packs differ a little from the 13.5 kWh on the label (the fixture's reads 13746 Wh).
        self.capacity_wh = float(
            round(self.battery_count * POWERWALL_USABLE_WH * identity.uniform(0.985, 1.025))
        )
        self.max_power_w = self.battery_count * POWERWALL_CONTINUOUS_W
        self._grid_charge_w = self.battery_count * GRID_CHARGE_W

        if installation_date is None:
            self._installed_t = now
        elif isinstance(installation_date, str):
            moment = dt.datetime.fromisoformat(installation_date)
            self._installed_t = (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()
        else:
            self._installed_t = float(installation_date)
        installed = dt.datetime.fromtimestamp(self._installed_t, zone)
        self.id = f"STE{installed:%Y%m%d}-{identity.randrange(100_000):05d}"
        self.gateway_id = f"1232100-00-E--TG1{identity.randrange(10**10, 10**11)}"
        self.asset_site_id = str(uuid.UUID(int=identity.getrandbits(128), version=4))
        self.serial_number = str(uuid.UUID(int=identity.getrandbits(128), version=4))
        daily_wh = 1000.0 * (daily_load_kwh if daily_load_kwh is not None else identity.uniform(18.0, 30.0))
        start_percent = (
            identity.uniform(35.0, 95.0) if initial_charge_percent is None else initial_charge_percent
        )

        weather_key = (
            f"teslalink:weather:{world.seed}:{energy_site_id}"
            if weather_seed is None
            else (f"teslalink:weather:{weather_seed}")
        )
        self.env = Environment(
            latitude=float(location[0]),
            longitude=float(location[1]),
            time_zone=zone,
            solar_w=self.solar_w,
            daily_load_wh=daily_wh,
            weather_key=weather_key,
            load_key=f"{key}:load",
        )
        self._display_noise = SampledNoise(f"{key}:noise:live_status", normals=3)

        # Settings.
        self.backup_reserve_percent = float(backup_reserve_percent)
        self.operation: Operation = operation
        self.customer_preferred_export_rule = customer_preferred_export_rule
        self.disallow_charge_from_grid_with_solar_installed = bool(
            disallow_charge_from_grid_with_solar_installed
        )
        self.storm_mode_enabled = bool(storm_mode_enabled) and self.has_battery
        self.off_grid_vehicle_charging_reserve_percent = 0.0
        self.optimization_strategy = "economics"
        self._tariff = default_tariff()
        self._storm_override: bool | None = None

        # State.
        self._t = now
        self._e = self.capacity_wh * min(100.0, max(0.0, start_percent)) / 100.0
        self._grid_up = True
        self._dark = False
        self.ledger = EnergyLedger(self.env.local_day, now)
        # Caches of the integrator (by step, hour, day).
        self._hour = -1
        self._hour_solar: list[float] = []
        self._hour_load: list[float] = []
        self._hour_offset = 0
        self._mode_day = -(10**9)
        self._mode_storm = False
        self._tou_slots: list[str] = []
        self._tou_cheap = "OFF_PEAK"

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

    # --- true state, integrated to now -------------------------------------------------------------

    @property
    def energy_left_wh(self) -> float:
        self._sync()
        return self._e

    @property
    def percentage_charged(self) -> float:
        self._sync()
        return 100.0 * self._e / self.capacity_wh if self.capacity_wh else 0.0

    @property
    def grid_up(self) -> bool:
        return self._grid_up

    @property
    def dark(self) -> bool:
        """True while an outage has emptied the battery and the home has no power."""
        self._sync()
        self._now_flows()
        return self._dark or (not self._grid_up and not self.has_battery)

    def power(self) -> SitePower:
        """The true flows now (what live_status shows, before the meters' jitter and rounding)."""
        self._sync()
        solar, load, battery = self._now_flows()
        return SitePower(solar, load, battery, load - solar - battery)

    def lifetime_energy(self) -> dict[str, float]:
        """Every energy counter since the site was added (Wh), by calendar_history field name."""
        self._sync()
        return energy_by_name(self.ledger.lifetime_total())

    def storm_watch_active(self) -> bool:
        """Whether a storm is forecast now (regardless of storm mode being enabled)."""
        return self._storm_on(self.env.local_day(self.world.now()))

    def cloud_cover(self, t: float | None = None) -> float:
        """The day's cloud cover (0 clear .. 1 overcast) at world time `t` (default now)."""
        t = self.world.now() if t is None else t
        return self.env.day_weather(self.env.local_day(t)).cloud_cover

    # --- scenario knobs ----------------------------------------------------------------------------

    def grid_outage(self, active: bool) -> None:
        """Cut (True) or restore (False) the grid; an outage is recorded as a backup event."""
        self._sync()
        if active == (not self._grid_up):
            return
        now = self._t
        if active:
            self._grid_up = False
            self.ledger.events.append(BackupEvent(now))
        else:
            self._grid_up = True
            self._dark = False
            if self.ledger.events and self.ledger.events[-1].end is None:
                self.ledger.events[-1].end = now

    def storm_watch(self, active: bool | None) -> None:
        """Force a storm forecast on or off from now on; None returns to the site's weather."""
        self._sync()
        self._storm_override = None if active is None else bool(active)
        self._mode_day = -(10**9)

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
        self.backup_reserve_percent = value
        return self._answer()

    def set_operation(self, mode: str) -> dict[str, Any]:
        """`operation {default_real_mode}`: self_consumption, backup or autonomous."""
        self._need_battery("operation")
        if mode not in OPERATIONS:
            raise SiteCommandError(400, f"default_real_mode must be one of {', '.join(OPERATIONS)}")
        self._sync()
        self.operation = mode
        self._mode_day = -(10**9)  # the day's controller plan depends on it
        return self._answer()

    def set_grid_import_export(
        self,
        disallow_charge_from_grid_with_solar_installed: bool | None = None,
        customer_preferred_export_rule: str | None = None,
    ) -> dict[str, Any]:
        """`grid_import_export`: answers an empty object, not a code (TeslaPy ignores the body)."""
        disallow = disallow_charge_from_grid_with_solar_installed
        rule = customer_preferred_export_rule
        if disallow is not None and not isinstance(disallow, bool):
            raise SiteCommandError(
                400, "disallow_charge_from_grid_with_solar_installed must be true or false"
            )
        if rule is not None and rule not in EXPORT_RULES:
            raise SiteCommandError(
                400, f"customer_preferred_export_rule must be one of {', '.join(EXPORT_RULES)}"
            )
        self._sync()
        if disallow is not None:
            self.disallow_charge_from_grid_with_solar_installed = disallow
        if rule is not None:
            self.customer_preferred_export_rule = rule
        return {}

    def set_storm_mode(self, enabled: bool) -> dict[str, Any]:
        """`storm_mode {enabled}`: take part in Storm Watch (charge to full before a storm)."""
        self._need_battery("storm_mode")
        if not isinstance(enabled, bool):
            raise SiteCommandError(400, "enabled must be true or false")
        self._sync()
        self.storm_mode_enabled = enabled
        self._mode_day = -(10**9)
        return self._answer()

    def set_time_of_use_settings(self, tou_settings: dict[str, Any]) -> dict[str, Any]:
        """`time_of_use_settings {tou_settings}`: a new tariff and/or optimization strategy."""
        try:
            content, strategy = validate_tou_settings(tou_settings)
        except TariffError as exc:
            raise SiteCommandError(400, str(exc)) from exc
        self._sync()
        if content is not None:
            self._tariff = content
        if strategy is not None:
            self.optimization_strategy = strategy
        self._mode_day = -(10**9)
        return self._answer()

    def set_off_grid_vehicle_charging_reserve(self, percent: float) -> dict[str, Any]:
        """`off_grid_vehicle_charging_reserve`: below this share, cars stop charging in an outage."""
        self._need_battery("off_grid_vehicle_charging_reserve")
        value = _number(percent, "off_grid_vehicle_charging_reserve_percent", 0.0, 100.0)
        self._sync()
        self.off_grid_vehicle_charging_reserve_percent = value
        return self._answer()

    # --- reads (GET api/1/products, api/1/energy_sites/{id}/...) -----------------------------------

    def _iso(self, t: float) -> str:
        return dt.datetime.fromtimestamp(t, self.env.time_zone).isoformat(timespec="seconds")

    def _readings(self) -> tuple[int, int, int, int]:
        """(solar, load, battery, grid) in whole watts as the meters read them now; they balance."""
        self._sync()
        solar, load, battery = self._now_flows()
        if load > 0.0 or solar > 0.0:
            z = self._display_noise.at(self._t).z
            load_j = max(0.0, load * (1.0 + 0.01 * z[0]) + 6.0 * z[1]) if load > 0.0 else 0.0
            solar_j = max(0.0, solar * (1.0 + 0.004 * z[2])) if solar > 0.0 else 0.0
        else:
            load_j = solar_j = 0.0
        solar_i, load_i = round(solar_j), round(load_j)
        if self._grid_up:
            battery_i = round(battery)
            return solar_i, load_i, battery_i, load_i - solar_i - battery_i
        return solar_i, load_i, load_i - solar_i, 0

    def _battery_numbers(self) -> tuple[float, int, float]:
        if not self.has_battery:
            return 0, 0, 0
        e = self._e
        return round(e, 1), int(self.capacity_wh), 100.0 * e / self.capacity_wh

    def _components(self, *, full: bool) -> dict[str, Any]:
        battery = self.has_battery
        components: dict[str, Any] = {
            "solar": self.has_solar,
            "solar_type": "pv_panel" if self.has_solar else None,
            "battery": battery,
            "grid": True,
            "backup": battery,
            "gateway": "teg" if battery else None,
            "load_meter": battery,
            "tou_capable": battery,
            "storm_mode_capable": battery,
            "flex_energy_request_capable": False,
            "car_charging_data_supported": False,
            "off_grid_vehicle_charging_reserve_supported": battery,
            "vehicle_charging_performance_view_enabled": False,
            "vehicle_charging_solar_offset_view_enabled": False,
            "battery_solar_offset_view_enabled": battery and self.has_solar,
            "show_grid_import_battery_source_cards": battery,
            "battery_type": "ac_powerwall" if battery else None,
            "configurable": battery,
            "grid_services_enabled": False,
        }
        if full:
            components["customer_preferred_export_rule"] = self.customer_preferred_export_rule
            components["disallow_charge_from_grid_with_solar_installed"] = (
                self.disallow_charge_from_grid_with_solar_installed
            )
            components["net_meter_mode"] = self.customer_preferred_export_rule
        return components

    def _user_settings(self) -> dict[str, Any]:
        return {
            "storm_mode_enabled": self.storm_mode_enabled,
            "sync_grid_alert_enabled": False,
            "breaker_alert_enabled": False,
        }

    def product(self) -> dict[str, Any]:
        """This site's entry in `GET api/1/products` (keys and order as the real one)."""
        solar, load, battery_w, grid = self._readings()
        if not self.has_battery:
            return {
                "energy_site_id": self.energy_site_id,
                "resource_type": "solar",
                "site_name": self.site_name,
                "id": self.id,
                "asset_site_id": self.asset_site_id,
                "solar_power": solar,
                "solar_type": "pv_panel",
                "storm_mode_enabled": False,
                "powerwall_onboarding_settings_set": True,
                "sync_grid_alert_enabled": False,
                "breaker_alert_enabled": False,
                "components": self._components(full=False),
            }
        energy_left, total, percent = self._battery_numbers()
        return {
            "energy_site_id": self.energy_site_id,
            "resource_type": "battery",
            "site_name": self.site_name,
            "id": self.id,
            "gateway_id": self.gateway_id,
            "asset_site_id": self.asset_site_id,
            "energy_left": energy_left,
            "total_pack_energy": total,
            "percentage_charged": percent,
            "battery_type": "ac_powerwall",
            "backup_capable": True,
            "battery_power": battery_w,
            "go_off_grid_test_banner_enabled": None,
            "storm_mode_enabled": self.storm_mode_enabled,
            "powerwall_onboarding_settings_set": True,
            "powerwall_tesla_electric_interested_in": None,
            "vpp_tour_enabled": None,
            "sync_grid_alert_enabled": False,
            "breaker_alert_enabled": False,
            "components": self._components(full=False),
            "grid_status": "Active" if self._grid_up else "Inactive",
            "backup": {"backup_reserve_percent": _json_number(self.backup_reserve_percent), "events": None},
            "user_settings": self._user_settings(),
            "default_real_mode": self.operation,
            "operation": self.operation,
            "installation_date": self._iso(self._installed_t),
            "power_reading": [
                {
                    "timestamp": self._iso(self._t),
                    "load_power": load,
                    "solar_power": solar,
                    "grid_power": grid,
                    "battery_power": battery_w,
                    "generator_power": 0,
                }
            ],
            "battery_count": self.battery_count,
        }

    def live_status(self) -> dict[str, Any]:
        """`GET .../live_status`: the flows now (W), the battery (Wh, %), grid and storm state."""
        solar, load, battery_w, grid = self._readings()
        energy_left, total, percent = self._battery_numbers()
        island = "on_grid" if self._grid_up else "off_grid_unintentional"
        return {
            "solar_power": solar,
            "energy_left": energy_left,
            "total_pack_energy": total,
            "percentage_charged": percent,
            "backup_capable": self.has_battery,
            "battery_power": battery_w,
            "load_power": load,
            "grid_status": "Active" if self._grid_up else "Inactive",
            "grid_services_active": False,
            "grid_power": grid,
            "grid_services_power": 0,
            "generator_power": 0,
            "island_status": island,
            "storm_mode_active": self.storm_mode_enabled and self._storm_on(self.env.local_day(self._t)),
            "timestamp": self._iso(self._t),
            "wall_connectors": [],
        }

    def site_status(self) -> dict[str, Any]:
        """`GET .../site_status`: the summary the app shows on the site's tile."""
        solar, _, battery_w, _ = self._readings()
        if not self.has_battery:
            return {
                "resource_type": "solar",
                "site_name": self.site_name,
                "solar_power": solar,
                "solar_type": "pv_panel",
                "storm_mode_enabled": False,
                "powerwall_onboarding_settings_set": True,
                "sync_grid_alert_enabled": False,
                "breaker_alert_enabled": False,
            }
        energy_left, total, percent = self._battery_numbers()
        return {
            "resource_type": "battery",
            "site_name": self.site_name,
            "gateway_id": self.gateway_id,
            "energy_left": energy_left,
            "total_pack_energy": total,
            "percentage_charged": percent,
            "battery_type": "ac_powerwall",
            "backup_capable": True,
            "battery_power": battery_w,
            "storm_mode_enabled": self.storm_mode_enabled,
            "powerwall_onboarding_settings_set": True,
            "powerwall_tesla_electric_interested_in": None,
            "vpp_tour_enabled": None,
            "sync_grid_alert_enabled": False,
            "breaker_alert_enabled": False,
        }

    def site_info(self) -> dict[str, Any]:
        """`GET .../site_info`: configuration, settings, tariff schedule and nameplate."""
        self._sync()
        today = local_date(self.env.local_day(self._t))
        info: dict[str, Any] = {"id": self.id, "site_name": self.site_name}
        if self.has_battery:
            info["backup_reserve_percent"] = _json_number(self.backup_reserve_percent)
            info["default_real_mode"] = self.operation
        info["installation_date"] = self._iso(self._installed_t)
        info["user_settings"] = self._user_settings()
        info["components"] = self._components(full=True)
        info["version"] = FIRMWARE
        info["battery_count"] = self.battery_count
        info["tou_settings"] = {
            "optimization_strategy": self.optimization_strategy,
            "schedule": schedule(self._tariff, today),
        }
        info["nameplate_power"] = round(self.max_power_w if self.has_battery else self.solar_w)
        info["nameplate_energy"] = round(self.battery_count * POWERWALL_USABLE_WH)
        info["installation_time_zone"] = self.time_zone
        if self.has_battery:
            info["off_grid_vehicle_charging_reserve_percent"] = _json_number(
                self.off_grid_vehicle_charging_reserve_percent
            )
        info["max_site_meter_power_ac"] = SITE_METER_LIMIT_W
        info["min_site_meter_power_ac"] = -SITE_METER_LIMIT_W
        info["vpp_backup_reserve_percent"] = 0
        info["utility"] = self._tariff.get("utility", "")
        return info

    def tariff_rate(self) -> dict[str, Any]:
        """`GET .../tariff_rate`: the tariff_content last set (or the default plan)."""
        return copy.deepcopy(self._tariff)

    def backup_time_remaining(self) -> dict[str, Any]:
        """`GET .../backup_time_remaining`: how long the battery would carry the home at today's load."""
        self._need_read_battery()
        self._sync()
        day = self.ledger.day_total(self.env.local_day(self._t))
        elapsed = self._t - max(self.ledger.start_t, self.env.day_start(self.env.local_day(self._t)))
        home_wh = day[HOME_GRID] + day[HOME_SOLAR] + day[HOME_BATTERY]
        if elapsed >= 3600.0 and home_wh > 0.0:
            load_w = home_wh * 3600.0 / elapsed
        else:
            load_w = max(self._now_flows()[1], 300.0)
        return {"time_remaining_hours": round(self._e / load_w, 3)}

    def _need_read_battery(self) -> None:
        if not self.has_battery:
            raise SiteRequestError(400, "this site has no Powerwall")

    def _query(self) -> HistoryQuery:
        return HistoryQuery(self.ledger, self.env, self._t, self.serial_number, self.time_zone)

    def calendar_history(
        self,
        kind: str,
        period: str | None = "day",
        start_date: str | None = None,
        end_date: str | None = None,
        time_zone: str | None = None,
    ) -> dict[str, Any]:
        """`GET .../calendar_history`: energy, power, self_consumption or backup (see .site_history)."""
        self._sync()
        return self._query().calendar_history(kind, period, start_date, end_date, time_zone)

    def history(self, kind: str, period: str | None = None) -> dict[str, Any]:
        """`GET .../history`: the older history endpoint (see .site_history)."""
        self._sync()
        return self._query().history(kind, period)

    # --- the integrator ----------------------------------------------------------------------------

    def _sync(self) -> None:
        now = self.world.now()
        if now > self._t:
            self._integrate(now)

    def _now_flows(self) -> tuple[float, float, float]:
        """(solar, load, battery) at the integrated time: the flows of the next segment."""
        k = math.floor(self._t / STEP_S)
        solar_raw, load_raw = self._inputs(k)
        solar, load, battery, _ = self._dispatch(solar_raw, load_raw, self._e, self._mode(k))
        return solar, load, battery

    def _inputs(self, k: int) -> tuple[float, float]:
        hour = k // STEPS_PER_HOUR
        if hour != self._hour:
            self._hour_solar, self._hour_load = self.env.hour(hour)
            self._hour_offset = self.env.utc_offset(hour * 3600)
            self._hour = hour
        j = k - hour * STEPS_PER_HOUR
        return self._hour_solar[j], self._hour_load[j]

    def _storm_on(self, day: int) -> bool:
        if self._storm_override is not None:
            return self._storm_override
        env = self.env
        return env.day_weather(day).storm or env.day_weather(day + 1).storm

    def _mode(self, k: int) -> int:
        """What the controller does in step `k` (call `_inputs(k)` first: it sets the offset)."""
        t = k * STEP_S
        day = (t + self._hour_offset) // 86_400
        if day != self._mode_day:
            self._mode_day = day
            self._mode_storm = self.storm_mode_enabled and self._storm_on(day)
            if self.operation == "autonomous":
                self._tou_slots = period_slots(self._tariff, local_date(day))
                self._tou_cheap = "SUPER_OFF_PEAK" if "SUPER_OFF_PEAK" in self._tou_slots else "OFF_PEAK"
        if self._mode_storm:
            return _FILL
        operation = self.operation
        if operation == "self_consumption":
            return _SELF
        if operation == "backup":
            return _FILL
        period = self._tou_slots[((t + self._hour_offset) % 86_400) // 900]
        if period in PEAK_PERIODS:
            return _PEAK
        return _CHEAP if period == self._tou_cheap else _HOLD

    def _dispatch(self, solar: float, load: float, e: float, mode: int) -> tuple[float, float, float, float]:
        """(solar, load, battery, limit) for the state now; `limit` is the stored energy at which
        this decision stops holding (meaningful only while the battery moves)."""
        cap = self.capacity_wh
        pmax = self.max_power_w
        if not self._grid_up:
            if not self.has_battery:
                return 0.0, 0.0, 0.0, 0.0
            restart = cap * RESTART_FRACTION
            if self._dark and e >= restart:
                self._dark = False
            if not self._dark and e <= 0.0 and solar < load:
                self._dark = True
            if self._dark:
                c = min(solar, pmax) if e < cap else 0.0
                return c, 0.0, -c, restart if e < restart else cap
            net = load - solar
            if net > 0.0:
                d = min(net, pmax)
                return solar, solar + d, d, 0.0
            c = min(-net, pmax) if e < cap else 0.0
            return load + c, load, -c, cap
        battery = 0.0
        limit = cap
        if self.has_battery:
            net = load - solar
            surplus = -net if net < 0.0 else 0.0
            grid_ok = not (self.disallow_charge_from_grid_with_solar_installed and self.has_solar)
            reserve = cap * self.backup_reserve_percent / 100.0
            if mode == _SELF:
                if e < reserve:
                    battery = -min(pmax, surplus + (self._grid_charge_w if grid_ok else 0.0))
                    limit = reserve
                elif net > 0.0 and e > reserve:
                    battery, limit = min(net, pmax), reserve
                elif surplus > 0.0 and e < cap:
                    battery = -min(surplus, pmax)
            elif mode in (_FILL, _CHEAP):
                if e < cap:
                    battery = -min(pmax, surplus + (self._grid_charge_w if grid_ok else 0.0))
            elif mode == _PEAK and e > reserve:
                battery = (
                    pmax if self.customer_preferred_export_rule == "battery_ok" else min(max(net, 0.0), pmax)
                )
                limit = reserve
            elif surplus > 0.0 and e < cap:  # holding (or below the reserve at peak): solar only
                battery = -min(surplus, pmax)
        if self.customer_preferred_export_rule == "never":
            solar = min(solar, max(0.0, load - battery))
        return solar, load, battery, limit

    def _integrate(self, t_end: float) -> None:
        t = self._t
        e = self._e
        cap = self.capacity_wh
        ledger = self.ledger
        while t < t_end:
            k = math.floor(t / STEP_S)
            step_end = (k + 1) * STEP_S
            seg_end = step_end if step_end < t_end else t_end
            solar_raw, load_raw = self._inputs(k)
            mode = self._mode(k)
            bucket = (k * STEP_S) // BUCKET_S
            if bucket != ledger.index:
                ledger.roll(bucket, self._mode_day)
            acc = ledger.acc
            rounds = 0
            while t < seg_end:
                solar, load, battery, limit = self._dispatch(solar_raw, load_raw, e, mode)
                rounds += 1
                if rounds > 12:  # cannot happen with the rules above; never loop forever
                    battery = 0.0
                    if self.customer_preferred_export_rule == "never" or not self._grid_up:
                        solar = min(solar, load)
                span = seg_end - t
                hit = False
                rate = 0.0
                if battery != 0.0:
                    rate = (-battery * EFFICIENCY if battery < 0.0 else -battery / EFFICIENCY) / 3600.0
                    to_limit = (limit - e) / rate
                    if to_limit < span:
                        span = to_limit if to_limit > 0.0 else 0.0
                        hit = True
                h = span / 3600.0
                # Who fed whom: solar feeds the home first, then the battery, then the grid; the
                # battery feeds the home first, then the grid; the grid feeds what is left.
                home_solar = solar if solar < load else load
                spare = solar - home_solar
                if battery < 0.0:
                    charge = -battery
                    from_solar = spare if spare < charge else charge
                    home_grid = load - home_solar
                    acc[BATTERY_IN_SOLAR] += from_solar * h
                    acc[BATTERY_IN_GRID] += (charge - from_solar) * h
                    acc[GRID_OUT_SOLAR] += (spare - from_solar) * h
                    acc[GRID_IN] += (home_grid + charge - from_solar) * h
                elif battery > 0.0:
                    need = load - home_solar
                    home_battery = battery if battery < need else need
                    home_grid = need - home_battery
                    acc[BATTERY_OUT] += battery * h
                    acc[HOME_BATTERY] += home_battery * h
                    acc[GRID_OUT_BATTERY] += (battery - home_battery) * h
                    acc[GRID_OUT_SOLAR] += spare * h
                    acc[GRID_IN] += home_grid * h
                else:
                    home_grid = load - home_solar
                    acc[GRID_OUT_SOLAR] += spare * h
                    acc[GRID_IN] += home_grid * h
                acc[SOLAR] += solar * h
                acc[HOME_SOLAR] += home_solar * h
                acc[HOME_GRID] += home_grid * h
                if hit:
                    e = limit
                    t += span
                else:
                    e += rate * span
                    e = cap if e > cap else (0.0 if e < 0.0 else e)
                    t = seg_end
        self._t = t_end
        self._e = e
