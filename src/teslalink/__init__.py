"""teslalink: monitor and control Tesla Wall Connectors, cars and energy sites."""

from __future__ import annotations

__version__ = "0.1.0"
