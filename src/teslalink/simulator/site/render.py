"""The JSON bodies of an energy site's reads, field for field as Tesla's.

Names, order and JSON types follow the real answers: the battery product entry in
tests/fixtures/owner_api/battery_site_data.json (a real `api/1/products` entry) plus the flags newer
firmware added to it, the solar-only product entry of clients' fixtures (no `site_name`: a solar
site's name is only in site_info), and the live_status and site_info samples clients were written
against.
Powers are whole watts that balance exactly (``solar + battery + grid == load``), energies are Wh,
settings that are whole numbers print as ints (20, not 20.0), timestamps carry the site's offset.

The functions only read the site; what the values are is decided in .energy_site and .power.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from .power import POWERWALL_USABLE_WH
from .solar import local_date
from .tariff import schedule

if TYPE_CHECKING:
    from .energy_site import EnergySite

__all__ = ["FIRMWARE", "live_status", "product", "site_info", "site_status"]

FIRMWARE = "23.44.0 eb113390"
"""The gateway firmware site_info reports."""

SITE_METER_LIMIT_W = 1_000_000_000
"""What real sites report as site meter limits when none is configured."""


def json_number(value: float) -> int | float:
    """Whole numbers as ints, as the API prints settings (20, not 20.0)."""
    return int(value) if float(value).is_integer() else value


def iso(site: EnergySite, t: float) -> str:
    """An ISO 8601 time with the site's UTC offset and no fraction (2021-01-27T21:51:56-08:00)."""
    return dt.datetime.fromtimestamp(t, site.env.time_zone).isoformat(timespec="seconds")


def _battery_numbers(site: EnergySite) -> tuple[float, int, float]:
    """(energy_left Wh, total_pack_energy Wh, percentage_charged) at the integrated time."""
    if not site.has_battery:
        return 0, 0, 0
    e = site.physics.energy_wh
    return round(e, 1), int(site.capacity_wh), 100.0 * e / site.capacity_wh


def _components(site: EnergySite, *, full: bool) -> dict[str, Any]:
    battery = site.has_battery
    components: dict[str, Any] = {
        "solar": site.has_solar,
        "solar_type": "pv_panel" if site.has_solar else None,
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
        "battery_solar_offset_view_enabled": battery and site.has_solar,
        "show_grid_import_battery_source_cards": battery,
        "battery_type": "ac_powerwall" if battery else None,
        "configurable": battery,
        "grid_services_enabled": False,
    }
    if full:  # site_info shows the import/export settings among the components
        settings = site.settings
        components["customer_preferred_export_rule"] = settings.customer_preferred_export_rule
        components["disallow_charge_from_grid_with_solar_installed"] = (
            settings.disallow_charge_from_grid_with_solar_installed
        )
    return components


def _user_settings(site: EnergySite) -> dict[str, Any]:
    return {
        "storm_mode_enabled": site.settings.storm_mode_enabled,
        "sync_grid_alert_enabled": False,
        "breaker_alert_enabled": False,
    }


def _grid_status(site: EnergySite) -> str:
    return "Active" if site.physics.grid_up else "Inactive"


def product(site: EnergySite) -> dict[str, Any]:
    """The site's entry in `GET api/1/products`."""
    solar, load, battery_w, grid = site.meter_readings()
    if not site.has_battery:
        # A real solar-only entry has no site_name (the name is in site_info only) and null
        # Powerwall flags: the samples clients were written against (teslajsonpy's products
        # fixture, the "solar API" notes' products answer) all look so.
        return {
            "energy_site_id": site.energy_site_id,
            "resource_type": "solar",
            "id": site.id,
            "asset_site_id": site.asset_site_id,
            "solar_power": solar,
            "solar_type": "pv_panel",
            "storm_mode_enabled": None,
            "powerwall_onboarding_settings_set": None,
            "sync_grid_alert_enabled": False,
            "breaker_alert_enabled": False,
            "components": _components(site, full=False),
        }
    energy_left, total, percent = _battery_numbers(site)
    settings = site.settings
    return {
        "energy_site_id": site.energy_site_id,
        "resource_type": "battery",
        "site_name": site.site_name,
        "id": site.id,
        "gateway_id": site.gateway_id,
        "asset_site_id": site.asset_site_id,
        "energy_left": energy_left,
        "total_pack_energy": total,
        "percentage_charged": percent,
        "battery_type": "ac_powerwall",
        "backup_capable": True,
        "battery_power": battery_w,
        "go_off_grid_test_banner_enabled": None,
        "storm_mode_enabled": settings.storm_mode_enabled,
        "powerwall_onboarding_settings_set": True,
        "powerwall_tesla_electric_interested_in": None,
        "vpp_tour_enabled": None,
        "sync_grid_alert_enabled": False,
        "breaker_alert_enabled": False,
        "components": _components(site, full=False),
        "grid_status": _grid_status(site),
        "backup": {"backup_reserve_percent": json_number(settings.backup_reserve_percent), "events": None},
        "user_settings": _user_settings(site),
        "default_real_mode": settings.operation,
        "operation": settings.operation,
        "installation_date": iso(site, site.installed_t),
        "power_reading": [
            {
                "timestamp": iso(site, site.physics.t),
                "load_power": load,
                "solar_power": solar,
                "grid_power": grid,
                "battery_power": battery_w,
                "generator_power": 0,
            }
        ],
        "battery_count": site.battery_count,
    }


def live_status(site: EnergySite) -> dict[str, Any]:
    """`GET .../live_status`."""
    solar, load, battery_w, grid = site.meter_readings()
    energy_left, total, percent = _battery_numbers(site)
    physics = site.physics
    storm = site.settings.storm_mode_enabled and physics.storm_forecast(site.env.local_day(physics.t))
    return {
        "solar_power": solar,
        "energy_left": energy_left,
        "total_pack_energy": total,
        "percentage_charged": percent,
        "backup_capable": site.has_battery,
        "battery_power": battery_w,
        "load_power": load,
        "grid_status": _grid_status(site),
        "grid_services_active": False,
        "grid_power": grid,
        "grid_services_power": 0,
        "generator_power": 0,
        "island_status": "on_grid" if physics.grid_up else "off_grid_unintentional",
        "storm_mode_active": storm,
        "timestamp": iso(site, physics.t),
        "wall_connectors": [],
    }


def site_status(site: EnergySite) -> dict[str, Any]:
    """`GET .../site_status`: the summary on the app's tile."""
    solar, _, battery_w, _ = site.meter_readings()
    if not site.has_battery:
        # our choice: no sample of a solar-only site_status is known; it follows the product
        # entry (no site_name, null Powerwall flags), so site_info stays the one place of the name.
        return {
            "resource_type": "solar",
            "solar_power": solar,
            "solar_type": "pv_panel",
            "storm_mode_enabled": None,
            "powerwall_onboarding_settings_set": None,
            "sync_grid_alert_enabled": False,
            "breaker_alert_enabled": False,
        }
    energy_left, total, percent = _battery_numbers(site)
    return {
        "resource_type": "battery",
        "site_name": site.site_name,
        "gateway_id": site.gateway_id,
        "energy_left": energy_left,
        "total_pack_energy": total,
        "percentage_charged": percent,
        "battery_type": "ac_powerwall",
        "backup_capable": True,
        "battery_power": battery_w,
        "storm_mode_enabled": site.settings.storm_mode_enabled,
        "powerwall_onboarding_settings_set": True,
        "powerwall_tesla_electric_interested_in": None,
        "vpp_tour_enabled": None,
        "sync_grid_alert_enabled": False,
        "breaker_alert_enabled": False,
    }


def site_info(site: EnergySite) -> dict[str, Any]:
    """`GET .../site_info` (call after integrating: the schedule is the current season's)."""
    settings = site.settings
    today = local_date(site.env.local_day(site.physics.t))
    info: dict[str, Any] = {"id": site.id, "site_name": site.site_name}
    if site.has_battery:
        info["backup_reserve_percent"] = json_number(settings.backup_reserve_percent)
        info["default_real_mode"] = settings.operation
    info["installation_date"] = iso(site, site.installed_t)
    info["user_settings"] = _user_settings(site)
    info["components"] = _components(site, full=True)
    info["version"] = FIRMWARE
    info["battery_count"] = site.battery_count
    info["tou_settings"] = {
        "optimization_strategy": settings.optimization_strategy,
        "schedule": schedule(settings.tariff, today),
    }
    info["nameplate_power"] = round(site.max_power_w if site.has_battery else site.solar_w)
    info["nameplate_energy"] = round(site.battery_count * POWERWALL_USABLE_WH)
    info["installation_time_zone"] = site.time_zone
    if site.has_battery:
        info["off_grid_vehicle_charging_reserve_percent"] = json_number(
            settings.off_grid_vehicle_charging_reserve_percent
        )
    info["max_site_meter_power_ac"] = SITE_METER_LIMIT_W
    info["min_site_meter_power_ac"] = -SITE_METER_LIMIT_W
    info["vpp_backup_reserve_percent"] = 0
    info["utility"] = settings.tariff.get("utility", "")
    return info
