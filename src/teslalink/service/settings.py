"""What the service is told to do: the typed settings every part of it reads.

`service.config` parses the owner's TOML file into these (with line numbers for what is wrong);
the parts take only their own section: the recorder a `StorageSettings`, the notifier a
`NotifySettings`, the engine an `EngineSettings` and the units, the listener a `ListenSettings`.
A test or a benchmark builds them directly, without a file.

Every default here is the one the starter file documents; where no source decides, the value
is "our choice" and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from .events import EventKind

__all__ = [
    "DEFAULT_EVENTS",
    "DEFAULT_PORT",
    "AccountSettings",
    "EngineSettings",
    "ListenSettings",
    "NotifySettings",
    "ServiceSettings",
    "SiteSettings",
    "StorageSettings",
    "TargetSettings",
    "UnitSettings",
]

ApiChoice = Literal["auto", "owner", "fleet"]
TargetKind = Literal["webhook", "ntfy", "apprise"]

DEFAULT_PORT: Final = 8765
"""Our choice: a port no common home service (Home Assistant 8123, Grafana 3000, TeslaMate 4000) uses."""

DEFAULT_EVENTS: Final[Mapping[str, bool]] = {
    kind.value: kind
    not in (
        # Our choice: the car's sleep and wake come many times a day and tell the owner nothing
        # they act on; they are recorded, and a user may turn them on.
        EventKind.CAR_ASLEEP,
        EventKind.CAR_ONLINE,
        EventKind.DRIVE_STARTED,
    )
    for kind in EventKind
}
"""Which events are delivered when the file does not say (all are recorded either way)."""


@dataclass(frozen=True)
class AccountSettings:
    """A Tesla account from the token store (`teslalink login` / `teslalink fleet login`)."""

    email: str
    api: ApiChoice = "auto"  # auto: the Fleet API when the account has a Fleet login
    cars: tuple[str, ...] = ()  # VINs or names to watch; empty: every car of the account
    sites: bool = True  # watch the account's energy sites
    budget_usd: float | None = None  # a month's Fleet API spend that raises budget_low at 80 %


@dataclass(frozen=True)
class UnitSettings:
    """A Wall Connector Gen 3 on the home network."""

    name: str
    host: str
    wiring: str = "auto"  # an ElectricalService value: auto, three_phase, split_phase, single_phase
    car: str | None = None  # VIN or name of the car that normally charges here


@dataclass(frozen=True)
class SiteSettings:
    """Energy sites are found through the accounts; this section tunes them."""

    live_s: float = 300.0  # see service.watch.SitePolicy: a minute's reads may cost $86 a month


@dataclass(frozen=True)
class StorageSettings:
    backend: Literal["sqlite", "postgres"] = "sqlite"
    path: Path = Path("teslalink.db")  # SQLite: relative to the data dir unless absolute
    # PostgreSQL: postgresql://user@host:port/db (a secret: never logged, never in the repr)
    dsn: str | None = field(default=None, repr=False)
    batch_s: float = 2.0  # our choice: a crash loses at most this much uncommitted world
    downsample_after_days: float = 30.0  # samples older than this are thinned


@dataclass(frozen=True)
class TargetSettings:
    """One notification target. `url` may hold a token (ntfy topics, webhook secrets): never shown."""

    kind: TargetKind
    url: str = field(repr=False)
    events: frozenset[str] | None = None  # only these kinds; None: every kind that is on


@dataclass(frozen=True)
class NotifySettings:
    cooldown_s: float = 1800.0  # our choice: one repeat of the same event per device in 30 min
    events: Mapping[str, bool] = field(default_factory=lambda: dict(DEFAULT_EVENTS))
    targets: tuple[TargetSettings, ...] = ()


@dataclass(frozen=True)
class ListenSettings:
    enabled: bool = True
    host: str = "127.0.0.1"  # loopback only unless the owner says otherwise
    port: int = DEFAULT_PORT


@dataclass(frozen=True)
class EngineSettings:
    plugged_in_grace_s: float = 600.0  # plugged in and not charging for this long is an event
    budget_warn_share: float = 0.8  # budget_low when a month's spend passes this share


@dataclass(frozen=True)
class ServiceSettings:
    data_dir: Path
    accounts: tuple[AccountSettings, ...] = ()
    wallconnectors: tuple[UnitSettings, ...] = ()
    sites: SiteSettings = field(default_factory=SiteSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    listen: ListenSettings = field(default_factory=ListenSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    # What `service.config` noticed in the file that is allowed but worth saying ("FILE:LINE:
    # warning: ..."): the runner logs them at start. Not part of the settings' equality.
    warnings: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def database_path(self) -> Path:
        return self.storage.path if self.storage.path.is_absolute() else self.data_dir / self.storage.path
