"""Where a key of a TOML file is written: the line numbers `service.config` puts on its problems.

`tomllib` gives a plain dict and forgets where each value came from, so a wrong value found
after parsing (a port out of range, an unknown key) would have no line. `LineMap` reads the text
once more, on its own, and remembers the line of every table header and every `key =` line,
under the same path the parsed document uses: `("listen", "port")`, and for an array of tables
the element's index, `("wallconnector", 1, "host")` for the `host` of the second
`[[wallconnector]]`.

It is not a TOML parser and need not be one: it runs only on text `tomllib` has accepted, and
it only has to find lines. Its limits (a lookup then falls back to the nearest enclosing path
it knows, so a problem still points at the right table or key):

- keys inside an inline table (`events = { plugged_in = true }`) are not located one by one:
  they get the line of the key holding the table;
- a quoted key is taken between its quotes without decoding escapes (`"a\\u0062"` is not `ab`);
- a key defined implicitly by a dotted header (`[notify.events]` without `[notify]`) has the
  header's line.
"""

from __future__ import annotations

import re

__all__ = ["ConfigPath", "LineMap"]

ConfigPath = tuple[str | int, ...]

_KEY_PART = re.compile(r"""\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*""")


def _key_parts(text: str) -> tuple[str, ...] | None:
    """`a . "b c".d` -> ("a", "b c", "d"); None when `text` is not a dotted key."""
    parts: list[str] = []
    position = 0
    while True:
        found = _KEY_PART.match(text, position)
        if found is None:
            return None
        word = found.group(1)
        parts.append(word[1:-1] if word[0] in "\"'" else word)
        position = found.end()
        if position == len(text):
            return tuple(parts)
        if text[position] != ".":
            return None
        position += 1


class _Lexer:
    """Which lines start outside any string, array or inline table (only those hold keys and
    headers), and where a line's first key or header ends."""

    def __init__(self) -> None:
        self.depth = 0  # open [ and { of values (arrays, inline tables)
        self.open_string = ""  # '\"\"\"' or "'''" while inside a multi-line string

    def at_top(self) -> bool:
        return self.depth == 0 and not self.open_string

    def consume(self, line: str, start: int = 0) -> None:
        """Move the state across `line` from `start` (strings, comments, brackets)."""
        i = start
        while i < len(line):
            if self.open_string:
                end = self._string_end(line, i, self.open_string)
                if end < 0:
                    return
                self.open_string = ""
                i = end
                continue
            char = line[i]
            if char == "#":
                return
            if line.startswith('"""', i) or line.startswith("'''", i):
                self.open_string = line[i : i + 3]
                i += 3
                continue
            if char in "\"'":
                end = self._string_end(line, i + 1, char)
                i = len(line) if end < 0 else end
                continue
            if char in "[{":
                self.depth += 1
            elif char in "]}":
                self.depth = max(0, self.depth - 1)
            i += 1

    @staticmethod
    def _string_end(line: str, i: int, quote: str) -> int:
        """The index after the closing `quote`, or -1 when the string goes on past this line."""
        escapes = quote[0] == '"'
        while i < len(line):
            if escapes and line[i] == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                end = i + len(quote)
                while len(quote) == 3 and line.startswith(quote[0], end) and end < i + 5:
                    end += 1  # up to two quotes may close a multi-line string: `""""` ends with one
                return end
            i += 1
        return -1


class LineMap:
    """The line (1-based) of each table header and `key =` line of a TOML text."""

    def __init__(self, text: str) -> None:
        self._lines: dict[ConfigPath, int] = {}
        self._last_index: dict[ConfigPath, int] = {}  # array of tables -> index of its last element
        table: ConfigPath = ()
        lexer = _Lexer()
        # Lines as TOML counts them: split at "\n" only (str.splitlines also splits at U+2028 and
        # other breaks a TOML string or comment may hold, which would shift every line after it).
        for number, line in enumerate(text.split("\n"), start=1):
            if not lexer.at_top():
                lexer.consume(line)
                continue
            stripped = line.lstrip()
            if stripped.startswith("["):
                found = self._header(stripped)
                if found is not None:
                    table = found
                    for depth in range(1, len(table) + 1):  # parents only implied by it too
                        self._lines.setdefault(table[:depth], number)
                continue  # a header holds no value
            key_text, equals, _ = _split_key(stripped)
            parts = _key_parts(key_text) if equals else None
            if parts is not None:
                for depth in range(1, len(parts) + 1):
                    self._lines.setdefault(table + parts[:depth], number)
                lexer.consume(line, len(line) - len(stripped) + len(key_text) + 1)

    def _header(self, stripped: str) -> ConfigPath | None:
        array = stripped.startswith("[[")
        closing = stripped.find("]]" if array else "]")
        if closing < 0:
            return None
        parts = _key_parts(stripped[2 if array else 1 : closing])
        if parts is None:
            return None
        if not array:
            return self._resolved(parts)
        path = (*self._resolved(parts[:-1]), parts[-1])
        index = self._last_index.get(path, -1) + 1
        self._last_index[path] = index
        return (*path, index)

    def _resolved(self, parts: tuple[str, ...]) -> ConfigPath:
        """`[account.x]` after two `[[account]]`: ("account", 1, "x"), as TOML reads it."""
        path: ConfigPath = ()
        for part in parts:
            path = (*path, part)
            if path in self._last_index:
                path = (*path, self._last_index[path])
        return path

    def line_of(self, path: ConfigPath) -> int | None:
        """The line of `path`, else of the nearest enclosing table or key written in the text."""
        while path:
            line = self._lines.get(path)
            if line:
                return line
            path = path[:-1]
        return None


def _split_key(stripped: str) -> tuple[str, str, str]:
    """`key = value` -> (key, "=", value): the first `=` outside a quoted key."""
    i = 0
    while i < len(stripped):
        char = stripped[i]
        if char in "\"'":
            end = stripped.find(char, i + 1)
            while char == '"' and end > 0 and stripped[end - 1] == "\\":
                end = stripped.find(char, end + 1)
            if end < 0:
                return stripped, "", ""
            i = end + 1
            continue
        if char == "=":
            return stripped[:i], "=", stripped[i + 1 :]
        if char == "#":
            break
        i += 1
    return stripped, "", ""
