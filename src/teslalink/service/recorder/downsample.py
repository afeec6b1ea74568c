"""Thinning old samples: one row per device and 5 minutes, once they are older than a set age.

A Wall Connector read every 5 s while charging and every 60 s otherwise, and a site every
minute, write most of the rows; a month later nobody needs them at that rate. Our choice of
bucket: 5 minutes, aligned to the epoch (so it is the same bucket in every run and timezone).
A bucket's row keeps the time of its last sample, the average of its rates (power, current,
voltage, frequency, temperatures) and the last value of its counters and states (session
energy, energy added, battery level, evse_state, plugged in, charging state). Rows that are
already one per bucket are left alone, so running it again changes nothing.

Which tables (`tables.Table.rules`): Wall Connector samples, site samples and the car's charge
samples. Positions are never thinned: a drive's path is what its rows are for, and they are few.
Charging and Wall Connector *sessions* are spans and hold their own totals, so no energy figure
of a session changes.

Each device's rows are handled a day at a time, each day in one transaction (delete the day's
rows, insert its buckets), so a crash part-way leaves every day either as it was or thinned.
How far a table is done is kept in `meta` (`downsampled_until_ms.<table>`), so the next run
starts there instead of reading the whole table again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from .backend import Backend
from .tables import Table

__all__ = ["BUCKET_MS", "downsample_table", "merge_bucket"]

BUCKET_MS: Final = 5 * 60 * 1000
_DAY_MS: Final = 24 * 3600 * 1000
_SET_MARK: Final = (
    "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)


def merge_bucket(table: Table, rows: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
    """One row for the stored rows of one device and bucket (in time order)."""
    names = table.column_names
    last = rows[-1]
    merged: list[Any] = []
    for index, name in enumerate(names):
        rule = table.rules.get(name)
        if rule == "avg":
            values = [row[index] for row in rows if row[index] is not None]
            merged.append(round(sum(values) / len(values)) if values else None)
        elif rule == "last":
            merged.append(next((row[index] for row in reversed(rows) if row[index] is not None), None))
        else:  # the key: the device, and the time of the bucket's last sample
            merged.append(last[index])
    return tuple(merged)


def _buckets(table: Table, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    time_index = table.column_names.index("at_ms")
    merged: list[tuple[Any, ...]] = []
    group: list[Sequence[Any]] = []
    for row in rows:
        if group and group[0][time_index] // BUCKET_MS != row[time_index] // BUCKET_MS:
            merged.append(merge_bucket(table, group))
            group = []
        group.append(row)
    if group:
        merged.append(merge_bucket(table, group))
    return merged


async def _bucket_of_first(backend: Backend, sql: str, device: Any, at_or_after_ms: int) -> int | None:
    """The start of the bucket of the device's first sample at or after a time (None: none)."""
    found = await backend.fetch(sql, (device, at_or_after_ms))
    if not found or found[0][0] is None:
        return None
    return (int(found[0][0]) // BUCKET_MS) * BUCKET_MS


async def downsample_table(backend: Backend, table: Table, older_than_ms: int) -> int:
    """Thin `table`'s samples in every bucket that ends before `older_than_ms`; returns how many
    rows went."""
    cutoff = (older_than_ms // BUCKET_MS) * BUCKET_MS
    mark_name = f"downsampled_until_ms.{table.name}"
    found = await backend.fetch("SELECT value FROM meta WHERE name = ?", (mark_name,))
    mark = int(found[0][0]) if found else None
    if mark is not None and mark >= cutoff:
        return 0
    device_column = next(column for column in table.columns if column.name == table.device)
    assert device_column.device_kind is not None
    devices = await backend.fetch("SELECT id FROM devices WHERE kind = ?", (device_column.device_kind.value,))
    columns = ", ".join(table.column_names)
    select = (
        f"SELECT {columns} FROM {table.name} WHERE {table.device} = ? AND at_ms >= ? AND at_ms < ? "
        "ORDER BY at_ms"
    )
    delete = f"DELETE FROM {table.name} WHERE {table.device} = ? AND at_ms >= ? AND at_ms < ?"
    insert = f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join('?' for _ in table.column_names)})"
    first = f"SELECT min(at_ms) FROM {table.name} WHERE {table.device} = ? AND at_ms >= ?"
    removed = 0
    for (device,) in devices:
        start = await _bucket_of_first(backend, first, device, -(2**62) if mark is None else mark)
        while start is not None and start < cutoff:
            end = min(start + _DAY_MS, cutoff)
            rows = await backend.fetch(select, (device, start, end))
            merged = _buckets(table, rows)
            if len(merged) < len(rows):
                await backend.execute([(delete, [(device, start, end)]), (insert, merged)])
                removed += len(rows) - len(merged)
            start = await _bucket_of_first(backend, first, device, end)
    await backend.execute([(_SET_MARK, [(mark_name, cutoff)])])
    return removed
