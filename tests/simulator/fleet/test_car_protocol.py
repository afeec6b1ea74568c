"""The simulated car's Vehicle Command Protocol, end to end, against a mirror client written here.

The mirror client (`Mirror`) is built in this file from protocol.md alone (ECDH, subkeys, the TLV,
HMAC, AES-GCM), without the car's vcp_crypto, so a shared mistake cannot hide: it handshakes,
checks the session-info tag, signs, sends to `CarSecurity.handle`, checks the reply and decrypts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tesla_protocol.command import (
    car_server_pb2,
    keys_pb2,
    signatures_pb2,
    universal_message_pb2,
    vcsec_pb2,
)

from teslalink.simulator import World
from teslalink.simulator.fleet import CarSecurity, inspect_request, security_of
from teslalink.simulator.vehicle.car import Car

from ..helpers import START

VCSEC, INFOTAINMENT = 2, 3
ENCRYPT_RESPONSE = 2
Msg = universal_message_pb2.RoutableMessage


def tlv(*items: tuple[int, bytes | None]) -> bytes:
    return b"".join(bytes((t, len(v))) + v for t, v in items if v is not None) + b"\xff"


def u32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def point(key: ec.EllipticCurvePrivateKey) -> bytes:
    numbers = key.public_key().public_numbers()
    return b"\x04" + numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")


@dataclass
class Session:
    key: bytes
    epoch: bytes
    counter: int
    clock_offset: float


class Mirror:
    """A client of the protocol, from the spec: one key, a session per domain."""

    def __init__(self, car: Car, *, flags: int = 0) -> None:
        self.car, self.vin, self.flags = car, car.vin, flags
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.public = point(self.private)
        self.address = os.urandom(16)
        self.sessions: dict[int, Session] = {}

    @property
    def security(self) -> CarSecurity:
        return security_of(self.car)

    def send(self, message: Msg) -> Msg:
        return Msg.FromString(self.security.handle(message.SerializeToString()))

    def verify_session_info(self, reply: Msg, challenge: bytes, domain: int) -> signatures_pb2.SessionInfo:
        """Check the tag with K from the car's key, then adopt the session (counter, epoch, clock)."""
        info = signatures_pb2.SessionInfo.FromString(reply.session_info)
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), info.publicKey)
        k = hashlib.sha1(self.private.exchange(ec.ECDH(), peer)).digest()[:16]
        session_key = hmac.new(k, b"session info", hashlib.sha256).digest()
        meta = tlv((0, b"\x06"), (2, self.vin.encode()), (6, challenge))
        expected = hmac.new(session_key, meta + reply.session_info, hashlib.sha256).digest()
        assert hmac.compare_digest(expected, reply.signature_data.session_info_tag.tag)
        now = self.car.world.now()
        self.sessions[domain] = Session(k, info.epoch, info.counter, now - info.clock_time)
        return info

    def handshake(self, domain: int) -> tuple[Msg, signatures_pb2.SessionInfo]:
        request = Msg(uuid=os.urandom(16))
        request.to_destination.domain = domain  # type: ignore[assignment]
        request.from_destination.routing_address = self.address
        request.session_info_request.public_key = self.public
        reply = self.send(request)
        assert reply.request_uuid == request.uuid
        assert reply.to_destination.routing_address == self.address
        assert reply.from_destination.domain == domain
        return reply, self.verify_session_info(reply, request.uuid, domain)

    def sign(
        self,
        domain: int,
        payload: bytes,
        *,
        lifetime: int = 10,
        counter: int | None = None,
        gcm: bool = False,
        vin: str | None = None,
    ) -> Msg:
        session = self.sessions[domain]
        if counter is None:
            session.counter += 1
            counter = session.counter
        expires = int(self.car.world.now() - session.clock_offset) + lifetime
        request = Msg(uuid=os.urandom(16), flags=self.flags)
        request.to_destination.domain = domain  # type: ignore[assignment]
        request.from_destination.routing_address = self.address
        request.signature_data.signer_identity.public_key = self.public
        meta_items: list[tuple[int, bytes | None]] = [
            (0, bytes((5 if gcm else 8,))),
            (1, bytes((domain,))),
            (2, (vin or self.vin).encode()),
            (3, session.epoch),
            (4, u32(expires)),
            (5, u32(counter)),
            (7, u32(self.flags) if self.flags else None),
        ]
        meta = tlv(*meta_items)
        if gcm:
            nonce = os.urandom(12)
            sealed = AESGCM(session.key).encrypt(nonce, payload, hashlib.sha256(meta).digest())
            request.protobuf_message_as_bytes = sealed[:-16]
            data = request.signature_data.AES_GCM_Personalized_data
            data.epoch, data.nonce, data.counter, data.expires_at, data.tag = (
                session.epoch,
                nonce,
                counter,
                expires,
                sealed[-16:],
            )
        else:
            request.protobuf_message_as_bytes = payload
            command_key = hmac.new(session.key, b"authenticated command", hashlib.sha256).digest()
            hdata = request.signature_data.HMAC_Personalized_data
            hdata.epoch, hdata.counter, hdata.expires_at = session.epoch, counter, expires
            hdata.tag = hmac.new(command_key, meta + payload, hashlib.sha256).digest()
        return request

    def open_reply(self, request: Msg, reply: Msg, domain: int) -> bytes:
        """The reply's plaintext: decrypted with the AAD of protocol.md when it is encrypted."""
        assert reply.request_uuid == request.uuid
        assert reply.signedMessageStatus.signed_message_fault == 0
        if not reply.signature_data.HasField("AES_GCM_Response_data"):
            return reply.protobuf_message_as_bytes
        data = reply.signature_data.AES_GCM_Response_data
        sig = request.signature_data
        if sig.HasField("HMAC_Personalized_data"):
            tag = sig.HMAC_Personalized_data.tag
            request_hash = b"\x08" + (tag[:16] if domain == VCSEC else tag)
        else:
            request_hash = b"\x05" + sig.AES_GCM_Personalized_data.tag
        meta = tlv(
            (0, b"\x09"),
            (1, bytes((reply.from_destination.domain,))),
            (2, self.vin.encode()),
            (5, u32(data.counter)),
            (7, u32(reply.flags)),
            (8, request_hash),
            (9, u32(reply.signedMessageStatus.signed_message_fault)),
        )
        aad = hashlib.sha256(meta).digest()
        return AESGCM(self.sessions[domain].key).decrypt(
            data.nonce, reply.protobuf_message_as_bytes + data.tag, aad
        )

    def command(self, domain: int, payload: bytes, **options: object) -> bytes:
        request = self.sign(domain, payload, **options)  # type: ignore[arg-type]
        return self.open_reply(request, self.send(request), domain)


def set_amps(amps: int) -> bytes:
    action = car_server_pb2.Action()
    action.vehicleAction.setChargingAmpsAction.charging_amps = amps
    return action.SerializeToString()


def rke(which: int) -> bytes:
    return vcsec_pb2.UnsignedMessage(RKEAction=which).SerializeToString()  # type: ignore[arg-type]


LOCK = rke(vcsec_pb2.RKE_ACTION_LOCK)
UNLOCK = rke(vcsec_pb2.RKE_ACTION_UNLOCK)


@pytest.fixture
def world() -> World:
    return World(seed=7, speed=0.0, start=START)


@pytest.fixture
def car(world: World) -> Car:
    account = world.add_account("owner@example.com", "pw")
    return world.add_vehicle(account, signed_commands_required=True, charge_limit_soc=80)


@pytest.fixture
def client(car: Car) -> Mirror:
    mirror = Mirror(car, flags=ENCRYPT_RESPONSE)
    security_of(car).pair(mirror.public)
    return mirror


def fault_of(reply: Msg) -> int:
    return int(reply.signedMessageStatus.signed_message_fault)


def action_status(payload: bytes) -> car_server_pb2.ActionStatus:
    return car_server_pb2.Response.FromString(payload).actionStatus


# --- the round trip ---------------------------------------------------------------------------------


def test_signed_commands_set_the_amps_and_lock_the_car_the_rest_twin_shows(car: Car, client: Mirror) -> None:
    client.handshake(INFOTAINMENT)
    client.handshake(VCSEC)
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] != 13
    status = action_status(client.command(INFOTAINMENT, set_amps(13)))
    assert status.result == car_server_pb2.OPERATIONSTATUS_OK
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 13

    assert client.command(VCSEC, UNLOCK) == b""  # an empty FromVCSECMessage is success
    assert car.vehicle_data(["vehicle_state"])["vehicle_state"]["locked"] is False
    assert client.command(VCSEC, LOCK) == b""
    assert car.vehicle_data(["vehicle_state"])["vehicle_state"]["locked"] is True


def test_the_handshake_reply_carries_the_domains_own_key_and_a_fresh_epoch(car: Car, client: Mirror) -> None:
    _, infotainment = client.handshake(INFOTAINMENT)
    _, vcsec = client.handshake(VCSEC)
    assert infotainment.status == signatures_pb2.SESSION_INFO_STATUS_OK
    assert infotainment.publicKey != vcsec.publicKey
    assert infotainment.epoch != vcsec.epoch
    assert len(infotainment.epoch) == 16
    assert infotainment.publicKey == security_of(car).public_key(INFOTAINMENT)


def test_the_keys_and_epochs_replay_with_the_seed(car: Car) -> None:
    again = World(seed=7, speed=0.0, start=START)
    twin = again.add_vehicle(again.add_account("owner@example.com", "pw"), vin=car.vin)
    for domain in (VCSEC, INFOTAINMENT):
        assert security_of(twin).public_key(domain) == security_of(car).public_key(domain)
        assert security_of(twin).domains[domain].epoch == security_of(car).domains[domain].epoch


def test_a_refused_action_answers_the_rest_twins_reason(car: Car, client: Mirror) -> None:
    client.handshake(INFOTAINMENT)
    action = car_server_pb2.Action()
    action.vehicleAction.chargingStartStopAction.stop.SetInParent()
    status = action_status(client.command(INFOTAINMENT, action.SerializeToString()))
    assert status.result == car_server_pb2.OPERATIONSTATUS_ERROR
    assert status.result_reason.plain_text == "not_charging"  # the REST twin's reason


def test_charge_limit_hvac_port_door_and_ping(car: Car, client: Mirror) -> None:
    client.handshake(INFOTAINMENT)
    limit = car_server_pb2.Action()
    limit.vehicleAction.chargingSetLimitAction.percent = 90
    assert action_status(client.command(INFOTAINMENT, limit.SerializeToString())).result == 0
    hvac = car_server_pb2.Action()
    hvac.vehicleAction.hvacAutoAction.power_on = True
    assert action_status(client.command(INFOTAINMENT, hvac.SerializeToString())).result == 0
    door = car_server_pb2.Action()
    door.vehicleAction.chargePortDoorOpen.SetInParent()
    assert action_status(client.command(INFOTAINMENT, door.SerializeToString())).result == 0
    data = car.vehicle_data(["charge_state", "climate_state"])
    assert data["charge_state"]["charge_limit_soc"] == 90
    assert data["charge_state"]["charge_port_door_open"] is True
    assert data["climate_state"]["is_climate_on"] is True
    ping = car_server_pb2.Action()
    ping.vehicleAction.ping.ping_id = 42
    answer = car_server_pb2.Response.FromString(client.command(INFOTAINMENT, ping.SerializeToString()))
    assert answer.ping.ping_id == 42


def test_vcsec_opens_the_frunk_and_the_charge_port(car: Car, client: Mirror) -> None:
    client.handshake(VCSEC)
    frunk = vcsec_pb2.UnsignedMessage()
    frunk.closureMoveRequest.frontTrunk = vcsec_pb2.CLOSURE_MOVE_TYPE_OPEN
    assert client.command(VCSEC, frunk.SerializeToString()) == b""
    port = vcsec_pb2.UnsignedMessage()
    port.closureMoveRequest.chargePort = vcsec_pb2.CLOSURE_MOVE_TYPE_OPEN
    assert client.command(VCSEC, port.SerializeToString()) == b""
    data = car.vehicle_data(["vehicle_state", "charge_state"])
    assert data["vehicle_state"]["ft"] != 0
    assert data["charge_state"]["charge_port_door_open"] is True
    tonneau = vcsec_pb2.UnsignedMessage()
    tonneau.closureMoveRequest.tonneau = vcsec_pb2.CLOSURE_MOVE_TYPE_OPEN
    assert fault_of(client.send(client.sign(VCSEC, tonneau.SerializeToString()))) == 9


def test_the_aes_gcm_variant_is_verified_too(car: Car, client: Mirror) -> None:
    client.handshake(INFOTAINMENT)
    assert action_status(client.command(INFOTAINMENT, set_amps(9), gcm=True)).result == 0
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 9


# --- response encryption ----------------------------------------------------------------------------


def test_the_reply_is_encrypted_when_the_request_asks(client: Mirror) -> None:
    client.handshake(INFOTAINMENT)
    request = client.sign(INFOTAINMENT, set_amps(10))
    reply = client.send(request)
    assert reply.signature_data.HasField("AES_GCM_Response_data")
    assert reply.protobuf_message_as_bytes != car_server_pb2.Response(actionStatus={}).SerializeToString()
    assert action_status(client.open_reply(request, reply, INFOTAINMENT)).result == 0


def test_vcsec_replies_are_encrypted_with_the_truncated_request_hash(client: Mirror) -> None:
    client.handshake(VCSEC)
    request = client.sign(VCSEC, LOCK)
    reply = client.send(request)
    assert reply.signature_data.HasField("AES_GCM_Response_data")
    assert client.open_reply(request, reply, VCSEC) == b""


def test_no_encryption_without_the_flag_or_on_old_firmware(car: Car, client: Mirror) -> None:
    plain = Mirror(car, flags=0)
    security_of(car).pair(plain.public)
    plain.handshake(INFOTAINMENT)
    reply = plain.send(plain.sign(INFOTAINMENT, set_amps(11)))
    assert not reply.signature_data.HasField("AES_GCM_Response_data")
    assert action_status(reply.protobuf_message_as_bytes).result == 0

    security_of(car).old_firmware = True
    client.handshake(INFOTAINMENT)
    reply = client.send(client.sign(INFOTAINMENT, set_amps(12)))
    assert not reply.signature_data.HasField("AES_GCM_Response_data")
    assert action_status(reply.protobuf_message_as_bytes).result == 0


# --- faults -----------------------------------------------------------------------------------------


def assert_signed_fault(client: Mirror, request: Msg, reply: Msg, code: int, domain: int) -> None:
    """The fault code, and fresh session info whose tag checks out with the request's uuid."""
    assert fault_of(reply) == code
    assert reply.signedMessageStatus.operation_status == universal_message_pb2.OPERATIONSTATUS_ERROR
    assert reply.request_uuid == request.uuid
    client.verify_session_info(reply, request.uuid, domain)


@pytest.mark.parametrize("domain", [INFOTAINMENT, VCSEC])
def test_a_replayed_command_is_refused_with_fresh_session_info(client: Mirror, domain: int) -> None:
    client.handshake(domain)
    request = client.sign(domain, set_amps(8) if domain == INFOTAINMENT else LOCK)
    assert fault_of(client.send(request)) == 0
    replay = client.send(request)
    assert_signed_fault(client, request, replay, 6, domain)


def test_infotainment_accepts_out_of_order_counters_and_vcsec_does_not(client: Mirror) -> None:
    for domain, payload, ok in ((INFOTAINMENT, set_amps(8), 0), (VCSEC, LOCK, 6)):
        client.handshake(domain)
        first = client.sign(domain, payload)
        second = client.sign(domain, payload)
        assert fault_of(client.send(second)) == 0
        assert fault_of(client.send(first)) == ok


def test_an_out_of_order_counter_needs_a_short_lifetime(client: Mirror) -> None:
    client.handshake(INFOTAINMENT)
    late = client.sign(INFOTAINMENT, set_amps(8), lifetime=60)
    assert fault_of(client.send(client.sign(INFOTAINMENT, set_amps(8)))) == 0
    assert_signed_fault(client, late, client.send(late), 20, INFOTAINMENT)


def test_an_expired_command_is_refused(car: Car, client: Mirror) -> None:
    client.handshake(INFOTAINMENT)
    request = client.sign(INFOTAINMENT, set_amps(8), lifetime=5)
    car.world.advance(6)
    assert_signed_fault(client, request, client.send(request), 17, INFOTAINMENT)


def test_counter_zero_needs_a_short_lifetime(client: Mirror) -> None:
    client.handshake(INFOTAINMENT)
    request = client.sign(INFOTAINMENT, set_amps(8), counter=0, lifetime=60)
    assert_signed_fault(client, request, client.send(request), 20, INFOTAINMENT)
    assert fault_of(client.send(client.sign(INFOTAINMENT, set_amps(8), counter=0, lifetime=20))) == 0


def test_after_a_reboot_the_old_epoch_is_refused_and_the_fault_resyncs(car: Car, client: Mirror) -> None:
    client.handshake(INFOTAINMENT)
    old_epoch = client.sessions[INFOTAINMENT].epoch
    security_of(car).reboot()
    request = client.sign(INFOTAINMENT, set_amps(14))
    reply = client.send(request)
    assert_signed_fault(client, request, reply, 15, INFOTAINMENT)
    assert client.sessions[INFOTAINMENT].epoch != old_epoch
    assert action_status(client.command(INFOTAINMENT, set_amps(14))).result == 0
    assert car.vehicle_data(["charge_state"])["charge_state"]["charge_current_request"] == 14


def test_a_bad_hmac_is_refused(client: Mirror) -> None:
    client.handshake(INFOTAINMENT)
    request = client.sign(INFOTAINMENT, set_amps(8))
    request.protobuf_message_as_bytes = set_amps(32)  # tampered after signing
    assert_signed_fault(client, request, client.send(request), 5, INFOTAINMENT)


def test_an_unknown_key_gets_key_not_on_whitelist_then_fault_3(car: Car, client: Mirror) -> None:
    stranger = Mirror(car)
    request = Msg(uuid=os.urandom(16))
    request.to_destination.domain = INFOTAINMENT  # type: ignore[assignment]
    request.session_info_request.public_key = stranger.public
    info = signatures_pb2.SessionInfo.FromString(stranger.send(request).session_info)
    assert info.status == signatures_pb2.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST
    assert info.publicKey == b""
    client.handshake(INFOTAINMENT)
    stranger.sessions[INFOTAINMENT] = client.sessions[INFOTAINMENT]  # borrowed numbers, wrong key
    assert fault_of(stranger.send(stranger.sign(INFOTAINMENT, set_amps(8)))) == 3


def test_the_unknown_key_knobs(car: Car) -> None:
    stranger = Mirror(car)
    request = Msg(uuid=os.urandom(16))
    request.to_destination.domain = VCSEC  # type: ignore[assignment]
    request.session_info_request.public_key = stranger.public
    security_of(car).unknown_key_public_key = True
    info = signatures_pb2.SessionInfo.FromString(stranger.send(request).session_info)
    assert info.publicKey == security_of(car).public_key(VCSEC)
    security_of(car).unknown_key_fault = True
    reply = stranger.send(request)
    assert (fault_of(reply), reply.session_info, reply.request_uuid) == (3, b"", request.uuid)


def test_an_unpaired_key_is_unknown_and_an_inactive_one_is_refused(car: Car, client: Mirror) -> None:
    client.handshake(INFOTAINMENT)
    security_of(car).set_active(client.public, False)
    assert fault_of(client.send(client.sign(INFOTAINMENT, set_amps(8)))) == 4
    security_of(car).unpair(client.public)
    assert fault_of(client.send(client.sign(INFOTAINMENT, set_amps(8)))) == 3


def test_wrong_vin_mobile_access_role_and_unknown_action(world: World, car: Car, client: Mirror) -> None:
    other = world.add_vehicle(car.account)
    client.handshake(INFOTAINMENT)
    assert fault_of(client.send(client.sign(INFOTAINMENT, set_amps(8), vin=other.vin))) == 12
    car.account.mobile_access = False
    assert fault_of(client.send(client.sign(INFOTAINMENT, set_amps(8)))) == 21
    car.account.mobile_access = True
    monitor = Mirror(car)
    security_of(car).pair(monitor.public, role=keys_pb2.ROLE_VEHICLE_MONITOR)
    monitor.handshake(INFOTAINMENT)
    assert fault_of(monitor.send(monitor.sign(INFOTAINMENT, set_amps(8)))) == 7
    unknown = car_server_pb2.Action()
    unknown.vehicleAction.setLowPowerModeAction.SetInParent()  # not implemented by the twin
    assert fault_of(client.send(client.sign(INFOTAINMENT, unknown.SerializeToString()))) == 9


def test_garbage_and_unknown_domains_are_faults_not_exceptions(car: Car) -> None:
    security = security_of(car)
    assert fault_of(Msg.FromString(security.handle(b"\xff\xff\xff"))) == 10
    request = Msg(uuid=os.urandom(16))
    request.to_destination.domain = 7  # type: ignore[assignment]
    assert fault_of(Msg.FromString(security.handle(request.SerializeToString()))) == 8


def test_reachable_follows_the_car_without_waking_it(car: Car) -> None:
    security = security_of(car)
    assert security.reachable()
    car.fall_asleep()
    wakes = car.wake_count
    assert not security.reachable()
    assert car.wake_count == wakes
    car.wake_up()
    car.world.advance(60)
    assert security.reachable()
    car.go_offline()
    assert not security.reachable()


def test_the_fleet_api_can_read_the_action_and_its_scopes_before_the_car(client: Mirror) -> None:
    client.handshake(INFOTAINMENT)
    client.handshake(VCSEC)
    amps = inspect_request(client.sign(INFOTAINMENT, set_amps(8)).SerializeToString())
    assert amps is not None
    assert amps.action is not None
    assert amps.action.name == "set_charging_amps"
    assert amps.accepted_scopes == {"vehicle_cmds", "vehicle_charging_cmds"}
    lock = inspect_request(client.sign(VCSEC, LOCK).SerializeToString())
    assert lock is not None
    assert lock.accepted_scopes == {"vehicle_cmds"}
    gcm = inspect_request(client.sign(INFOTAINMENT, set_amps(8), gcm=True).SerializeToString())
    assert gcm is not None
    assert (gcm.aes_gcm, gcm.action) == (True, None)
    assert inspect_request(b"\xff\xff") is None


def test_pairing_refuses_what_is_not_a_p256_point(car: Car) -> None:
    security = security_of(car)
    with pytest.raises(ValueError, match="P-256"):
        security.pair(b"\x04" + bytes(63))
    with pytest.raises(ValueError, match="not on the curve"):
        security.pair(b"\x04" + bytes(64))
    assert security.whitelist == {}
    assert security_of(car) is security
