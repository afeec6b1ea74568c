"""Pairing a car with the app's key: the `tesla.com/_ak` link, and waiting until Tesla says it is done.

The owner opens `https://tesla.com/_ak/<domain>?vin=<VIN>` on the phone signed in to the car's
account, approves, and the Tesla app enrols the key over Bluetooth (research/fleet.md 2.11). Only
the owner account can do it (a driver cannot), and the key then works over the Fleet API only: a
key paired this way is not one the car answers over BLE. Afterwards `fleet_status` lists the VIN
in `key_paired_vins`, possibly after a while, so `wait_until_paired` polls it with a growing
pause, bounded by a deadline: never a loop that hammers.

`FleetStatus` is the user call this needs, with the one-region-follow of a 421 and the 412 that
says the app is not registered there. Until `FleetApi.fleet_status` (helper fleet-api) is merged
it sends the call itself; `wait_until_paired` takes any `check` so either can drive it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from yarl import URL

from teslalink import errors
from teslalink._json import loads
from teslalink.cloud.api import _error_fields

from .hosts import FLEET_API_URLS, FleetHosts
from .partner import not_registered_hint

if TYPE_CHECKING:
    from teslalink._http import Transport
    from teslalink.transport import Response

__all__ = [
    "PAIRING_URL",
    "FleetStatus",
    "pairing_link",
    "token_claims",
    "token_region",
    "wait_until_paired",
]

PAIRING_URL: Final = "https://tesla.com/_ak/"
"""Tesla's pairing deep link, before `<domain>?vin=<VIN>`; TESLALINK_FLEET_PAIRING_URL (the twin's
`sim all --json` `fleet.pairing_url`) stands in for it."""
_BASE_URL_IN_BODY: Final = re.compile(r"use base URL:\s*(https://[-A-Za-z0-9.:]+)")


def pairing_link(domain: str, vin: str | None = None, base: str = PAIRING_URL) -> str:
    """The link the owner opens: `<base><domain>`, with `?vin=<VIN>` to pick the car."""
    link = base.rstrip("/") + "/" + quote(domain.strip().lower(), safe=".-")
    return f"{link}?vin={quote(vin, safe='')}" if vin else link


def token_claims(access_token: str) -> dict[str, Any]:
    """The claims of a Fleet JWT, unverified; {} when it is not one.

    Reading without checking the signature is what Tesla's Go client and Home Assistant do
    (research/fleet.md 7.2): it only picks a host and explains a login; the host checks the token.
    (Helper fleet-oauth's `teslalink.cloud.fleet.jwt` does the same; one of the two goes at merge.)
    """
    parts = access_token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, errors.DecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def token_region(access_token: str) -> str | None:
    """The region of a Fleet user token, from its `ou_code` claim ("NA" -> "na")."""
    code = token_claims(access_token).get("ou_code")
    return code.lower() if isinstance(code, str) and code.strip() else None


async def wait_until_paired(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout_s: float,
    first_pause_s: float = 1.0,
    max_pause_s: float = 15.0,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Call `check` now, then after 1, 2, 4 ... (at most `max_pause_s`) seconds, until it says
    True (True) or `timeout_s` has passed (False). The last pause is cut to the deadline."""
    deadline = clock() + max(0.0, timeout_s)
    pause = first_pause_s
    while True:
        if await check():
            return True
        left = deadline - clock()
        if left <= 0:
            return False
        await sleep(min(pause, left))
        pause = min(pause * 2, max_pause_s)


class FleetStatus:
    """The user calls pairing needs: the account's VINs and `fleet_status`, in the account's region.

    A 421 moves to the region Tesla names once (when it is one of `hosts`); a 412 is the app not
    registered in that region, reported with the command that fixes it. The token is never shown.
    """

    def __init__(
        self, http: Transport, hosts: FleetHosts, access_token: str, region: str, domain: str | None
    ) -> None:
        self.http = http
        self.hosts = hosts
        self.region = region.lower()
        self.domain = domain
        self._token = access_token
        self._moved = False

    def __repr__(self) -> str:
        return f"FleetStatus(region={self.region!r})"

    async def vins(self) -> list[str]:
        """The VINs of the account's cars (`GET api/1/vehicles`)."""
        body = await self._call("GET", "api/1/vehicles")
        listing = body.get("response")
        if not isinstance(listing, list):
            return []
        return [str(car["vin"]) for car in listing if isinstance(car, dict) and car.get("vin")]

    async def pairing(self, vins: Sequence[str]) -> dict[str, bool]:
        """`fleet_status` of `vins`: VIN -> paired (in `key_paired_vins`) or not (`unpaired_vins`).

        A VIN it lists in neither is left out (the twin's answer for a car of another account;
        unverified what Tesla does).
        """
        body = await self._call("POST", "api/1/vehicles/fleet_status", {"vins": list(vins)})
        inner = body.get("response")
        inner = inner if isinstance(inner, dict) else {}
        listed: dict[str, bool] = {}
        for field_name, paired in (("unpaired_vins", False), ("key_paired_vins", True)):
            found = inner.get(field_name)
            listed.update({str(vin): paired for vin in found} if isinstance(found, list) else {})
        return listed

    async def paired(self, vins: Sequence[str]) -> set[str]:
        """The VINs of `vins` that `fleet_status` lists in `key_paired_vins`."""
        return {vin for vin, paired in (await self.pairing(vins)).items() if paired}

    async def _call(self, method: str, path: str, json_body: Any = None) -> dict[str, Any]:
        while True:
            url = URL(self.hosts.base_url(self.region)).join(URL(path))
            headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
            response = await self.http.request(method, url, headers=headers, json_body=json_body)
            if response.status == 421 and self._follow(response):
                continue
            if response.status != 200:
                raise self._error(response, f"{self.region} {method} {path}")
            data = loads(response.body)
            return data if isinstance(data, dict) else {}

    def _follow(self, response: Response) -> bool:
        """Switch to the region a 421 names, once; False when it names none we know."""
        if self._moved:
            return False
        error, _ = _error_fields(response.body)
        found = _BASE_URL_IN_BODY.search(error)
        named = found[1].rstrip("/") + "/" if found else ""
        region = next((r for r, url in FLEET_API_URLS.items() if url == named), None)
        region = region or self.hosts.region_of(named)
        if region is None or region not in self.hosts.api or region == self.region:
            return False
        self.region, self._moved = region, True
        return True

    def _error(self, response: Response, where: str) -> errors.TeslalinkError:
        error, description = _error_fields(response.body)
        if response.status == 412:
            return errors.ApiError(412, where, not_registered_hint(self.region, self.domain))
        if response.status == 401:
            return errors.TokenExpired(
                f"{where}: the Fleet access token was refused (expired?); log in again with "
                "`teslalink fleet login`"
            )
        if response.status == 403 and "missing scope" in error.lower():
            return errors.ApiError(403, f"{where}: {error}", f"the login lacks {description or 'a scope'}")
        if response.status == 429:
            from teslalink.transport import retry_after  # noqa: PLC0415 - only on an error

            wait = retry_after(response.headers)
            return errors.RateLimited(429, f"{where}: {error or 'rate limited'}", retry_after=wait)
        if response.status >= 500:
            return errors.ServiceUnavailable(response.status, f"{where}: {error}", description)
        return errors.ApiError(response.status, f"{where}: {error}" if error else where, description)
