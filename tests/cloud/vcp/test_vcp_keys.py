"""The partner key: generated, saved 0600 atomically, loaded back; foreign files are one clear error."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from vcp_vectors import CLIENT_KEY_PEM, CLIENT_POINT_HEX, CLIENT_PUBLIC_PEM

from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.errors import ConfigError


def test_the_published_client_key_gives_the_published_public_forms() -> None:
    key = PartnerKey.from_pem(CLIENT_KEY_PEM)
    assert key.public_hex() == CLIENT_POINT_HEX
    assert key.public_bytes() == bytes.fromhex(CLIENT_POINT_HEX)
    assert key.public_pem() == CLIENT_PUBLIC_PEM


def test_load_or_create_writes_an_owner_only_file_and_reads_it_back(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "partner.pem"
    created = PartnerKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["partner.pem"]  # no temporary file left
    assert PartnerKey.load_or_create(path) == created
    assert PartnerKey.load(path).public_hex() == created.public_hex()


def test_repr_never_shows_the_private_key() -> None:
    key = PartnerKey.from_pem(CLIENT_KEY_PEM)
    private_number = format(key.private_key.private_numbers().private_value, "x")
    text = repr(key)
    assert "PRIVATE" not in text
    assert private_number not in text
    assert private_number[:8] not in text
    assert text.startswith("PartnerKey(public=04b2b6bc68")


def _rsa_pem() -> bytes:
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _p384_pem() -> bytes:
    private = ec.generate_private_key(ec.SECP384R1())
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _encrypted_pem() -> bytes:
    private = ec.generate_private_key(ec.SECP256R1())
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret-passphrase"),
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "not a PEM private key"),
        (b"\x00\xff garbage", "not a PEM private key"),
        (CLIENT_KEY_PEM[:80], "not a PEM private key"),
        (CLIENT_PUBLIC_PEM.encode(), "not a PEM private key"),
        (_rsa_pem(), "not an elliptic-curve key"),
        (_p384_pem(), "secp384r1"),
        (_encrypted_pem(), "passphrase"),
    ],
    ids=["empty", "garbage", "truncated", "public-key", "rsa", "p384", "encrypted"],
)
def test_a_corrupt_or_foreign_file_is_one_config_error_and_is_kept(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "partner.pem"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=words) as caught:
        PartnerKey.load_or_create(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert path.read_bytes() == content  # never replaced: paired cars would stop obeying


def test_a_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fleet key create"):
        PartnerKey.load(tmp_path / "absent.pem")


def test_a_directory_in_place_of_the_key_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "partner.pem").mkdir()
    with pytest.raises(ConfigError, match="cannot read"):
        PartnerKey.load_or_create(tmp_path / "partner.pem")
