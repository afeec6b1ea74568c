"""docs/service.md "Notifications" says what the code does: the table of kinds, the webhook body."""

from __future__ import annotations

import json
import re
from pathlib import Path

from teslalink.service.events import DeviceKind, DeviceRef, Event, EventKind
from teslalink.service.notify import webhook_body
from teslalink.service.notify.message import style_of
from teslalink.service.settings import DEFAULT_EVENTS

DOC = Path(__file__).resolve().parents[3] / "docs" / "service.md"


def chapter() -> str:
    text = DOC.read_text("utf-8")
    start = text.index("## Notifications")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_table_of_kinds_is_the_code_s() -> None:
    rows = re.findall(r"^\| `(\w+)` \| (on|off) \| (\d) \| ([\w,]*) \| (\w+) \|$", chapter(), re.MULTILINE)
    assert [row[0] for row in rows] == [kind.value for kind in EventKind]
    for kind, on, priority, tags, severity in rows:
        style = style_of(EventKind(kind))
        assert (on == "on") == DEFAULT_EVENTS[kind], kind
        assert (int(priority), tuple(tags.split(",")), severity) == (
            style.priority,
            style.tags,
            style.severity,
        )


def test_the_webhook_body_shown_is_the_shape_sent() -> None:
    shown = json.loads(re.search(r"```json\n(.*?)```", chapter(), re.DOTALL).group(1))  # type: ignore[union-attr]
    event = Event.from_json(shown["event"])
    assert event.device == DeviceRef(DeviceKind.CAR, "5YJ3E1EA7KF000001", "Model 3")
    sent = webhook_body(event)
    assert sent.keys() == shown.keys()
    assert sent["title"] == shown["title"]
    assert sent["event"] == shown["event"]
