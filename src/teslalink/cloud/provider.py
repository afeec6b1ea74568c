"""The seam between who holds the tokens (cloud.auth) and who uses them (the API, streaming).

The API asks for a token before each request and says when the server rejected one; the provider
refreshes (once, for all concurrent callers) or gives up with TokenExpired.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..errors import TokenExpired

__all__ = ["StaticToken", "TokenProvider"]


@runtime_checkable
class TokenProvider(Protocol):
    async def access_token(self) -> str:
        """A token valid now (refreshed first if it is about to expire)."""
        ...

    async def token_rejected(self, token: str) -> str:
        """The server answered 401 to `token`: return a fresh one, or raise TokenExpired.

        Many calls may report the same rejected token at once; only one refresh happens.
        """
        ...


class StaticToken:
    """A fixed access token (scripts, tests): nothing to refresh."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"

    async def access_token(self) -> str:
        return self._token

    async def token_rejected(self, token: str) -> str:
        raise TokenExpired("the access token was rejected and there is no refresh token to renew it")
