"""What an energy site's model refuses, with the HTTP status the Owner API answers it with.

The model decides and the HTTP layer formats: a handler catches `SiteError`, answers
`exc.status` with `{"response": null, "error": exc.message, "error_description": ""}`, and never has
to know the rules itself. These are the twin's own (server-side) errors, not `teslalink.errors`:
a client sees them only as the HTTP answers they become.
"""

from __future__ import annotations

__all__ = ["SiteCommandError", "SiteError", "SiteRequestError"]


class SiteError(Exception):
    """A request the site refuses: `status` is the HTTP status, `message` the error text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


class SiteRequestError(SiteError):
    """A read with bad parameters (an unknown kind or period, a malformed date)."""


class SiteCommandError(SiteError):
    """A command with a bad value, or one this site cannot do (no Powerwall)."""
