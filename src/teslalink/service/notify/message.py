"""How an event reads as a notification: its title, how urgent it is, its tags; and the test event.

One table for every kind of target: ntfy takes the priority (1 min .. 5 max, docs.ntfy.sh/publish
"Message priority") and the tags (emoji short codes shown before the title, "Tags & emojis"),
apprise the severity (its notify types info, success, warning, failure). Which kind gets which
is our choice: a charger that stopped working or a car left plugged in but not charging is
something the owner acts on (high), the car falling asleep is not (min).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from ..events import DeviceKind, DeviceRef, Event, EventKind

__all__ = ["STYLES", "Style", "kind_words", "make_test_event", "style_of", "title_of"]

Severity = Literal["info", "success", "warning", "failure"]


@dataclass(frozen=True, slots=True)
class Style:
    priority: int  # ntfy: 1 min, 2 low, 3 default, 4 high, 5 max
    tags: tuple[str, ...]  # ntfy tags; those that are emoji short codes show as emojis
    severity: Severity  # apprise's notify type


_PLUG = "electric_plug"
_CAR = "red_car"
_WARN = "warning"

STYLES: Final[dict[EventKind, Style]] = {
    EventKind.PLUGGED_IN: Style(3, (_PLUG,), "info"),
    EventKind.UNPLUGGED: Style(3, (_PLUG,), "info"),
    EventKind.CHARGING_STARTED: Style(3, ("zap",), "info"),
    EventKind.CHARGING_STOPPED: Style(3, ("zap",), "info"),
    EventKind.CHARGE_COMPLETE: Style(3, ("white_check_mark",), "success"),
    EventKind.PLUGGED_IN_NOT_CHARGING: Style(4, (_WARN, _PLUG), "warning"),
    EventKind.DRIVE_STARTED: Style(2, (_CAR,), "info"),
    EventKind.DRIVE_ENDED: Style(2, (_CAR,), "info"),
    EventKind.CAR_ASLEEP: Style(1, ("zzz",), "info"),
    EventKind.CAR_ONLINE: Style(2, (_CAR,), "info"),
    EventKind.CAR_OFFLINE: Style(3, (_CAR,), "warning"),
    EventKind.WALLCONNECTOR_OFFLINE: Style(4, (_WARN, _PLUG), "failure"),
    EventKind.WALLCONNECTOR_ONLINE: Style(3, (_PLUG,), "success"),
    EventKind.WALLCONNECTOR_ALERT: Style(4, ("rotating_light",), "warning"),
    EventKind.LIFETIME_JUMP_REJECTED: Style(3, (_WARN,), "warning"),
    EventKind.SOFTWARE_UPDATE: Style(3, ("package",), "info"),
    EventKind.BUDGET_LOW: Style(4, ("moneybag", _WARN), "warning"),
}
_DEFAULT_STYLE: Final = Style(3, (), "info")  # a kind added later and not yet given a style

_WORDS: Final = {"wallconnector": "Wall Connector"}


def style_of(kind: EventKind) -> Style:
    return STYLES.get(kind, _DEFAULT_STYLE)


def kind_words(kind: EventKind) -> str:
    """The kind in words for a person: `wallconnector_offline` -> "Wall Connector offline"."""
    words = [_WORDS.get(word, word) for word in kind.value.split("_")]
    text = " ".join(words)
    return text[0].upper() + text[1:]


def title_of(event: Event, *, test: bool = False) -> str:
    """ "Model 3: Plugged in"; a test says so first."""
    title = f"{event.device.label}: {kind_words(event.kind)}"
    return f"[test] {title}" if test else title


_TEST_DEVICES: Final = {
    "wallconnector": DeviceRef(DeviceKind.WALL_CONNECTOR, "test", "Test Wall Connector"),
    "lifetime": DeviceRef(DeviceKind.WALL_CONNECTOR, "test", "Test Wall Connector"),
    "budget": DeviceRef(DeviceKind.ACCOUNT, "test@teslalink.invalid", "Test account"),
}
_TEST_CAR: Final = DeviceRef(DeviceKind.CAR, "test", "Test car")


def make_test_event(kind: EventKind, at_ms: int) -> Event:
    """A made-up event of `kind` that says it is a test: what `teslalink notify test` sends.

    Its device is a test device (id "test"), its text says nothing happened, and its figures hold
    `test: true`, so a receiver that files events can tell it apart.
    """
    device = _TEST_DEVICES.get(kind.value.split("_")[0], _TEST_CAR)
    text = f"Test from teslalink: this is how '{kind_words(kind).lower()}' is told. Nothing happened."
    return Event(kind=kind, at_ms=at_ms, device=device, text=text, figures={"test": True})
