"""The twin's own capacity on one core, so it is never the bottleneck of our other benchmarks.

    python bench/twin.py [--warmup 1.5] [--duration 5] [--steps 100,250,500,1000,2000]
                         [--refine 2] [--json]

The twin (`serve`, below: `serve_cloud` of a world at speed 60) runs in its own process pinned to
one CPU; each load (`load`, below) runs in another process pinned to a different CPU, with lean
clients: aiohttp with keep-alive for the Owner API and the streaming websocket, our own
`WallConnector` (one kept-alive connection per unit) for vitals. Each figure is measured over a
window after a warm-up; the twin's CPU time over the same window comes from /proc/<pid>/stat, so
"twin core busy" is the share of its one core it used, and "twin CPU µs per request" does not
depend on whether the client kept it fully busy ("client core busy" shows that it had room).

(a) vehicle_data requests/s: GET api/1/vehicles/{id}/vehicle_data with every block and location
    (what TeslaMate and TeslaPy ask for), bearer token, round robin over the cars (driving or
    charging), 32 requests in flight.
(b) vitals requests/s: 100 Wall Connectors, each polled by its own client one request at a time,
    all units at once.
(c) streaming updates/s: one websocket per driving car (800), subscribed to the twelve columns;
    at world speed 60 the twin pushes up to 20 updates per real second per subscription, so they
    ask for more than one core can send; data:update frames received per second.
(d) devices kept at 60x: N devices are N/2 cars (half driving, half charging, each on its own
    Wall Connector) and N/2 Wall Connectors (those charging cars' units and idle ones), under a
    steady load paced in world time: each car's vehicle_data every 30 world-s, each charging
    unit's vitals every 5 world-s and each idle unit's every 30 world-s (Home Assistant's scan
    intervals for a charging and an idle unit). At speed 60 that is 4.5 N requests per real
    second. N passes when at least 97% of the scheduled requests were answered, none failed, the
    p99 latency is under 100 ms and the twin used under 80% of its core. The steps stop at the
    first failure; `--refine` more steps then halve the gap between the last pass and the first
    failure (to a multiple of 50). The largest passing N is reported.

Processes: the twin (one for (a) to (c), a fresh one for each N of (d)) and each load are
children of this one; all are stopped at the end, also on Ctrl-C, SIGTERM or an error. Loopback
only.
Results as JSON: bench/results/twin.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SPEED = 60.0
COLUMNS = "speed,odometer,soc,elevation,est_heading,est_lat,est_lng,power,shift_state,range,est_range,heading"
ENDPOINTS = "charge_state;climate_state;drive_state;gui_settings;location_data;vehicle_config;vehicle_state"
CAR_PERIOD_WORLD_S = 30.0
CHARGING_UNIT_PERIOD_WORLD_S = 5.0
IDLE_UNIT_PERIOD_WORLD_S = 30.0
P99_LIMIT_MS = 100.0
BUSY_LIMIT = 0.80
ANSWERED_MIN = 0.97
READY_TIMEOUT_S = 30.0
STREAMS = 800  # subscriptions for (c): 16,000 updates/s asked, more than one core sends
REFINE_GRAIN = 50
SHARED_WARNING = 0.05


# --- shared ------------------------------------------------------------------------------------


def pin(cpu: int | None) -> None:
    """Run this process (and its future threads) on one CPU only."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads), from /proc."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # fields[0] is the state (field 3)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def core_cpu_s(cpu: int | None) -> tuple[float, float]:
    """(busy, stolen) CPU seconds of one core since boot, from /proc/stat; zeros if unknown."""
    if cpu is None:
        return 0.0, 0.0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name == f"cpu{cpu}":
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in values[:8])
            tick = os.sysconf("SC_CLK_TCK")
            return (user + nice + system + irq + softirq) / tick, steal / tick
    return 0.0, 0.0


def percentile_ms(latencies: list[float], q: int) -> float:
    if len(latencies) < 2:
        return latencies[0] * 1e3 if latencies else float("nan")
    return statistics.quantiles(latencies, n=100, method="inclusive")[q - 1] * 1e3


# --- the twin: `python bench/twin.py serve ...` ---------------------------------------------------


def long_route(start: tuple[float, float]) -> list[tuple[float, float]]:
    """About 290 km: north 100 km, east 44 km, south, back west (5 world hours at 60 km/h)."""
    lat, lon = start
    return [(lat + 0.9, lon), (lat + 0.9, lon + 0.5), (lat, lon + 0.5), (lat, lon)]


async def serve(args: argparse.Namespace) -> None:
    from teslalink.simulator import World
    from teslalink.simulator.serve import serve_cloud

    world = World(seed=args.seed, speed=0.0)
    world.auth.access_lifetime_s = 30 * 86_400.0  # tokens outlive any run at speed 60
    account = world.add_account("bench@teslalink.test", "bench")
    cars: list[dict[str, Any]] = []
    for i in range(args.driving):
        start = (37.30 + 0.001 * (i % 200), -121.95 - 0.001 * (i // 200))
        car = world.add_vehicle(account, model="3", battery_level=95.0, location=start)
        car.drive(long_route(start), speed_kph=60.0)
        cars.append({"id": car.id, "vehicle_id": car.vehicle_id, "driving": True})
    charging_serials: set[str] = set()
    for _ in range(args.charging):
        unit = world.add_wall_connector()
        car = world.add_vehicle(account, model="3", battery_level=20.0, charge_limit_soc=90)
        car.plug_into(unit)
        charging_serials.add(unit.serial)
        cars.append({"id": car.id, "vehicle_id": car.vehicle_id, "driving": False})
    for _ in range(args.idle_units):
        world.add_wall_connector()
    token = world.auth.issue(account)["access_token"]

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve_cloud(world) as cloud:
        world.speed = args.speed
        listing = {
            "pid": os.getpid(),
            "cpu": args.cpu,
            "owner_api": cloud.owner_api,
            "streaming": cloud.streaming,
            "token": token,
            "speed": args.speed,
            "cars": cars,
            "units": [
                {"url": s.url, "charging": s.unit.serial in charging_serials} for s in cloud.wall_connectors
            ],
        }
        sys.stdout.write(json.dumps(listing) + "\n")
        sys.stdout.flush()
        await stop.wait()


@dataclass
class Twin:
    """A running twin process and its listing."""

    proc: subprocess.Popen[str]
    listing: dict[str, Any]
    listing_file: str


@contextlib.contextmanager
def twin(cpu: int, *, driving: int, charging: int, idle_units: int, seed: int = 1) -> Iterator[Twin]:
    """Start the twin pinned to `cpu`; stop it (and remove its listing) when the block ends."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "serve", "--cpu", str(cpu),
           "--driving", str(driving), "--charging", str(charging), "--idle-units", str(idle_units),
           "--speed", str(SPEED), "--seed", str(seed)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    listing_file = ""
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first:
            raise SystemExit(f"the twin did not start (exit code {proc.wait(10)})")
        listing = json.loads(first)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(listing, handle)
            listing_file = handle.name
        yield Twin(proc, listing, listing_file)
    finally:
        stop_process(proc)
        if listing_file:
            os.unlink(listing_file)


def stop_process(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --- the load: `python bench/twin.py load KIND LISTING ...` ----------------------------------------


@dataclass
class Window:
    """What completes while the measuring window is open."""

    open: bool = False
    count: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)

    def done(self, started: float, ok: bool, kind: str = "") -> None:
        if not self.open:
            return
        if ok:
            self.count += 1
            self.latencies.append(time.perf_counter() - started)
            if kind:
                self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        else:
            self.errors += 1


async def measure(
    window: Window,
    listing: dict[str, Any],
    warmup_s: float,
    duration_s: float,
    tasks: list[asyncio.Task[None]],
    ready: asyncio.Event | None = None,
) -> dict[str, Any]:
    """Let `tasks` warm up (after `ready`, if given), open the window for `duration_s`, then stop
    them; the window's figures."""
    server_pid, server_core = listing["pid"], listing["cpu"]
    try:
        if ready is not None:
            await asyncio.wait_for(ready.wait(), READY_TIMEOUT_S)
        await asyncio.sleep(warmup_s)
        failed = [t for t in tasks if t.done() and t.exception() is not None]
        if failed:
            raise RuntimeError(f"{len(failed)} load tasks failed during warm-up") from failed[0].exception()
        core0, server0 = core_cpu_s(server_core), proc_cpu_s(server_pid)
        client0, wall0 = time.process_time(), time.perf_counter()
        window.open = True
        await asyncio.sleep(duration_s)
        window.open = False
        core1, server1 = core_cpu_s(server_core), proc_cpu_s(server_pid)
        client1, wall1 = time.process_time(), time.perf_counter()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    wall = wall1 - wall0
    return {
        "count": window.count,
        "errors": window.errors,
        "wall_s": wall,
        "per_s": window.count / wall,
        "server_cpu_s": server1 - server0,
        "server_busy": (server1 - server0) / wall,
        "client_busy": (client1 - client0) / wall,
        # the twin's core busy with anything else (other processes, interrupts), or taken by the host
        "others_on_twin_core": max(0.0, core1[0] - core0[0] - (server1 - server0)) / wall,
        "steal_on_twin_core": (core1[1] - core0[1]) / wall,
        "server_cpu_us_per_item": (server1 - server0) / window.count * 1e6 if window.count else None,
        "p50_ms": percentile_ms(window.latencies, 50),
        "p99_ms": percentile_ms(window.latencies, 99),
        "by_kind": window.by_kind,
    }


def closed_loop(
    op: Callable[[int], Awaitable[bool]], concurrency: int, window: Window
) -> list[asyncio.Task[None]]:
    """`concurrency` workers, each calling op(i) back to back (worker k: i = k, k + c, ...)."""

    async def worker(k: int) -> None:
        i = k
        while True:
            started = time.perf_counter()
            try:
                ok = await op(i)
            except asyncio.CancelledError:
                raise
            except Exception:
                ok = False
            window.done(started, ok)
            i += concurrency

    return [asyncio.create_task(worker(k)) for k in range(concurrency)]


async def load_vehicle_data(listing: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    base = listing["owner_api"]
    urls = [f"{base}api/1/vehicles/{c['id']}/vehicle_data?endpoints={ENDPOINTS}" for c in listing["cars"]]
    headers = {"Authorization": f"Bearer {listing['token']}"}
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def op(i: int) -> bool:
            async with session.get(urls[i % len(urls)]) as response:
                await response.read()
                return response.status == 200

        window = Window()
        tasks = closed_loop(op, args.concurrency, window)
        result = await measure(window, listing, args.warmup, args.duration, tasks)
    result["load"] = f"{len(urls)} cars, {args.concurrency} requests in flight"
    return result


async def load_vitals(listing: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    from teslalink.wallconnector import WallConnector

    clients = [WallConnector(unit["url"]) for unit in listing["units"][: args.units]]
    try:

        async def op(i: int) -> bool:
            await clients[i % len(clients)].vitals()
            return True

        window = Window()
        tasks = closed_loop(op, len(clients), window)  # worker k always polls unit k
        result = await measure(window, listing, args.warmup, args.duration, tasks)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    result["load"] = f"{len(clients)} Wall Connectors, one request at a time each"
    return result


async def load_streaming(listing: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    driving = [c for c in listing["cars"] if c["driving"]][: args.subscriptions]
    window = Window()
    subscribed = 0
    ready = asyncio.Event()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def stream(car: dict[str, Any]) -> None:
            nonlocal subscribed
            async with session.ws_connect(listing["streaming"], max_msg_size=0) as ws:
                await ws.receive()  # control:hello
                subscribe = {"msg_type": "data:subscribe_oauth", "token": listing["token"], "value": COLUMNS}
                await ws.send_str(json.dumps({**subscribe, "tag": str(car["vehicle_id"])}))
                subscribed += 1
                if subscribed == len(driving):
                    ready.set()
                while True:
                    started = time.perf_counter()
                    message = await ws.receive()
                    if message.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                        window.errors += window.open
                        return
                    data = message.data
                    is_update = (b'"data:update"' if isinstance(data, bytes) else '"data:update"') in data
                    window.done(started, is_update)

        tasks = [asyncio.create_task(stream(car)) for car in driving]
        result = await measure(window, listing, args.warmup, args.duration, tasks, ready)
    result["load"] = (
        f"{len(driving)} websockets, one subscription to a driving car each "
        f"(at most 20 updates/s each at 60x: {20 * len(driving):,}/s asked)"
    )
    result["p50_ms"] = result["p99_ms"] = None  # gaps between frames, not latencies
    return result


async def load_steady(listing: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Each device polled on its own schedule in world time (see the module doc, (d))."""
    import aiohttp

    from teslalink.wallconnector import WallConnector

    speed = float(listing["speed"])
    base = listing["owner_api"]
    headers = {"Authorization": f"Bearer {listing['token']}"}
    window = Window()
    rng = random.Random(1)
    units = listing["units"]
    clients = [WallConnector(unit["url"]) for unit in units]
    scheduled_per_s = len(listing["cars"]) * speed / CAR_PERIOD_WORLD_S + sum(
        speed / (CHARGING_UNIT_PERIOD_WORLD_S if u["charging"] else IDLE_UNIT_PERIOD_WORLD_S) for u in units
    )
    connector = aiohttp.TCPConnector(limit=100)
    try:
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

            async def vehicle_data(url: str) -> bool:
                async with session.get(url) as response:
                    await response.read()
                    return response.status == 200

            async def vitals(client: WallConnector) -> bool:
                await client.vitals()
                return True

            async def paced(kind: str, period_s: float, op: Callable[[], Awaitable[bool]]) -> None:
                due = time.perf_counter() + rng.uniform(0.0, period_s)
                while True:
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    started = time.perf_counter()
                    try:
                        ok = await op()
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        ok = False
                    window.done(started, ok, kind)
                    due = max(due + period_s, time.perf_counter())  # late: no burst to catch up

            tasks = []
            for car in listing["cars"]:
                url = f"{base}api/1/vehicles/{car['id']}/vehicle_data?endpoints={ENDPOINTS}"
                op = functools.partial(vehicle_data, url)
                tasks.append(asyncio.create_task(paced("vehicle_data", CAR_PERIOD_WORLD_S / speed, op)))
            for unit, client in zip(units, clients, strict=True):
                period = CHARGING_UNIT_PERIOD_WORLD_S if unit["charging"] else IDLE_UNIT_PERIOD_WORLD_S
                op = functools.partial(vitals, client)
                tasks.append(asyncio.create_task(paced("vitals", period / speed, op)))
            result = await measure(window, listing, args.warmup, args.duration, tasks)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    result["scheduled_per_s"] = scheduled_per_s
    result["answered"] = result["per_s"] / scheduled_per_s
    result["passed"] = bool(
        result["answered"] >= ANSWERED_MIN
        and result["errors"] == 0
        and result["p99_ms"] < P99_LIMIT_MS
        and result["server_busy"] < BUSY_LIMIT
    )
    return result


LOADS: dict[str, Callable[[dict[str, Any], argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]]] = {
    "vehicle_data": load_vehicle_data,
    "vitals": load_vitals,
    "streaming": load_streaming,
    "steady": load_steady,
}


def run_json_child(cmd: list[str], timeout_s: float, what: str) -> dict[str, Any]:
    """Run a benchmark child process and return the JSON it prints; stopped on any failure."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    finally:
        stop_process(proc)
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed (exit code {proc.returncode})")
    return json.loads(out)  # type: ignore[no-any-return]


def split_cpus() -> tuple[int, int]:
    """(the twin's CPU, the clients' CPU); this process moves to the clients' one."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    server_cpu, client_cpu = cpus[0], cpus[1] if len(cpus) > 1 else cpus[0]
    if len(cpus) < 2:
        print("warning: one CPU only: the clients share the twin's core", file=sys.stderr)
    pin(client_cpu)  # the driver only waits, but never on the twin's core
    return server_cpu, client_cpu


def run_load(kind: str, running: Twin, cpu: int, args: argparse.Namespace, **options: Any) -> dict[str, Any]:
    """One load in its own process pinned to `cpu`; its JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "load", kind, running.listing_file,
           "--cpu", str(cpu), "--warmup", str(args.warmup), "--duration", str(args.duration)]  # fmt: skip
    for name, value in options.items():
        cmd += [f"--{name.replace('_', '-')}", str(value)]
    return run_json_child(cmd, args.warmup + args.duration + 60.0, f"the {kind} load")


# --- the report ----------------------------------------------------------------------------------


def main(args: argparse.Namespace) -> None:
    server_cpu, client_cpu = split_cpus()
    started = time.perf_counter()
    results: dict[str, Any] = {"steps": []}
    with twin(server_cpu, driving=STREAMS, charging=50, idle_units=50) as running:
        results["vehicle_data"] = run_load("vehicle_data", running, client_cpu, args, concurrency=32)
        results["vitals"] = run_load("vitals", running, client_cpu, args, units=100)
        results["streaming"] = run_load("streaming", running, client_cpu, args, subscriptions=STREAMS)

    def steady(n: int) -> dict[str, Any]:
        cars = n // 2
        driving, charging = cars // 2, cars - cars // 2
        with twin(server_cpu, driving=driving, charging=charging, idle_units=n - cars - charging) as running:
            step = run_load("steady", running, client_cpu, args)
        step.update(n=n, cars=cars, units=n - cars)
        results["steps"].append(step)
        return step

    largest, smallest_failed = 0, None
    for n in args.steps:
        if not steady(n)["passed"]:
            smallest_failed = n
            break
        largest = n
    for _ in range(args.refine):  # halve the gap between the last pass and the first failure
        if smallest_failed is None:
            break
        n = round((largest + smallest_failed) / 2 / REFINE_GRAIN) * REFINE_GRAIN
        if not largest < n < smallest_failed:
            break
        if steady(n)["passed"]:
            largest = n
        else:
            smallest_failed = n
    results["largest_n"] = largest
    results["runtime_s"] = time.perf_counter() - started
    results["cpus"] = {"server": server_cpu, "client": client_cpu}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "twin.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results) if args.json else report(results, args))


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    kept = f"{results['largest_n']}" if results["largest_n"] else f"< {results['steps'][0]['n']}"
    lines = [
        f"The twin's capacity on one core: twin pinned to CPU {results['cpus']['server']}, clients on CPU "
        f"{results['cpus']['client']}; world speed {SPEED:g}; {args.warmup:g} s warm-up, "
        f"{args.duration:g} s measured",
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, runtime {results['runtime_s']:.0f} s\n",
        "| measurement | load | result | p99 ms | twin core busy | twin core taken by others | "
        "client core busy | twin CPU µs per request |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, name, unit in (
        ("vehicle_data", "(a) vehicle_data", "requests/s"),
        ("vitals", "(b) vitals", "requests/s"),
        ("streaming", "(c) streaming", "updates/s"),
    ):
        r = results[key]
        p99 = "-" if r["p99_ms"] is None else f"{r['p99_ms']:.1f}"
        lines.append(
            f"| {name} | {r['load']} | {r['per_s']:,.0f} {unit} | {p99} | {r['server_busy']:.0%} | "
            f"{taken(r):.0%} | {r['client_busy']:.0%} | {r['server_cpu_us_per_item']:.0f} |"
        )
    lines.append(
        f"| (d) devices kept at 60x | N/2 cars (half driving, half charging) + N/2 Wall Connectors, "
        f"steady poll (below) | N = {kept} | - | - | - | - | - |"
    )
    lines += [
        "",
        f"(d) N/2 cars (half driving, half charging on their own unit) and N/2 Wall Connectors; "
        f"steady load in world time: vehicle_data per car every {CAR_PERIOD_WORLD_S:g} s, vitals per "
        f"charging unit every {CHARGING_UNIT_PERIOD_WORLD_S:g} s and per idle unit every "
        f"{IDLE_UNIT_PERIOD_WORLD_S:g} s (4.5 N requests per real second at 60x); passes with >= "
        f"{ANSWERED_MIN:.0%} answered, p99 < {P99_LIMIT_MS:g} ms, twin core < {BUSY_LIMIT:.0%}",
        "",
        "| N | cars | Wall Connectors | scheduled req/s | answered req/s | errors | p50 ms | p99 ms | "
        "twin core busy | twin core taken by others | twin CPU µs per request | passed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in results["steps"]:
        lines.append(
            f"| {s['n']} | {s['cars']} | {s['units']} | {s['scheduled_per_s']:,.0f} | {s['per_s']:,.0f} | "
            f"{s['errors']} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['server_busy']:.1%} | "
            f"{taken(s):.1%} | {s['server_cpu_us_per_item']:.0f} | {'yes' if s['passed'] else 'no'} |"
        )
    measured = [results[k] for k in ("vehicle_data", "vitals", "streaming")] + results["steps"]
    worst = max(taken(r) for r in measured)
    if worst > SHARED_WARNING:
        lines += [
            "",
            f"warning: the twin's core was not its own (up to {worst:.0%} taken by other processes or "
            "the host): the figures of those windows are lower bounds; run on a quiet machine",
        ]
    return "\n".join(lines)


def taken(result: dict[str, Any]) -> float:
    """Share of the twin's core used by anything but the twin over the window (incl. steal)."""
    return float(result["others_on_twin_core"] + result["steal_on_twin_core"])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--warmup", type=float, default=1.5, help="Seconds before each window.")
    parser.add_argument("--duration", type=float, default=5.0, help="Seconds each window is open.")
    parser.add_argument(
        "--steps",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[100, 250, 500, 1000, 2000],
        help="Values of N for (d), ascending.",
    )
    parser.add_argument(
        "--refine",
        type=int,
        default=2,
        help="Extra steps for (d) between the last pass and the first failure.",
    )
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")

    srv = sub.add_parser("serve", help="(internal) run the twin and print its listing")
    srv.add_argument("--cpu", type=int)
    srv.add_argument("--driving", type=int, default=0)
    srv.add_argument("--charging", type=int, default=0)
    srv.add_argument("--idle-units", type=int, default=0)
    srv.add_argument("--speed", type=float, default=SPEED)
    srv.add_argument("--seed", type=int, default=1)

    load = sub.add_parser("load", help="(internal) run one load against a running twin")
    load.add_argument("kind", choices=sorted(LOADS))
    load.add_argument("listing")
    load.add_argument("--cpu", type=int)
    load.add_argument("--warmup", type=float, default=1.5)
    load.add_argument("--duration", type=float, default=5.0)
    load.add_argument("--concurrency", type=int, default=32)
    load.add_argument("--units", type=int, default=100)
    load.add_argument("--subscriptions", type=int, default=STREAMS)
    return parser.parse_args()


def entry() -> None:
    args = parse_args()
    if args.command == "serve":
        pin(args.cpu)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args))
    elif args.command == "load":
        pin(args.cpu)
        listing = json.loads(Path(args.listing).read_text())
        try:
            print(json.dumps(asyncio.run(LOADS[args.kind](listing, args))))
        except KeyboardInterrupt:
            sys.exit(130)
    else:
        signal.signal(signal.SIGTERM, _interrupted)  # so the children are stopped on a kill too
        try:
            main(args)
        except KeyboardInterrupt:
            print("interrupted; the twin and the clients are stopped", file=sys.stderr)
            sys.exit(130)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    entry()
