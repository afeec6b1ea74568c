"""What a running service knows about itself: the one snapshot `/status`, `/health`,
`/metrics` and `teslalink status` are drawn from.

The runner owns one `ServiceState` and updates it as it goes (a device read, an error, a poll
scheduled, a batch committed, a notification delivered); the HTTP listener only reads it. It is
plain data, so a snapshot is cheap and never blocks a watcher: `to_json()` is the `/status`
body, and the Prometheus collector walks the same fields.

Health (our choice): the service is `ok` when every part works, `degraded` when some device,
account or target fails (the service goes on with the rest), and `failing` when the recorder
cannot write (nothing is being kept). `/health` answers 200 for ok and degraded, 503 for failing,
so a supervisor restarts only a service that cannot do its main job.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .events import DeviceKind, DeviceRef, Event

__all__ = ["AccountStatus", "DeviceStatus", "Health", "PartStatus", "ServiceState", "TargetStatus"]


class Health(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    FAILING = "failing"


@dataclass(slots=True)
class DeviceStatus:
    """One watched device: its state in words, its last reading and when, its last problem."""

    device: DeviceRef
    state: str = "unknown"  # a car's activity, "online"/"offline" for a unit or a site
    last_reading_ms: int | None = None
    reading: Mapping[str, Any] = field(default_factory=dict)  # the figures worth showing
    error: str | None = None  # one line, None while it works
    next_poll_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.device.kind.value,
            "id": self.device.id,
            "name": self.device.name,
            "state": self.state,
            "last_reading_ms": self.last_reading_ms,
            "reading": dict(self.reading),
            "error": self.error,
            "next_poll_ms": self.next_poll_ms,
        }


@dataclass(slots=True)
class AccountStatus:
    """An account's API and this month's billable calls (counted at Fleet prices also for the
    Owner API, as an estimate of what the same calls would cost)."""

    email: str
    api: str  # "owner" or "fleet"
    month: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)  # by ledger category
    cost_usd: float = 0.0
    budget_usd: float | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "api": self.api,
            "month": self.month,
            "counts": dict(self.counts),
            "cost_usd": self.cost_usd,
            "budget_usd": self.budget_usd,
            "error": self.error,
        }


@dataclass(slots=True)
class TargetStatus:
    """A notification target's counters; `name` is redacted (scheme and host only)."""

    name: str
    delivered: int = 0
    failed: int = 0
    retried: int = 0
    dropped: int = 0
    suppressed: int = 0
    last_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "delivered": self.delivered,
            "failed": self.failed,
            "retried": self.retried,
            "dropped": self.dropped,
            "suppressed": self.suppressed,
            "last_error": self.last_error,
        }


@dataclass(slots=True)
class PartStatus:
    """A part of the service itself (the recorder): whether it works, and its counters."""

    ok: bool = True
    error: str | None = None
    counters: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "error": self.error, "counters": dict(self.counters)}


@dataclass(slots=True)
class ServiceState:
    version: str
    started_ms: int
    devices: dict[tuple[DeviceKind, str], DeviceStatus] = field(default_factory=dict)
    accounts: dict[str, AccountStatus] = field(default_factory=dict)
    targets: list[TargetStatus] = field(default_factory=list)
    recorder: PartStatus = field(default_factory=PartStatus)
    recent_events: list[Event] = field(default_factory=list)
    recent_limit: int = 50
    event_counts: dict[str, int] = field(default_factory=dict)  # by EventKind value, since start

    def device(self, ref: DeviceRef) -> DeviceStatus:
        """The status of `ref`, made on first use."""
        key = (ref.kind, ref.id)
        status = self.devices.get(key)
        if status is None:
            status = self.devices[key] = DeviceStatus(ref)
        return status

    def add_event(self, event: Event) -> None:
        """Keep `event` among the recent ones and count it by kind (`/metrics`' events_total)."""
        self.event_counts[event.kind.value] = self.event_counts.get(event.kind.value, 0) + 1
        self.recent_events.append(event)
        del self.recent_events[: -self.recent_limit]

    @property
    def health(self) -> Health:
        if not self.recorder.ok:
            return Health.FAILING
        troubled = (
            any(d.error for d in self.devices.values())
            or any(a.error for a in self.accounts.values())
            or any(t.last_error for t in self.targets)
        )
        return Health.DEGRADED if troubled else Health.OK

    def problems(self) -> list[str]:
        """Every current problem in one line each, the recorder's first."""
        lines = [f"recorder: {self.recorder.error}"] if not self.recorder.ok and self.recorder.error else []
        devices = self.devices.values()
        lines += [f"{d.device.kind.value} {d.device.label}: {d.error}" for d in devices if d.error]
        lines += [f"account {a.email}: {a.error}" for a in self.accounts.values() if a.error]
        lines += [f"notify {t.name}: {t.last_error}" for t in self.targets if t.last_error]
        return lines

    def to_json(self, now_ms: int) -> dict[str, Any]:
        return {
            "version": self.version,
            "started_ms": self.started_ms,
            "now_ms": now_ms,
            "health": self.health.value,
            "problems": self.problems(),
            "devices": [d.to_json() for d in self.devices.values()],
            "accounts": [a.to_json() for a in self.accounts.values()],
            "targets": [t.to_json() for t in self.targets],
            "recorder": self.recorder.to_json(),
            "recent_events": [e.to_json() for e in self.recent_events],
            "event_counts": dict(self.event_counts),
        }
