"""Fast JSON decoding that tolerates the Wall Connector firmware's broken output.

The fast path is one `orjson.loads`. Only when that fails do we repair, with regexes that step
over strings (so a value like ``"nan"`` inside quotes is never touched):

* bare non-finite numbers (``nan``, ``-nan``, ``NaN``, ``inf``, ``-inf``, ``Infinity``...) become
  ``null``: the device had no reading, and a missing reading must never look like a number;
* a missing final ``}`` (or ``]``) is added;
* anything after the first complete top-level value is dropped.

Whatever is still not JSON raises `DecodeError` carrying the raw bytes. No other exception leaves
this module, whatever bytes come in. What comes out can always be printed and re-encoded:

* nesting deeper than `MAX_DEPTH` is refused (no device or Tesla answer nests beyond ~6 levels);
* like orjson, integers beyond 64 bits decode as the nearest float (also on the repair path, which
  falls back to the standard library); one beyond any float, or a non-finite float such as
  ``1e400``, becomes ``null`` (our choice: no device sends such numbers, so it is no reading);
* a lone surrogate escape (``"\\ud800"``, which orjson refuses) becomes U+FFFD (our choice: the
  string survives, visibly damaged, and can be printed).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from .errors import DecodeError

__all__ = ["MAX_DEPTH", "decode_object", "dumps", "loads"]

MAX_DEPTH = 64  # our choice; orjson.dumps gives up at 255, and printing wraps answers in more levels
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what orjson and msgspec hold as integers
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a pair would have been decoded as one character

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
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"not valid JSON: {exc}", _raw(body)) from None
    raw = _raw(body) if isinstance(body, str) else body
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        _refuse_deep(value, raw)
    return value


def _raw(body: bytes | str) -> bytes:
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)


def dumps(value: Any, *, indent: bool = False) -> bytes:
    """Encode with orjson: the one place the project chooses its JSON options (`indent`: two spaces)."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else None)


def decode_object(body: bytes) -> dict[str, Any]:
    """Decode a device answer that must be a JSON object, repairing known firmware faults."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        value = _decode_repaired(body)
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH:  # the walk only for a bracket-heavy body
        _refuse_deep(value, body)
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
        if body.count(b"[") + body.count(b"{") > MAX_DEPTH:
            _refuse_deep(value, body)
        value = _printable(value)
    if value == {} and repaired != body:
        raise DecodeError("truncated before the first field", bytes(body))
    return value


def _refuse_deep(value: Any, raw: bytes) -> None:
    """DecodeError when `value` nests deeper than MAX_DEPTH. Callers first count the brackets in
    the body (fewer than MAX_DEPTH cannot nest that deep), which keeps this walk off the common
    path: a Wall Connector answer has a handful."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DecodeError(f"nested deeper than {MAX_DEPTH} levels", bytes(raw))
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))


def _printable(value: Any) -> Any:
    """What the standard library decodes but orjson would not: made printable (see the module doc)."""
    if isinstance(value, dict):
        return {_printable(key): _printable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_printable(item) for item in value]
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not _INT_MIN <= value <= _INT_MAX:
        try:
            return float(value)  # as orjson would
        except OverflowError:
            return None  # beyond any float: no reading
    if isinstance(value, float):
        return value if math.isfinite(value) else None
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
