"""The Fleet API's money, counted on our side: billable calls per account, month and category.

Tesla bills the Fleet API per call since 2025-02-01 (developer.tesla.com/docs/fleet-api/
billing-and-limits, as read for research/fleet.md 1.9 in 2026): every answer below 500 of a billed
route, in four categories, with a $10 monthly discount. `FleetApi(ledger=..., account=...)`
records each billable answer here; `month(account, "2026-12")` gives the counts and their cost.
The discount is shown apart, never netted into `cost_usd`.

The file (JSON, beside the token file) survives processes, so a month's total is the sum of
every CLI run and service. Each record is one read-modify-write under an exclusive `flock` on a
sibling `.lock` file, written atomically with mode 0600. A file that is not a ledger is a
`ConfigError` naming it, and is never replaced: it holds money figures someone may want back.

    {"version": 1, "accounts": {"me@example.com": {"2026-12": {"data": 3, "commands": 2}}}}

Months are calendar months in UTC (our choice: Tesla's billing page names a monthly cycle but
no time zone).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ..._files import atomic_write_bytes
from ..._json import dumps, loads
from ...errors import ConfigError, DecodeError
from ..tokens import read_regular_file

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CATEGORIES",
    "LEDGER_FILE_NAME",
    "MONTHLY_DISCOUNT_USD",
    "PER_DOLLAR",
    "BudgetLedger",
    "MonthUsage",
    "month_of",
]

LEDGER_FILE_NAME: Final = "fleet-ledger.json"
CATEGORIES: Final = ("data", "commands", "wakes", "signals")
PER_DOLLAR: Final[Mapping[str, int]] = {
    "data": 500,  # vehicle_data and other device data: $0.002 each
    "commands": 1_000,  # commands (signed_command too, inferred): $0.001 each
    "wakes": 50,  # wake_up: $0.02 each
    "signals": 150_000,  # Fleet Telemetry streaming signals
}
"""How many calls of each category Tesla bills per US dollar (billing-and-limits page, fleet.md 1.9)."""
MONTHLY_DISCOUNT_USD: Final = 10.0
"""Tesla's monthly discount per account ("roughly covers data streaming, 100 commands and 2 wakes
per day for two vehicles"); it is per developer account, which is the owner's own for a hobbyist."""
_VERSION: Final = 1
_MONTH: Final = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_LOCK_TIMEOUT_S: Final = 10.0
_LOCK_POLL_S: Final = 0.02


@dataclass(frozen=True, slots=True)
class MonthUsage:
    """One account's billable calls in one month, and what they cost at Tesla's prices."""

    account: str
    month: str
    counts: Mapping[str, int] = field(default_factory=dict)

    def count(self, category: str) -> int:
        return int(self.counts.get(category, 0))

    def category_cost_usd(self, category: str) -> float:
        """What `category`'s calls cost this month, in dollars (rounded to a millionth)."""
        return round(self.count(category) / PER_DOLLAR[category], 6)

    @property
    def cost_usd(self) -> float:
        """The month's cost before the discount, in dollars (rounded to a millionth)."""
        return round(sum(self.count(c) / PER_DOLLAR[c] for c in CATEGORIES), 6)

    @property
    def discount_usd(self) -> float:
        """The part of the monthly discount this month's calls use (at most $10)."""
        return min(self.cost_usd, MONTHLY_DISCOUNT_USD)

    @property
    def due_usd(self) -> float:
        """What remains to pay once the discount is taken off."""
        return round(self.cost_usd - self.discount_usd, 6)


class BudgetLedger:
    """The ledger file at `path`; `beside(token_path)` puts it in the token file's directory."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def beside(cls, token_path: str | os.PathLike[str]) -> BudgetLedger:
        return cls(Path(token_path).with_name(LEDGER_FILE_NAME))

    def __repr__(self) -> str:
        return f"BudgetLedger({str(self.path)!r})"

    # --- reading -------------------------------------------------------------------------------

    def check(self) -> None:
        """Read the file once: a ConfigError now (naming it) if it is not a ledger."""
        self._read()

    def month(self, account: str, month: str | None = None) -> MonthUsage:
        """`account`'s counts for `month` ("YYYY-MM"; None: this month, UTC)."""
        chosen = month_of(None) if month is None else _checked_month(month)
        months = self._read().get(account, {})
        return MonthUsage(account, chosen, dict(months.get(chosen, {})))

    def months(self, account: str) -> list[str]:
        """The months `account` has counts for, oldest first."""
        return sorted(self._read().get(account, {}))

    def accounts(self) -> list[str]:
        return sorted(self._read())

    # --- writing -------------------------------------------------------------------------------

    def record(
        self, account: str, category: str, n: int = 1, when: dt.datetime | float | None = None
    ) -> None:
        """Add `n` billable calls of `category` for `account` in the month of `when` (default: now)."""
        self.record_many(account, {category: n}, when)

    def record_many(
        self, account: str, counts: Mapping[str, int], when: dt.datetime | float | None = None
    ) -> None:
        """Add several categories' counts for `account` in one locked read-modify-write.

        Blocking (a file lock, a read, an atomic write with fsync): async callers run it in a
        thread, as `FleetApi` does, never on the event loop.
        """
        for category, n in counts.items():
            if category not in CATEGORIES:
                raise ConfigError(f"unknown billing category {category!r} (known: {', '.join(CATEGORIES)})")
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ConfigError(f"a count must be a whole number of calls, got {n!r}")
        if not account:
            raise ConfigError("a billable call needs the account it is billed to")
        month = month_of(when)
        with self._locked():
            accounts = self._read()
            kept = accounts.setdefault(account, {}).setdefault(month, {})
            for category, n in counts.items():
                kept[category] = kept.get(category, 0) + n
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write_bytes(self.path, dumps({"version": _VERSION, "accounts": accounts}))

    # --- the file ------------------------------------------------------------------------------

    def _read(self) -> dict[str, dict[str, dict[str, int]]]:
        try:
            raw = read_regular_file(self.path, "the Fleet budget ledger")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot read the Fleet budget ledger ({exc.strerror})") from None
        try:
            return _parse(loads(raw))
        except (DecodeError, ValueError, TypeError):
            raise ConfigError(
                f"{self.path}: not a Fleet budget ledger (kept as it is: move it away to start a new one)"
            ) from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive flock on `<file>.lock` across one read-modify-write (other processes too)."""
        if fcntl is None:  # pragma: no cover - Windows: atomic writes only
            yield
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"{lock_path}: cannot open the ledger's lock file ({exc.strerror})") from None
        try:
            deadline = time.monotonic() + _LOCK_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ConfigError(
                            f"{lock_path}: another process has held the ledger lock for over "
                            f"{_LOCK_TIMEOUT_S:g} s"
                        ) from None
                    time.sleep(_LOCK_POLL_S)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def _parse(data: Any) -> dict[str, dict[str, dict[str, int]]]:
    """The accounts of a ledger document; ValueError for anything else."""
    if (
        not isinstance(data, dict)
        or data.get("version") != _VERSION
        or not isinstance(data.get("accounts"), dict)
    ):
        raise ValueError("not a ledger")
    accounts: dict[str, dict[str, dict[str, int]]] = {}
    for account, months in data["accounts"].items():
        if not isinstance(months, dict):
            raise ValueError(account)
        accounts[str(account)] = {}
        for month, counts in months.items():
            if not _MONTH.match(str(month)) or not isinstance(counts, dict):
                raise ValueError(month)
            for category, n in counts.items():
                if category not in CATEGORIES or isinstance(n, bool) or not isinstance(n, int) or n < 0:
                    raise ValueError(category)
            accounts[str(account)][str(month)] = dict(counts)
    return accounts


def month_of(when: dt.datetime | float | None) -> str:
    """ "YYYY-MM" of `when` in UTC (a naive datetime is taken as UTC; a number as epoch seconds)."""
    if when is None:
        moment = dt.datetime.now(dt.UTC)
    elif isinstance(when, dt.datetime):
        moment = when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC)
    else:
        moment = dt.datetime.fromtimestamp(float(when), dt.UTC)
    return f"{moment.year:04d}-{moment.month:02d}"


def _checked_month(month: str) -> str:
    if not _MONTH.match(month):
        raise ConfigError(f"a month is YYYY-MM, got {month!r}")
    return month
