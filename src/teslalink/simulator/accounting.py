"""What the simulated cloud was asked, counted the way Tesla's Fleet API bills it.

Every answer with a status below 500 is billed, 408 and 429 included, in one of four categories:
data (vehicle_data, summaries, energy reads), command, wake, and streaming signals (one per field
value pushed). Later features use these counters to prove what they cost, and the cars' own
wake-up counts and awake time to prove that they let cars sleep.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["FLEET_API_PRICE_PER_DOLLAR", "Accounting", "BillingCategory"]


class BillingCategory(enum.StrEnum):
    DATA = "data"
    COMMAND = "command"
    WAKE = "wake"
    STREAMING_SIGNAL = "streaming_signal"


#: How many of each the Fleet API bills per US dollar (docs/reference.md §3).
FLEET_API_PRICE_PER_DOLLAR = {
    BillingCategory.DATA: 500,
    BillingCategory.COMMAND: 1_000,
    BillingCategory.WAKE: 50,
    BillingCategory.STREAMING_SIGNAL: 150_000,
}


@dataclass
class Accounting:
    """Billable requests by category, in total and per vehicle (keyed by the vehicle's `id`)."""

    totals: Counter[BillingCategory] = field(default_factory=Counter)
    by_vehicle: dict[int, Counter[BillingCategory]] = field(default_factory=dict)
    unbilled: int = 0  # answers with status >= 500

    def record(
        self, category: BillingCategory, status: int, *, vehicle: int | None = None, count: int = 1
    ) -> None:
        """Count one answer (or `count` streaming signals); 5xx answers are not billed."""
        if status >= 500:
            self.unbilled += count
            return
        self.totals[category] += count
        if vehicle is not None:
            self.by_vehicle.setdefault(vehicle, Counter())[category] += count

    def cost_usd(self) -> float:
        return sum(n / FLEET_API_PRICE_PER_DOLLAR[c] for c, n in self.totals.items())

    def snapshot(self) -> dict[str, object]:
        """A JSON-ready view: totals, per vehicle, the cost in dollars."""
        return {
            "totals": {c.value: self.totals.get(c, 0) for c in BillingCategory},
            "by_vehicle": {
                str(v): {c.value: n.get(c, 0) for c in BillingCategory} for v, n in self.by_vehicle.items()
            },
            "unbilled_5xx": self.unbilled,
            "cost_usd": round(self.cost_usd(), 6),
        }
