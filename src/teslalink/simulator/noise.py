"""Sensor noise as a function of world time, never of how often a device is read.

A real unit samples its sensors periodically, so two reads within one sample period show the
same readings. The twin does the same: the random draws of one sample period depend only on
(world seed, unit serial, purpose, sample index), where the sample index is
``floor(world time / SAMPLE_PERIOD_S)``. Reading a unit once or a thousand times, by one client or
by five, changes nothing that anyone reads later, so a scenario replays byte for byte whatever
the polling was.

The draws of a period are made once and kept until the sample index changes, so a twin answering
thousands of reads a second draws once per period, not once per read. They come straight from
blake2b digests of those parts (never Python's salted ``hash()``): 32-bit words as uniforms on
(0, 1), pairs of them turned into standard normals by Box-Muller. That is about three times
cheaper than seeding a `random.Random` per period, which matters when a fast clock makes every
read land in a new period (hundreds of units at speed 60).
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass

__all__ = ["SAMPLE_PERIOD_S", "SampleDraws", "SampledNoise", "sample_index"]

_BLOCK = hashlib.blake2b().digest_size  # 64 bytes: 16 words per digest
_WORD_SCALE = 1.0 / 2**32
_TWO_PI = 2.0 * math.pi

SAMPLE_PERIOD_S = 1.0
"""How often a unit samples its sensors, in world seconds."""


def sample_index(t: float) -> int:
    """The sample period world time `t` falls in."""
    return math.floor(t / SAMPLE_PERIOD_S)


@dataclass(frozen=True, slots=True)
class SampleDraws:
    """One period's draws: standard normals ``z`` and uniforms on [0, 1) ``u``.

    A user maps each slot to one sensor (``value + sigma * z[i]``, ``low + (high - low) * u[j]``),
    so a reading is a pure function of the true state and the period's draws.
    """

    index: int
    z: tuple[float, ...]
    u: tuple[float, ...]


class SampledNoise:
    """The draws of one purpose of one unit (`key`), fixed within each sample period."""

    __slots__ = ("_blocks", "_current", "_key", "_normals", "_pairs", "_uniforms", "_words")

    def __init__(self, key: str, *, normals: int, uniforms: int = 0) -> None:
        if normals < 0 or uniforms < 0:
            raise ValueError(f"need counts >= 0, got normals={normals!r}, uniforms={uniforms!r}")
        self._key = key.encode()
        self._normals = normals
        self._uniforms = uniforms
        self._pairs = (normals + 1) // 2  # Box-Muller makes normals two at a time
        words = 2 * self._pairs + uniforms
        self._blocks = range(-(-words * 4 // _BLOCK))
        self._words = struct.Struct(f"<{words}I")
        self._current: SampleDraws | None = None

    def __repr__(self) -> str:
        return f"SampledNoise({self._key.decode()!r}, normals={self._normals}, uniforms={self._uniforms})"

    def at(self, t: float) -> SampleDraws:
        """The draws of the sample period world time `t` falls in."""
        index = math.floor(t / SAMPLE_PERIOD_S)
        current = self._current
        if current is None or current.index != index:
            current = self._current = self.draw(index)
        return current

    def draw(self, index: int) -> SampleDraws:
        """The draws of sample period `index`, computed afresh (`at` caches the latest)."""
        key, blake2b = self._key, hashlib.blake2b
        stream = b"".join(blake2b(b"%s:%d:%d" % (key, index, block)).digest() for block in self._blocks)
        words = self._words
        u = [(word + 0.5) * _WORD_SCALE for word in words.unpack_from(stream)]  # never 0 or 1
        sqrt, log, cos, sin = math.sqrt, math.log, math.cos, math.sin
        z: list[float] = []
        for i in range(0, 2 * self._pairs, 2):
            radius, angle = sqrt(-2.0 * log(u[i])), _TWO_PI * u[i + 1]
            z += (radius * cos(angle), radius * sin(angle))
        del z[self._normals :]
        return SampleDraws(index, tuple(z), tuple(u[2 * self._pairs :]))
