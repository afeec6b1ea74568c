"""RoutableMessages: the handshake, signed commands, and the car's replies read into typed results.

A request is built against a `DomainSession` (which supplies the counter, the clock and K) and
remembers what its reply must match: its uuid, its routing address and its request hash. The bytes
go to the car by any transport (Fleet API `signed_command` wraps them in base64); the reply's bytes
come back to `parse_handshake_reply` or `parse_command_reply`.

Replies are checked before they are believed: the domain and routing address must be ours, session
info must carry a valid tag over our uuid (then it is adopted, also from fault replies, which is how
a rebooted car resynchronises us), an encrypted payload must authenticate against our request hash
and must not repeat a counter. Faults become `teslalink.cloud.vcp.faults` errors.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

from tesla_protocol.command import (
    car_server_pb2,
    errors_pb2,
    signatures_pb2,
    universal_message_pb2,
    vcsec_pb2,
)

from teslalink.cloud.vcp import crypto
from teslalink.cloud.vcp.crypto import Domain, SignatureType
from teslalink.cloud.vcp.faults import CarBusy, MalformedReply, ResponseRejected, VcpError, fault_error
from teslalink.cloud.vcp.session import DomainSession, SessionState
from teslalink.errors import CommandFailed

__all__ = [
    "FLAG_ENCRYPT_RESPONSE",
    "Command",
    "CommandResult",
    "Request",
    "command_request",
    "handshake_request",
    "parse_command_reply",
    "parse_handshake_reply",
]

# Flags is a bit-position enum; the wire field is the mask. FLAG_ENCRYPT_RESPONSE = bit 1, mask 2.
FLAG_ENCRYPT_RESPONSE = 1 << universal_message_pb2.FLAG_ENCRYPT_RESPONSE
# our choice: 10 s of validity in the car's clock, as tesla-fleet-api; Go uses 5 s (its default timeout),
# which a Fleet API round trip on a weak link can exceed. The reference verifier allows 30 s at most.
DEFAULT_LIFETIME = 10.0


@dataclass(frozen=True)
class Command:
    """An application payload for one domain: `name` is the REST command it stands for."""

    name: str
    domain: Domain
    payload: bytes


@dataclass(frozen=True)
class CommandResult:
    """What the car's application layer said: `ok`, else its `reason` (plain text or error name)."""

    command: str
    ok: bool
    reason: str = ""

    def raise_for_failure(self) -> None:
        """Raise teslalink's CommandFailed if the car refused the command."""
        if not self.ok:
            raise CommandFailed(self.command, self.reason)


@dataclass
class Request:
    """A request ready to send (`message`), and what its reply must match."""

    vin: str
    domain: Domain
    name: str  # "handshake" or the command's name
    uuid: bytes
    routing_address: bytes
    message: bytes
    request_hash: bytes = b""
    seen_response_counters: set[int] = field(default_factory=set)


def _routing_address() -> bytes:
    # our choice: a fresh random routing address per request (Go keeps one per connection); replies
    # are matched by it and by the uuid, so nothing links two requests.
    return os.urandom(16)


def _fresh_uuid_and_address(session: DomainSession) -> tuple[bytes, bytes]:
    """A request uuid (remembered by the session) and a routing address, from one urandom call."""
    fresh = os.urandom(32)
    return session.remember_request_uuid(fresh[:16]), fresh[16:]


def handshake_request(session: DomainSession) -> Request:
    """The unsigned session-info request carrying our public key (no flags, as Go sends it)."""
    uuid = session.new_request_uuid()
    address = _routing_address()
    message = universal_message_pb2.RoutableMessage(
        to_destination=universal_message_pb2.Destination(domain=session.domain),  # type: ignore[arg-type]
        from_destination=universal_message_pb2.Destination(routing_address=address),
        session_info_request=universal_message_pb2.SessionInfoRequest(public_key=session.key.public_bytes()),
        uuid=uuid,
    )
    return Request(
        session.vin, session.domain, "handshake", uuid, address, bytes(message.SerializeToString())
    )


def command_request(
    session: DomainSession,
    command: Command,
    *,
    flags: int = FLAG_ENCRYPT_RESPONSE,
    lifetime: float = DEFAULT_LIFETIME,
    signature_type: SignatureType = SignatureType.HMAC_PERSONALIZED,
) -> Request:
    """`command` signed for the session: HMAC (Fleet API) by default, or AES-GCM (BLE; the Fleet API
    refuses it). Takes a counter from the session, so build it only when it will be sent."""
    if command.domain != session.domain:
        raise VcpError(f"{command.name} is a {command.domain.name} command, not for {session.domain.name}")
    state = session.state
    if state is None:
        raise VcpError(f"{session.vin} {session.domain.name}: no session yet; handshake first")
    epoch = state.epoch
    prefix = session.metadata_prefix(signature_type)
    counter = session.next_counter()
    expires_at = session.expires_at(lifetime)
    metadata = prefix + crypto.command_metadata_tail(expires_at, counter, flags)
    message = universal_message_pb2.RoutableMessage()
    message.CopyFrom(_command_template(session.domain, session.key.public_bytes()))
    if signature_type == SignatureType.HMAC_PERSONALIZED:
        tag = crypto.hmac_tag(session.command_mac(), metadata, command.payload)
        body = command.payload
        hmac_data = message.signature_data.HMAC_Personalized_data
        hmac_data.epoch, hmac_data.counter = epoch, counter
        hmac_data.expires_at, hmac_data.tag = expires_at, tag
    elif signature_type == SignatureType.AES_GCM_PERSONALIZED:
        nonce, body, tag = crypto.aes_gcm_seal(session.shared_key(), metadata, command.payload)
        gcm_data = message.signature_data.AES_GCM_Personalized_data
        gcm_data.epoch, gcm_data.nonce, gcm_data.counter = epoch, nonce, counter
        gcm_data.expires_at, gcm_data.tag = expires_at, tag
    else:
        raise VcpError(f"commands are signed with HMAC or AES-GCM, not {signature_type.name}")
    uuid, address = _fresh_uuid_and_address(session)
    message.from_destination.routing_address = address
    message.protobuf_message_as_bytes = body
    message.uuid = uuid
    message.flags = flags
    digest = crypto.request_hash(signature_type, tag, session.domain)
    return Request(
        session.vin, session.domain, command.name, uuid, address, bytes(message.SerializeToString()), digest
    )


@functools.lru_cache(maxsize=256)
def _command_template(domain: Domain, public_key: bytes) -> universal_message_pb2.RoutableMessage:
    """What every command to `domain` signed with `public_key` carries: its destination and our key
    identity. Copied into each command, never changed (our choice: copying one message costs a
    third of building the nested ones anew, and the protobuf library still encodes every byte)."""
    return universal_message_pb2.RoutableMessage(
        to_destination=universal_message_pb2.Destination(domain=domain),  # type: ignore[arg-type]
        signature_data=signatures_pb2.SignatureData(
            signer_identity=signatures_pb2.KeyIdentity(public_key=public_key)
        ),
    )


def parse_handshake_reply(session: DomainSession, request: Request, data: bytes) -> SessionState:
    """Check the car's answer to `handshake_request` and adopt its session info."""
    reply = _checked_reply(session, request, data)
    if not reply.HasField("session_info"):
        raise MalformedReply(f"{request.vin} {request.domain.name}: the handshake reply has no session info")
    state = session.state
    if state is None:  # _checked_reply adopted it; this only narrows the type
        raise VcpError("internal: session info adopted but no session")
    return state


def parse_command_reply(session: DomainSession, request: Request, data: bytes) -> CommandResult:
    """The car's answer to `command_request`: a CommandResult, or a typed fault (after adopting any
    session info the fault reply carries)."""
    reply = _checked_reply(session, request, data)
    payload = _payload(session, request, reply)
    if request.domain == Domain.INFOTAINMENT:
        return _infotainment_result(request.name, payload)
    return _vcsec_result(request, payload)


def _decode_reply(request: Request, data: bytes) -> universal_message_pb2.RoutableMessage:
    reply = universal_message_pb2.RoutableMessage()
    try:
        reply.ParseFromString(data)
    except Exception:  # protobuf's DecodeError has no stable import path across runtimes
        raise MalformedReply(
            f"{request.vin} {request.domain.name}: the reply is not a RoutableMessage"
        ) from None
    return reply


def _checked_reply(
    session: DomainSession, request: Request, data: bytes
) -> universal_message_pb2.RoutableMessage:
    """Decode, match to `request`, adopt authenticated session info, raise the fault if any."""
    reply = _decode_reply(request, data)
    domain = int(reply.from_destination.domain)
    if domain != request.domain:
        raise MalformedReply(f"{_where(request)}: the reply comes from domain {domain}")
    address = bytes(reply.to_destination.routing_address)
    if address and address != request.routing_address:
        raise MalformedReply(f"{_where(request)}: the reply is addressed to another requester")
    echoed = bytes(reply.request_uuid)
    if echoed and echoed != request.uuid:  # VCSEC may leave it empty in command replies
        raise MalformedReply(f"{_where(request)}: the reply answers another request")
    if reply.HasField("session_info"):
        tag = bytes(reply.signature_data.session_info_tag.tag)
        # The challenge is the uuid WE sent, whatever the reply echoes (as tesla-fleet-api 1.18 does).
        session.verify_session_info(tag, request.uuid, bytes(reply.session_info))
    status = reply.signedMessageStatus
    fault = int(status.signed_message_fault)
    if fault:
        raise fault_error(fault, request.vin, request.domain.name, session.app_domain)
    if int(status.operation_status) == universal_message_pb2.OPERATIONSTATUS_WAIT:
        raise CarBusy(1, request.vin, request.domain.name, "the car answered WAIT")
    return reply


def _where(request: Request) -> str:
    """The VIN and the domain, for an error (made only when one is raised)."""
    return f"{request.vin} {request.domain.name}"


def _payload(session: DomainSession, request: Request, reply: universal_message_pb2.RoutableMessage) -> bytes:
    body = bytes(reply.protobuf_message_as_bytes)
    signature = reply.signature_data
    if not signature.HasField("AES_GCM_Response_data"):
        return body  # firmware before 2024.38 ignores FLAG_ENCRYPT_RESPONSE and answers in plain text
    sealed = signature.AES_GCM_Response_data
    counter = int(sealed.counter)
    if counter in request.seen_response_counters:
        raise ResponseRejected(f"{_where(request)}: a response repeats counter {counter}")
    metadata = session.response_metadata_prefix() + crypto.response_metadata_tail(
        counter,
        int(reply.flags),
        request.request_hash,
        int(reply.signedMessageStatus.signed_message_fault),
    )
    plaintext = crypto.aes_gcm_open(
        session.response_cipher(), metadata, bytes(sealed.nonce), body, bytes(sealed.tag)
    )
    request.seen_response_counters.add(counter)
    return plaintext


def _infotainment_result(name: str, payload: bytes) -> CommandResult:
    response = car_server_pb2.Response()
    try:
        response.ParseFromString(payload)
    except Exception:
        raise MalformedReply(f"{name}: the car's answer is not a CarServer.Response") from None
    status = response.actionStatus
    if int(status.result) == car_server_pb2.OPERATIONSTATUS_ERROR:
        return CommandResult(name, ok=False, reason=str(status.result_reason.plain_text))
    return CommandResult(name, ok=True)  # as Go: no actionStatus, or OK, is success


def _vcsec_result(request: Request, payload: bytes) -> CommandResult:
    message = vcsec_pb2.FromVCSECMessage()
    try:
        message.ParseFromString(payload)
    except Exception:
        raise MalformedReply(f"{request.name}: the car's answer is not a VCSEC.FromVCSECMessage") from None
    if message.HasField("nominalError"):
        code = int(message.nominalError.genericError)
        return CommandResult(request.name, ok=False, reason=_generic_error_name(code))
    if message.HasField("commandStatus"):
        status = int(message.commandStatus.operationStatus)
        if status == vcsec_pb2.OPERATIONSTATUS_WAIT:
            raise CarBusy(1, request.vin, request.domain.name, "VCSEC answered WAIT")
        if status == vcsec_pb2.OPERATIONSTATUS_ERROR:
            # our choice: over the Fleet API this is the final reply, so it is a failure without a reason.
            return CommandResult(request.name, ok=False, reason="operation error")
    return CommandResult(request.name, ok=True)  # an empty message is VCSEC's success


def _generic_error_name(code: int) -> str:
    try:
        name = str(errors_pb2.GenericError_E.Name(code))
    except ValueError:
        return f"error {code}"
    return name.removeprefix("GENERICERROR_").lower()
