"""BudgetLedger: counts per account, month and category at Tesla's prices, kept in a safe file;
and FleetApi's records equal the twin's own billing counters after a mixed run."""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import stat
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from fleet_api_twin import (  # noqa: F401 - fixtures
    FleetTwin,
    demo_fleet_world_fixture,
    first_car,
    fleet_surfaces_of_fixture,
    fleet_twin_fixture,
    old_model_s,
)

from teslalink import errors
from teslalink.cloud.fleet.ledger import LEDGER_FILE_NAME, BudgetLedger, MonthUsage
from teslalink.simulator.fleet import fleet_state

ME = "me@example.com"


def test_counts_per_account_month_and_category_with_tesla_prices(tmp_path: Path) -> None:
    ledger = BudgetLedger(tmp_path / LEDGER_FILE_NAME)
    december = dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC)
    ledger.record(ME, "data", 500, when=december)
    ledger.record(ME, "commands", 1000, when=december)
    ledger.record(ME, "wakes", 50, when=december)
    ledger.record(ME, "signals", 150_000, when=december)
    ledger.record(ME, "commands", when=december + dt.timedelta(minutes=1))  # January, UTC
    ledger.record("other@example.com", "wakes", when=december)
    usage = ledger.month(ME, "2026-12")
    assert dict(usage.counts) == {"data": 500, "commands": 1000, "wakes": 50, "signals": 150_000}
    assert usage.cost_usd == 4.0  # $1 of each
    assert (usage.discount_usd, usage.due_usd) == (4.0, 0.0)  # the $10 discount, shown apart
    assert ledger.month(ME, "2027-01").count("commands") == 1
    assert ledger.months(ME) == ["2026-12", "2027-01"]
    assert ledger.accounts() == [ME, "other@example.com"]
    assert ledger.month(ME, "2026-11") == MonthUsage(ME, "2026-11", {})


def test_over_the_discount_the_rest_is_due() -> None:
    usage = MonthUsage(ME, "2026-12", {"commands": 10_800, "wakes": 60})  # amps every minute, 2 wakes a day
    assert usage.cost_usd == pytest.approx(12.0)
    assert usage.discount_usd == 10.0
    assert usage.due_usd == pytest.approx(2.0)


def test_a_naive_time_or_epoch_seconds_is_utc(tmp_path: Path) -> None:
    ledger = BudgetLedger(tmp_path / LEDGER_FILE_NAME)
    ledger.record(ME, "data", when=dt.datetime(2026, 3, 1, 0, 30))  # naive: taken as UTC
    ledger.record(ME, "data", when=dt.datetime(2026, 3, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    ledger.record(ME, "data", when=1_772_323_200.0)  # 2026-03-01T00:00:00Z
    assert ledger.months(ME) == ["2026-02", "2026-03"]
    assert ledger.month(ME, "2026-03").count("data") == 2


def test_the_file_is_private_and_bad_input_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / LEDGER_FILE_NAME
    ledger = BudgetLedger(path)
    ledger.record(ME, "wakes")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for bad in (
        lambda: ledger.record(ME, "honks"),
        lambda: ledger.record(ME, "data", -1),
        lambda: ledger.record("", "data"),
        lambda: ledger.month(ME, "2026-13"),
    ):
        with pytest.raises(errors.ConfigError):
            bad()
    assert ledger.month(ME).count("wakes") == 1
    assert BudgetLedger.beside(tmp_path / "tokens.json").path == tmp_path / LEDGER_FILE_NAME


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"version": 1, "accounts": {"me": {"2026-12": {"data": "many"}}}}',
        b'{"version": 9}',
    ],
)
async def test_a_corrupt_ledger_is_a_clear_error_and_is_never_replaced(
    tmp_path: Path, content: bytes, fleet_twin: FleetTwin
) -> None:
    path = tmp_path / LEDGER_FILE_NAME
    path.write_bytes(content)
    ledger = BudgetLedger(path)
    with pytest.raises(errors.ConfigError) as raised:
        ledger.record(ME, "data")
    assert str(path) in str(raised.value)
    assert "\n" not in str(raised.value)
    with pytest.raises(errors.ConfigError, match="not a Fleet budget ledger"):
        fleet_twin.api(1, region="na", ledger=ledger, account=ME)  # said before anything is sent
    assert path.read_bytes() == content


def _record_many(path: str, account: str, n: int) -> None:
    ledger = BudgetLedger(path)
    for _ in range(n):
        ledger.record(account, "commands")


def test_processes_recording_at_once_lose_no_count(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_FILE_NAME
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_record_many, args=(str(path), ME, 40)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert (
        sum(BudgetLedger(path).month(ME, m).count("commands") for m in BudgetLedger(path).months(ME)) == 120
    )


async def test_the_ledger_equals_the_twins_billing_after_a_mixed_run(
    tmp_path: Path, fleet_twin: FleetTwin
) -> None:
    account = fleet_twin.account(1)
    ledger = BudgetLedger(tmp_path / LEDGER_FILE_NAME)
    api = fleet_twin.api(1, ledger=ledger, account=account.email)
    car, old = first_car(fleet_twin), old_model_s(fleet_twin)
    await api.discover_region()
    await api.products()
    cars = {v.vin: v for v in await api.vehicles()}
    vehicle = await api.vehicle(car.vin)
    await vehicle.vehicle_data()
    await vehicle.vehicle_data(["charge_state"])
    with pytest.raises(errors.CommandSigningRequired):  # a 403: billed all the same
        await vehicle.charge_stop()
    assert (await cars[old.vin].lock())["result"] is True
    await api.fleet_status([car.vin])
    (site, *_) = await api.energy_sites()
    await site.live_status()
    await site.set_backup_reserve(30)
    no_location = fleet_twin.api(1, scopes="openid vehicle_device_data", ledger=ledger, account=account.email)
    with pytest.raises(errors.MissingScopes):
        await (await no_location.vehicle(car.vin)).vehicle_data(["location_data"])
    old.unplug()
    old.fall_asleep()
    with pytest.raises(errors.VehicleUnavailable):
        await cars[old.vin].vehicle_data()
    await api.api("WAKE_UP", path_vars={"vehicle_id": old.id_s})  # one wake, no waiting for it
    fleet_state(fleet_twin.world).set_home_region(account, "eu")
    await vehicle.vehicle_data(["charge_state"])  # a 421 and the answer from eu: two billed
    twin = fleet_twin.billed()
    assert twin == {"data": 7, "commands": 3, "wakes": 1}
    await api.ledger_written()  # the file is written off the event loop
    await no_location.ledger_written()
    counted = {
        c: sum(ledger.month(account.email, m).count(c) for m in ledger.months(account.email)) for c in twin
    }
    assert counted == twin
    assert api.billed + no_location.billed == twin


class _WatchedLedger(BudgetLedger):
    """The real ledger, noting the thread and the size of each write."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: list[tuple[int, dict[str, int]]] = []

    def record_many(self, account: str, counts: Mapping[str, int], when: Any = None) -> None:
        self.writes.append((threading.get_ident(), dict(counts)))
        super().record_many(account, counts, when)


async def test_the_ledger_is_written_off_the_event_loop_and_concurrent_counts_share_a_write(
    tmp_path: Path, fleet_twin: FleetTwin
) -> None:
    account = fleet_twin.account(1)
    ledger = _WatchedLedger(tmp_path / LEDGER_FILE_NAME)
    api = fleet_twin.api(1, ledger=ledger, account=account.email)
    vehicle = await api.vehicle(first_car(fleet_twin).vin)
    await asyncio.gather(*(vehicle.vehicle_data(["charge_state"]) for _ in range(20)))
    await api.close()
    assert ledger.month(account.email).count("data") == 20
    assert threading.get_ident() not in {thread for thread, _ in ledger.writes}
    assert sum(counts["data"] for _, counts in ledger.writes) == 20
    assert len(ledger.writes) < 20  # counts that came during a write went into the next one
