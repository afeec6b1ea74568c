"""The records waiting for the next commit: in order, one entry per row, and bounded.

Every row has a natural key (a span's key, a sample's device and time, ...), and the database
keeps one row per key, so the queue does too: a span written again while it waits (a drive that
grew) replaces its waiting version in place instead of queueing a second one. Rows of different
keys never depend on each other, so the order of first arrival is as good as any.

The queue is bounded (`limit` rows) so a database that is down for days cannot eat the
machine's memory. When it is full the oldest waiting *sample or event* makes room and is counted
as dropped; spans and the other upserted rows (cars, the ledger) are never dropped: there are
few of them, one per key, and losing one would leave a session half-told.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from .tables import Table

__all__ = ["Pending", "PendingQueue"]


@dataclass(frozen=True, slots=True)
class Pending:
    """One row to write: its table, its values (devices and span keys still named), its key."""

    table: Table
    row: tuple[Any, ...]
    key: Hashable


class PendingQueue:
    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._rows: OrderedDict[Hashable, Pending] = OrderedDict()

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, pending: Pending) -> int:
        """Queue `pending` (replacing a waiting row of the same key); returns how many rows were
        dropped to make room (0 or 1)."""
        if pending.key in self._rows:
            self._rows[pending.key] = pending
            return 0
        dropped = 0
        if len(self._rows) >= self.limit:
            # the oldest sample or event; with nothing but spans waiting, the bound gives way
            victim = next((key for key, waiting in self._rows.items() if waiting.table.droppable), None)
            if victim is not None:
                del self._rows[victim]
                dropped = 1
        self._rows[pending.key] = pending
        return dropped

    def take(self, count: int) -> list[Pending]:
        """The `count` oldest rows, removed from the queue."""
        taken: list[Pending] = []
        while self._rows and len(taken) < count:
            taken.append(self._rows.popitem(last=False)[1])
        return taken
