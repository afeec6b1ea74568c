"""Text safe to print: what every output path applies to what a device or Tesla sent.

Only `re`: `teslalink --help` imports it (through main's error reporting) and must stay fast.
"""

from __future__ import annotations

import re

# What must not reach a terminal: C0 controls but tab and newline (ESC starts every escape
# sequence, CR overwrites a line), DEL, C1 controls (U+009B is a CSI on its own) and lone
# surrogates (no encoding can write them: UnicodeEncodeError).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def unsafe_characters(text: str) -> bool:
    return _UNSAFE.search(text) is not None


def printable(text: str) -> str:
    """`text` safe to print: controls deleted, lone surrogates shown as U+FFFD.

    Our choice: delete controls rather than mark them, so that what is left of an escape sequence
    (`]0;title`, `[2J`) is shown as the inert text it is and widths stay what rich measured.
    """
    return _UNSAFE.sub(lambda m: "\ufffd" if m.group() >= "\ud800" else "", text)


_WORD = re.compile(r"[A-Za-z_.-]{1,40}")


def shown_unless_secret(text: str) -> str:
    """`text` quoted for an error line if it is a plain word (a key without `=value`); else not at
    all. Our choice: anything with a digit may be a PIN, a passcode or a token."""
    return repr(text) if _WORD.fullmatch(text) else "a value not shown (it may be a PIN)"


def plural(count: int, one: str, many: str) -> str:
    """ "1 entry", "2 entries": a count that reads right."""
    return f"{count} {one if count == 1 else many}"
