"""Issue 10 section 5 through the CLI, table-driven, against the served twin: each fault gives one
clear line on stderr and exit 1 (or succeeds, where the protocol recovers), and what must not be
sent twice is not, by the Fleet hosts' own count of what reached them.

kill -9 during a refresh and during a handshake are tested at library level
(tests/cloud/fleet/test_oauth_processes.py, test_signer.py); here one killed `charge amps` checks
that the files the CLI keeps are still valid afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fleet_mode_twin import (  # noqa: F401 - the fixture
    DEMO1,
    DEMO2,
    Served,
    error_line,
    invoke,
    served_fixture,
)

import teslalink
from teslalink.cloud.fleet.tokens import SECTION
from teslalink.cloud.vcp.session import SessionCache, default_session_cache_path
from teslalink.simulator import scenario
from teslalink.simulator.fleet import DEMO_APP
from teslalink.simulator.fleet import scenario as fleet_scenario
from teslalink.simulator.fleet.demo import demo_private_key
from teslalink.simulator.fleet.faults import inject_fault
from teslalink.simulator.fleet.regions import ALL_SCOPES
from teslalink.simulator.fleet.state import authority_of
from teslalink.simulator.vehicle.car import Car

REAR_TRUNK = ("command", "ACTUATE_TRUNK", "which_trunk=rear")
FRONT_TRUNK = ("command", "ACTUATE_TRUNK", "which_trunk=front")
AMPS = ("charge", "amps", "12")


def rear_trunk(car: Car) -> int:
    """The liftgate toggles: a command run twice would leave it where it was."""
    return int(car.closures.open["rt"])


# --- the situations -------------------------------------------------------------------------------


def paired(served: Served) -> None:
    served.log_in()
    served.pair(served.car())


def with_a_session(served: Served) -> None:
    """Logged in, paired, and one signed command already run (the session is on disk)."""
    paired(served)
    assert invoke(*FRONT_TRUNK).exit_code == 0


def key_file_holding(data: bytes) -> Callable[[Served], None]:
    def setup(served: Served) -> None:
        served.log_in()
        served.key_file.write_bytes(data)

    return setup


def _pem(private: Any) -> bytes:
    return bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def _public_pem() -> bytes:
    return bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def another_key_paired(served: Served) -> None:
    """The owner approved the app's registered key; our key file holds another one."""
    served.log_in()
    registered = served.twin.call(demo_private_key, served.world)
    from teslalink.cloud.vcp.keys import PartnerKey

    served.pair(served.car(), key=PartnerKey(registered))
    served.key()  # a key of our own in the key file, paired with no car


def without_command_scopes(served: Served) -> None:
    scopes = tuple(s for s in ALL_SCOPES if not s.endswith("_cmds"))
    served.log_in(scopes=scopes)
    served.pair(served.car())


def in_another_region(served: Served) -> None:
    served.log_in(DEMO2, region="na")  # the file says na: demo2 lives in eu
    served.pair(served.car(DEMO2))


def asleep(served: Served) -> None:
    paired(served)
    vin = served.car().vin
    served.twin.call(scenario.unplug, served.world, vin)
    served.twin.call(scenario.fall_asleep, served.world, vin)


def rebooted(served: Served) -> None:
    with_a_session(served)
    served.twin.call(fleet_scenario.reboot, served.world, served.car().vin)


def clock_ahead(served: Served) -> None:
    with_a_session(served)
    served.twin.call(fleet_scenario.skew_clock, served.world, served.car().vin, 300)


def reply_lost(served: Served) -> None:
    with_a_session(served)
    served.twin.call(inject_fault, served.world, "na", "lost_reply", vin=served.car().vin, requests=1)


def rate_limited(served: Served) -> None:
    paired(served)
    served.twin.call(inject_fault, served.world, "na", "rate_limit", requests=50, retry_after=120)


def refresh_retired(served: Served) -> None:
    """The access token expired, and its refresh token was used elsewhere and is past its grace."""
    served.log_in()
    entry = served.fleet_entry()

    def retire() -> None:
        authority = authority_of(served.world)
        authority.refresh_grace_s = -1.0
        authority.refresh(entry["refresh_token"], client_id=DEMO_APP.client_id, scope=None)

    served.twin.call(retire)
    served.store.save_section(DEMO1, SECTION, {**entry, "expires_at": entry["expires_at"] - 86_400})


# --- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    setup: Callable[[Served], None]
    args: tuple[str, ...]
    words: tuple[str, ...]
    """Words of the one error line (exit 1), or of the success line (exit 0) when `ok`."""
    ok: bool = False
    sent: dict[str, int] = field(default_factory=dict)
    """What reached the Fleet hosts during the command: route (or `@region`) -> count."""
    rear_trunk: int | None = None
    """How often the liftgate moved (the command ran that many times)."""


CORRUPT_PEM = b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"
NOT_A_KEY = ("is not a PEM private key",)
CASES = [
    Case("corrupt key file", key_file_holding(CORRUPT_PEM), AMPS, NOT_A_KEY),
    Case("garbage key file", key_file_holding(b"\x00\x01\x02 not a key"), AMPS, NOT_A_KEY),
    Case("a public key, not a private one", key_file_holding(_public_pem()), AMPS, NOT_A_KEY),
    Case("a P-384 key", key_file_holding(_pem(ec.generate_private_key(ec.SECP384R1()))), AMPS,
         ("Tesla's protocol needs P-256",)),
    Case("an RSA key", key_file_holding(_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))),
         AMPS, ("not an elliptic-curve key",)),
    Case("a key that is not the paired one", another_key_paired, REAR_TRUNK,
         ("is not paired with this app's key", f"https://tesla.com/_ak/{DEMO_APP.domain}?vin="),
         sent={"signed_command": 1}, rear_trunk=0),
    Case("a token without the command scopes", without_command_scopes, AMPS,
         ("vehicle_", "teslalink fleet login"), sent={"signed_command": 1}),
    Case("a token of another region", in_another_region, AMPS, ("charge amps 12 done",), ok=True,
         sent={"@na": 1, "signed_command": 2}),  # one 421, then eu: the handshake and the command
    Case("a car asleep", asleep, REAR_TRUNK, ("asleep", "teslalink wake"), sent={"wake_up": 0}, rear_trunk=0),
    Case("a car that rebooted", rebooted, REAR_TRUNK, ("ACTUATE_TRUNK done",), ok=True,
         sent={"signed_command": 2}, rear_trunk=1),
    Case("a car clock minutes ahead", clock_ahead, REAR_TRUNK, ("ACTUATE_TRUNK done",), ok=True,
         sent={"signed_command": 2}, rear_trunk=1),
    Case("a reply lost after the car ran it", reply_lost, REAR_TRUNK, ("may have run it", "not sent again"),
         sent={"signed_command": 1}, rear_trunk=1),
    Case("a 429 storm", rate_limited, AMPS, ("429", "120")),
    Case("a refresh token retired", refresh_retired, ("vehicles",), ("teslalink fleet login",), sent={}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_fault_is_one_line_and_nothing_is_sent_twice(served: Served, case: Case) -> None:
    case.setup(served)
    before = served.heard.copy()
    result = invoke(*case.args)
    if case.ok:
        assert result.exit_code == 0, result.output
        assert all(w in result.stdout for w in case.words), result.stdout
    else:
        line = error_line(result)
        assert all(w in line for w in case.words), line
    sent = served.heard - before
    for route, count in case.sent.items():
        assert sent[route] == count, (route, dict(sent))
    if not case.sent and not case.ok and "key" in case.name:
        assert served.sent() == 0  # a bad key file is said before anything is sent
    if case.rear_trunk is not None:
        assert rear_trunk(served.car(DEMO1)) == case.rear_trunk


def test_the_region_a_421_taught_is_used_by_the_next_process(served: Served) -> None:
    in_another_region(served)
    assert invoke(*AMPS).exit_code == 0
    assert served.fleet_entry(DEMO2)["region"] == "eu"
    before = served.heard.copy()
    assert invoke("charge", "amps", "13").exit_code == 0
    sent = served.heard - before
    assert sent["@na"] == 0  # straight to eu
    assert sent["@eu"] > 0
    assert served.car(DEMO2).port.current_request == 13


def test_after_a_429_the_next_process_sends_nothing_during_the_cooldown(served: Served) -> None:
    rate_limited(served)
    first = error_line(invoke(*AMPS))
    assert "120" in first
    before = served.sent()
    again = error_line(invoke(*AMPS))
    assert "not sent, cooling down after a 429" in again
    assert served.sent() == before
    cooldowns = json.loads(served.token_file.with_name("cooldowns.json").read_text())
    assert set(cooldowns) == {served.urls.api["na"].split("//")[1].rstrip("/")}


def test_the_cost_of_charge_amps_is_in_the_ledger(served: Served) -> None:
    paired(served)
    result = invoke(*AMPS)
    assert result.exit_code == 0, result.output
    assert served.ledger() == served.billed()  # the handshake and the command, as the twin billed them
    assert served.ledger()["commands"] == 2


def test_a_killed_charge_amps_leaves_valid_files(served: Served) -> None:
    """SIGKILL while `teslalink charge amps` runs: the token file, the session cache and the ledger
    still read, and the next command works."""
    paired(served)
    env = {**os.environ, "PYTHONPATH": str(Path(teslalink.__file__).parents[1])}
    for wait_s in (0.3, 0.4, 0.5, 0.6):  # killed at different points of its run (about 0.6 s)
        child = subprocess.Popen(
            [sys.executable, "-m", "teslalink", *AMPS],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            child.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    assert json.loads(served.token_file.read_text())[DEMO1][SECTION]["access_token"]
    served.ledger()  # reads (a ConfigError otherwise)
    cache = default_session_cache_path(DEMO1)
    if cache.exists():
        assert json.loads(cache.read_text())
        assert SessionCache(cache).path == cache
    result = invoke("charge", "amps", "14")
    assert result.exit_code == 0, result.output
    assert served.car().port.current_request == 14
