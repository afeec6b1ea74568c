"""Each kind of target as its receiver sees it (ntfy's headers and auth), bad URLs, and secrets
kept out of names, errors and logs."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import pytest
from notify_receiver import Answer, Receiver

from conftest import eventually
from teslalink import errors
from teslalink.service.events import DeviceKind, DeviceRef, Event, EventKind
from teslalink.service.notify import Notifier, RetryPlan, make_test_event, send_test, target_name
from teslalink.service.notify.redact import Secrets
from teslalink.service.settings import NotifySettings, TargetSettings

CAR = DeviceRef(DeviceKind.CAR, "5YJ3E1EA7KF000001", "Zoë")
UNIT = DeviceRef(DeviceKind.WALL_CONNECTOR, "A3123456789", "Garage")
GUARD_S = 30.0


@pytest.fixture
async def receiver() -> Iterator[Receiver]:  # type: ignore[misc]
    async with Receiver() as running:
        yield running


def event(kind: EventKind = EventKind.PLUGGED_IN, device: DeviceRef = CAR) -> Event:
    return Event(kind, 1_750_000_000_000, device, f"{device.label} is plugged in and not charging", {})


async def deliver(*targets: TargetSettings, sent: Event | None = None) -> Notifier:
    notifier = Notifier(
        NotifySettings(cooldown_s=0, targets=targets), retry=RetryPlan(0.01, 0.01, max_attempts=2)
    )
    await notifier.start()
    notifier.publish(sent or event())
    await notifier.close(GUARD_S)
    return notifier


# --- ntfy ------------------------------------------------------------------------------------------


async def test_ntfy_gets_the_text_with_title_priority_and_tags(receiver: Receiver) -> None:
    notifier = await deliver(
        TargetSettings("ntfy", receiver.url("/teslalink_alerts")),
        sent=event(EventKind.PLUGGED_IN_NOT_CHARGING),
    )
    (got,) = receiver.requests
    assert got.method == "POST"
    assert got.path == "/teslalink_alerts"
    assert got.text == "Zoë is plugged in and not charging"
    assert got.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert got.headers["Title"].startswith("=?UTF-8?B?")  # not ASCII: RFC 2047, as ntfy documents
    assert got.header_text("Title") == "Zoë: Plugged in not charging"
    assert got.headers["Priority"] == "4"
    assert got.headers["Tags"] == "warning,electric_plug"
    assert "Authorization" not in got.headers
    assert notifier.targets[0].delivered == 1
    assert notifier.targets[0].name == f"ntfy http://127.0.0.1:{receiver.port}"


@pytest.mark.parametrize(
    ("kind", "priority", "tags"),
    [
        (EventKind.CAR_ASLEEP, "1", "zzz"),
        (EventKind.DRIVE_ENDED, "2", "red_car"),
        (EventKind.CHARGE_COMPLETE, "3", "white_check_mark"),
        (EventKind.WALLCONNECTOR_OFFLINE, "4", "warning,electric_plug"),
    ],
)
async def test_ntfy_priority_follows_how_much_the_owner_must_act(
    receiver: Receiver, kind: EventKind, priority: str, tags: str
) -> None:
    target = TargetSettings("ntfy", receiver.url("/t"))
    await send_test(target, Event(kind, 1, UNIT, "text", {}))
    (got,) = receiver.requests
    assert got.headers["Priority"] == priority
    assert got.headers["Tags"] == f"{tags},test"  # a test says so in its tags too
    assert got.headers["Title"].startswith("[test] Garage: ")  # ASCII: as it is


async def test_ntfy_user_and_password_become_basic_auth_and_leave_the_url(receiver: Receiver) -> None:
    await deliver(TargetSettings("ntfy", receiver.url("/private", userinfo="phil:s3cret-pass")))
    (got,) = receiver.requests
    assert got.basic_auth() == ("phil", "s3cret-pass")


async def test_ntfy_access_token_as_the_password_of_an_empty_user(receiver: Receiver) -> None:
    await deliver(
        TargetSettings("ntfy", receiver.url("/private", userinfo=":tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"))
    )
    (got,) = receiver.requests
    assert got.basic_auth() == ("", "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2")


async def test_ntfy_auth_query_parameter_is_sent_as_given(receiver: Receiver) -> None:
    auth = base64.b64encode(b"Bearer tk_faketoken").decode().rstrip("=")
    await deliver(TargetSettings("ntfy", receiver.url("/private", query=f"auth={auth}")))
    (got,) = receiver.requests
    assert got.query == {"auth": auth}


async def test_ntfy_needs_a_topic(receiver: Receiver) -> None:
    with pytest.raises(errors.ConfigError, match="names no topic"):
        Notifier(NotifySettings(targets=(TargetSettings("ntfy", receiver.url("/")),)))


# --- bad targets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "url", "said"),
    [
        ("webhook", "ftp://files.example/hook-s3cret", "must be http:// or https://"),
        ("webhook", "https:///hook-s3cret", "must be http:// or https://"),
        ("webhook", "http://example.test/hook-s3cret with space", "spaces or control characters"),
        ("webhook", "http://example.test/hook-s3cret\r\nX-Evil: 1", "spaces or control characters"),
        ("ntfy", "not a url hook-s3cret", "spaces or control characters"),
        ("carrier-pigeon", "http://example.test/hook-s3cret", "unknown kind of notify target"),
    ],
)
def test_a_bad_target_is_one_config_error_line_without_the_url(kind: str, url: str, said: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        Notifier(NotifySettings(targets=(TargetSettings(kind, url),)))  # type: ignore[arg-type]
    message = str(caught.value)
    assert said in message
    assert "s3cret" not in message
    assert "\n" not in message


# --- secrets ---------------------------------------------------------------------------------------


def test_names_show_kind_scheme_and_host_only() -> None:
    assert target_name("webhook", "https://u:pw@hooks.example.com/api/webhook/t0ken?x=1#f") == (
        "webhook https://hooks.example.com"
    )
    assert target_name("ntfy", "http://[::1]:8080/topic?auth=abc") == "ntfy http://[::1]:8080"
    assert target_name("apprise", "tgram://123456789:AAbbCCddEE/987654") == "apprise tgram://"
    assert target_name("webhook", "no scheme at all") == "webhook (an unreadable URL)"


def test_scrub_cuts_every_secret_part_even_decoded() -> None:
    secrets = Secrets("https://phil:pa55word@api.example.com/api/hooks/abc%2Fdef-token?auth=QmFzaWM&x=yes")
    text = (
        "POST https://phil:pa55word@api.example.com/api/hooks/abc%2Fdef-token?auth=QmFzaWM&x=yes failed;"
        " path /api/hooks/abc/def-token, auth QmFzaWM, user phil, password pa55word, at api.example.com;"
        " the token abc/def-token; no hooks here"
    )
    scrubbed = secrets.scrub(text)
    for secret in ("pa55word", "def-token", "QmFzaWM", "phil", "/api/hooks"):
        assert secret not in scrubbed
    assert "api.example.com" in scrubbed  # the host is shown anyway: kept whole
    assert scrubbed.endswith("; no hooks here")  # a plain word of the path is no secret alone


SECRET_PATH = "/hook/s3cr3t-h00k-t0ken"
SECRET_TOPIC = "/t0pic-s3cr3t"
SECRET_AUTH = "QmVhcmVyIHRrX3NlY3JldA"
SECRETS = ("s3cr3t-h00k-t0ken", "t0pic-s3cr3t", SECRET_AUTH, "pa55w0rd-s3cr3t", "tk_s3cr3t")


async def test_secrets_reach_no_name_error_or_log_line(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.default = Answer(401, echo=True)  # a server that repeats what it was sent in its error
    async with Receiver() as gone:
        unreachable = gone.url(SECRET_PATH, userinfo="phil:pa55w0rd-s3cr3t")
    targets = (
        TargetSettings("webhook", receiver.url(SECRET_PATH, userinfo="phil:pa55w0rd-s3cr3t")),
        TargetSettings("ntfy", receiver.url(SECRET_TOPIC, query=f"auth={SECRET_AUTH}")),
        TargetSettings("ntfy", receiver.url(SECRET_TOPIC, userinfo=":tk_s3cr3t")),
        TargetSettings("webhook", unreachable),
    )
    caplog.set_level(logging.DEBUG)
    notifier = Notifier(
        NotifySettings(cooldown_s=0, targets=targets), retry=RetryPlan(0.01, 0.01, max_attempts=2)
    )
    await notifier.start()
    notifier.publish(event())
    await eventually(lambda: all(t.failed == 1 for t in notifier.targets))
    await notifier.close(GUARD_S)

    assert [t.last_error for t in notifier.targets][:3] == [
        "HTTP 401: unauthorized for … as … (not retried)",
        "HTTP 401: unauthorized for …?… as nobody (not retried)",
        "HTTP 401: unauthorized for … as … (not retried)",
    ]
    assert notifier.targets[3].last_error is not None
    assert "cannot connect" in notifier.targets[3].last_error
    shown = [repr(notifier), *(repr(t) for t in notifier.targets), caplog.text]
    shown += [str(t.to_json()) for t in notifier.targets]
    for text in shown:
        for secret in SECRETS:
            assert secret not in text
    assert len(receiver.requests) == 3  # 401 is not retried; the unreachable one never arrived


async def test_send_test_raises_typed_errors_without_secrets(receiver: Receiver) -> None:
    receiver.answer(Answer(404, f'{{"error": "no hook at {SECRET_PATH}"}}'), Answer(503))
    target = TargetSettings("webhook", receiver.url(SECRET_PATH))
    test = make_test_event(EventKind.CHARGE_COMPLETE, 1)
    with pytest.raises(errors.DeliveryFailed) as refused:
        await send_test(target, test)
    assert (refused.value.retry, refused.value.status) == (False, 404)
    assert str(refused.value) == "HTTP 404: no hook at … (not retried)"
    with pytest.raises(errors.DeliveryFailed) as unavailable:
        await send_test(target, test)
    assert (unavailable.value.retry, unavailable.value.status) == (True, 503)
    await send_test(target, test)
    assert receiver.requests[-1].json()["test"] is True
    assert receiver.requests[-1].json()["event"]["figures"] == {"test": True}
