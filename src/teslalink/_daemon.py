"""A blocking call (a prompt, `input()`) awaited from async code and abandoned on Ctrl-C.

Why not `asyncio.to_thread`: its thread belongs to the loop's default executor, which
`asyncio.run` joins on the way out, so after Ctrl-C the process waits until the user presses
Enter; and calling `input()` on the loop's own thread keeps asyncio's Ctrl-C handler from ever
running. A daemon thread of its own is simply left behind when the process exits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["in_daemon_thread"]

_T = TypeVar("_T")


async def in_daemon_thread(call: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """`call(*args, **kwargs)` in a daemon thread; its result or its exception, awaited here."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[_T] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if answer.done():  # cancelled: nobody waits any more
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(value)

    def work() -> None:
        try:
            value = call(*args, **kwargs)
        except BaseException as exc:
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, value, None)

    threading.Thread(target=work, name="teslalink-blocking-call", daemon=True).start()
    return await answer
