"""Blocking facade for scripts: the same objects as the async API, without `await`.

Every method hands the work to the async implementation on a private loop thread
(`teslalink._sync.LoopThread`); no logic lives here.

    from teslalink.sync import WallConnector
    with WallConnector("192.168.1.50") as charger:
        print(charger.vitals().evse_state)
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from ._sync import LoopThread
from .wallconnector import client as _async_client
from .wallconnector.models import Lifetime, Version, Vitals, WifiStatus
from .wallconnector.power import PowerReading

__all__ = ["WallConnector"]


class WallConnector:
    """Blocking twin of `teslalink.wallconnector.WallConnector`; takes the same arguments."""

    def __init__(self, host: str, **options: Any) -> None:
        self._loop = LoopThread()
        self._async = _async_client.WallConnector(host, **options)
        self.host = self._async.host

    def __repr__(self) -> str:
        return repr(self._async)

    def vitals(self) -> Vitals:
        return self._loop.run(self._async.vitals())

    def lifetime(self) -> Lifetime:
        return self._loop.run(self._async.lifetime())

    def version(self) -> Version:
        return self._loop.run(self._async.version())

    def wifi_status(self) -> WifiStatus:
        return self._loop.run(self._async.wifi_status())

    def power(self, vitals: Vitals) -> PowerReading:
        return self._async.power(vitals)

    def close(self) -> None:
        try:
            self._loop.run(self._async.close())
        finally:
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
