"""Fault injection for the twin's network surfaces: latency, random 5xx, random 429, dropped connections.

Real clients must survive a cloud that is slow, fails, rate-limits and hangs up; the twin does all
of that on request, per surface ("sso", "owner_api", "streaming", "wall_connector"), from a spec
that the CLI takes as text::

    latency=0.2,5xx=0.05,429=0.02,drop=0.01            every surface
    owner_api.5xx=0.1,sso.latency=0.05-0.3             one surface (a prefix), ranges for latency

keys: ``latency`` (seconds, or ``LOW-HIGH`` drawn uniformly), ``5xx`` (probability of a server
error, one of 500/503/504/540 as docs/reference.md §2.2 lists them), ``429`` (probability of a rate-limit
answer), ``retry_after`` (its Retry-After, seconds, default 60), ``drop`` (probability of closing
the connection without an answer). A prefixed key wins over an unprefixed one for its surface.

Randomness is seeded: each surface draws from its own stream, derived from (seed, surface), and
every decision draws the same number of values whatever the rates are, so a seed replays the same
faults for the same sequence of requests, and traffic on one surface never shifts another's.

Latency is real (wall-clock) seconds: it is about sockets, not about the world's clock.

Reuse outside HTTP middleware (the streaming server): call ``faults.decide("streaming")`` once per
connection attempt or per message and act on the `FaultAction`: ``await action.wait()`` for the
latency, then close the socket if ``action.drop``, refuse the handshake with ``action.status``
(and ``action.retry_after_s`` for 429) if it is set.

Faults can be changed at runtime (``faults.set("owner_api", "5xx=0.5")``, or POST /_twin/faults on
the Owner API's admin endpoints); listeners (``add_listener``) hear of every change, which is how
the Wall Connector units' own quirks follow the "wall_connector" surface.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from ..errors import ConfigError
from .spec_parser import spec_items, spec_number

__all__ = [
    "NO_FAULT",
    "SERVER_ERROR_STATUSES",
    "SURFACES",
    "FaultAction",
    "FaultSpec",
    "Faults",
    "fault_middleware",
    "fault_response",
    "rate_limited_response",
]

SURFACES: Final = ("sso", "owner_api", "streaming", "wall_connector")

SERVER_ERROR_STATUSES: Final = (500, 503, 504, 540)
"""What the Owner API answers when it or the car's connection fails (docs/reference.md §2.2)."""

SERVER_ERROR_TEXT: Final = {
    500: ("Internal Server Error", "internal server error"),
    503: ("Service Unavailable", "service unavailable"),
    504: ("Gateway Timeout", "vehicle did not respond in time"),
    540: ("Unexpected Device Response", "unexpected device response"),
}
"""Reason phrase and error text per status: our choice, docs/reference.md §2.2 gives no bodies for these."""

DEFAULT_RETRY_AFTER_S: Final = 60


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """The faults of one surface; all off by default."""

    latency_s: tuple[float, float] = (0.0, 0.0)
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    drop_rate: float = 0.0
    retry_after_s: int = DEFAULT_RETRY_AFTER_S

    def __post_init__(self) -> None:
        low, high = self.latency_s
        if not (0.0 <= low <= high and math.isfinite(high)):
            raise ConfigError(f"latency must be 0 <= low <= high seconds, got {self.latency_s!r}")
        for name in ("error_rate", "rate_limit_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be a probability between 0 and 1, got {value!r}")
        if self.retry_after_s < 0:
            raise ConfigError(f"retry_after must be >= 0 seconds, got {self.retry_after_s!r}")

    @property
    def any(self) -> bool:
        return bool(self.latency_s[1] > 0 or self.error_rate or self.rate_limit_rate or self.drop_rate)

    def to_spec(self) -> str:
        """The text form (what `Faults.parse` reads back); "" when nothing is on."""
        parts: list[str] = []
        low, high = self.latency_s
        if high > 0:
            parts.append(f"latency={_num(low)}" if low == high else f"latency={_num(low)}-{_num(high)}")
        for key, value in (("5xx", self.error_rate), ("429", self.rate_limit_rate), ("drop", self.drop_rate)):
            if value:
                parts.append(f"{key}={_num(value)}")
        if self.retry_after_s != DEFAULT_RETRY_AFTER_S:
            parts.append(f"retry_after={self.retry_after_s}")
        return ",".join(parts)

    def with_item(self, key: str, value: str) -> FaultSpec:
        """This spec with one ``key=value`` of the text form applied (ConfigError if invalid)."""
        if key == "latency":
            low_text, sep, high_text = value.partition("-")
            low = _float(key, low_text)
            return replace(self, latency_s=(low, _float(key, high_text) if sep else low))
        if key == "retry_after":
            seconds = _float(key, value)
            if seconds != int(seconds):
                raise ConfigError(f"retry_after must be whole seconds, got {value!r}")
            return replace(self, retry_after_s=int(seconds))
        if key == "5xx":
            return replace(self, error_rate=_float(key, value))
        if key == "429":
            return replace(self, rate_limit_rate=_float(key, value))
        if key == "drop":
            return replace(self, drop_rate=_float(key, value))
        raise ConfigError(f"unknown fault {key!r}; expected latency, 5xx, 429, drop or retry_after")


NO_SPEC: Final = FaultSpec()


@dataclass(frozen=True, slots=True)
class FaultAction:
    """What to do to one request, connection or message: wait, then drop or fail (or go on)."""

    delay_s: float = 0.0
    drop: bool = False
    status: int | None = None  # 5xx or 429
    retry_after_s: int | None = None  # with 429

    @property
    def fails(self) -> bool:
        """The request must not reach the handler (dropped or answered with an error)."""
        return self.drop or self.status is not None

    async def wait(self) -> None:
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)


NO_FAULT: Final = FaultAction()


class Faults:
    """Per-surface fault specs with seeded decisions; mutable at runtime."""

    def __init__(self, seed: int | str = 0, specs: Mapping[str, FaultSpec] | None = None) -> None:
        self.seed = seed
        self._specs: dict[str, FaultSpec] = {}
        self._rngs = {surface: random.Random(f"teslalink:faults:{seed}:{surface}") for surface in SURFACES}
        self._listeners: list[Callable[[str, FaultSpec], None]] = []
        for surface, spec in (specs or {}).items():
            self.set(surface, spec)

    def __repr__(self) -> str:
        return f"Faults(seed={self.seed!r}, spec={self.to_spec()!r})"

    @classmethod
    def parse(cls, text: str, seed: int | str = 0) -> Faults:
        """Read the CLI form (see the module docstring); raise ConfigError."""
        faults = cls(seed)
        for surface, spec in parse_specs(text).items():
            faults.set(surface, spec)
        return faults

    def spec(self, surface: str) -> FaultSpec:
        _check_surface(surface)
        return self._specs.get(surface, NO_SPEC)

    @property
    def specs(self) -> dict[str, FaultSpec]:
        """The surfaces that have a spec (a copy)."""
        return dict(self._specs)

    def set(self, surface: str | None, spec: FaultSpec | str) -> None:
        """Replace the spec of `surface` (None: of every surface); text specs may carry prefixes."""
        if isinstance(spec, str):
            parsed = parse_specs(spec, only=surface)
            targets = SURFACES if surface is None else (surface,)
            for name in targets:
                self._apply(name, parsed.get(name, NO_SPEC))
            return
        for name in SURFACES if surface is None else (surface,):
            self._apply(name, spec)

    def clear(self) -> None:
        self.set(None, NO_SPEC)

    def add_listener(self, listener: Callable[[str, FaultSpec], None]) -> None:
        """Call `listener(surface, spec)` after every change of a surface's spec."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[str, FaultSpec], None]) -> None:
        self._listeners.remove(listener)

    def decide(self, surface: str) -> FaultAction:
        """Draw the fate of one request on `surface` (NO_FAULT when the surface has no spec)."""
        spec = self.spec(surface)
        if not spec.any:
            return NO_FAULT
        rng = self._rngs[surface]
        u_drop, u_error, u_limit, u_latency, u_status = (rng.random() for _ in range(5))
        low, high = spec.latency_s
        delay = low + (high - low) * u_latency
        if u_drop < spec.drop_rate:
            return FaultAction(delay_s=delay, drop=True)
        if u_error < spec.error_rate:
            status = SERVER_ERROR_STATUSES[int(u_status * len(SERVER_ERROR_STATUSES))]
            return FaultAction(delay_s=delay, status=status)
        if u_limit < spec.rate_limit_rate:
            return FaultAction(delay_s=delay, status=429, retry_after_s=spec.retry_after_s)
        return FaultAction(delay_s=delay)

    def to_spec(self) -> str:
        """Every surface's spec in the text form, prefixed."""
        return ",".join(
            f"{surface}.{item}"
            for surface in SURFACES
            if (text := self.spec(surface).to_spec())
            for item in text.split(",")
        )

    def as_json(self) -> dict[str, str]:
        return {surface: self.spec(surface).to_spec() for surface in SURFACES}

    def _apply(self, surface: str, spec: FaultSpec) -> None:
        _check_surface(surface)
        if spec != NO_SPEC:
            self._specs[surface] = spec
        else:
            self._specs.pop(surface, None)
        for listener in list(self._listeners):
            listener(surface, spec)


def parse_specs(text: str, only: str | None = None) -> dict[str, FaultSpec]:
    """``"latency=0.2,owner_api.5xx=0.1"`` -> a spec per surface (unprefixed items apply to all).

    With `only`, a prefix naming another surface is an error (a spec meant for one surface).
    """
    common: list[tuple[str, str]] = []
    specific: list[tuple[str, str, str]] = []
    for item in spec_items(text):
        if not item.value:
            raise ConfigError(f"fault {item.text!r} needs a value (key=value)")
        key, value = item.key, item.value
        surface, dot, name = key.rpartition(".")
        if dot:
            _check_surface(surface)
            if only is not None and surface != only:
                raise ConfigError(f"fault {item.text!r} is for {surface!r}, not {only!r}")
            specific.append((surface, name, value))
        else:
            common.append((key, value))
    specs: dict[str, FaultSpec] = {}
    for surface in SURFACES if only is None else (only,):
        spec = NO_SPEC
        for key, value in common:
            spec = spec.with_item(key, value)
        for name_surface, key, value in specific:
            if name_surface == surface:
                spec = spec.with_item(key, value)
        if spec != NO_SPEC:
            specs[surface] = spec
    return specs


# --- HTTP -------------------------------------------------------------------------------------


def rate_limited_response(retry_after_s: float) -> web.Response:
    """429 as Tesla sends it: a Retry-After header and the plain-text body "Retry in N seconds"."""
    seconds = max(0, math.ceil(retry_after_s))
    return web.Response(
        status=429,
        text=f"Retry in {seconds} seconds\n",
        content_type="text/plain",
        headers={"Retry-After": str(seconds)},
    )


def fault_response(action: FaultAction) -> web.Response | None:
    """The answer an injected 5xx or 429 gets (None when the action has no status)."""
    if action.status is None:
        return None
    if action.status == 429:
        return rate_limited_response(action.retry_after_s or 0)
    reason, error = SERVER_ERROR_TEXT.get(action.status, ("Server Error", "server error"))
    body = {"response": None, "error": error, "error_description": ""}
    return web.Response(
        status=action.status, reason=reason, body=orjson.dumps(body), content_type="application/json"
    )


def drop_connection(request: web.BaseRequest) -> web.Response:
    """Close the connection without a byte of answer (the client sees a disconnect)."""
    if request.transport is not None:
        request.transport.abort()
    if request.protocol is not None:
        request.protocol.force_close()
    return web.Response()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DROPPED: Final = web.RequestKey("teslalink_fault_dropped", bool)


def fault_middleware(
    faults: Faults, surface: str, *, exempt: Callable[[web.Request], bool] | None = None
) -> Middleware:
    """An aiohttp middleware applying `faults` of `surface` to every request not `exempt`.

    A dropped request is marked (``request[DROPPED]``) so that outer middlewares (accounting) can
    tell that nobody got an answer.
    """
    _check_surface(surface)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if exempt is not None and exempt(request):
            return await handler(request)
        action = faults.decide(surface)
        if action is NO_FAULT:
            return await handler(request)
        await action.wait()
        if action.drop:
            request[DROPPED] = True
            return drop_connection(request)
        response = fault_response(action)
        if response is not None:
            return response
        return await handler(request)

    return middleware


def _check_surface(surface: str) -> None:
    if surface not in SURFACES:
        raise ConfigError(f"unknown surface {surface!r}; expected one of {', '.join(SURFACES)}")


def _float(key: str, text: str) -> float:
    return spec_number("fault", key, text)


def _num(value: float) -> str:
    return f"{value:g}"
