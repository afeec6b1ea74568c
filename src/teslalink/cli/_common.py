"""What every command shares: JSON output, and errors as one clear line with exit code 1."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import sys
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

import click
import orjson

from ..errors import TeslalinkError, VehicleUnavailable
from ..wallconnector.models import DeviceModel

_T = TypeVar("_T")


def run(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a command's coroutine; a teslalink error becomes one line on stderr and exit code 1."""
    try:
        return asyncio.run(coro)
    except VehicleUnavailable as exc:
        hint = "the car is asleep or offline; `teslalink wake` wakes it"
        raise click.ClickException(f"{exc} ({hint})") from None
    except TeslalinkError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        sys.exit(130)


def to_jsonable(value: Any) -> Any:
    """Models to plain JSON values: enums by name, tuples as lists, the raw answer left out."""
    if isinstance(value, DeviceModel):
        return {name: to_jsonable(item) for name, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "raw"
        }
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def echo_json(value: Any) -> None:
    click.echo(orjson.dumps(to_jsonable(value), option=orjson.OPT_INDENT_2).decode())
