"""The apprise target: any of apprise's URLs (`tgram://`, `pover://`, `mailto://`, `json://` ...),
through the optional extra `apprise` (`pip install 'teslalink[apprise]'`).

apprise is synchronous (it posts with requests), so each notification runs in a daemon thread of
its own (`_daemon.in_daemon_thread`): the loop never waits on it, and a call that hangs is
abandoned at `APPRISE_TIMEOUT_S` and at exit instead of holding the process. One call at a time
per target (the notifier's delivery task is the only caller), so one `Apprise` object is safe.

apprise does not say whether a failure lasts, so every failure may be retried (our choice); its
reason is the last warning apprise noted for the call (apprise 2.x returns them with the result;
1.x says only true or false). apprise logs the URL it posts to at debug level: the secrets of
every apprise target are scrubbed from its logger and urllib3's (`redact.install_log_scrubber`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from ... import errors
from ..._daemon import in_daemon_thread
from ..events import Event
from .message import style_of, title_of
from .redact import Secrets, install_log_scrubber, target_name

__all__ = ["APPRISE_TIMEOUT_S", "EXTRA_HINT", "AppriseTarget"]

APPRISE_TIMEOUT_S: Final = 60.0
"""Our choice: apprise's own socket timeouts are a few seconds; a call still running after a
minute is left behind and counted as a failure to retry."""

EXTRA_HINT: Final = "notify targets of kind apprise need the apprise extra: pip install 'teslalink[apprise]'"


class AppriseTarget:
    kind = "apprise"

    def __init__(self, url: str) -> None:
        self._name = target_name(self.kind, url)
        self._secrets = Secrets(url, host_secret=True)
        try:
            import apprise  # noqa: PLC0415 - the optional extra, imported only for an apprise target
        except ImportError:
            raise errors.ConfigError(EXTRA_HINT) from None
        install_log_scrubber(self._secrets)  # before `add`: apprise may log the URL it refuses
        self._apprise = apprise.Apprise()
        if not self._apprise.add(url.strip()):
            raise errors.ConfigError(
                f"{self._name}: apprise does not take this URL (see its list of services)"
            )

    @property
    def name(self) -> str:
        return self._name

    @property
    def secrets(self) -> Secrets:
        return self._secrets

    async def send(self, event: Event, *, test: bool = False) -> None:
        title = title_of(event, test=test)
        body = event.text or title
        try:
            async with asyncio.timeout(APPRISE_TIMEOUT_S):
                reason = await in_daemon_thread(self._notify, title, body, style_of(event.kind).severity)
        except TimeoutError:
            raise errors.DeliveryFailed(
                f"apprise did not finish within {APPRISE_TIMEOUT_S:g} s", retry=True
            ) from None
        except Exception as exc:  # raised inside apprise: said by its type and scrubbed words
            said = self._secrets.line(f"{type(exc).__name__}: {exc}")
            raise errors.DeliveryFailed(f"apprise failed: {said}", retry=True) from None
        if reason is not None:
            raise errors.DeliveryFailed(self._secrets.line(reason), retry=True)

    def _notify(self, title: str, body: str, severity: str) -> str | None:
        """In the thread: None when apprise delivered, else its reason."""
        result: Any = self._apprise.notify(body=body, title=title, notify_type=severity)
        if bool(result):
            return None
        logs = getattr(result, "logs", None)  # apprise 2.x: an AppriseResult with what it noted
        warnings = [entry.message for entry in logs() if entry.level in ("WARNING", "ERROR")] if logs else []
        return f"apprise: {warnings[-1]}" if warnings else "apprise could not deliver the notification"
