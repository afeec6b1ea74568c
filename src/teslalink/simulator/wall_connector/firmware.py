"""What changes between firmware releases: field sets and how bodies are printed.

Observed on real units (see tests/fixtures/wall_connector):

* 21.x: vitals on one compact line, whole numbers without decimals (``"currentN_a":1``),
  ``relay_coil_v``; lifetime compact on 21.29.1; version and wifi_status pretty-printed.
* before 21.29: no ``git_branch``/``web_service`` in version, SSID sent in plain text.
* 23.x and later: ``relay_k1_v`` + ``relay_k2_v`` instead of ``relay_coil_v``, an
  ``evse_not_ready_reasons`` list, pretty-printed bodies with fixed decimals (``12.0``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import ConfigError

__all__ = ["DEFAULT_FIRMWARE", "FirmwareProfile"]

DEFAULT_FIRMWARE = "23.8.2+gce13e49b546382"

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:\+g[0-9a-f]+)?$")


@dataclass(frozen=True, slots=True)
class FirmwareProfile:
    """The behaviour of one firmware version string."""

    version: str
    release: tuple[int, int, int]
    relay_k: bool
    not_ready_reasons: bool
    version_has_branch: bool
    ssid_base64: bool
    compact_vitals: bool
    compact_lifetime: bool
    compact_wifi: bool
    fixed_decimals: bool

    @classmethod
    def parse(cls, version: str) -> FirmwareProfile:
        match = _VERSION.match(version.strip())
        if match is None:
            raise ConfigError(
                f"firmware version {version!r} is not like 23.8.2+gce13e49b546382 (major.minor.patch+ghash)"
            )
        release = (int(match[1]), int(match[2]), int(match[3]))
        newer = release >= (23, 0, 0)
        from_21_29 = release >= (21, 29, 0)
        return cls(
            version=version.strip(),
            release=release,
            relay_k=newer,
            not_ready_reasons=newer,
            version_has_branch=from_21_29,
            ssid_base64=from_21_29,
            compact_vitals=not newer,
            compact_lifetime=not newer,
            compact_wifi=not from_21_29,
            fixed_decimals=newer,
        )
