"""Sessions: Tesla's handshake vector, the session-info rules, counters, and the on-disk cache."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from vcp_car_mirror import MirrorCar
from vcp_vectors import (
    CLIENT_KEY_PEM,
    HANDSHAKE_UUID,
    SESSION_CLOCK_TIME,
    SESSION_COUNTER,
    SESSION_EPOCH,
    SESSION_INFO,
    SESSION_INFO_TAG,
    VEHICLE_POINT,
    VIN,
    K,
)

import teslalink._files
import teslalink.cloud.vcp.session
from teslalink.cloud.vcp import messages
from teslalink.cloud.vcp.actions import build
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.faults import KeyNotPaired, SessionInfoRejected, VcpError
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import (
    COUNTER_RESERVATION,
    REQUEST_UUID_WINDOW,
    DomainSession,
    SessionCache,
    Sessions,
    default_session_cache_path,
)
from teslalink.errors import ConfigError


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client_key() -> PartnerKey:
    return PartnerKey.from_pem(CLIENT_KEY_PEM)


def _session(key: PartnerKey, clock: FakeClock, domain: Domain = Domain.INFOTAINMENT) -> DomainSession:
    return Sessions(key, clock=clock, app_domain="example.com").session(VIN, domain)


def _handshake(session: DomainSession, car: MirrorCar) -> None:
    request = messages.handshake_request(session)
    messages.parse_handshake_reply(session, request, car.answer_handshake(request.message))


def test_tesla_handshake_vector_is_accepted(client_key: PartnerKey) -> None:
    clock = FakeClock()
    session = _session(client_key, clock)
    session.remember_request_uuid(HANDSHAKE_UUID)
    state = session.verify_session_info(SESSION_INFO_TAG, HANDSHAKE_UUID, SESSION_INFO)
    assert (state.counter, state.epoch, state.clock_time) == (
        SESSION_COUNTER,
        SESSION_EPOCH,
        SESSION_CLOCK_TIME,
    )
    assert state.vehicle_public_key == VEHICLE_POINT
    assert state.clock_offset == clock.now - SESSION_CLOCK_TIME
    assert session.shared_key() == K
    assert session.expires_at(10) == SESSION_CLOCK_TIME + 10


def test_a_bad_tag_is_refused_and_changes_nothing(client_key: PartnerKey) -> None:
    session = _session(client_key, FakeClock())
    session.remember_request_uuid(HANDSHAKE_UUID)
    bad = bytes([SESSION_INFO_TAG[0] ^ 1]) + SESSION_INFO_TAG[1:]
    with pytest.raises(SessionInfoRejected, match="tag"):
        session.verify_session_info(bad, HANDSHAKE_UUID, SESSION_INFO)
    with pytest.raises(SessionInfoRejected):  # the right tag over altered session info
        session.verify_session_info(SESSION_INFO_TAG, HANDSHAKE_UUID, SESSION_INFO[:-1] + b"\x01")
    assert session.state is None


def test_session_info_for_a_uuid_we_did_not_send_or_long_ago_is_refused(client_key: PartnerKey) -> None:
    clock = FakeClock()
    session = _session(client_key, clock)
    with pytest.raises(SessionInfoRejected, match="did not send"):
        session.verify_session_info(SESSION_INFO_TAG, HANDSHAKE_UUID, SESSION_INFO)
    session.remember_request_uuid(HANDSHAKE_UUID)
    clock.now += REQUEST_UUID_WINDOW + 1
    with pytest.raises(SessionInfoRejected, match="did not send"):
        session.verify_session_info(SESSION_INFO_TAG, HANDSHAKE_UUID, SESSION_INFO)
    assert session.state is None


def test_the_same_session_info_is_accepted_once(client_key: PartnerKey) -> None:
    session = _session(client_key, FakeClock())
    session.remember_request_uuid(HANDSHAKE_UUID)
    session.verify_session_info(SESSION_INFO_TAG, HANDSHAKE_UUID, SESSION_INFO)
    with pytest.raises(SessionInfoRejected):
        session.verify_session_info(SESSION_INFO_TAG, HANDSHAKE_UUID, SESSION_INFO)


def test_counters_never_decrease_within_an_epoch_and_restart_with_a_new_one(client_key: PartnerKey) -> None:
    clock = FakeClock()
    car = MirrorCar(VIN, Domain.INFOTAINMENT, counter=6)
    session = _session(client_key, clock)
    _handshake(session, car)
    taken = [session.next_counter() for _ in range(5)]
    assert taken == [7, 8, 9, 10, 11]
    car.clock_time += 5  # the car still believes 6: a late or replayed session info must not roll us back
    _handshake(session, car)
    assert session.state is not None
    assert session.state.counter == 11
    assert session.next_counter() == 12
    car.reboot()  # new epoch, counter 0: adopted as the car says
    _handshake(session, car)
    assert session.state.counter == 0
    assert session.state.epoch == car.epoch


def test_a_clock_older_than_one_accepted_in_the_same_epoch_is_refused(client_key: PartnerKey) -> None:
    car = MirrorCar(VIN, Domain.INFOTAINMENT, clock_time=5000)
    session = _session(client_key, FakeClock())
    _handshake(session, car)
    car.clock_time = 4000
    with pytest.raises(SessionInfoRejected, match="older"):
        _handshake(session, car)
    assert session.state is not None
    assert session.state.clock_time == 5000


def test_a_key_not_on_the_whitelist_is_key_not_paired_with_the_link(client_key: PartnerKey) -> None:
    car = MirrorCar(VIN, Domain.VEHICLE_SECURITY)
    session = _session(client_key, FakeClock(), Domain.VEHICLE_SECURITY)
    request = messages.handshake_request(session)
    with pytest.raises(KeyNotPaired) as caught:
        session.verify_session_info(b"", request.uuid, car.session_info(status=1))
    assert caught.value.link == f"https://tesla.com/_ak/example.com?vin={VIN}"
    assert caught.value.link in str(caught.value)
    assert session.state is None


def test_no_session_no_counter(client_key: PartnerKey) -> None:
    session = _session(client_key, FakeClock())
    with pytest.raises(VcpError, match="handshake first"):
        session.next_counter()


def test_one_session_and_one_lock_per_vin_and_domain(client_key: PartnerKey) -> None:
    sessions = Sessions(client_key)
    infotainment = sessions.session(VIN, Domain.INFOTAINMENT)
    assert sessions.session(VIN, Domain.INFOTAINMENT) is infotainment
    vcsec = sessions.session(VIN, Domain.VEHICLE_SECURITY)
    other_car = sessions.session("5YJ3E1EA1KF000001", Domain.INFOTAINMENT)
    assert len({id(infotainment.lock), id(vcsec.lock), id(other_car.lock)}) == 3
    with pytest.raises(ConfigError):
        sessions.session("not a vin!", Domain.INFOTAINMENT)


async def test_the_lock_serialises_commands_to_one_domain(client_key: PartnerKey) -> None:
    import asyncio

    session = Sessions(client_key).session(VIN, Domain.VEHICLE_SECURITY)
    order: list[str] = []

    async def command(name: str) -> None:
        async with session.lock:
            order.append(f"{name} start")
            await asyncio.sleep(0)
            order.append(f"{name} end")

    await asyncio.wait_for(asyncio.gather(command("a"), command("b")), 10)
    assert order == ["a start", "a end", "b start", "b end"]


# -- the cache ---------------------------------------------------------------------------------------


def test_a_new_process_signs_from_the_cache_without_a_handshake(
    client_key: PartnerKey, tmp_path: Path
) -> None:
    path = tmp_path / "sessions" / "me.json"
    clock = FakeClock()
    car = MirrorCar(VIN, Domain.INFOTAINMENT)
    first = Sessions(client_key, SessionCache(path), clock=clock).session(VIN, Domain.INFOTAINMENT)
    _handshake(first, car)
    first_request = messages.command_request(first, build("CHARGING_AMPS", {"charging_amps": 16}))
    assert car.verify(first_request.message)[2] == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["me.json"]
    assert K.hex() not in path.read_text()  # the shared key is never stored: it follows from the keys

    clock.now += 60
    car.clock_time += 60
    second = Sessions(client_key, SessionCache(path), clock=clock).session(VIN, Domain.INFOTAINMENT)
    assert second.state is not None
    request = messages.command_request(second, build("CHARGING_AMPS", {"charging_amps": 20}))
    assert car.verify(request.message)[2] == 0  # accepted: right counter, epoch and expiry


def test_a_cached_session_of_another_key_is_not_used(client_key: PartnerKey, tmp_path: Path) -> None:
    path = tmp_path / "me.json"
    session = Sessions(client_key, SessionCache(path)).session(VIN, Domain.INFOTAINMENT)
    _handshake(session, MirrorCar(VIN, Domain.INFOTAINMENT))
    assert Sessions(PartnerKey.generate(), SessionCache(path)).session(VIN, Domain.INFOTAINMENT).state is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"\xff\xfe",
        b"[]",
        b'{"format": 99, "sessions": {}}',
        b'{"format": 1, "sessions": []}',
    ],
    ids=["empty", "truncated", "binary", "list", "other-format", "sessions-not-a-map"],
)
def test_a_corrupt_cache_is_a_miss_and_is_replaced_by_a_valid_one(
    client_key: PartnerKey, tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "me.json"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="teslalink.cloud.vcp.session"):
        session = Sessions(client_key, SessionCache(path)).session(VIN, Domain.INFOTAINMENT)
    assert session.state is None
    if content:
        assert "ignoring" in caplog.text
    _handshake(session, MirrorCar(VIN, Domain.INFOTAINMENT))
    assert json.loads(path.read_text())["format"] == 1


def test_a_damaged_entry_is_a_miss(
    client_key: PartnerKey, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "me.json"
    session = Sessions(client_key, SessionCache(path)).session(VIN, Domain.INFOTAINMENT)
    _handshake(session, MirrorCar(VIN, Domain.INFOTAINMENT))
    document = json.loads(path.read_text())
    document["sessions"][f"{VIN}/INFOTAINMENT"]["epoch"] = "zz"
    path.write_text(json.dumps(document))
    with caplog.at_level(logging.WARNING, logger="teslalink.cloud.vcp.session"):
        assert Sessions(client_key, SessionCache(path)).session(VIN, Domain.INFOTAINMENT).state is None
    assert "damaged" in caplog.text


def test_a_failed_cache_write_keeps_the_old_file_and_the_command(
    client_key: PartnerKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "me.json"
    session = Sessions(client_key, SessionCache(path)).session(VIN, Domain.INFOTAINMENT)
    _handshake(session, MirrorCar(VIN, Domain.INFOTAINMENT))
    before = path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    # The handshake's write reserved the first block: its counters cost no write.
    assert [session.next_counter() for _ in range(COUNTER_RESERVATION)] == list(
        range(7, 7 + COUNTER_RESERVATION)
    )
    assert path.read_bytes() == before
    monkeypatch.setattr(teslalink._files.os, "fsync", disk_full)
    with caplog.at_level(logging.WARNING, logger="teslalink.cloud.vcp.session"):
        counter = session.next_counter()  # the next block's write fails; the command goes on
    monkeypatch.undo()
    assert counter == 7 + COUNTER_RESERVATION
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["me.json"]
    assert "not written" in caplog.text


def test_two_processes_on_one_cache_never_reuse_a_counter(client_key: PartnerKey, tmp_path: Path) -> None:
    path = tmp_path / "me.json"
    car = MirrorCar(VIN, Domain.INFOTAINMENT)
    a = Sessions(client_key, SessionCache(path)).session(VIN, Domain.INFOTAINMENT)
    _handshake(a, car)
    b = Sessions(client_key, SessionCache(path)).session(VIN, Domain.INFOTAINMENT)  # loaded before a's use
    used = [a.next_counter() for _ in range(5)] + [b.next_counter()]  # b's stale write must not lower a's
    third = Sessions(client_key, SessionCache(path)).session(VIN, Domain.INFOTAINMENT)
    assert third.next_counter() > max(used)


def test_counters_are_reserved_in_blocks_and_a_killed_process_is_never_reused(
    client_key: PartnerKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "me.json"
    session = Sessions(client_key, SessionCache(path)).session(VIN, Domain.INFOTAINMENT)
    _handshake(session, MirrorCar(VIN, Domain.INFOTAINMENT))
    writes: list[Path] = []
    real_write = teslalink.cloud.vcp.session.atomic_write_bytes

    def counting_write(target: Path, data: bytes, mode: int = 0o600) -> None:
        writes.append(target)
        real_write(target, data, mode)

    monkeypatch.setattr(teslalink.cloud.vcp.session, "atomic_write_bytes", counting_write)
    used = [session.next_counter() for _ in range(3 * COUNTER_RESERVATION)]
    assert used == list(range(7, 7 + 3 * COUNTER_RESERVATION))
    # one per block, not one per command; the first block was written with the handshake's session
    assert len(writes) == 2
    # The process dies here, mid-block; the next one starts above everything it may have used.
    successor = Sessions(client_key, SessionCache(path)).session(VIN, Domain.INFOTAINMENT)
    assert successor.next_counter() > max(used)


def test_the_default_cache_path_is_per_account_under_the_config_home(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert (
        default_session_cache_path("me@example.com", env)
        == tmp_path / "teslalink/vcp-sessions/me@example.com.json"
    )
    assert default_session_cache_path("../../etc/passwd", env).parent == tmp_path / "teslalink/vcp-sessions"
