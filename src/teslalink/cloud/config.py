"""Where Tesla's cloud is: the three base URLs, from options or the environment.

TESLALINK_API_URL, TESLALINK_SSO_URL and TESLALINK_STREAMING_URL point every cloud command and the
library at the twin, a proxy, or Tesla (the default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import ConfigError

__all__ = ["CloudUrls"]

TESLA_API_URL = "https://owner-api.teslamotors.com/"
TESLA_SSO_URL = "https://auth.tesla.com/"
TESLA_STREAMING_URL = "wss://streaming.vn.teslamotors.com/streaming/"


@dataclass(frozen=True, slots=True)
class CloudUrls:
    """Base URLs of the Owner API, the SSO and the streaming websocket (each ends with '/')."""

    api: str = TESLA_API_URL
    sso: str = TESLA_SSO_URL
    streaming: str = TESLA_STREAMING_URL

    def __post_init__(self) -> None:
        for name, schemes in (
            ("api", ("http", "https")),
            ("sso", ("http", "https")),
            ("streaming", ("ws", "wss")),
        ):
            value = getattr(self, name)
            scheme = value.partition("://")[0]
            if scheme not in schemes or "://" not in value:
                raise ConfigError(
                    f"{name} URL {value!r} must start with {' or '.join(s + '://' for s in schemes)}"
                )
            _check_host(name, value)
            if not value.endswith("/"):
                object.__setattr__(self, name, value + "/")

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        api: str | None = None,
        sso: str | None = None,
        streaming: str | None = None,
    ) -> CloudUrls:
        """Explicit options win over the environment, which wins over Tesla's hosts."""
        env = os.environ if environ is None else environ
        return cls(
            api=api or env.get("TESLALINK_API_URL") or TESLA_API_URL,
            sso=sso or env.get("TESLALINK_SSO_URL") or TESLA_SSO_URL,
            streaming=streaming or env.get("TESLALINK_STREAMING_URL") or TESLA_STREAMING_URL,
        )


def _check_host(name: str, value: str) -> None:
    """A ConfigError now for a host no connection could use (a name part over 63 characters, a
    bad port), instead of a UnicodeError traceback from the resolver at the first request."""
    try:
        parts = urlsplit(value)
        _ = parts.port  # urllib checks the port only when asked
        host = parts.hostname
        if host:
            host.encode("idna")
    except UnicodeError:
        raise ConfigError(f"{name} URL {value!r}: each part of a host name has 1 to 63 characters") from None
    except ValueError as exc:
        raise ConfigError(f"{name} URL {value!r}: {exc}") from None
    if not host:
        raise ConfigError(f"{name} URL {value!r} has no host")
