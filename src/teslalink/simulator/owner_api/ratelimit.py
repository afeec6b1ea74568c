"""Rate limits of the Owner API twin: sliding windows per account and per vehicle, in world time.

Tesla answers 429 with a `Retry-After` header (values of hours have been seen) and blocks clients
that keep retrying for hours (docs/reference.md §2.2). The twin does the same, counted on the world clock
so tests can advance through it:

* a request over a limit (more than N in the last 60 world seconds) is refused with 429 and the
  key (the account, or the vehicle of the path) is blocked for `retry_after_s`;
* every request that arrives while the key is blocked is refused too, and *extends* the block:
  the k-th such request in a row sets it to `retry_after_s * penalty_factor**k` from now, capped
  at `max_block_s` (12 h by default). A client that waits out Retry-After starts clean.

Refused requests do not count in the window. Retry-After is in world seconds (with speed 0 the
only clock there is; with speed > 1 a client that honours it waits longer than needed).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from ...errors import ConfigError
from ..spec_parser import spec_items, spec_number

__all__ = ["RateLimiter", "RateLimits"]

WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Limits per minute of world time; None switches a limit off (the default: no limits)."""

    per_vehicle_per_min: int | None = None
    per_account_per_min: int | None = None
    retry_after_s: float = 60.0
    penalty_factor: float = 2.0
    max_block_s: float = 12 * 3600.0

    def __post_init__(self) -> None:
        for name in ("per_vehicle_per_min", "per_account_per_min"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1 (or None for no limit), got {value!r}")
        if not (self.retry_after_s > 0 and math.isfinite(self.retry_after_s)):
            raise ConfigError(f"retry_after_s must be positive, got {self.retry_after_s!r}")
        if not self.penalty_factor >= 1.0:
            raise ConfigError(f"penalty_factor must be >= 1, got {self.penalty_factor!r}")
        if not self.max_block_s >= self.retry_after_s:
            raise ConfigError("max_block_s must be at least retry_after_s")

    @property
    def enabled(self) -> bool:
        return self.per_vehicle_per_min is not None or self.per_account_per_min is not None

    @classmethod
    def parse(cls, text: str) -> RateLimits:
        """``"vehicle=30,account=120,retry_after=300"`` (also penalty=F, max_block=S); ConfigError."""
        names = {
            "vehicle": "per_vehicle_per_min",
            "account": "per_account_per_min",
            "retry_after": "retry_after_s",
            "penalty": "penalty_factor",
            "max_block": "max_block_s",
        }
        values: dict[str, float | int] = {}
        for item in spec_items(text):
            name = names.get(item.key)
            if name is None or item.value is None:
                raise ConfigError(
                    f"bad rate limit {item.text!r}; expected {', '.join(k + '=N' for k in names)}"
                )
            number = spec_number("rate limit", item.name, item.value)
            values[name] = int(number) if name.startswith("per_") else number
        return cls(**values)  # type: ignore[arg-type]


@dataclass(slots=True)
class _Bucket:
    times: deque[float] = field(default_factory=deque)
    blocked_until: float = -math.inf
    strikes: int = 0


class RateLimiter:
    """Decides 429s for keys (an account, a vehicle) at world times; see the module docstring."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._buckets: dict[Hashable, _Bucket] = {}

    def __repr__(self) -> str:
        return f"RateLimiter({self.limits!r}, keys={len(self._buckets)})"

    def admit(self, keys: Iterable[tuple[Hashable, int | None]], now: float) -> float | None:
        """Count one request against every (key, limit); None if admitted, else Retry-After seconds.

        A key with limit None is not limited. Nothing is counted unless the request is admitted.
        """
        limits = self.limits
        chosen = [
            (self._buckets.setdefault(key, _Bucket()), limit) for key, limit in keys if limit is not None
        ]
        retry: float | None = None
        for bucket, _ in chosen:
            if now < bucket.blocked_until:
                bucket.strikes += 1
                penalty = limits.retry_after_s * limits.penalty_factor**bucket.strikes
                bucket.blocked_until = now + min(penalty, limits.max_block_s)
                retry = max(retry or 0.0, bucket.blocked_until - now)
        if retry is not None:
            return retry
        for bucket, limit in chosen:
            assert limit is not None
            while bucket.times and bucket.times[0] <= now - WINDOW_S:
                bucket.times.popleft()
            if len(bucket.times) >= limit:
                bucket.strikes = 0
                bucket.blocked_until = now + limits.retry_after_s
                retry = max(retry or 0.0, limits.retry_after_s)
        if retry is not None:
            return retry
        for bucket, _ in chosen:
            bucket.times.append(now)
        return None

    def blocked_until(self, key: Hashable) -> float | None:
        """When the block on `key` ends (None if it was never blocked)."""
        bucket = self._buckets.get(key)
        return None if bucket is None or bucket.blocked_until == -math.inf else bucket.blocked_until

    def reset(self) -> None:
        self._buckets.clear()
