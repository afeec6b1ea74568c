"""The car's cryptography of the Vehicle Command Protocol: keys, ECDH, the metadata TLV, tags, AES-GCM.

Written from Tesla's protocol.md (research/fleet.md 2.3-2.4), on `cryptography`, independently of
the client's stack in teslalink.cloud.vcp (the two are checked against the same test vectors):

- K = SHA1(ECDH x coordinate)[:16]; the HMAC subkeys are HMAC-SHA256(K, label);
- the metadata is tag(1) || len(1) || value items in strictly ascending tag order, then 0xFF;
  integers are 4-byte big-endian, the domain and the signature type one byte;
- HMAC tags are over metadata || 0xFF || payload, AES-GCM's AAD is SHA256(metadata || 0xFF).

Only the simulator imports this module (the `fleet` extra), so `import teslalink` stays lean.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "AES_GCM_PERSONALIZED",
    "AES_GCM_RESPONSE",
    "HMAC",
    "HMAC_PERSONALIZED",
    "LABEL_COMMAND",
    "LABEL_SESSION_INFO",
    "CommandFields",
    "DecryptError",
    "Metadata",
    "aes_gcm_decrypt",
    "aes_gcm_encrypt",
    "command_hmac",
    "command_metadata",
    "derive_private_key",
    "encode_public",
    "load_public",
    "request_hash",
    "response_metadata",
    "session_info_metadata",
    "session_info_tag",
    "shared_key",
    "subkey",
    "tags_equal",
]

# Signatures.Tag
TAG_SIGNATURE_TYPE = 0
TAG_DOMAIN = 1
TAG_PERSONALIZATION = 2
TAG_EPOCH = 3
TAG_EXPIRES_AT = 4
TAG_COUNTER = 5
TAG_CHALLENGE = 6
TAG_FLAGS = 7
TAG_REQUEST_HASH = 8
TAG_FAULT = 9
TAG_END = 0xFF

# Signatures.SignatureType
AES_GCM_PERSONALIZED = 5
HMAC = 6
HMAC_PERSONALIZED = 8
AES_GCM_RESPONSE = 9

LABEL_SESSION_INFO = b"session info"
LABEL_COMMAND = b"authenticated command"

VCSEC_REQUEST_HASH_LEN = 17
"""protocol.md: a request hash to the Vehicle Security domain is the type byte and 16 bytes of tag."""

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class DecryptError(Exception):
    """AES-GCM authentication failed: wrong key, nonce, AAD or tag."""


class Metadata:
    """The TLV string of one signature; `add` refuses items out of ascending order or too long."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._last = -1

    def add(self, tag: int, value: bytes | None) -> Metadata:
        """Append one item; None is skipped entirely, as the spec says."""
        if value is None:
            return self
        if tag <= self._last:
            raise ValueError(f"metadata tag {tag} after {self._last}: tags must ascend")
        if len(value) > 255:
            raise ValueError(f"metadata value of tag {tag} is {len(value)} bytes, at most 255")
        self._parts.append(bytes((tag, len(value))) + value)
        self._last = tag
        return self

    def add_uint32(self, tag: int, value: int) -> Metadata:
        return self.add(tag, value.to_bytes(4, "big"))

    def add_byte(self, tag: int, value: int) -> Metadata:
        return self.add(tag, bytes((value,)))

    def encode(self) -> bytes:
        """The items and the terminator 0xFF."""
        return b"".join(self._parts) + bytes((TAG_END,))

    def checksum(self) -> bytes:
        """AES-GCM's associated data: SHA256(items || 0xFF)."""
        return hashlib.sha256(self.encode()).digest()


def derive_private_key(*purpose: object) -> ec.EllipticCurvePrivateKey:
    """A P-256 key pair that is a function of `purpose` (world seed, VIN, domain): scenarios replay.

    Our choice: the scalar is SHA-256 of the joined purpose, reduced into [1, n-1].
    """
    digest = hashlib.sha256(":".join(str(p) for p in purpose).encode()).digest()
    scalar = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def encode_public(key: ec.EllipticCurvePublicKey) -> bytes:
    """The 65-byte uncompressed point (04 || X || Y) the protocol carries."""
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def load_public(point: bytes) -> ec.EllipticCurvePublicKey:
    """A peer's 65-byte point as a key; ValueError if it is not a point of P-256."""
    problem = "a public key is a 65-byte uncompressed P-256 point"
    if len(point) != 65 or point[0] != 4:
        raise ValueError(problem)
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise ValueError(f"{problem}; this one is not on the curve") from None


def shared_key(private: ec.EllipticCurvePrivateKey, peer_point: bytes) -> bytes:
    """K = SHA1(ECDH(private, peer).x)[:16], the session's AES-128 key."""
    secret = private.exchange(ec.ECDH(), load_public(peer_point))
    return hashlib.sha1(secret).digest()[:16]


def subkey(key: bytes, label: bytes) -> bytes:
    """HMAC-SHA256(K, label): the session-info key or the authenticated-command key."""
    return hmac.new(key, label, hashlib.sha256).digest()


def session_info_metadata(vin: str, challenge: bytes) -> Metadata:
    """The items of a session-info tag: type HMAC, the VIN, the challenge (the request's uuid)."""
    meta = Metadata().add_byte(TAG_SIGNATURE_TYPE, HMAC).add(TAG_PERSONALIZATION, vin.encode())
    return meta.add(TAG_CHALLENGE, challenge or None)


def session_info_tag(key: bytes, vin: str, challenge: bytes, encoded_info: bytes) -> bytes:
    """HMAC(HMAC(K, "session info"), metadata || 0xFF || session_info)."""
    meta = session_info_metadata(vin, challenge).encode()
    return hmac.new(subkey(key, LABEL_SESSION_INFO), meta + encoded_info, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class CommandFields:
    """What a signed command's metadata is made of (the request's own values)."""

    signature_type: int
    domain: int
    vin: str
    epoch: bytes
    expires_at: int
    counter: int
    flags: int


def command_metadata(fields: CommandFields) -> Metadata:
    """Type, domain, VIN, epoch, expiry, counter, and the flags only when they are not 0."""
    meta = Metadata().add_byte(TAG_SIGNATURE_TYPE, fields.signature_type)
    meta.add_byte(TAG_DOMAIN, fields.domain).add(TAG_PERSONALIZATION, fields.vin.encode())
    meta.add(TAG_EPOCH, fields.epoch or None).add_uint32(TAG_EXPIRES_AT, fields.expires_at)
    meta.add_uint32(TAG_COUNTER, fields.counter)
    if fields.flags:
        meta.add_uint32(TAG_FLAGS, fields.flags)
    return meta


def command_hmac(key: bytes, fields: CommandFields, payload: bytes) -> bytes:
    """HMAC(HMAC(K, "authenticated command"), metadata || 0xFF || payload)."""
    meta = command_metadata(fields).encode()
    return hmac.new(subkey(key, LABEL_COMMAND), meta + payload, hashlib.sha256).digest()


def tags_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison, as protocol.md demands for every tag."""
    return hmac.compare_digest(a, b)


def request_hash(signature_type: int, tag: bytes, *, vcsec: bool) -> bytes:
    """The type byte and the request's tag; truncated to 17 bytes for the Vehicle Security domain."""
    value = bytes((signature_type,)) + tag
    return value[:VCSEC_REQUEST_HASH_LEN] if vcsec else value


def response_metadata(
    *, domain: int, vin: str, counter: int, flags: int, request_hash: bytes, fault: int
) -> Metadata:
    """The AAD items of an encrypted reply: the flags always included, the fault as 4 bytes."""
    meta = Metadata().add_byte(TAG_SIGNATURE_TYPE, AES_GCM_RESPONSE).add_byte(TAG_DOMAIN, domain)
    meta.add(TAG_PERSONALIZATION, vin.encode()).add_uint32(TAG_COUNTER, counter)
    meta.add_uint32(TAG_FLAGS, flags).add(TAG_REQUEST_HASH, request_hash)
    return meta.add_uint32(TAG_FAULT, fault)


def aes_gcm_encrypt(
    key: bytes, plaintext: bytes, aad: bytes, nonce: bytes | None = None
) -> tuple[bytes, bytes, bytes]:
    """(nonce, ciphertext, 16-byte tag); a fresh random 12-byte nonce unless one is given."""
    nonce = os.urandom(12) if nonce is None else nonce
    sealed = AESGCM(key).encrypt(nonce, plaintext, aad)
    return nonce, sealed[:-16], sealed[-16:]


def aes_gcm_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, tag: bytes, aad: bytes) -> bytes:
    """The plaintext, or DecryptError (a wrong nonce length counts as a failed check too)."""
    if len(nonce) != 12 or len(tag) != 16:
        raise DecryptError("AES-GCM needs a 12-byte nonce and a 16-byte tag")
    try:
        return AESGCM(key).decrypt(nonce, ciphertext + tag, aad)
    except InvalidTag:
        raise DecryptError("AES-GCM authentication failed") from None
