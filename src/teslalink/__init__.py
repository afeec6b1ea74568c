"""teslalink: monitor and control Tesla Wall Connectors, cars and energy sites.

The public names live in their subpackages, imported on demand so `import teslalink` stays cheap:
`teslalink.wallconnector` (the Wall Connector Gen 3 client, models, power and energy),
`teslalink.cloud` (Tesla's cloud: login, tokens, cars, streaming, energy sites),
`teslalink.sync` (the same, blocking), `teslalink.simulator` (the digital twin) and
`teslalink.errors` (the one exception tree, re-exported here).

teslalink logs through the `teslalink` logger and shows nothing unless the application
configures logging (the library convention: a NullHandler, so Python's last-resort handler never
prints our warnings next to a command's own error line).
"""

from __future__ import annotations

import logging

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

logging.getLogger(__name__).addHandler(logging.NullHandler())

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
