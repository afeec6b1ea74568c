"""A signed command is signed when it can leave, and what never left is said to have never run.

The Fleet transport takes its token first (a refresh may take seconds) and the HTTP transport
holds a connection before `sign()` is called, so the command's expiry (10 s) is not spent while it
waits. A transport error that says the request never left (`errors.NotSent`) is raised as it is,
not as `OutcomeUnknown`; a reply that cannot be believed says the car may have run the command.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from tesla_protocol.command import car_server_pb2, universal_message_pb2
from vcp_car_mirror import MirrorCar
from vcp_vectors import CLIENT_KEY_PEM, VIN
from yarl import URL

from teslalink import errors
from teslalink.cloud.vcp.actions import build
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.dispatch import OutcomeUnknown, send_command
from teslalink.cloud.vcp.faults import MalformedReply
from teslalink.cloud.vcp.fleet_transport import FleetTransport
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import DomainSession, Sessions
from teslalink.transport import MAX_RETRY_AFTER_S, Response

OK = car_server_pb2.Response(actionStatus=car_server_pb2.ActionStatus(result=0)).SerializeToString()
REFRESH_S = 12.0  # longer than a command's lifetime (messages.DEFAULT_LIFETIME, 10 s)


class Clock:
    """Our clock and the car's, moved together (the car's in whole seconds, as its session info)."""

    def __init__(self, car: MirrorCar) -> None:
        self.now = 1_000_000.0
        self.car = car

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.car.clock_time += int(seconds)


class SlowRefresh:
    """A token provider whose every token takes `seconds` to get."""

    def __init__(self, clock: Clock, seconds: float = REFRESH_S) -> None:
        self.clock = clock
        self.seconds = seconds

    async def access_token(self) -> str:
        self.clock.advance(self.seconds)
        return "token"

    async def token_rejected(self, token: str) -> str:
        raise errors.TokenExpired("no refresh here")


class CarBehindHttp:
    """The Fleet API's signed_command in front of the mirror car, as an HTTP transport; counts POSTs."""

    def __init__(self, car: MirrorCar, answer: Callable[[bytes], Response] | None = None) -> None:
        self.car = car
        self.posts = 0
        self.answer = answer

    async def request(
        self,
        method: str,
        url: URL,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        json_at_send: Callable[[], Any] | None = None,
    ) -> Response:
        body = json_at_send() if json_at_send is not None else json_body
        message = base64.b64decode(body["routable_message"])
        self.posts += 1
        if self.answer is not None:
            return self.answer(message)
        parsed = universal_message_pb2.RoutableMessage.FromString(message)
        if parsed.HasField("session_info_request"):
            reply = self.car.answer_handshake(message)
        else:
            reply = self.car.answer_command(message, OK)
        return Response(200, {}, json.dumps({"response": base64.b64encode(reply).decode()}).encode())


def _session(clock: Callable[[], float]) -> DomainSession:
    key = PartnerKey.from_pem(CLIENT_KEY_PEM)
    return Sessions(key, None, clock=clock, app_domain="example.com").session(VIN, Domain.INFOTAINMENT)


async def test_a_slow_token_refresh_does_not_spend_the_commands_lifetime() -> None:
    car = MirrorCar(VIN, Domain.INFOTAINMENT)
    clock = Clock(car)
    http = CarBehindHttp(car)
    session = _session(clock)
    transport = FleetTransport(http, "https://fleet.example.com/", VIN, SlowRefresh(clock))
    result = await send_command(session, build("CHARGING_AMPS", {"charging_amps": 16}), transport)
    assert result.ok
    assert http.posts == 2  # the handshake and the command once: no expired command resent (billed)
    assert len(car.executed) == 1


async def test_a_request_that_never_left_is_not_sent_not_outcome_unknown() -> None:
    car = MirrorCar(VIN, Domain.INFOTAINMENT)
    clock = Clock(car)
    session = _session(clock)
    http = CarBehindHttp(car)
    transport = FleetTransport(http, "https://fleet.example.com/", VIN, SlowRefresh(clock, 0))
    command = build("CHARGING_AMPS", {"charging_amps": 16})
    assert (await send_command(session, command, transport)).ok

    async def never_left(sign: Callable[[], bytes]) -> bytes:
        raise errors.NotSent("fleet.example.com: not sent: no connection within 5 s")

    async def lost_after_writing(sign: Callable[[], bytes]) -> bytes:
        sign()
        raise errors.TimeoutError("fleet.example.com: no answer within 15 s")

    with pytest.raises(errors.NotSent) as not_sent:
        await send_command(session, command, never_left)
    assert not isinstance(not_sent.value, OutcomeUnknown)
    with pytest.raises(OutcomeUnknown, match="may have run"):
        await send_command(session, command, lost_after_writing)
    assert len(car.executed) == 1


async def test_a_reply_that_cannot_be_believed_says_the_car_may_have_run_the_command() -> None:
    car = MirrorCar(VIN, Domain.INFOTAINMENT)
    clock = Clock(car)
    session = _session(clock)
    good = FleetTransport(CarBehindHttp(car), "https://fleet.example.com/", VIN, SlowRefresh(clock, 0))
    command = build("CHARGING_AMPS", {"charging_amps": 16})
    assert (await send_command(session, command, good)).ok
    garbage = Response(200, {}, json.dumps({"response": base64.b64encode(b"\xff\xff\xff").decode()}).encode())
    http = CarBehindHttp(car, answer=lambda message: garbage)
    bad = FleetTransport(http, "https://fleet.example.com/", VIN, SlowRefresh(clock, 0))
    with pytest.raises(MalformedReply, match="may have run set_charging_amps, so it was not sent again"):
        await send_command(session, command, bad)
    assert http.posts == 1


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"RateLimit-Reset": "30"}, 30.0),
        ({"RateLimit-Reset": "1e12"}, MAX_RETRY_AFTER_S),
        ({"Retry-After": "5", "RateLimit-Reset": "30"}, 5.0),
        ({"RateLimit-Reset": "inf"}, None),
    ],
)
async def test_a_429_on_the_signed_path_reads_rate_limit_reset_capped(
    headers: dict[str, str], wait: float | None
) -> None:
    car = MirrorCar(VIN, Domain.INFOTAINMENT)
    http = CarBehindHttp(car, answer=lambda message: Response(429, headers, b'{"error": "rate limited"}'))
    transport = FleetTransport(http, "https://fleet.example.com/", VIN, SlowRefresh(Clock(car)))
    with pytest.raises(errors.RateLimited) as limited:
        await transport(lambda: b"\x01")
    assert limited.value.retry_after == wait
