"""What every command shares: output safe to print (tables, lines, JSON), errors as one line, exit 1."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import math
import re
import sys
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson

from ..errors import TeslalinkError, VehicleUnavailable
from ..wallconnector.models import DeviceModel
from ._text import printable, shown_unless_secret, unsafe_characters

__all__ = ["printable", "shown_unless_secret", "unsafe_characters"]  # and what is defined here

if TYPE_CHECKING:
    from rich.console import Console

_T = TypeVar("_T")


def echo(text: str, *, err: bool = False) -> None:
    """click.echo for lines that hold what a device or Tesla sent (names, states, reasons)."""
    click.echo(printable(text), err=err)


def safe_console(*, stderr: bool = False) -> Console:
    """The Console every table and live view prints through (see `_console`: no markup, no controls)."""
    from ._console import SafeConsole  # noqa: PLC0415 - rich only when a table is printed

    return SafeConsole(stderr=stderr)


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


async def ask(text: str, **options: Any) -> Any:
    """`click.prompt` inside a running command: the loop keeps running and Ctrl-C ends it at once."""
    from .._daemon import in_daemon_thread  # noqa: PLC0415

    return await in_daemon_thread(click.prompt, text, **options)


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
    """Print `value` as JSON, whatever a device sent: 301-digit ints, deep nesting, lone surrogates."""
    try:
        text = json_text(to_jsonable(value))
    except RecursionError:
        raise click.ClickException("the answer is nested too deeply to print as JSON") from None
    except ValueError:  # the stdlib refuses ints of more than sys.get_int_max_str_digits() digits
        raise click.ClickException("the answer holds a number too long to print as JSON") from None
    click.echo(text)


def json_text(data: Any, *, indent: bool = True) -> str:
    """JSON, indented or (`indent=False`) on one line as orjson writes it.

    orjson first; the stdlib for what orjson refuses (ints over 64 bits, nesting over 255, lone
    surrogates): big ints stay numbers, surrogates become U+FFFD. DEL and C1 controls, which JSON
    lets stand in strings, are written as \\u escapes: the same JSON, and nothing a terminal obeys
    (orjson and the stdlib escape C0 controls themselves).
    """
    try:
        text = orjson.dumps(data, option=orjson.OPT_INDENT_2 if indent else None).decode()
    except orjson.JSONEncodeError:
        import json  # noqa: PLC0415 - only for the rare answer orjson refuses

        layout: dict[str, Any] = {"indent": 2} if indent else {"separators": (",", ":")}
        text = json.dumps(_encodable(data), ensure_ascii=False, allow_nan=False, **layout)
    return _DEL_AND_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_DEL_AND_C1 = re.compile("[\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(data: Any) -> Any:
    """What orjson would write, for the stdlib: non-finite floats as null, surrogates as U+FFFD."""
    if isinstance(data, str):
        return _SURROGATE.sub("\ufffd", data)
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {_SURROGATE.sub("\ufffd", str(k)): _encodable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_encodable(v) for v in data]
    return data
