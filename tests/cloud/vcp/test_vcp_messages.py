"""Handshake and signed commands end to end against the mirror car; replies, faults and resyncs."""

from __future__ import annotations

import pytest
from tesla_protocol.command import (
    car_server_pb2,
    errors_pb2,
    signatures_pb2,
    universal_message_pb2,
    vcsec_pb2,
)
from vcp_car_mirror import MirrorCar
from vcp_vectors import CLIENT_KEY_PEM, VIN

from teslalink.cloud.vcp import messages
from teslalink.cloud.vcp.actions import build
from teslalink.cloud.vcp.crypto import Domain, SignatureType
from teslalink.cloud.vcp.faults import (
    CarBusy,
    CarFault,
    InsufficientPrivileges,
    KeyInactive,
    KeyNotPaired,
    MalformedReply,
    RemoteAccessDisabled,
    ResponseRejected,
    SessionOutOfSync,
    VcpError,
)
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.cloud.vcp.session import DomainSession, Sessions
from teslalink.errors import ApiError, CommandFailed, TeslalinkError

OK = car_server_pb2.Response(actionStatus=car_server_pb2.ActionStatus(result=0)).SerializeToString()


def _ready(domain: Domain) -> tuple[DomainSession, MirrorCar]:
    session = Sessions(PartnerKey.from_pem(CLIENT_KEY_PEM), app_domain="example.com").session(VIN, domain)
    car = MirrorCar(VIN, domain)
    request = messages.handshake_request(session)
    messages.parse_handshake_reply(session, request, car.answer_handshake(request.message))
    return session, car


def test_the_handshake_request_carries_our_key_a_fresh_uuid_and_address() -> None:
    session = Sessions(PartnerKey.from_pem(CLIENT_KEY_PEM)).session(VIN, Domain.VEHICLE_SECURITY)
    first = messages.handshake_request(session)
    second = messages.handshake_request(session)
    message = universal_message_pb2.RoutableMessage.FromString(first.message)
    assert message.to_destination.domain == 2
    assert message.session_info_request.public_key == session.key.public_bytes()
    assert message.uuid == first.uuid
    assert len(first.uuid) == len(first.routing_address) == 16
    assert first.uuid != second.uuid
    assert first.routing_address != second.routing_address
    assert message.flags == 0


def test_an_hmac_command_is_accepted_by_the_spec_and_its_encrypted_answer_read() -> None:
    session, car = _ready(Domain.INFOTAINMENT)
    request = messages.command_request(session, build("CHARGING_AMPS", {"charging_amps": 16}))
    message = universal_message_pb2.RoutableMessage.FromString(request.message)
    assert message.flags == 2
    assert message.signature_data.HMAC_Personalized_data.counter == 7
    assert message.signature_data.HMAC_Personalized_data.expires_at == car.clock_time + 10
    reply = car.answer_command(request.message, OK)
    assert universal_message_pb2.RoutableMessage.FromString(reply).signature_data.HasField(
        "AES_GCM_Response_data"
    )
    result = messages.parse_command_reply(session, request, reply)
    assert result == messages.CommandResult("set_charging_amps", ok=True)
    assert car.executed == [build("CHARGING_AMPS", {"charging_amps": 16}).payload]


@pytest.mark.parametrize("signature", ["HMAC_Personalized_data", "AES_GCM_Personalized_data"])
@pytest.mark.parametrize("domain", [Domain.INFOTAINMENT, Domain.VEHICLE_SECURITY])
def test_a_command_is_the_message_the_bindings_build_field_by_field(domain: Domain, signature: str) -> None:
    """Commands are copied from a kept template: byte for byte what nested constructors give, with
    nothing of one command left in the next (nor in the template)."""
    session, _car = _ready(domain)
    command = build("CHARGING_AMPS", {"charging_amps": 16}) if domain == 3 else build("LOCK")
    kind = (
        SignatureType.HMAC_PERSONALIZED
        if signature.startswith("HMAC")
        else SignatureType.AES_GCM_PERSONALIZED
    )
    public_key = session.key.public_bytes()
    for flags in (messages.FLAG_ENCRYPT_RESPONSE, 0, messages.FLAG_ENCRYPT_RESPONSE):
        request = messages.command_request(session, command, flags=flags, signature_type=kind)
        sent = universal_message_pb2.RoutableMessage.FromString(request.message)
        data = getattr(sent.signature_data, signature)
        expected = universal_message_pb2.RoutableMessage(
            to_destination=universal_message_pb2.Destination(domain=domain),  # type: ignore[arg-type]
            from_destination=universal_message_pb2.Destination(routing_address=request.routing_address),
            protobuf_message_as_bytes=sent.protobuf_message_as_bytes,
            signature_data=signatures_pb2.SignatureData(
                signer_identity=signatures_pb2.KeyIdentity(public_key=public_key),
                **{signature: type(data)(**{field.name: value for field, value in data.ListFields()})},
            ),
            uuid=request.uuid,
            flags=flags,
        )
        assert request.message == expected.SerializeToString()
        assert session.state is not None
        assert (data.epoch, data.counter) == (session.state.epoch, session.state.counter)
    assert messages._command_template(domain, public_key) == universal_message_pb2.RoutableMessage(
        to_destination=universal_message_pb2.Destination(domain=domain),  # type: ignore[arg-type]
        signature_data=signatures_pb2.SignatureData(
            signer_identity=signatures_pb2.KeyIdentity(public_key=public_key)
        ),
    )


def test_a_refusal_of_the_application_layer_is_a_result_with_its_reason() -> None:
    session, car = _ready(Domain.INFOTAINMENT)
    request = messages.command_request(session, build("START_CHARGE"))
    refused = bytes.fromhex("0a110801120d0a0b69735f6368617267696e67")  # fleet.md 2.7: ERROR "is_charging"
    result = messages.parse_command_reply(session, request, car.answer_command(request.message, refused))
    assert result == messages.CommandResult("charge_start", ok=False, reason="is_charging")
    with pytest.raises(CommandFailed, match="is_charging"):
        result.raise_for_failure()


def test_a_plain_text_answer_of_older_firmware_is_accepted() -> None:
    session, car = _ready(Domain.INFOTAINMENT)
    request = messages.command_request(session, build("STOP_CHARGE"))
    reply = car.answer_command(request.message, OK, encrypt=False)
    assert messages.parse_command_reply(session, request, reply).ok


@pytest.mark.parametrize("command", [build("LOCK"), build("UNLOCK")], ids=["lock", "unlock"])
def test_vcsec_commands_and_their_truncated_request_hash(command: messages.Command) -> None:
    session, car = _ready(Domain.VEHICLE_SECURITY)
    request = messages.command_request(session, command)
    assert len(request.request_hash) == 17
    assert messages.parse_command_reply(session, request, car.answer_command(request.message, b"")).ok
    assert car.executed == [command.payload]


def test_a_vcsec_nominal_error_and_wait() -> None:
    session, car = _ready(Domain.VEHICLE_SECURITY)
    nominal = vcsec_pb2.FromVCSECMessage(
        nominalError=errors_pb2.NominalError(genericError=errors_pb2.GENERICERROR_CLOSURES_OPEN)
    ).SerializeToString()
    request = messages.command_request(session, build("LOCK"))
    result = messages.parse_command_reply(session, request, car.answer_command(request.message, nominal))
    assert result == messages.CommandResult("door_lock", ok=False, reason="closures_open")
    wait = vcsec_pb2.FromVCSECMessage(
        commandStatus=vcsec_pb2.CommandStatus(operationStatus=vcsec_pb2.OPERATIONSTATUS_WAIT)
    ).SerializeToString()
    request = messages.command_request(session, build("LOCK"))
    with pytest.raises(CarBusy):
        messages.parse_command_reply(session, request, car.answer_command(request.message, wait))


def test_an_aes_gcm_command_decrypts_at_the_car() -> None:
    session, car = _ready(Domain.INFOTAINMENT)
    command = build("CLIMATE_ON")
    request = messages.command_request(session, command, signature_type=SignatureType.AES_GCM_PERSONALIZED)
    message = universal_message_pb2.RoutableMessage.FromString(request.message)
    assert message.protobuf_message_as_bytes != command.payload
    assert messages.parse_command_reply(session, request, car.answer_command(request.message, OK)).ok
    assert car.executed == [command.payload]


def test_a_rebooted_car_resyncs_us_through_its_fault_reply() -> None:
    session, car = _ready(Domain.INFOTAINMENT)
    car.reboot()
    request = messages.command_request(session, build("CHARGING_AMPS", {"charging_amps": 10}))
    with pytest.raises(SessionOutOfSync) as caught:
        messages.parse_command_reply(session, request, car.answer_command(request.message, OK))
    assert caught.value.fault == 15
    assert caught.value.retry == "resync"
    assert session.state is not None
    assert session.state.epoch == car.epoch
    assert car.executed == []
    retry = messages.command_request(session, build("CHARGING_AMPS", {"charging_amps": 10}))
    assert messages.parse_command_reply(session, retry, car.answer_command(retry.message, OK)).ok


def test_an_expired_command_is_refused_and_the_clock_resynced() -> None:
    session, car = _ready(Domain.INFOTAINMENT)
    car.clock_time += 600  # our clock offset is now ten minutes off
    request = messages.command_request(session, build("STOP_CHARGE"))
    with pytest.raises(SessionOutOfSync) as caught:
        messages.parse_command_reply(session, request, car.answer_command(request.message, OK))
    assert caught.value.fault == 17
    retry = messages.command_request(session, build("STOP_CHARGE"))
    assert messages.parse_command_reply(session, retry, car.answer_command(retry.message, OK)).ok


@pytest.mark.parametrize(
    ("fault", "kind", "retry"),
    [
        (1, CarBusy, "busy"),
        (2, CarBusy, "busy"),
        (11, CarBusy, "busy"),
        (3, KeyNotPaired, None),
        (4, KeyInactive, None),
        (5, SessionOutOfSync, "resync"),
        (6, SessionOutOfSync, "resync"),
        (7, InsufficientPrivileges, None),
        (20, SessionOutOfSync, "resync"),
        (21, RemoteAccessDisabled, None),
        (9, CarFault, None),
    ],
)
def test_each_fault_is_its_typed_error(fault: int, kind: type[CarFault], retry: str | None) -> None:
    session, car = _ready(Domain.INFOTAINMENT)
    request = messages.command_request(session, build("START_CHARGE"))
    with pytest.raises(kind) as caught:
        messages.parse_command_reply(session, request, car.answer_command(request.message, fault=fault))
    error = caught.value
    assert type(error) is kind
    assert isinstance(error, ApiError)
    assert isinstance(error, TeslalinkError)
    assert (error.fault, error.retry) == (fault, retry)
    assert error.fault_name in str(error)
    assert "HTTP 200" not in str(error)
    if kind is KeyNotPaired:
        assert f"https://tesla.com/_ak/example.com?vin={VIN}" in str(error)


def test_a_response_counter_seen_before_is_refused() -> None:
    session, car = _ready(Domain.INFOTAINMENT)
    request = messages.command_request(session, build("START_CHARGE"))
    reply = car.answer_command(request.message, OK)
    messages.parse_command_reply(session, request, reply)
    with pytest.raises(ResponseRejected, match="repeats"):
        messages.parse_command_reply(session, request, reply)


def test_an_altered_encrypted_answer_is_refused() -> None:
    session, car = _ready(Domain.INFOTAINMENT)
    request = messages.command_request(session, build("START_CHARGE"))
    reply = universal_message_pb2.RoutableMessage.FromString(car.answer_command(request.message, OK))
    reply.flags = 1  # the response flags are bound by the AES-GCM tag
    with pytest.raises(ResponseRejected):
        messages.parse_command_reply(session, request, reply.SerializeToString())


def test_an_answer_for_another_request_or_domain_or_garbage_is_malformed() -> None:
    session, car = _ready(Domain.INFOTAINMENT)
    first = messages.command_request(session, build("START_CHARGE"))
    second = messages.command_request(session, build("STOP_CHARGE"))
    reply_to_first = car.answer_command(first.message, OK)
    with pytest.raises(MalformedReply):
        messages.parse_command_reply(session, second, reply_to_first)
    other = universal_message_pb2.RoutableMessage.FromString(car.answer_command(second.message, OK))
    other.from_destination.domain = 2  # type: ignore[assignment]
    with pytest.raises(MalformedReply, match="domain"):
        messages.parse_command_reply(session, second, other.SerializeToString())
    with pytest.raises(MalformedReply):
        messages.parse_command_reply(session, second, b"\xff\xff\xff garbage")


def test_a_command_for_the_wrong_domain_or_without_a_session_is_refused() -> None:
    session, _car = _ready(Domain.INFOTAINMENT)
    with pytest.raises(VcpError, match="VEHICLE_SECURITY"):
        messages.command_request(session, build("LOCK"))
    fresh = Sessions(PartnerKey.generate()).session(VIN, Domain.INFOTAINMENT)
    with pytest.raises(VcpError, match="handshake first"):
        messages.command_request(fresh, build("START_CHARGE"))


def test_a_handshake_reply_with_a_forged_tag_is_refused() -> None:
    session = Sessions(PartnerKey.from_pem(CLIENT_KEY_PEM)).session(VIN, Domain.INFOTAINMENT)
    car = MirrorCar(VIN, Domain.INFOTAINMENT)
    request = messages.handshake_request(session)
    reply = universal_message_pb2.RoutableMessage.FromString(car.answer_handshake(request.message))
    reply.signature_data.session_info_tag.tag = bytes(32)
    from teslalink.cloud.vcp.faults import SessionInfoRejected

    with pytest.raises(SessionInfoRejected):
        messages.parse_handshake_reply(session, request, reply.SerializeToString())
    assert session.state is None
