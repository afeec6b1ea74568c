"""What a notification target is, and what the HTTP ones (webhook, ntfy) share.

A target sends one notification per `send` call, once: retrying is the notifier's business. It
raises `errors.DeliveryFailed` and nothing else, whose `retry` says whether trying again may
help: a connection failure, a timeout, 408, 429 (with the wait it asks for) and 5xx may pass; any
other 4xx (a wrong URL, a refused token, a body the server does not take) will not, and a
redirect is not followed (our choice: the URL in the config should be the one that takes posts;
following one would post the event to wherever a server says).

HTTP goes through the project's seam, `teslalink._http.Transport` (one aiohttp session, the
caller's when given; aiohttp's errors already translated). The URL's user part is never sent
as part of the URL: it becomes an `Authorization: Basic` header, the form ntfy documents for a
user and password (and for an access token, with an empty user), so it never reaches an error
message either.
"""

from __future__ import annotations

import base64
import http
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Protocol

from yarl import URL

from ... import __version__, errors
from ..._http import Transport
from ..._json import loads
from ...transport import Timeouts, rate_limit_wait, retry_after
from ..events import Event
from .redact import Secrets, one_line, target_name

if TYPE_CHECKING:
    import aiohttp

__all__ = ["TIMEOUTS", "USER_AGENT", "HttpTarget", "Target", "check_answer", "new_transport"]

USER_AGENT: Final = f"teslalink/{__version__}"

TIMEOUTS: Final = Timeouts(connect_s=5.0, read_s=10.0)
"""Our choice: a notification service answers a post at once; a slow one is tried again later."""

MAX_ANSWER: Final = 1024 * 1024
"""Our choice: only the status of an answer matters; a bigger answer is not read whole."""


class Target(Protocol):
    """One place notifications go; `name` is safe to show (kind, scheme and host only)."""

    @property
    def name(self) -> str: ...

    @property
    def secrets(self) -> Secrets: ...

    async def send(self, event: Event, *, test: bool = False) -> None:
        """Deliver `event` once; `test`: it is a test (`teslalink notify test`) and says so."""
        ...


def new_transport(session: aiohttp.ClientSession | None = None) -> Transport:
    """The transport every HTTP target of one notifier shares (`session`: an aiohttp session,
    kept open; without one, the transport opens and closes its own)."""
    return Transport(session, timeouts=TIMEOUTS, max_body=MAX_ANSWER)


class HttpTarget:
    """A target reached by one HTTP POST (the webhook, ntfy)."""

    kind: str = "http"

    def __init__(self, url: str, transport: Transport) -> None:
        self._name = target_name(self.kind, url)
        self._secrets = Secrets(url)
        self._url, self._authorization = self._endpoint(url)
        self._transport = transport

    @property
    def name(self) -> str:
        return self._name

    @property
    def secrets(self) -> Secrets:
        return self._secrets

    def _endpoint(self, text: str) -> tuple[URL, str | None]:
        """The URL to post to (without its user part) and the Authorization header it implies."""
        text = text.strip()
        if any(not c.isprintable() or c.isspace() for c in text):
            raise errors.ConfigError(f"{self._name}: the URL holds spaces or control characters")
        try:
            url = URL(text)
        except (ValueError, TypeError):
            raise errors.ConfigError(f"{self._name}: the URL cannot be read") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise errors.ConfigError(f"{self._name}: the URL must be http:// or https:// and name a host")
        authorization = None
        if url.user is not None or url.password is not None:
            pair = f"{url.user or ''}:{url.password or ''}".encode()
            authorization = "Basic " + base64.b64encode(pair).decode("ascii")
            url = url.with_user(None)
        return url, authorization

    async def post(self, body: bytes, headers: Mapping[str, str]) -> None:
        """POST `body`; a failure of any kind is a `DeliveryFailed` whose text holds no secret."""
        sent = {"User-Agent": USER_AGENT, **headers}
        if self._authorization is not None:
            sent["Authorization"] = self._authorization
        try:
            response = await self._transport.request(
                "POST", self._url, headers=sent, data=body, allow_redirects=False
            )
        except (errors.ConnectionError, errors.TimeoutError) as exc:
            raise errors.DeliveryFailed(self._secrets.line(str(exc)), retry=True) from None
        except errors.TeslalinkError as exc:
            raise errors.DeliveryFailed(self._secrets.line(str(exc)), retry=False) from None
        except Exception as exc:  # what the seam does not know: said by its type, never retried
            raise errors.DeliveryFailed(self._secrets.line(type(exc).__name__), retry=False) from None
        check_answer(response.status, response.headers, response.body, self._secrets)


def check_answer(status: int, headers: Mapping[str, str], body: bytes, secrets: Secrets) -> None:
    """Nothing for a 2xx; otherwise the `DeliveryFailed` the answer means."""
    if 200 <= status < 300:
        return
    detail = _detail(status, body, secrets)
    if status in (408, 429) or status >= 500:
        wait = rate_limit_wait(headers) if status == 429 else retry_after(headers)
        raise errors.DeliveryFailed(f"HTTP {status}: {detail}", retry=True, retry_after=wait, status=status)
    if 300 <= status < 400:
        detail = "a redirect, not followed: give the URL it leads to"
    raise errors.DeliveryFailed(f"HTTP {status}: {detail} (not retried)", retry=False, status=status)


def _detail(status: int, body: bytes, secrets: Secrets) -> str:
    """The server's own word when it gives one (ntfy answers `{"error": "unauthorized", ...}`),
    else the status's name."""
    said = ""
    if body[:1] in (b"{", b" ", b"\n"):
        try:
            decoded = loads(body)
        except errors.DecodeError:
            decoded = None
        if isinstance(decoded, dict):
            for key in ("error", "message", "detail"):
                if isinstance(decoded.get(key), str) and decoded[key].strip():
                    said = decoded[key]
                    break
    if not said:
        try:
            said = http.HTTPStatus(status).phrase
        except ValueError:
            said = "an unknown status"
    return one_line(secrets.scrub(said), 120)
