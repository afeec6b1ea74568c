"""`teslalink notify test` against receivers on loopback: ok, a failure, bad input; no URL printed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from notify_receiver import Answer, Receiver

from teslalink.cli.main import cli
from teslalink.service.events import EventKind
from teslalink.service.notify import try_targets
from teslalink.service.settings import TargetSettings

SECRET = "/hook/s3cr3t-t0ken"


async def invoke(*args: str) -> Result:
    """The CLI in a thread: the receivers keep answering on this loop meanwhile."""
    return await asyncio.to_thread(
        CliRunner().invoke, cli, list(args), prog_name="teslalink", catch_exceptions=False
    )


@pytest.fixture
async def receiver() -> Iterator[Receiver]:  # type: ignore[misc]
    async with Receiver() as running:
        yield running


async def test_every_target_ok_is_exit_0_and_the_event_says_it_is_a_test(receiver: Receiver) -> None:
    result = await invoke(
        "notify",
        "test",
        "--target",
        f"webhook:{receiver.url(SECRET)}",
        "--target",
        f"ntfy:{receiver.url('/s3cr3t-topic', userinfo=':tk_s3cr3t')}",
        "--event",
        "charge_complete",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"webhook http://127.0.0.1:{receiver.port}: ok",
        f"ntfy http://127.0.0.1:{receiver.port}: ok",
    ]
    (hook,) = receiver.at(SECRET)
    body = hook.json()
    assert body["test"] is True
    assert body["title"] == "[test] Test car: Charge complete"
    assert body["event"]["kind"] == "charge_complete"
    assert body["event"]["figures"] == {"test": True}
    assert "Nothing happened" in body["event"]["text"]
    (ntfy,) = receiver.at("/s3cr3t-topic")
    assert ntfy.headers["Title"] == "[test] Test car: Charge complete"
    assert ntfy.headers["Tags"] == "white_check_mark,test"
    assert ntfy.basic_auth() == ("", "tk_s3cr3t")


async def test_a_failing_target_is_exit_1_with_its_reason_and_the_others_still_sent(
    receiver: Receiver,
) -> None:
    async with Receiver() as gone:
        unreachable = gone.url(SECRET)
    async with Receiver() as refusing:  # the targets are tried at once: one receiver each
        refusing.default = Answer(403, '{"error": "forbidden"}')
        result = await invoke(
            "notify",
            "test",
            "--target",
            f"ntfy:{refusing.url('/s3cr3t-topic')}",
            "--target",
            f"webhook:{unreachable}",
            "--target",
            f"webhook:{receiver.url(SECRET)}",
        )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"ntfy http://127.0.0.1:{refusing.port}: failed: HTTP 403: forbidden (not retried)"
    assert lines[1].startswith(f"webhook http://127.0.0.1:{gone.port}: failed: ")
    assert "cannot connect" in lines[1]
    assert lines[2] == f"webhook http://127.0.0.1:{receiver.port}: ok"
    assert len(lines) == 3
    assert "s3cr3t" not in result.output
    assert receiver.at(SECRET)[0].json()["event"]["kind"] == "plugged_in"  # the default kind


async def test_a_bad_target_url_is_reported_per_target(receiver: Receiver) -> None:
    result = await invoke(
        "notify",
        "test",
        "--target",
        "ntfy:ftp://example.test/s3cr3t-topic",
        "--target",
        f"webhook:{receiver.url()}",
    )
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "ntfy ftp://example.test: failed: the URL must be http:// or https:// and name a host",
        f"webhook http://127.0.0.1:{receiver.port}: ok",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--target", "pager:https://example.test/s3cr3t-token"],
        ["--target", "s3cr3t-token-without-kind"],
        ["--target", "webhook:"],
        [],
        ["--target", "webhook:http://127.0.0.1:9/s3cr3t-token", "--event", "s3cr3t-kind"],
    ],
)
async def test_bad_input_is_a_usage_error_that_repeats_no_value(args: list[str]) -> None:
    result = await invoke("notify", "test", *args)
    assert result.exit_code == 2
    assert "s3cr3t-token" not in result.output
    assert result.stderr.startswith("Error: ")
    assert result.stderr.splitlines()[-1] == "Try 'teslalink notify test --help' for help."


async def test_notify_is_listed_and_its_help_shows_an_example() -> None:
    listed = await invoke("--help")
    assert "notify" in listed.stdout
    helped = await invoke("notify", "test", "--help")
    assert helped.exit_code == 0
    assert "teslalink notify test --target webhook:" in helped.stdout


async def test_try_targets_takes_settings_from_anywhere(receiver: Receiver) -> None:
    """The call the CLI makes, as `--config` will make it with the config's targets."""
    async with Receiver() as failing:
        failing.default = Answer(500)
        results = await try_targets(
            [TargetSettings("webhook", failing.url("/a")), TargetSettings("webhook", receiver.url("/b"))],
            EventKind.BUDGET_LOW,
        )
    assert [r.ok for r in results] == [False, True]
    assert results[0].error == "HTTP 500: Internal Server Error"
    assert len(failing.requests) == 1  # a test is sent once: no retries
    assert [r.json()["event"]["device"]["kind"] for r in receiver.requests] == ["account"]


async def test_without_target_the_config_files_targets_are_tried(receiver: Receiver, tmp_path: Path) -> None:
    config = tmp_path / "service.toml"
    config.write_text(f'[[notify.target]]\nkind = "webhook"\nurl = "{receiver.url(SECRET)}"\n')
    result = await invoke("notify", "test", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"webhook http://127.0.0.1:{receiver.port}: ok"]
    (hook,) = receiver.at(SECRET)
    assert hook.json()["test"] is True
