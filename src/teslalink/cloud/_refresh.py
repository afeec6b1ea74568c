"""One token refresh at a time, shared by every caller: its success and its failure.

Why: refresh tokens rotate (Tesla's SSO and the Fleet API's both retire the one used), and many
tasks may find the token expiring, or rejected by a 401, at the same moment. The first caller
refreshes; the others wait and take its result, never sending a grant of their own with a
refresh token that was just retired. If that refresh failed, every caller that waited for it
gets the same error instead of asking a failing server again (`cloud.auth.Auth` and
`cloud.fleet.oauth.FleetAuth` both refresh through it; the file lock across processes is the
token store's, `TokenStore.locked()`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from ..errors import TeslalinkError

__all__ = ["SharedRefresh"]

T = TypeVar("T")


class SharedRefresh(Generic[T]):
    """The in-process half of a single-flight refresh; `lock` also guards logins that store tokens."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self._finished = 0  # refresh attempts finished, failed or not
        self._failure: tuple[str, TeslalinkError] | None = None  # (the access token held, its error)

    async def run(
        self, held: str, replaced: Callable[[], T | None], refresh: Callable[[], Awaitable[T]]
    ) -> T:
        """Refresh the token whose access token is `held`, unless another caller already did.

        `replaced()` returns the holder's current token if it is no longer `held` (someone
        refreshed while we waited), else None; `refresh()` does the grant under the lock.
        """
        started = self._finished
        async with self.lock:
            newer = replaced()
            if newer is not None:
                return newer
            failed = self._failure
            if failed is not None and self._finished > started and failed[0] == held:
                raise failed[1]  # the refresh we waited for failed: its error is ours, no new grant
            try:
                return await refresh()
            except TeslalinkError as exc:
                self._failure = (held, exc)
                raise
            finally:
                self._finished += 1
