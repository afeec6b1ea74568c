"""The webhook target: one JSON POST of the event to a URL the owner gives.

The body (our choice; docs/service.md "Notifications" shows it)::

    {"source": "teslalink", "version": "0.1.0", "test": false,
     "title": "Model 3: Plugged in", "event": <Event.to_json()>}

`event` is the shape `/status` and `history events --json` use too (kind, at_ms, device, text,
figures). `test` is true only for `teslalink notify test`. A retry after an answer that was lost
may deliver an event twice: a receiver that must not act twice keys on (event.kind,
event.device.id, event.at_ms).
"""

from __future__ import annotations

from typing import Any, Final

from ... import __version__
from ..._json import dumps
from ..events import Event
from .message import title_of
from .target import HttpTarget

__all__ = ["SOURCE", "WebhookTarget", "webhook_body"]

SOURCE: Final = "teslalink"


def webhook_body(event: Event, *, test: bool = False) -> dict[str, Any]:
    return {
        "source": SOURCE,
        "version": __version__,
        "test": test,
        "title": title_of(event, test=test),
        "event": event.to_json(),
    }


class WebhookTarget(HttpTarget):
    kind = "webhook"

    async def send(self, event: Event, *, test: bool = False) -> None:
        body = dumps(webhook_body(event, test=test))  # orjson: a non-finite figure is null, valid JSON
        await self.post(body, {"Content-Type": "application/json"})
