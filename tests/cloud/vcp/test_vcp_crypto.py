"""The signing primitives against Tesla's protocol.md test vectors, and the rules of the metadata."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vcp_vectors import (
    CLIENT_KEY_PEM,
    COMMAND_KEY,
    HANDSHAKE_UUID,
    HVAC_CIPHERTEXT,
    HVAC_COUNTER,
    HVAC_EXPIRES_AT,
    HVAC_METADATA,
    HVAC_NONCE,
    HVAC_ON_PAYLOAD,
    HVAC_TAG,
    SESSION_EPOCH,
    SESSION_INFO,
    SESSION_INFO_KEY,
    SESSION_INFO_METADATA,
    SESSION_INFO_TAG,
    VEHICLE_KEY_PEM,
    VEHICLE_POINT,
    VIN,
    K,
)

from teslalink.cloud.vcp import crypto
from teslalink.cloud.vcp.crypto import Domain, SignatureType
from teslalink.cloud.vcp.faults import MalformedReply, ResponseRejected, VcpError
from teslalink.cloud.vcp.keys import PartnerKey


def test_shared_key_matches_the_vector_from_both_sides() -> None:
    client = PartnerKey.from_pem(CLIENT_KEY_PEM)
    vehicle = PartnerKey.from_pem(VEHICLE_KEY_PEM)
    assert crypto.shared_key(client.private_key, VEHICLE_POINT) == K
    assert crypto.shared_key(vehicle.private_key, client.public_bytes()) == K


def test_subkeys_match_the_vectors() -> None:
    assert crypto.session_info_key(K) == SESSION_INFO_KEY
    assert crypto.command_key(K) == COMMAND_KEY


def test_session_info_metadata_and_tag_match_the_vectors() -> None:
    assert crypto.session_info_metadata(VIN, HANDSHAKE_UUID) == SESSION_INFO_METADATA
    assert crypto.session_info_tag(K, VIN, HANDSHAKE_UUID, SESSION_INFO) == SESSION_INFO_TAG


def test_aes_gcm_example_metadata_encrypts_and_decrypts_as_published() -> None:
    metadata = crypto.command_metadata(
        SignatureType.AES_GCM_PERSONALIZED,
        Domain.INFOTAINMENT,
        VIN,
        SESSION_EPOCH,
        HVAC_EXPIRES_AT,
        HVAC_COUNTER,
        0,
    )
    assert metadata == HVAC_METADATA
    assert crypto.aes_gcm_open(K, metadata, HVAC_NONCE, HVAC_CIPHERTEXT, HVAC_TAG) == HVAC_ON_PAYLOAD
    assert crypto.aes_gcm_seal(K, metadata, HVAC_ON_PAYLOAD, HVAC_NONCE) == (
        HVAC_NONCE,
        HVAC_CIPHERTEXT,
        HVAC_TAG,
    )


def test_aes_gcm_refuses_altered_metadata() -> None:
    altered = HVAC_METADATA.replace(bytes.fromhex("050400000007"), bytes.fromhex("050400000008"))
    with pytest.raises(ResponseRejected):
        crypto.aes_gcm_open(K, altered, HVAC_NONCE, HVAC_CIPHERTEXT, HVAC_TAG)


def test_metadata_examples_of_the_spec() -> None:
    # protocol.md "Metadata serialization": SERIALIZE({COUNTER: 100, VIN: "abc"}).
    encoded = crypto.encode_metadata(
        [(crypto.Tag.PERSONALIZATION, b"abc"), (crypto.Tag.COUNTER, crypto.u32(100))]
    )
    assert encoded == bytes.fromhex("0203616263050400000064ff")


def test_metadata_refuses_out_of_order_and_oversized_items() -> None:
    with pytest.raises(VcpError, match="order"):
        crypto.encode_metadata([(crypto.Tag.COUNTER, b"\0"), (crypto.Tag.PERSONALIZATION, b"abc")])
    with pytest.raises(VcpError, match="255"):
        crypto.encode_metadata([(crypto.Tag.PERSONALIZATION, bytes(256))])
    with pytest.raises(VcpError):
        crypto.u32(2**32)


def test_command_metadata_has_flags_only_when_non_zero() -> None:
    args = (SignatureType.HMAC_PERSONALIZED, Domain.INFOTAINMENT, VIN, SESSION_EPOCH, 100, 7)
    without = crypto.command_metadata(*args, 0)
    with_flags = crypto.command_metadata(*args, 2)
    assert with_flags == without[:-1] + bytes.fromhex("070400000002ff")


def test_hmac_command_tag_is_the_spec_computation() -> None:
    metadata = crypto.command_metadata(
        SignatureType.HMAC_PERSONALIZED,
        Domain.INFOTAINMENT,
        VIN,
        SESSION_EPOCH,
        HVAC_EXPIRES_AT,
        HVAC_COUNTER,
        2,
    )
    # The mirror computation, from protocol.md: K2 = HMAC(K, "authenticated command"), tag = HMAC(K2, M || P).
    expected_key = hmac.new(K, b"authenticated command", hashlib.sha256).digest()
    expected = hmac.new(expected_key, metadata + HVAC_ON_PAYLOAD, hashlib.sha256).digest()
    assert crypto.hmac_sign(K, metadata, HVAC_ON_PAYLOAD) == expected


def test_a_kept_command_mac_gives_the_same_tags_and_is_never_changed_by_them() -> None:
    """The keyed HMAC a session keeps (`command_mac`) is copied per command, so tags never mix."""
    mac = crypto.command_mac(K)
    subkey = crypto.command_key(K)
    for metadata, payload in ((b"\x00\x01\x08", HVAC_ON_PAYLOAD), (b"", b""), (b"\xff" * 80, b"x" * 300)):
        expected = hmac.new(subkey, metadata + payload, hashlib.sha256).digest()
        assert crypto.hmac_tag(mac, metadata, payload) == expected
        assert crypto.hmac_tag(subkey, metadata, payload) == expected
    assert mac.digest() == hmac.new(subkey, b"", hashlib.sha256).digest()  # nothing was fed to it


def test_request_hash_is_truncated_for_vcsec_only() -> None:
    tag = bytes(range(32))
    infotainment = crypto.request_hash(SignatureType.HMAC_PERSONALIZED, tag, Domain.INFOTAINMENT)
    vcsec = crypto.request_hash(SignatureType.HMAC_PERSONALIZED, tag, Domain.VEHICLE_SECURITY)
    assert infotainment == b"\x08" + tag
    assert vcsec == (b"\x08" + tag)[:17]


def test_values_beyond_32_bits_are_refused_by_name() -> None:
    for args, wrong in (((2**32, 1, 0), 2**32), ((1, -1, 0), -1), ((1, 2, 2**40), 2**40)):
        with pytest.raises(VcpError, match=f"^{wrong} does not fit"):
            crypto.command_metadata_tail(*args)
        with pytest.raises(VcpError, match="does not fit"):
            crypto.response_metadata_tail(args[0], args[1], b"", args[2])
    with pytest.raises(VcpError, match="256 bytes; the limit is 255"):
        crypto.response_metadata_tail(1, 0, bytes(256), 0)


def test_response_metadata_always_has_flags_and_the_fault() -> None:
    digest = b"\x08" + bytes(16)
    metadata = crypto.response_metadata(Domain.VEHICLE_SECURITY, VIN, 9, 0, digest, 0)
    expected = (
        bytes.fromhex("0001090101020211")
        + VIN.encode()
        + bytes.fromhex("050400000009070400000000")
        + bytes((8, 17))
        + digest
        + bytes.fromhex("090400000000ff")
    )
    assert metadata == expected


def test_a_foreign_point_is_a_typed_error() -> None:
    with pytest.raises(MalformedReply, match="not a point"):
        crypto.load_public_point(b"\x04" + bytes(64))
    with pytest.raises(MalformedReply, match="33 bytes"):
        crypto.load_public_point(VEHICLE_POINT[:33])


def test_our_enums_agree_with_the_bindings() -> None:
    from tesla_protocol.command import signatures_pb2, universal_message_pb2

    assert Domain.INFOTAINMENT == universal_message_pb2.DOMAIN_INFOTAINMENT
    assert Domain.VEHICLE_SECURITY == universal_message_pb2.DOMAIN_VEHICLE_SECURITY
    for member in SignatureType:
        assert signatures_pb2.SignatureType.Value(f"SIGNATURE_TYPE_{member.name}") == member
    for tag in crypto.Tag:
        assert signatures_pb2.Tag.Value(f"TAG_{tag.name}") == tag


def _parse_tlv(encoded: bytes) -> list[tuple[int, bytes]]:
    """The spec's reading of a metadata string, written independently of the encoder."""
    items, at = [], 0
    while encoded[at] != 0xFF:
        tag, length = encoded[at], encoded[at + 1]
        items.append((tag, encoded[at + 2 : at + 2 + length]))
        at += 2 + length
    assert at == len(encoded) - 1
    return items


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(0, 254), st.binary(max_size=255), max_size=12))
def test_metadata_round_trips_through_the_spec_reading(items: dict[int, bytes]) -> None:
    ordered = sorted(items.items())
    assert _parse_tlv(crypto.encode_metadata(ordered)) == ordered


@settings(max_examples=40, deadline=None)
@given(
    st.binary(max_size=300),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**30),
    st.sampled_from([0, 1, 2, 3]),
    st.sampled_from(list(Domain)),
)
def test_hmac_signing_matches_the_spec_for_any_payload(
    payload: bytes, counter: int, expires_at: int, flags: int, domain: Domain
) -> None:
    metadata = crypto.command_metadata(
        SignatureType.HMAC_PERSONALIZED, domain, VIN, SESSION_EPOCH, expires_at, counter, flags
    )
    expected_items = [(0, b"\x08"), (1, bytes((domain,))), (2, VIN.encode()), (3, SESSION_EPOCH)]
    expected_items += [(4, expires_at.to_bytes(4, "big")), (5, counter.to_bytes(4, "big"))]
    if flags:
        expected_items.append((7, flags.to_bytes(4, "big")))
    assert _parse_tlv(metadata) == expected_items
    key = hmac.new(K, b"authenticated command", hashlib.sha256).digest()
    assert (
        crypto.hmac_sign(K, metadata, payload) == hmac.new(key, metadata + payload, hashlib.sha256).digest()
    )
