"""How long a notifier waits before it tries an event again, and when it gives the event up.

Our choice, the scheduler's own bounds (`scheduler.RETRY_MIN_S`, `RETRY_MAX_S`): 5 s, doubling,
at most 5 min between tries; an event is given up (counted `failed`) after an hour or 20 tries,
whichever comes first. An hour-old "plugged in" is news nobody wants, and a target that fails for
an hour is reported by `/status` and the log long before. A target's Retry-After is honoured:
the wait is at least what it asked for, and a wait past the hour gives the event up at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..scheduler import RETRY_MAX_S, RETRY_MIN_S

__all__ = ["DEFAULT_RETRY", "RetryPlan"]


@dataclass(frozen=True, slots=True)
class RetryPlan:
    first_s: float = RETRY_MIN_S
    max_s: float = RETRY_MAX_S
    give_up_s: float = 3600.0
    max_attempts: int = 20

    def delay(self, failures: int, asked_s: float | None = None) -> float:
        """The wait after the `failures`-th failed try (1, 2, ...): doubling from `first_s`, at most
        `max_s`, less up to a fifth so that targets failing together do not retry in step; at least
        `asked_s` (a Retry-After)."""
        base = min(self.max_s, self.first_s * 2.0 ** max(0, failures - 1))
        wait = base * (0.8 + random.random() / 5)
        return max(wait, asked_s) if asked_s is not None else wait


DEFAULT_RETRY = RetryPlan()
