"""One line of words for a log, `/status` or an error: what every part of the service shows.

A device's or a server's text may hold newlines and control characters; an exception's str may
be empty. Shown beside a device or in one log line, it is flattened, stripped of what does not
print and bounded.
"""

from __future__ import annotations

from typing import Final

__all__ = ["LIMIT", "exc_line", "one_line"]

LIMIT: Final = 200
"""Our choice: long enough for a host and Tesla's reason, short enough for a status table."""


def one_line(text: str, limit: int = LIMIT) -> str:
    """`text` on one line, control characters gone, at most `limit` characters."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def exc_line(exc: BaseException, limit: int = LIMIT) -> str:
    """An exception's words on one line; its type's name when it has none."""
    return one_line(str(exc), limit) or type(exc).__name__
