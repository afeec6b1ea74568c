"""A `ServiceState` as a running service would hold it, built by hand for the listener's tests:
three devices (a car, a Wall Connector, an energy site), an account with a month of calls, three
notification targets (two with the same redacted name), the recorder's counters and some events;
and the listener served from a thread, for the CLI's tests."""

from __future__ import annotations

import asyncio
import threading

from teslalink.cloud.fleet.ledger import MonthUsage
from teslalink.service.events import DeviceKind, DeviceRef, Event, EventKind
from teslalink.service.listener import Listener, Snapshot, start_listener
from teslalink.service.settings import ListenSettings
from teslalink.service.state import AccountStatus, DeviceStatus, PartStatus, ServiceState, TargetStatus

NOW_MS = 1_750_000_000_000
VIN = "5YJ3E1EA7KF000001"
SERIAL = "A19B0012345"
SITE_ID = "1689545"
EMAIL = "owner@teslalink.test"
COUNTS = {"data": 120, "commands": 3, "wakes": 1, "signals": 0}

CAR = DeviceRef(DeviceKind.CAR, VIN, "Model Y")
UNIT = DeviceRef(DeviceKind.WALL_CONNECTOR, SERIAL, "Garage")
SITE = DeviceRef(DeviceKind.SITE, SITE_ID, "Home")


def month_cost() -> float:
    """COUNTS at Tesla's prices, as the ledger prices them."""
    return MonthUsage(EMAIL, "2025-06", dict(COUNTS)).cost_usd


def built_state() -> ServiceState:
    state = ServiceState(version="0.1.0", started_ms=NOW_MS - 7_500_000)  # up 2 h 5 min
    state.devices[(CAR.kind, CAR.id)] = DeviceStatus(
        CAR,
        state="charging",
        last_reading_ms=NOW_MS - 12_000,
        reading={"battery_level": 54, "charger_power_kw": 7.2, "plugged_in": True, "shift_state": "P"},
        next_poll_ms=NOW_MS + 48_000,
    )
    state.devices[(UNIT.kind, UNIT.id)] = DeviceStatus(
        UNIT,
        state="online",
        last_reading_ms=NOW_MS - 3_000,
        reading={"vehicle_connected": True, "power_w": 7100.5, "session_energy_wh": 3200},
        next_poll_ms=NOW_MS + 2_000,
    )
    state.device(SITE)  # watched, never read yet
    state.accounts[EMAIL] = AccountStatus(
        EMAIL, "fleet", month="2025-06", counts=dict(COUNTS), cost_usd=month_cost(), budget_usd=10.0
    )
    state.targets = [
        TargetStatus("webhook http://127.0.0.1", delivered=4, failed=1, retried=2),
        TargetStatus("ntfy https://ntfy.sh", delivered=3, suppressed=2),
        TargetStatus("ntfy https://ntfy.sh", delivered=1, dropped=1),
    ]
    state.recorder = PartStatus(ok=True, counters={"written": 1234, "batches": 56})
    state.add_event(Event(EventKind.PLUGGED_IN, NOW_MS - 600_000, CAR, "Model Y plugged in"))
    state.add_event(
        Event(
            EventKind.CHARGING_STARTED,
            NOW_MS - 590_000,
            CAR,
            "Model Y started charging",
            {"battery_level": 41},
        )
    )
    state.add_event(Event(EventKind.PLUGGED_IN, NOW_MS - 60_000, CAR, "Model Y plugged in again"))
    return state


class ThreadedListener:
    """The listener served from a thread of its own (its own loop), for code that runs its own
    loop: the CLI under CliRunner. `snapshot` is called on that thread, as on the service's loop."""

    def __init__(self, snapshot: Snapshot, *, hang_guard_s: float = 30.0) -> None:
        self._snapshot = snapshot
        self._hang_guard_s = hang_guard_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._listener: Listener | None = None

    @property
    def url(self) -> str:
        assert self._listener is not None
        return self._listener.url

    def __enter__(self) -> ThreadedListener:
        self._thread.start()
        settings = ListenSettings(host="127.0.0.1", port=0)
        started = asyncio.run_coroutine_threadsafe(start_listener(settings, self._snapshot), self._loop)
        self._listener = started.result(self._hang_guard_s)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._listener is not None:
            closing = asyncio.run_coroutine_threadsafe(self._listener.close(), self._loop)
            closing.result(self._hang_guard_s)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(self._hang_guard_s)
        self._loop.close()
