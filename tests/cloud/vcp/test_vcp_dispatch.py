"""send_command over an in-test transport to the mirror car: handshakes, bounded retries, lost replies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tesla_protocol.command import car_server_pb2, universal_message_pb2
from vcp_car_mirror import MirrorCar
from vcp_vectors import CLIENT_KEY_PEM, VIN

from teslalink.cloud.vcp.actions import build
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.dispatch import OutcomeUnknown, send_command
from teslalink.cloud.vcp.faults import CarBusy, KeyNotPaired, SessionOutOfSync
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import SessionCache, Sessions
from teslalink.errors import TimeoutError

OK = car_server_pb2.Response(actionStatus=car_server_pb2.ActionStatus(result=0)).SerializeToString()


class CarLink:
    """A transport to the mirror car that counts what it carried and can misbehave on purpose."""

    def __init__(self, car: MirrorCar) -> None:
        self.car = car
        self.handshakes = 0
        self.commands = 0
        self.faults: list[int] = []  # forced faults for the next commands, in order
        self.lose_reply = False

    async def __call__(self, sign: Callable[[], bytes]) -> bytes:
        message = sign()
        parsed = universal_message_pb2.RoutableMessage.FromString(message)
        if parsed.HasField("session_info_request"):
            self.handshakes += 1
            return self.car.answer_handshake(message)
        self.commands += 1
        if self.faults:
            return self.car.answer_command(message, fault=self.faults.pop(0))
        reply = self.car.answer_command(message, OK if self.car.domain == 3 else b"")
        if self.lose_reply:
            raise TimeoutError("no answer within 10 s")
        return reply


async def _no_sleep(seconds: float) -> None:
    assert 0 < seconds <= 10


def _sessions(path: Path | None = None) -> Sessions:
    cache = SessionCache(path) if path else None
    return Sessions(PartnerKey.from_pem(CLIENT_KEY_PEM), cache, app_domain="example.com")


async def test_one_handshake_then_commands_and_none_in_a_new_process(tmp_path: Path) -> None:
    link = CarLink(MirrorCar(VIN, Domain.INFOTAINMENT))
    session = _sessions(tmp_path / "s.json").session(VIN, Domain.INFOTAINMENT)
    for amps in (8, 16, 32):
        assert (await send_command(session, build("CHARGING_AMPS", {"charging_amps": amps}), link)).ok
    again = _sessions(tmp_path / "s.json").session(VIN, Domain.INFOTAINMENT)
    assert (await send_command(again, build("START_CHARGE"), link)).ok
    assert (link.handshakes, link.commands) == (1, 4)


async def test_a_rebooted_car_costs_one_more_request_not_a_handshake() -> None:
    link = CarLink(MirrorCar(VIN, Domain.VEHICLE_SECURITY))
    session = _sessions().session(VIN, Domain.VEHICLE_SECURITY)
    assert (await send_command(session, build("LOCK"), link)).ok
    link.car.reboot()
    assert (await send_command(session, build("UNLOCK"), link)).ok
    assert (link.handshakes, link.commands) == (1, 3)
    assert link.car.executed == [build("LOCK").payload, build("UNLOCK").payload]


async def test_resync_faults_are_retried_a_bounded_number_of_times() -> None:
    link = CarLink(MirrorCar(VIN, Domain.INFOTAINMENT))
    session = _sessions().session(VIN, Domain.INFOTAINMENT)
    link.faults = [6] * 10
    with pytest.raises(SessionOutOfSync):
        await send_command(session, build("STOP_CHARGE"), link, sleep=_no_sleep)
    assert link.commands == 3
    assert link.car.executed == []


async def test_busy_is_retried_after_a_pause_then_succeeds() -> None:
    link = CarLink(MirrorCar(VIN, Domain.INFOTAINMENT))
    session = _sessions().session(VIN, Domain.INFOTAINMENT)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    link.faults = [1]
    assert (await send_command(session, build("START_CHARGE"), link, sleep=sleep)).ok
    assert pauses == [2.0]
    link.faults = [11] * 5
    with pytest.raises(CarBusy):
        await send_command(session, build("START_CHARGE"), link, sleep=sleep)


async def test_not_paired_is_raised_at_once() -> None:
    link = CarLink(MirrorCar(VIN, Domain.INFOTAINMENT))
    session = _sessions().session(VIN, Domain.INFOTAINMENT)
    link.faults = [3]
    with pytest.raises(KeyNotPaired, match=r"tesla\.com/_ak/example\.com"):
        await send_command(session, build("START_CHARGE"), link, sleep=_no_sleep)
    assert link.commands == 1


async def test_a_lost_reply_is_never_resent() -> None:
    link = CarLink(MirrorCar(VIN, Domain.INFOTAINMENT))
    session = _sessions().session(VIN, Domain.INFOTAINMENT)
    link.lose_reply = True
    with pytest.raises(OutcomeUnknown, match="may have run"):
        await send_command(session, build("START_CHARGE"), link, sleep=_no_sleep)
    assert link.commands == 1
    assert link.car.executed == [build("START_CHARGE").payload]  # it did run
