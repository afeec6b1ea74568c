"""The account's budget warning, and energy sites' samples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from teslalink.cloud import CloudUrls, StaticToken, TeslaApi
from teslalink.cloud.fleet.ledger import BudgetLedger
from teslalink.service.engine import Engine
from teslalink.service.events import DeviceKind, Event, EventKind
from teslalink.service.records import ApiUsage, Record, SiteSample
from teslalink.service.scheduler import Scheduler, WorldClock
from teslalink.service.settings import EngineSettings
from teslalink.service.state import ServiceState
from teslalink.service.watch import SiteJob, SitePolicy
from teslalink.simulator import World, scenario, serve_cloud

from .harness import EMAIL, START


def test_budget_low_is_told_once_a_month_when_the_spend_passes_the_share(tmp_path: Path) -> None:
    ledger = BudgetLedger(tmp_path / "fleet-ledger.json")  # the Fleet API client's own ledger file
    records: list[Record] = []
    state = ServiceState("test", 0)
    engine = Engine(EngineSettings(budget_warn_share=0.8), [], records.append, state, clock_ms=lambda: 0)
    june = dt.datetime(2026, 6, 10, tzinfo=dt.UTC)
    for _ in range(5):
        ledger.record(EMAIL, "data", 500, when=june)  # $1 each time, at 500 reads a dollar
        engine.account_usage(EMAIL, ledger.month(EMAIL, "2026-06"), 4.0, june.timestamp())
    july = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    ledger.record(EMAIL, "wakes", 200, when=july)  # $4 of wakes at 50 a dollar
    engine.account_usage(EMAIL, ledger.month(EMAIL, "2026-07"), 4.0, july.timestamp())

    warnings = [r for r in records if isinstance(r, Event) and r.kind is EventKind.BUDGET_LOW]
    assert [w.figures["month"] for w in warnings] == ["2026-06", "2026-07"]
    june_warning = warnings[0]
    assert june_warning.figures["cost_usd"] == 4.0  # the fourth dollar passed 80 % of $4
    assert june_warning.device.kind is DeviceKind.ACCOUNT
    assert june_warning.at_ms == round(june.timestamp() * 1000)
    usage = {(u.month, u.category): u for u in records if isinstance(u, ApiUsage)}
    assert usage[("2026-06", "data")].count == 2500
    assert usage[("2026-06", "data")].cost_usd == 5.0
    assert usage[("2026-07", "wakes")].count == 200
    assert state.accounts[EMAIL].cost_usd == 4.0
    assert state.accounts[EMAIL].budget_usd == 4.0
    # A restart does not tell June again.
    again = Engine(EngineSettings(), [], records.append, ServiceState("test", 0), clock_ms=lambda: 0)
    again.restore(engine.to_state())
    again.account_usage(EMAIL, ledger.month(EMAIL, "2026-07"), 4.0, july.timestamp())
    assert sum(isinstance(r, Event) and r.kind is EventKind.BUDGET_LOW for r in records) == 2


async def test_each_site_read_is_a_sample_of_the_twins_power_flows() -> None:
    world = World(seed=3, speed=0.0, start=START)
    account = world.add_account(EMAIL, "pw-site")
    twin_site = world.add_energy_site(account, site_name="Home", powerwalls=1)
    records: list[Record] = []
    state = ServiceState("test", 0)
    engine = Engine(EngineSettings(), [], records.append, state, clock_ms=lambda: 0)
    async with serve_cloud(world) as cloud:
        token = world.auth.issue(world.account(EMAIL))["access_token"]
        api = TeslaApi(CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"]), StaticToken(token))
        try:
            (site,) = await api.energy_sites()
            scheduler = Scheduler(WorldClock(world))
            scheduler.add("site", SiteJob(site, engine, world.now))
            await scheduler.run_until(START + 2 * SitePolicy().live_s)
            truth = scenario.site_truth(world, twin_site.energy_site_id)
        finally:
            await api.close()
    samples = [r for r in records if isinstance(r, SiteSample)]
    assert [s.at_ms for s in samples] == [round((START + SitePolicy().live_s * i) * 1000) for i in range(3)]
    last = samples[-1]
    assert last.site_id == str(twin_site.energy_site_id)
    assert last.battery_level is not None
    assert abs(last.battery_level - truth["percentage_charged"]) <= 1.0
    assert last.solar_w is not None
    assert abs(last.solar_w - truth["solar_w"]) <= max(50.0, 0.05 * truth["solar_w"])
    (status,) = state.devices.values()
    assert status.state == "online"
    assert status.next_poll_ms == round((START + 3 * SitePolicy().live_s) * 1000)
    assert engine.failures == 0
