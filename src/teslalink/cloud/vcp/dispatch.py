"""One signed command, start to finish, over whatever transport the caller gives (no HTTP here).

`transport(sign) -> reply` carries RoutableMessage bytes to one car and back; the Fleet API's
`signed_command` POST is one such transport, a BLE link would be another. It calls `sign()` for
the bytes only when it is about to write them (a connection held, the token in hand), so a
command's expiry (`messages.DEFAULT_LIFETIME`) starts when it can leave, not while it queues; a
resend before anything reached the car (a 401's) calls it again, and the reply answers the last.
This module owns the protocol's control flow on top of it:

- take the per-VIN-per-domain lock (VCSEC wants counters in order; a resync must not race a send);
- handshake only when there is no session (a cached one is tried first: protocol.md says a stale
  cache costs nothing, the car's fault reply resynchronises us);
- on a resync fault (5, 6, 15, 17, 20) the car did NOT run the command: sign again with the session
  info its reply carried, a bounded number of times; on busy (1, 2, 11, WAIT) wait, then the same;
- a lost reply (the transport raised) means the command may have run: never resend it, raise
  `OutcomeUnknown`. Retrying blindly could, e.g., start a charge the owner just stopped. Errors
  that say nothing ran are raised as they are (`_nothing_ran`): the transport never wrote it
  (`errors.NotSent`), or a server turned it away before the car (a 4xx `ApiError`: asleep, wrong
  region, missing scope; or a rejected token);
- a reply that cannot be believed (malformed, failing its check) is not resent either: the car
  may have run the command, and the error says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from teslalink.cloud.vcp import messages
from teslalink.cloud.vcp.faults import (
    CarBusy,
    MalformedReply,
    ResponseRejected,
    SessionInfoRejected,
    SessionOutOfSync,
    VcpError,
)
from teslalink.cloud.vcp.session import DomainSession
from teslalink.errors import ApiError, AuthError, NotSent, TeslalinkError

__all__ = ["OutcomeUnknown", "Sign", "Transport", "send_command"]

Sign = Callable[[], bytes]
"""Builds (signs) the message bytes now; the transport calls it just before writing them."""
Transport = Callable[[Sign], Awaitable[bytes]]

# our choice: Go retries until its deadline, tesla-fleet-api 3 times; we allow 3 attempts in all
# (every one is a billed Fleet API request), and 2 s between busy retries (tesla-fleet-api's pause).
MAX_ATTEMPTS = 3
BUSY_PAUSE = 2.0


class OutcomeUnknown(VcpError):
    """The command was sent but no reply came back: the car may have run it. It is not resent."""

    def __init__(self, vin: str, command: str, cause: BaseException) -> None:
        super().__init__(
            f"{vin}: no answer to {command} ({cause}); the car may have run it, so it was not sent again"
        )
        self.vin = vin
        self.command = command


async def send_command(
    session: DomainSession,
    command: messages.Command,
    transport: Transport,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    busy_pause: float = BUSY_PAUSE,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> messages.CommandResult:
    """Send `command` to the session's car domain and return the car's application-layer result.

    Raises the faults of `teslalink.cloud.vcp.faults` once the attempts are spent (or at once for
    faults that retrying cannot fix), `OutcomeUnknown` when a signed command's reply is lost, and
    whatever the transport raises for the handshake (nothing ran then, the caller may retry).
    """
    async with session.lock:
        try:
            return await _attempts(session, command, transport, max_attempts, busy_pause, sleep)
        finally:
            # what the replies taught (a resync's session info) reaches the cache before we return
            if session.unsaved:
                await session.saved()


async def _attempts(
    session: DomainSession,
    command: messages.Command,
    transport: Transport,
    max_attempts: int,
    busy_pause: float,
    sleep: Callable[[float], Awaitable[None]],
) -> messages.CommandResult:
    if session.state is None:
        await _handshake(session, transport)
    for attempt in range(1, max_attempts + 1):
        if session.reserve_next():
            # a new block of counters (or the handshake's session) goes to disk before a counter of
            # it is sent, so a process killed after sending never leaves a successor reusing one
            await session.saved()
        signed, sign = _late_signer(session, command)
        try:
            reply = await transport(sign)
        except TeslalinkError as exc:
            if _nothing_ran(exc):
                raise
            raise OutcomeUnknown(session.vin, command.name, exc) from exc
        if not signed:
            raise VcpError("internal: the transport answered without sending the command")
        signed_with = session.state
        try:
            return messages.parse_command_reply(session, signed[-1], reply)
        except SessionOutOfSync:
            if attempt == max_attempts:
                raise
            if session.state is signed_with:  # the fault reply carried no session info: ask for it
                await _handshake(session, transport)
        except CarBusy:
            if attempt == max_attempts:
                raise
            await sleep(busy_pause)
        except (MalformedReply, ResponseRejected, SessionInfoRejected) as exc:
            raise type(exc)(f"{exc}; the car may have run {command.name}, so it was not sent again") from exc
    raise VcpError("internal: no attempt was made")  # max_attempts < 1


def _late_signer(session: DomainSession, command: messages.Command) -> tuple[list[messages.Request], Sign]:
    """`sign()` for the transport, and the requests it signed (the reply answers the last)."""
    signed: list[messages.Request] = []

    def sign() -> bytes:
        signed.append(messages.command_request(session, command))
        return signed[-1].message

    return signed, sign


def _nothing_ran(exc: TeslalinkError) -> bool:
    """The request never left (`NotSent`), or the server answered for itself (a 4xx, a rejected
    token): the car never saw the command."""
    return isinstance(exc, (NotSent, AuthError)) or (isinstance(exc, ApiError) and 400 <= exc.status < 500)


async def _handshake(session: DomainSession, transport: Transport) -> None:
    request = messages.handshake_request(session)  # no expiry: it may be built before the wait
    reply = await transport(lambda: request.message)
    messages.parse_handshake_reply(session, request, reply)
