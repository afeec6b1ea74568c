"""What an energy site's model refuses, as `Refusal`s with the status the Owner API answers.

The model decides and the HTTP layer formats: a handler lets a `SiteError` through and the Owner
API answers `exc.response()` (`exc.status` with ``{"response": null, "error": exc.message,
"error_description": ""}``), never knowing the rules itself.
"""

from __future__ import annotations

from ..refusal import Refusal

__all__ = ["SiteCommandError", "SiteError", "SiteRequestError"]


class SiteError(Refusal):
    """A request the site refuses: `status` is the HTTP status, `message` the error text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status)

    @property
    def message(self) -> str:
        return self.error

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


class SiteRequestError(SiteError):
    """A read with bad parameters (an unknown kind or period, a malformed date)."""


class SiteCommandError(SiteError):
    """A command with a bad value, or one this site cannot do (no Powerwall)."""
