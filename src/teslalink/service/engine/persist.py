"""The engine's bookkeeping as plain JSON, and back, checked field by field.

Every track of the engine is a dataclass of JSON types (str, int, float, bool, None, lists,
string-keyed dicts, and other such dataclasses), so one pair of functions saves and reads all of
them. Reading checks each value against the field's type and says which field is wrong, in one
line (a `ConfigError`); a field the file lacks takes its default, so a state file written by an
older engine that knew fewer fields still loads.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from ...errors import ConfigError

__all__ = ["dump", "load"]

T = TypeVar("T")


def dump(obj: Any) -> dict[str, Any]:
    """A dataclass of JSON types as a JSON object."""
    return dataclasses.asdict(obj)


def load(cls: type[T], data: object, where: str) -> T:
    """The dataclass `cls` from `dump`'s output; ConfigError naming `where` and the field if not."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"engine state: {where} must be an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            values[f.name] = _convert(hints[f.name], data[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"engine state: {where} lacks {f.name!r}")
    return cls(**values)


def _convert(kind: Any, value: object, where: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        problems = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, where)
            except ConfigError as exc:
                problems.append(str(exc))
        raise ConfigError(problems[0] if problems else f"engine state: {where} is wrong")
    if kind is Any:
        return value
    if origin is list:
        if not isinstance(value, list):
            raise _wrong(where, "a list", value)
        (item,) = typing.get_args(kind)
        return [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _wrong(where, "an object", value)
        _, item = typing.get_args(kind)
        return {str(k): _convert(item, v, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        return load(kind, value, where)
    if kind is bool:
        if not isinstance(value, bool):
            raise _wrong(where, "true or false", value)
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(where, "an integer", value)
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _wrong(where, "a finite number", value)
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise _wrong(where, "a string", value)
        return value
    raise ConfigError(f"engine state: {where} has a type the engine cannot read ({kind!r})")


def _wrong(where: str, expected: str, value: object) -> ConfigError:
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:39] + "…"
    return ConfigError(f"engine state: {where} must be {expected}, got {shown}")
