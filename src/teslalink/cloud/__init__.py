"""Tesla's cloud: login and tokens, the Owner API (vehicles, commands, energy sites), streaming.

Every entry point takes its base URLs from `CloudUrls` (options or the environment), so the same
code talks to Tesla, to a proxy, or to teslalink's own twin (`teslalink sim all`).

Its modules log to `teslalink.cloud.*`; a NullHandler here (the library convention) keeps
Python's last-resort handler from printing those warnings when the application configured no
logging, e.g. next to a CLI command's own error line. Here, not in `teslalink/__init__`, so that
`import teslalink` does not pay for the logging module.
"""

from __future__ import annotations

import logging

from ..transport import RetryPolicy, Timeouts
from .config import CloudUrls
from .provider import StaticToken, TokenProvider

__all__ = ["CloudUrls", "RetryPolicy", "StaticToken", "Timeouts", "TokenProvider"]

from .auth import Auth, StagedLogin
from .tokens import MemoryTokenStore, Token, TokenStore

__all__ += ["Auth", "MemoryTokenStore", "StagedLogin", "Token", "TokenStore"]

from .api import TeslaApi  # noqa: E402 - appended after the auth exports
from .endpoints import Endpoint, catalogue  # noqa: E402 - appended after the auth exports
from .energy import EnergySite, LiveStatus, SiteInfo  # noqa: E402 - appended after the auth exports
from .vehicle import CommandResult, Vehicle, VehicleData, compose_image_url, decode_vin, describe_option_codes  # noqa: E402 - appended after the auth exports

__all__ += [
    "CommandResult",
    "Endpoint",
    "EnergySite",
    "LiveStatus",
    "SiteInfo",
    "TeslaApi",
    "Vehicle",
    "VehicleData",
    "catalogue",
    "compose_image_url",
    "decode_vin",
    "describe_option_codes",
]

from .stream_models import DEFAULT_COLUMNS as STREAM_COLUMNS  # noqa: E402
from .stream_models import StreamUpdate, UpdateParser, compile_parser, parse_update  # noqa: E402
from .streaming import Backoff, StreamState, StreamStats, VehicleStream  # noqa: E402

__all__ += [
    "STREAM_COLUMNS",
    "Backoff",
    "StreamState",
    "StreamStats",
    "StreamUpdate",
    "UpdateParser",
    "VehicleStream",
    "compile_parser",
    "parse_update",
]

from .cooldowns import Cooldowns  # noqa: E402
from .watcher import CarActivity, CarWatcher, FleetWatcher, PollResult, StreamPolicy  # noqa: E402

__all__ += ["CarActivity", "CarWatcher", "Cooldowns", "FleetWatcher", "PollResult", "StreamPolicy"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
