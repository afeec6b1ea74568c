"""teslalink: monitor and control Tesla Wall Connectors, cars and energy sites.

The public names live in their subpackages, imported on demand so `import teslalink` stays cheap:
`teslalink.wallconnector` (the Wall Connector Gen 3 client, models, power and energy),
`teslalink.cloud` (Tesla's cloud: login, tokens, cars, streaming, energy sites),
`teslalink.sync` (the same, blocking), `teslalink.simulator` (the digital twin) and
`teslalink.errors` (the one exception tree, re-exported here).

teslalink logs through `teslalink.*` loggers and shows nothing unless the application configures
logging (see `teslalink.cloud`, the only part that logs).
"""

from __future__ import annotations

from .errors import (
    ApiError,
    AuthError,
    CaptchaRequired,
    CommandFailed,
    CommandSigningRequired,
    ConfigError,
    ConnectionError,
    DecodeError,
    MfaRequired,
    RateLimited,
    ServiceUnavailable,
    TeslalinkError,
    TimeoutError,
    TokenExpired,
    VehicleUnavailable,
)

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AuthError",
    "CaptchaRequired",
    "CommandFailed",
    "CommandSigningRequired",
    "ConfigError",
    "ConnectionError",
    "DecodeError",
    "MfaRequired",
    "RateLimited",
    "ServiceUnavailable",
    "TeslalinkError",
    "TimeoutError",
    "TokenExpired",
    "VehicleUnavailable",
    "__version__",
]
