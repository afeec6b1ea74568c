"""The SSO login state machine: authorize requests, transactions, captcha, locks and MFA.

No HTTP here (app.py parses and formats); the rules live in `LoginDesk`, shared by both regional
SSO servers through `world.auth.logins`, because an account's failed attempts and lock are the
account's, whichever server they came through.

A login is a *transaction*, created when the login page is served (GET authorize) and bound to
the browser's SSO session (the `tesla-auth.sid` cookie) and to the page's `_csrf` value::

    CREDENTIALS --password ok, no MFA---------------------------------> DONE (302 with code)
         |      --password ok, MFA--> MFA --passcode ok--> MFA_VERIFIED --POST--> DONE
         +-- cancel=1 (any live phase) --> CANCELLED (302 with error=access_denied)

Rules (docs/reference.md §2.1 where it speaks; our choices, documented, where it does not):

* Failures are counted per identity (normalised email), for unknown emails too, so the page
  never tells whether an account exists. After `captcha_after_failures` (3) a captcha is
  required; after `lock_after_failures` (10) the identity is locked for `lock_duration_s`
  (30 min of world time) and even the right password is refused; when the lock ends the count
  starts again. A wrong captcha or a missing field is not a password failure. Wrong MFA
  passcodes count towards the lock but not towards the captcha (which counts wrong passwords
  only, as docs/cloud.md says). Success resets both counts.
* The captcha answer is stored on the transaction; each GET /captcha draws a new one and each
  check consumes it (one try per image), as captcha servers do.
* MFA is TOTP (RFC 6238, ±`totp_window_steps` steps). A passcode is accepted once: a later
  login in the same 30-second step must wait for the next code (RFC 6238 section 5.2), unless
  `totp_reuse_allowed`. A reused passcode gets its own answer, `PASSCODE_ALREADY_USED` (400 from
  the JSON verify, `MSG_PASSCODE_REUSED` on the form), and is not a failure: it was the right
  code. Our choice: no source shows what Tesla answers to a reused code.
* The session cookie is checked when the client sends one (a transaction of another session is
  refused, 403). A client without cookies is not refused: the unguessable transaction id and,
  for the password step, the `_csrf` value are the proof. The password step always requires a
  matching `_csrf`; the MFA completion and cancel posts carry only `transaction_id` (what
  TeslaPy-era clients sent), and a `_csrf` they do carry must match.
* A password typed on the wrong region's page (an account of the other region) is not checked:
  the browser is sent to the other region's authorize page, as the GET does with login_hint.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

from ..accounts import Account, Region
from ..refusal import NO_STORE, Refusal
from . import totp

if TYPE_CHECKING:
    from ..world import World
    from .tokens import TokenAuthority

__all__ = [
    "KNOWN_SCOPES",
    "REDIRECT_URIS",
    "AuthorizeError",
    "AuthorizeRequest",
    "Factor",
    "Locked",
    "LoginDesk",
    "LoginError",
    "LoginPolicy",
    "Outcome",
    "Phase",
    "RedirectTo",
    "SendToRegion",
    "Session",
    "ShowForm",
    "ShowMfa",
    "Transaction",
]

REDIRECT_URIS: Final = frozenset(
    {"tesla://auth/callback", "https://auth.tesla.com/void/callback", "https://auth.tesla.cn/void/callback"}
)
"""Where the ownerapi client may be sent back: the app's scheme (current) and the void page (before 2026)."""

KNOWN_SCOPES: Final = frozenset(
    {
        "openid",
        "email",
        "offline_access",
        "profile",
        "phone",
        "user_data",
        "vehicle_device_data",
        "vehicle_location",
        "vehicle_cmds",
        "vehicle_charging_cmds",
        "energy_device_data",
        "energy_cmds",
    }
)

CAPTCHA_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: a human must read it

MSG_WRONG_CREDENTIALS: Final = "We could not sign you in. Please check your email address and password."
MSG_MISSING_FIELDS: Final = "Please enter your email address and password."
MSG_CAPTCHA_REQUIRED: Final = "Please enter the characters shown in the image."
MSG_CAPTCHA_MISMATCH: Final = "Captcha does not match. Please try again."
MSG_WRONG_PASSCODE: Final = "That passcode is not valid. Enter the current code from your authenticator app."
MSG_PASSCODE_FIRST: Final = "Enter the passcode from your authenticator app."
# Our choice of words (see the module doc): no source shows what Tesla answers.
MSG_PASSCODE_REUSED: Final = (
    "This passcode was already used. Wait for the next one from your authenticator app."
)
PASSCODE_REUSED: Final = "PASSCODE_ALREADY_USED"


class AuthorizeError(ValueError):
    """The authorize request itself is malformed (400 page); the message is safe to show."""


class LoginError(Refusal):
    """A request about a transaction that cannot be served: `status`, a `code` and a safe message.

    The MFA endpoints answer it as JSON (`response()`); the login form shows `message` on a page.
    """

    headers = NO_STORE

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, status)
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """The knobs of the login rules; replace `world.auth.logins.policy` to change them."""

    captcha_after_failures: int = 3
    lock_after_failures: int = 10
    lock_duration_s: float = 1800.0
    always_captcha: bool = False  # what real Tesla did for headless clients from 2021 on
    transaction_ttl_s: float = 1800.0
    session_ttl_s: float = 14 * 86400.0
    totp_window_steps: int = 1
    totp_reuse_allowed: bool = False
    captcha_length: int = 4


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """A validated GET /oauth2/v3/authorize query."""

    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str
    code_challenge: str
    code_challenge_method: str
    login_hint: str | None = None
    nonce: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str], *, clients: Collection[str]) -> AuthorizeRequest:
        """Validate like an OAuth server: unknown client, redirect URI or scope, no PKCE -> error.

        PKCE is mandatory and S256 only: the ownerapi client is public (no secret), and RFC 9700
        says such clients must use PKCE with S256.
        """
        client_id = params.get("client_id", "")
        if not client_id:
            raise AuthorizeError("The client_id parameter is missing.")
        if client_id not in clients:
            raise AuthorizeError("The client_id is not known to this server.")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in REDIRECT_URIS:
            raise AuthorizeError("The redirect_uri is missing or not registered for this client.")
        if params.get("response_type") != "code":
            raise AuthorizeError("The response_type must be 'code'.")
        scope = tuple(params.get("scope", "").split())
        if not scope:
            raise AuthorizeError("The scope parameter is missing.")
        if not set(scope) <= KNOWN_SCOPES:
            raise AuthorizeError("The scope contains an unknown value.")
        state = params.get("state", "")
        if not state:
            raise AuthorizeError("The state parameter is missing.")
        challenge = params.get("code_challenge", "")
        method = params.get("code_challenge_method", "")
        if not challenge:
            raise AuthorizeError("PKCE is required: the code_challenge parameter is missing.")
        if method != "S256":
            raise AuthorizeError("The code_challenge_method must be S256.")
        if len(challenge) != 43 or not all(c.isalnum() or c in "-_" for c in challenge):
            raise AuthorizeError("The code_challenge is not a base64url SHA-256 digest.")
        hint = params.get("login_hint", "").strip() or None
        nonce = params.get("nonce") or None
        return cls(client_id, redirect_uri, scope, state, challenge, method, hint, nonce)


class Phase(enum.Enum):
    CREDENTIALS = "credentials"
    MFA = "mfa"
    MFA_VERIFIED = "mfa_verified"
    DONE = "done"
    CANCELLED = "cancelled"


_LIVE: Final = frozenset({Phase.CREDENTIALS, Phase.MFA, Phase.MFA_VERIFIED})


@dataclass(eq=False, slots=True)
class Session:
    """A browser's SSO session (the cookie): its transactions and who signed in with it."""

    id: str = field(repr=False)
    created_at: float
    account: Account | None = None
    last_transaction: str | None = field(default=None, repr=False)


@dataclass(eq=False, slots=True)
class Transaction:
    """One login attempt from one login page."""

    id: str = field(repr=False)
    session_id: str = field(repr=False)
    csrf: str = field(repr=False)
    region: Region
    issuer: str  # <SSO base URL>oauth2/v3, sent back with the code
    request: AuthorizeRequest
    query: str = field(repr=False)  # the authorize query as received, for a cross-region redirect
    peers: frozenset[Region]  # regions whose SSO this server can send a browser to
    created_at: float
    phase: Phase = Phase.CREDENTIALS
    account: Account | None = None
    identity: str | None = None  # what was typed, to fill the form again
    amr: tuple[str, ...] = ()
    captcha_required: bool = False
    captcha_answer: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Factor:
    """A registered second factor (an authenticator app)."""

    id: str
    name: str
    created_at: float
    factor_type: str = "token:software"

    def as_json(self) -> dict[str, Any]:
        stamp = datetime.fromtimestamp(self.created_at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return {
            "dispatchRequired": False,
            "id": self.id,
            "name": self.name,
            "factorType": self.factor_type,
            "factorProvider": "TESLA",
            "securityLevel": 1,
            "activatedAt": stamp,
            "updatedAt": stamp,
        }


# --- outcomes of a step: app.py turns each into a response ------------------------------------


@dataclass(frozen=True, slots=True)
class ShowForm:
    """Serve the login form again (200), with a message and maybe a captcha."""

    error: str | None
    captcha: bool


@dataclass(frozen=True, slots=True)
class ShowMfa:
    """Serve the second-factor page (200)."""

    error: str | None = None


@dataclass(frozen=True, slots=True)
class Locked:
    """Serve the form with the lock message: `remaining_s` of world time to wait."""

    remaining_s: float

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.remaining_s / 60))
        unit = "minute" if minutes == 1 else "minutes"
        return (
            "Your account has been locked after too many failed sign-in attempts. "
            f"Please try again in {minutes} {unit}."
        )


@dataclass(frozen=True, slots=True)
class RedirectTo:
    """302 to the client's redirect URI (carrying a code, or an error)."""

    url: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SendToRegion:
    """303 to the authorize page of the region the account lives in."""

    region: Region
    login_hint: str


Outcome = ShowForm | ShowMfa | Locked | RedirectTo | SendToRegion


@dataclass(slots=True)
class _Attempts:
    failures: int = 0  # every failure: towards the lock
    password_failures: int = 0  # wrong passwords only: towards the captcha
    locked_until: float | None = None


class LoginDesk:
    """Transactions, sessions and per-identity attempt counts; see the module docstring."""

    def __init__(self, world: World, authority: TokenAuthority, policy: LoginPolicy | None = None) -> None:
        self.world = world
        self.authority = authority
        self.policy = policy if policy is not None else LoginPolicy()
        self._sessions: dict[str, Session] = {}
        self._transactions: dict[str, Transaction] = {}
        self._attempts: dict[str, _Attempts] = {}
        self._last_totp_step: dict[str, int] = {}
        self._factors: dict[str, Factor] = {}
        self._starts = 0

    def __repr__(self) -> str:
        return (
            f"LoginDesk(policy={self.policy!r}, sessions={len(self._sessions)}, "
            f"transactions={len(self._transactions)})"
        )

    # --- sessions and transactions -------------------------------------------------------------

    def start(
        self,
        request: AuthorizeRequest,
        *,
        region: Region,
        issuer: str,
        query: str,
        peers: Collection[Region] = (),
        session_id: str | None = None,
    ) -> Transaction:
        """A new transaction for a login page, in the caller's session (a new one if none/expired)."""
        now = self.world.now()
        self._starts += 1
        if self._starts % 256 == 0:
            self._prune(now)
        session = self.session(session_id)
        if session is None:
            session = Session(id=self.authority.random_token(24), created_at=now)
            self._sessions[session.id] = session
        tx = Transaction(
            id=self.authority.random_token(24),
            session_id=session.id,
            csrf=self.authority.random_token(24),
            region=region,
            issuer=issuer,
            request=request,
            query=query,
            peers=frozenset(peers),
            created_at=now,
            identity=request.login_hint,
        )
        if request.login_hint is not None:
            tx.captcha_required = self._captcha_due(self._attempts_for(_key(request.login_hint), now))
        else:
            tx.captcha_required = self.policy.always_captcha
        self._transactions[tx.id] = tx
        session.last_transaction = tx.id
        return tx

    def session(self, session_id: str | None) -> Session | None:
        """The live session with this id, or None."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None or self.world.now() - session.created_at > self.policy.session_ttl_s:
            return None
        return session

    def transaction(
        self, transaction_id: str, *, region: Region, session_id: str | None = None
    ) -> Transaction:
        """The live transaction with this id: `LoginError` 400 if unknown or expired, 403 if not ours."""
        tx = self._transactions.get(transaction_id)
        if (
            tx is None
            or tx.region != region
            or self.world.now() - tx.created_at > self.policy.transaction_ttl_s
        ):
            raise LoginError(
                400,
                "TRANSACTION_NOT_FOUND",
                "This sign-in request is unknown or has expired. Please start again.",
            )
        if session_id is not None and self.session(session_id) is not None and session_id != tx.session_id:
            raise LoginError(403, "INVALID_SESSION", "This sign-in request belongs to another session.")
        return tx

    def check_csrf(self, tx: Transaction, csrf: str | None) -> None:
        """`LoginError` 403 unless `csrf` is the value the transaction's page carried."""
        if csrf is None or not hmac.compare_digest(csrf.encode(), tx.csrf.encode()):
            raise LoginError(403, "INVALID_CSRF", "The form has expired or was not sent by this page.")

    def submit(self, tx: Transaction, form: Mapping[str, str]) -> Outcome:
        """One POST of the authorize form, whichever step it is: cancel, password, passcode, completion.

        A `_csrf` that is sent must match; the password step requires it (see the module doc).
        """
        csrf = form.get("_csrf")
        if csrf is not None:
            self.check_csrf(tx, csrf)
        if form.get("cancel", "").lower() in ("1", "true", "yes"):
            return self.cancel(tx)
        if tx.phase is Phase.CREDENTIALS:
            self.check_csrf(tx, csrf)
            return self.submit_credentials(
                tx, form.get("identity", ""), form.get("credential", ""), form.get("captcha")
            )
        passcode = form.get("passcode")
        if tx.phase is Phase.MFA and passcode and tx.account is not None:
            factor_id = form.get("factor_id") or self.factor_of(tx.account).id
            try:
                valid = self.verify_passcode(tx, factor_id, passcode)
            except LoginError as exc:
                if exc.code != PASSCODE_REUSED:
                    raise
                return ShowMfa(MSG_PASSCODE_REUSED)
            if not valid:
                until = self.locked_until(tx.account.email)
                if until is not None:
                    return ShowMfa(Locked(until - self.world.now()).message)
                return ShowMfa(MSG_WRONG_PASSCODE)
        return self.complete(tx)

    # --- the password step ---------------------------------------------------------------------

    def submit_credentials(
        self, tx: Transaction, identity: str, credential: str, captcha: str | None = None
    ) -> Outcome:
        """Check identity and password (and the captcha when one is due)."""
        self._require(tx, Phase.CREDENTIALS)
        now = self.world.now()
        identity = identity.strip()
        tx.identity = identity or tx.identity
        if not identity or not credential:
            return ShowForm(MSG_MISSING_FIELDS, tx.captcha_required)
        key = _key(identity)
        account = self._account(key)
        if account is not None and account.region != tx.region and account.region in tx.peers:
            return SendToRegion(account.region, identity)
        attempts = self._attempts_for(key, now)
        if attempts.locked_until is not None:
            return Locked(attempts.locked_until - now)
        tx.captcha_required = tx.captcha_required or self._captcha_due(attempts)
        if tx.captcha_required:
            expected, tx.captcha_answer = tx.captcha_answer, None  # one try per image
            typed = (captcha or "").strip().upper()
            if not typed:
                return ShowForm(MSG_CAPTCHA_REQUIRED, True)
            if expected is None or not hmac.compare_digest(typed.encode(), expected.encode()):
                return ShowForm(MSG_CAPTCHA_MISMATCH, True)
        if (
            account is None
            or account.region != tx.region
            or not hmac.compare_digest(credential.encode(), account.password.encode())
        ):
            if self._fail(attempts, now, password=True):
                return Locked(self.policy.lock_duration_s)
            tx.captcha_required = tx.captcha_required or self._captcha_due(attempts)
            return ShowForm(MSG_WRONG_CREDENTIALS, tx.captcha_required)
        tx.account = account
        tx.amr = ("pwd",)
        if account.has_mfa:
            tx.phase = Phase.MFA
            return ShowMfa()
        return self._finish(tx, key)

    # --- the second factor ---------------------------------------------------------------------

    def factors(self, tx: Transaction) -> list[Factor]:
        """The account's registered factors, once the password step is passed."""
        self._require(tx, Phase.MFA, Phase.MFA_VERIFIED)
        assert tx.account is not None
        return [self.factor_of(tx.account)]

    def factor_of(self, account: Account) -> Factor:
        """The account's authenticator factor (a stable id derived from the email)."""
        key = _key(account.email)
        factor = self._factors.get(key)
        if factor is None:
            digest = hashlib.blake2b(key.encode(), digest_size=16, person=b"teslalink-mfa").digest()
            factor = Factor(
                id=str(uuid.UUID(bytes=digest, version=4)), name="Authenticator", created_at=self.world.now()
            )
            self._factors[key] = factor
        return factor

    def verify_passcode(self, tx: Transaction, factor_id: str, passcode: str) -> bool:
        """Check a TOTP passcode for the transaction's account; a wrong one counts towards the lock.

        A passcode already used in its step is `LoginError` `PASSCODE_ALREADY_USED` (no failure).
        """
        self._require(tx, Phase.MFA)
        account = tx.account
        assert account is not None
        assert account.mfa_secret is not None
        if factor_id != self.factor_of(account).id:
            raise LoginError(400, "FACTOR_NOT_FOUND", "The factor_id is not registered for this account.")
        now = self.world.now()
        key = _key(account.email)
        attempts = self._attempts_for(key, now)
        if attempts.locked_until is not None:
            raise LoginError(400, "ACCOUNT_LOCKED", Locked(attempts.locked_until - now).message)
        after = None if self.policy.totp_reuse_allowed else self._last_totp_step.get(key)
        step = totp.verify(
            account.mfa_secret, passcode, now, window=self.policy.totp_window_steps, after_step=after
        )
        if step is None:
            if after is not None and self._matches_any_step(account.mfa_secret, passcode, now):
                raise LoginError(400, PASSCODE_REUSED, MSG_PASSCODE_REUSED)
            self._fail(attempts, now)
            return False
        self._last_totp_step[key] = step
        tx.phase = Phase.MFA_VERIFIED
        tx.amr = ("pwd", "mfa", "otp")
        return True

    def _matches_any_step(self, secret: str, passcode: str, now: float) -> bool:
        """The passcode is right for a step of the window, already used ones included."""
        return totp.verify(secret, passcode, now, window=self.policy.totp_window_steps) is not None

    def complete(self, tx: Transaction) -> Outcome:
        """The post after MFA: the code if the passcode was verified, else the MFA page again."""
        self._require(tx, Phase.MFA, Phase.MFA_VERIFIED)
        if tx.phase is Phase.MFA:
            return ShowMfa(MSG_PASSCODE_FIRST)
        assert tx.account is not None
        return self._finish(tx, _key(tx.account.email))

    def cancel(self, tx: Transaction) -> RedirectTo:
        """End the transaction; the client gets `error=access_denied` (RFC 6749 section 4.1.2.1)."""
        self._require(tx, *_LIVE)
        tx.phase = Phase.CANCELLED
        params = {
            "error": "access_denied",
            "error_description": "The user cancelled the login.",
            "state": tx.request.state,
        }
        return RedirectTo(_with_query(tx.request.redirect_uri, params))

    # --- captcha -------------------------------------------------------------------------------

    def new_captcha(self, tx: Transaction | None) -> str:
        """Draw captcha text; stored on the transaction (the previous one is void)."""
        text = self.authority.choice(CAPTCHA_ALPHABET, self.policy.captcha_length)
        if tx is not None:
            tx.captcha_answer = text
        return text

    def captcha_transaction(
        self, *, session_id: str | None, transaction_id: str | None
    ) -> Transaction | None:
        """The transaction a GET /captcha is for: named in the query, else the session's latest."""
        if transaction_id:
            tx = self._transactions.get(transaction_id)
            if tx is not None and (
                session_id is None or self.session(session_id) is None or tx.session_id == session_id
            ):
                return tx
            return None
        session = self.session(session_id)
        if session is None or session.last_transaction is None:
            return None
        return self._transactions.get(session.last_transaction)

    # --- logout, inspection, scenarios ---------------------------------------------------------

    def logout(self, session_id: str | None) -> Account | None:
        """End the session; returns who was signed in with it (None if nobody)."""
        session = self.session(session_id)
        if session is None:
            return None
        del self._sessions[session.id]
        return session.account

    def end_sessions_of(self, account: Account) -> None:
        """Sign `account` out of every browser (after a token revocation)."""
        for sid in [sid for sid, s in self._sessions.items() if s.account is account]:
            del self._sessions[sid]

    def failures(self, identity: str) -> int:
        """Failed attempts counted for this identity (0 after a success or when a lock ends)."""
        key = _key(identity)
        return self._attempts_for(key, self.world.now()).failures if key in self._attempts else 0

    def locked_until(self, identity: str) -> float | None:
        """World time the identity's lock ends, or None if it is not locked."""
        key = _key(identity)
        return self._attempts_for(key, self.world.now()).locked_until if key in self._attempts else None

    def reset_attempts(self, identity: str) -> None:
        """Forget failures and lock of an identity (what Tesla support does on the phone)."""
        self._attempts.pop(_key(identity), None)

    # --- internals -----------------------------------------------------------------------------

    def _finish(self, tx: Transaction, key: str) -> RedirectTo:
        account = tx.account
        assert account is not None
        req = tx.request
        code = self.authority.issue_code(
            account,
            client_id=req.client_id,
            redirect_uri=req.redirect_uri,
            code_challenge=req.code_challenge,
            scope=req.scope,
            region=tx.region,
            amr=tx.amr,
            auth_time=self.world.now(),
            nonce=req.nonce,
            state=req.state,
        )
        tx.phase = Phase.DONE
        self._attempts.pop(key, None)
        session = self._sessions.get(tx.session_id)
        if session is not None:
            session.account = account
        return RedirectTo(
            _with_query(req.redirect_uri, {"code": code, "state": req.state, "issuer": tx.issuer})
        )

    def _require(self, tx: Transaction, *phases: Phase) -> None:
        if tx.phase not in phases:
            if tx.phase not in _LIVE:
                raise LoginError(
                    400,
                    "TRANSACTION_NOT_FOUND",
                    "This sign-in request is already finished. Please start again.",
                )
            raise LoginError(400, "INVALID_PHASE", "This step does not apply to the sign-in request now.")

    def _account(self, key: str) -> Account | None:
        try:
            return self.world.account(key)
        except KeyError:
            return None

    def _attempts_for(self, key: str, now: float) -> _Attempts:
        attempts = self._attempts.get(key)
        if attempts is None:
            attempts = self._attempts[key] = _Attempts()
        elif attempts.locked_until is not None and now >= attempts.locked_until:
            attempts.failures, attempts.password_failures, attempts.locked_until = 0, 0, None
        return attempts

    def _captcha_due(self, attempts: _Attempts) -> bool:
        due = attempts.password_failures >= self.policy.captcha_after_failures
        return self.policy.always_captcha or due

    def _fail(self, attempts: _Attempts, now: float, *, password: bool = False) -> bool:
        """Count a failure (a wrong `password` also towards the captcha); True if it locked the identity."""
        attempts.failures += 1
        attempts.password_failures += password
        if attempts.failures >= self.policy.lock_after_failures:
            attempts.locked_until = now + self.policy.lock_duration_s
            return True
        return False

    def _prune(self, now: float) -> None:
        ttl = self.policy.transaction_ttl_s
        self._transactions = {k: t for k, t in self._transactions.items() if now - t.created_at <= ttl}
        stl = self.policy.session_ttl_s
        self._sessions = {k: s for k, s in self._sessions.items() if now - s.created_at <= stl}
        for key in list(self._attempts):
            attempts = self._attempts_for(key, now)  # ends expired locks
            if attempts.failures == 0 and attempts.locked_until is None:
                del self._attempts[key]


def _key(identity: str) -> str:
    return identity.strip().lower()


def _with_query(uri: str, params: Mapping[str, str]) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"
