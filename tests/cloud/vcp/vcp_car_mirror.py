"""A car domain written in the test, straight from protocol.md, to check our client against.

It shares no code with teslalink.cloud.vcp (only the protobuf bindings and `cryptography`): its TLV,
KDF, tags and encryption are re-derived here from the spec, so a mistake in the client cannot be
mirrored by the same mistake here.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tesla_protocol.command import signatures_pb2, universal_message_pb2
from vcp_vectors import VEHICLE_KEY_PEM


def tlv(*items: tuple[int, bytes]) -> bytes:
    return b"".join(bytes((tag, len(value))) + value for tag, value in items) + b"\xff"


def be32(value: int) -> bytes:
    return struct.pack(">I", value)


class MirrorCar:
    """One domain of one car: answers handshakes, verifies HMAC or AES-GCM commands, answers them."""

    def __init__(self, vin: str, domain: int, *, counter: int = 6, clock_time: int = 2650) -> None:
        private = serialization.load_pem_private_key(VEHICLE_KEY_PEM, password=None)
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        self.private = private
        self.vin = vin
        self.domain = domain
        self.epoch = os.urandom(16)
        self.counter = counter
        self.clock_time = clock_time
        self.response_counter = 0
        self.executed: list[bytes] = []

    @property
    def public_point(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def k(self, client_point: bytes) -> bytes:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), client_point)
        return hashlib.sha1(self.private.exchange(ec.ECDH(), peer)).digest()[:16]

    def reboot(self) -> None:
        self.epoch = os.urandom(16)
        self.counter = 0

    def session_info(self, *, status: int = 0) -> bytes:
        info = signatures_pb2.SessionInfo(
            counter=self.counter,
            publicKey=self.public_point,
            epoch=self.epoch,
            clock_time=self.clock_time,
            status=status,
        )
        return info.SerializeToString()

    def _reply(self, request: universal_message_pb2.RoutableMessage) -> universal_message_pb2.RoutableMessage:
        return universal_message_pb2.RoutableMessage(
            to_destination=universal_message_pb2.Destination(
                routing_address=request.from_destination.routing_address
            ),
            from_destination=universal_message_pb2.Destination(domain=self.domain),
            request_uuid=request.uuid,
            uuid=os.urandom(16),
        )

    def _attach_session_info(
        self,
        reply: universal_message_pb2.RoutableMessage,
        request: universal_message_pb2.RoutableMessage,
        k: bytes,
    ) -> None:
        info = self.session_info()
        key = hmac.new(k, b"session info", hashlib.sha256).digest()
        metadata = tlv((0, bytes((6,))), (2, self.vin.encode()), (6, request.uuid))
        reply.session_info = info
        reply.signature_data.session_info_tag.tag = hmac.new(key, metadata + info, hashlib.sha256).digest()

    def answer_handshake(self, data: bytes) -> bytes:
        request = universal_message_pb2.RoutableMessage.FromString(data)
        assert request.HasField("session_info_request")
        assert request.to_destination.domain == self.domain
        assert len(request.uuid) == 16
        assert len(request.from_destination.routing_address) == 16
        reply = self._reply(request)
        self._attach_session_info(reply, request, self.k(request.session_info_request.public_key))
        return reply.SerializeToString()

    def verify(self, data: bytes) -> tuple[universal_message_pb2.RoutableMessage, bytes, int]:
        """Check a signed command the way the spec says; returns (request, plaintext, fault)."""
        request = universal_message_pb2.RoutableMessage.FromString(data)
        sig = request.signature_data
        k = self.k(sig.signer_identity.public_key)
        if sig.HasField("HMAC_Personalized_data"):
            data_fields = sig.HMAC_Personalized_data
            kind = 8
        else:
            data_fields = sig.AES_GCM_Personalized_data  # type: ignore[assignment]
            kind = 5
        if bytes(data_fields.epoch) != self.epoch:
            return request, b"", 15
        if data_fields.expires_at < self.clock_time:
            return request, b"", 17
        if data_fields.counter <= self.counter:
            return request, b"", 6
        items = [
            (0, bytes((kind,))),
            (1, bytes((request.to_destination.domain,))),
            (2, self.vin.encode()),
            (3, self.epoch),
            (4, be32(data_fields.expires_at)),
            (5, be32(data_fields.counter)),
        ]
        if request.flags:
            items.append((7, be32(request.flags)))
        metadata = tlv(*items)
        if kind == 8:
            key = hmac.new(k, b"authenticated command", hashlib.sha256).digest()
            expected = hmac.new(key, metadata + request.protobuf_message_as_bytes, hashlib.sha256).digest()
            if not hmac.compare_digest(expected, data_fields.tag):
                return request, b"", 5
            plaintext = bytes(request.protobuf_message_as_bytes)
        else:
            aad = hashlib.sha256(metadata).digest()
            sealed = request.protobuf_message_as_bytes + data_fields.tag
            plaintext = AESGCM(k).decrypt(sig.AES_GCM_Personalized_data.nonce, sealed, aad)
        self.counter = data_fields.counter
        self.executed.append(plaintext)
        return request, plaintext, 0

    def answer_command(
        self, data: bytes, response: bytes = b"", *, encrypt: bool = True, fault: int | None = None
    ) -> bytes:
        """Verify `data`; answer `response` (encrypted if asked), or the fault with session info."""
        if fault is None:
            request, _plaintext, fault = self.verify(data)
        else:  # a forced fault: the car refuses without looking further
            request = universal_message_pb2.RoutableMessage.FromString(data)
        reply = self._reply(request)
        k = self.k(request.signature_data.signer_identity.public_key)
        if fault:
            reply.signedMessageStatus.operation_status = universal_message_pb2.OPERATIONSTATUS_ERROR
            reply.signedMessageStatus.signed_message_fault = fault  # type: ignore[assignment]
            if fault != 3:
                self._attach_session_info(reply, request, k)
            return reply.SerializeToString()
        if encrypt and request.flags & 2:
            sig = request.signature_data
            if sig.HasField("HMAC_Personalized_data"):
                request_hash = b"\x08" + sig.HMAC_Personalized_data.tag
            else:
                request_hash = b"\x05" + sig.AES_GCM_Personalized_data.tag
            if self.domain == 2:
                request_hash = request_hash[:17]
            self.response_counter += 1
            metadata = tlv(
                (0, bytes((9,))),
                (1, bytes((self.domain,))),
                (2, self.vin.encode()),
                (5, be32(self.response_counter)),
                (7, be32(0)),
                (8, request_hash),
                (9, be32(0)),
            )
            nonce = os.urandom(12)
            sealed = AESGCM(k).encrypt(nonce, response, hashlib.sha256(metadata).digest())
            reply.protobuf_message_as_bytes = sealed[:-16]
            reply.signature_data.AES_GCM_Response_data.nonce = nonce
            reply.signature_data.AES_GCM_Response_data.counter = self.response_counter
            reply.signature_data.AES_GCM_Response_data.tag = sealed[-16:]
        else:
            reply.protobuf_message_as_bytes = response
        return reply.SerializeToString()
