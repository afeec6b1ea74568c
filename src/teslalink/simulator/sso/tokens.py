"""The token authority: every authorization code, access token and refresh token of the world.

One authority per world (`world.auth`), shared by both SSO servers (auth.tesla.com and
auth.tesla.cn), the Owner API and the streaming server, so a token minted by one is checked by
the others exactly as Tesla's services share one identity backend::

    auth = world.auth
    body = auth.issue(account)                       # what POST /oauth2/v3/token answers
    account = auth.verify_access_token(body["access_token"])   # InvalidToken(reason) otherwise

What it models (docs/reference.md §2.1; where that is silent, what RFC 6749/7636 and the OAuth security
BCP (RFC 9700) say a server does):

* Access tokens are HS256 JWTs (see .jwt) with Tesla's claims: `iss` (the SSO base URL +
  "oauth2/v3"), `aud` (the Owner API and the userinfo endpoint), `azp`, `sub`, `scp`, `amr`,
  `auth_time`, `iat`, `exp`, `ou_code`, and a `jti` the authority uses to revoke them. They live
  `access_lifetime_s` (28800 s, as seen) of world time.
* A login (a code redemption, or `issue()`) is a *grant*: its access and refresh tokens share
  one fate. `revoke_all(account)` (logout) revokes every grant of the account, so its access
  tokens fail with reason "revoked" and its refresh tokens with `login_required`.
* Refresh tokens are opaque (`NA_`/`CN_` + 64 hex, the format Tesla moved to in 2024) and expire
  after `refresh_lifetime_s` (90 days: "single use only and expires after 3 months"). With
  `rotate_refresh_tokens` (the default, as Tesla since 2024) each refresh returns a new one and
  retires the old; without it the answer carries no refresh token and clients keep theirs.
  A retired refresh token presented again within `refresh_reuse_grace_s` (30 s, our choice:
  Tesla publishes no figure, 30 s is a common default of identity providers) is a lost-answer
  retry: it gets a fresh access token and the grant's *current* refresh token, so a client that
  missed the answer recovers without forking the chain. Later than that it is treated as
  replay (RFC 9700 section 4.14.2): the whole grant is revoked and the answer is 401
  `login_required`, what Tesla answered from February 2024 on.
* Authorization codes are single use, live `code_lifetime_s` (120 s) and are bound to the
  client, the redirect URI, the PKCE challenge (S256 only) and the region whose server issued
  them. Any redemption attempt burns the code, so a wrong verifier cannot be retried; a second
  redemption also revokes the tokens the first one issued (RFC 6749 section 4.1.2).

Randomness (codes, tokens, transaction ids) comes from a stream seeded by the world seed, and the
signing key is derived from it: a scenario replays identically. That is a twin's property, not
a real server's; nothing here is meant to protect anything real.

Secrets never reach a repr, a log or an exception message: records keep codes and refresh
tokens only as SHA-256 digests, and errors name the problem, never the value.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ..accounts import Account, Region
from ..refusal import NO_STORE, Refusal
from .jwt import JWTError, b64url_encode, decode_hs256, encode_hs256

if TYPE_CHECKING:
    from ..world import World
    from .login import LoginDesk

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_ISSUERS",
    "DEFAULT_SCOPE",
    "GrantError",
    "InvalidToken",
    "TokenAuthority",
    "pkce_challenge",
    "subject_of",
]

DEFAULT_CLIENT_ID: Final = "ownerapi"
DEFAULT_SCOPE: Final = "openid email offline_access"
DEFAULT_ISSUERS: Final[dict[Region, str]] = {
    "na": "https://auth.tesla.com/oauth2/v3",
    "cn": "https://auth.tesla.cn/oauth2/v3",
}
OWNER_API_AUDIENCE: Final[dict[Region, str]] = {
    "na": "https://owner-api.teslamotors.com/",
    "cn": "https://owner-api.vn.cloud.tesla.cn/",
}
INVALID_REASONS: Final = frozenset({"invalid", "expired", "revoked"})
_PRUNE_EVERY = 512
_CACHE_MAX = 8192


class InvalidToken(Exception):
    """An access token the Owner API must answer 401 for; `reason` is invalid, expired or revoked."""

    def __init__(self, reason: str) -> None:
        if reason not in INVALID_REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(f"access token {reason}")
        self.reason = reason


class GrantError(Refusal):
    """An OAuth error answer of the token endpoint (RFC 6749 section 5.2): `error`, text, status."""

    headers = NO_STORE

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(error, status, detail=f"{error}: {description}")
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(sha256(ascii(verifier))) without padding."""
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _valid_verifier(verifier: str) -> bool:
    """RFC 7636 section 4.1: 43..128 characters of [A-Za-z0-9-._~]."""
    return (
        43 <= len(verifier) <= 128
        and verifier.isascii()
        and all(c.isalnum() or c in "-._~" for c in verifier)
    )


@dataclass(eq=False, slots=True)
class _Grant:
    """One login of one account by one client: the tokens it produced live and die together."""

    id: int
    account: Account
    client_id: str
    scope: tuple[str, ...]
    region: Region
    amr: tuple[str, ...]
    auth_time: int
    nonce: str | None = None
    revoked: bool = False
    refresh_head: str | None = field(default=None, repr=False)  # the current refresh token
    last_expiry: float = 0.0  # the latest expiry of any of its tokens (for pruning)


@dataclass(eq=False, slots=True)
class _AccessRecord:
    grant: _Grant
    expires_at: float


@dataclass(eq=False, slots=True)
class _RefreshRecord:
    grant: _Grant
    expires_at: float
    retired_at: float | None = None


@dataclass(eq=False, slots=True)
class _CodeRecord:
    account: Account
    client_id: str
    redirect_uri: str
    code_challenge: str
    scope: tuple[str, ...]
    region: Region
    amr: tuple[str, ...]
    auth_time: int
    nonce: str | None
    state: str | None
    expires_at: float
    used: bool = False
    grant: _Grant | None = None


class TokenAuthority:
    """Mints and checks the world's codes and tokens; see the module docstring for the rules."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.access_lifetime_s: float = 28800.0
        self.refresh_lifetime_s: float = 90 * 86400.0
        self.code_lifetime_s: float = 120.0
        self.rotate_refresh_tokens: bool = True
        self.refresh_reuse_grace_s: float = 30.0
        self.clients: set[str] = {DEFAULT_CLIENT_ID}
        self.issuers: dict[Region, str] = dict(DEFAULT_ISSUERS)  # what issue() writes in `iss`
        self._rng = random.Random(f"teslalink:sso:{world.seed}")
        self._key = hashlib.sha256(f"teslalink:sso:signing-key:{world.seed}".encode()).digest()
        self._kid = hashlib.sha256(self._key).hexdigest()[:16]
        self._grant_ids = 0
        self._grants: dict[str, list[_Grant]] = {}  # account key -> grants
        self._access: dict[str, _AccessRecord] = {}  # jti -> record
        self._verified: dict[str, _AccessRecord] = {}  # token -> record: skips decoding on the hot path
        self._refresh: dict[str, _RefreshRecord] = {}  # sha256(token) -> record
        self._codes: dict[str, _CodeRecord] = {}  # sha256(code) -> record
        self._mints = 0
        self._logins: LoginDesk | None = None

    def __repr__(self) -> str:
        return (
            f"TokenAuthority(access_lifetime_s={self.access_lifetime_s!r}, "
            f"rotate_refresh_tokens={self.rotate_refresh_tokens!r}, live_access_tokens={len(self._access)})"
        )

    @property
    def logins(self) -> LoginDesk:
        """The login state machine (transactions, captcha, locks, MFA) both SSO servers share."""
        if self._logins is None:
            from .login import LoginDesk  # noqa: PLC0415 - login imports this module

            self._logins = LoginDesk(self.world, self)
        return self._logins

    # --- randomness (seeded) -------------------------------------------------------------------

    def random_bytes(self, n: int) -> bytes:
        """`n` bytes from the authority's seeded stream (ids, codes, tokens, captcha text)."""
        return self._rng.getrandbits(8 * n).to_bytes(n, "big")

    def random_token(self, n: int = 32) -> str:
        """base64url of `n` random bytes, no padding."""
        return b64url_encode(self.random_bytes(n))

    def choice(self, alphabet: str, length: int) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(length))

    # --- the contract: issue, verify, revoke ---------------------------------------------------

    def issue(
        self, account: Account, *, client_id: str = DEFAULT_CLIENT_ID, scope: str = DEFAULT_SCOPE
    ) -> dict[str, Any]:
        """Log `account` in without the SSO dance and return the token endpoint's answer body.

        For tests and scenarios that need a token: it is a new grant, exactly as if the account had
        signed in with a password at its region's SSO (issuer `self.issuers[region]`).
        """
        now = self.world.now()
        grant = self._new_grant(
            account,
            client_id=client_id,
            scope=tuple(scope.split()),
            region=account.region,
            amr=("pwd",),
            auth_time=int(now),
            nonce=None,
        )
        return self._mint(grant, issuer=self.issuers[account.region], now=now, new_refresh=True)

    def verify_access_token(self, token: str) -> Account:
        """The account an access token belongs to; `InvalidToken` with reason invalid/expired/revoked.

        Cheap on the hot path: a token seen before is one dict lookup and two comparisons.
        """
        record = self._verified.get(token)
        if record is None:
            record = self._decode_access(token)
        if self.world.now() >= record.expires_at:
            raise InvalidToken("expired")
        if record.grant.revoked:
            raise InvalidToken("revoked")
        return record.grant.account

    def revoke_all(self, account: Account) -> int:
        """Revoke every grant (all tokens, all clients) of `account` and end its SSO sessions.

        Returns how many grants were still live.
        """
        count = 0
        for grant in self._grants.get(_account_key(account), ()):
            if not grant.revoked:
                grant.revoked = True
                count += 1
        if self._logins is not None:
            self._logins.end_sessions_of(account)
        return count

    def account_from_id_token(self, id_token: str) -> Account | None:
        """The account an id token (from this authority) names, expired or not: a logout hint."""
        try:
            claims = decode_hs256(id_token, self._key)
        except JWTError:
            return None
        email = claims.get("email")
        if not isinstance(email, str):
            return None
        try:
            return self.world.account(email)
        except KeyError:
            return None

    # --- authorization codes -------------------------------------------------------------------

    def issue_code(
        self,
        account: Account,
        *,
        client_id: str,
        redirect_uri: str,
        code_challenge: str,
        scope: Iterable[str],
        region: Region,
        amr: Iterable[str],
        auth_time: float,
        nonce: str | None = None,
        state: str | None = None,
    ) -> str:
        """A fresh single-use authorization code for a login the SSO just completed."""
        code = self.random_bytes(32).hex()
        self._codes[_digest(code)] = _CodeRecord(
            account=account,
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            scope=tuple(scope),
            region=region,
            amr=tuple(amr),
            auth_time=int(auth_time),
            nonce=nonce,
            state=state,
            expires_at=self.world.now() + self.code_lifetime_s,
        )
        return code

    def redeem_code(
        self,
        code: str,
        *,
        client_id: str,
        redirect_uri: str | None,
        code_verifier: str | None,
        region: Region,
        issuer: str,
    ) -> dict[str, Any]:
        """The token answer for an authorization code grant; `GrantError` if anything is off."""
        self._check_client(client_id)
        record = self._codes.get(_digest(code))
        if record is None or record.region != region:
            raise GrantError("invalid_grant", "The authorization code is invalid or expired.")
        if record.used:
            if record.grant is not None:  # replay: what the first redemption issued is suspect
                record.grant.revoked = True
            raise GrantError("invalid_grant", "The authorization code has already been used.")
        record.used = True  # any attempt burns the code, so a verifier cannot be guessed
        now = self.world.now()
        if now >= record.expires_at:
            raise GrantError("invalid_grant", "The authorization code is invalid or expired.")
        if client_id != record.client_id:
            raise GrantError("invalid_grant", "The authorization code was issued to another client.")
        if redirect_uri != record.redirect_uri:
            raise GrantError("invalid_grant", "The redirect_uri does not match the authorization request.")
        if not code_verifier or not _valid_verifier(code_verifier):
            raise GrantError("invalid_grant", "A valid code_verifier is required (PKCE, RFC 7636).")
        if pkce_challenge(code_verifier) != record.code_challenge:
            raise GrantError("invalid_grant", "The code_verifier does not match the code_challenge.")
        grant = self._new_grant(
            record.account,
            client_id=record.client_id,
            scope=record.scope,
            region=record.region,
            amr=record.amr,
            auth_time=record.auth_time,
            nonce=record.nonce,
        )
        record.grant = grant
        return self._mint(grant, issuer=issuer, now=now, new_refresh=True, state=record.state)

    # --- refresh -------------------------------------------------------------------------------

    def refresh(
        self, refresh_token: str, *, client_id: str, scope: str | None, region: Region, issuer: str
    ) -> dict[str, Any]:
        """The token answer for a refresh token grant (rotation and reuse rules in the module doc)."""
        self._check_client(client_id)
        record = self._refresh.get(_digest(refresh_token))
        if record is None or record.grant.region != region:
            raise GrantError("invalid_grant", "The refresh token is invalid or expired.")
        grant = record.grant
        if client_id != grant.client_id:
            raise GrantError("invalid_grant", "The refresh token was issued to another client.")
        if grant.revoked:
            raise GrantError("login_required", "Login required", 401)
        now = self.world.now()
        if now >= record.expires_at:
            raise GrantError("invalid_grant", "The refresh token is invalid or expired.")
        requested = tuple(scope.split()) if scope else grant.scope
        if not set(requested) <= set(grant.scope):
            raise GrantError("invalid_scope", "The requested scope exceeds the scope originally granted.")
        if record.retired_at is not None:
            if now - record.retired_at <= self.refresh_reuse_grace_s and grant.refresh_head is not None:
                body = self._mint(grant, issuer=issuer, now=now, new_refresh=False, scope=requested)
                body["refresh_token"] = grant.refresh_head
                return _ordered(body)
            grant.revoked = True  # a retired token replayed: assume it leaked, end the grant
            raise GrantError("login_required", "Login required", 401)
        if self.rotate_refresh_tokens:
            record.retired_at = now
            return self._mint(grant, issuer=issuer, now=now, new_refresh=True, scope=requested)
        return self._mint(grant, issuer=issuer, now=now, new_refresh=False, scope=requested)

    # --- internals -----------------------------------------------------------------------------

    def _check_client(self, client_id: str) -> None:
        if client_id not in self.clients:
            raise GrantError("invalid_client", "Client authentication failed: unknown client_id.", 401)

    def _new_grant(
        self,
        account: Account,
        *,
        client_id: str,
        scope: tuple[str, ...],
        region: Region,
        amr: tuple[str, ...],
        auth_time: int,
        nonce: str | None,
    ) -> _Grant:
        self._grant_ids += 1
        grant = _Grant(
            id=self._grant_ids,
            account=account,
            client_id=client_id,
            scope=scope,
            region=region,
            amr=amr,
            auth_time=auth_time,
            nonce=nonce,
        )
        self._grants.setdefault(_account_key(account), []).append(grant)
        return grant

    def _mint(
        self,
        grant: _Grant,
        *,
        issuer: str,
        now: float,
        new_refresh: bool,
        scope: tuple[str, ...] | None = None,
        state: str | None = None,
    ) -> dict[str, Any]:
        """Access token (+ id token for openid, + refresh token when asked and offline_access)."""
        self._mints += 1
        if self._mints % _PRUNE_EVERY == 0:
            self._prune(now)
        scope = grant.scope if scope is None else scope
        account = grant.account
        iat = int(now)
        exp = int(now + self.access_lifetime_s)
        jti = self.random_token(16)
        claims = {
            "iss": issuer,
            "aud": [OWNER_API_AUDIENCE[grant.region], f"{issuer}/userinfo"],
            "azp": grant.client_id,
            "sub": subject_of(account),
            "scp": list(scope),
            "amr": list(grant.amr),
            "auth_time": grant.auth_time,
            "iat": iat,
            "exp": exp,
            "jti": jti,
            "ou_code": grant.region.upper(),
            "locale": "en-US",
        }
        access_token = encode_hs256(claims, self._key, kid=self._kid)
        record = _AccessRecord(grant=grant, expires_at=float(exp))
        self._access[jti] = record
        self._remember(access_token, record)
        grant.last_expiry = max(grant.last_expiry, float(exp))
        body: dict[str, Any] = {"access_token": access_token}
        if new_refresh and "offline_access" in grant.scope:
            refresh_token = f"{grant.region.upper()}_{self.random_bytes(32).hex()}"
            expires_at = now + self.refresh_lifetime_s
            self._refresh[_digest(refresh_token)] = _RefreshRecord(grant=grant, expires_at=expires_at)
            grant.refresh_head = refresh_token
            grant.last_expiry = max(grant.last_expiry, expires_at)
            body["refresh_token"] = refresh_token
        if "openid" in scope:
            id_claims: dict[str, Any] = {
                "iss": issuer,
                "aud": grant.client_id,
                "sub": subject_of(account),
                "email": account.email,
                "email_verified": True,
                "name": account.full_name,
                "iat": iat,
                "exp": exp,
                "auth_time": grant.auth_time,
                "amr": list(grant.amr),
            }
            if grant.nonce is not None:
                id_claims["nonce"] = grant.nonce
            body["id_token"] = encode_hs256(id_claims, self._key, kid=self._kid)
        body["expires_in"] = exp - iat
        if state is not None:
            body["state"] = state
        body["token_type"] = "Bearer"
        return body

    def _remember(self, token: str, record: _AccessRecord) -> None:
        if len(self._verified) >= _CACHE_MAX:
            self._verified.clear()
        self._verified[token] = record

    def _decode_access(self, token: str) -> _AccessRecord:
        if not isinstance(token, str) or len(token) > 8192:
            raise InvalidToken("invalid")
        try:
            claims = decode_hs256(token, self._key)
        except JWTError:
            raise InvalidToken("invalid") from None
        jti, exp = claims.get("jti"), claims.get("exp")
        if not isinstance(jti, str) or not isinstance(exp, int):
            raise InvalidToken("invalid")
        record = self._access.get(jti)
        if record is None:
            # Signed by us but forgotten: only pruned (long expired) tokens end up here.
            if self.world.now() >= exp:
                raise InvalidToken("expired")
            raise InvalidToken("invalid")
        self._remember(token, record)
        return record

    def _prune(self, now: float) -> None:
        """Forget what can no longer be used: expired access tokens, refresh tokens, codes, grants."""
        self._access = {k: r for k, r in self._access.items() if r.expires_at > now}
        self._verified = {k: r for k, r in self._verified.items() if r.expires_at > now}
        self._refresh = {k: r for k, r in self._refresh.items() if r.expires_at > now and not r.grant.revoked}
        self._codes = {k: r for k, r in self._codes.items() if r.expires_at > now}
        for key, grants in list(self._grants.items()):
            alive = [g for g in grants if g.last_expiry > now]
            if alive:
                self._grants[key] = alive
            else:
                del self._grants[key]


def _ordered(body: dict[str, Any]) -> dict[str, Any]:
    """Keys in the order Tesla's token endpoint writes them (clients do not care; diffs do)."""
    order = ("access_token", "refresh_token", "id_token", "expires_in", "state", "token_type")
    return {key: body[key] for key in order if key in body}


def _account_key(account: Account) -> str:
    return account.email.strip().lower()


def subject_of(account: Account) -> str:
    """The account's stable `sub`: a UUID derived from the email (Tesla's subjects are UUIDs)."""
    digest = hashlib.blake2b(_account_key(account).encode(), digest_size=16, person=b"teslalink-sub").digest()
    return str(uuid.UUID(bytes=digest, version=4))
