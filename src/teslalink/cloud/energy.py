"""One Powerwall or solar site: live status, site info, history, and its settings.

Energy sites have no sleep: every call is answered by the cloud. Command answers changed shape
over the years (`{"code": 201, "message": "Updated"}`, `{"Code": 201, "Message": "Updated"}`, and
`{}` for grid_import_export); all are accepted, and a code outside 2xx raises CommandFailed.
Arguments are checked before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from .._convert import to_bool, to_float, to_str
from ..errors import CommandFailed, ConfigError

if TYPE_CHECKING:
    from .api import TeslaApi

__all__ = [
    "CALENDAR_KINDS",
    "EXPORT_RULES",
    "OPERATION_MODES",
    "PERIODS",
    "EnergySite",
    "LiveStatus",
    "SiteInfo",
    "select_site",
]

OPERATION_MODES: Final = ("self_consumption", "backup", "autonomous")
EXPORT_RULES: Final = ("battery_ok", "pv_only", "never")
CALENDAR_KINDS: Final = ("energy", "power", "backup", "self_consumption")
PERIODS: Final = ("day", "week", "month", "year", "lifetime")


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """live_status: power flows in watts (positive battery power: discharging), the battery, the grid."""

    raw: Mapping[str, Any] = field(repr=False)

    @property
    def solar_power_w(self) -> float | None:
        return to_float(self.raw.get("solar_power"))

    @property
    def battery_power_w(self) -> float | None:
        return to_float(self.raw.get("battery_power"))

    @property
    def load_power_w(self) -> float | None:
        return to_float(self.raw.get("load_power"))

    @property
    def grid_power_w(self) -> float | None:
        return to_float(self.raw.get("grid_power"))

    @property
    def generator_power_w(self) -> float | None:
        return to_float(self.raw.get("generator_power"))

    @property
    def percentage_charged(self) -> float | None:
        return to_float(self.raw.get("percentage_charged"))

    @property
    def energy_left_wh(self) -> float | None:
        return to_float(self.raw.get("energy_left"))

    @property
    def total_pack_energy_wh(self) -> float | None:
        return to_float(self.raw.get("total_pack_energy"))

    @property
    def grid_status(self) -> str | None:
        return to_str(self.raw.get("grid_status"))

    @property
    def island_status(self) -> str | None:
        return to_str(self.raw.get("island_status"))

    @property
    def storm_mode_active(self) -> bool | None:
        return to_bool(self.raw.get("storm_mode_active"))

    @property
    def timestamp(self) -> str | None:
        return to_str(self.raw.get("timestamp"))


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """site_info: configuration and settings; everything else on `.raw`."""

    raw: Mapping[str, Any] = field(repr=False)

    @property
    def site_name(self) -> str | None:
        return to_str(self.raw.get("site_name"))

    @property
    def backup_reserve_percent(self) -> float | None:
        return to_float(self.raw.get("backup_reserve_percent"))

    @property
    def operation_mode(self) -> str | None:
        return to_str(self.raw.get("default_real_mode"))

    @property
    def installation_date(self) -> str | None:
        return to_str(self.raw.get("installation_date"))

    @property
    def time_zone(self) -> str | None:
        """installation_time_zone: the site's IANA zone ("America/Los_Angeles"), the zone its
        history's days are counted in."""
        return to_str(self.raw.get("installation_time_zone"))

    @property
    def components(self) -> Mapping[str, Any]:
        value = self.raw.get("components")
        return value if isinstance(value, Mapping) else {}

    @property
    def has_battery(self) -> bool | None:
        return to_bool(self.components.get("battery"))

    @property
    def export_rule(self) -> str | None:
        """customer_preferred_export_rule (kept among the components): battery_ok, pv_only, never."""
        return to_str(self.components.get("customer_preferred_export_rule"))

    @property
    def grid_charging(self) -> bool | None:
        """Whether the Powerwall may charge from the grid (the inverse of the disallow flag)."""
        value = self.components.get("disallow_charge_from_grid_with_solar_installed")
        return not value if isinstance(value, bool) else None

    @property
    def storm_mode_enabled(self) -> bool | None:
        settings = self.raw.get("user_settings")
        return to_bool(settings.get("storm_mode_enabled") if isinstance(settings, Mapping) else None)


def _check_percent(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ConfigError(f"{name} must be a number 0-100, got {value!r}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


async def select_site(sites: Sequence[EnergySite], key: str | None) -> EnergySite:
    """The site named by `key` (its id or its name, any case), or the first one.

    Ids and the names in the products list are matched first, with no request; only when none
    matches are the unnamed (solar-only) sites' names read from site_info, one request each.
    """
    if not sites:
        raise ConfigError("this account has no energy site")
    if key is None:
        return sites[0]
    wanted = key.strip().lower()
    for site in sites:
        if wanted in (site.site_name.lower(), str(site.energy_site_id)):
            return site
    for site in sites:
        if not site.site_name and (await site.resolve_name()).lower() == wanted:
            return site
    names = ", ".join(site.label for site in sites)
    raise ConfigError(f"no energy site {key!r} in this account (it has: {names})")


class EnergySite:
    """One energy site of the account, bound to a `TeslaApi` (made by `TeslaApi.energy_sites()`)."""

    def __init__(self, api: TeslaApi, product: Mapping[str, Any]) -> None:
        self.api = api
        self.raw: Mapping[str, Any] = dict(product)
        site_id = product.get("energy_site_id")
        if isinstance(site_id, bool) or not isinstance(site_id, int | str) or not str(site_id).isdigit():
            raise ConfigError(f"an energy site needs a numeric energy_site_id, got {site_id!r}")
        self.energy_site_id = int(site_id)
        name = product.get("site_name")
        self._site_name = name if isinstance(name, str) else ""

    def __repr__(self) -> str:
        return f"EnergySite(energy_site_id={self.energy_site_id}, site_name={self.site_name!r})"

    @property
    def site_name(self) -> str:
        """The name from the products list, or from site_info once read ("" until then).

        A solar-only site's products entry has no site_name: only site_info carries it, so
        `resolve_name()` (or any `site_info()`) fills it in.
        """
        return self._site_name

    @property
    def label(self) -> str:
        """What to call the site in a sentence: its name, else "site <id>"."""
        return self._site_name or f"site {self.energy_site_id}"

    @property
    def resource_type(self) -> str:
        return str(self.raw.get("resource_type") or "")

    @property
    def has_battery(self) -> bool:
        """Whether the site has a Powerwall: components.battery, else its resource_type."""
        components = self.raw.get("components")
        found = components.get("battery") if isinstance(components, Mapping) else None
        return found if isinstance(found, bool) else self.resource_type == "battery"

    async def resolve_name(self) -> str:
        """The site's name, asking site_info only when the products list had none (solar-only)."""
        if not self._site_name:
            await self.site_info()
        return self._site_name

    async def _call(self, name: str, **params: Any) -> Any:
        return await self.api.api(name, path_vars={"site_id": self.energy_site_id}, **params)

    async def _mapping(self, name: str, **params: Any) -> Mapping[str, Any]:
        found = await self._call(name, **params)
        return found if isinstance(found, Mapping) else {}

    # --- reads ---------------------------------------------------------------------------------

    async def live_status(self) -> LiveStatus:
        return LiveStatus(await self._mapping("SITE_DATA"))

    async def site_status(self) -> Mapping[str, Any]:
        return await self._mapping("SITE_SUMMARY")

    async def site_info(self) -> SiteInfo:
        info = SiteInfo(await self._mapping("SITE_CONFIG"))
        if not self._site_name and info.site_name:
            self._site_name = info.site_name  # a solar-only site is named here only
        return info

    async def history(self, kind: str = "energy", period: str = "day") -> Mapping[str, Any]:
        _check_choice("kind", kind, CALENDAR_KINDS)
        _check_choice("period", period, PERIODS)
        return await self._mapping("HISTORY_DATA", kind=kind, period=period)

    async def calendar_history(
        self,
        kind: str = "energy",
        period: str = "day",
        *,
        start_date: str | None = None,
        end_date: str | None = None,
        time_zone: str | None = None,
    ) -> Mapping[str, Any]:
        """Dates as ISO 8601 with offset (e.g. 2026-11-24T23:59:59-08:00), as the app sends them."""
        _check_choice("kind", kind, CALENDAR_KINDS)
        _check_choice("period", period, PERIODS)
        return await self._mapping(
            "CALENDAR_HISTORY_DATA",
            kind=kind,
            period=period,
            start_date=start_date,
            end_date=end_date,
            time_zone=time_zone,
        )

    async def get_tariff(self) -> Mapping[str, Any]:
        """The time-of-use tariff (tariff_content) in force."""
        return await self._mapping("SITE_TARIFF")

    async def backup_time_remaining(self) -> Mapping[str, Any]:
        return await self._mapping("ENERGY_SITE_BACKUP_TIME_REMAINING")

    # --- commands ------------------------------------------------------------------------------

    async def _command(self, name: str, **params: Any) -> Mapping[str, Any]:
        """Send a command; a code outside 2xx or `"result": false` is CommandFailed."""
        answer = await self._mapping(name, **params)
        code = answer.get("code", answer.get("Code"))
        message = answer.get("message", answer.get("Message"))
        if code is not None and not (isinstance(code, int) and 200 <= code < 300):
            raise CommandFailed(name, str(message or code), by="the energy site")
        if answer.get("result") is False:  # the vehicle-command style some endpoints answer in
            raise CommandFailed(name, str(answer.get("reason") or message or ""), by="the energy site")
        return answer

    async def set_backup_reserve(self, percent: float) -> None:
        _check_percent("backup_reserve_percent", percent)
        await self._command("BACKUP_RESERVE", backup_reserve_percent=percent)

    async def set_operation(self, mode: str) -> None:
        _check_choice("default_real_mode", mode, OPERATION_MODES)
        await self._command("OPERATION_MODE", default_real_mode=mode)

    async def set_grid_import_export(
        self,
        *,
        disallow_charge_from_grid_with_solar_installed: bool | None = None,
        customer_preferred_export_rule: str | None = None,
    ) -> None:
        """Either setting or both (the answer is `{}`, not a code)."""
        disallow = disallow_charge_from_grid_with_solar_installed
        rule = customer_preferred_export_rule
        if disallow is None and rule is None:
            raise ConfigError("set_grid_import_export needs at least one setting")
        if disallow is not None and not isinstance(disallow, bool):
            raise ConfigError("disallow_charge_from_grid_with_solar_installed must be true or false")
        if rule is not None:
            _check_choice("customer_preferred_export_rule", rule, EXPORT_RULES)
        await self._command(
            "ENERGY_SITE_IMPORT_EXPORT_CONFIG",
            disallow_charge_from_grid_with_solar_installed=disallow,
            customer_preferred_export_rule=rule,
        )

    async def set_storm_mode(self, enabled: bool) -> None:
        if not isinstance(enabled, bool):
            raise ConfigError(f"enabled must be true or false, got {enabled!r}")
        await self._command("STORM_MODE_SETTINGS", enabled=enabled)

    async def set_tariff(self, tariff_content: Mapping[str, Any]) -> None:
        """Replace the time-of-use tariff (the shape get_tariff returns)."""
        if not isinstance(tariff_content, Mapping) or not tariff_content:
            raise ConfigError("tariff_content must be a non-empty object")
        await self._command("TIME_OF_USE_SETTINGS", tou_settings={"tariff_content": dict(tariff_content)})

    async def set_off_grid_vehicle_charging_reserve(self, percent: float) -> None:
        _check_percent("off_grid_vehicle_charging_reserve_percent", percent)
        await self._command(
            "OFF_GRID_VEHICLE_CHARGING_RESERVE", off_grid_vehicle_charging_reserve_percent=percent
        )
