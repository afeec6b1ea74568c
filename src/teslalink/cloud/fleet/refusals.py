"""The Fleet API's own refusals, read once for both paths (REST calls and `signed_command`).

Each is given before any car saw the request (research/fleet.md 1.8), so it is safe to act on:

    403 `Unauthorized missing scopes`   MissingScopes, with the scopes the answer names
    412 not registered in this region   NotRegistered
    421 user out of region              OutOfRegion, with the base URL of the body (`use base URL:
                                        https://...`, as Go's tesla-control reads it) or of
                                        `Alt-Svc: h2=https://...` (as tesla-http-proxy reads it)
    422 on signed_command               SignedCommandsNotSupported: the car takes REST (pre-2021 S/X)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ... import errors

__all__ = ["fleet_refusal", "named_base_url"]

_BASE_URL_IN_BODY = re.compile(r"use base URL:\s*(https?://[-A-Za-z0-9.:]+)")
_BASE_URL_IN_ALT_SVC = re.compile(r"h2=\"?(https?://[-A-Za-z0-9.:]+)")
_SCOPE_NAMES = re.compile(r"\b(openid|offline_access|user_data|vehicle_[a-z_]+|energy_[a-z_]+)\b")


def named_base_url(error: str, headers: Mapping[str, str]) -> str | None:
    """The base URL a 421 names: in its body, else in Alt-Svc; None if neither does."""
    found = _BASE_URL_IN_BODY.search(error) or _BASE_URL_IN_ALT_SVC.search(headers.get("Alt-Svc", ""))
    return found[1] if found else None


def fleet_refusal(
    status: int, detail: str, error: str, description: str, headers: Mapping[str, str], *, signed: bool
) -> errors.ApiError | None:
    """The typed error of a Fleet-only refusal, or None when the status means what it does elsewhere.

    `detail` is the request and Tesla's error (`POST api/1/...: ...`); `signed`: the request was
    a `signed_command` (only there does a 422 mean "send REST").
    """
    if status == 412:
        return errors.NotRegistered(412, detail, description)
    if status == 421:
        return errors.OutOfRegion(421, detail, description, named_base_url(error, headers))
    if status == 422 and signed:
        return errors.SignedCommandsNotSupported(422, detail, description or "send the REST command instead")
    if status == 403 and "missing scope" in error.lower():
        missing = tuple(dict.fromkeys(_SCOPE_NAMES.findall(f"{error} {description}")))
        return errors.MissingScopes(403, detail, "" if missing else description, missing=missing)
    return None
