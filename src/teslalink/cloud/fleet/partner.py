"""The partner side of the Fleet API: a partner token per region, registration, and the key check.

Before any user call works, Tesla wants the app registered in every region it serves (research/
fleet.md 1.4): a client_credentials token whose `audience` is that region's base URL, then
`POST api/1/partner_accounts {"domain": D}`. Tesla fetches the public key the domain serves at
`/.well-known/appspecific/com.tesla.3p.public-key.pem` and answers with it as the hex of the
uncompressed point, which must be ours: a domain still serving an old key would register a key no
car of ours will ever be paired with. `GET api/1/partner_accounts/public_key?domain=D` reads it
back, and is what `onboard` compares.

    partner = PartnerClient(FleetHosts.from_env(), client_id, client_secret)
    results = await partner.onboard("app.example.com", key)   # one RegionResult per region
    await partner.close()

Every region is tried whatever the others answered: one region down, or refused, is one result,
never the end of the run. A user call that meets a 412 later means the app is not registered in
that region: `not_registered_hint` says what to run.

This module takes plain arguments (client id, secret, domain) so it does not depend on where the
app's settings are kept.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from yarl import URL

from teslalink import errors
from teslalink._http import Transport
from teslalink._json import loads
from teslalink.cloud.api import _error_fields

from .hosts import FleetHosts

if TYPE_CHECKING:
    from teslalink.transport import Response

__all__ = [
    "WELL_KNOWN_PATH",
    "PartnerClient",
    "RefusalReason",
    "RegionResult",
    "RegistrationRefused",
    "RegistrationStatus",
    "not_registered_hint",
    "well_known_url",
]

WELL_KNOWN_PATH: Final = "/.well-known/appspecific/com.tesla.3p.public-key.pem"
PARTNER_SCOPE: Final = "openid"
"""What a partner token asks for: tesla-fleet-api's `partner_login` default (research/fleet.md 1.3)."""
_TOKEN_MARGIN_S: Final = 60.0
"""A partner token this close to its expiry is fetched anew rather than sent."""


def well_known_url(domain: str) -> str:
    """Where Tesla looks for the app's public key."""
    return f"https://{domain}{WELL_KNOWN_PATH}"


def not_registered_hint(region: str, domain: str | None = None) -> str:
    """What a 412 on a user call means, and the command that fixes it."""
    return f"register the app in {region}: teslalink fleet register --domain {domain or '<your domain>'}"


class RefusalReason(enum.Enum):
    """Why Tesla refused a registration, as far as its words tell."""

    NO_KEY = "no_key"
    NOT_P256 = "not_p256"
    DOMAIN_MISMATCH = "domain_mismatch"
    OTHER = "other"


class RegistrationRefused(errors.ApiError):
    """Tesla refused `POST partner_accounts`: the domain or its hosted key is not acceptable.

    The message is one line saying what to fix; `reason` classifies it, `error` keeps Tesla's text.
    """

    def __init__(self, status: int, error: str, description: str, *, region: str, domain: str) -> None:
        super().__init__(status, error, description)
        self.region = region
        self.domain = domain
        self.reason = _classify(f"{error} {description}")
        self.args = (_refusal_line(self.reason, region, domain, status, error),)


# Unverified: no source shows Tesla's words for these refusals (research/fleet.md 1.4 says only
# that a bad domain or key is a 412); our choice: read them by these keywords, and quote the
# server's own text for anything else. The twin's words (simulator/fleet/registration.py) are ours.
_DOMAIN_WORDS: Final = ("does not match", "allowed origin", "allowed_origins")
_NO_KEY_WORDS: Final = ("not found", "missing", "no public key", "could not fetch", "unreachable")
_NOT_P256_WORDS: Final = ("p-256", "prime256v1", "secp256r1", "curve", "invalid", "not a")


def _classify(text: str) -> RefusalReason:
    lowered = text.lower()
    if any(word in lowered for word in _DOMAIN_WORDS):
        return RefusalReason.DOMAIN_MISMATCH
    if any(word in lowered for word in _NO_KEY_WORDS):
        return RefusalReason.NO_KEY
    if any(word in lowered for word in _NOT_P256_WORDS):
        return RefusalReason.NOT_P256
    return RefusalReason.OTHER


def _refusal_line(reason: RefusalReason, region: str, domain: str, status: int, error: str) -> str:
    url = well_known_url(domain)
    if reason is RefusalReason.NO_KEY:
        return (
            f"{region}: Tesla found no public key at {url}; publish the PEM that "
            "`teslalink fleet key show` prints there, then register again"
        )
    if reason is RefusalReason.NOT_P256:
        return (
            f"{region}: the key at {url} is not a P-256 public key PEM; publish the PEM that "
            "`teslalink fleet key show` prints there instead, then register again"
        )
    if reason is RefusalReason.DOMAIN_MISMATCH:
        return (
            f"{region}: {domain} is not this app's domain; it must be the root of the allowed "
            "origins set for the app at developer.tesla.com"
        )
    return (
        f"{region}: Tesla refused the registration of {domain}: HTTP {status}: {error or 'no reason given'}"
    )


class RegistrationStatus(enum.Enum):
    """The outcome of onboarding in one region."""

    REGISTERED = "registered"
    """Registered, and the key Tesla holds for the domain is ours."""
    KEY_MISMATCH = "key_mismatch"
    """Registered, but Tesla holds another key: pairing would enrol a key we cannot sign with."""
    REFUSED = "refused"
    """Tesla refused the domain or its key (`detail` says what to fix)."""
    FAILED = "failed"
    """No answer to act on: the app's credentials, the host, a 5xx, a rate limit."""


@dataclass(frozen=True)
class RegionResult:
    """One region's registration: what happened and, when it did not work, what to do."""

    region: str
    base_url: str
    status: RegistrationStatus
    detail: str
    public_key: str | None = None
    """The key Tesla holds for the domain (hex of the uncompressed point), when it said."""

    @property
    def ok(self) -> bool:
        return self.status is RegistrationStatus.REGISTERED


class PartnerClient:
    """Partner calls of one Fleet app: tokens per region, registration, the registered key.

    `http` is borrowed when given (and left open), else one is opened and `close()` closes it. The
    client secret never appears in an error, a log line or the repr.
    """

    def __init__(
        self,
        hosts: FleetHosts,
        client_id: str,
        client_secret: str,
        *,
        http: Transport | None = None,
        scope: str = PARTNER_SCOPE,
    ) -> None:
        if not client_id or not client_secret:
            raise errors.ConfigError("partner calls need the app's client_id and client_secret")
        self.hosts = hosts
        self.client_id = client_id
        self._secret = client_secret
        self._scope = scope
        self._owns_http = http is None
        self.http = http if http is not None else Transport()
        self._tokens: dict[str, tuple[str, float]] = {}

    def __repr__(self) -> str:
        return f"PartnerClient(client_id={self.client_id!r}, regions={sorted(self.hosts.api)})"

    async def close(self) -> None:
        if self._owns_http:
            await self.http.close()

    # --- the partner token ---------------------------------------------------------------------

    async def token(self, region: str) -> str:
        """A partner token for `region` (client_credentials, audience = its base URL), reused until
        a minute before it expires."""
        cached = self._tokens.get(region)
        if cached is not None and cached[1] - _TOKEN_MARGIN_S > time.monotonic():
            return cached[0]
        token_url = URL(self.hosts.auth).join(URL("oauth2/v3/token"))
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._secret,
            # our choice: the base URL without its trailing '/', as Tesla's docs write it
            "audience": self.hosts.base_url(region).rstrip("/"),
            "scope": self._scope,
        }
        response = await self.http.request(
            "POST", token_url, data=form, headers={"Accept": "application/json"}
        )
        where = f"{token_url.authority} (partner token for {region})"
        if response.status != 200:
            raise _token_error(response, where)
        body = _object(response, where)
        token, lifetime = body.get("access_token"), body.get("expires_in", 0)
        if not isinstance(token, str) or not token:
            raise errors.DecodeError(f"{where}: the answer holds no access_token", response.body[:200])
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 0.0
        self._tokens[region] = (token, time.monotonic() + seconds)
        return token

    # --- registration --------------------------------------------------------------------------

    async def register(self, region: str, domain: str) -> str | None:
        """Register the app for `domain` in `region`; the key Tesla took (hex), if it said.

        Raises `RegistrationRefused` when Tesla refuses the domain or its key.
        """
        response = await self._partner_call("POST", region, "api/1/partner_accounts", {"domain": domain})
        if response.status in (400, 404, 412, 422):
            error, description = _error_fields(response.body)
            raise RegistrationRefused(response.status, error, description, region=region, domain=domain)
        return _public_key(self._checked(response, region, "POST api/1/partner_accounts"))

    async def registered_key(self, region: str, domain: str) -> str | None:
        """The key Tesla holds for `domain` in `region` (hex), None when it holds none."""
        response = await self._partner_call(
            "GET", region, "api/1/partner_accounts/public_key", query={"domain": domain}
        )
        if response.status == 404:
            return None
        return _public_key(self._checked(response, region, "GET api/1/partner_accounts/public_key"))

    async def onboard(
        self, domain: str, public_key_hex: str, regions: Iterable[str] | None = None
    ) -> list[RegionResult]:
        """Register in every region (or those named) and check each holds `public_key_hex`."""
        wanted = public_key_hex.strip().lower()
        return [await self._onboard_one(region, domain, wanted) for region in (regions or self.hosts.api)]

    async def check(
        self, domain: str, public_key_hex: str | None, regions: Iterable[str] | None = None
    ) -> list[RegionResult]:
        """What every region (or those named) holds for `domain`, read only: registered with our
        key, with another, or not at all. Without `public_key_hex` any key held counts as ours."""
        wanted = public_key_hex.strip().lower() if public_key_hex else None
        return [await self._check_one(region, domain, wanted) for region in (regions or self.hosts.api)]

    async def _onboard_one(self, region: str, domain: str, wanted: str) -> RegionResult:
        base_url = self.hosts.base_url(region)
        try:
            taken = await self.register(region, domain)
            held = await self.registered_key(region, domain)
        except RegistrationRefused as exc:
            return RegionResult(region, base_url, RegistrationStatus.REFUSED, str(exc))
        except errors.TeslalinkError as exc:
            return RegionResult(region, base_url, RegistrationStatus.FAILED, f"{region}: {exc}")
        found = held or taken
        if found is None:
            detail = f"{region}: registered, but Tesla shows no key for {domain}; register again later"
            return RegionResult(region, base_url, RegistrationStatus.FAILED, detail)
        return _held(region, base_url, domain, found, wanted)

    async def _check_one(self, region: str, domain: str, wanted: str | None) -> RegionResult:
        base_url = self.hosts.base_url(region)
        try:
            held = await self.registered_key(region, domain)
        except errors.TeslalinkError as exc:
            return RegionResult(region, base_url, RegistrationStatus.FAILED, f"{region}: {exc}")
        if held is None:
            detail = f"{region}: {domain} is not registered; run `teslalink fleet register`"
            return RegionResult(region, base_url, RegistrationStatus.FAILED, detail)
        return _held(region, base_url, domain, held, wanted)

    # --- plumbing ------------------------------------------------------------------------------

    async def _partner_call(
        self,
        method: str,
        region: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Response:
        url = URL(self.hosts.base_url(region)).join(URL(path))
        if query:
            url = url.with_query(dict(query))
        headers = {"Authorization": f"Bearer {await self.token(region)}", "Accept": "application/json"}
        return await self.http.request(method, url, headers=headers, json_body=body)

    def _checked(self, response: Response, region: str, where: str) -> dict[str, Any]:
        """The `response` object of a 200; every other status a typed error naming `where`."""
        label = f"{region} {where}"
        if response.status != 200:
            raise _api_error(response, label)
        inner = _object(response, label).get("response")
        return inner if isinstance(inner, dict) else {}


def _held(region: str, base_url: str, domain: str, held: str, wanted: str | None) -> RegionResult:
    """A region that holds `held` for the domain: ours (`wanted`; None: not compared) or another."""
    held = held.lower()
    if wanted is not None and held != wanted:
        detail = (
            f"{region}: registered, but Tesla holds the key {_short(held)}, not ours ({_short(wanted)}): "
            f"publish ours at {well_known_url(domain)} and register again"
        )
        return RegionResult(region, base_url, RegistrationStatus.KEY_MISMATCH, detail, held)
    whose = "our key" if wanted is not None else "the key"
    detail = f"{region}: registered {domain}; Tesla holds {whose} {_short(held)}"
    return RegionResult(region, base_url, RegistrationStatus.REGISTERED, detail, held)


def _short(point_hex: str) -> str:
    return f"{point_hex[:10]}…{point_hex[-6:]}" if len(point_hex) > 20 else point_hex


def _public_key(response: Mapping[str, Any]) -> str | None:
    key = response.get("public_key")
    return key.strip().lower() if isinstance(key, str) and key.strip() else None


def _object(response: Response, where: str) -> dict[str, Any]:
    data = loads(response.body)
    if not isinstance(data, dict):
        raise errors.DecodeError(f"{where}: the answer is not a JSON object", response.body[:200])
    return data


def _token_error(response: Response, where: str) -> errors.TeslalinkError:
    error, _ = _error_fields(response.body)
    if response.status in (400, 401, 403) and error in ("invalid_client", "unauthorized_client", ""):
        return errors.AuthError(
            f"{where}: the app's client_id or client_secret was refused "
            "(check TESLALINK_FLEET_CLIENT_ID / TESLALINK_FLEET_CLIENT_SECRET)"
        )
    return _api_error(response, where)


def _api_error(response: Response, where: str) -> errors.ApiError:
    from teslalink.transport import rate_limit_wait  # noqa: PLC0415 - only on an error

    error, description = _error_fields(response.body)
    detail = f"{where}: {error}" if error else where
    if response.status == 401:
        return errors.ApiError(401, f"{where}: the partner token was refused", description)
    if response.status == 429:
        return errors.RateLimited(429, detail, description, retry_after=rate_limit_wait(response.headers))
    if response.status >= 500:
        return errors.ServiceUnavailable(response.status, detail, description)
    return errors.ApiError(response.status, detail, description)
