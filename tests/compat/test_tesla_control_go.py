"""Compat: Tesla's own Go tools of github.com/teslamotors/vehicle-command, unchanged, against the twin.

`tesla-control` (the CLI) and `tesla-http-proxy` (the REST-to-signed-command proxy an owner may
run) are built from the module pinned in tools/go (go.mod + go.sum: vehicle-command v0.4.1) into
a temporary directory, once per test session; Go's own caches make a rebuild take seconds.
Why `go build` from a pinned module and not `go install ...@v0.4.1`: `go install pkg@version`
also looks up the module's version list to report a deprecation, and a proxy that refuses that
list (as this project's build machine's does) makes it fail; `go build` inside a module whose
go.sum pins every module's hash needs only the pinned versions and builds the same binary everywhere.

The tools reach the twin without any change or flag of their own: they take the host from the
token's `aud`/`ou_code` claims (fleet-api.prd.na.vn.cloud.tesla.com for a na account), and Go's
standard `HTTPS_PROXY` and `SSL_CERT_FILE` send them through the twin's CONNECT proxy to an HTTPS
listener with the twin CA's certificate for that name (teslalink.simulator.fleet.tls). The
proxy tunnels only the Fleet names, so nothing leaves loopback. Their environment is built from
nothing (HOME a temp dir), so neither a real keyring nor the caller's proxy settings leak in.

Pairing is the owner's tap in the Tesla app; here `pair` whitelists the demo app's key, which the
test writes as the key file the tools sign with. Without a Go toolchain on PATH the tests are
reported as not run; on the CI machine and the build machine Go is present, so they run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from teslalink.simulator import World, populate_demo
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.fleet import FleetUrls, fleet_state, fleet_surfaces, pair, populate_fleet_demo
from teslalink.simulator.fleet.car_actions import DOMAIN_INFOTAINMENT, DOMAIN_VCSEC
from teslalink.simulator.fleet.car_security import security_of
from teslalink.simulator.fleet.demo import demo_private_key
from teslalink.simulator.fleet.serve import fleet_user_token
from teslalink.simulator.fleet.tls import TlsAccess, fleet_upstreams, issue_certificates, serve_tls_access
from teslalink.simulator.serve import serve_cloud
from teslalink.simulator.vehicle.car import Car

TOOLS_GO: Final = Path(__file__).resolve().parents[2] / "tools" / "go"
MODULE: Final = "github.com/teslamotors/vehicle-command"
PACKAGES: Final = (MODULE + "/cmd/tesla-control", MODULE + "/cmd/tesla-http-proxy")
PINNED: Final = "v0.4.1"
GO_DIRS: Final = ("GOPATH", "GOCACHE", "GOMODCACHE")
BUILD_TIMEOUT_S: Final = 900.0  # a hang guard: a first build fetches ~25 modules and compiles them
GO_ENV_TIMEOUT_S: Final = 60.0
RUN_TIMEOUT_S: Final = 60.0  # a hang guard: one run is a few loopback round trips
PROXY_POLL_S: Final = 0.1
PROXY_POLLS: Final = 300  # with RUN_TIMEOUT_S: how long tesla-http-proxy may take to listen
START: Final = 1_700_000_000.0


# --- building tesla-control --------------------------------------------------------------------


def _writable(path: str) -> bool:
    """Whether Go could create or write `path` (its nearest existing ancestor is writable)."""
    if not path or not os.path.isabs(path):
        return False
    candidate = Path(path)
    while not candidate.exists():
        candidate = candidate.parent
    return os.access(candidate, os.W_OK)


def go_environment(go: str) -> dict[str, str]:
    """The caller's environment, with GOPATH, GOCACHE and GOMODCACHE moved to a temp dir that is
    reused between runs when Go's defaults are unset or not writable (a CI user without HOME)."""
    env = dict(os.environ)
    reported = json.loads(
        subprocess.run(
            [go, "env", "-json", *GO_DIRS],
            env=env,
            cwd=TOOLS_GO,
            capture_output=True,
            text=True,
            timeout=GO_ENV_TIMEOUT_S,
            check=True,
        ).stdout
    )
    fallback = Path(tempfile.gettempdir()) / f"teslalink-go-{os.getuid()}"
    moved = [name for name in GO_DIRS if not _writable(str(reported.get(name, "")))]
    for name in moved:
        env[name] = str(fallback / name.lower())
    if moved:  # a module cache in the temp dir stays deletable (Go makes it read-only otherwise)
        env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -modcacherw").strip()
    return env


def built_version(go: str, binary: Path, env: dict[str, str]) -> str | None:
    """The vehicle-command version compiled into `binary` (from its embedded build info)."""
    info = subprocess.run(
        [go, "version", "-m", str(binary)],
        env=env,
        capture_output=True,
        text=True,
        timeout=GO_ENV_TIMEOUT_S,
        check=True,
    )
    for line in info.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] in ("mod", "dep") and fields[1] == MODULE:  # mod: the command's own
            return fields[2]
    return None


@dataclass(frozen=True)
class GoTools:
    """The two binaries, built from the pinned module."""

    tesla_control: Path
    http_proxy: Path


@pytest.fixture(scope="session")
def go_tools(tmp_path_factory: pytest.TempPathFactory) -> GoTools:
    """tesla-control and tesla-http-proxy built from tools/go (its go.mod and go.sum never edited)."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("not run: no Go toolchain (`go` is not on PATH); needs Go 1.23+ and the Go module proxy")
    out = tmp_path_factory.mktemp("go-tools")
    env = go_environment(go)
    build = subprocess.run(
        [go, "build", "-mod=readonly", "-buildvcs=false", "-o", f"{out}{os.sep}", *PACKAGES],
        env=env,
        cwd=TOOLS_GO,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,  # a failed build fails the tests with Go's own message
    )
    if build.returncode != 0:
        pytest.fail(f"go build of Tesla's Go tools failed (exit {build.returncode}): {build.stderr[-2000:]}")
    tools = GoTools(out / "tesla-control", out / "tesla-http-proxy")
    for binary in (tools.tesla_control, tools.http_proxy):
        assert built_version(go, binary, env) == PINNED
    return tools


# --- the twin --------------------------------------------------------------------------------


def point_of(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    """The key as tesla-keygen writes one: a SEC 1 "EC PRIVATE KEY" PEM."""
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


@dataclass
class Twin:
    """The served demo world behind Tesla's real names, and demo1's car paired with the app's key."""

    world: World
    access: TlsAccess
    home: Path
    binary: Path
    key_file: Path
    token_file: Path

    @property
    def car(self) -> Car:
        return self.world.vehicles_of(self.world.account("demo1@teslalink.test"))[0]

    @property
    def commands_billed(self) -> int:
        """The twin's count of billed command POSTs to this car (signed_command, handshakes too)."""
        return self.world.accounting.by_vehicle.get(self.car.id, {}).get(BillingCategory.COMMAND, 0)

    def counter(self, domain: int) -> int:
        """The highest signed-command counter the car accepted from the app's key in `domain`."""
        point = point_of(demo_private_key(self.world))
        window = security_of(self.car).domains[domain].windows.get(point)
        return 0 if window is None else window.high

    async def run(
        self,
        *command: str,
        key_file: Path | None = None,
        vin: str | None = None,
        token_file: Path | None = None,
    ) -> tuple[int, str]:
        """tesla-control COMMAND against the twin (demo1's car by default): its exit code and stderr."""
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.home), **self.access.environ()}
        process = await asyncio.create_subprocess_exec(
            str(self.binary),
            "-vin",
            vin or self.car.vin,
            "-key-file",
            str(key_file or self.key_file),
            "-token-file",
            str(token_file or self.token_file),
            "-session-cache",
            str(self.home / "tesla-cache.json"),
            *command,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(RUN_TIMEOUT_S):
                _, err = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode is not None
        return process.returncode, err.decode(errors="replace")

    async def succeed(self, *command: str) -> None:
        code, err = await self.run(*command)
        assert code == 0, f"tesla-control {' '.join(command)} exited {code}: {err[-2000:]}"


@pytest.fixture
async def twin(go_tools: GoTools, tmp_path: Path) -> AsyncIterator[Twin]:
    world = World(seed=11, speed=0.0, start=START)  # the clock stands still: nothing expires mid-test
    populate_demo(world)
    populate_fleet_demo(world)
    account = world.account("demo1@teslalink.test")
    app_key = demo_private_key(world)
    pair(world, world.vehicles_of(account)[0].vin, point_of(app_key))
    token_file = tmp_path / "token"
    token_file.write_text(fleet_user_token(world, account))  # every scope, like a full consent
    token_file.chmod(0o600)
    home = tmp_path / "home"
    home.mkdir()
    async with (
        serve_cloud(world, surfaces=fleet_surfaces(world)) as cloud,
        serve_tls_access(fleet_upstreams(FleetUrls.of(cloud.extra)), tmp_path / "tls") as access,
    ):
        yield Twin(
            world,
            access,
            home,
            go_tools.tesla_control,
            write_key(tmp_path / "app-key.pem", app_key),
            token_file,
        )


# --- the tests -------------------------------------------------------------------------------


async def test_tesla_control_sets_the_charging_amps_and_locks_the_car(twin: Twin) -> None:
    assert twin.car.port.current_request != 12

    await twin.succeed("charging-set-amps", "12")
    assert set(twin.access.tunnels) == {"fleet-api.prd.na.vn.cloud.tesla.com"}  # from the token's claims
    assert twin.car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 12
    assert twin.commands_billed == 3  # a handshake with each domain, then the signed command
    assert twin.counter(DOMAIN_INFOTAINMENT) >= 1

    await twin.succeed("unlock")
    assert twin.car.closures.locked is False
    await twin.succeed("lock")
    assert twin.car.closures.locked is True
    assert twin.commands_billed == 5  # tesla-control's session cache: no handshake again
    assert twin.counter(DOMAIN_VCSEC) >= 2


async def test_an_unpaired_key_is_told_it_is_not_paired(twin: Twin, tmp_path: Path) -> None:
    stranger = write_key(tmp_path / "stranger.pem", ec.generate_private_key(ec.SECP256R1()))
    twin.car.closures.locked = False

    code, err = await twin.run("lock", key_file=stranger)
    assert code == 1
    assert "your public key has not been paired with the vehicle" in err
    assert twin.car.closures.locked is False


async def test_a_cn_accounts_token_takes_tesla_control_to_the_cn_host(twin: Twin, tmp_path: Path) -> None:
    account = twin.world.account("demo3@teslalink.test")  # ou_code CN: fleet-api.prd.cn.vn.cloud.tesla.cn
    car = twin.world.vehicles_of(account)[0]
    pair(twin.world, car.vin, point_of(demo_private_key(twin.world)))
    token_file = tmp_path / "cn-token"
    token_file.write_text(fleet_user_token(twin.world, account))
    car.closures.locked = False

    code, err = await twin.run("lock", vin=car.vin, token_file=token_file)
    assert code == 0, err[-2000:]
    assert car.closures.locked is True
    assert set(twin.access.tunnels) == {"fleet-api.prd.cn.vn.cloud.tesla.cn"}  # straight there: no 421


async def test_an_account_in_another_region_follows_the_421_to_its_host(twin: Twin) -> None:
    # The token says NA (tesla-control picks the na host from it); the account now lives in eu.
    fleet_state(twin.world).set_home_region(twin.world.account("demo1@teslalink.test"), "eu")

    await twin.succeed("charging-set-amps", "9")
    assert twin.car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 9
    assert set(twin.access.tunnels) == {
        "fleet-api.prd.na.vn.cloud.tesla.com",
        "fleet-api.prd.eu.vn.cloud.tesla.com",
    }


# --- tesla-http-proxy ------------------------------------------------------------------------


def free_loopback_port() -> int:
    """A port free on loopback just now (tesla-http-proxy takes a port number, not a socket)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class HttpProxy:
    """A running tesla-http-proxy and a client that trusts its TLS certificate."""

    base_url: str
    session: aiohttp.ClientSession
    tls: ssl.SSLContext
    token: str

    async def call(self, method: str, path: str, body: dict[str, object] | None = None) -> tuple[int, object]:
        async with (
            asyncio.timeout(RUN_TIMEOUT_S),
            self.session.request(
                method,
                self.base_url + path,
                json=body,
                ssl=self.tls,
                headers={"Authorization": f"Bearer {self.token}"},
            ) as response,
        ):
            return response.status, await response.json(content_type=None)


async def wait_listening(base_url: str, session: aiohttp.ClientSession, tls: ssl.SSLContext) -> None:
    """Until the proxy answers its health check (bounded in polls and in time)."""
    async with asyncio.timeout(RUN_TIMEOUT_S):
        for _ in range(PROXY_POLLS):
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with session.get(base_url + "health", ssl=tls) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(PROXY_POLL_S)
    pytest.fail("tesla-http-proxy never answered its health check")


@pytest.fixture
async def http_proxy(go_tools: GoTools, twin: Twin, tmp_path: Path) -> AsyncIterator[HttpProxy]:
    """tesla-http-proxy on localhost (its own TLS certificate), signing with the app's key; it
    reaches the twin the way tesla-control does."""
    ca_file, cert_file, key_file = issue_certificates(["localhost"]).write(tmp_path / "proxy-tls")
    port = free_loopback_port()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(twin.home), **twin.access.environ()}
    with (tmp_path / "http-proxy.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            str(go_tools.http_proxy),
            "-cert",
            str(cert_file),
            "-tls-key",
            str(key_file),
            "-key-file",
            str(twin.key_file),
            "-port",
            str(port),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        tls = ssl.create_default_context(cafile=ca_file)
        async with aiohttp.ClientSession() as session:
            base_url = f"https://localhost:{port}/"
            await wait_listening(base_url, session, tls)
            yield HttpProxy(base_url, session, tls, twin.token_file.read_text())
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(RUN_TIMEOUT_S):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


OK: Final = {"response": {"result": True, "reason": ""}}


async def test_tesla_http_proxy_signs_rest_commands_for_the_twins_car(
    twin: Twin, http_proxy: HttpProxy
) -> None:
    vin = twin.car.vin
    assert twin.car.port.current_request != 10

    reply = await http_proxy.call(
        "POST", f"api/1/vehicles/{vin}/command/set_charging_amps", {"charging_amps": 10}
    )
    assert reply == (200, OK)
    assert twin.car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 10

    assert await http_proxy.call("POST", f"api/1/vehicles/{vin}/command/door_unlock") == (200, OK)
    assert twin.car.closures.locked is False
    assert await http_proxy.call("POST", f"api/1/vehicles/{vin}/command/door_lock") == (200, OK)
    assert twin.car.closures.locked is True
    assert twin.counter(DOMAIN_INFOTAINMENT) >= 1
    assert twin.counter(DOMAIN_VCSEC) >= 2


async def test_tesla_http_proxy_forwards_reads_and_follows_the_alt_svc_of_a_421(
    twin: Twin, http_proxy: HttpProxy
) -> None:
    status, body = await http_proxy.call("GET", "api/1/vehicles")
    assert status == 200
    assert twin.car.vin in json.dumps(body)

    fleet_state(twin.world).set_home_region(twin.world.account("demo1@teslalink.test"), "eu")
    status, body = await http_proxy.call("GET", f"api/1/vehicles/{twin.car.vin}")
    assert status == 200  # the na host answered 421; the proxy went to the Alt-Svc host
    assert isinstance(body, dict)
    assert body["response"]["vin"] == twin.car.vin
