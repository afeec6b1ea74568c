"""Tesla's protocol.md test vectors, recomputed by the car's own crypto (simulator.fleet.vcp_crypto).

The keys, PEMs and values are the published ones (teslamotors/vehicle-command pkg/protocol/protocol.md,
research/fleet.md 2.12); every value here is recomputed, none is read back from our own output.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tesla_protocol.command import signatures_pb2

from teslalink.simulator.fleet import vcp_crypto as crypto

VIN = "5YJ30123456789ABC"

VEHICLE_KEY_PEM = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIDRO5bRmp88e6xK29QMx2y5exYNO9fS+/P2MvlXCUo1woAoGCCqGSM49
AwEHoUQDQgAEx6H0cThIaqRymXFJSHjTOxok45Vx90im4WxZVbPYd9OmqqDpVRZk
dK9dMsQQ9DmiI0E3rRuwhf1OiBPJWPEdlw==
-----END EC PRIVATE KEY-----
"""
VEHICLE_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEx6H0cThIaqRymXFJSHjTOxok45Vx
90im4WxZVbPYd9OmqqDpVRZkdK9dMsQQ9DmiI0E3rRuwhf1OiBPJWPEdlw==
-----END PUBLIC KEY-----
"""
CLIENT_KEY_PEM = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEICU4zcKal8GcHpmmN9bPT4yXDBGLVu3h5jI+bRYsSzDboAoGCCqGSM49
AwEHoUQDQgAEsra8aMLaBmXOZWgVWUmWxiOU7di+qQX+eBp1T+aoRacUMwkC8iXp
Jp1GbgWzSZgf2p2FzCPG+0RKpztikQXcbg==
-----END EC PRIVATE KEY-----
"""
CLIENT_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsra8aMLaBmXOZWgVWUmWxiOU7di+
qQX+eBp1T+aoRacUMwkC8iXpJp1GbgWzSZgf2p2FzCPG+0RKpztikQXcbg==
-----END PUBLIC KEY-----
"""
VEHICLE_POINT = bytes.fromhex(
    "04c7a1f47138486aa4729971494878d33b1a24e39571f748a6e16c5955b3d877d3"
    "a6aaa0e955166474af5d32c410f439a2234137ad1bb085fd4e8813c958f11d97"
)
CLIENT_POINT = bytes.fromhex(
    "04b2b6bc68c2da0665ce656815594996c62394edd8bea905fe781a754fe6a845a7"
    "14330902f225e9269d466e05b349981fda9d85cc23c6fb444aa73b629105dc6e"
)
K = bytes.fromhex("1b2fce19967b79db696f909cff89ea9a")
HANDSHAKE_UUID = bytes.fromhex("1588d5a30eabc6f8fc9a951b11f6fd11")
SESSION_INFO = bytes.fromhex(
    "0806124104c7a1f47138486aa4729971494878d33b1a24e39571f748a6e16c5955b3d877d3"
    "a6aaa0e955166474af5d32c410f439a2234137ad1bb085fd4e8813c958f11d971a104c463f9c"
    "c0d3d26906e982ed224adde6255a0a0000"
)
EPOCH = bytes.fromhex("4c463f9cc0d3d26906e982ed224adde6")


def _private(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _public_point(pem: bytes) -> bytes:
    key = serialization.load_pem_public_key(pem)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return crypto.encode_public(key)


def test_the_published_keys_encode_to_the_published_points() -> None:
    assert crypto.encode_public(_private(VEHICLE_KEY_PEM).public_key()) == VEHICLE_POINT
    assert crypto.encode_public(_private(CLIENT_KEY_PEM).public_key()) == CLIENT_POINT
    assert _public_point(VEHICLE_PUBLIC_PEM) == VEHICLE_POINT
    assert _public_point(CLIENT_PUBLIC_PEM) == CLIENT_POINT


def test_ecdh_gives_the_same_k_from_either_side() -> None:
    assert crypto.shared_key(_private(VEHICLE_KEY_PEM), CLIENT_POINT) == K
    assert crypto.shared_key(_private(CLIENT_KEY_PEM), VEHICLE_POINT) == K


def test_subkeys() -> None:
    assert crypto.subkey(K, b"session info").hex() == (
        "fceb679ee7bca756fcd441bf238bf2f338629b41d9eb9c67be1b32c9672ce300"
    )
    assert crypto.subkey(K, b"authenticated command").hex() == (
        "6d3a14d0b6d762e4f076739e2cf6edd291d2e56e3f25bc6a2af5cb26dc753b14"
    )


def test_session_info_metadata_and_tag() -> None:
    assert crypto.session_info_metadata(VIN, HANDSHAKE_UUID).encode().hex() == (
        "000106021135594a333031323334353637383941424306101588d5a30eabc6f8fc9a951b11f6fd11ff"
    )
    assert crypto.session_info_tag(K, VIN, HANDSHAKE_UUID, SESSION_INFO).hex() == (
        "996c1fe38331be138f8039c194b14db2198846ed7d8251e6749284d7b32ea002"
    )


def test_the_published_session_info_decodes_to_the_published_values() -> None:
    info = signatures_pb2.SessionInfo.FromString(SESSION_INFO)
    assert (info.counter, info.publicKey, info.epoch, info.clock_time) == (6, VEHICLE_POINT, EPOCH, 2650)


def test_aes_gcm_command_metadata_and_the_published_ciphertext() -> None:
    fields = crypto.CommandFields(crypto.AES_GCM_PERSONALIZED, 3, VIN, EPOCH, 2655, 7, 0)
    meta = crypto.command_metadata(fields)
    assert meta.encode().hex() == (
        "000105010103021135594a333031323334353637383941424303104c463f9cc0d3d26906e982ed224adde6"
        "040400000a5f050400000007ff"
    )
    assert meta.checksum() == hashlib.sha256(meta.encode()).digest()
    nonce = bytes.fromhex("dbf79447fa156674dae1caed")
    ciphertext, tag = bytes.fromhex("38038e8c0f2e"), bytes.fromhex("8e128da165f162f4d7d2c8da866cf82a")
    assert crypto.aes_gcm_decrypt(K, nonce, ciphertext, tag, meta.checksum()).hex() == "120452020801"
    assert crypto.aes_gcm_encrypt(K, bytes.fromhex("120452020801"), meta.checksum(), nonce)[1:] == (
        ciphertext,
        tag,
    )


def test_flags_are_in_a_command_only_when_set_and_always_in_a_response() -> None:
    plain = crypto.command_metadata(crypto.CommandFields(8, 3, VIN, EPOCH, 10, 1, 0)).encode()
    flagged = crypto.command_metadata(crypto.CommandFields(8, 3, VIN, EPOCH, 10, 1, 2)).encode()
    assert flagged == plain[:-1] + bytes.fromhex("070400000002ff")
    response = crypto.response_metadata(domain=3, vin=VIN, counter=1, flags=0, request_hash=b"\x08", fault=0)
    assert bytes.fromhex("070400000000") in response.encode()
    assert response.encode().endswith(bytes.fromhex("080108090400000000ff"))


def test_request_hash_is_truncated_for_vcsec_only() -> None:
    tag = bytes(range(32))
    assert crypto.request_hash(8, tag, vcsec=True) == b"\x08" + tag[:16]
    assert crypto.request_hash(8, tag, vcsec=False) == b"\x08" + tag
