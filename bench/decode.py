"""Microseconds to decode one vitals body: ours against tesla-wall-connector's decoder.

Both get the same bytes, a real split-phase charging body. The peer's decoder is a coroutine
that reads `response.text()`; it is driven synchronously with a minimal response stand-in, so
no event loop cost is counted for either side.
"""

from __future__ import annotations

import timeit
from pathlib import Path
from typing import Any

from tesla_wall_connector import api as peer_api

from teslalink._json import decode_object
from teslalink.wallconnector.models import Vitals

BODY = (
    Path(__file__).parent.parent / "tests/fixtures/wall_connector/vitals_na_splitphase_charging_30A.json"
).read_bytes()
BROKEN = (
    b'{"contactor_cycles":31,"alert_count":nan,"avg_startup_temp":nan,"energy_wh":91853,"uptime_s":566863'
)


class _Response:
    def __init__(self, body: bytes) -> None:
        self.body = body

    async def text(self) -> str:
        return self.body.decode("utf-8")


def _drive(coro: Any) -> Any:
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the peer's decoder awaited something real")


def measure(repeat: int = 5, number: int = 20000) -> dict[str, float]:
    peer = peer_api.API("bench", None, 5)  # type: ignore[arg-type]

    def best_us(fn: Any) -> float:
        return min(timeit.repeat(fn, repeat=repeat, number=number)) / number * 1e6

    return {
        "ours_dict_us": best_us(lambda: decode_object(BODY)),
        "ours_model_us": best_us(lambda: Vitals.from_raw(decode_object(BODY))),
        "peer_us": best_us(lambda: _drive(peer.decode_response(_Response(BODY)))),
        "ours_broken_us": best_us(lambda: decode_object(BROKEN)),
        "peer_broken_us": best_us(lambda: _drive(peer.decode_response(_Response(BROKEN)))),
    }


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key:16} {value:8.2f}")
