"""The car's discrete state: closures, security modes, media, the software update.

Plain records; the rules that change them are the commands (.commands) and the car's event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CLOSURES", "WINDOWS", "Closures", "Media", "SoftwareUpdate", "SpeedLimit", "Valet"]

CLOSURES = ("df", "dr", "pf", "pr", "ft", "rt")
"""Doors (driver/passenger, front/rear) and trunks (front, rear): 0 closed, non-zero open."""

WINDOWS = ("fd_window", "fp_window", "rd_window", "rp_window")
"""Window positions: 0 closed, 1 vented (the API's values; 2 would be open)."""


@dataclass(slots=True)
class Closures:
    locked: bool = True
    open: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLOSURES, 0))
    windows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WINDOWS, 0))
    sun_roof_percent_open: int = 0

    @property
    def any_open(self) -> bool:
        """A door or trunk is open: the car stays awake."""
        return any(self.open.values())


@dataclass(slots=True)
class SpeedLimit:
    """speed_limit_mode: the limit and its 4-digit PIN (a secret: never in a repr)."""

    active: bool = False
    current_limit_mph: float = 85.0
    pin: str | None = field(default=None, repr=False)

    MIN_MPH = 50
    MAX_MPH = 90


@dataclass(slots=True)
class Valet:
    active: bool = False
    pin: str | None = field(default=None, repr=False)


@dataclass(slots=True)
class Media:
    playing: bool = False
    volume: float = 3.0
    track: int = 0
    favorite: int = 0

    VOLUME_MAX = 10.333333
    VOLUME_STEP = 0.333333
    TRACKS = (
        ("Simulated Sunrise", "The Twins", "Loopback Sessions", 214),
        ("Lazy Integration", "Closed Form", "Piecewise", 187),
        ("Seeded", "Deterministic", "Replay", 242),
        ("Wall Connector Blues", "Evse State 9", "Waiting for Car", 201),
    )
    STATIONS = ("Twin FM", "Simulated Jazz", "Loopback Radio")


@dataclass(slots=True)
class SoftwareUpdate:
    """An over-the-air update: offered, downloaded, scheduled, installed.

    status is "" (nothing pending), "downloading", "available", "scheduled" or "installing",
    the values the API shows in vehicle_state.software_update.
    """

    status: str = ""
    version: str = ""
    download_started: float = 0.0
    download_s: float = 600.0
    scheduled_at: float | None = None
    install_started: float | None = None
    expected_duration_s: int = 1_500

    WARNING_S = 120.0

    @property
    def keeps_awake(self) -> bool:
        return self.status in ("downloading", "installing")

    def download_perc(self, t: float) -> int:
        if self.status == "downloading":
            return min(99, int(100 * (t - self.download_started) / self.download_s))
        return 100 if self.status in ("available", "scheduled", "installing") else 0

    def install_perc(self, t: float) -> int:
        if self.status == "installing" and self.install_started is not None:
            return max(1, min(99, int(100 * (t - self.install_started) / self.expected_duration_s)))
        return 1

    def next_event(self) -> float | None:
        if self.status == "downloading":
            return self.download_started + self.download_s
        if self.status == "scheduled":
            return self.scheduled_at
        if self.status == "installing" and self.install_started is not None:
            return self.install_started + self.expected_duration_s
        return None
