"""apprise targets: through apprise's own `json://` and `form://` (which post to a URL) to a receiver
on loopback; and, without the extra, the one clear line at start."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from notify_receiver import Answer, Receiver

from conftest import eventually
from teslalink import errors
from teslalink.service.events import DeviceKind, DeviceRef, Event, EventKind
from teslalink.service.notify import Notifier, RetryPlan, send_test
from teslalink.service.settings import NotifySettings, TargetSettings

UNIT = DeviceRef(DeviceKind.WALL_CONNECTOR, "A3123456789", "Garage")
GUARD_S = 60.0
SECRET = "/notify/s3cr3t-apprise-t0ken"


def offline() -> Event:
    return Event(EventKind.WALLCONNECTOR_OFFLINE, 1, UNIT, "Garage has not answered for 3 minutes", {})


def apprise_url(receiver: Receiver, scheme: str = "json", path: str = SECRET) -> str:
    return f"{scheme}://127.0.0.1:{receiver.port}{path}"


@pytest.fixture
async def receiver() -> Iterator[Receiver]:  # type: ignore[misc]
    async with Receiver() as running:
        yield running


@pytest.fixture
def with_apprise() -> None:
    pytest.importorskip(
        "apprise", reason="the apprise extra is not installed (pip install -e '.[dev]' has it)"
    )


@pytest.mark.usefixtures("with_apprise")
async def test_an_event_through_apprise_json(receiver: Receiver) -> None:
    notifier = Notifier(
        NotifySettings(cooldown_s=0, targets=(TargetSettings("apprise", apprise_url(receiver)),))
    )
    await notifier.start()
    notifier.publish(offline())
    await eventually(lambda: notifier.targets[0].delivered == 1, hang_guard_s=GUARD_S)
    await notifier.close(GUARD_S)
    (got,) = receiver.requests
    assert got.path == SECRET
    body = got.json()
    assert body["title"] == "Garage: Wall Connector offline"
    assert body["message"] == "Garage has not answered for 3 minutes"
    assert body["type"] == "failure"  # our severity for a charger that stopped answering
    assert notifier.targets[0].name == "apprise json://"


@pytest.mark.usefixtures("with_apprise")
async def test_a_test_through_apprise_form(receiver: Receiver) -> None:
    await send_test(TargetSettings("apprise", apprise_url(receiver, "form", "/form-hook")))
    (got,) = receiver.requests
    form = {key: values[0] for key, values in parse_qs(got.text).items()}
    assert form["title"] == "[test] Test car: Plugged in"
    assert form["type"] == "info"
    assert "Nothing happened" in form["message"]


@pytest.mark.usefixtures("with_apprise")
async def test_apprise_failures_are_retried_with_apprise_s_reason_and_no_secret(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.answer(Answer(500, '{"error": "busy"}'), Answer(500))
    caplog.set_level(logging.DEBUG)  # apprise logs the URL it posts to at debug: scrubbed
    notifier = Notifier(
        NotifySettings(cooldown_s=0, targets=(TargetSettings("apprise", apprise_url(receiver)),)),
        retry=RetryPlan(0.01, 0.02),
    )
    await notifier.start()
    notifier.publish(offline())
    await eventually(lambda: notifier.targets[0].delivered == 1, hang_guard_s=GUARD_S)
    await notifier.close(GUARD_S)
    status = notifier.targets[0]
    assert (status.delivered, status.retried, status.failed) == (1, 2, 0)
    assert len(receiver.requests) == 3
    warned = [r.getMessage() for r in caplog.records if r.name.startswith("teslalink") and r.levelno >= 30]
    assert len(warned) == 1
    assert warned[0].startswith("notify apprise json://: apprise: ")
    assert "500" in warned[0]
    assert "s3cr3t" not in caplog.text
    assert any("…" in r.getMessage() for r in caplog.records if r.name == "apprise")  # it did log the URL


@pytest.mark.usefixtures("with_apprise")
async def test_a_url_apprise_does_not_know_fails_at_start_in_one_line() -> None:
    with pytest.raises(errors.ConfigError) as caught:
        Notifier(NotifySettings(targets=(TargetSettings("apprise", "nosuchservice://s3cr3t-t0ken@host"),)))
    assert (
        str(caught.value)
        == "apprise nosuchservice://: apprise does not take this URL (see its list of services)"
    )


async def test_without_the_extra_an_apprise_target_fails_at_start_saying_which_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # `import apprise` fails as on a lean install
    with pytest.raises(errors.ConfigError) as caught:
        Notifier(NotifySettings(targets=(TargetSettings("apprise", "tgram://123456:s3cr3t/987"),)))
    assert str(caught.value) == (
        "notify targets of kind apprise need the apprise extra: pip install 'teslalink[apprise]'"
    )
    # the other kinds never need it
    Notifier(NotifySettings(targets=(TargetSettings("webhook", "http://127.0.0.1:9/hook"),)))
