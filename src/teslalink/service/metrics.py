"""The service's Prometheus metrics: one collector that walks a `ServiceState` at scrape time.

Why a collector and not `Gauge`/`Counter` objects updated as the service goes: the `ServiceState`
is already the one account of what the service knows (`/status` is drawn from it too), so a
scrape reads it then and there and the two can never disagree; and nothing lands in
prometheus-client's global registry, so two listeners (or two tests) in one process each have
their own `CollectorRegistry` and never see each other's series.

Names follow Prometheus's naming practice: the `teslalink_` prefix, base units as suffixes
(`_seconds`, `_timestamp_seconds`), `_total` on counters, `_info` on the build's pseudo-metric,
and labels for what tells series apart (`kind`, `id`, `name`, `account`, `category`, `target`).
No label holds an error's text or anything secret: errors are 0/1 gauges, their words are in
`/status`; a target's label is its redacted name (scheme and host only).

The full list is in docs/service.md ("Running it").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import CollectorRegistry

from ..cloud.fleet.ledger import CATEGORIES
from .events import EventKind
from .state import Health, ServiceState

if TYPE_CHECKING:
    from .listener import Snapshot

__all__ = ["StateCollector", "registry_for", "render", "service_metrics"]

DEVICE_LABELS: Final = ("kind", "id", "name")
NOTIFY_COUNTERS: Final = ("delivered", "failed", "retried", "dropped", "suppressed")

_NAME_PART = re.compile(r"[a-z][a-z0-9_]*")
# suffixes a parser reads as part of another series (a counter's _total, a histogram's _count...)
_RESERVED_SUFFIXES: Final = ("_total", "_created", "_count", "_sum", "_bucket", "_info")


class StateCollector:
    """A prometheus-client collector over the state `snapshot()` answers at each scrape."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        state, now_ms = self._snapshot()
        yield from service_metrics(state, now_ms)


def registry_for(snapshot: Snapshot) -> CollectorRegistry:
    """A registry of its own (never prometheus-client's global one) holding only our collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(snapshot))
    return registry


def render(registry: CollectorRegistry, accept: str) -> tuple[bytes, str]:
    """The exposition the scraper's Accept header asks for (OpenMetrics or the text format), and
    its content type."""
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


def service_metrics(state: ServiceState, now_ms: int) -> Iterator[Metric]:
    """Every metric family of `state`, in a fixed order."""
    yield from _service(state)
    yield from _devices(state)
    yield from _accounts(state)
    yield from _targets(state)
    yield from _recorder(state)
    yield from _events(state)


def _service(state: ServiceState) -> Iterator[Metric]:
    yield GaugeMetricFamily("teslalink_up", "1 while the service answers.", value=1)
    yield InfoMetricFamily(
        "teslalink_build", "The running teslalink's version.", value={"version": state.version}
    )
    yield GaugeMetricFamily(
        "teslalink_start_time_seconds",
        "When the service started, in seconds since the epoch (the service's clock).",
        value=state.started_ms / 1000.0,
    )
    health = GaugeMetricFamily(
        "teslalink_health",
        "1 for the service's health (ok, degraded, failing), 0 for the others.",
        labels=["state"],
    )
    current = state.health
    for value in Health:
        health.add_metric([value.value], 1.0 if value is current else 0.0)
    yield health
    yield GaugeMetricFamily(
        "teslalink_problems",
        "How many problems the service has now (listed in /health).",
        value=len(state.problems()),
    )


def _devices(state: ServiceState) -> Iterator[Metric]:
    devices = list(state.devices.values())
    watched = GaugeMetricFamily(
        "teslalink_device_state",
        "1 for each watched device, its state in words in the state label.",
        labels=[*DEVICE_LABELS, "state"],
    )
    last = GaugeMetricFamily(
        "teslalink_device_last_reading_timestamp_seconds",
        "When the device was last read, in seconds since the epoch.",
        labels=DEVICE_LABELS,
    )
    next_poll = GaugeMetricFamily(
        "teslalink_device_next_poll_timestamp_seconds",
        "When the device is read next, in seconds since the epoch.",
        labels=DEVICE_LABELS,
    )
    error = GaugeMetricFamily(
        "teslalink_device_error", "1 while reading the device fails (why: /status).", labels=DEVICE_LABELS
    )
    figures: dict[str, GaugeMetricFamily] = {}
    for device in devices:
        labels = [device.device.kind.value, device.device.id, device.device.name]
        watched.add_metric([*labels, device.state], 1.0)
        if device.last_reading_ms is not None:
            last.add_metric(labels, device.last_reading_ms / 1000.0)
        if device.next_poll_ms is not None:
            next_poll.add_metric(labels, device.next_poll_ms / 1000.0)
        error.add_metric(labels, 1.0 if device.error else 0.0)
        for key, value in _numeric_figures(device.reading):
            family = figures.get(key)
            if family is None:
                family = figures[key] = GaugeMetricFamily(
                    f"teslalink_reading_{key}",
                    f"The device's last {key} (the unit is the one its name ends with).",
                    labels=DEVICE_LABELS,
                )
            family.add_metric(labels, value)
    yield from (watched, last, next_poll, error)
    yield from (figures[key] for key in sorted(figures))


def _numeric_figures(reading: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    """The figures of a reading a gauge can hold: numbers (a bool as 0/1) under a key that makes a
    valid metric name part. Text, nested values and odd keys stay in /status only (our choice)."""
    for key, value in reading.items():
        if not (isinstance(key, str) and _NAME_PART.fullmatch(key)) or key.endswith(_RESERVED_SUFFIXES):
            continue
        if isinstance(value, bool | int | float) and math.isfinite(value):
            yield key, float(value)


def _accounts(state: ServiceState) -> Iterator[Metric]:
    info = GaugeMetricFamily(
        "teslalink_account_info",
        "1 for each account: its API and the month counted.",
        labels=["account", "api", "month"],
    )
    calls = CounterMetricFamily(
        "teslalink_billable_requests",
        "This month's billable requests by Tesla's billing category (UTC month: starts again at 0).",
        labels=["account", "category"],
    )
    cost = GaugeMetricFamily(
        "teslalink_cost_usd",
        "This month's billable requests at Tesla's Fleet API prices, in US dollars, before the discount.",
        labels=["account"],
    )
    budget = GaugeMetricFamily(
        "teslalink_budget_usd",
        "The account's monthly budget from the config, in US dollars.",
        labels=["account"],
    )
    error = GaugeMetricFamily(
        "teslalink_account_error", "1 while the account fails (why: /status).", labels=["account"]
    )
    for account in state.accounts.values():
        info.add_metric([account.email, account.api, account.month], 1.0)
        counts = dict.fromkeys(CATEGORIES, 0) | dict(account.counts)
        for category, count in counts.items():
            calls.add_metric([account.email, category], float(count))
        cost.add_metric([account.email], account.cost_usd)
        if account.budget_usd is not None:
            budget.add_metric([account.email], account.budget_usd)
        error.add_metric([account.email], 1.0 if account.error else 0.0)
    yield from (info, calls, cost, budget, error)


def _targets(state: ServiceState) -> Iterator[Metric]:
    names = _unique_names([target.name for target in state.targets])
    counters = {
        what: CounterMetricFamily(
            f"teslalink_notify_{what}",
            f"Notifications {what} by the target since the service started.",
            labels=["target"],
        )
        for what in NOTIFY_COUNTERS
    }
    error = GaugeMetricFamily(
        "teslalink_notify_target_error",
        "1 while the target's last delivery failed (why: /status).",
        labels=["target"],
    )
    for name, target in zip(names, state.targets, strict=True):
        for what, family in counters.items():
            family.add_metric([name], float(getattr(target, what)))
        error.add_metric([name], 1.0 if target.last_error else 0.0)
    yield from counters.values()
    yield error


def _unique_names(names: list[str]) -> list[str]:
    """Redacted names may repeat (two ntfy topics on one host: "ntfy ntfy.sh" twice), and one
    label set may appear only once in a scrape: the second becomes "NAME #2" (our choice)."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return unique


def _recorder(state: ServiceState) -> Iterator[Metric]:
    recorder = state.recorder
    yield GaugeMetricFamily(
        "teslalink_recorder_ok",
        "1 while the recorder writes, 0 when it cannot.",
        value=1.0 if recorder.ok else 0.0,
    )
    for key in sorted(recorder.counters):
        name = key.removesuffix("_total")
        if not _NAME_PART.fullmatch(name) or name.endswith(_RESERVED_SUFFIXES):
            continue
        yield CounterMetricFamily(
            f"teslalink_recorder_{name}",
            f"The recorder's {name.replace('_', ' ')} since the service started.",
            value=float(recorder.counters[key]),
        )


def _events(state: ServiceState) -> Iterator[Metric]:
    events = CounterMetricFamily(
        "teslalink_events", "Events the service found since it started, by kind.", labels=["kind"]
    )
    counts = dict.fromkeys((kind.value for kind in EventKind), 0) | state.event_counts
    for kind, count in counts.items():
        events.add_metric([kind], float(count))
    yield events
