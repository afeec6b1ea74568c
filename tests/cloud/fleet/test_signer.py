"""VcpSigner over the served twin: the REST-shaped answer, NotPaired, and sessions that outlive a process.

Handshakes are billed Fleet API requests, so a second process must sign at once with the session
the first one left on disk; the proof is the twin's own billing counter (and the statuses each
process heard). A process killed with SIGKILL while it handshakes leaves a cache file that reads.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from signer_twin import SignerTwin, demo_world, served

import teslalink
from teslalink.cloud.fleet.signer import NotPaired, VcpSigner
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.session import SessionCache, Sessions, default_session_cache_path
from teslalink.errors import ConfigError
from teslalink.simulator.fleet import DEMO_APP
from teslalink.simulator.vehicle.car import Car

CHILD = Path(__file__).with_name("signer_child.py")
ACCOUNT = "demo1@teslalink.test"


@pytest.fixture
async def twin() -> Any:
    async with served(demo_world()) as running:
        yield running


async def test_the_answer_has_the_rest_shape(twin: SignerTwin) -> None:
    car = twin.car()
    signer = VcpSigner(twin.paired_key(car), app_domain=DEMO_APP.domain)
    assert signer.supports("charging_amps")
    assert not signer.supports("WAKE_UP")
    assert await twin.send(signer, car, "CHARGING_AMPS", {"charging_amps": 14}) == {
        "result": True,
        "reason": "",
    }
    assert await twin.send(signer, car, "STOP_CHARGE") == {"result": True, "reason": ""}
    assert await twin.send(signer, car, "STOP_CHARGE") == {"result": False, "reason": "not_charging"}


async def test_an_unpaired_key_raises_not_paired_with_the_link(twin: SignerTwin) -> None:
    car = twin.car()
    signer = VcpSigner(twin.paired_key(), app_domain=DEMO_APP.domain)  # approved on no car
    statuses: list[int] = []
    with pytest.raises(NotPaired) as caught:
        await twin.send(signer, car, "LOCK", statuses=statuses)
    link = f"https://tesla.com/_ak/{DEMO_APP.domain}?vin={car.vin}"
    assert (caught.value.vin, caught.value.link) == (car.vin, link)
    assert link in str(caught.value)
    assert statuses == [200]  # the handshake told us (KEY_NOT_ON_WHITELIST); no command was sent


def test_sessions_of_another_key_are_refused() -> None:
    from teslalink.cloud.vcp.keys import PartnerKey

    with pytest.raises(ConfigError, match="another key"):
        VcpSigner(PartnerKey.generate(), Sessions(PartnerKey.generate()), app_domain=DEMO_APP.domain)


def child_env(twin: SignerTwin, car: Car, key_path: Path, command: list[Any]) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(Path(teslalink.__file__).parents[1]),
        "SIGNER_KEY": str(key_path),
        "SIGNER_ACCOUNT": ACCOUNT,
        "SIGNER_DOMAIN": DEMO_APP.domain,
        "SIGNER_URL": twin.urls.api["na"],
        "SIGNER_VIN": car.vin,
        "SIGNER_TOKEN": twin.bearer(car.account),
        "SIGNER_COMMAND": json.dumps(command),
    }


async def run_child(env: dict[str, str]) -> dict[str, Any]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        "once",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):  # a hang guard only
        out, err = await child.communicate()
    assert child.returncode == 0, err.decode()[-2000:]
    return dict(json.loads(out))


async def test_a_second_process_signs_with_the_first_ones_session(twin: SignerTwin, tmp_path: Path) -> None:
    car = twin.car()
    key = twin.paired_key(car)
    key.save(tmp_path / "key.pem")

    before = twin.billed_commands()
    first = await run_child(
        child_env(twin, car, tmp_path / "key.pem", ["CHARGING_AMPS", {"charging_amps": 10}])
    )
    assert first == {"answer": {"result": True, "reason": ""}, "statuses": [200, 200]}
    assert twin.billed_commands() - before == 2  # the handshake and the command

    second = await run_child(
        child_env(twin, car, tmp_path / "key.pem", ["CHARGING_AMPS", {"charging_amps": 11}])
    )
    assert second == {"answer": {"result": True, "reason": ""}, "statuses": [200]}
    assert twin.billed_commands() - before == 3  # no handshake in the second process
    assert car.port.current_request == 11

    cache = default_session_cache_path(ACCOUNT)  # XDG_CONFIG_HOME is the test's own (conftest)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert SessionCache(cache).load(car.vin, Domain.INFOTAINMENT, key.public_bytes()) is not None


def readable_cache(path: Path) -> bool:
    """The file is absent or a whole session cache (json, our format), never a torn write."""
    if not path.exists():
        return True
    document = json.loads(path.read_bytes())
    return document.get("format") == 1 and isinstance(document.get("sessions"), dict)


async def test_a_process_killed_while_it_handshakes_leaves_a_valid_cache(
    twin: SignerTwin, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    car = twin.car()
    key = twin.paired_key(car)
    key.save(tmp_path / "key.pem")
    env = child_env(twin, car, tmp_path / "key.pem", ["HONK_HORN", {}])
    cache = default_session_cache_path(ACCOUNT)
    for attempt in range(3):
        before = twin.billed_commands()
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CHILD),
            "handshakes",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        # kill it just after the twin answered a handshake (odd counts: handshake, command, ...),
        # while it checks the session info and writes the cache
        target = before + 5 + 2 * attempt
        async with asyncio.timeout(120):  # a hang guard only
            while twin.billed_commands() < target:  # noqa: ASYNC110 - the twin's counter has no event
                await asyncio.sleep(0.001)
        child.send_signal(signal.SIGKILL)
        await child.wait()
        assert child.returncode == -signal.SIGKILL
        assert readable_cache(cache)
    caplog.clear()
    SessionCache(cache).load(car.vin, Domain.INFOTAINMENT, key.public_bytes())
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_a_cache_write_cut_short_leaves_the_last_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The atomic-write proof: a process that dies before its rename leaves the old file whole."""
    from teslalink.cloud.vcp.keys import PartnerKey
    from teslalink.cloud.vcp.session import SessionState

    key, path = PartnerKey.generate(), tmp_path / "sessions.json"
    cache = SessionCache(path)
    state = SessionState(b"e" * 16, 5, 100, 0.0, key.public_bytes())
    cache.store("5YJ3E1EA1KF000001", Domain.INFOTAINMENT, key.public_bytes(), state)
    whole = path.read_bytes()

    def killed(*args: object) -> None:
        raise SystemExit("killed before the rename")

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(SystemExit):
        cache.store("5YJ3E1EA1KF000001", Domain.INFOTAINMENT, key.public_bytes(), None)
    assert path.read_bytes() == whole
    assert [p.name for p in tmp_path.iterdir()] == ["sessions.json"]  # the temporary file is gone too
