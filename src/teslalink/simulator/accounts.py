"""Tesla accounts in the simulated world: who can log in, where, and what they own.

An account lives in one region: "na" accounts log in at the main SSO host, "cn" accounts are
redirected to the second one (auth.tesla.cn in reality). The password and the TOTP secret are
secrets: they never appear in a repr; `teslalink sim --json` prints them on purpose, for the
demo accounts only.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Account", "Region"]

Region = Literal["na", "cn"]


@dataclass(eq=False)
class Account:
    """One Tesla account. Login state (failed attempts, lock, captcha) belongs to the SSO twin."""

    email: str
    password: str = field(repr=False)
    region: Region = "na"
    mfa_secret: str | None = field(default=None, repr=False)  # base32 TOTP secret, None = no MFA
    full_name: str = "Simulated Owner"
    mobile_access: bool = True  # False: the car answers 405 mobile_access_disabled

    @property
    def user_id(self) -> int:
        """A stable numeric id derived from the email (the API shows one in products)."""
        return int.from_bytes(hashlib.blake2b(self.email.lower().encode(), digest_size=6).digest(), "big")

    @property
    def has_mfa(self) -> bool:
        return self.mfa_secret is not None

    @staticmethod
    def new_mfa_secret(seed_material: bytes) -> str:
        """A base32 TOTP secret (160 bits, as authenticator apps expect) derived from the world seed."""
        digest = hashlib.blake2b(seed_material, digest_size=20).digest()
        return base64.b32encode(digest).decode("ascii")
