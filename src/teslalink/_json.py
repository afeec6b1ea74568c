"""Fast JSON decoding that tolerates the Wall Connector firmware's broken output.

The fast path is one `orjson.loads`. Only when that fails do we repair, with regexes that step
over strings (so a value like ``"nan"`` inside quotes is never touched):

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

_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"?'  # unrolled for speed; an unterminated string runs to the end
# A string, or a bare (signed) word the firmware writes for a non-finite float.
_STRING_OR_NON_FINITE = re.compile(
    _STRING + rb"|[-+]?(?:[nN][aA][nN]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)(?![A-Za-z0-9_])", re.DOTALL
)
_STRING_OR_BRACKET = re.compile(_STRING + rb"|[\[\]{}]", re.DOTALL)
_CLOSER_OF = {b"{": b"}", b"[": b"]"}


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
    text = _STRING_OR_NON_FINITE.sub(_keep_string_else_null, body)
    try:
        return orjson.loads(text)  # the common fault: only `nan` in the way
    except orjson.JSONDecodeError:
        pass
    repaired = _close_or_cut(text)
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


def _close_or_cut(text: bytes) -> bytes:
    """Cut what follows the first complete value, or close the brackets it left open.

    Walks only strings and brackets (so a bracket inside quotes never counts).
    """
    stack: list[bytes] = []
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in _CLOSER_OF:
            stack.append(_CLOSER_OF[token])
        elif stack and token == stack[-1]:
            stack.pop()
            if not stack:
                return text[: match.end()]  # one complete value: whatever follows is garbage
    if not stack:
        return text
    head = text.rstrip()
    if head.endswith(b","):
        head = head[:-1]
    return head + b"".join(reversed(stack))


def _keep_string_else_null(match: re.Match[bytes]) -> bytes:
    """Strings pass through untouched; a bare non-finite token becomes null."""
    token = match.group()
    return token if token[:1] == b'"' else b"null"
