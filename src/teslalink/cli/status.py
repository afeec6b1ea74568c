"""`teslalink status`: ask a running `teslalink serve` what it watches and how it is doing.

It reads the service's `GET /status` (the listener, 127.0.0.1 and `DEFAULT_PORT` unless told
otherwise) and prints: the service's health and problems; each device (kind, name, state, how old
its last reading is and its figures, its error); each account's month of billable calls and their
cost against its budget; the notification targets; the recorder; the last few events. `--json`
prints the service's answer as it came.

Ages are counted against the service's own clock (`now_ms` in the answer), so they are right even
when the service runs on another machine or on a twin's world clock.

Exit status (our choice, as `/health` answers): 0 when the service answered ok or degraded, 1 when
it is failing (after the report) or when no service answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import click
from yarl import URL

from .. import errors
from ..service.settings import DEFAULT_PORT
from ..transport import Timeouts
from ._common import echo, echo_json, json_text, run
from .config import config_option

__all__ = ["DEFAULT_URL", "report_lines", "status"]

DEFAULT_URL: Final = f"http://127.0.0.1:{DEFAULT_PORT}/"
TIMEOUTS: Final = Timeouts(connect_s=3.0, read_s=10.0)  # our choice: a snapshot answers at once
MAX_BODY: Final = 8 * 2**20  # our choice: a status of hundreds of devices is well under a MiB
RECENT_EVENTS: Final = 5


@click.command("status")
@click.option(
    "--url",
    default=None,
    metavar="URL",
    help=f"The service's listener (default: the config file's [listen], else {DEFAULT_URL}).",
)
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the service's /status answer as JSON.")
def status(url: str | None, config_path: Path | None, as_json: bool) -> None:
    """What a running `teslalink serve` watches: devices and their last readings, this month's
    billable calls and cost, notification targets, the recorder, the last events.

    Exit status: 0 when the service is ok or degraded, 1 when it is failing or does not answer.
    """
    base = listener_url(url or _configured_url(config_path))
    data = run(fetch_status(base))
    if as_json:
        echo_json(data)
    else:
        for line in report_lines(data, base):
            echo(line)
    if data.get("health") == "failing":
        problems = "; ".join(str(p) for p in data.get("problems") or []) or "no reason given"
        raise click.ClickException(f"the service is failing: {problems}")


def _configured_url(config_path: Path | None) -> str:
    """The config file's listener when there is a file (or one was named), else the default."""
    from ..service.config import default_config_path  # noqa: PLC0415
    from .config import settings_or_exit  # noqa: PLC0415

    if config_path is None and not default_config_path().exists():
        return DEFAULT_URL
    listen = settings_or_exit(config_path).listen
    host = "127.0.0.1" if listen.host in ("0.0.0.0", "") else "::1" if listen.host == "::" else listen.host
    return f"http://{f'[{host}]' if ':' in host else host}:{listen.port}/"


def listener_url(text: str) -> URL:
    """The listener's root from what the user gave (`host:port`, a root, or the /status URL itself)."""
    url = URL(text if "://" in text else f"http://{text}")
    if url.scheme not in ("http", "https") or not url.host:
        raise click.BadParameter(f"{shown(url)} is not an http:// URL of a listener", param_hint="'--url'")
    path = url.path.rstrip("/").removesuffix("/status").rstrip("/")
    return url.with_path(path + "/").with_query(None).with_fragment(None)


def shown(url: URL) -> str:
    """`url` as it may be printed: without a user or password a proxy in front may need."""
    return str(url.with_user(None)) if url.host else str(url)


async def fetch_status(base: URL) -> dict[str, Any]:
    """The service's /status answer; one clear line (a ClickException) when there is none."""
    from .._http import Transport  # noqa: PLC0415 - aiohttp only when a command talks to something
    from .._json import loads  # noqa: PLC0415

    where = shown(base)
    try:
        async with Transport(timeouts=TIMEOUTS, max_body=MAX_BODY) as transport:
            response = await transport.request("GET", base / "status")
    except errors.TimeoutError:
        raise click.ClickException(
            f"the teslalink service at {where} did not answer within {TIMEOUTS.total_s:g} s"
        ) from None
    except errors.ConnectionError:
        raise click.ClickException(
            f"no teslalink service answers at {where}: is `teslalink serve` running?"
        ) from None
    if response.status != 200:
        raise click.ClickException(
            f"{where} answered HTTP {response.status} to /status: is it a teslalink service's listener?"
        )
    try:
        data = loads(response.body)
    except errors.DecodeError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("devices"), list):
        raise click.ClickException(f"{where} answered /status, but not as a teslalink service does")
    return data


# --- the report ----------------------------------------------------------------------------------


def report_lines(data: Mapping[str, Any], base: URL | None = None) -> Iterator[str]:
    """The human report of a /status answer; a part the service did not send is left out."""
    now = _int(data.get("now_ms"))
    started = _int(data.get("started_ms"))
    where = f" at {shown(base)}" if base is not None else ""
    up = f", up {_duration(now - started)}" if now is not None and started is not None else ""
    yield f"teslalink {data.get('version', '?')}{where}: {data.get('health', 'unknown')}{up}"
    problems = _list(data.get("problems"))
    if problems:
        yield "problems:"
        yield from (f"  {problem}" for problem in problems)
    yield from _devices(_list(data.get("devices")), now)
    yield from _accounts(_list(data.get("accounts")))
    yield from _targets(_list(data.get("targets")))
    recorder = data.get("recorder")
    if isinstance(recorder, Mapping):
        yield _recorder(recorder)
    yield from _events(_list(data.get("recent_events")), data.get("event_counts"), now)


def _devices(devices: list[Any], now: int | None) -> Iterator[str]:
    yield f"devices ({len(devices)}):" if devices else "devices: none watched"
    for device in devices:
        if not isinstance(device, Mapping):
            continue
        line = f"  {device.get('kind', '?')} {_label(device)}: {device.get('state', 'unknown')}"
        read = _int(device.get("last_reading_ms"))
        line += ", never read yet" if read is None else f", read {_ago(now, read)}"
        next_poll = _int(device.get("next_poll_ms"))
        if next_poll is not None and now is not None:
            line += f", next in {_duration(next_poll - now)}" if next_poll > now else ", next now"
        figures = _figures(device.get("reading"))
        yield line + (f": {figures}" if figures else "")
        if device.get("error"):
            yield f"    error: {device['error']}"


def _accounts(accounts: list[Any]) -> Iterator[str]:
    if not accounts:
        return
    yield "accounts (billable calls this month, at Fleet API prices):"
    for account in accounts:
        if not isinstance(account, Mapping):
            continue
        counts = account.get("counts")
        calls = ", ".join(f"{k} {v}" for k, v in counts.items()) if isinstance(counts, Mapping) else ""
        cost = _float(account.get("cost_usd"))
        budget = _float(account.get("budget_usd"))
        money = "cost unknown" if cost is None else _usd(cost)
        if cost is not None and budget:
            money += f" of a {_usd(budget)} budget ({100 * cost / budget:.0f} %)"
        month = f" {account['month']}" if account.get("month") else ""
        who = f"{account.get('email', '?')} ({account.get('api', '?')} API){month}"
        yield f"  {who}: {calls or 'no calls'}; {money}"
        if account.get("error"):
            yield f"    error: {account['error']}"


def _targets(targets: list[Any]) -> Iterator[str]:
    if not targets:
        return
    yield "notify:"
    for target in targets:
        if not isinstance(target, Mapping):
            continue
        counts = ", ".join(
            f"{target.get(what, 0)} {what}"
            for what in ("delivered", "failed", "retried", "dropped", "suppressed")
        )
        yield f"  {target.get('name', '?')}: {counts}"
        if target.get("last_error"):
            yield f"    last error: {target['last_error']}"


def _recorder(recorder: Mapping[str, Any]) -> str:
    words = "ok" if recorder.get("ok") else f"failing: {recorder.get('error') or 'no reason given'}"
    counters = recorder.get("counters")
    if isinstance(counters, Mapping) and counters:
        words += "; " + ", ".join(f"{k} {v}" for k, v in sorted(counters.items()))
    return f"recorder: {words}"


def _events(events: list[Any], counts: Any, now: int | None) -> Iterator[str]:
    total = sum(v for v in counts.values() if isinstance(v, int)) if isinstance(counts, Mapping) else None
    if not events:
        yield "events: none yet" if not total else f"events: {total} since the start, none kept"
        return
    shown_events = events[-RECENT_EVENTS:]
    since = f", {total} since the start" if total else ""
    yield f"recent events (the last {len(shown_events)}{since}):"
    for event in shown_events:
        if not isinstance(event, Mapping):
            continue
        device = event.get("device")
        who = str(device.get("name") or device.get("id") or "?") if isinstance(device, Mapping) else "?"
        at = _int(event.get("at_ms"))
        when = "?" if at is None else _ago(now, at)
        yield f"  {when}: {event.get('kind', '?')}, {who}: {event.get('text', '')}"


# --- words ----------------------------------------------------------------------------------------


def _label(device: Mapping[str, Any]) -> str:
    ident, name = str(device.get("id", "?")), str(device.get("name") or "")
    return f"{name} ({ident})" if name and name != ident else ident


def _figures(reading: Any) -> str:
    if not isinstance(reading, Mapping):
        return ""
    return ", ".join(f"{key} {_figure(value)}" for key, value in reading.items())


def _figure(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int | str):
        return str(value)
    return json_text(value, indent=False)


def _ago(now: int | None, at: int) -> str:
    if now is None:
        return "at an unknown time"
    return f"{_duration(now - at)} ago" if now >= at else f"in {_duration(at - now)}"


def _duration(ms: int) -> str:
    """A span in the largest two units that say it: 12 s, 5 min 3 s, 2 h 5 min, 3 d 4 h."""
    seconds = max(0, ms) // 1000
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _usd(amount: float) -> str:
    return f"${amount:,.2f}" if amount >= 1 or amount == 0 else f"${amount:.4f}"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
