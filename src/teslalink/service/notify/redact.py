"""What of a target's URL may be shown, and the scrubbing of everything else from text we show.

A notification URL is a secret more often than not: an ntfy topic is "essentially a password"
(docs.ntfy.sh/publish), a webhook path often carries a token (Discord, Slack, Home Assistant
webhook ids), the query may hold ntfy's `auth=` parameter, the user part a password, and an
apprise URL keeps its tokens anywhere, the host included (`tgram://BOT_TOKEN/CHAT_ID`). So:

* a target's *name* (`TargetStatus.name`, log lines, the CLI) is its kind and the URL's scheme and
  host only, e.g. `ntfy https://ntfy.sh`; an apprise URL shows its scheme alone (`apprise tgram://`);
* every line we build from outside text (an exception, a server's error body, apprise's own
  logs) passes through `Secrets.scrub`, which cuts each secret part of the URL out of it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import urllib.parse
from typing import Final

from .. import _lines

__all__ = ["HIDDEN", "Secrets", "install_log_scrubber", "one_line", "target_name"]

HIDDEN: Final = "…"
"""What stands where a secret was."""

MAX_LINE: Final = 300
"""Our choice: a reason longer than this is cut (a status line or a log, not a page)."""

_SHORTEST_SECRET: Final = 3
"""Our choice: parts shorter than this are no secret worth a scrub (and would cut common words)."""


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """`text` on one line, control characters gone, at most `limit` characters."""
    return _lines.one_line(text, limit)


def _host_part(parts: urllib.parse.SplitResult) -> str:
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a port that is not a number
        return ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port is not None else host


def target_name(kind: str, url: str) -> str:
    """How a target is shown: its kind and the URL's scheme and host, nothing else.

    An apprise URL shows only its scheme: its "host" is a token for many services.
    """
    parts = urllib.parse.urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if not scheme or not scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        return f"{kind} (an unreadable URL)"
    if kind == "apprise":
        return f"{kind} {scheme}://"
    host = _host_part(parts)
    return f"{kind} {scheme}://{host}" if host else f"{kind} {scheme}://"


class Secrets:
    """The secret parts of one URL, to be cut out of any text before it is shown or logged.

    `host_secret`: the host is a secret too (an apprise URL).
    """

    __slots__ = ("_parts",)

    def __init__(self, url: str, *, host_secret: bool = False) -> None:
        url = url.strip()
        parts = urllib.parse.urlsplit(url)
        found = {url, parts.netloc.rpartition("@")[0], parts.path, parts.query, parts.fragment}
        with contextlib.suppress(ValueError):  # a port that is not a number
            found.update((parts.username or "", parts.password or ""))
        segments = [segment for segment in parts.path.split("/") if segment]
        if host_secret:
            found.update(segments)
        else:  # the whole path is cut anyway; alone, a segment that may be a token (not "api", "hook")
            found.update(s for s in segments[:-1] if len(s) >= 12 or any(c.isdigit() for c in s))
            found.update(segments[-1:])  # the ntfy topic, the webhook id
        for _, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            found.add(value)
        found.update(parts.query.split("&"))
        if host_secret:
            found.update((parts.netloc, parts.hostname or "", url.partition("://")[2]))
        # the decoded forms too: a library may log the path unquoted
        found.update({urllib.parse.unquote(part) for part in found})
        shown = "" if host_secret else _host_part(parts)  # shown in the name anyway: never cut from it
        wanted = {
            part for part in found if len(part) >= _SHORTEST_SECRET and part.strip("/") and part not in shown
        }
        self._parts = sorted(wanted, key=len, reverse=True)  # the longest first: a path before its segments

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self._parts)

    def scrub(self, text: str) -> str:
        for part in self._parts:
            if part in text:
                text = text.replace(part, HIDDEN)
        return text

    def line(self, text: str) -> str:
        """`text` scrubbed, on one line."""
        return one_line(self.scrub(text))


class _Scrubber(logging.Filter):
    """Cuts every registered secret out of the records of a library's logger (apprise logs the
    URL it posts to at debug, urllib3 the path)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: list[Secrets] = []
        self._lock = threading.Lock()

    def add(self, secrets: Secrets) -> None:
        with self._lock:
            self._secrets.append(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            secrets = list(self._secrets)
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: leave it to logging
            return True
        scrubbed = text
        for each in secrets:
            scrubbed = each.scrub(scrubbed)
        if scrubbed != text:
            record.msg, record.args = scrubbed, None
        return True


_SCRUBBER = _Scrubber()
_SCRUBBED_LOGGERS: Final = ("apprise", "urllib3.connectionpool", "urllib3.connection", "requests")
_installed = False


def install_log_scrubber(secrets: Secrets) -> None:
    """Keep `secrets` out of the logs of the libraries apprise works through (their own loggers:
    a filter on a logger sees the records logged there, not those of its children)."""
    global _installed  # noqa: PLW0603 - one filter per process, installed once
    _SCRUBBER.add(secrets)
    if not _installed:
        for name in _SCRUBBED_LOGGERS:
            logging.getLogger(name).addFilter(_SCRUBBER)
        _installed = True
