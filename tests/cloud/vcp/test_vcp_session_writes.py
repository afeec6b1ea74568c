"""When the session cache is written, and by whom: batched in a loop, off the loop, before a counter is sent.

Why it matters (bench/fleet.py): the first command to 100 cars used to rewrite the whole file, with
two fsyncs, 200 times inside the event loop. Now the sessions that change while a write is under
way go into the next one, the write runs in a thread, the first counter block rides on the
handshake's write, and a command still never leaves with a counter the file does not cover.
"""

from __future__ import annotations

import asyncio
import json
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from tesla_protocol.command import car_server_pb2, universal_message_pb2
from vcp_car_mirror import MirrorCar
from vcp_vectors import CLIENT_KEY_PEM

import teslalink.cloud.vcp.session
from teslalink.cloud.vcp import crypto
from teslalink.cloud.vcp.actions import build
from teslalink.cloud.vcp.crypto import Domain, SignatureType
from teslalink.cloud.vcp.dispatch import send_command
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import (
    _MAX_PENDING_UUIDS,
    COUNTER_RESERVATION,
    REQUEST_UUID_WINDOW,
    SessionCache,
    Sessions,
)

OK = car_server_pb2.Response(actionStatus=car_server_pb2.ActionStatus(result=0)).SerializeToString()
VINS = tuple(f"5YJ3E1EA1KF{n:06d}" for n in range(1, 21))


class Writes:
    """Counts the cache's file rewrites and the threads they ran on (the real write still happens)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.threads: list[int] = []
        real = teslalink.cloud.vcp.session.atomic_write_bytes

        def counted(target: Path, data: bytes, mode: int = 0o600) -> None:
            self.threads.append(threading.get_ident())
            real(target, data, mode)

        monkeypatch.setattr(teslalink.cloud.vcp.session, "atomic_write_bytes", counted)


class Cars:
    """A transport per VIN to its mirror car; it yields to the loop so replies interleave."""

    def __init__(self, cache_path: Path | None = None) -> None:
        self.cars = {vin: MirrorCar(vin, Domain.INFOTAINMENT) for vin in VINS}
        self.cache_path = cache_path
        self.uncovered: list[tuple[str, int]] = []  # (vin, counter) sent beyond what the file held

    def link(self, vin: str) -> object:
        car = self.cars[vin]

        async def send(sign: Callable[[], bytes]) -> bytes:
            await asyncio.sleep(0)
            message = sign()
            parsed = universal_message_pb2.RoutableMessage.FromString(message)
            if parsed.HasField("session_info_request"):
                return car.answer_handshake(message)
            self._check_covered(vin, parsed.signature_data.HMAC_Personalized_data.counter)
            return car.answer_command(message, OK)

        return send

    def _check_covered(self, vin: str, counter: int) -> None:
        if self.cache_path is None:
            return
        sessions = json.loads(self.cache_path.read_bytes())["sessions"]
        if sessions.get(f"{vin}/INFOTAINMENT", {}).get("counter", -1) < counter:
            self.uncovered.append((vin, counter))


def _sessions(path: Path) -> Sessions:
    return Sessions(PartnerKey.from_pem(CLIENT_KEY_PEM), SessionCache(path))


async def test_many_handshakes_at_once_are_a_few_writes_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "me.json"
    writes = Writes(monkeypatch)
    cars = Cars(path)
    sessions = _sessions(path)
    amps = build("CHARGING_AMPS", {"charging_amps": 16})
    results = await asyncio.wait_for(
        asyncio.gather(
            *(send_command(sessions.session(v, Domain.INFOTAINMENT), amps, cars.link(v)) for v in VINS)
        ),
        30,
    )
    assert all(r.ok for r in results)
    # 20 handshakes and 20 first commands: once 2 writes each; batched, far fewer
    assert 1 <= len(writes.threads) <= len(VINS) // 2
    assert threading.get_ident() not in writes.threads  # every fsync ran off the event loop
    assert cars.uncovered == []  # no counter left before the file covered it
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reader = _sessions(path)
    for vin in VINS:
        loaded = reader.session(vin, Domain.INFOTAINMENT).state
        assert loaded is not None
        assert loaded.counter == sessions.session(vin, Domain.INFOTAINMENT).persisted_state().counter  # type: ignore[union-attr]


async def test_a_counter_block_is_on_disk_before_its_first_counter_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "me.json"
    writes = Writes(monkeypatch)
    cars = Cars(path)
    session = _sessions(path).session(VINS[0], Domain.INFOTAINMENT)
    link = cars.link(VINS[0])
    for amps in range(3 * COUNTER_RESERVATION):
        command = build("CHARGING_AMPS", {"charging_amps": 6 + amps % 26})
        assert (await asyncio.wait_for(send_command(session, command, link), 10)).ok  # type: ignore[arg-type]
    assert cars.uncovered == []
    # the handshake (with the first block), then one write per further block
    assert len(writes.threads) == 3
    successor = _sessions(path).session(VINS[0], Domain.INFOTAINMENT)
    assert successor.next_counter() > session.state.counter  # type: ignore[union-attr]


def test_without_a_loop_the_write_happens_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "me.json"
    writes = Writes(monkeypatch)
    session = _sessions(path).session(VINS[0], Domain.INFOTAINMENT)
    car = MirrorCar(VINS[0], Domain.INFOTAINMENT)
    from teslalink.cloud.vcp import messages

    request = messages.handshake_request(session)
    messages.parse_handshake_reply(session, request, car.answer_handshake(request.message))
    assert writes.threads == [threading.get_ident()]
    assert not session.unsaved
    assert _sessions(path).session(VINS[0], Domain.INFOTAINMENT).state is not None


def test_metadata_built_in_parts_is_the_spec_encoding() -> None:
    vin, epoch = VINS[0], bytes(range(16))
    for flags in (0, 2):
        parts = crypto.command_metadata_prefix(
            SignatureType.HMAC_PERSONALIZED, Domain.INFOTAINMENT, vin, epoch
        ) + crypto.command_metadata_tail(1234, 0xFFFFFFFF, flags)
        items = [
            (0, bytes((8,))),
            (1, bytes((3,))),
            (2, vin.encode()),
            (3, epoch),
            (4, (1234).to_bytes(4, "big")),
            (5, b"\xff\xff\xff\xff"),
        ] + ([(7, flags.to_bytes(4, "big"))] if flags else [])
        assert parts == crypto.encode_metadata(items)
    response = crypto.response_metadata_prefix(Domain.VEHICLE_SECURITY, vin) + crypto.response_metadata_tail(
        7, 0, b"\x08" + b"t" * 16, 0
    )
    assert response == crypto.encode_metadata(
        [
            (0, bytes((9,))),
            (1, bytes((2,))),
            (2, vin.encode()),
            (5, b"\0\0\0\7"),
            (7, b"\0" * 4),
            (8, b"\x08" + b"t" * 16),
            (9, b"\0" * 4),
        ]
    )
    with pytest.raises(crypto.VcpError, match="32-bit"):
        crypto.command_metadata_tail(-1, 1, 0)
    with pytest.raises(crypto.VcpError, match="32-bit"):
        crypto.response_metadata_tail(2**32, 0, b"", 0)


def test_stale_request_uuids_go_and_the_count_stays_bounded() -> None:
    now = [1_800_000_000.0]
    sessions = Sessions(PartnerKey.from_pem(CLIENT_KEY_PEM), clock=lambda: now[0])
    session = sessions.session(VINS[0], Domain.INFOTAINMENT)
    old = session.new_request_uuid()
    now[0] += REQUEST_UUID_WINDOW + 1
    fresh = [session.new_request_uuid() for _ in range(3 * _MAX_PENDING_UUIDS)]
    pending = session._pending
    assert old not in pending
    assert len(pending) == _MAX_PENDING_UUIDS
    assert list(pending) == fresh[-_MAX_PENDING_UUIDS:]  # the newest kept, in order


def test_the_public_point_is_serialised_once_and_stays_the_keys() -> None:
    key = PartnerKey.from_pem(CLIENT_KEY_PEM)
    assert key.public_bytes() is key.public_bytes()
    assert len(key.public_bytes()) == 65
    assert key.public_bytes()[0] == 4
    assert PartnerKey.from_pem(key.private_pem()).public_bytes() == key.public_bytes()


def test_a_rewrite_keeps_what_another_process_wrote_in_between(tmp_path: Path) -> None:
    """The writer skips re-parsing a file only when it is byte for byte what it wrote last."""
    from teslalink.cloud.vcp.session import SessionState

    key = PartnerKey.from_pem(CLIENT_KEY_PEM)
    path = tmp_path / "me.json"
    ours, theirs = SessionCache(path), SessionCache(path)
    state = SessionState(b"e" * 16, 5, 100, 0.0, key.public_bytes())
    ours.store(VINS[0], Domain.INFOTAINMENT, key.public_bytes(), state)
    theirs.store(VINS[1], Domain.INFOTAINMENT, key.public_bytes(), state)  # another process's write
    ours.store(VINS[2], Domain.INFOTAINMENT, key.public_bytes(), state)
    reader = SessionCache(path)
    assert all(reader.load(vin, Domain.INFOTAINMENT, key.public_bytes()) == state for vin in VINS[:3])


def test_sessions_outlive_the_loop_that_began_a_write(tmp_path: Path) -> None:
    """One Sessions used by one asyncio.run after another (a script's pattern): the first loop's
    write completes as that loop ends, and the next loop's changes are written by the next loop."""
    path = tmp_path / "me.json"
    sessions = _sessions(path)
    car = MirrorCar(VINS[0], Domain.INFOTAINMENT)
    from teslalink.cloud.vcp import messages

    async def handshake_and_leave() -> None:
        session = sessions.session(VINS[0], Domain.INFOTAINMENT)
        request = messages.handshake_request(session)
        messages.parse_handshake_reply(session, request, car.answer_handshake(request.message))
        assert session.unsaved  # written while asyncio.run shuts its executor down

    async def command_in_a_new_loop() -> None:
        session = sessions.session(VINS[0], Domain.INFOTAINMENT)
        session.forget()  # a change in this loop: the batch is written here
        await asyncio.wait_for(session.saved(), 10)
        assert not session.unsaved

    asyncio.run(handshake_and_leave())
    assert _sessions(path).session(VINS[0], Domain.INFOTAINMENT).state is not None
    asyncio.run(command_in_a_new_loop())
    assert json.loads(path.read_bytes())["sessions"] == {}
