"""Notifications: the service's events delivered to a webhook, ntfy or apprise URLs.

`Notifier` (notifier.py) decides and queues, one delivery task per target retries with backoff;
each kind of target is one module (webhook.py, ntfy.py, apprise_url.py) over what HTTP targets
share (target.py); message.py says how an event reads (title, ntfy priority and tags, apprise
severity); redact.py keeps URLs' secrets out of names, errors and logs; trial.py is
`teslalink notify test`. docs/service.md "Notifications" is the user's side of it.
"""

from __future__ import annotations

from .build import TARGET_KINDS, build_target
from .message import make_test_event, title_of
from .notifier import QUEUE_SIZE, Notifier
from .redact import target_name
from .retry import DEFAULT_RETRY, RetryPlan
from .trial import TrialResult, send_test, try_targets
from .webhook import webhook_body

__all__ = [
    "DEFAULT_RETRY",
    "QUEUE_SIZE",
    "TARGET_KINDS",
    "Notifier",
    "RetryPlan",
    "TrialResult",
    "build_target",
    "make_test_event",
    "send_test",
    "target_name",
    "title_of",
    "try_targets",
    "webhook_body",
]
