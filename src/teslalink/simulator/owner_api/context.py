"""What every Owner API handler shares: the world, the policies, the request's account and objects.

Handlers find the `OwnerApi` under ``request.app[OWNER_API]``; the auth middleware leaves the
request's account under ``request[ACCOUNT]``. Lookups answer None for anything the account may
not see, so "unknown" and "someone else's" are the same 404, as on the real service.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import orjson
from aiohttp import web

from ..accounting import BillingCategory
from ..accounts import Account
from ..faults import Faults
from ..refusal import Refusal
from .products import WallConnectorLink, linked_wall_connectors
from .ratelimit import RateLimiter, RateLimits

if TYPE_CHECKING:
    from ..site.energy_site import EnergySite
    from ..vehicle.car import Car
    from ..world import World

__all__ = ["ACCOUNT", "BAD_BODY", "OWNER_API", "BadBody", "OwnerApi", "RouteInfo", "read_params"]

BAD_BODY: Final = "invalid request body"


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """How a route is guarded and billed."""

    category: BillingCategory | None = None  # None: not billed (account-level or unauthenticated)
    auth: bool = True
    vehicle: bool = False  # the path's {id} is a vehicle (per-vehicle limits and billing)
    faults: bool = True  # injected faults apply (not to the admin endpoints)


class OwnerApi:
    """The Owner API twin's state beyond the world: faults, rate limits, the signing mode."""

    def __init__(
        self,
        world: World,
        *,
        faults: Faults | None = None,
        rate_limits: RateLimits | None = None,
        require_signed_commands: bool = False,
    ) -> None:
        self.world = world
        self.faults = faults if faults is not None else Faults(world.seed)
        self.limiter = RateLimiter(rate_limits if rate_limits is not None else RateLimits())
        self.require_signed_commands = require_signed_commands
        """World-level mode: every car refuses unsigned commands (403), as since 2024 for newer cars."""
        self.locked: set[str] = set()
        """Emails (lower case) of locked accounts: every authenticated call answers 423."""
        self.routes: dict[str, RouteInfo] = {}
        self._cars: dict[int, Car] = {}
        self._cars_seen = -1

    def __repr__(self) -> str:
        return (
            f"OwnerApi(world={self.world!r}, faults={self.faults.to_spec()!r}, "
            f"rate_limits={self.limiter.limits!r}, require_signed_commands={self.require_signed_commands!r})"
        )

    @property
    def rate_limits(self) -> RateLimits:
        return self.limiter.limits

    @rate_limits.setter
    def rate_limits(self, limits: RateLimits) -> None:
        self.limiter = RateLimiter(limits)

    def lock(self, account: Account, locked: bool = True) -> None:
        """Lock (or unlock) `account` on the Owner API: its valid tokens get 423 until unlocked."""
        key = account.email.lower()
        if locked:
            self.locked.add(key)
        else:
            self.locked.discard(key)

    def route_info(self, request: web.Request) -> RouteInfo | None:
        resource = request.match_info.route.resource
        return None if resource is None else self.routes.get(resource.canonical)

    # --- lookups (None: not found for this account) ----------------------------------------------

    def car(self, account: Account, id_text: str) -> Car | None:
        """The car `id_text` (its `id`, as digits) if `account` owns it."""
        if not _is_id(id_text):
            return None
        cars = self.world.vehicles
        if len(cars) != self._cars_seen:
            self._cars = {car.id: car for car in cars}
            self._cars_seen = len(cars)
        car = self._cars.get(int(id_text))
        return car if car is not None and car.account is account else None

    def site(self, account: Account, id_text: str) -> EnergySite | WallConnectorLink | None:
        """The energy site (or paired Wall Connector) `id_text` if `account` owns it."""
        if not _is_id(id_text):
            return None
        site_id = int(id_text)
        for site in self.world.sites_of(account):
            if site.energy_site_id == site_id:
                return site
        for link in linked_wall_connectors(self.world, account):
            if link.energy_site_id == site_id:
                return link
        return None


# Ids are 13 to 19 digits; twice that is room enough, and keeps int() far below Python's limit
# on digits (a 5,000-digit id raised ValueError: a 500 where Tesla answers 404 not_found).
_ID_DIGITS_MAX: Final = 40


def _is_id(text: str) -> bool:
    """ASCII digits of a plausible length (str.isdigit() also takes '²', which int() refuses)."""
    return 0 < len(text) <= _ID_DIGITS_MAX and text.isascii() and text.isdigit()


OWNER_API: Final = web.AppKey("teslalink_owner_api", OwnerApi)
ACCOUNT: Final = web.RequestKey("teslalink_account", Account)


class BadBody(Refusal):
    """A request body that is neither a JSON object nor a form (400, our wording)."""

    status = 400
    default_error = BAD_BODY


async def read_params(request: web.Request, *, coerce: bool = False) -> dict[str, Any]:
    """A command's parameters: JSON object or form body, over query parameters; BadBody if malformed.

    With `coerce`, form and query values that look like booleans or numbers become them, so that
    a form post means the same as the JSON one to a strict model (the energy site). The car takes
    strings as they come (its commands parse "true" and "75" themselves).
    """
    convert = _coerce if coerce else _same
    params: dict[str, Any] = {key: convert(value) for key, value in request.query.items()}
    raw = await request.read()
    if not raw.strip():
        return params
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.post()
        except ValueError:  # bytes that are not UTF-8, a multipart body without its boundary
            raise BadBody from None
        params.update({key: convert(value) for key, value in form.items() if isinstance(value, str)})
        return params
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadBody from None
    if not isinstance(data, Mapping):
        raise BadBody
    params.update(data)
    return params


def _same(value: str) -> Any:
    return value


def _coerce(value: str) -> Any:
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(lowered)
    except ValueError:
        pass
    try:
        number = float(lowered)
    except ValueError:
        return value
    return number if math.isfinite(number) else value
