"""The simulated car's side of the Vehicle Command Protocol: its domains, its key whitelist, `handle`.

Each car has, per domain (VCSEC = 2, Infotainment = 3), its own P-256 key pair (derived from the
world's seed and the VIN, so a scenario replays), a 16-byte epoch, the epoch's start in world time
(the domain's clock is the seconds since it), and, per client key, the counter high-water mark with
a 32-wide sliding replay window (VCSEC: strictly increasing). The whitelist (public key, role, form
factor, active) is the car's, shared by both domains. `reboot()` rotates the epochs.

`handle(routable_message_bytes)` is the car's answer to one RoutableMessage as research/fleet.md
2.5-2.8 and 7 (items 11-15) describe, after Tesla's protocol.md and reference verifier: a handshake
gets the signed session info; a command is verified (domain, key, epoch, expiry, TTL, HMAC or
AES-GCM, replay window), applied to the car through .car_actions, and answered, encrypted when the
request asks and the firmware knob allows. Signature-class faults carry fresh signed session info.

The HTTP layer (a later step: ``POST /api/1/vehicles/{vin}/signed_command``) answers 408 for a
car that is asleep or offline before calling `handle` (see `reachable`); a `Refusal` the car
raises while applying a command (in service, asleep) propagates for it to answer.
"""

from __future__ import annotations

import hashlib
import os
import random
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from google.protobuf.message import DecodeError
from tesla_protocol.command import keys_pb2, signatures_pb2, universal_message_pb2, vcsec_pb2

from . import vcp_crypto as crypto
from .car_actions import (
    CHARGING_COMMANDS,
    DOMAIN_INFOTAINMENT,
    DOMAIN_VCSEC,
    FAULT_INSUFFICIENT_PRIVILEGES,
    AppAction,
    decode_action,
    encode_message,
    role_allows,
    run_action,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec

    from ..vehicle.car import Car

__all__ = [
    "DOMAINS",
    "SCOPE_CHARGING",
    "SCOPE_COMMANDS",
    "CarSecurity",
    "DomainSecurity",
    "KeyEntry",
    "RequestView",
    "inspect_request",
    "security_of",
]

RoutableMessage = universal_message_pb2.RoutableMessage

DOMAINS: Final = (DOMAIN_VCSEC, DOMAIN_INFOTAINMENT)
EPOCH_LENGTH_S: Final = 2**30
MAX_TTL_WITHOUT_COUNTER_S: Final = 30
WINDOW_SIZE: Final = 32
COUNTER_MAX: Final = 0xFFFFFFFF
FLAG_ENCRYPT_RESPONSE: Final = 1 << universal_message_pb2.FLAG_ENCRYPT_RESPONSE

# MessageFault_E
FAULT_UNKNOWN_KEY_ID: Final = 3
FAULT_INACTIVE_KEY: Final = 4
FAULT_INVALID_SIGNATURE: Final = 5
FAULT_INVALID_TOKEN_OR_COUNTER: Final = 6
FAULT_INVALID_DOMAINS: Final = 8
FAULT_DECODING: Final = 10
FAULT_WRONG_PERSONALIZATION: Final = 12
FAULT_BAD_PARAMETER: Final = 13
FAULT_INCORRECT_EPOCH: Final = 15
FAULT_TIME_EXPIRED: Final = 17
FAULT_TIME_TO_LIVE_TOO_LONG: Final = 20
FAULT_REMOTE_ACCESS_DISABLED: Final = 21


@dataclass(slots=True)
class KeyEntry:
    """One whitelisted key. Our choice: a key paired from the app is a fleet-manager cloud key."""

    public_key: bytes
    role: int = keys_pb2.ROLE_FM
    form_factor: int = vcsec_pb2.KEY_FORM_FACTOR_CLOUD_KEY
    active: bool = True
    paired_at: float = 0.0
    """World time of the pairing (fleet_status lists the key only after the pairing lag)."""


@dataclass(slots=True)
class CounterWindow:
    """The highest counter seen from one key in one epoch, and which of the 32 below it were used."""

    high: int = 0
    seen: int = 0

    def accept(self, counter: int, *, strictly_increasing: bool) -> bool:
        """Record `counter` (> 0) if it was never used; False for a replay or one too old to judge."""
        if counter > self.high:
            shift = counter - self.high
            self.seen = ((self.seen << shift) | (1 << (shift - 1))) & ((1 << WINDOW_SIZE) - 1)
            self.high = counter
            return True
        age = self.high - counter
        if strictly_increasing or age == 0 or age > WINDOW_SIZE or self.seen >> (age - 1) & 1:
            return False
        self.seen |= 1 << (age - 1)
        return True


@dataclass(slots=True)
class DomainSecurity:
    """One domain's key pair, epoch and clock, and the counter windows of the keys that used it."""

    domain: int
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    epoch: bytes
    epoch_start: float
    windows: dict[bytes, CounterWindow] = field(default_factory=dict)

    @property
    def public_key(self) -> bytes:
        return crypto.encode_public(self.private_key.public_key())

    def clock_time(self, now: float) -> int:
        """Seconds since the epoch started, in world time."""
        return int(now - self.epoch_start)

    def window(self, key: bytes) -> CounterWindow:
        return self.windows.setdefault(key, CounterWindow())

    def start_epoch(self, epoch: bytes, now: float) -> None:
        self.epoch, self.epoch_start = epoch, now
        self.windows.clear()

    def needs_new_epoch(self, now: float) -> bool:
        """The epoch ends after 2^30 s or when a key's counter reaches the top (as Tesla's verifier)."""
        return self.clock_time(now) > EPOCH_LENGTH_S or any(
            w.high == COUNTER_MAX for w in self.windows.values()
        )

    def session_info(self, now: float, key: bytes, *, known: bool, with_public_key: bool) -> bytes:
        """The encoded SessionInfo for `key`: its counter, our key, epoch, clock and status."""
        info = signatures_pb2.SessionInfo(
            counter=self.window(key).high if known else 0,
            epoch=self.epoch,
            clock_time=self.clock_time(now),
            status=signatures_pb2.SESSION_INFO_STATUS_OK
            if known
            else signatures_pb2.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST,
        )
        if with_public_key:
            info.publicKey = self.public_key
        return encode_message(info)


class _Fault(Exception):
    """A command refused with a MessageFault_E; `signed` ones carry fresh session info."""

    def __init__(self, code: int, *, signed: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.signed = signed


@dataclass(slots=True)
class _Verified:
    plaintext: bytes
    request_hash: bytes
    counter: int


class CarSecurity:
    """The Vehicle Command Protocol state of one car and its answer to each RoutableMessage.

    Knobs: `old_firmware` (before 2024.38: FLAG_ENCRYPT_RESPONSE is ignored, replies are plain);
    `unknown_key_public_key` (whether a handshake from an unknown key still carries our public key;
    our choice: omitted by default, as tesla-fleet-api 1.18.1 says a real car does);
    `unknown_key_fault` (answer such a handshake with fault 3 instead of the status, the other
    answer research/fleet.md 7.12 allows).
    """

    def __init__(self, car: Car) -> None:
        self.car = car
        self.vin = car.vin
        self._seed = car.world.seed
        self.boots = 0
        self.whitelist: dict[bytes, KeyEntry] = {}
        self.old_firmware = False
        self.unknown_key_public_key = False
        self.unknown_key_fault = False
        now = car.world.now()
        # Our choice: the domains booted a seeded while before the twin first looks (0-24 h).
        uptime = random.Random(f"teslalink:vcp:{self._seed}:{self.vin}:uptime").uniform(600.0, 86_400.0)
        self.domains = {
            d: DomainSecurity(
                d,
                crypto.derive_private_key("teslalink:vcp", self._seed, self.vin, d),
                self._epoch(d),
                now - uptime,
            )
            for d in DOMAINS
        }

    def __repr__(self) -> str:
        return f"CarSecurity(vin={self.vin!r}, keys={len(self.whitelist)}, boots={self.boots})"

    # --- knobs ------------------------------------------------------------------------------------

    def public_key(self, domain: int) -> bytes:
        """The domain's 65-byte public key (what a handshake's SessionInfo carries)."""
        return self.domains[domain].public_key

    def pair(
        self,
        public_key: bytes,
        *,
        role: int = keys_pb2.ROLE_FM,
        form_factor: int = vcsec_pb2.KEY_FORM_FACTOR_CLOUD_KEY,
    ) -> KeyEntry:
        """Add a 65-byte P-256 public key to the whitelist (ValueError if it is not one)."""
        crypto.load_public(public_key)
        entry = KeyEntry(bytes(public_key), role, form_factor, paired_at=self.car.world.now())
        self.whitelist[entry.public_key] = entry
        return entry

    def unpair(self, public_key: bytes) -> bool:
        """Remove the key (and its sessions); False if it was not paired."""
        for domain in self.domains.values():
            domain.windows.pop(bytes(public_key), None)
        return self.whitelist.pop(bytes(public_key), None) is not None

    def set_active(self, public_key: bytes, active: bool) -> None:
        """Deactivate (fault 4) or reactivate a paired key; KeyError if it is not paired."""
        self.whitelist[bytes(public_key)].active = active

    def reboot(self) -> None:
        """The car restarts: every domain gets a new epoch, its clock restarts at 0, counters reset."""
        self.boots += 1
        now = self.car.world.now()
        for d, domain in self.domains.items():
            domain.start_epoch(self._epoch(d), now)

    def reachable(self) -> bool:
        """Can a signed command reach the car now (online: connected and awake)? Never wakes it."""
        return self.car.is_online

    def _epoch(self, domain: int) -> bytes:
        """A 16-byte epoch per boot; our choice: seeded (world seed, VIN, domain, boot) to replay."""
        return hashlib.sha256(
            f"teslalink:vcp:{self._seed}:{self.vin}:{domain}:{self.boots}".encode()
        ).digest()[:16]

    def _now(self, domain: DomainSecurity) -> float:
        now = self.car.world.now()
        if domain.needs_new_epoch(now):
            self.boots += 1
            domain.start_epoch(self._epoch(domain.domain), now)
        return now

    # --- the protocol ---------------------------------------------------------------------------

    def handle(self, routable_message: bytes) -> bytes:
        """The car's answer (encoded RoutableMessage) to one encoded RoutableMessage."""
        try:
            request = RoutableMessage.FromString(routable_message)
        except DecodeError:
            return _bare_fault(FAULT_DECODING)
        domain = self.domains.get(request.to_destination.domain)
        if domain is None:
            return _bare_fault(FAULT_INVALID_DOMAINS, request)
        if request.WhichOneof("payload") == "session_info_request":
            return self._handshake(request, domain)
        try:
            return self._command(request, domain)
        except _Fault as fault:
            return encode_message(self._fault_reply(request, domain, fault))

    def _reply(self, request: RoutableMessage, domain: DomainSecurity) -> RoutableMessage:
        """Addresses swapped, request_uuid = the request's uuid (always, VCSEC too), a new uuid."""
        reply = RoutableMessage(request_uuid=request.uuid, uuid=os.urandom(16))
        reply.to_destination.CopyFrom(request.from_destination)
        reply.from_destination.domain = domain.domain  # type: ignore[assignment]
        return reply

    def _sign_session_info(
        self, reply: RoutableMessage, request: RoutableMessage, domain: DomainSecurity, key: bytes
    ) -> None:
        """Put our fresh session info for `key` and its tag (challenge: the request's uuid) in `reply`."""
        known = key in self.whitelist
        info = domain.session_info(
            self._now(domain), key, known=known, with_public_key=known or self.unknown_key_public_key
        )
        reply.session_info = info
        shared = crypto.shared_key(domain.private_key, key)
        tag = crypto.session_info_tag(shared, self.vin, request.uuid, info)
        reply.signature_data.session_info_tag.tag = tag

    def _handshake(self, request: RoutableMessage, domain: DomainSecurity) -> bytes:
        """Session info for any valid point; our choice: an inactive key still handshakes (status
        OK: it is on the whitelist) and meets fault 4 at its first command."""
        key = request.session_info_request.public_key
        try:
            crypto.load_public(key)
        except ValueError:
            return _bare_fault(FAULT_BAD_PARAMETER, request, domain.domain)
        if self.unknown_key_fault and key not in self.whitelist:
            return _bare_fault(FAULT_UNKNOWN_KEY_ID, request, domain.domain)
        reply = self._reply(request, domain)
        self._sign_session_info(reply, request, domain, key)
        return encode_message(reply)

    def _fault_reply(
        self, request: RoutableMessage, domain: DomainSecurity, fault: _Fault
    ) -> RoutableMessage:
        reply = self._reply(request, domain)
        reply.signedMessageStatus.operation_status = universal_message_pb2.OPERATIONSTATUS_ERROR
        reply.signedMessageStatus.signed_message_fault = fault.code  # type: ignore[assignment]
        if fault.signed:
            self._sign_session_info(reply, request, domain, _signer(request))
        return reply

    def _command(self, request: RoutableMessage, domain: DomainSecurity) -> bytes:
        key = _signer(request)
        entry = self.whitelist.get(key)
        if entry is None:
            raise _Fault(FAULT_UNKNOWN_KEY_ID)
        if not entry.active:
            raise _Fault(FAULT_INACTIVE_KEY)
        verified = self._verify(request, domain, key)
        if not self.car.account.mobile_access:
            raise _Fault(FAULT_REMOTE_ACCESS_DISABLED)
        action = decode_action(domain.domain, verified.plaintext)
        if isinstance(action, int):
            raise _Fault(action)
        if not role_allows(entry.role, action.name):
            raise _Fault(FAULT_INSUFFICIENT_PRIVILEGES)
        reply = self._reply(request, domain)
        payload = run_action(self.car, action)
        if request.flags & FLAG_ENCRYPT_RESPONSE and not self.old_firmware:
            self._encrypt(reply, domain, key, payload, verified)
        else:
            reply.protobuf_message_as_bytes = payload
        return encode_message(reply)

    def _verify(self, request: RoutableMessage, domain: DomainSecurity, key: bytes) -> _Verified:
        """Tesla's verifier's checks, in its order; raises _Fault, returns the authenticated plaintext."""
        sig = request.signature_data
        kind = sig.WhichOneof("sig_type")
        if kind == "HMAC_Personalized_data":
            data: (
                signatures_pb2.HMAC_Personalized_Signature_Data
                | signatures_pb2.AES_GCM_Personalized_Signature_Data
            )
            data, sig_type = sig.HMAC_Personalized_data, crypto.HMAC_PERSONALIZED
        elif kind == "AES_GCM_Personalized_data":
            data, sig_type = sig.AES_GCM_Personalized_data, crypto.AES_GCM_PERSONALIZED
        else:
            raise _Fault(FAULT_BAD_PARAMETER)
        now = self._now(domain)
        self._check_freshness(domain, data, now, key)
        shared = crypto.shared_key(domain.private_key, key)
        plaintext = self._authenticate(request, domain, shared, sig_type)
        if data.counter > 0 and not domain.window(key).accept(
            data.counter, strictly_increasing=domain.domain == DOMAIN_VCSEC
        ):
            raise _Fault(FAULT_INVALID_TOKEN_OR_COUNTER, signed=True)
        vcsec = domain.domain == DOMAIN_VCSEC
        return _Verified(plaintext, crypto.request_hash(sig_type, data.tag, vcsec=vcsec), data.counter)

    def _check_freshness(
        self,
        domain: DomainSecurity,
        data: signatures_pb2.HMAC_Personalized_Signature_Data
        | signatures_pb2.AES_GCM_Personalized_Signature_Data,
        now: float,
        key: bytes,
    ) -> None:
        """Epoch, expiry, the 2^30 bound, and the 30 s TTL for counter 0 or an out-of-order counter."""
        clock = domain.clock_time(now)
        if data.epoch and data.epoch != domain.epoch:
            raise _Fault(FAULT_INCORRECT_EPOCH, signed=True)
        if data.expires_at != 0 and data.expires_at < clock:
            raise _Fault(FAULT_TIME_EXPIRED, signed=True)
        if data.expires_at > EPOCH_LENGTH_S:
            raise _Fault(FAULT_BAD_PARAMETER, signed=True)
        if (data.counter == 0 or data.counter < domain.window(key).high) and (
            data.expires_at == 0 or data.expires_at - clock > MAX_TTL_WITHOUT_COUNTER_S
        ):
            raise _Fault(FAULT_TIME_TO_LIVE_TOO_LONG, signed=True)

    def _authenticate(
        self, request: RoutableMessage, domain: DomainSecurity, shared: bytes, sig_type: int
    ) -> bytes:
        """The plaintext if the tag checks out under our VIN; fault 12 if it does under another car's
        VIN of the world (our choice: how a car tells a wrong personalization), else fault 5."""
        if self._tag_valid(request, domain, shared, sig_type, self.vin):
            return self._plaintext(request, domain, shared, sig_type, self.vin)
        others = (car.vin for car in self.car.world.vehicles if car.vin != self.vin)
        if any(self._tag_valid(request, domain, shared, sig_type, vin) for vin in others):
            raise _Fault(FAULT_WRONG_PERSONALIZATION)
        raise _Fault(FAULT_INVALID_SIGNATURE, signed=True)

    def _fields(
        self, request: RoutableMessage, domain: DomainSecurity, sig_type: int, vin: str
    ) -> crypto.CommandFields:
        sig = request.signature_data
        data = (
            sig.HMAC_Personalized_data
            if sig_type == crypto.HMAC_PERSONALIZED
            else sig.AES_GCM_Personalized_data
        )
        # The car's own epoch goes into the metadata (Tesla's verifier), whether the client sent it.
        return crypto.CommandFields(
            sig_type, domain.domain, vin, domain.epoch, data.expires_at, data.counter, request.flags
        )

    def _tag_valid(
        self, request: RoutableMessage, domain: DomainSecurity, shared: bytes, sig_type: int, vin: str
    ) -> bool:
        try:
            self._plaintext(request, domain, shared, sig_type, vin)
        except crypto.DecryptError:
            return False
        return True

    def _plaintext(
        self, request: RoutableMessage, domain: DomainSecurity, shared: bytes, sig_type: int, vin: str
    ) -> bytes:
        """The payload authenticated under `vin` (HMAC: as sent; AES-GCM: decrypted), or DecryptError."""
        fields = self._fields(request, domain, sig_type, vin)
        payload = request.protobuf_message_as_bytes
        if sig_type == crypto.HMAC_PERSONALIZED:
            expected = crypto.command_hmac(shared, fields, payload)
            if not crypto.tags_equal(expected, request.signature_data.HMAC_Personalized_data.tag):
                raise crypto.DecryptError("HMAC mismatch")
            return payload
        gcm = request.signature_data.AES_GCM_Personalized_data
        aad = crypto.command_metadata(fields).checksum()
        return crypto.aes_gcm_decrypt(shared, gcm.nonce, payload, gcm.tag, aad)

    def _encrypt(
        self, reply: RoutableMessage, domain: DomainSecurity, key: bytes, payload: bytes, verified: _Verified
    ) -> None:
        """AES-GCM the reply's payload; our choice (unverified): the response counter is the
        request's counter and the reply's flags are 0."""
        shared = crypto.shared_key(domain.private_key, key)
        meta = crypto.response_metadata(
            domain=domain.domain,
            vin=self.vin,
            counter=verified.counter,
            flags=reply.flags,
            request_hash=verified.request_hash,
            fault=reply.signedMessageStatus.signed_message_fault,
        )
        nonce, ciphertext, tag = crypto.aes_gcm_encrypt(shared, payload, meta.checksum())
        reply.protobuf_message_as_bytes = ciphertext
        response_data = reply.signature_data.AES_GCM_Response_data
        response_data.nonce, response_data.counter, response_data.tag = nonce, verified.counter, tag


def _signer(request: RoutableMessage) -> bytes:
    """The signer's public key (identity by handle is not supported: it is an unknown key)."""
    return request.signature_data.signer_identity.public_key


def _bare_fault(code: int, request: RoutableMessage | None = None, domain: int | None = None) -> bytes:
    """A fault reply with no session info (the message could not be tied to a session)."""
    reply = RoutableMessage()
    if request is not None:
        reply.request_uuid = request.uuid
        reply.to_destination.CopyFrom(request.from_destination)
    if domain is not None:
        reply.from_destination.domain = domain  # type: ignore[assignment]
    reply.uuid = os.urandom(16)
    reply.signedMessageStatus.operation_status = universal_message_pb2.OPERATIONSTATUS_ERROR
    reply.signedMessageStatus.signed_message_fault = code  # type: ignore[assignment]
    return encode_message(reply)


SCOPE_COMMANDS: Final = "vehicle_cmds"
SCOPE_CHARGING: Final = "vehicle_charging_cmds"


@dataclass(frozen=True, slots=True)
class RequestView:
    """What the Fleet API can read of a request before the car sees it (research/fleet.md 7.10).

    `action` is decoded from the plaintext of an HMAC command, unauthenticated (the car verifies
    later); None for a handshake, an AES-GCM command (ciphertext) or a payload that is not one.
    """

    domain: int
    handshake: bool
    aes_gcm: bool
    action: AppAction | None

    @property
    def accepted_scopes(self) -> frozenset[str]:
        """Any one of these scopes lets the request through: charging actions take either scope.

        Our choice: a handshake, and an undecodable payload (the car answers its fault), take
        either scope too.
        """
        if self.action is not None and self.action.name not in CHARGING_COMMANDS:
            return frozenset({SCOPE_COMMANDS})
        return frozenset({SCOPE_COMMANDS, SCOPE_CHARGING})


def inspect_request(routable_message: bytes) -> RequestView | None:
    """The Fleet API's look at a request (domain, kind, action); None if it does not decode."""
    try:
        request = RoutableMessage.FromString(routable_message)
    except DecodeError:
        return None
    domain = int(request.to_destination.domain)
    handshake = request.WhichOneof("payload") == "session_info_request"
    aes_gcm = request.signature_data.WhichOneof("sig_type") == "AES_GCM_Personalized_data"
    action = None
    if not handshake and not aes_gcm and domain in DOMAINS:
        decoded = decode_action(domain, request.protobuf_message_as_bytes)
        action = None if isinstance(decoded, int) else decoded
    return RequestView(domain, handshake, aes_gcm, action)


_SECURITY: weakref.WeakKeyDictionary[Car, CarSecurity] = weakref.WeakKeyDictionary()


def security_of(car: Car) -> CarSecurity:
    """The car's protocol state, made on first use and kept as long as the car lives.

    Our choice: kept beside the car (a weak map) rather than in car.py, so the vehicle model does
    not import cryptography and the Owner API twin stays as it was.
    """
    security = _SECURITY.get(car)
    if security is None:
        security = _SECURITY[car] = CarSecurity(car)
    return security
