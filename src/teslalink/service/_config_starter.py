"""The starter file `teslalink config init` writes: every section and key, its default, and why.

It must parse, as written, to the default settings (a fresh `teslalink serve` runs and watches
nothing), so what has no default (an account, a Wall Connector, a notification target, a dsn)
is an example commented out. Two kinds of comment: `# words` explains, `#key = value` (no space
after the `#`) is an example to uncomment. The tests uncomment every example and parse that too.
"""

from __future__ import annotations

from typing import Final

from .events import EventKind
from .settings import (
    DEFAULT_EVENTS,
    DEFAULT_PORT,
    EngineSettings,
    NotifySettings,
    SiteSettings,
    StorageSettings,
)

__all__ = ["EVENT_HELP", "starter_text"]

EVENT_HELP: Final[dict[EventKind, str]] = {
    EventKind.PLUGGED_IN: "a cable went into a car",
    EventKind.UNPLUGGED: "the cable came out",
    EventKind.CHARGING_STARTED: "a car began to charge",
    EventKind.CHARGING_STOPPED: "charging stopped before the limit (with the reason when known)",
    EventKind.CHARGE_COMPLETE: "a car reached its charge limit",
    EventKind.PLUGGED_IN_NOT_CHARGING: "plugged in, yet not charging after [engine] plugged_in_grace_seconds",
    EventKind.DRIVE_STARTED: "off by default: a car sets off many times a day",
    EventKind.DRIVE_ENDED: "a drive ended: its distance, energy and duration",
    EventKind.CAR_ASLEEP: "off by default: a car sleeps and wakes many times a day",
    EventKind.CAR_ONLINE: "off by default: see car_asleep",
    EventKind.CAR_OFFLINE: "a car has no connection (not asleep: unreachable)",
    EventKind.WALLCONNECTOR_OFFLINE: "a Wall Connector stopped answering",
    EventKind.WALLCONNECTOR_ONLINE: "a Wall Connector answers again after being offline",
    EventKind.WALLCONNECTOR_ALERT: "a Wall Connector raised a new alert",
    EventKind.LIFETIME_JUMP_REJECTED: "a Wall Connector's lifetime energy jumped impossibly: not believed",
    EventKind.SOFTWARE_UPDATE: "a car has a software update to install",
    EventKind.BUDGET_LOW: "an account's Fleet API spend this month passed [engine] budget_warn_share",
}


def _toml_bool(value: bool) -> str:
    return "true" if value else "false"


def starter_text() -> str:
    storage = StorageSettings()
    sites = SiteSettings()
    notify = NotifySettings()
    engine = EngineSettings()
    events = "\n".join(
        f"# {EVENT_HELP[kind]}\n{kind.value} = {_toml_bool(DEFAULT_EVENTS[kind.value])}" for kind in EventKind
    )
    return f"""\
# teslalink service configuration: `teslalink serve` reads this file.
# `teslalink config check` says what is wrong in it, with line numbers.
# Each key shows its default. A line "#key = value" (no space after the #) is an example:
# remove the # to use it. Times are in seconds unless the key's name says otherwise.

[service]
# Where the database and the service's state are kept; relative paths are read from this
# file's folder. Default: $XDG_DATA_HOME/teslalink, else ~/.local/share/teslalink.
#data_dir = "~/.local/share/teslalink"

# One [[account]] per Tesla account logged in with `teslalink login` or `teslalink fleet login`.
#[[account]]
# The account's email, as in the token file.
#email = "owner@example.com"
# auto: the Fleet API when the account has a Fleet login, else the Owner API; or owner, fleet.
#api = "auto"
# VINs or display names of the cars to watch; an empty list watches every car of the account.
#cars = []
# Watch the account's energy sites (Powerwall, solar) too.
#sites = true
# Fleet API only: a month's budget in USD; budget_low is sent as the spend nears it.
#budget_usd = 10.0

# One [[wallconnector]] per Tesla Wall Connector Gen 3 on the home network.
#[[wallconnector]]
# A name of your own, unique, shown in events and /status.
#name = "garage"
# Its address: an IP address, host:port or http:// URL (fix it in your router's DHCP).
#host = "192.168.1.50"
# auto detects the wiring while charging; or three_phase, split_phase, single_phase.
#wiring = "auto"
# The car that normally charges here (VIN or display name), to match sessions to it.
#car = "5YJ3E1EA7KF000001"

[sites]
# How often an energy site's live status is read (Tesla's app reads it about once a minute).
live_seconds = {sites.live_s}

[storage]
# sqlite: one file, nothing to install; postgres: a PostgreSQL server (extra `postgres`).
backend = "{storage.backend}"
# The SQLite file, relative to data_dir unless absolute.
path = "{storage.path}"
# PostgreSQL's URL; $TESLALINK_DSN wins over it and keeps the password out of this file.
#dsn = "postgresql://teslalink@localhost:5432/teslalink"
# Writes are committed in batches this often: a crash loses at most this much.
batch_seconds = {storage.batch_s}
# Samples (readings over time) older than this many days are thinned to fewer points.
downsample_after_days = {storage.downsample_after_days}

[notify]
# The same event of the same device is sent at most once in this time.
cooldown_seconds = {notify.cooldown_s}

[notify.events]
# Which events are sent (every event is recorded either way).
{events}

# One [[notify.target]] per place events are sent to.
#[[notify.target]]
# webhook (a JSON POST), ntfy (a push to an ntfy topic) or apprise (extra `apprise`: any Apprise URL).
#kind = "ntfy"
# Where to; it may hold a token, so keep this file private (chmod 600). Never shown in errors or logs.
#url = "https://ntfy.sh/my-own-secret-topic"
# Only these kinds; leave it out to send every kind [notify.events] turns on.
#events = ["charge_complete", "plugged_in_not_charging"]

[engine]
# Plugged in and not charging for this long raises plugged_in_not_charging.
plugged_in_grace_seconds = {engine.plugged_in_grace_s}
# budget_low is raised when an account's month of Fleet API spend passes this share of budget_usd.
budget_warn_share = {engine.budget_warn_share}

[listen]
# The HTTP listener for /health, /status and /metrics.
enabled = true
# Loopback only: /status has no login, so it is not offered to the network unless you say so.
host = "127.0.0.1"
# Our choice: a port no common home service uses (Home Assistant 8123, Grafana 3000, TeslaMate 4000).
port = {DEFAULT_PORT}
"""
