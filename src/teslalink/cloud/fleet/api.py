"""The Fleet API client: `TeslaApi`'s request path and models at a regional Fleet host.

Reads use the same paths and bodies as the Owner API (research/fleet.md 1.10), so `Vehicle`,
`VehicleData` and `EnergySite` work unchanged. What the Fleet API adds, and how we treat it:

* regions: an account lives in one ("na", "eu", "cn"). `discover_region()` asks
  `users/region`; a 421 (`user out of region, use base URL: ...`) means nothing ran, so the
  call, a command too, is sent ONCE more at the host Tesla named, which is then remembered
  (`on_region(region, base_url)` lets the CLI persist it). Only hosts of our `FleetHosts` are
  followed: a token never goes to a host nobody configured;
* 412: the partner app is not registered in this region (`NotRegistered`, with the fix);
* 403 `Unauthorized missing scopes`: `MissingScopes`, with the scopes Tesla named. Location is
  asked (`location_data`) only when the caller names it: it needs the `vehicle_location` scope
  and shows the location icon in the car;
* 429: as `TeslaApi`, a cooldown per host (Retry-After, else RateLimit-Reset), shared with the
  signed-command path;
* money: every answer below 500 of a billed route is counted (`count_billable`, into a
  `BudgetLedger` when given); the `x-txid` of every answer is logged at debug, for Tesla support;
* commands: `vehicle_command` signs them (`teslalink.cloud.fleet.routing`) when a signer is set,
  else sends REST (a pre-2021 Model S/X, or a user's tesla-http-proxy: `command_proxy`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from yarl import URL

from ... import errors
from ..._http import Transport
from ...transport import Clock, Response, RetryPolicy, Sleep, Timeouts
from ..api import DEFAULT_COOLDOWN_S, TeslaApi, _error_fields
from ..config import CloudUrls
from ..endpoints import endpoint
from ..provider import TokenProvider
from .hosts import FLEET_API_URLS, FleetHosts
from .refusals import fleet_refusal
from .routing import route_command
from .status import FleetStatus

if TYPE_CHECKING:
    import aiohttp

    from ..._pool_http import PoolTransport
    from ..vehicle import Vehicle
    from .ledger import BudgetLedger
    from .signer import VcpSigner

__all__ = ["BILLING_CATEGORIES", "FleetApi", "billing_category"]

_LOG = logging.getLogger(__name__)

BILLING_CATEGORIES: Final = ("data", "commands", "wakes", "signals")

RegionCallback = Callable[[str, str], None]
"""on_region(region, base_url): the account's region became known or changed."""

# research/fleet.md 1.8: Go's inet.go reads the host of a 421 with this pattern (we keep the URL),
# and its proxy also honours `Alt-Svc: h2=https://<host>`.
_VEHICLE_TAG = re.compile(r"^(?:[A-HJ-NPR-Z0-9]{17}|\d+)$", re.IGNORECASE)
_MAX_PAGES: Final = 50
"""Our choice: at most 50 pages of 100 cars from `vehicles` (a bound, not a real account)."""
_PAGE_SIZE: Final = 100

# Which routes Tesla bills, and as what (research/fleet.md 1.9, the twin's api_app.ROUTES):
_BILLED: Final = (
    ("GET", re.compile(r"/api/1/vehicles/[^/]+/vehicle_data$"), "data"),  # Tesla's docs
    ("POST", re.compile(r"/api/1/vehicles/[^/]+/wake_up$"), "wakes"),  # Tesla's docs
    ("POST", re.compile(r"/api/1/vehicles/[^/]+/command/[^/]+$"), "commands"),  # Tesla's docs
    # inferred (fleet.md 1.9 and 9: not stated): signed_command, handshakes included, is commands
    ("POST", re.compile(r"/api/1/vehicles/[^/]+/signed_command$"), "commands"),
    # inferred: the other reads that reach the car are data, as vehicle_data is
    ("GET", re.compile(r"/api/1/vehicles/[^/]+/(?:nearby_charging_sites|mobile_enabled)$"), "data"),
    # inferred, as the twin bills them: an energy site's reads are data, its settings commands
    ("GET", re.compile(r"/api/1/energy_sites/\d+/[^/]+$"), "data"),
    ("POST", re.compile(r"/api/1/energy_sites/\d+/[^/]+$"), "commands"),
)
"""Not billed (our choice, as the twin; fleet.md 9 lists it open): products, the vehicles list,
vehicles/{tag} (the cheap state check Tesla recommends before paid calls), fleet_status, users/*
and the partner endpoints."""


def billing_category(method: str, path: str) -> str | None:
    """The category Tesla bills a call to `path` in ("data", "commands", "wakes"), None if unbilled."""
    method = method.upper()
    for billed_method, pattern, category in _BILLED:
        if method == billed_method and pattern.search(path):
            return category
    return None


class FleetApi(TeslaApi):
    """A Fleet API session for one user's token. Use as an async context manager, or call `close()`.

    `hosts`: the regional base URLs (`FleetHosts.from_env()` for the twin). `region`: the
    account's region if known (else Tesla's default host, NA, until `discover_region()` or a 421
    says otherwise). `ledger` + `account`: where billable calls are recorded. `signer`: a
    `VcpSigner` for signed commands (None: REST commands). `command_proxy`: a tesla-http-proxy's
    base URL that REST commands go to (with the same token; reads still go to Tesla; a proxy
    with its own CA needs a `session` that trusts it). `on_region(region, base_url)`: told when
    the region becomes known or changes.
    """

    location_by_default = False
    """Fleet: `location_data` only when named (it needs the vehicle_location scope; fleet.md 1.7)."""

    streaming_refused = (
        "Tesla's streaming server does not take Fleet API tokens (Fleet Telemetry replaces it, "
        "and teslalink does not support it yet); stream with an Owner API login"
    )
    """research/fleet.md 1.10: the legacy websocket rejects Fleet tokens."""

    def __init__(
        self,
        hosts: FleetHosts,
        tokens: TokenProvider,
        *,
        region: str | None = None,
        ledger: BudgetLedger | None = None,
        account: str | None = None,
        signer: VcpSigner | None = None,
        command_proxy: str | None = None,
        on_region: RegionCallback | None = None,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        if ledger is not None:
            if not account:
                raise errors.ConfigError("a budget ledger needs the account its calls are billed to")
            ledger.check()  # a broken ledger file is said before anything is sent (and billed)
        region = region.lower() if region else None
        base = hosts.base_url(region or "na")  # our choice, as Go's: NA until told otherwise
        super().__init__(
            CloudUrls(api=base, sso=hosts.auth),
            tokens,
            session=session,
            retry=retry,
            timeouts=timeouts,
            sleep=sleep,
            clock=clock,
        )
        self.hosts = hosts
        self.region = region
        self.ledger = ledger
        self.account = account
        self.signer = signer
        self.command_proxy = None if command_proxy is None else URL(_proxy_url(command_proxy))
        self.on_region = on_region
        self._pool: PoolTransport | None = None
        self.billed: Counter[str] = Counter()
        """Billable answers of this session by category (the ledger keeps them across sessions)."""
        self._unrecorded: Counter[str] = Counter()
        self._recording: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"FleetApi({str(self.base_url)!r}, region={self.region!r})"

    @property
    def http(self) -> Transport | PoolTransport:
        """The signed-command path's HTTP transport, shared by every car of this session.

        The lean keep-alive pool (`teslalink._pool_http`: a signed command's POST at a fraction of
        aiohttp's CPU, bench/fleet.py), unless the caller gave an aiohttp session: its settings
        are the caller's (a proxy through `trust_env=True`, say), so signed commands use it too.
        """
        if self._transport.borrowed:
            return self._transport
        if self._pool is None:
            from ..._pool_http import PoolTransport  # noqa: PLC0415 - only signed commands need it

            self._pool = PoolTransport(timeouts=self._transport.timeouts)
        return self._pool

    async def close(self) -> None:
        """Close the session and the signed path's connections, once the ledger has every count."""
        try:
            await self.ledger_written()
            await super().close()
        finally:
            if self._pool is not None:
                await self._pool.close()

    # --- regions -------------------------------------------------------------------------------

    async def discover_region(self) -> str:
        """Ask Tesla where the account lives (`users/region`), switch to that host, return the region.

        Unbilled. The answer's casing is unverified ("na" in client tests, "NA" in one sample):
        taken in any case. A 421 on the way is followed like any other call's.
        """
        found = await self.request("GET", "api/1/users/region", idempotent=True)
        answer: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        region = str(answer.get("region") or "").strip().lower()
        if region not in self.hosts.api:
            region = _region_of(self.hosts, str(answer.get("fleet_api_base_url") or "")) or ""
        if not region:
            raise errors.ApiError(200, "users/region", f"no known region in the answer {dict(answer)!r}")
        self._switch(region)
        return region

    def follow_region(self, base_url: str | None) -> str:
        """Switch to the host a 421 named (Tesla's URL, or ours for that region); return its base URL.

        Raises `OutOfRegion` when the host is none of `hosts` (our choice: never follow a host
        nobody configured, so the token stays where it was meant to go).
        """
        region = _region_of(self.hosts, base_url or "")
        if region is None:
            raise errors.OutOfRegion(
                421,
                f"Tesla named {base_url or 'no host'}, which is not a configured Fleet host",
                "",
                base_url,
            )
        self._switch(region)
        return str(self.base_url)

    def _switch(self, region: str) -> None:
        base = self.hosts.base_url(region)
        changed = region != self.region or base != str(self.base_url)
        self.region = region
        self.base_url = URL(base)
        self.urls = replace(self.urls, api=base)
        if changed:
            _LOG.info("Fleet API region %s: %s", region, base)
            if self.on_region is not None:
                self.on_region(region, base)

    # --- the request path ----------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool,
        base: URL | str | None = None,
    ) -> Any:
        """`TeslaApi.request`, plus: a 421 at Tesla's host switches host once and resends (nothing ran).

        A POST always carries a JSON body (`{}` if none): the Fleet API answers 406 without
        `Content-Type: application/json` (research/fleet.md 1.8).
        """
        if method.upper() == "POST" and json is None:
            json = {}
        send = super().request
        try:
            return await send(method, path, params=params, json=json, idempotent=idempotent, base=base)
        except errors.OutOfRegion as exc:
            if base is not None:
                raise  # a proxy's 421 is the proxy's business
            self.follow_region(exc.base_url)
        return await send(method, path, params=params, json=json, idempotent=idempotent)

    async def _send(self, method: str, url: URL, token: str, json: Any) -> Response:
        response = await super()._send(method, url, token, json)
        txid = response.headers.get("x-txid")
        if txid:
            _LOG.debug("%s %s -> %s x-txid %s", method, url.path, response.status, txid)
        category = billing_category(method, url.path)
        if category is not None:
            self.count_billable(category, response.status)
        return response

    def count_billable(self, category: str, status: int) -> None:
        """Count one answer of a billed route: status below 500 is billed (Tesla), 5xx is free.

        A 401 is not counted (our choice, as the twin: Tesla cannot know whom to bill for a token
        it does not accept). The signed path reports each signed_command answer here too.
        """
        if category not in BILLING_CATEGORIES:
            raise errors.ConfigError(f"unknown billing category {category!r}")
        if status >= 500 or status == 401:
            return
        self.billed[category] += 1
        if self.ledger is None or not self.account:
            return
        self._unrecorded[category] += 1
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop (a caller outside async code): write now
            self._write_counts(self._take_unrecorded())
            return
        if self._recording is None or self._recording.done():
            self._recording = asyncio.create_task(self._record_in_thread())

    async def ledger_written(self) -> None:
        """Wait until every count so far is in the ledger file (close() does)."""
        while self._recording is not None and not self._recording.done():
            await asyncio.shield(self._recording)
        if self._unrecorded:
            await asyncio.to_thread(self._write_counts, self._take_unrecorded())

    async def _record_in_thread(self) -> None:
        """The ledger's file lock and fsync off the event loop; counts that come meanwhile wait
        for the next write (one write in flight, however many commands run at once)."""
        while self._unrecorded:
            await asyncio.to_thread(self._write_counts, self._take_unrecorded())

    def _take_unrecorded(self) -> dict[str, int]:
        """The counts not yet written, handed over on the loop's thread (no race with counting)."""
        counts, self._unrecorded = dict(self._unrecorded), Counter()
        return counts

    def _write_counts(self, counts: dict[str, int]) -> None:
        if self.ledger is None or not self.account or not counts:
            return
        try:
            self.ledger.record_many(self.account, counts)
        except (errors.ConfigError, OSError) as exc:
            # our choice: the calls have happened (a command may have run); failing them now for
            # our bookkeeping would hide that, so the lost counts are logged loudly instead
            _LOG.warning("Fleet budget ledger: %s not recorded: %s", counts, exc)

    def _error(self, where: str, response: Response, host: str | None = None) -> errors.ApiError:
        status = response.status
        if status not in (403, 412, 421, 422):
            return super()._error(where, response, host)
        error, description = _error_fields(response.body)
        detail = f"{where}: {error}" if error else where
        signed = where.endswith("/signed_command")
        refused = fleet_refusal(status, detail, error, description, response.headers, signed=signed)
        if refused is not None:
            return refused
        return super()._error(where, response, host)

    # --- reads -----------------------------------------------------------------------------------

    async def vehicles(self) -> list[Vehicle]:
        """The account's cars from `GET api/1/vehicles` (Fleet only; paginated, 100 a page). Unbilled."""
        from ..vehicle import Vehicle  # noqa: PLC0415 - as TeslaApi.vehicles

        cars: list[Vehicle] = []
        for page in range(1, _MAX_PAGES + 1):
            found = await self.api("VEHICLE_LIST", page=page, per_page=_PAGE_SIZE)
            listing = [v for v in found if isinstance(v, Mapping)] if isinstance(found, list) else []
            cars += [Vehicle(self, v) for v in listing]
            if len(listing) < _PAGE_SIZE:
                break
        return cars

    async def vehicle(self, name_or_vin_or_id: str | None = None) -> Vehicle:
        """A car by VIN or id with one `GET api/1/vehicles/{tag}` (unbilled, wakes nothing); by
        display name (or None: the first) from the list, as `TeslaApi.vehicle`."""
        from ..vehicle import Vehicle  # noqa: PLC0415

        tag = (name_or_vin_or_id or "").strip()
        if not _VEHICLE_TAG.match(tag):
            return await super().vehicle(name_or_vin_or_id)
        try:
            found = await self.api("VEHICLE_SUMMARY", path_vars={"vehicle_id": tag.upper()})
        except errors.ApiError as exc:
            if exc.status != 404:
                raise
            return await super().vehicle(name_or_vin_or_id)  # its ConfigError lists the cars
        if not isinstance(found, Mapping):
            raise errors.DecodeError(f"GET api/1/vehicles/{tag}: no vehicle in the answer", b"")
        return Vehicle(self, found)

    async def fleet_status(self, vins: list[str] | tuple[str, ...]) -> FleetStatus:
        """Which of `vins` have this app's key paired, and each car's protocol and firmware. Unbilled.

        Tesla recommends one VIN per call (only then is `discounted_device_data` given).
        """
        chosen = [str(v) for v in vins]
        if not chosen:
            raise errors.ConfigError("fleet_status needs at least one VIN")
        found = await self.request(
            "POST", "api/1/vehicles/fleet_status", json={"vins": chosen}, idempotent=False
        )
        return FleetStatus.of(found)

    # --- commands --------------------------------------------------------------------------------

    async def vehicle_command(
        self, vehicle: Vehicle, name: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """Send a command: signed (`routing.route_command`) when a signer is set, else REST.

        The signed path shares this host's 429 cooldown: nothing is sent while it runs, and a
        429 it meets starts it.
        """
        if self.signer is None:
            return await self._rest_command(vehicle, name, params)
        host = self.base_url.authority
        if self.cooldown_remaining(host) > 0:  # the message only when there is something to say
            self._check_cooldown(f"POST api/1/vehicles/{vehicle.vin}/signed_command", host)
        try:
            answer = await route_command(
                vin=vehicle.vin,
                command_signing=str(vehicle.raw.get("command_signing") or ""),
                name=name,
                params=params,
                signer=self.signer,
                rest=lambda: self._rest_command(vehicle, name, params),
                follow_region=self.follow_region,
                fleet=self,  # http, base_url, tokens and count_billable: re-read after a switch
            )
        except errors.RateLimited as exc:
            self.cool_down(DEFAULT_COOLDOWN_S if exc.retry_after is None else exc.retry_after)
            raise
        return answer if isinstance(answer, Mapping) else {}

    async def _rest_command(
        self, vehicle: Vehicle, name: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """The REST command at Tesla, or at the user's tesla-http-proxy (which wants the VIN)."""
        if self.command_proxy is None:
            return await super().vehicle_command(vehicle, name, params)
        found = endpoint(name)
        path = found.format_path({"vehicle_id": vehicle.vin})
        body = {k: v for k, v in params.items() if v is not None}
        answer = await self.request(found.method, path, json=body, idempotent=False, base=self.command_proxy)
        return answer if isinstance(answer, Mapping) else {}


def _region_of(hosts: FleetHosts, base_url: str) -> str | None:
    """The region of `base_url`: one of `hosts`, or Tesla's own URL for a region `hosts` knows."""
    if not base_url:
        return None
    found = hosts.region_of(base_url)
    if found is not None:
        return found
    wanted = base_url.rstrip("/") + "/"
    return next((r for r, url in FLEET_API_URLS.items() if url == wanted and r in hosts.api), None)


def _proxy_url(value: str) -> str:
    """A tesla-http-proxy base URL, checked as the Fleet hosts are."""
    return FleetHosts(api={"proxy": value}).api["proxy"]
