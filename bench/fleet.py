"""Signed commands over the Fleet API: teslalink.cloud.vcp against tesla-fleet-api 1.5.0, same twin.

    python bench/fleet.py [--cars 100] [--commands 500] [--rounds 5] [--processes 10]
                          [--per-process 10] [--json]

The twin (`serve`, below: `serve_cloud` of a world at speed 1 with `fleet_surfaces`: fleet-auth
and the three regional hosts) runs in its own process pinned to one CPU. One account in the na
region holds `--cars` Model 3s that require signed commands and never fall asleep during a run;
two partner keys, made afresh for the run (ours and the peer's), are paired with every car
(`simulator.fleet.pair`: "the owner tapped approve"). Each client runs in a fresh process of its
own pinned to the other CPU, against the na host with a twin-minted user token (no login, no
region discovery: the peer's OAuth URLs are Tesla's own, research/fleet.md 3.2).

Ours: what users call, `Vehicle.set_charging_amps` / `lock` / `unlock` over one `FleetApi` (na host,
a StaticToken) with a `VcpSigner` (sessions in a `SessionCache` file): `routing.route_command`,
`actions.build`, `dispatch.send_command` over `fleet_transport.FleetTransport`, all cars on the
FleetApi's signed-command transport, the lean keep-alive pool `teslalink._pool_http.PoolTransport`
(no proxy is set). The peer: `TeslaFleetApi(session, access_token=..., server=<na host>)`,
`get_private_key(path)` and `vehicles.createSigned(vin)`, unchanged, on one aiohttp session of its
own. Both ask for encrypted responses (FLAG_ENCRYPT_RESPONSE). (1) and (2) also run ours without
the session cache ("ours without the session cache" rows), to show what its writes cost (the whole
file rewritten with two fsyncs, in a thread, batched across sessions: once per handshake batch and
per block of COUNTER_RESERVATION counters). (1) also runs `teslalink.cloud.vcp` alone (`Vcp`:
send_command over FleetTransport on a PoolTransport, no Vehicle, FleetApi or routing), to show
what the layers above it cost.

(1) client CPU per signed command: one car, its sessions made first (outside the window), then
    `--commands` commands one after the other, half `set_charging_amps` (infotainment), half
    door lock/unlock (VCSEC), each awaited before the next. `time.process_time()` around them:
    the whole client process's CPU, user + system, all its threads: building, signing and
    encoding the message, the HTTP POST and the answer through the HTTP client and the event
    loop, the reply's verification and decryption, and for ours the session cache's writes (one
    per COUNTER_RESERVATION counters, in a thread). The twin's CPU is in its own process and is
    not counted.
    `--rounds` rounds, the clients in turn (the order reversed every other round), each in a
    fresh process; the median round is shown. For reference, the same loop of bare POSTs (a body
    of random bytes the size of a signed command, answered 400 before any car) on aiohttp
    (`BareHttp`, the peer's HTTP client) and on our pool (`BarePool`): what each HTTP client alone
    costs per request, the floor under each client.
(2) one signed command (`set_charging_amps`) per car to all `--cars` cars, wall time, from a
    fresh process with no session: one handshake per car, then the command. Both concurrent:
    `asyncio.gather` over the cars (ours over one FleetApi; the peer's API is async too, one
    `createSigned` vehicle per car on one aiohttp session). Then WARM_ROUNDS more rounds with the
    sessions held, their median shown (the first of them often pays a full garbage collection of
    what the cold round left). Median of `--rounds` fresh processes each.
(3) `--processes` fresh processes one after the other (a cron job's pattern), each sending one
    `set_charging_amps` to each of the same `--per-process` cars (100 commands in all by
    default). Ours with one on-disk session cache (`vcp.session.SessionCache`) shared by the
    processes; the peer has none (its sessions live in memory). Handshakes are counted by the
    twin: every RoutableMessage that reaches a car is read there, a handshake being one with a
    `session_info_request` (a bench-side counter wrapped around each car's `handle` in the twin
    process; the twin's code is unchanged).
(4) billable requests: the twin's own billing counters (`world.accounting`, by category: data,
    command, wake, streaming_signal), read before and after each phase. A handshake is a
    `signed_command` POST and billed as a command (research/fleet.md 1.9).

Results as JSON: bench/results/fleet.json. All child processes are stopped at the end, also on
Ctrl-C, SIGTERM or an error. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from twin import pin, proc_cpu_s, run_json_child, split_cpus, stop_process  # noqa: E402  (bench/ is not a package)

EMAIL = "fleet-bench@teslalink.test"
CLIENT_TIMEOUT_S = 120.0
CALL_BUDGET_S = 30.0  # a hang guard for one command (the peer's calls have no deadline of their own)
TARGET_CPU_RATIO = 2.0
PEER = "tesla-fleet-api 1.5.0"
NEVER_SLEEP_S = 30 * 86_400.0
WARM_ROUNDS = 3
BARE_BODY_BYTES = 200  # about a signed set_charging_amps RoutableMessage


# --- the twin: `python bench/fleet.py serve --keys A.pem B.pem ...` -------------------------------


def public_point(pem_path: str) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(Path(pem_path).read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def count_messages(world: Any, counts: Counter[str]) -> None:
    """Count, per car domain, the RoutableMessages that reach the cars and the handshakes among them.

    Bench-side: each car's `CarSecurity.handle` is wrapped on its instance (the twin's code is as
    it is); the Fleet API host calls it once per `signed_command` that reaches the car.
    """
    from tesla_protocol.command import universal_message_pb2

    from teslalink.simulator.fleet import security_of

    names = {2: "vcsec", 3: "infotainment"}

    def wrap(handle: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
        def counted(message: bytes) -> bytes:
            parsed = universal_message_pb2.RoutableMessage.FromString(message)
            domain = names.get(int(parsed.to_destination.domain), "other")
            kind = "handshake" if parsed.HasField("session_info_request") else "command"
            counts[f"{kind}s_{domain}"] += 1
            return handle(message)

        return counted

    for car in world.vehicles:
        security = security_of(car)
        security.handle = wrap(security.handle)


async def serve(args: argparse.Namespace) -> None:
    from aiohttp import web

    from teslalink.simulator import World
    from teslalink.simulator.fleet import FleetUrls, fleet_surfaces, pair, populate_fleet_demo
    from teslalink.simulator.fleet.serve import fleet_user_token
    from teslalink.simulator.serve import serve_cloud

    world = World(seed=args.seed, speed=1.0)  # real time: both clients date commands by time.time()
    account = world.add_account(EMAIL, "bench")
    populate_fleet_demo(world)  # the demo partner app, registered in every region
    points = [public_point(path) for path in args.keys]
    vins = []
    for _ in range(args.cars):
        car = world.add_vehicle(
            account, model="3", signed_commands_required=True, idle_sleep_s=NEVER_SLEEP_S, battery_level=50.0
        )
        for point in points:
            pair(world, car.vin, point)
        vins.append(car.vin)
    counts: Counter[str] = Counter()
    count_messages(world, counts)

    async def counters(request: web.Request) -> web.Response:
        billed = world.accounting.snapshot()
        return web.json_response({"billed": billed["totals"], "unbilled_5xx": billed["unbilled_5xx"],
                                  "messages": dict(counts)})  # fmt: skip

    bench_app = web.Application()
    bench_app.router.add_get("/counters", counters)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve_cloud(world, surfaces=fleet_surfaces(world), extra_apps={"bench": bench_app}) as cloud:
        urls = FleetUrls.of(cloud.extra)
        listing = {
            "pid": os.getpid(),
            "api": urls.api["na"],
            "counters": cloud.extra["bench"] + "counters",
            "token": fleet_user_token(world, account),
            "vins": vins,
        }
        sys.stdout.write(json.dumps(listing) + "\n")
        sys.stdout.flush()
        await stop.wait()


@contextlib.contextmanager
def fleet_twin(cpu: int, cars: int, keys: list[Path], seed: int = 1) -> Iterator[dict[str, Any]]:
    """Start the Fleet twin pinned to `cpu`; its listing (URLs, token, VINs) until the block ends."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "serve", "--cpu", str(cpu), "--cars", str(cars),
           "--seed", str(seed), "--keys", *map(str, keys)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first:
            raise SystemExit(f"the twin did not start (exit code {proc.wait(10)})")
        yield json.loads(first)
    finally:
        stop_process(proc)


def read_counters(listing: dict[str, Any]) -> dict[str, Any]:
    with urllib.request.urlopen(listing["counters"], timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def counted(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the twin counted between two readings: billed requests by category, messages at the cars."""
    billed = {k: after["billed"][k] - before["billed"].get(k, 0) for k in after["billed"]}
    messages = {k: v - before["messages"].get(k, 0) for k, v in after["messages"].items()}
    handshakes = sum(v for k, v in messages.items() if k.startswith("handshakes_"))
    return {
        "billed": billed,
        "billed_total": sum(billed.values()),
        "unbilled_5xx": after["unbilled_5xx"] - before["unbilled_5xx"],
        "messages": messages,
        "handshakes": handshakes,
        "commands_at_cars": sum(v for k, v in messages.items() if k.startswith("commands_")),
    }


# --- the clients: one `send(vin, step)` each, over one HTTP session -------------------------------


_CATALOGUE = {"set_charging_amps": "CHARGING_AMPS", "door_lock": "LOCK", "door_unlock": "UNLOCK"}
"""The bench's command names, as the catalogue names them."""


class Ours:
    """What users call: `Vehicle.set_charging_amps` / `lock` / `unlock` over a `FleetApi` with a
    `VcpSigner` (sessions in a `SessionCache` file, or none), one FleetApi for all cars."""

    def __init__(self, listing: dict[str, Any], key_file: str, cache_file: str | None) -> None:
        from teslalink.cloud.fleet.api import FleetApi
        from teslalink.cloud.fleet.hosts import FleetHosts
        from teslalink.cloud.fleet.signer import VcpSigner
        from teslalink.cloud.provider import StaticToken
        from teslalink.cloud.vcp.keys import PartnerKey
        from teslalink.cloud.vcp.session import SessionCache
        from teslalink.cloud.vehicle import Vehicle

        cache = SessionCache(cache_file) if cache_file else None
        signer = VcpSigner(PartnerKey.load(key_file), cache, app_domain="bench.example")
        hosts = FleetHosts(api={"na": listing["api"]}, auth=listing["api"])
        self._api = FleetApi(hosts, StaticToken(listing["token"]), region="na", signer=signer)
        self._cars = {  # a summary as `vehicles` lists it (no request: the bench times commands only)
            vin: Vehicle(
                self._api, {"id": n + 1, "vin": vin, "command_signing": "required", "state": "online"}
            )
            for n, vin in enumerate(listing["vins"])
        }

    async def send(self, vin: str, command: tuple[str, int]) -> bool:
        name, value = command
        car = self._cars[vin]
        if name == "set_charging_amps":
            result = await car.set_charging_amps(value)
        else:
            result = await (car.lock() if name == "door_lock" else car.unlock())
        return result.answer.get("result") is True or result.already

    async def close(self) -> None:
        await self._api.close()


class Vcp:
    """teslalink.cloud.vcp alone, under the Vehicle layer: Sessions (+ cache), send_command,
    FleetTransport, on the pool transport FleetApi uses for signed commands."""

    def __init__(self, listing: dict[str, Any], key_file: str, cache_file: str | None) -> None:
        from teslalink._pool_http import PoolTransport
        from teslalink.cloud.provider import StaticToken
        from teslalink.cloud.vcp.actions import build
        from teslalink.cloud.vcp.dispatch import send_command
        from teslalink.cloud.vcp.fleet_transport import FleetTransport
        from teslalink.cloud.vcp.keys import PartnerKey
        from teslalink.cloud.vcp.session import SessionCache, Sessions

        self._build, self._send_command = build, send_command
        self._http = PoolTransport()
        cache = SessionCache(cache_file) if cache_file else None
        self._sessions = Sessions(PartnerKey.load(key_file), cache)
        tokens = StaticToken(listing["token"])
        self._transports = {
            vin: FleetTransport(self._http, listing["api"], vin, tokens) for vin in listing["vins"]
        }

    async def send(self, vin: str, command: tuple[str, int]) -> bool:
        name, value = command
        payload = self._build(_CATALOGUE[name], {"charging_amps": value})
        domain = payload.domain
        result = await self._send_command(self._sessions.session(vin, domain), payload, self._transports[vin])
        return result.ok

    async def close(self) -> None:
        await self._http.close()


class Peer:
    """tesla-fleet-api 1.5.0 as its users call it: TeslaFleetApi, get_private_key, createSigned."""

    def __init__(self, listing: dict[str, Any]) -> None:
        self._listing = listing
        self._vehicles: dict[str, Any] = {}
        self._session: Any = None

    async def open(self, key_file: str) -> None:
        import aiohttp
        from tesla_fleet_api import TeslaFleetApi

        self._session = aiohttp.ClientSession()
        api = TeslaFleetApi(
            self._session, access_token=self._listing["token"], server=self._listing["api"].rstrip("/")
        )
        await api.get_private_key(key_file)
        self._vehicles = {vin: api.vehicles.createSigned(vin) for vin in self._listing["vins"]}

    async def send(self, vin: str, command: tuple[str, int]) -> bool:
        name, value = command
        vehicle = self._vehicles[vin]
        call = vehicle.set_charging_amps(value) if name == "set_charging_amps" else getattr(vehicle, name)()
        try:
            reply = await call
        except BaseException as exc:  # the peer's exceptions derive from BaseException, not Exception
            if isinstance(exc, (KeyboardInterrupt, SystemExit, asyncio.CancelledError)):
                raise
            raise RuntimeError(f"{PEER}: {type(exc).__name__}: {exc}") from None
        return bool(reply["response"]["result"])

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class BareHttp:
    """For reference: a bare aiohttp POST of a same-size body and its answer, no protocol at all.

    The body is random bytes in base64 (about a signed command's size), so the twin answers 400
    before any car: what the HTTP client alone costs per request, the floor of both clients.
    """

    def __init__(self, listing: dict[str, Any]) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession()
        self._headers = {"Authorization": f"Bearer {listing['token']}"}
        self._api = listing["api"]
        self._body = {"routable_message": base64.b64encode(os.urandom(BARE_BODY_BYTES)).decode()}

    async def send(self, vin: str, command: tuple[str, int]) -> bool:
        url = f"{self._api}api/1/vehicles/{vin}/signed_command"
        async with self._session.post(url, json=self._body, headers=self._headers) as response:
            await response.read()
            return response.status == 400

    async def close(self) -> None:
        await self._session.close()


class BarePool(BareHttp):
    """The same bare POST on teslalink's pool transport (`_pool_http.PoolTransport`): our floor."""

    def __init__(self, listing: dict[str, Any]) -> None:
        from teslalink._pool_http import PoolTransport

        self._pool = PoolTransport()
        self._headers = {"Authorization": f"Bearer {listing['token']}"}
        self._api = listing["api"]
        self._body = {"routable_message": base64.b64encode(os.urandom(BARE_BODY_BYTES)).decode()}

    async def send(self, vin: str, command: tuple[str, int]) -> bool:
        from yarl import URL

        url = URL(f"{self._api}api/1/vehicles/{vin}/signed_command")
        response = await self._pool.request("POST", url, headers=self._headers, json_body=self._body)
        return response.status == 400

    async def close(self) -> None:
        await self._pool.close()


async def make_client(which: str, listing: dict[str, Any], key_file: str, cache_file: str | None) -> Any:
    if which == "aiohttp":
        return BareHttp(listing)
    if which == "pool":
        return BarePool(listing)
    if which == "ours":
        return Ours(listing, key_file, cache_file)
    if which == "vcp":
        return Vcp(listing, key_file, cache_file)
    peer = Peer(listing)
    await peer.open(key_file)
    return peer


async def bounded(call: Awaitable[bool]) -> bool:
    async with asyncio.timeout(CALL_BUDGET_S):
        return await call


def mixed(i: int) -> tuple[str, int]:
    """Command i of (1): even ones set the amps (infotainment), odd ones lock or unlock (VCSEC)."""
    if i % 2 == 0:
        return ("set_charging_amps", 6 + (i // 2) % 26)
    return ("door_lock" if (i // 2) % 2 else "door_unlock", 0)


def amps(i: int) -> tuple[str, int]:
    return ("set_charging_amps", 6 + i % 26)


# --- (1) `python bench/fleet.py cpu ours|peer LISTING KEY --commands N` --------------------------


async def cpu_round(
    which: str, listing: dict[str, Any], key_file: str, commands: int, cache: str
) -> dict[str, Any]:
    client = await make_client(which, listing, key_file, cache)
    vin = listing["vins"][0]
    try:
        for i in range(4):  # both domains' sessions, and the first of everything, outside the window
            if not await bounded(client.send(vin, mixed(i))):
                raise RuntimeError(f"{which}: warm-up command {i} refused")
        ok = 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(commands):
            ok += await bounded(client.send(vin, mixed(i)))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        await client.close()
    if ok != commands:
        raise RuntimeError(f"{which}: {commands - ok} of {commands} commands refused")
    return {
        "commands": commands,
        "cpu_us_per_command": cpu / commands * 1e6,
        "wall_ms_per_command": wall / commands * 1e3,
    }


# --- (2) `python bench/fleet.py fleet ours|peer LISTING KEY` ---------------------------------------


async def fleet_round(which: str, listing: dict[str, Any], key_file: str, cache: str) -> dict[str, Any]:
    """One command to every car from a fresh process (a handshake each), then WARM_ROUNDS more
    rounds with the sessions held; the warm figures are their medians (the first warm round often
    pays a full garbage collection of what the cold round left behind, in either client)."""
    cpu0 = time.process_time()
    client = await make_client(which, listing, key_file, cache)
    setup_cpu = time.process_time() - cpu0
    vins = listing["vins"]
    out: dict[str, Any] = {"cars": len(vins), "setup_cpu_ms": setup_cpu * 1e3}
    walls: list[float] = []
    cpus: list[float] = []
    try:
        for step in range(1 + WARM_ROUNDS):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            results = await asyncio.gather(
                *(bounded(client.send(vin, amps(step + n))) for n, vin in enumerate(vins))
            )
            walls.append((time.perf_counter() - wall0) * 1e3)
            cpus.append((time.process_time() - cpu0) / len(vins) * 1e6)
            if not all(results):
                raise RuntimeError(
                    f"{which} round {step}: {results.count(False)} of {len(vins)} cars refused"
                )
    finally:
        await client.close()
    out.update(
        cold_wall_ms=walls[0], cold_cpu_us_per_car=cpus[0], warm_walls_ms=walls[1:], warm_cpus_us=cpus[1:]
    )
    out.update(warm_wall_ms=statistics.median(walls[1:]), warm_cpu_us_per_car=statistics.median(cpus[1:]))
    return out


# --- (3) `python bench/fleet.py spread ours|peer LISTING KEY --cache FILE --cars N` ----------------


async def spread_process(
    which: str, listing: dict[str, Any], key_file: str, cache: str, cars: int, index: int
) -> dict[str, Any]:
    client = await make_client(which, listing, key_file, cache)
    vins = listing["vins"][:cars]
    try:
        results = await asyncio.gather(
            *(bounded(client.send(vin, amps(index + n))) for n, vin in enumerate(vins))
        )
    finally:
        await client.close()
    if not all(results):
        raise RuntimeError(f"{which}: {results.count(False)} of {cars} commands refused")
    return {"commands": cars}


# --- the driver ---------------------------------------------------------------------------------


def make_keys(folder: Path) -> dict[str, Path]:
    """A fresh P-256 key for each client (SEC1 PEM, which both read); the twin pairs both."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    keys = {}
    for which in ("ours", "peer"):
        private = ec.generate_private_key(ec.SECP256R1())
        path = folder / f"{which}.pem"
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        path.chmod(0o600)
        keys[which] = path
    return keys


CLIENTS = ("ours", "ours_nocache", "peer")
"""ours_nocache: our stack without the on-disk session cache, to show what the cache's writes cost."""
CPU_CLIENTS = (*CLIENTS, "vcp", "aiohttp", "pool")
"""(1) also runs the vcp layer alone and the two bare POSTs (aiohttp's and our pool's)."""


class Driver:
    """Runs each client in a fresh process pinned to the clients' CPU and reads the twin's counters."""

    def __init__(self, listing: dict[str, Any], listing_file: Path, keys: dict[str, Path], cpu: int) -> None:
        self.listing, self.listing_file, self.keys, self.cpu = listing, listing_file, keys, cpu
        self.work = listing_file.parent

    def child(self, phase: str, which: str, *options: str, cache: str = "") -> dict[str, Any]:
        client = "ours" if which == "ours_nocache" else which
        key = self.keys["peer" if which == "peer" else "ours"]
        cmd = [sys.executable, str(Path(__file__).resolve()), phase, client, str(self.listing_file),
               str(key), "--cpu", str(self.cpu), "--cache", cache, *options]  # fmt: skip
        return run_json_child(cmd, CLIENT_TIMEOUT_S, f"{phase} {which}")

    def fresh_cache(self, which: str) -> str:
        """A new, empty session cache file for ours; "" (none) for the others."""
        return str(self.work / f"sessions-{time.monotonic_ns()}.json") if which in ("ours", "vcp") else ""

    def counted_run(self, phase: str, which: str, *options: str, cache: str | None = None) -> dict[str, Any]:
        """One child's result, with what the twin counted while it ran (requests, messages, twin CPU)."""
        before, twin_cpu = read_counters(self.listing), proc_cpu_s(self.listing["pid"])
        result = self.child(phase, which, *options, cache=self.fresh_cache(which) if cache is None else cache)
        result["twin"] = counted(before, read_counters(self.listing))
        result["twin"]["twin_cpu_s"] = proc_cpu_s(self.listing["pid"]) - twin_cpu
        return result


def median_by(rounds: list[dict[str, Any]], key: str) -> dict[str, Any]:
    ordered = sorted(rounds, key=lambda r: r[key])
    return ordered[len(ordered) // 2]


def main(args: argparse.Namespace) -> None:
    server_cpu, client_cpu = split_cpus()
    started = time.perf_counter()
    results: dict[str, Any] = {"cpus": {"server": server_cpu, "client": client_cpu}, "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="teslalink-fleet-bench-") as folder:
        work = Path(folder)
        keys = make_keys(work)
        with fleet_twin(server_cpu, args.cars, [keys["ours"], keys["peer"]]) as listing:
            listing_file = work / "listing.json"
            listing_file.write_text(json.dumps(listing))
            results.update(run_phases(Driver(listing, listing_file, keys, client_cpu), args))
    results["runtime_s"] = time.perf_counter() - started
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "fleet.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results) if args.json else report(results, args))


def alternating(rounds: int, clients: tuple[str, ...] = CLIENTS) -> Iterator[str]:
    """The clients in turn, the order reversed every other round (so drift hits all alike)."""
    for i in range(rounds):
        yield from clients if i % 2 == 0 else reversed(clients)


def run_phases(driver: Driver, args: argparse.Namespace) -> dict[str, Any]:
    cpu: dict[str, list[dict[str, Any]]] = {which: [] for which in CPU_CLIENTS}
    for which in alternating(args.rounds, CPU_CLIENTS):
        cpu[which].append(driver.counted_run("cpu", which, "--commands", str(args.commands)))
    fleet: dict[str, list[dict[str, Any]]] = {which: [] for which in CLIENTS}
    for which in alternating(args.rounds):
        fleet[which].append(driver.counted_run("fleet", which))
    out: dict[str, Any] = {}
    for which, rounds in cpu.items():
        out[f"cpu_{which}"] = {"rounds": rounds, "median": median_by(rounds, "cpu_us_per_command")}
    for which in CLIENTS:
        out[f"fleet_{which}"] = {"rounds": fleet[which], "median": median_by(fleet[which], "cold_wall_ms")}
    for which in ("ours", "peer"):  # (3): ours with one cache shared by the processes, the peer without
        cache = driver.fresh_cache(which)
        before = read_counters(driver.listing)
        for p in range(args.processes):
            driver.child(
                "spread", which, "--per-process", str(args.per_process), "--index", str(p), cache=cache
            )
        out[f"spread_{which}"] = {
            "commands": args.processes * args.per_process,
            **counted(before, read_counters(driver.listing)),
        }
    return out


# --- the report ----------------------------------------------------------------------------------


def row(name: str, ours: float, peer: float, fmt: str = "{:,.0f}") -> str:
    """A row where lower is better; the ratio is peer / ours (> 1: teslalink better)."""
    ratio = f"{peer / ours:.2f}x" if ours else "-"
    return f"| {name} | {fmt.format(ours)} | {fmt.format(peer)} | {ratio} |"


def billed(phase: dict[str, Any]) -> str:
    """A phase's billable requests as the twin counted them, by category (only those > 0)."""
    found = {k: v for k, v in phase["billed"].items() if v}
    return ", ".join(f"{v} {k}" for k, v in sorted(found.items())) or "none"


def report(results: dict[str, Any], args: argparse.Namespace) -> str:
    cpu = {w: results[f"cpu_{w}"]["median"] for w in CLIENTS}
    fleet = {w: results[f"fleet_{w}"]["median"] for w in CLIENTS}
    spread = {w: results[f"spread_{w}"] for w in ("ours", "peer")}
    ratio = cpu["peer"]["cpu_us_per_command"] / cpu["ours"]["cpu_us_per_command"]
    floor = results["cpu_aiohttp"]["median"]["cpu_us_per_command"]
    pool_floor = results["cpu_pool"]["median"]["cpu_us_per_command"]
    vcp = results["cpu_vcp"]["median"]["cpu_us_per_command"]
    cars, n = fleet["ours"]["cars"], cpu["ours"]["commands"]
    spread_n = spread["ours"]["commands"]

    def both(metric: str, key: str, table: dict[str, dict[str, Any]], fmt: str = "{:,.0f}") -> list[str]:
        return [
            row(metric, table["ours"][key], table["peer"][key], fmt),
            row(
                f"{metric}, ours without the session cache",
                table["ours_nocache"][key],
                table["peer"][key],
                fmt,
            ),
        ]

    lines = [
        f"Signed commands over the Fleet API: teslalink.cloud.vcp against {PEER} on the same twin (CPU "
        f"{results['cpus']['server']}, world speed 1, {cars} paired cars); each client in a fresh process on "
        f"CPU {results['cpus']['client']}",
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, runtime {results['runtime_s']:.0f} s; "
        f"(1) and (2): median of {args.rounds} rounds\n",
        f"| metric | teslalink | {PEER} | ratio (>1 = teslalink better) |",
        "|---|---|---|---|",
        *both(
            f"(1) client CPU µs per signed command ({n} one after another, half amps, half lock/unlock)",
            "cpu_us_per_command",
            cpu,
        ),
        row(
            "(1) the same, `teslalink.cloud.vcp` alone (send_command over FleetTransport, no Vehicle, "
            "FleetApi or routing)",
            vcp,
            cpu["peer"]["cpu_us_per_command"],
        ),
        f"| (1) for reference: a bare POST of a {BARE_BODY_BYTES}-byte body in base64 and its answer, no "
        f"signing: on our pool transport (teslalink) and on aiohttp (the peer's) | {pool_floor:,.0f} | "
        f"{floor:,.0f} | {floor / pool_floor:.2f}x |",
        row(
            "(1) wall ms per command",
            cpu["ours"]["wall_ms_per_command"],
            cpu["peer"]["wall_ms_per_command"],
            "{:.2f}",
        ),
        *both(
            f"(2) wall ms: one command to each of {cars} cars from a fresh process (a handshake each), "
            "concurrent",
            "cold_wall_ms",
            fleet,
            "{:,.1f}",
        ),
        row(
            f"(2) wall ms: one more command to each of the {cars} cars (sessions held), median of "
            f"{WARM_ROUNDS}",
            fleet["ours"]["warm_wall_ms"],
            fleet["peer"]["warm_wall_ms"],
            "{:,.1f}",
        ),
        *both("(2) client CPU µs per car, first command (handshake + command)", "cold_cpu_us_per_car", fleet),
        row(
            "(2) client CPU µs per car, later command (sessions held)",
            fleet["ours"]["warm_cpu_us_per_car"],
            fleet["peer"]["warm_cpu_us_per_car"],
        ),
        row(
            f"(3) handshakes for {spread_n} commands over {args.processes} fresh processes "
            f"({args.per_process} cars each; ours: session cache, the peer has none)",
            spread["ours"]["handshakes"],
            spread["peer"]["handshakes"],
        ),
        row(
            f"(4) billable requests for (1): {n + 4} commands, 4 of them warm-up",
            cpu["ours"]["twin"]["billed_total"],
            cpu["peer"]["twin"]["billed_total"],
        ),
        row(
            f"(4) billable requests for (2): {(1 + WARM_ROUNDS) * cars} commands",
            fleet["ours"]["twin"]["billed_total"],
            fleet["peer"]["twin"]["billed_total"],
        ),
        row(
            f"(4) billable requests for (3): {spread_n} commands",
            spread["ours"]["billed_total"],
            spread["peer"]["billed_total"],
        ),
        "",
        f"Target (1), client CPU at most half the peer's: "
        f"{'met' if ratio >= TARGET_CPU_RATIO else 'NOT met'} "
        f"({ratio:.2f}x). Billable requests: the twin's counters by category, e.g. (3) ours "
        f"{billed(spread['ours'])}, peer {billed(spread['peer'])} (a handshake is a billed signed_command "
        f"POST); handshakes: the session-info requests that reached the cars.",
    ]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--cars", type=int, default=100)
    parser.add_argument("--commands", type=int, default=500, help="Commands timed in each (1) round.")
    parser.add_argument("--rounds", type=int, default=5, help="Rounds of (1) and (2), alternating ours/peer.")
    parser.add_argument("--processes", type=int, default=10, help="Fresh processes in (3).")
    parser.add_argument(
        "--per-process", type=int, default=10, help="Commands (one per car) per process in (3)."
    )
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")

    srv = sub.add_parser("serve", help="(internal) run the Fleet twin and print its listing")
    srv.add_argument("--cpu", type=int)
    srv.add_argument("--cars", type=int, default=100)
    srv.add_argument("--seed", type=int, default=1)
    srv.add_argument("--keys", nargs="+", required=True)

    for name in ("cpu", "fleet", "spread"):
        child = sub.add_parser(name, help=f"(internal) one client's ({name}) phase")
        child.add_argument("client", choices=["ours", "vcp", "peer", "aiohttp", "pool"])
        child.add_argument("listing")
        child.add_argument("key")
        child.add_argument("--cpu", type=int)
        child.add_argument("--cache", default="")
        child.add_argument("--commands", type=int, default=500)
        child.add_argument("--per-process", type=int, default=10)
        child.add_argument("--index", type=int, default=0)
    return parser.parse_args()


def run_client(args: argparse.Namespace) -> dict[str, Any]:
    listing = json.loads(Path(args.listing).read_text())
    cache = args.cache or None
    if args.command == "cpu":
        return asyncio.run(cpu_round(args.client, listing, args.key, args.commands, cache))
    if args.command == "fleet":
        return asyncio.run(fleet_round(args.client, listing, args.key, cache))
    return asyncio.run(spread_process(args.client, listing, args.key, cache, args.per_process, args.index))


def entry() -> None:
    args = parse_args()
    if args.command == "serve":
        pin(args.cpu)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args))
    elif args.command in ("cpu", "fleet", "spread"):
        pin(args.cpu)
        try:
            print(json.dumps(run_client(args)))
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
