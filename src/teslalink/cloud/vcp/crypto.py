"""The protocol's cryptography, as pure functions over bytes (Tesla's protocol.md; fleet.md 2.3-2.4).

- Key agreement: ECDH between our static key and one car domain's static key; the shared secret K
  is the first 16 bytes of SHA-1 over the 32-byte big-endian x coordinate. Each domain (VCSEC,
  infotainment) has its own key, so its own K.
- Subkeys: HMAC-SHA256(K, "session info") authenticates the car's session info;
  HMAC-SHA256(K, "authenticated command") signs our commands; K itself is the AES-128-GCM key.
- Metadata: tag-length-value items in ascending tag order, then 0xFF. An HMAC covers
  metadata || payload; AES-GCM takes SHA-256(metadata) as associated data.

Nothing here keeps state; `session` and `messages` decide the values that go in.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Iterable
from enum import IntEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from teslalink.cloud.vcp.faults import MalformedReply, ResponseRejected, VcpError

__all__ = [
    "Domain",
    "SignatureType",
    "Tag",
    "aes_gcm_open",
    "aes_gcm_seal",
    "command_key",
    "command_mac",
    "command_metadata",
    "command_metadata_prefix",
    "command_metadata_tail",
    "encode_metadata",
    "hmac_sign",
    "hmac_tag",
    "load_public_point",
    "request_hash",
    "response_metadata",
    "response_metadata_prefix",
    "response_metadata_tail",
    "session_info_key",
    "session_info_metadata",
    "session_info_tag",
    "shared_key",
]


class Domain(IntEnum):
    """UniversalMessage.Domain: which of the car's computers a message is for."""

    VEHICLE_SECURITY = 2  # VCSEC: locks, trunks, keys
    INFOTAINMENT = 3  # everything else: charging, climate, ...


class SignatureType(IntEnum):
    """Signatures.SignatureType values that appear in metadata."""

    AES_GCM_PERSONALIZED = 5
    HMAC = 6
    HMAC_PERSONALIZED = 8
    AES_GCM_RESPONSE = 9


class Tag(IntEnum):
    """Signatures.Tag: the metadata item types, in the order they must appear."""

    SIGNATURE_TYPE = 0
    DOMAIN = 1
    PERSONALIZATION = 2
    EPOCH = 3
    EXPIRES_AT = 4
    COUNTER = 5
    CHALLENGE = 6
    FLAGS = 7
    REQUEST_HASH = 8
    FAULT = 9
    END = 255


_SESSION_INFO_LABEL = b"session info"
_COMMAND_LABEL = b"authenticated command"
_GCM_NONCE_BYTES = 12
_GCM_TAG_BYTES = 16
# VCSEC replies bind only the first 16 bytes of an HMAC request's 32-byte tag (protocol.md "Request hash").
_VCSEC_REQUEST_HASH_BYTES = 17
_U32_MAX = 0xFFFFFFFF


def load_public_point(point: bytes) -> ec.EllipticCurvePublicKey:
    """A car's 65-byte uncompressed P-256 point as a key; anything else is MalformedReply."""
    if len(point) != 65 or point[0] != 0x04:
        raise MalformedReply(
            f"the car's public key is not a 65-byte uncompressed P-256 point ({len(point)} bytes)"
        )
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise MalformedReply("the car's public key is not a point on P-256") from None


def shared_key(private: ec.EllipticCurvePrivateKey, peer_point: bytes) -> bytes:
    """K = SHA1(ECDH x coordinate)[:16], the 128-bit key shared with one car domain."""
    shared_x = private.exchange(ec.ECDH(), load_public_point(peer_point))
    return hashlib.sha1(shared_x).digest()[:16]  # the protocol's KDF, not a security choice of ours


def session_info_key(k: bytes) -> bytes:
    """HMAC-SHA256(K, "session info"): checks the tag on the car's session info."""
    return hmac.new(k, _SESSION_INFO_LABEL, hashlib.sha256).digest()


def command_key(k: bytes) -> bytes:
    """HMAC-SHA256(K, "authenticated command"): signs HMAC-authenticated commands."""
    return hmac.new(k, _COMMAND_LABEL, hashlib.sha256).digest()


def command_mac(k: bytes) -> hmac.HMAC:
    """HMAC-SHA256 keyed with `command_key(K)`, for `hmac_tag` to copy per command.

    Why kept: a one-shot `hmac.digest` looks the digest up and keys the HMAC anew each time, which
    costs about 10 µs of CPU per command once the caches are cold (between two commands they are);
    a copy of a keyed HMAC does neither (bench/fleet.py).
    """
    return hmac.new(command_key(k), digestmod=hashlib.sha256)


def u32(value: int) -> bytes:
    """The protocol's integer encoding: 4 bytes, big-endian, unsigned."""
    if not 0 <= value <= 0xFFFFFFFF:
        raise VcpError(f"{value} does not fit the protocol's 32-bit unsigned integers")
    return struct.pack(">I", value)


def encode_metadata(items: Iterable[tuple[int, bytes]]) -> bytes:
    """Serialise (tag, value) items: tag || length || value each, ascending tags, then 0xFF.

    The order is enforced, not sorted for the caller: a wrong order is a bug on our side that would
    only show as INVALID_SIGNATURE at the car.
    """
    out = bytearray()
    previous = -1
    for tag, value in items:
        if tag <= previous or tag >= Tag.END:
            raise VcpError(f"metadata tag {tag} out of order (after {previous})")
        if len(value) > 255:
            raise VcpError(f"metadata item {tag} is {len(value)} bytes; the limit is 255")
        out += bytes((tag, len(value))) + value
        previous = tag
    out.append(Tag.END)
    return bytes(out)


def session_info_metadata(vin: str, challenge: bytes) -> bytes:
    """Metadata of a session-info tag: HMAC type, the VIN, and our request uuid as the challenge."""
    return encode_metadata(
        [
            (Tag.SIGNATURE_TYPE, bytes((SignatureType.HMAC,))),
            (Tag.PERSONALIZATION, vin.encode("ascii")),
            (Tag.CHALLENGE, challenge),
        ]
    )


def session_info_tag(k: bytes, vin: str, challenge: bytes, session_info: bytes) -> bytes:
    """The 32-byte tag the car must have put on `session_info` (compare in constant time)."""
    message = session_info_metadata(vin, challenge) + session_info
    return hmac.new(session_info_key(k), message, hashlib.sha256).digest()


def command_metadata(
    signature_type: SignatureType,
    domain: Domain,
    vin: str,
    epoch: bytes,
    expires_at: int,
    counter: int,
    flags: int,
) -> bytes:
    """Metadata of a signed command (HMAC or AES-GCM personalised); FLAGS only when non-zero."""
    return command_metadata_prefix(signature_type, domain, vin, epoch) + command_metadata_tail(
        expires_at, counter, flags
    )


def command_metadata_prefix(signature_type: SignatureType, domain: Domain, vin: str, epoch: bytes) -> bytes:
    """The items a session's commands share (type, domain, VIN, epoch), without the end byte.

    Why apart: a session builds it once per epoch; each command adds only `command_metadata_tail`.
    """
    items = [
        (Tag.SIGNATURE_TYPE, bytes((signature_type,))),
        (Tag.DOMAIN, bytes((domain,))),
        (Tag.PERSONALIZATION, vin.encode("ascii")),
        (Tag.EPOCH, epoch),
    ]
    return encode_metadata(items)[:-1]


# The per-command items' tags as plain ints (packed on every command and reply)
_EXPIRES_AT, _COUNTER, _FLAGS, _REQUEST_HASH, _FAULT, _END = (
    int(t) for t in (Tag.EXPIRES_AT, Tag.COUNTER, Tag.FLAGS, Tag.REQUEST_HASH, Tag.FAULT, Tag.END)
)
_TAIL = struct.Struct(">BBIBBIB")  # EXPIRES_AT, COUNTER (4-byte values), END
_TAIL_WITH_FLAGS = struct.Struct(">BBIBBIBBIB")  # ... and FLAGS


def command_metadata_tail(expires_at: int, counter: int, flags: int) -> bytes:
    """EXPIRES_AT, COUNTER, FLAGS (only when non-zero) and the end byte: what changes per command."""
    try:  # struct refuses a value beyond 32 unsigned bits; the check costs nothing until then
        if flags:
            return _TAIL_WITH_FLAGS.pack(
                _EXPIRES_AT, 4, expires_at, _COUNTER, 4, counter, _FLAGS, 4, flags, _END
            )
        return _TAIL.pack(_EXPIRES_AT, 4, expires_at, _COUNTER, 4, counter, _END)
    except struct.error:
        raise _not_u32(expires_at, counter, flags) from None


def hmac_sign(k: bytes, metadata: bytes, payload: bytes) -> bytes:
    """HMAC-SHA256(HMAC(K, "authenticated command"), metadata || payload): the command's tag."""
    return hmac_tag(command_key(k), metadata, payload)


def hmac_tag(command_subkey: bytes | hmac.HMAC, metadata: bytes, payload: bytes) -> bytes:
    """`hmac_sign` with the subkey already derived: `command_key(K)`, or the keyed HMAC
    `command_mac(K)` a session keeps (copied, never changed)."""
    if isinstance(command_subkey, bytes):
        return hmac.digest(command_subkey, metadata + payload, "sha256")
    mac = command_subkey.copy()
    mac.update(metadata + payload)
    return mac.digest()


def aes_gcm_seal(
    k: bytes, metadata: bytes, plaintext: bytes, nonce: bytes | None = None
) -> tuple[bytes, bytes, bytes]:
    """Encrypt with K, AAD = SHA-256(metadata); returns (nonce, ciphertext, 16-byte tag).

    `nonce` defaults to 12 fresh random bytes; pass one only to reproduce a known vector.
    """
    nonce = os.urandom(_GCM_NONCE_BYTES) if nonce is None else nonce
    sealed = AESGCM(k).encrypt(nonce, plaintext, hashlib.sha256(metadata).digest())
    return nonce, sealed[:-_GCM_TAG_BYTES], sealed[-_GCM_TAG_BYTES:]


def aes_gcm_open(k: bytes | AESGCM, metadata: bytes, nonce: bytes, ciphertext: bytes, tag: bytes) -> bytes:
    """Decrypt and authenticate; a wrong key, nonce, tag or metadata is ResponseRejected.

    `k`: K, or an `AESGCM(K)` a session keeps (building one per reply costs more than the decryption).
    """
    if len(nonce) != _GCM_NONCE_BYTES or len(tag) != _GCM_TAG_BYTES:
        raise ResponseRejected(f"AES-GCM nonce/tag of {len(nonce)}/{len(tag)} bytes; expected 12/16")
    cipher = AESGCM(k) if isinstance(k, bytes) else k
    try:
        return cipher.decrypt(nonce, ciphertext + tag, hashlib.sha256(metadata).digest())
    except InvalidTag:
        raise ResponseRejected(
            "the encrypted response does not authenticate (altered, or not for us)"
        ) from None


def request_hash(signature_type: SignatureType, tag: bytes, domain: Domain) -> bytes:
    """One byte of the request's signature type, then its tag; 17 bytes in all for VCSEC."""
    digest = bytes((signature_type,)) + tag
    if domain == Domain.VEHICLE_SECURITY:
        return digest[:_VCSEC_REQUEST_HASH_BYTES]
    return digest


def response_metadata(
    domain: Domain, vin: str, counter: int, flags: int, request_hash_bytes: bytes, fault: int
) -> bytes:
    """Metadata of an encrypted response: the reply's domain, counter and flags (always, even 0),
    the request hash and the fault, all bound by the AES-GCM tag."""
    return response_metadata_prefix(domain, vin) + response_metadata_tail(
        counter, flags, request_hash_bytes, fault
    )


def response_metadata_prefix(domain: Domain, vin: str) -> bytes:
    """The items every response of one domain shares (type, domain, VIN), without the end byte."""
    items = [
        (Tag.SIGNATURE_TYPE, bytes((SignatureType.AES_GCM_RESPONSE,))),
        (Tag.DOMAIN, bytes((domain,))),
        (Tag.PERSONALIZATION, vin.encode("ascii")),
    ]
    return encode_metadata(items)[:-1]


_RESPONSE_TAIL = struct.Struct(">BBIBBIBB")  # COUNTER, FLAGS (4-byte values), REQUEST_HASH's tag, length
_FAULT_END = struct.Struct(">BBIB")  # FAULT (a 4-byte value), END


def response_metadata_tail(counter: int, flags: int, request_hash_bytes: bytes, fault: int) -> bytes:
    """COUNTER, FLAGS, REQUEST_HASH, FAULT and the end byte: what changes per response."""
    size = len(request_hash_bytes)
    if size > 255:
        raise VcpError(f"metadata item {Tag.REQUEST_HASH} is {size} bytes; the limit is 255")
    try:  # struct refuses a value beyond 32 unsigned bits
        head = _RESPONSE_TAIL.pack(_COUNTER, 4, counter, _FLAGS, 4, flags, _REQUEST_HASH, size)
        return head + request_hash_bytes + _FAULT_END.pack(_FAULT, 4, fault, _END)
    except struct.error:
        raise _not_u32(counter, flags, fault) from None


def _not_u32(*values: int) -> VcpError:
    """The error for the first of `values` outside the protocol's 32-bit unsigned integers."""
    value = next((v for v in values if not (isinstance(v, int) and 0 <= v <= _U32_MAX)), values[0])
    return VcpError(f"{value} does not fit the protocol's 32-bit unsigned integers")
