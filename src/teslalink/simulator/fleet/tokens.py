"""fleet-auth's token authority: partner tokens, authorization codes, user grants, refresh rules.

What it models (fleet.md §1.3, §1.5, §7 items 1-2):

* Partner tokens (`client_credentials`): the app's id and secret, `audience` one of the three
  regional base URLs (the twin also takes its loopback URL for a region), optional `scope`.
* Authorization codes carry a region prefix (``NA_``, ``EU_``, ``CN_`` + hex), are single use
  and live `code_lifetime_s` (our choice: 300 s; Tesla publishes no figure). A wrong, used or
  expired code is 400 ``invalid_auth_code``; a redirect URI other than the authorize request's
  400 ``invalid_redirect_url``; a wrong client id or secret 400 ``unauthorized_client``.
* Refresh tokens (``NA_`` + 64 hex) are single use and expire after 90 days. Using the current
  one returns a new one; the most recently *used* one stays valid for `refresh_grace_s` (24 h
  of world time) and answers a fresh access token with the grant's current refresh token (our
  choice: so a client that lost the answer recovers without forking the chain). Anything else
  (older tokens, the last-used one after 24 h, an expired one) is 401 ``login_required``.
* Access tokens live 28800 s and are JWTs with Tesla's claims: `iss`, `azp`, `sub`, `aud` (the
  Fleet base URLs and the userinfo endpoint), `scp`, `ou_code`, `exp`/`iat`/`auth_time`,
  `locale`, `amr`, and a `jti` (ours: the authority finds its record by it). They are signed
  RS256, as Tesla's, with an RSA key the twin generates per world (our choice: `cryptography`
  cannot derive an RSA key from the world seed, so signatures differ between runs while every
  claim replays); the public half is served as JWKS. Clients read the claims without checking
  the signature; only the twin verifies.

Secrets never reach a repr or an error: records keep codes and refresh tokens as SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

import orjson

from ..sso.jwt import JWTError, b64url_decode, b64url_encode, peek
from ..sso.tokens import GrantError, subject_of
from .regions import FLEET_BASE_URLS, ISSUER, USERINFO_AUDIENCE, FleetRegion

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    from ..accounts import Account
    from ..world import World
    from .state import FleetState, PartnerApp

__all__ = ["ACCESS_LIFETIME_S", "FleetAuthority", "FleetToken", "InvalidFleetToken", "scopes_of"]

ACCESS_LIFETIME_S: Final = 28800
REFRESH_LIFETIME_S: Final = 90 * 86400.0
REFRESH_GRACE_S: Final = 86400.0
CODE_LIFETIME_S: Final = 300.0
_CACHE_MAX: Final = 8192
TokenKind = Literal["partner", "user"]


class InvalidFleetToken(Exception):
    """An access token the Fleet API answers 401 for; `reason` is invalid or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"access token {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FleetToken:
    """What a verified access token stands for."""

    kind: TokenKind
    client_id: str
    scopes: frozenset[str]
    region: FleetRegion
    """A user token: the account's home region (`ou_code`); a partner token: its audience's."""
    account: Account | None
    expires_at: float


@dataclass(eq=False, slots=True)
class _Grant:
    """One consent-backed login of an account by an app: its refresh chain."""

    account: Account
    client_id: str
    scopes: tuple[str, ...]
    region: FleetRegion
    auth_time: int
    head: str | None = field(default=None, repr=False)  # digest of the current refresh token
    head_token: str | None = field(default=None, repr=False)
    head_expires_at: float = 0.0
    last_used: str | None = field(default=None, repr=False)  # digest of the last-used one
    last_used_at: float = 0.0


@dataclass(eq=False, slots=True)
class _Code:
    account: Account
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    region: FleetRegion
    expires_at: float
    used: bool = False


def scopes_of(text: str | None) -> tuple[str, ...]:
    """A space-separated scope parameter as a tuple, in order, without repeats."""
    return tuple(dict.fromkeys((text or "").split()))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class FleetAuthority:
    """Mints and checks fleet-auth's codes and tokens (rules in the module docstring)."""

    def __init__(self, world: World, state: FleetState) -> None:
        self.world = world
        self.state = state
        self.access_lifetime_s: float = float(ACCESS_LIFETIME_S)
        self.refresh_lifetime_s = REFRESH_LIFETIME_S
        self.refresh_grace_s = REFRESH_GRACE_S
        self.code_lifetime_s = CODE_LIFETIME_S
        self._rng = random.Random(f"teslalink:fleet-auth:{world.seed}")
        self._key: RSAPrivateKey | None = None
        self._kid = ""
        self._codes: dict[str, _Code] = {}
        self._refresh: dict[str, _Grant] = {}
        self._access: dict[str, FleetToken] = {}  # jti -> what it stands for
        self._verified: dict[str, FleetToken] = {}  # token -> record (skips RSA on the hot path)

    def __repr__(self) -> str:
        return f"FleetAuthority(apps={len(self.state.apps)}, live_access_tokens={len(self._access)})"

    # --- clients -------------------------------------------------------------------------------

    def app(self, client_id: str, client_secret: str | None = None) -> PartnerApp:
        """The app `client_id` (checking `client_secret` when given); 400 unauthorized_client."""
        app = self.state.apps.get(client_id)
        if app is None or (client_secret is not None and not _same(client_secret, app.client_secret)):
            raise GrantError("unauthorized_client", "Unknown client_id or wrong client_secret.")
        return app

    # --- partner tokens ------------------------------------------------------------------------

    def partner_token(
        self, client_id: str, client_secret: str, region: FleetRegion, scope: str | None
    ) -> dict[str, Any]:
        """The token answer of a client_credentials grant for `region`'s audience."""
        app = self.app(client_id, client_secret)
        now = self.world.now()
        scopes = scopes_of(scope) or ("openid",)
        claims = {
            "iss": ISSUER,
            "azp": app.client_id,
            "sub": app.client_id,  # our choice: a partner token's subject is the app
            "aud": [FLEET_BASE_URLS[region]],
            "scp": list(scopes),
            "ou_code": region.upper(),
            "iat": int(now),
            "exp": int(now + self.access_lifetime_s),
        }
        token = self._sign_access(claims, "partner", app.client_id, scopes, region, None)
        return {"access_token": token, "expires_in": int(self.access_lifetime_s), "token_type": "Bearer"}

    # --- authorization codes -------------------------------------------------------------------

    def issue_code(
        self, account: Account, *, client_id: str, redirect_uri: str, scopes: tuple[str, ...]
    ) -> str:
        """A single-use code for a login just completed at the authorize page."""
        region = self.state.home_region(account)
        code = f"{region.upper()}_{self._random_hex(32)}"
        self._codes[_digest(code)] = _Code(
            account=account,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            region=region,
            expires_at=self.world.now() + self.code_lifetime_s,
        )
        return code

    def redeem_code(
        self, code: str, *, client_id: str, client_secret: str, redirect_uri: str | None
    ) -> dict[str, Any]:
        """The token answer of an authorization_code grant."""
        self.app(client_id, client_secret)
        record = self._codes.get(_digest(code))
        if record is None or record.used or self.world.now() >= record.expires_at:
            raise GrantError("invalid_auth_code", "The authorization code is invalid, used or expired.")
        record.used = True
        if record.client_id != client_id:
            raise GrantError("invalid_auth_code", "The authorization code was issued to another client.")
        if redirect_uri != record.redirect_uri:
            raise GrantError("invalid_redirect_url", "The redirect_uri does not match the authorize request.")
        grant = _Grant(
            account=record.account,
            client_id=client_id,
            scopes=record.scopes,
            region=record.region,
            auth_time=int(self.world.now()),
        )
        return self._answer(grant, new_refresh=True)

    def issue_user_token(
        self, account: Account, *, client_id: str, scopes: tuple[str, ...]
    ) -> dict[str, Any]:
        """A user's token answer without the browser dance (tests, `sim all --print-tokens`)."""
        self.app(client_id)
        grant = _Grant(
            account=account,
            client_id=client_id,
            scopes=scopes,
            region=self.state.home_region(account),
            auth_time=int(self.world.now()),
        )
        return self._answer(grant, new_refresh=True)

    # --- refresh -------------------------------------------------------------------------------

    def refresh(self, refresh_token: str, *, client_id: str, scope: str | None) -> dict[str, Any]:
        """The token answer of a refresh_token grant (single use, 24 h grace; module docstring)."""
        self.app(client_id)
        digest = _digest(refresh_token)
        grant = self._refresh.get(digest)
        now = self.world.now()
        if grant is None or grant.client_id != client_id:
            raise _login_required()
        requested = scopes_of(scope) or grant.scopes
        if not set(requested) <= set(grant.scopes):
            raise GrantError("invalid_scope", "The requested scope exceeds the scope granted.")
        if digest == grant.head and now < grant.head_expires_at:
            if grant.last_used is not None:
                self._refresh.pop(grant.last_used, None)  # cycled out: no longer the last used
            grant.last_used, grant.last_used_at = digest, now
            return self._answer(grant, new_refresh=True, scopes=requested)
        if digest == grant.last_used and now - grant.last_used_at <= self.refresh_grace_s:
            body = self._answer(grant, new_refresh=False, scopes=requested)
            body["refresh_token"] = grant.head_token
            return body
        raise _login_required()

    # --- verification --------------------------------------------------------------------------

    def verify(self, token: str) -> FleetToken:
        """What `token` stands for; `InvalidFleetToken` (invalid or expired) otherwise."""
        record = self._verified.get(token)
        if record is None:
            record = self._decode(token)
        if self.world.now() >= record.expires_at:
            raise InvalidFleetToken("expired")
        return record

    def jwks(self) -> dict[str, Any]:
        """The public signing key as a JSON Web Key Set (RFC 7517)."""
        key = self._signing_key()
        numbers = key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self._kid,
                    "n": b64url_encode(_int_bytes(numbers.n)),
                    "e": b64url_encode(_int_bytes(numbers.e)),
                }
            ]
        }

    # --- internals -----------------------------------------------------------------------------

    def _random_hex(self, n: int) -> str:
        return self._rng.getrandbits(8 * n).to_bytes(n, "big").hex()

    def _answer(
        self, grant: _Grant, *, new_refresh: bool, scopes: tuple[str, ...] | None = None
    ) -> dict[str, Any]:
        """Access token, id token (openid), a new refresh token (offline_access, when asked)."""
        now = self.world.now()
        scopes = grant.scopes if scopes is None else scopes
        account = grant.account
        if grant.region == "cn":
            audience = [FLEET_BASE_URLS["cn"], USERINFO_AUDIENCE["cn"]]
        else:
            audience = [FLEET_BASE_URLS["na"], FLEET_BASE_URLS["eu"], USERINFO_AUDIENCE[grant.region]]
        claims = {
            "iss": ISSUER,
            "azp": grant.client_id,
            "sub": subject_of(account),
            "aud": audience,
            "scp": list(scopes),
            "amr": ["pwd", "mfa", "otp"] if account.has_mfa else ["pwd"],
            "exp": int(now + self.access_lifetime_s),
            "iat": int(now),
            "auth_time": grant.auth_time,
            "ou_code": grant.region.upper(),
            "locale": "en-US",
        }
        body: dict[str, Any] = {
            "access_token": self._sign_access(claims, "user", grant.client_id, scopes, grant.region, account)
        }
        if new_refresh and "offline_access" in grant.scopes:
            token = f"{grant.region.upper()}_{self._random_hex(32)}"
            if grant.head is not None and grant.head != grant.last_used:
                self._refresh.pop(grant.head, None)
            grant.head, grant.head_token = _digest(token), token
            grant.head_expires_at = now + self.refresh_lifetime_s
            self._refresh[grant.head] = grant
            body["refresh_token"] = token
        if "openid" in scopes:
            body["id_token"] = self._sign(
                {
                    "iss": ISSUER,
                    "aud": grant.client_id,
                    "sub": subject_of(account),
                    "email": account.email,
                    "iat": int(now),
                    "exp": int(now + self.access_lifetime_s),
                    "auth_time": grant.auth_time,
                }
            )
        body["expires_in"] = int(self.access_lifetime_s)
        body["token_type"] = "Bearer"
        return body

    def _sign_access(
        self,
        claims: dict[str, Any],
        kind: TokenKind,
        client_id: str,
        scopes: tuple[str, ...],
        region: FleetRegion,
        account: Account | None,
    ) -> str:
        jti = self._random_hex(16)
        claims["jti"] = jti
        token = self._sign(claims)
        record = FleetToken(kind, client_id, frozenset(scopes), region, account, float(claims["exp"]))
        self._access[jti] = record
        self._remember(token, record)
        return token

    def _signing_key(self) -> RSAPrivateKey:
        if self._key is None:
            from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415 - the fleet extra

            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            modulus = self._key.public_key().public_numbers().n
            self._kid = hashlib.sha256(_int_bytes(modulus)).hexdigest()[:16]
        return self._key

    def _sign(self, claims: dict[str, Any]) -> str:
        from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import padding  # noqa: PLC0415

        key = self._signing_key()
        header = {"alg": "RS256", "typ": "JWT", "kid": self._kid}
        signing_input = f"{b64url_encode(orjson.dumps(header))}.{b64url_encode(orjson.dumps(claims))}"
        signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url_encode(signature)}"

    def _decode(self, token: str) -> FleetToken:
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415
        from cryptography.hazmat.primitives import hashes  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import padding  # noqa: PLC0415

        if not isinstance(token, str) or not token.isascii() or len(token) > 8192:
            raise InvalidFleetToken("invalid")
        try:
            header, claims = peek(token)
            signing_input, _, signature = token.rpartition(".")
            if header.get("alg") != "RS256":
                raise InvalidFleetToken("invalid")
            self._signing_key().public_key().verify(
                b64url_decode(signature), signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
            )
        except (JWTError, InvalidSignature):
            raise InvalidFleetToken("invalid") from None
        record = self._access.get(str(claims.get("jti")))
        if record is None:
            raise InvalidFleetToken("invalid")
        self._remember(token, record)
        return record

    def _remember(self, token: str, record: FleetToken) -> None:
        if len(self._verified) >= _CACHE_MAX:
            self._verified.clear()
        self._verified[token] = record


def _login_required() -> GrantError:
    return GrantError("login_required", "Login required", 401)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def _int_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")
