"""A target from its settings: the one place that knows which class serves which kind."""

from __future__ import annotations

from ... import errors
from ..._http import Transport
from ..settings import TargetSettings
from .apprise_url import AppriseTarget
from .ntfy import NtfyTarget
from .redact import target_name
from .target import Target
from .webhook import WebhookTarget

__all__ = ["TARGET_KINDS", "build_target"]

TARGET_KINDS = ("webhook", "ntfy", "apprise")


def build_target(settings: TargetSettings, transport: Transport) -> Target:
    """The target `settings` names, its URL checked; a `ConfigError` in one line otherwise.

    `transport`: the HTTP seam the webhook and ntfy targets post through (apprise has its own).
    """
    if settings.kind == "webhook":
        return WebhookTarget(settings.url, transport)
    if settings.kind == "ntfy":
        return NtfyTarget(settings.url, transport)
    if settings.kind == "apprise":
        return AppriseTarget(settings.url)
    shown = target_name(str(settings.kind), settings.url)
    raise errors.ConfigError(f"{shown}: unknown kind of notify target (one of {', '.join(TARGET_KINDS)})")
