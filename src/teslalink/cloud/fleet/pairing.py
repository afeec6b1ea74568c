"""Pairing a car with the app's key: the `tesla.com/_ak` link, and waiting until Tesla says it is done.

The owner opens `https://tesla.com/_ak/<domain>?vin=<VIN>` on the phone signed in to the car's
account, approves, and the Tesla app enrols the key over Bluetooth (research/fleet.md 2.11). Only
the owner account can do it (a driver cannot), and the key then works over the Fleet API only: a
key paired this way is not one the car answers over BLE. Afterwards `FleetApi.fleet_status` lists
the VIN as paired, possibly after a while, so `wait_until_paired` polls any `check` with a growing
pause, bounded by a deadline: never a loop that hammers.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import quote

__all__ = ["PAIRING_URL", "pairing_link", "wait_until_paired"]

PAIRING_URL: Final = "https://tesla.com/_ak/"
"""Tesla's pairing deep link, before `<domain>?vin=<VIN>`; TESLALINK_FLEET_PAIRING_URL (the twin's
`sim all --json` `fleet.pairing_url`) stands in for it."""


def pairing_link(domain: str, vin: str | None = None, base: str | None = None) -> str:
    """The link the owner opens: `<base><domain>`, with `?vin=<VIN>` to pick the car.

    `base` defaults to TESLALINK_FLEET_PAIRING_URL, else Tesla's.
    """
    base = base or os.environ.get("TESLALINK_FLEET_PAIRING_URL") or PAIRING_URL
    link = base.rstrip("/") + "/" + quote(domain.strip().lower(), safe=".-")
    return f"{link}?vin={quote(vin, safe='')}" if vin else link


async def wait_until_paired(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout_s: float,
    first_pause_s: float = 1.0,
    max_pause_s: float = 15.0,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Call `check` now, then after 1, 2, 4 ... (at most `max_pause_s`) seconds, until it says
    True (True) or `timeout_s` has passed (False). The last pause is cut to the deadline."""
    deadline = clock() + max(0.0, timeout_s)
    pause = first_pause_s
    while True:
        if await check():
            return True
        left = deadline - clock()
        if left <= 0:
            return False
        await sleep(min(pause, left))
        pause = min(pause * 2, max_pause_s)
