"""The ntfy target: one POST of the event's text to the topic URL (docs.ntfy.sh/publish).

The body is the event's one line of text; the headers are those ntfy documents: `Title` (the
device and what happened), `Priority` (1 min .. 5 max) and `Tags` (emoji short codes), chosen per
kind in `message.STYLES`. A title that is not ASCII is sent RFC 2047-encoded (`=?UTF-8?B?...?=`),
which ntfy decodes, since not every hop passes UTF-8 in a header.

Authentication, only as ntfy documents it: a user and password in the URL
(`https://user:pass@host/topic`) are sent as `Authorization: Basic`, and so is an access token
given as the password with an empty user (`https://:tk_...@host/topic`); the `auth` query
parameter (`?auth=...`) is kept in the URL as it is. None of them is ever shown: the target's
name is `ntfy https://host`.
"""

from __future__ import annotations

import base64
from typing import Final

from yarl import URL

from ... import errors
from ..events import Event
from .message import style_of, title_of
from .redact import one_line
from .target import HttpTarget

__all__ = ["NtfyTarget", "ntfy_headers"]

MAX_HEADER: Final = 250
"""Our choice: a title is one short line; ntfy shows little more on a phone."""


def header_text(text: str) -> str:
    """`text` as a header value: one line, and RFC 2047 base64 when it is not ASCII."""
    line = one_line(text, MAX_HEADER)
    if line.isascii():
        return line
    return "=?UTF-8?B?" + base64.b64encode(line.encode("utf-8")).decode("ascii") + "?="


def ntfy_headers(event: Event, *, test: bool = False) -> dict[str, str]:
    style = style_of(event.kind)
    tags = (*style.tags, "test") if test else style.tags
    headers = {
        "Title": header_text(title_of(event, test=test)),
        "Priority": str(style.priority),
        "Content-Type": "text/plain; charset=utf-8",
    }
    if tags:
        headers["Tags"] = ",".join(tags)
    return headers


class NtfyTarget(HttpTarget):
    kind = "ntfy"

    def _endpoint(self, text: str) -> tuple[URL, str | None]:
        url, authorization = super()._endpoint(text)
        if not url.path.strip("/"):
            raise errors.ConfigError(f"{self.name}: the URL names no topic (https://ntfy.sh/<topic>)")
        return url, authorization

    async def send(self, event: Event, *, test: bool = False) -> None:
        body = (event.text or title_of(event, test=test)).encode("utf-8", "replace")
        await self.post(body, ntfy_headers(event, test=test))
