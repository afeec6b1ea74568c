"""The one rich Console every command prints through: what a device or Tesla sends is shown, never obeyed.

A Wall Connector's firmware string, a car's name (anyone who can rename the car sets it) or a site's
name reach tables, titles, captions and live views. rich would read `[/bold]` in them as markup
(MarkupError), pass ESC sequences and C1 controls on to the terminal (ESC ]0;... retitles it,
ESC[2J clears it) and crash on a lone surrogate (UnicodeEncodeError). This Console never parses
markup or emoji codes in strings, and cleans the text of every segment it renders, whether it came
from a string or a `Text` built elsewhere. Imported only where rich is, so `_common` stays light.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from rich.console import (
    Console,
    ConsoleOptions,
    HighlighterType,
    JustifyMethod,
    OverflowMethod,
    RenderableType,
)
from rich.segment import Segment
from rich.status import Status
from rich.style import Style
from rich.text import Text

from ._text import printable, unsafe_characters


class SafeConsole(Console):
    """A Console whose strings are plain text: no markup, no emoji codes, no control characters."""

    def render_str(
        self,
        text: str,
        *,
        style: str | Style = "",
        justify: JustifyMethod | None = None,
        overflow: OverflowMethod | None = None,
        emoji: bool | None = None,
        markup: bool | None = None,
        highlight: bool | None = None,
        highlighter: HighlighterType | None = None,
    ) -> Text:
        """Every string cell, title, caption and printed line comes here: cleaned, never parsed."""
        return super().render_str(
            printable(text),
            style=style,
            justify=justify,
            overflow=overflow,
            emoji=False,
            markup=False,
            highlight=highlight,
            highlighter=highlighter,
        )

    _cleaning = False  # set while the outermost render runs: nested renders pass through it

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        """The net under `render_str`: a `Text` someone built from a device string is cleaned here.

        Every segment printed passes through the outermost render, so only that one cleans (a
        table in a panel in columns would otherwise clean each segment once per level).
        """
        segments = super().render(renderable, options)
        return segments if self._cleaning else self._cleaned(segments)

    def _cleaned(self, segments: Iterable[Segment]) -> Iterator[Segment]:
        """Only text segments are cleaned; rich's own control segments (cursor moves of a live
        view) pass. Controls are deleted, not replaced: rich measures them as zero width, so the
        layout computed before stays right."""
        self._cleaning = True
        try:
            for segment in segments:
                if segment.control or not unsafe_characters(segment.text):
                    yield segment
                else:
                    yield Segment(printable(segment.text), segment.style)
        finally:
            self._cleaning = False

    def status(self, status: RenderableType, **kwargs: Any) -> Status:
        """rich's spinner reads a str message as markup whatever the console says: hand it Text."""
        return _PlainStatus(_as_text(status), console=self, **kwargs)


class _PlainStatus(Status):
    """A status whose later messages (`update("waking: " + state)`) are plain text too."""

    def update(self, status: RenderableType | None = None, **kwargs: Any) -> None:
        super().update(None if status is None else _as_text(status), **kwargs)


def _as_text(renderable: RenderableType) -> RenderableType:
    return Text(printable(renderable)) if isinstance(renderable, str) else renderable
