"""The car commands: `vehicles`, `vehicle data`, `wake`, `command NAME k=v` and the friendly groups
(`charge`, `climate`, `lock`, `unlock`, `speed-limit`).

Every command opens one session for the chosen account (the Fleet API for a Fleet login, else
the Owner API: `--api`), picks the car (`--vehicle`, default the first), and does one thing; a
refused command is one line with the car's reason and exit code 1. A refusal that means the car
is already as asked (`already_set`...) is a success: exit code 0 and a line that says so.
Nothing here wakes a car except `wake`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import click

from ._cloud import (
    CloudTarget,
    cloud_options,
    confirm_risky,
    is_interactive,
    json_option,
    parse_params,
    risky_action,
    vehicle_option,
    yes_option,
)
from ._common import echo, echo_json, run, safe_console

if TYPE_CHECKING:
    from ..cloud import CommandResult, Vehicle, VehicleData
    from ..cloud.api import TeslaApi
    from ..errors import MissingScopes

_T = TypeVar("_T")


class Row(TypedDict):
    """A car as `vehicles --json` lists it."""

    display_name: str
    vin: str
    id: str
    vehicle_id: int | None
    state: str
    in_service: bool


Send = Callable[["Vehicle", Any], Awaitable["CommandResult"]]
"""A command with one value (the value as click parsed it)."""
Already = Callable[[str], str]
"""The words for "already so" from the car's reason: `charge start` -> "already charging"."""


def _vehicle_row(vehicle: Vehicle) -> Row:
    return {
        "display_name": vehicle.display_name,
        "vin": vehicle.vin,
        "id": vehicle.id_s,
        "vehicle_id": vehicle.vehicle_id,
        "state": vehicle.state,
        "in_service": vehicle.in_service,
    }


def _print_table(title: str, rows: list[tuple[str, object]]) -> None:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for name, value in rows:
        table.add_row(name, _cell(value))
    safe_console().print(table)


def _cell(value: object) -> str:
    """What a table shows: yes/no for booleans, floats to one decimal, "-" for unknown."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


@click.command("vehicles")
@json_option
@cloud_options
def vehicles(target: CloudTarget, as_json: bool) -> None:
    """List the account's cars (never wakes them).

    Example: `teslalink vehicles --json`.
    """

    async def go() -> list[Row]:
        async with target.api() as api:
            return [_vehicle_row(v) for v in await api.vehicles()]

    rows = run(go())
    if as_json:
        echo_json(rows)
        return
    from rich.table import Table  # noqa: PLC0415

    table = Table(title="Vehicles")
    for column in ("name", "VIN", "id", "state"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["display_name"], row["vin"], row["id"], row["state"])
    safe_console().print(table)


def _on_vehicle(
    target: CloudTarget, vehicle_key: str | None, action: Callable[[Vehicle], Awaitable[_T]]
) -> tuple[Row, _T]:
    """Run `action(vehicle)` on the chosen car; returns (the car's row, what action returned)."""

    from ..errors import (  # noqa: PLC0415 - keep `--help` fast
        CommandFailed,
        CommandSigningRequired,
        MissingScopes,
        VehicleUnavailable,
    )

    async def go() -> tuple[Row, _T]:
        async with target.api() as api:
            vehicle = await api.vehicle(vehicle_key)
            try:
                result = await action(vehicle)
            except VehicleUnavailable:
                raise click.ClickException(not_online(vehicle)) from None
            except CommandFailed as exc:
                raise click.ClickException(refused(exc.command, exc.reason)) from None
            except CommandSigningRequired:
                raise click.ClickException(signing_needed(api, vehicle.display_name or vehicle.vin)) from None
            except MissingScopes as exc:
                raise click.ClickException(scopes_missing(exc)) from None
            return _vehicle_row(vehicle), result

    return run(go())


REASON_WORDS: Mapping[str, str] = {
    "invalid_value": "a value is missing, malformed or out of range",
    "disconnected": "no charging cable is plugged in",
    "complete": "the battery is at its charge limit",
    "cable_connected": "a charging cable is plugged in",
    "incorrect_pin": "wrong PIN",
    "invalid_password": "wrong account password",
    "user_not_present": "it needs someone in the car",
    "speed_limit_active": "Speed Limit Mode is active: deactivate it first",
    "too_far_from_vehicle": "the position given is more than 1 km from the car",
    "homelink_not_nearby": "no HomeLink device nearby",
    "not_supported": "this car has no such equipment",
    "no_update_available": "no software update is downloaded",
    "software_update_in_progress": "a software update is installing",
}
"""The car's reasons in words (the twin's table, simulator/vehicle/commands/__init__.py)."""


def refused(command: str, reason: str) -> str:
    """A refusal in one line: the car's own word (for scripts), then what it means (for people)."""
    words = REASON_WORDS.get(reason)
    return f"{command}: refused by the car: {reason or 'no reason given'}" + (f" ({words})" if words else "")


def not_online(vehicle: Vehicle) -> str:
    """The 408 in words; Tesla's own text is a Ruby hash (`{:error=>"vehicle unavailable:"}`)."""
    name = vehicle.display_name or vehicle.vin or vehicle.id_s
    key = vehicle.display_name if re.fullmatch(r"[\w.-]+", vehicle.display_name or "") else vehicle.vin
    return f"{name} is asleep or offline; `teslalink wake --vehicle {key}` wakes it, then try again"


def signing_needed(api: TeslaApi, what: str) -> str:
    """Tesla's 403 "Vehicle Command Protocol required" in words, with the way to signed commands."""
    from ..cloud.fleet.api import FleetApi  # noqa: PLC0415

    base = f"{what}: this car takes signed commands only (Tesla's Vehicle Command Protocol)"
    if isinstance(api, FleetApi):
        if api.command_proxy is not None:
            return f"{base}: the command proxy ({api.command_proxy}) sent it unsigned"
        if api.signer is not None:  # a key is there: this command has no signed form
            return f"{base}, and this command has no signed form (it goes as REST, which the car refuses)"
        return (
            f"{base}, and the app has no key to sign with: `teslalink fleet key create`, "
            "`teslalink fleet register`, then `teslalink fleet pair`"
        )
    return f"{base}, which the Owner API cannot send: set up the Fleet API (`teslalink fleet setup`)"


def scopes_missing(exc: MissingScopes) -> str:
    """A 403 missing scopes with the way out (the signed path's error names the scopes only)."""
    fix = "teslalink fleet login"
    line = str(exc)
    return line if fix in line else f"{line}; log in again granting them: `{fix}`"


@click.group("vehicle")
def vehicle() -> None:
    """Read one car."""


def _amps(data: VehicleData) -> str | None:
    """The current asked for and the car's maximum on this supply: "16 (max 32)"."""
    request, most = data.charge_current_request_a, data.charge_state.get("charge_current_request_max")
    if request is None:
        return None
    return f"{request:.0f}" + (f" (max {most:.0f})" if isinstance(most, int | float) else "")


_DATA_ROWS: tuple[tuple[str, str, Callable[[VehicleData], object]], ...] = (
    ("charge_state", "battery %", lambda d: d.battery_level),
    ("charge_state", "charging", lambda d: d.charging_state),
    ("charge_state", "charge limit %", lambda d: d.charge_limit_soc),
    ("charge_state", "charger power kW", lambda d: d.charger_power_kw),
    ("charge_state", "charge current A", _amps),
    ("charge_state", "range", lambda d: d.format_distance(d.battery_range_mi)),
    ("climate_state", "inside", lambda d: d.format_temperature(d.inside_temp_c)),
    ("climate_state", "outside", lambda d: d.format_temperature(d.outside_temp_c)),
    ("climate_state", "climate on", lambda d: d.is_climate_on),
    ("vehicle_state", "locked", lambda d: d.locked),
    ("vehicle_state", "odometer", lambda d: d.format_distance(d.odometer_mi)),
    ("vehicle_state", "software", lambda d: d.car_version),
)
"""The table's rows: (the block it reads, label, value); only the blocks asked for are shown."""


@vehicle.command("data")
@json_option
@click.option(
    "--endpoints",
    default=None,
    help="Comma-separated blocks, e.g. charge_state,climate_state (default: all); only they are shown.",
)
@vehicle_option
@cloud_options
def vehicle_data(target: CloudTarget, as_json: bool, endpoints: str | None, vehicle_key: str | None) -> None:
    """The car's vehicle_data (the car must be online: see `teslalink wake`).

    Example: `teslalink vehicle data --endpoints charge_state`.
    """
    chosen = [e.strip() for e in endpoints.split(",") if e.strip()] if endpoints else None
    asked: list[str] | None
    if chosen is not None and "climate_state" in chosen and "gui_settings" not in chosen:
        asked = [*chosen, "gui_settings"]  # the temperatures in the car's unit (not shown itself)
    else:
        asked = chosen

    async def action(car: Vehicle) -> VehicleData:
        return await car.vehicle_data(endpoints=asked)

    row, data = _on_vehicle(target, vehicle_key, action)
    if as_json:
        added = set(asked or ()) - set(chosen or ())  # gui_settings for the units, not asked for
        echo_json({k: v for k, v in data.raw.items() if k not in added})
        return
    _print_table(
        f"{row['display_name'] or row['vin']} ({data.state})",
        [(label, value(data)) for block, label, value in _DATA_ROWS if chosen is None or block in chosen],
    )


@click.command("wake")
@json_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Give up after this many seconds.",
)
@click.option("--interval", type=click.FloatRange(min=0.05), default=2.0, hidden=True)
@vehicle_option
@cloud_options
def wake(
    target: CloudTarget, as_json: bool, timeout: float, interval: float, vehicle_key: str | None
) -> None:
    """Wake the car and wait until it is online (progress is shown while waiting).

    Example: `teslalink wake --timeout 90`.
    """  # fmt: skip
    if is_interactive():
        status = safe_console(stderr=True).status("Waking the car...")

        def progress(state: str, waited: float) -> None:
            status.update(f"Waking the car: {state} after {waited:.0f} s")

        status.start()
    else:
        status = None

        def progress(state: str, waited: float) -> None:
            echo(f"waking: {state} after {waited:.0f} s", err=True)

    from ..errors import VehicleUnavailable  # noqa: PLC0415 - keep `--help` fast

    async def action(car: Vehicle) -> None:
        try:
            await car.wake_up(timeout, progress=progress, interval=interval)
        except VehicleUnavailable:
            raise click.ClickException(_still_asleep(car, timeout)) from None

    try:
        row, _ = _on_vehicle(target, vehicle_key, action)
    finally:
        if status is not None:
            status.stop()
    if as_json:
        echo_json(row)
    else:
        echo(f"{row['display_name'] or row['vin']} is online.")


def _still_asleep(car: Vehicle, timeout: float) -> str:
    """Why a wake gave up, and what may help (never "run `teslalink wake`": that was just run)."""
    name = car.display_name or car.vin or car.id_s
    return (
        f"{name} is still {car.state} after {timeout:g} s; a car can take a minute to wake, "
        "longer with a weak signal: try a longer --timeout"
    )


def _already_words(label: str, reason: str) -> str:
    return f"{label}: already so (the car says {reason})"


def _report(as_json: bool, row: Row, label: str, result: CommandResult, already: Already) -> None:
    """One line (or JSON) for a command the car took: done, or already so (both exit code 0)."""
    is_already, reason = result.already, result.reason
    if as_json:
        answer = {k: v for k, v in result.items() if k not in ("result", "reason")}
        echo_json(
            {
                "vehicle": row["vin"],
                "command": label,
                "result": True,
                "already": is_already,
                **({"reason": reason} if is_already else {}),
                **({"answer": answer} if answer else {}),
            }
        )
        return
    name = row["display_name"] or row["vin"]
    echo(f"{name}: {already(reason)}." if is_already else f"{name}: {label} done.")


def _simple(
    name: str,
    help_text: str,
    label: str,
    method: str,
    risky: str | None = None,
    already: Mapping[str, str] | None = None,
) -> click.Command:
    """A command with no argument that calls `Vehicle.<method>()`; `already`: reason -> words."""
    words = dict(already or {})

    @click.command(name, help=help_text)
    @json_option
    @vehicle_option
    @cloud_options
    def command(target: CloudTarget, as_json: bool, vehicle_key: str | None, **kw: Any) -> None:
        if risky is not None:
            confirm_risky(risky, kw.get("yes", False))

        async def action(car: Vehicle) -> CommandResult:
            result: CommandResult = await getattr(car, method)()
            return result

        row, result = _on_vehicle(target, vehicle_key, action)
        _report(
            as_json, row, label, result, lambda reason: words.get(reason) or _already_words(label, reason)
        )

    return yes_option(command) if risky is not None else command


lock = _simple("lock", "Lock the car.", "lock", "lock")
unlock = _simple(
    "unlock", "Unlock the car (asks first; --yes to skip).", "unlock", "unlock", risky="unlock the car"
)


def _with_value(
    name: str,
    help_text: str,
    label: str,
    argument: click.Argument,
    send: Send,
    *,
    show_value: bool = True,
    already: Callable[[Any], str] | None = None,
) -> click.Command:
    """A command with one argument VALUE: `send(vehicle, value)`; `already(value)`: the words for it."""

    @click.command(name, help=help_text)
    @json_option
    @vehicle_option
    @cloud_options
    def command(target: CloudTarget, as_json: bool, vehicle_key: str | None, value: Any) -> None:
        async def action(car: Vehicle) -> CommandResult:
            return await send(car, value)

        row, result = _on_vehicle(target, vehicle_key, action)
        shown = f"{label} {value:g}" if isinstance(value, float) else f"{label} {value}"
        shown = shown if show_value else label
        _report(
            as_json,
            row,
            shown,
            result,
            lambda reason: already(value) if already is not None else _already_words(shown, reason),
        )

    command.params.append(argument)
    return command


@click.group("charge")
def charge() -> None:
    """Start or stop charging, set the limit or the current."""


charge.add_command(_simple(
    "start", "Start charging (already charging: a success).", "charge start", "charge_start",
    already={"is_charging": "already charging"},
))  # fmt: skip
charge.add_command(_simple(
    "stop", "Stop charging (not charging: a success).", "charge stop", "charge_stop",
    already={"not_charging": "not charging, nothing to stop", "complete": "charging already complete"},
))  # fmt: skip
charge.add_command(_with_value(
    "limit",
    "Set the charge limit: PERCENT is 50-100 (%).\n\nExample: `teslalink charge limit 80`.",
    "charge limit",
    click.Argument(["value"], type=int, metavar="PERCENT"),
    lambda car, value: car.set_charge_limit(value),
    already=lambda value: f"charge limit already {value}%",
))  # fmt: skip
charge.add_command(_with_value(
    "amps",
    "Set the charging current: AMPS is 0-48 (A); the car gives at least 2 A and at most its "
    "maximum on this supply (`teslalink vehicle data` shows it: charge current, max)."
    "\n\nExample: `teslalink charge amps 16`.",
    "charge amps",
    click.Argument(["value"], type=int, metavar="AMPS"),
    lambda car, value: car.set_charging_amps(value),
))  # fmt: skip


@click.group("climate")
def climate() -> None:
    """Turn the climate on or off, set the temperatures."""


climate.add_command(_simple("on", "Turn the climate on.", "climate on", "climate_on"))
climate.add_command(_simple("off", "Turn the climate off.", "climate off", "climate_off"))

_TEMPERATURE_RANGE = {"C": (15.0, 28.0), "F": (59.0, 82.0)}
"""What the car accepts (the library checks 15-28 °C); 82 °F, not 82.4, as the car's own steps."""
_TEMPERATURE = re.compile(r"^\s*(?P<value>[+-]?\d+(?:\.\d+)?)\s*°?\s*(?P<unit>[CcFf])\s*$")


def parse_temperature(text: str) -> tuple[float, str]:
    """`22C`, `21.5C` or `72F` (`°` allowed) -> (°C rounded to 0.1, the text as shown back).

    Our choice: a bare number is refused. Its unit is the one the car displays, which only a
    request for gui_settings could tell (a request a command should not cost), and a wrong guess
    sets the cabin to the wrong temperature.
    """
    found = _TEMPERATURE.match(text)
    if found is None:
        raise click.UsageError(f"a temperature needs its unit, e.g. 22C or 72F, got {text!r}")
    number, unit = float(found["value"]), found["unit"].upper()
    low, high = _TEMPERATURE_RANGE[unit]
    if not low <= number <= high:
        raise click.ClickException(f"a cabin temperature is {low:g}-{high:g} °{unit}, got {number:g}{unit}")
    celsius = number if unit == "C" else (number - 32.0) / 1.8
    return round(celsius, 1), f"{number:g}{unit}"


@climate.command("temp")
@json_option
@click.argument("driver")
@click.argument("passenger", required=False)
@vehicle_option
@cloud_options
def climate_temp(
    target: CloudTarget,
    as_json: bool,
    driver: str,
    passenger: str | None,
    vehicle_key: str | None,
) -> None:
    """Set the driver (and passenger) temperature: 15-28 °C or 59-82 °F, with its unit.

    DRIVER and PASSENGER are written with their unit, as the car displays it: `22C`, `21.5C` or
    `72F`; a number without a unit is refused. The passenger side follows the driver's if omitted.

    Example: `teslalink climate temp 72F` or `teslalink climate temp 21C 22.5C`.
    """

    driver_c, driver_text = parse_temperature(driver)
    passenger_c, passenger_text = parse_temperature(passenger) if passenger is not None else (None, "")

    async def action(car: Vehicle) -> CommandResult:
        return await car.set_temps(driver_c, passenger_c)

    row, result = _on_vehicle(target, vehicle_key, action)
    label = f"climate temp {driver_text}" + (f"/{passenger_text}" if passenger_text else "")
    _report(as_json, row, label, result, lambda reason: _already_words(label, reason))


def _words(words: str | None) -> Callable[[Any], str] | None:
    """`already` for `_with_value` when the words do not depend on the value."""
    return None if words is None else lambda _value: words


def _calls(method: str) -> Send:
    async def send(car: Vehicle, value: Any) -> CommandResult:
        result: CommandResult = await getattr(car, method)(value)
        return result

    return send


@click.group("speed-limit")
def speed_limit() -> None:
    """Speed Limit Mode: set the limit, activate or deactivate it, clear its PIN."""


speed_limit.add_command(_with_value(
    "set",
    "Set the limit: MPH is 50-90 (mph), while the mode is inactive.\n\n"
    "Example: `teslalink speed-limit set 65`.",
    "speed-limit set",
    click.Argument(["value"], type=float, metavar="MPH"),
    lambda car, value: car.speed_limit_set_limit(value),
))  # fmt: skip
_SPEED_LIMIT_ALREADY = {
    "activate": "Speed Limit Mode already active",
    "deactivate": "Speed Limit Mode already inactive",
}
for _name, _method in (
    ("activate", "speed_limit_activate"),
    ("deactivate", "speed_limit_deactivate"),
    ("clear-pin", "speed_limit_clear_pin"),
):
    speed_limit.add_command(_with_value(
        _name,
        f"{_name.replace('-', ' ').capitalize()} (needs the 4-digit PIN; the first activation sets it)."
        f"\n\nExample: `teslalink speed-limit {_name} 1234`.",
        f"speed-limit {_name}",
        click.Argument(["value"], metavar="PIN"),
        _calls(_method), show_value=False,
        already=_words(_SPEED_LIMIT_ALREADY.get(_name)),
    ))  # fmt: skip


@click.command("command")
@json_option
@click.argument("name")
@click.argument("params", nargs=-1, metavar="[KEY=VALUE]...")
@yes_option
@vehicle_option
@cloud_options
def command(
    target: CloudTarget, as_json: bool, name: str, params: tuple[str, ...], yes: bool, vehicle_key: str | None
) -> None:
    """Send any named command of the catalogue (`teslalink api --list command` lists them).

    Example: `teslalink command CHANGE_CHARGE_LIMIT percent=80` or `teslalink command FLASH_LIGHTS`.
    """
    values = parse_params(params)
    risky = risky_action(name, values)
    if risky is not None:
        confirm_risky(risky, yes)

    async def action(car: Vehicle) -> CommandResult:
        return await car.command(name.upper(), **values)

    row, answer = _on_vehicle(target, vehicle_key, action)
    label = name.upper()
    _report(as_json, row, label, answer, lambda reason: _already_words(label, reason))
