"""The notifier against real receivers on loopback: what goes where, cooldown, queues, retries, stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from notify_receiver import Answer, Receiver

from conftest import eventually
from teslalink import __version__
from teslalink.service.events import DeviceKind, DeviceRef, Event, EventKind
from teslalink.service.notify import Notifier, RetryPlan
from teslalink.service.settings import DEFAULT_EVENTS, NotifySettings, TargetSettings

CAR = DeviceRef(DeviceKind.CAR, "5YJ3E1EA7KF000001", "Blue")
OTHER_CAR = DeviceRef(DeviceKind.CAR, "5YJ3E1EA7KF000002", "Red")
UNIT = DeviceRef(DeviceKind.WALL_CONNECTOR, "A3123456789", "Garage")
QUICK = RetryPlan(first_s=0.01, max_s=0.02)
"""Retries in milliseconds: the plan's shape, without a test waiting five seconds for it."""
GUARD_S = 30.0


def event(
    kind: EventKind = EventKind.PLUGGED_IN, device: DeviceRef = CAR, at_ms: int = 1_750_000_000_000
) -> Event:
    return Event(
        kind, at_ms, device, f"{device.label}: {kind.value}", {"energy_wh": 1234.5, "battery_level": 61}
    )


def settings(*targets: TargetSettings, cooldown_s: float = 0.0, **events: bool) -> NotifySettings:
    on = dict(DEFAULT_EVENTS)
    on.update(events)
    return NotifySettings(cooldown_s=cooldown_s, events=on, targets=targets)


def webhook(url: str, events: frozenset[str] | None = None) -> TargetSettings:
    return TargetSettings("webhook", url, events)


class Clock:
    """The service's clock, moved by the test (the world's clock, in the service)."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def receiver() -> Iterator[Receiver]:  # type: ignore[misc]
    async with Receiver() as running:
        yield running


async def test_an_event_reaches_the_webhook_as_json_with_our_name_and_version(receiver: Receiver) -> None:
    notifier = Notifier(settings(webhook(receiver.url("/hook"))))
    await notifier.start()
    sent = event()
    notifier.publish(sent)
    await eventually(lambda: notifier.targets[0].delivered == 1)
    await notifier.close(GUARD_S)

    (got,) = receiver.requests
    assert got.method == "POST"
    assert got.path == "/hook"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == f"teslalink/{__version__}"
    assert got.json() == {
        "source": "teslalink",
        "version": __version__,
        "test": False,
        "title": "Blue: Plugged in",
        "event": sent.to_json(),
    }
    assert Event.from_json(got.json()["event"]) == sent
    status = notifier.targets[0]
    assert (status.delivered, status.failed, status.retried, status.dropped, status.suppressed) == (
        1,
        0,
        0,
        0,
        0,
    )
    assert status.last_error is None
    assert status.name == f"webhook http://127.0.0.1:{receiver.port}"


async def test_a_kind_turned_off_goes_nowhere_and_counts_nothing(receiver: Receiver) -> None:
    notifier = Notifier(settings(webhook(receiver.url()), plugged_in=False, car_asleep=True))
    await notifier.start()
    notifier.publish(event(EventKind.PLUGGED_IN))
    notifier.publish(event(EventKind.UNPLUGGED))
    notifier.publish(event(EventKind.CAR_ASLEEP))  # off by default, turned on here
    await notifier.close(GUARD_S)
    assert [r.json()["event"]["kind"] for r in receiver.requests] == ["unplugged", "car_asleep"]
    assert notifier.targets[0].delivered == 2
    assert notifier.targets[0].suppressed == notifier.targets[0].dropped == 0


async def test_the_default_kinds_leave_sleep_and_wake_out(receiver: Receiver) -> None:
    notifier = Notifier(NotifySettings(cooldown_s=0, targets=(webhook(receiver.url()),)))
    await notifier.start()
    for kind in (EventKind.CAR_ASLEEP, EventKind.CAR_ONLINE, EventKind.DRIVE_STARTED, EventKind.DRIVE_ENDED):
        notifier.publish(event(kind))
    await notifier.close(GUARD_S)
    assert [r.json()["event"]["kind"] for r in receiver.requests] == ["drive_ended"]


async def test_each_target_gets_only_the_kinds_of_its_subset(receiver: Receiver) -> None:
    notifier = Notifier(
        settings(
            webhook(receiver.url("/all")),
            webhook(receiver.url("/charging"), frozenset({"charging_started", "charge_complete"})),
            webhook(receiver.url("/units"), frozenset({"wallconnector_offline", "plugged_in"})),
        )
    )
    await notifier.start()
    notifier.publish(event(EventKind.PLUGGED_IN))
    notifier.publish(event(EventKind.CHARGING_STARTED))
    notifier.publish(event(EventKind.WALLCONNECTOR_OFFLINE, UNIT))
    notifier.publish(event(EventKind.CHARGE_COMPLETE))
    await notifier.close(GUARD_S)

    def kinds(path: str) -> list[str]:
        return [r.json()["event"]["kind"] for r in receiver.at(path)]

    assert kinds("/all") == ["plugged_in", "charging_started", "wallconnector_offline", "charge_complete"]
    assert kinds("/charging") == ["charging_started", "charge_complete"]
    assert kinds("/units") == ["plugged_in", "wallconnector_offline"]
    assert [t.delivered for t in notifier.targets] == [4, 2, 2]
    # two targets on one host are told apart
    assert notifier.targets[1].name.endswith("#2")
    assert notifier.targets[2].name.endswith("#3")


async def test_a_repeat_within_the_cooldown_is_suppressed_and_lets_through_after_it(
    receiver: Receiver,
) -> None:
    clock = Clock()
    notifier = Notifier(settings(webhook(receiver.url()), cooldown_s=1800), clock=clock)
    await notifier.start()
    notifier.publish(event(EventKind.PLUGGED_IN, at_ms=1))
    clock.now += 600
    notifier.publish(event(EventKind.PLUGGED_IN, at_ms=2))  # same car, same kind, 10 min later: suppressed
    notifier.publish(event(EventKind.PLUGGED_IN, OTHER_CAR, at_ms=3))  # another car: its own cooldown
    notifier.publish(event(EventKind.UNPLUGGED, at_ms=4))  # another kind: its own cooldown
    clock.now += 1199
    notifier.publish(event(EventKind.PLUGGED_IN, at_ms=5))  # 29:59 after the first: still suppressed
    clock.now += 1
    notifier.publish(event(EventKind.PLUGGED_IN, at_ms=6))  # 30:00 after the first: through
    clock.now += 60
    notifier.publish(event(EventKind.PLUGGED_IN, at_ms=7))  # the cooldown runs from the last one through
    await notifier.close(GUARD_S)

    assert [r.json()["event"]["at_ms"] for r in receiver.requests] == [1, 3, 4, 6]
    assert notifier.targets[0].suppressed == 3
    assert notifier.targets[0].delivered == 4


async def test_a_target_that_fails_twice_then_answers_gets_the_event_once_delivered(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.answer(Answer(500, '{"error": "database is locked"}'), Answer(503))
    notifier = Notifier(settings(webhook(receiver.url())), retry=QUICK)
    caplog.set_level(logging.DEBUG, logger="teslalink.service.notify")
    await notifier.start()
    notifier.publish(event())
    await eventually(lambda: notifier.targets[0].delivered == 1)
    status = notifier.targets[0]
    assert (status.delivered, status.retried, status.failed) == (1, 2, 0)
    assert status.last_error is None  # cleared by the delivery
    bodies = [r.body for r in receiver.requests]
    assert len(bodies) == 3
    assert len(set(bodies)) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"notify {status.name}: HTTP 500: database is locked (trying again in 0 s)"]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert infos == [f"notify {status.name}: delivering again"]
    await notifier.close(GUARD_S)


async def test_last_error_says_why_while_a_target_fails(receiver: Receiver) -> None:
    receiver.default = Answer(502, "<html>bad gateway</html>")
    waits: list[float] = []
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await gate.wait()

    notifier = Notifier(settings(webhook(receiver.url())), sleep=sleep)
    await notifier.start()
    notifier.publish(event())
    await eventually(lambda: bool(waits))
    assert notifier.targets[0].last_error == "HTTP 502: Bad Gateway"
    assert 4.0 <= waits[0] <= 5.0  # the default plan: 5 s, less up to a fifth
    await notifier.close(0.05)
    assert notifier.targets[0].dropped == 1  # still being tried at stop


async def test_the_waits_double_up_to_the_cap_and_the_event_is_given_up_after_the_tries() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with Receiver() as receiver:
        receiver.default = Answer(500)
        plan = RetryPlan(first_s=5, max_s=40, give_up_s=10_000, max_attempts=6)
        notifier = Notifier(settings(webhook(receiver.url())), retry=plan, sleep=sleep)
        await notifier.start()
        notifier.publish(event())
        await eventually(lambda: notifier.targets[0].failed == 1)
        await notifier.close(GUARD_S)
    assert len(receiver.requests) == 6
    assert notifier.targets[0].retried == 5
    for wait, base in zip(waits, [5, 10, 20, 40, 40], strict=True):
        assert 0.8 * base <= wait <= base
    assert notifier.targets[0].last_error == "HTTP 500: Internal Server Error"


async def test_an_event_is_given_up_when_the_next_wait_passes_the_hour() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with Receiver() as receiver:
        receiver.answer(
            Answer(429, headers={"Retry-After": "120"}), Answer(429, headers={"Retry-After": "7200"})
        )
        notifier = Notifier(settings(webhook(receiver.url())), sleep=sleep)
        await notifier.start()
        notifier.publish(event())
        await eventually(lambda: notifier.targets[0].failed == 1)
        await notifier.close(GUARD_S)
    assert waits == [120.0]  # Retry-After honoured (over the plan's 5 s); two hours is past the hour
    assert len(receiver.requests) == 2
    assert notifier.targets[0].retried == 1
    assert notifier.targets[0].last_error == "HTTP 429: Too Many Requests"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422, 301])
async def test_a_refusal_is_not_retried(receiver: Receiver, status: int) -> None:
    receiver.default = Answer(status, '{"error": "no such hook"}', headers={"Location": "/elsewhere"})
    notifier = Notifier(settings(webhook(receiver.url())), retry=QUICK)
    await notifier.start()
    notifier.publish(event())
    await eventually(lambda: notifier.targets[0].failed == 1)
    await notifier.close(GUARD_S)
    assert len(receiver.requests) == 1
    status_ = notifier.targets[0]
    assert (status_.delivered, status_.retried, status_.failed) == (0, 0, 1)
    assert status_.last_error is not None
    assert status_.last_error.startswith(f"HTTP {status}: ")
    assert status_.last_error.endswith("(not retried)")
    assert ("redirect" in status_.last_error) == (status == 301)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_what_may_pass_is_retried(receiver: Receiver, status: int) -> None:
    receiver.answer(Answer(status))
    notifier = Notifier(settings(webhook(receiver.url())), retry=QUICK)
    await notifier.start()
    notifier.publish(event())
    await eventually(lambda: notifier.targets[0].delivered == 1)
    await notifier.close(GUARD_S)
    assert len(receiver.requests) == 2
    assert notifier.targets[0].retried == 1


async def test_a_target_that_cannot_be_reached_is_retried_and_reported() -> None:
    async with Receiver() as gone:
        url = gone.url()
    notifier = Notifier(settings(webhook(url)), retry=RetryPlan(first_s=0.01, max_s=0.01, max_attempts=3))
    await notifier.start()
    notifier.publish(event())
    await eventually(lambda: notifier.targets[0].failed == 1)
    await notifier.close(GUARD_S)
    status = notifier.targets[0]
    assert (status.retried, status.failed) == (2, 1)
    assert status.last_error is not None
    assert "cannot connect" in status.last_error


async def test_a_hanging_target_never_blocks_publish_nor_another_target_and_close_keeps_its_time() -> None:
    async with Receiver() as hanging, Receiver() as fine:
        hanging.default = Answer(hang=True)
        notifier = Notifier(settings(webhook(hanging.url()), webhook(fine.url())))
        await notifier.start()
        for n in range(50):  # synchronous: it cannot wait on a network
            notifier.publish(event(EventKind.PLUGGED_IN, DeviceRef(DeviceKind.CAR, f"VIN{n}"), at_ms=n))
        await eventually(lambda: notifier.targets[1].delivered == 50)
        await eventually(lambda: len(hanging.requests) == 1)  # the first, held by the receiver
        assert notifier.targets[0].delivered == 0
        async with asyncio.timeout(GUARD_S):  # a hang guard: close() must end at its own 0.2 s
            await notifier.close(0.2)
        stuck = notifier.targets[0]
        assert (stuck.delivered, stuck.dropped, stuck.failed) == (0, 50, 0)
        assert len(hanging.requests) == 1


async def test_a_full_queue_drops_its_oldest(receiver: Receiver) -> None:
    notifier = Notifier(settings(webhook(receiver.url())), queue_size=3)
    for n in range(5):  # not started yet: they wait in the queue
        notifier.publish(event(EventKind.PLUGGED_IN, DeviceRef(DeviceKind.CAR, f"VIN{n}"), at_ms=n))
    assert notifier.targets[0].dropped == 2
    await notifier.start()
    await notifier.close(GUARD_S)
    assert [r.json()["event"]["at_ms"] for r in receiver.requests] == [2, 3, 4]
    assert notifier.targets[0].delivered == 3


async def test_close_without_start_counts_what_waited_and_publish_after_close_is_a_no_op(
    receiver: Receiver,
) -> None:
    notifier = Notifier(settings(webhook(receiver.url())))
    notifier.publish(event())
    await notifier.close(GUARD_S)
    notifier.publish(event(EventKind.UNPLUGGED))
    await notifier.start()  # after close: nothing starts
    assert notifier.targets[0].dropped == 2
    assert receiver.requests == []


async def test_a_borrowed_session_is_used_and_left_open(receiver: Receiver) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        notifier = Notifier(settings(webhook(receiver.url())), session=session)
        await notifier.start()
        notifier.publish(event())
        await notifier.close(GUARD_S)
        assert not session.closed
        assert len(receiver.requests) == 1


async def test_no_targets_is_a_notifier_that_does_nothing() -> None:
    notifier = Notifier(NotifySettings())
    await notifier.start()
    notifier.publish(event())
    await notifier.close(GUARD_S)
    assert notifier.targets == []


async def test_close_does_not_wait_out_a_retry_that_would_come_after_its_timeout(receiver: Receiver) -> None:
    receiver.default = Answer(500)
    waiting = asyncio.Event()

    async def sleep(seconds: float) -> None:  # a wait before the next try that outlasts everything
        waiting.set()
        await asyncio.Event().wait()

    notifier = Notifier(
        settings(webhook(receiver.url())), sleep=sleep, retry=RetryPlan(first_s=300, max_s=300)
    )
    await notifier.start()
    notifier.publish(event())
    await eventually(waiting.is_set)
    async with asyncio.timeout(GUARD_S):  # a hang guard, well short of close's own 120 s
        await notifier.close(120)  # the next try, 4 to 5 min away, would come after it
    assert notifier.targets[0].dropped == 1
    assert len(receiver.requests) == 1
