"""Fast JSON decoding that tolerates the Wall Connector firmware's broken output.

The fast path is one `orjson.loads`. Only when that fails do we repair, in one pass that knows
where strings are (so a value like ``"nan"`` inside quotes is never touched):

* bare non-finite numbers (``nan``, ``-nan``, ``NaN``, ``inf``, ``-inf``, ``Infinity``...) become
  ``null``: the device had no reading, and a missing reading must never look like a number;
* a missing final ``}`` (or ``]``) is added;
* anything after the first complete top-level value is dropped.

Whatever is still not JSON raises `DecodeError` carrying the raw bytes. No other exception leaves
this module, whatever bytes come in. Like orjson, integers beyond 64 bits decode as the nearest
float; no device or Tesla answer carries such numbers.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from .errors import DecodeError

__all__ = ["decode_object", "dumps", "loads"]

# A bare word or signed word outside strings: what the firmware writes for non-finite floats.
_NON_FINITE = re.compile(rb"[-+]?(?:nan|inf(?:inity)?)(?![A-Za-z0-9_])", re.IGNORECASE)
_TOKEN_START = frozenset(b"-+nNiI")
_OPENERS = {ord("{"): ord("}"), ord("["): ord("]")}
_CLOSERS = frozenset(b"}]")
_QUOTE = ord('"')
_BACKSLASH = ord("\\")


def loads(body: bytes | str) -> Any:
    """Decode strict JSON; raise DecodeError (with the body) on anything else."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
        raise DecodeError(f"not valid JSON: {exc}", raw) from None


def dumps(value: Any) -> bytes:
    """Encode with orjson: the one place the project chooses its JSON options."""
    return orjson.dumps(value)


def decode_object(body: bytes) -> dict[str, Any]:
    """Decode a device answer that must be a JSON object, repairing known firmware faults."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        value = _decode_repaired(body)
    if not isinstance(value, dict):
        raise DecodeError(f"expected a JSON object, got {type(value).__name__}", bytes(body))
    return value


def _decode_repaired(body: bytes) -> Any:
    repaired = _repair(bytes(body))
    try:
        value = orjson.loads(repaired)
    except orjson.JSONDecodeError as exc:
        try:
            # orjson refuses a few things JSON allows, such as lone surrogate escapes in strings.
            value = json.loads(repaired)
        except (ValueError, RecursionError):
            raise DecodeError(f"not valid JSON even after repair: {exc}", bytes(body)) from None
    if value == {} and repaired != body:
        raise DecodeError("truncated before the first field", bytes(body))
    return value


def _repair(body: bytes) -> bytes:
    """Rewrite non-finite tokens to null, cut trailing garbage, close what was left open."""
    out = bytearray()
    stack: list[int] = []
    started = False
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == _QUOTE:
            end = _string_end(body, i)
            out += body[i:end]
            i = end
        elif ch in _TOKEN_START and (match := _NON_FINITE.match(body, i)):
            out += b"null"
            i = match.end()
        elif ch in _OPENERS:
            stack.append(_OPENERS[ch])
            started = True
            out.append(ch)
            i += 1
        elif ch in _CLOSERS:
            out.append(ch)
            i += 1
            if stack and stack[-1] == ch:
                stack.pop()
                if not stack:
                    return bytes(out)  # one complete value: whatever follows is garbage
        else:
            out.append(ch)
            i += 1
    if started and stack:
        stripped = out.rstrip()
        if stripped.endswith(b","):
            del stripped[-1]
        stripped.extend(reversed(stack))
        return bytes(stripped)
    return bytes(out)


def _string_end(body: bytes, start: int) -> int:
    """Index just past the string that opens at `start` (or the end of the body if unterminated)."""
    i, n = start + 1, len(body)
    while i < n:
        ch = body[i]
        if ch == _BACKSLASH:
            i += 2
        elif ch == _QUOTE:
            return i + 1
        else:
            i += 1
    return n
