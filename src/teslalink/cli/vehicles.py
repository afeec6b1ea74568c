"""The car commands: `vehicles`, `vehicle data`, `wake`, `command NAME k=v` and the friendly groups
(`charge`, `climate`, `lock`, `unlock`, `speed-limit`).

Every command opens one Owner API session for the chosen account, picks the car (`--vehicle`,
default the first), and does one thing; a refused command is one line with the car's reason.
Nothing here wakes a car except `wake`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import click

from ._cloud import (
    CloudTarget,
    cloud_options,
    confirm_risky,
    is_interactive,
    json_option,
    parse_params,
    pick_vehicle,
    risky_action,
    vehicle_option,
    yes_option,
)
from ._common import echo, echo_json, run, safe_console

Action = Callable[[Any], Awaitable[Any]]


def _vehicle_row(vehicle: Any) -> dict[str, Any]:
    return {
        "display_name": vehicle.display_name,
        "vin": vehicle.vin,
        "id": vehicle.id_s,
        "vehicle_id": vehicle.vehicle_id,
        "state": vehicle.state,
        "in_service": vehicle.in_service,
    }


def _print_table(title: str, rows: list[tuple[str, Any]]) -> None:
    from rich.table import Table  # noqa: PLC0415

    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for name, value in rows:
        table.add_row(name, "-" if value is None else str(value))
    safe_console().print(table)


@click.command("vehicles")
@json_option
@cloud_options
def vehicles(target: CloudTarget, as_json: bool) -> None:
    """List the account's cars (never wakes them)."""

    async def go() -> list[dict[str, Any]]:
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


def _on_vehicle(target: CloudTarget, vehicle_key: str | None, action: Action) -> tuple[Any, Any]:
    """Run `action(vehicle)` on the chosen car; returns (the car's row, what action returned)."""

    async def go() -> tuple[Any, Any]:
        async with target.api() as api:
            vehicle = pick_vehicle(await api.vehicles(), vehicle_key)
            result = await action(vehicle)
            return _vehicle_row(vehicle), result

    return run(go())


@click.group("vehicle")
def vehicle() -> None:
    """Read one car."""


@vehicle.command("data")
@json_option
@click.option("--endpoints", default=None, help="Comma-separated blocks, e.g. charge_state,climate_state.")
@vehicle_option
@cloud_options
def vehicle_data(target: CloudTarget, as_json: bool, endpoints: str | None, vehicle_key: str | None) -> None:
    """The car's vehicle_data (the car must be online: see `teslalink wake`)."""
    chosen = [e.strip() for e in endpoints.split(",") if e.strip()] if endpoints else None

    async def action(car: Any) -> Any:
        return await car.vehicle_data(endpoints=chosen)

    row, data = _on_vehicle(target, vehicle_key, action)
    if as_json:
        echo_json(data.raw)
        return
    _print_table(
        f"{row['display_name'] or row['vin']} ({data.state})",
        [
            ("battery %", data.battery_level),
            ("charging", data.charging_state),
            ("charge limit %", data.charge_limit_soc),
            ("charger power kW", data.charger_power_kw),
            ("range", data.format_distance(data.battery_range_mi)),
            ("inside", data.format_temperature(data.inside_temp_c)),
            ("outside", data.format_temperature(data.outside_temp_c)),
            ("climate on", data.is_climate_on),
            ("locked", data.locked),
            ("odometer", data.format_distance(data.odometer_mi)),
            ("software", data.car_version),
        ],
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
    """Wake the car and wait until it is online (progress is shown while waiting)."""  # fmt: skip
    if is_interactive():
        status = safe_console(stderr=True).status("Waking the car...")

        def progress(state: str, waited: float) -> None:
            status.update(f"Waking the car: {state} after {waited:.0f} s")

        status.start()
    else:
        status = None

        def progress(state: str, waited: float) -> None:
            echo(f"waking: {state} after {waited:.0f} s", err=True)

    async def action(car: Any) -> None:
        await car.wake_up(timeout, progress=progress, interval=interval)

    try:
        row, _ = _on_vehicle(target, vehicle_key, action)
    finally:
        if status is not None:
            status.stop()
    if as_json:
        echo_json(row)
    else:
        echo(f"{row['display_name'] or row['vin']} is online.")


def _report(as_json: bool, row: dict[str, Any], label: str, answer: Any = None) -> None:
    if as_json:
        echo_json(
            {
                "vehicle": row["vin"],
                "command": label,
                "result": True,
                **({"answer": answer} if answer else {}),
            }
        )
    else:
        echo(f"{row['display_name'] or row['vin']}: {label} done.")


def _simple(name: str, help_text: str, label: str, method: str, risky: str | None = None) -> click.Command:
    """A command with no argument that calls `Vehicle.<method>()`."""

    @click.command(name, help=help_text)
    @json_option
    @vehicle_option
    @cloud_options
    def command(target: CloudTarget, as_json: bool, vehicle_key: str | None, **kw: Any) -> None:
        if risky is not None:
            confirm_risky(risky, kw.get("yes", False))

        async def action(car: Any) -> None:
            await getattr(car, method)()

        row, _ = _on_vehicle(target, vehicle_key, action)
        _report(as_json, row, label)

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
    send: Callable[[Any, Any], Awaitable[None]],
    *,
    show_value: bool = True,
) -> click.Command:
    """A command with one argument VALUE: `send(vehicle, value)`."""

    @click.command(name, help=help_text)
    @json_option
    @vehicle_option
    @cloud_options
    def command(target: CloudTarget, as_json: bool, vehicle_key: str | None, value: Any) -> None:
        async def action(car: Any) -> None:
            await send(car, value)

        row, _ = _on_vehicle(target, vehicle_key, action)
        _report(as_json, row, f"{label} {value}" if show_value else label)

    command.params.append(argument)
    return command


@click.group("charge")
def charge() -> None:
    """Start or stop charging, set the limit or the current."""


charge.add_command(_simple("start", "Start charging.", "charge start", "charge_start"))
charge.add_command(_simple("stop", "Stop charging.", "charge stop", "charge_stop"))
charge.add_command(_with_value(
    "limit", "Set the charge limit (percent).", "charge limit",
    click.Argument(["value"], type=int, metavar="PERCENT"),
    lambda car, value: car.set_charge_limit(value),
))  # fmt: skip
charge.add_command(_with_value(
    "amps", "Set the charging current (amperes).", "charge amps",
    click.Argument(["value"], type=int, metavar="AMPS"),
    lambda car, value: car.set_charging_amps(value),
))  # fmt: skip


@click.group("climate")
def climate() -> None:
    """Turn the climate on or off, set the temperatures."""


climate.add_command(_simple("on", "Turn the climate on.", "climate on", "climate_on"))
climate.add_command(_simple("off", "Turn the climate off.", "climate off", "climate_off"))


@climate.command("temp")
@json_option
@click.argument("driver", type=float)
@click.argument("passenger", type=float, required=False)
@vehicle_option
@cloud_options
def climate_temp(
    target: CloudTarget, as_json: bool, driver: float, passenger: float | None, vehicle_key: str | None
) -> None:
    """Set the driver (and passenger) temperature in °C."""

    async def action(car: Any) -> None:
        await car.set_temps(driver, passenger)

    row, _ = _on_vehicle(target, vehicle_key, action)
    _report(as_json, row, f"climate temp {driver:g}" + (f"/{passenger:g}" if passenger is not None else ""))


def _calls(method: str) -> Callable[[Any, Any], Awaitable[None]]:
    async def send(car: Any, value: Any) -> None:
        await getattr(car, method)(value)

    return send


@click.group("speed-limit")
def speed_limit() -> None:
    """Speed Limit Mode: set the limit, activate or deactivate it, clear its PIN."""


speed_limit.add_command(_with_value(
    "set", "Set the limit (mph).", "speed-limit set",
    click.Argument(["value"], type=float, metavar="MPH"),
    lambda car, value: car.speed_limit_set_limit(value),
))  # fmt: skip
for _name, _method in (
    ("activate", "speed_limit_activate"),
    ("deactivate", "speed_limit_deactivate"),
    ("clear-pin", "speed_limit_clear_pin"),
):
    speed_limit.add_command(_with_value(
        _name, f"{_name.replace('-', ' ').capitalize()} (needs the 4-digit PIN).", f"speed-limit {_name}",
        click.Argument(["value"], metavar="PIN"),
        _calls(_method), show_value=False,
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
    """Send any named command, e.g. `teslalink command CHANGE_CHARGE_LIMIT percent=80`."""
    values = parse_params(params)
    risky = risky_action(name, values)
    if risky is not None:
        confirm_risky(risky, yes)

    async def action(car: Any) -> Any:
        return await car.command(name.upper(), **values)

    row, answer = _on_vehicle(target, vehicle_key, action)
    _report(as_json, row, name.upper(), answer)
