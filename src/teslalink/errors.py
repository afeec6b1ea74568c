"""One exception tree for everything teslalink raises.

Callers catch one root, or the precise child they can act on. Third-party exceptions (aiohttp, orjson,
asyncio timeouts) are translated at the transport seam (`teslalink._http`) and the decoder
(`teslalink._json`), so no raw library traceback reaches a user::

    TeslalinkError
    ├── ConnectionError          the host could not be reached or dropped the connection
    │   └── NotSent              nothing was written: no connection could be had within the connect budget
    ├── TimeoutError             the host did not answer within the connect or read budget
    ├── DecodeError              the body is not JSON even after repair; `.raw` keeps the body
    ├── AuthError                login or token problems
    │   ├── MfaRequired          the account needs a second factor and no passcode getter was given
    │   ├── CaptchaRequired      the SSO asks for a captcha and no solver was given
    │   └── TokenExpired         the token is expired or revoked and could not be refreshed
    │       └── LoginRequired    401 login_required: the Fleet refresh token is retired; log in again
    ├── ApiError                 the server answered with an error: `.status`, `.error`, `.description`
    │   ├── VehicleUnavailable   408: the car is asleep or offline
    │   ├── RateLimited          429: `.retry_after` seconds
    │   ├── ServiceUnavailable   5xx: the service failed for now; worth trying again later
    │   ├── CommandFailed        the command ran and answered result false: `.reason`
    │   ├── CommandSigningRequired  403: the car wants signed commands (Vehicle Command Protocol)
    │   ├── MissingScopes        403 missing scopes: the user did not grant them; `.missing` names them
    │   ├── NotRegistered        412: the partner app is not registered in this Fleet region
    │   ├── OutOfRegion          421: the account lives in another Fleet region; `.base_url` is Tesla's word
    │   └── SignedCommandsNotSupported  422: the car takes REST commands only (a pre-2021 Model S/X)
    ├── NotPaired                the car does not know our key: `.link` is the tesla.com/_ak page, `.vin`
    ├── DeliveryFailed           a notification target did not take a notification: `.retry`, `.retry_after`
    ├── StorageError             the recorder's database cannot be opened, read or written (a path, a DSN
    │                            shown without its password, a schema newer than this teslalink)
    └── ConfigError              bad user input (a malformed host, an unknown option value)

Every message names the host or endpoint involved and never carries a secret.
"""

from __future__ import annotations

import builtins

__all__ = [
    "ApiError",
    "AuthError",
    "CaptchaRequired",
    "CommandFailed",
    "CommandSigningRequired",
    "ConfigError",
    "ConnectionError",
    "DecodeError",
    "DeliveryFailed",
    "LoginRequired",
    "MfaRequired",
    "MissingScopes",
    "NotPaired",
    "NotRegistered",
    "NotSent",
    "OutOfRegion",
    "RateLimited",
    "ServiceUnavailable",
    "SignedCommandsNotSupported",
    "StorageError",
    "TeslalinkError",
    "TimeoutError",
    "TokenExpired",
    "VehicleUnavailable",
]


class TeslalinkError(Exception):
    """The root of every error teslalink raises on purpose."""


class ConnectionError(TeslalinkError, builtins.ConnectionError):
    """The host could not be reached, or it closed the connection mid-answer."""


class NotSent(ConnectionError):
    """The request was never written: no connection was free or could be opened within the connect
    budget (the wait for a free one included), so the server saw nothing and nothing ran.

    A command that fails so may be sent again; any other transport failure after the request left
    may have run it.
    """


class TimeoutError(TeslalinkError, builtins.TimeoutError):
    """The host did not answer within its connect or read budget."""


class DecodeError(TeslalinkError, ValueError):
    """The body could not be decoded even after repairing known firmware faults.

    `raw` holds the body exactly as received, so it can be logged or reported upstream.
    """

    def __init__(self, message: str, raw: bytes) -> None:
        super().__init__(message)
        self.raw = raw


class ConfigError(TeslalinkError, ValueError):
    """A value given by the user is malformed (a host, a wiring name, an option)."""


class StorageError(TeslalinkError):
    """The recorder's database could not be opened, read or written.

    One line that names the SQLite file or the PostgreSQL server (its DSN without the password)
    and what is wrong: a path that cannot be a database, a server that does not answer, a schema
    newer than this teslalink knows, a commit the database refused.
    """


class AuthError(TeslalinkError):
    """Logging in or refreshing a token failed."""


class MfaRequired(AuthError):
    """The account has multi-factor authentication and no passcode was supplied."""


class CaptchaRequired(AuthError):
    """The SSO demands a captcha and no solver was supplied."""


class TokenExpired(AuthError):
    """The access token is expired or revoked and could not be refreshed."""


class LoginRequired(TokenExpired):
    """401 `login_required`: the Fleet refresh token expired, was used up or the password changed.

    Nothing but a new login helps: `teslalink fleet login`.
    """

    def __init__(self, detail: str = "") -> None:
        where = f"{detail}: " if detail else ""
        super().__init__(f"{where}the Fleet login has lapsed; run `teslalink fleet login` to log in again")


class NotPaired(TeslalinkError):
    """The car does not know this app's key; its owner pairs it by opening `link` in the Tesla app.

    `link` is `https://tesla.com/_ak/<domain>?vin=<VIN>`; pairing is done once per car. Empty when
    the app's domain is not configured (the link names it).
    """

    def __init__(self, vin: str, link: str, detail: str = "") -> None:
        where = f"{detail}: " if detail else ""
        how = (
            f"open {link} on the owner's phone"
            if link
            else "set the app's domain (fleet.json or TESLALINK_FLEET_DOMAIN), then `teslalink fleet pair`"
        )
        super().__init__(f"{where}{vin} is not paired with this app's key; {how}")
        self.vin = vin
        self.link = link


class DeliveryFailed(TeslalinkError):
    """A notification target (a webhook, ntfy, an apprise URL) did not take a notification.

    `retry`: whether trying again later may help (a connection failure, a timeout, 408, 429, 5xx);
    `retry_after`: the seconds the target asked us to wait (None if unsaid); `status`: its HTTP
    status when it answered. The message is one line and never holds the target's URL beyond its
    scheme and host (a webhook path or an ntfy topic can be a secret).
    """

    def __init__(
        self, message: str, *, retry: bool, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after
        self.status = status


class ApiError(TeslalinkError):
    """The server answered with an error status or an error body."""

    def __init__(self, status: int, error: str = "", description: str = "") -> None:
        detail = error or "error"
        if description:
            detail = f"{detail}: {description}"
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.error = error
        self.description = description


class VehicleUnavailable(ApiError):
    """408: the car is asleep or offline; wake it first if you mean to."""


class RateLimited(ApiError):
    """429: slow down; `retry_after` is the number of seconds the server asked for (None if unsaid)."""

    def __init__(self, status: int, error: str = "", description: str = "", retry_after: float | None = None):
        super().__init__(status, error, description)
        self.retry_after = retry_after


class ServiceUnavailable(ApiError):
    """5xx: the service (the API or the SSO) failed for now; says nothing about the request or token."""


class CommandFailed(ApiError):
    """The car (or the energy site: `by`) received the command and refused it; `reason` is its word
    (e.g. `is_charging`)."""

    def __init__(self, command: str, reason: str, by: str = "the car") -> None:
        super().__init__(200, "command failed", f"{command}: {reason or 'no reason given'}")
        self.command = command
        self.reason = reason
        self.args = (f"{command}: refused by {by}: {reason or 'no reason given'}",)  # not "HTTP 200"


class CommandSigningRequired(ApiError):
    """403: the car accepts only commands signed with the Vehicle Command Protocol."""


class MissingScopes(ApiError):
    """403 `Unauthorized missing scopes`: the user did not grant what this call needs.

    `missing` holds the scopes Tesla (or we) named, e.g. ("vehicle_location",); empty if unsaid.
    A new login that asks for them fixes it (Tesla adds scopes only with `prompt_missing_scopes`).
    """

    def __init__(
        self, status: int = 403, error: str = "", description: str = "", missing: tuple[str, ...] = ()
    ) -> None:
        if missing and not description:
            named = ", ".join(missing)
            description = f"the login lacks {named}; log in again granting it (`teslalink fleet login`)"
        super().__init__(status, error or "missing scopes", description)
        self.missing = missing


class NotRegistered(ApiError):
    """412: the partner app is not registered in this Fleet region; `teslalink fleet register` does it.

    Tesla wants the app registered in every region it serves (research/fleet.md 1.4).
    """

    def __init__(self, status: int = 412, error: str = "", description: str = "") -> None:
        fix = "register the app in this region: run `teslalink fleet register --domain <your domain>`"
        detail = f"{description}; {fix}" if description else fix
        super().__init__(status, error or "app not registered", detail)


class OutOfRegion(ApiError):
    """421: the account lives in another region; `base_url` is the one Tesla named (None if unsaid)."""

    def __init__(self, status: int, error: str, description: str, base_url: str | None) -> None:
        super().__init__(status, error, description)
        self.base_url = base_url


class SignedCommandsNotSupported(ApiError):
    """422: this car does not take signed commands (a pre-2021 Model S/X); send the REST command."""
