"""Compat: Tesla's own Go client, `tesla-control` of github.com/teslamotors/vehicle-command, unchanged.

The binary is built from the module pinned in tools/go (go.mod + go.sum: vehicle-command v0.4.1)
into a temporary directory, once per test session; Go's own caches make a rebuild take seconds.
Why `go build` from a pinned module and not `go install ...@v0.4.1`: `go install pkg@version`
also looks up the module's newest version to report a deprecation, and a proxy that refuses the
version list (as this project's build machine's does) makes it fail; `go build` inside a module
whose go.sum pins every byte needs only the pinned versions, and builds the same binary everywhere.

tesla-control reaches the twin without any change or flag of its own: it takes its host from the
token's `aud`/`ou_code` claims (fleet-api.prd.na.vn.cloud.tesla.com for a na account), and Go's
standard `HTTPS_PROXY` and `SSL_CERT_FILE` send it through the twin's CONNECT proxy to an HTTPS
listener with the twin CA's certificate for that name (teslalink.simulator.fleet.tls). The
proxy tunnels only the Fleet names, so nothing leaves loopback. Its environment is built from
nothing (HOME a temp dir), so neither a real keyring nor the caller's proxy settings leak in.

Pairing is the owner's tap in the Tesla app; here `pair` whitelists the demo app's key, which the
test writes as the key file tesla-control signs with. Without a Go toolchain on PATH the tests
are reported as not run; on the CI machine and the build machine Go is present, so they run.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

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
from teslalink.simulator.fleet.tls import TlsAccess, fleet_upstreams, serve_tls_access
from teslalink.simulator.serve import serve_cloud
from teslalink.simulator.vehicle.car import Car

TOOLS_GO: Final = Path(__file__).resolve().parents[2] / "tools" / "go"
MODULE: Final = "github.com/teslamotors/vehicle-command"
PACKAGE: Final = MODULE + "/cmd/tesla-control"
PINNED: Final = "v0.4.1"
GO_DIRS: Final = ("GOPATH", "GOCACHE", "GOMODCACHE")
BUILD_TIMEOUT_S: Final = 900.0  # a hang guard: a first build fetches ~25 modules and compiles them
GO_ENV_TIMEOUT_S: Final = 60.0
RUN_TIMEOUT_S: Final = 60.0  # a hang guard: one run is a few loopback round trips
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
    for name in GO_DIRS:
        if not _writable(str(reported.get(name, ""))):
            env[name] = str(fallback / name.lower())
    # The module cache stays deletable by the user (Go makes it read-only otherwise).
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


@pytest.fixture(scope="session")
def tesla_control(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tesla-control built from tools/go (the committed pins; go.mod and go.sum are never edited)."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("not run: no Go toolchain (`go` is not on PATH); needs Go 1.23+ and the Go module proxy")
    binary = tmp_path_factory.mktemp("tesla-control") / "tesla-control"
    env = go_environment(go)
    build = subprocess.run(
        [go, "build", "-mod=readonly", "-buildvcs=false", "-o", str(binary), PACKAGE],
        env=env,
        cwd=TOOLS_GO,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,  # a failed build fails the tests with Go's own message
    )
    if build.returncode != 0:
        pytest.fail(f"go build of tesla-control failed (exit {build.returncode}): {build.stderr[-2000:]}")
    assert built_version(go, binary, env) == PINNED
    return binary


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

    async def run(self, *command: str, key_file: Path | None = None) -> tuple[int, str]:
        """tesla-control COMMAND against the twin: its exit code and its stderr."""
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.home), **self.access.environ()}
        process = await asyncio.create_subprocess_exec(
            str(self.binary),
            "-vin",
            self.car.vin,
            "-key-file",
            str(key_file or self.key_file),
            "-token-file",
            str(self.token_file),
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
async def twin(tesla_control: Path, tmp_path: Path) -> AsyncIterator[Twin]:
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
            world, access, home, tesla_control, write_key(tmp_path / "app-key.pem", app_key), token_file
        )


# --- the tests -------------------------------------------------------------------------------


async def test_tesla_control_sets_the_charging_amps_and_locks_the_car(twin: Twin) -> None:
    charge = twin.car.port
    assert charge.current_request != 12

    await twin.succeed("charging-set-amps", "12")
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


async def test_an_account_in_another_region_follows_the_421_to_its_host(twin: Twin) -> None:
    # The token says NA (tesla-control picks the na host from it); the account now lives in eu.
    fleet_state(twin.world).set_home_region(twin.world.account("demo1@teslalink.test"), "eu")

    await twin.succeed("charging-set-amps", "9")
    assert twin.car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 9
