"""`teslalink serve` on the twin: an owner's week, its storage, and a hundred cars and units.

    python bench/service.py [--days 7] [--fleet 100] [--seconds 120] [--json]

(a) A week of world time for one owner (`service.home_twin`: a Model 3 on the Fleet API, a Wall
    Connector in the garage, a Powerwall with solar), the owner's days scripted by
    `simulator.week` (commutes, three evening charges, a weekend outing, a Sunday asleep). The
    world is frozen and moved by the watcher's scheduler (virtual time: a week in seconds), so
    each run is the same world on the same seed; only the watcher differs:
    - ours, with the Wall Connector configured for the car;
    - ours, without it (the car alone tells of a plug-in);
    - the baseline: TeslaMate's published polling rules (bench/teslamate_rules.py, research/
      loggers.md 1.2) through the same client and scheduler, cars only (TeslaMate reads no
      Powerwall).
    Reported: wake-ups caused (the twin's car counts each wake by its reason; `wake_up` is an API
    wake), the hours the car was awake, billable requests by category (the twin's own billing:
    the car's, and the site's apart), $ per car-month at Fleet prices (a week's cost x 30/7),
    the plug-in detection delay (from the scripted plug-in to our plugged_in event, or to the
    baseline's first vehicle_data that shows the cable), and the summaries read (the twin does
    not bill `vehicles/{id}`; whether Tesla does is open: their cost if it did is shown).
(b) Storage: the SQLite file (after the recorder's last commit and a WAL checkpoint) of run (a)
    with the Wall Connector, per car-day, against TeslaMate's published ~680 MB per car over 18
    months (~1.26 MB per car-day, research/loggers.md and control.md 7.2).
(c) The service in real time watching `--fleet` cars and as many Wall Connectors, the twin in its
    own process at world speed 1: the service's CPU per real second (`time.process_time` of its
    process over `--seconds` after a warm-up) and its peak RSS; against the baseline's rules
    run the same way for the same cars (the same client; TeslaMate itself needs Elixir and
    PostgreSQL). Loopback only; every child process is stopped at the end.

Results as JSON: bench/results/service.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from teslalink.cloud.account import open_account  # noqa: E402
from teslalink.service.events import Event, EventKind  # noqa: E402
from teslalink.service.home_twin import WEEK_START, HomeTwin, demo_app, serve_home  # noqa: E402
from teslalink.service.runner import Service  # noqa: E402
from teslalink.service.scheduler import Scheduler, WorldClock  # noqa: E402
from teslalink.simulator.accounting import FLEET_API_PRICE_PER_DOLLAR, BillingCategory  # noqa: E402
from teslalink.simulator.week import DAY_S, Step, owner_week, play  # noqa: E402
from teslamate_rules import TeslaMateRules  # noqa: E402  (bench/ is not a package)

TESLAMATE_BYTES_PER_CAR_DAY = 680e6 / (18 * 30.44)  # ~1.24 MB (loggers.md: ~680 MB per car, 18 months)
SUMMARY_PRICE_PER_DOLLAR = FLEET_API_PRICE_PER_DOLLAR[BillingCategory.DATA]


# --- (a) and (b): the owner's week in virtual time -------------------------------------------------


def _figures(
    home: HomeTwin, days: float, plugs: list[float], seen: list[float], summaries: int
) -> dict[str, Any]:
    accounting = home.world.accounting
    car_counts = accounting.by_vehicle.get(home.car.id, Counter[BillingCategory]())
    car = {c.value: int(car_counts.get(c, 0)) for c in BillingCategory}
    site = {c.value: int(accounting.totals.get(c, 0)) - car[c.value] for c in BillingCategory}
    month = 30.0 / days

    def dollars(counts: dict[str, int]) -> float:
        return sum(n / FLEET_API_PRICE_PER_DOLLAR[BillingCategory(c)] for c, n in counts.items())

    delays = []
    for plugged_at in plugs:
        later = [t for t in seen if t >= plugged_at - 1e-6]
        delays.append(round(min(later) - plugged_at, 1) if later else None)
    return {
        "api_wakes": home.car.wake_reasons.get("wake_up", 0),
        "wakes_by_reason": home.car.wake_reasons,
        "awake_h_per_day": round(home.car.awake_seconds / 3600 / days, 2),
        "car_billed": car,
        "site_billed": site,
        "usd_per_car_month": round(dollars(car) * month, 3),
        "site_usd_per_month": round(dollars(site) * month, 3),
        "plug_in_delays_s": delays,
        "summaries": summaries,
        "summaries_usd_per_month_if_billed": round(summaries / SUMMARY_PRICE_PER_DOLLAR * month, 2),
    }


async def week_ours(folder: Path, days: float, *, with_unit: bool) -> dict[str, Any]:
    async with serve_home(folder) as home:
        settings = home.settings(with_unit=with_unit)
        clock = WorldClock(home.world)
        service = Service(settings, store=home.store, clock=clock, fleet_options=home.fleet_options)
        seen: list[float] = []
        kinds: dict[str, int] = {}

        def heard(event: Event) -> None:
            kinds[event.kind.value] = kinds.get(event.kind.value, 0) + 1
            if event.kind is EventKind.PLUGGED_IN:
                seen.append(event.at_ms / 1000)

        plugs: list[float] = []
        service.subscribe(heard)
        started = time.process_time()
        async with service:
            await play(home.world, home.car.id, owner_week(int(days)), service.run_until,
                       start=WEEK_START, end=WEEK_START + days * DAY_S,
                       on_step=lambda step, ts: _plug(step, ts, plugs))  # fmt: skip
        cpu_s = time.process_time() - started
        summaries = sum(job.runs for job in service.scheduler.jobs if job.name.startswith("car:"))
        figures = _figures(home, days, plugs, seen, summaries)
        figures["events"] = kinds
        figures["cpu_s_for_the_week"] = round(cpu_s, 2)
        figures["database"] = database_bytes(settings.database_path, days)
        return figures


def _plug(step: Step, ts: float, plugs: list[float]) -> None:
    if step.action == "plug_in":
        plugs.append(ts)


async def week_teslamate(folder: Path, days: float) -> dict[str, Any]:
    async with (
        serve_home(folder) as home,
        open_account(home.store, home.email, api="fleet", **home.fleet_options) as api,
    ):
        (vehicle,) = await api.vehicles()
        rules = TeslaMateRules(vehicle, home.world.now)
        scheduler = Scheduler(WorldClock(home.world))
        job = scheduler.add("car", rules)
        plugs: list[float] = []
        await play(home.world, home.car.id, owner_week(int(days)), scheduler.run_until,
                   start=WEEK_START, end=WEEK_START + days * DAY_S,
                   on_step=lambda step, ts: _plug(step, ts, plugs))  # fmt: skip
        return _figures(home, days, plugs, rules.plugged_seen, job.runs)


def database_bytes(path: Path, days: float) -> dict[str, Any]:
    """The SQLite file's size after a WAL checkpoint, per table where the build has dbstat."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables: dict[str, int] = {}
        with contextlib.suppress(sqlite3.OperationalError):  # dbstat is a compile-time option
            for name, size in db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
                tables[name] = int(size)
    size = path.stat().st_size
    return {"bytes": size, "bytes_per_car_day": round(size / days), "tables": tables}


# --- (c) a hundred cars and units in real time -------------------------------------------------------


def fleet_twin_main(cars: int) -> None:
    """Child: serve a home of `cars` cars and as many units at world speed 1; print its listing."""
    asyncio.run(_fleet_twin(cars))


async def _fleet_twin(cars: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="teslalink-bench-"))
    async with serve_home(folder, cars=cars, asleep=False, start=time.time(), speed=1.0) as home:
        app = home.fleet_options["app"]
        listing = {
            "folder": str(folder),
            "email": home.email,
            "hosts": {"api": dict(app.hosts.api), "auth": app.hosts.auth},
            "unit_hosts": home.unit_hosts,
            "vins": [car.vin for car in home.cars],
        }
        print(json.dumps(listing), flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()


def _fleet_options(listing: dict[str, Any]) -> dict[str, Any]:
    folder = Path(listing["folder"])
    app = demo_app(folder, listing["hosts"]["api"], listing["hosts"]["auth"])
    return {"app": app, "environ": {"XDG_CONFIG_HOME": str(folder / "config")}}


def watcher_main(which: str, listing_file: str, warmup_s: float, seconds: float) -> None:
    """Child: run ours (the whole service) or the baseline's rules in real time; print CPU and RSS."""
    listing = json.loads(Path(listing_file).read_text())
    print(json.dumps(asyncio.run(_watch(which, listing, warmup_s, seconds))), flush=True)


async def _watch(which: str, listing: dict[str, Any], warmup_s: float, seconds: float) -> dict[str, Any]:
    from teslalink.cloud.tokens import TokenStore
    from teslalink.service.settings import (
        AccountSettings,
        ListenSettings,
        ServiceSettings,
        UnitSettings,
    )

    folder = Path(listing["folder"])
    store = TokenStore(folder / "tokens.json")
    options = _fleet_options(listing)
    stop = asyncio.Event()
    if which in ("ours", "ours_cars"):
        data = Path(tempfile.mkdtemp(prefix="teslalink-bench-data-"))
        units = tuple(
            UnitSettings(name=f"unit-{i}", host=host, car=vin)
            for i, (host, vin) in enumerate(zip(listing["unit_hosts"], listing["vins"], strict=True))
            if which == "ours"
        )
        settings = ServiceSettings(
            data_dir=data,
            accounts=(AccountSettings(listing["email"], api="fleet"),),
            wallconnectors=units,
            listen=ListenSettings(enabled=False),
        )
        async with Service(settings, store=store, fleet_options=options) as service:
            runner = asyncio.ensure_future(service.run(stop))
            figures = await _measure(warmup_s, seconds)
            stop.set()
            await runner
            figures["steps"] = sum(job.runs for job in service.scheduler.jobs)
        return figures
    async with open_account(store, listing["email"], api="fleet", **options) as api:
        scheduler = Scheduler()
        for vehicle in await api.vehicles():
            scheduler.add(f"car:{vehicle.vin}", TeslaMateRules(vehicle, time.time))
        runner = asyncio.ensure_future(scheduler.run(stop))
        figures = await _measure(warmup_s, seconds)
        stop.set()
        await runner
        figures["steps"] = sum(job.runs for job in scheduler.jobs)
        return figures


async def _measure(warmup_s: float, seconds: float) -> dict[str, Any]:
    await asyncio.sleep(warmup_s)
    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "cpu_ms_per_s": round(cpu / wall * 1000, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "wall_s": wall,
    }


@contextlib.contextmanager
def fleet_twin(cars: int) -> Iterator[Path]:
    """The twin of (c) in its own process; the path of its listing file while it runs."""
    cmd = [sys.executable, __file__, "--twin", str(cars)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first:
            raise SystemExit("the twin did not start")
        listing = Path(json.loads(first)["folder"]) / "listing.json"
        listing.write_text(first)
        yield listing
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fleet_round(which: str, listing: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--watch", which, str(listing), str(args.warmup), str(args.seconds)]
    limit = args.warmup + args.seconds + 300
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=limit)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"days": args.days}
    with tempfile.TemporaryDirectory(prefix="teslalink-bench-") as tmp:
        folder = Path(tmp)
        results["ours"] = asyncio.run(week_ours(folder / "ours", args.days, with_unit=True))
        results["ours_no_unit"] = asyncio.run(week_ours(folder / "ours-no-unit", args.days, with_unit=False))
        results["teslamate"] = asyncio.run(week_teslamate(folder / "teslamate", args.days))
    if args.fleet > 0:
        with fleet_twin(args.fleet) as listing:
            results["fleet"] = {
                "cars": args.fleet,
                "ours": fleet_round("ours", listing, args),
                "ours_cars": fleet_round("ours_cars", listing, args),
                "teslamate": fleet_round("teslamate", listing, args),
            }
    return results


def report(results: dict[str, Any]) -> str:
    ours, bare, peer = results["ours"], results["ours_no_unit"], results["teslamate"]

    def worst(delays: list[float | None]) -> str:
        known = [d for d in delays if d is not None]
        missed = len(delays) - len(known)
        text = f"{max(known):.0f} s max, {sum(known) / len(known):.0f} s mean" if known else "none seen"
        return text + (f", {missed} missed" if missed else "")

    def ratio(peer_value: float, ours_value: float, fmt: str = "{:.1f}x") -> str:
        return fmt.format(peer_value / ours_value) if ours_value else "-"

    def cells(*values: object) -> str:
        return "| " + " | ".join(str(v) for v in values) + " |"

    def summaries(run: dict[str, Any]) -> str:
        return f"{run['summaries']} (${run['summaries_usd_per_month_if_billed']})"

    def site(run: dict[str, Any]) -> str:
        return f"{run['site_billed']['data']} (${run['site_usd_per_month']})"

    tm_bytes = TESLAMATE_BYTES_PER_CAR_DAY
    our_bytes = ours["database"]["bytes_per_car_day"]
    lines = [
        f"(a) one owner's week ({results['days']:g} days of world time), Fleet prices",
        "",
        cells("figure", "ours (with Wall Connector)", "ours (car only)", "TeslaMate's rules", "ratio"),
        "|---|---|---|---|---|",
        cells("wake-ups caused (API wake_up)", ours["api_wakes"], bare["api_wakes"], peer["api_wakes"], ""),
        cells(
            "car awake, hours per day",
            ours["awake_h_per_day"],
            bare["awake_h_per_day"],
            peer["awake_h_per_day"],
            ratio(peer["awake_h_per_day"], ours["awake_h_per_day"], "{:.2f}x"),
        ),
        cells(
            "car's billable data reads",
            ours["car_billed"]["data"],
            bare["car_billed"]["data"],
            peer["car_billed"]["data"],
            ratio(peer["car_billed"]["data"], ours["car_billed"]["data"]),
        ),
        cells(
            "$ per car-month",
            f"{ours['usd_per_car_month']:.2f}",
            f"{bare['usd_per_car_month']:.2f}",
            f"{peer['usd_per_car_month']:.2f}",
            ratio(peer["usd_per_car_month"], ours["usd_per_car_month"]),
        ),
        cells(
            "plug-in seen after",
            worst(ours["plug_in_delays_s"]),
            worst(bare["plug_in_delays_s"]),
            worst(peer["plug_in_delays_s"]),
            "",
        ),
        cells(
            "summaries read (unbilled; $/month if billed)",
            summaries(ours),
            summaries(bare),
            summaries(peer),
            "",
        ),
        cells("Powerwall site reads ($/month)", site(ours), site(bare), "not read", ""),
        "",
        f"events (ours): {json.dumps(ours['events'], sort_keys=True)}",
        f"wakes by reason: ours {ours['wakes_by_reason']}, TeslaMate's rules {peer['wakes_by_reason']}",
        "",
        "(b) storage, SQLite, per car-day",
        "",
        "| figure | ours | TeslaMate (published) | ratio |",
        "|---|---|---|---|",
        cells("bytes per car-day", f"{our_bytes:,}", f"{tm_bytes:,.0f}", ratio(tm_bytes, our_bytes)),
    ]
    fleet = results.get("fleet")
    if fleet:
        o, c, t = fleet["ours"], fleet["ours_cars"], fleet["teslamate"]
        lines += [
            "",
            f"(c) {fleet['cars']} cars and as many Wall Connectors, real time, {o['wall_s']:.0f} s measured",
            "",
            cells(
                "figure",
                "ours (cars + units)",
                "ours (cars only)",
                "TeslaMate's rules (cars)",
                "ratio (cars)",
            ),
            "|---|---|---|---|---|",
            cells(
                "CPU ms per real second",
                o["cpu_ms_per_s"],
                c["cpu_ms_per_s"],
                t["cpu_ms_per_s"],
                ratio(t["cpu_ms_per_s"], c["cpu_ms_per_s"], "{:.2f}x"),
            ),
            cells(
                "peak RSS, MB",
                o["peak_rss_mb"],
                c["peak_rss_mb"],
                t["peak_rss_mb"],
                ratio(t["peak_rss_mb"], c["peak_rss_mb"], "{:.2f}x"),
            ),
            cells("steps run", o["steps"], c["steps"], t["steps"], ""),
        ]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--fleet", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--warmup", type=float, default=30.0)
    parser.add_argument("--twin", type=int, help=argparse.SUPPRESS)  # child: the twin of (c)
    parser.add_argument("--watch", nargs=4, help=argparse.SUPPRESS)  # child: which listing warmup seconds
    parser.add_argument("--json", action="store_true")
    return parser.parse_args()


def entry() -> None:
    args = parse_args()
    if args.twin:
        fleet_twin_main(args.twin)
        return
    if args.watch:
        which, listing, warmup, seconds = args.watch
        watcher_main(which, listing, float(warmup), float(seconds))
        return
    results = main(args)
    out = HERE / "results" / "service.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2) if args.json else report(results))


if __name__ == "__main__":
    entry()
