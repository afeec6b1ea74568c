"""The Wall Connector Gen 3 twin: the unit model, its firmware profiles, its bodies and its HTTP face."""

from __future__ import annotations

from .app import CONTENT_TYPE, WallConnectorHandler
from .firmware import DEFAULT_FIRMWARE, FirmwareProfile
from .render import render_object
from .unit import ENDPOINTS, WallConnectorUnit

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_FIRMWARE",
    "ENDPOINTS",
    "FirmwareProfile",
    "WallConnectorHandler",
    "WallConnectorUnit",
    "render_object",
]
