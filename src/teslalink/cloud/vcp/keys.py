"""The partner key: one P-256 key pair that signs every command, and its public forms.

Tesla knows the public half twice: from `/.well-known/appspecific/com.tesla.3p.public-key.pem` on
the partner's domain (the SPKI PEM, checked at registration), and from the car's key list after the
owner paired it (the 65-byte uncompressed point, also what the register response shows in hex).
The private half lives in one owner-only file; losing it means pairing every car again, and leaking
it lets anyone command the cars, so it is written atomically at mode 0600 and never shown in a repr.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from teslalink._files import atomic_write_bytes
from teslalink.errors import ConfigError

__all__ = ["PartnerKey"]

# A PEM key file is a few hundred bytes; anything far larger is not a key (and is not read whole).
_MAX_KEY_FILE = 64 * 1024


class PartnerKey:
    """A P-256 private key with the public encodings the protocol and the Fleet API need."""

    __slots__ = ("_private", "_public_point")

    def __init__(self, private: ec.EllipticCurvePrivateKey, source: str = "the key") -> None:
        if not isinstance(private.curve, ec.SECP256R1):
            curve = private.curve.name
            raise ConfigError(f"{source} is on curve {curve}; Tesla's protocol needs P-256 (prime256v1)")
        self._private = private
        # Serialised once: every signed command carries it (re-encoding it cost ~7 µs a command).
        self._public_point = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    @classmethod
    def generate(cls) -> PartnerKey:
        """A fresh key from the operating system's random source."""
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, data: bytes, source: str = "the key") -> PartnerKey:
        """Parse a PEM private key (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY", as openssl writes).

        Anything else (a public key, another algorithm, another curve, a passphrase-protected key,
        garbage) is one ConfigError line naming `source`, never a library traceback.
        """
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except TypeError:
            message = f"{source} is protected by a passphrase; teslalink needs an unencrypted key"
            raise ConfigError(message) from None
        except (ValueError, UnsupportedAlgorithm):
            raise ConfigError(f"{source} is not a PEM private key (corrupt, or a public key?)") from None
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            raise ConfigError(f"{source} is not an elliptic-curve key; Tesla's protocol needs a P-256 key")
        return cls(private, source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PartnerKey:
        """Read the key file at `path`; a missing, unreadable or foreign file is a ConfigError."""
        target = Path(path)
        try:
            with target.open("rb") as handle:
                data = handle.read(_MAX_KEY_FILE + 1)
        except FileNotFoundError:
            message = f"no key file at {target} (create one with `teslalink fleet key create`)"
            raise ConfigError(message) from None
        except OSError as exc:
            raise ConfigError(f"cannot read the key file {target}: {exc.strerror or exc}") from None
        if len(data) > _MAX_KEY_FILE:
            raise ConfigError(f"{target} is too large to be a PEM key file")
        return cls.from_pem(data, source=str(target))

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> PartnerKey:
        """The key at `path`, generated and saved first if there is no file yet.

        An existing file that is not a usable key is an error, never silently replaced: the cars
        paired with the old key would stop obeying.
        """
        target = Path(path)
        if target.exists() or target.is_symlink():
            return cls.load(target)
        key = cls.generate()
        key.save(target)
        return key

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the private key as PKCS#8 PEM, atomically, owner-only (0600)."""
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write_bytes(target, self.private_pem(), mode=0o600)
        except OSError as exc:
            raise ConfigError(f"cannot write the key file {target}: {exc.strerror or exc}") from None

    def private_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM: a secret, for the key file only."""
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        """The key object, for ECDH in `teslalink.cloud.vcp.crypto`."""
        return self._private

    def public_pem(self) -> str:
        """The SubjectPublicKeyInfo PEM to serve at /.well-known/appspecific/com.tesla.3p.public-key.pem."""
        public = self._private.public_key()
        return public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def public_bytes(self) -> bytes:
        """The 65-byte uncompressed point 0x04 || X || Y, as sent in the protocol's messages."""
        return self._public_point

    def public_hex(self) -> str:
        """`public_bytes` in lower-case hex, to compare with the key the Fleet API reports."""
        return self.public_bytes().hex()

    def __repr__(self) -> str:
        point = self.public_hex()
        return f"PartnerKey(public={point[:10]}…{point[-8:]})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartnerKey) and other.public_bytes() == self.public_bytes()

    def __hash__(self) -> int:
        return hash(self.public_bytes())
