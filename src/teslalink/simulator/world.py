"""The simulated world: one clock, one seed, and the devices that live in it.

The clock runs at `speed` world seconds per real second (60.0 = an hour a minute); with speed 0
it only moves when `advance()` is called, which is what tests use: no sleeping on wall-clock
time. Devices never tick; they integrate lazily from their last update to `now()` whenever they
are read or told something, so a clock jump of a day is as cheap as a second.

Randomness is seeded: `rng` for world-level choices (serial numbers), and each device derives its
own streams from (seed, serial). Sensor noise is a function of world time (one draw per sample
period, see .noise), so the same seed and the same events and advances replay the same bodies
byte for byte, however often (and by whom) the devices were read in between; only per-request
faults (drops, a missing brace) follow the sequence of requests.
"""

from __future__ import annotations

import math
import random
import time
from typing import TYPE_CHECKING, Any

from .accounting import Accounting
from .accounts import Account, Region
from .circuit import Circuit
from .grid import Wiring
from .quirks import Quirks
from .wall_connector.firmware import DEFAULT_FIRMWARE
from .wall_connector.unit import WallConnectorUnit

if TYPE_CHECKING:
    from .site.energy_site import EnergySite
    from .sso.tokens import TokenAuthority
    from .vehicle.car import Car

__all__ = ["MAX_ADVANCE_S", "World"]

# Our choice: one advance moves the clock ten years at most. Any more is a typo or an attack
# (1e308 s made the clock infinite: tokens never valid, sessions of 309 digits), and ten years
# is already beyond any scenario's need.
MAX_ADVANCE_S = 10 * 365.25 * 86_400.0


class World:
    """A clock, a seeded random generator and every simulated device."""

    def __init__(self, seed: int = 0, speed: float = 1.0, *, start: float | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self._speed = self._check_speed(speed)
        self._anchor_real = time.monotonic()
        self._anchor_world = time.time() if start is None else float(start)
        self._wall_connectors: list[WallConnectorUnit] = []
        self._circuits: dict[str, Circuit] = {}
        self._accounts: dict[str, Account] = {}
        self._vehicles: list[Car] = []
        self._sites: list[EnergySite] = []
        self._ids_taken: set[int] = set()
        self._auth: TokenAuthority | None = None
        self.accounting = Accounting()

    def __repr__(self) -> str:
        return (
            f"World(seed={self.seed!r}, speed={self._speed!r}, now={self.now():.3f}, "
            f"wall_connectors={len(self._wall_connectors)})"
        )

    # --- the clock -----------------------------------------------------------------------------

    def now(self) -> float:
        """World time in epoch seconds."""
        return self._anchor_world + (time.monotonic() - self._anchor_real) * self._speed

    def advance(self, seconds: float) -> None:
        """Jump the clock forward; devices catch up on their next read."""
        if not (0 <= seconds <= MAX_ADVANCE_S):
            raise ValueError(f"can only advance by 0 to {MAX_ADVANCE_S:.0f} s (ten years), got {seconds!r}")
        self._anchor_world += seconds

    @property
    def speed(self) -> float:
        """World seconds per real second; 0 freezes the clock between `advance()` calls."""
        return self._speed

    @speed.setter
    def speed(self, speed: float) -> None:
        speed = self._check_speed(speed)
        real = time.monotonic()
        self._anchor_world += (real - self._anchor_real) * self._speed
        self._anchor_real = real
        self._speed = speed

    @staticmethod
    def _check_speed(speed: float) -> float:
        if not (speed >= 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be a finite number >= 0, got {speed!r}")
        return float(speed)

    # --- wall connectors ---------------------------------------------------------------------------

    def add_wall_connector(
        self,
        wiring: Wiring | str = Wiring.SPLIT_PHASE,
        firmware: str = DEFAULT_FIRMWARE,
        max_current_a: float = 48.0,
        quirks: Quirks | None = None,
        serial: str | None = None,
    ) -> WallConnectorUnit:
        """Install a Wall Connector Gen 3 (nothing plugged in) and return it."""
        if serial is None:
            serial = self._new_serial()
        elif any(unit.serial == serial for unit in self._wall_connectors):
            raise ValueError(f"a wall connector with serial {serial!r} already exists")
        unit = WallConnectorUnit(
            self,
            serial=serial,
            wiring=Wiring.parse(wiring),
            firmware=firmware,
            max_current_a=max_current_a,
            quirks=quirks if quirks is not None else Quirks(),
            index=len(self._wall_connectors),
        )
        self._wall_connectors.append(unit)
        return unit

    @property
    def wall_connectors(self) -> list[WallConnectorUnit]:
        """Every wall connector, in the order they were added (a copy)."""
        return list(self._wall_connectors)

    def wall_connector(self, serial: str) -> WallConnectorUnit:
        """The wall connector with this serial number (KeyError if none)."""
        for unit in self._wall_connectors:
            if unit.serial == serial:
                return unit
        raise KeyError(serial)

    def _new_serial(self) -> str:
        taken = {unit.serial for unit in self._wall_connectors}
        while True:
            serial = f"TWC{self.rng.randrange(10**10, 10**11)}"
            if serial not in taken:
                return serial

    # --- circuits ------------------------------------------------------------------------------

    def add_circuit(
        self, name: str, limit_a: float, curve: str = "C", units: list[WallConnectorUnit] | None = None
    ) -> Circuit:
        """Put `units` on a new circuit of `limit_a` per phase behind a `curve` breaker (see .circuit)."""
        if name in self._circuits:
            raise ValueError(f"a circuit named {name!r} already exists")
        units = list(units or [])
        for unit in units:
            if unit.circuit is not None:
                raise RuntimeError(f"{unit.serial} is already on circuit {unit.circuit.name!r}")
        circuit = Circuit(name, limit_a, curve, self.now())
        for unit in units:
            circuit.attach(unit, circuit.t)
        self._circuits[name] = circuit
        return circuit

    @property
    def circuits(self) -> list[Circuit]:
        """Every circuit, in the order they were added (a copy)."""
        return list(self._circuits.values())

    def circuit(self, name: str) -> Circuit:
        """The circuit with this name (KeyError if none)."""
        return self._circuits[name]

    # --- the cloud: accounts, vehicles, energy sites ------------------------------------------------

    def add_account(
        self,
        email: str,
        password: str,
        *,
        mfa: bool = False,
        region: Region = "na",
        full_name: str | None = None,
    ) -> Account:
        """Open a Tesla account; with `mfa` it gets a TOTP secret derived from the seed."""
        key = email.strip().lower()
        if key in self._accounts:
            raise ValueError(f"an account for {email!r} already exists")
        secret = Account.new_mfa_secret(f"teslalink:mfa:{self.seed}:{key}".encode()) if mfa else None
        account = Account(email=email.strip(), password=password, region=region, mfa_secret=secret)
        if full_name:
            account.full_name = full_name
        self._accounts[key] = account
        return account

    def account(self, email: str) -> Account:
        """The account with this email, case-insensitive (KeyError if none)."""
        return self._accounts[email.strip().lower()]

    @property
    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    def add_vehicle(self, account: Account, **options: Any) -> Car:
        """Deliver a car to `account`; `options` are those of `vehicle.car.Car` (model, name...)."""
        from .vehicle.car import Car  # noqa: PLC0415 - the car model imports the world's types

        car = Car(self, account, id=self.new_id(16), vehicle_id=self.new_id(10), **options)
        self._vehicles.append(car)
        return car

    @property
    def vehicles(self) -> list[Car]:
        return list(self._vehicles)

    def vehicles_of(self, account: Account) -> list[Car]:
        return [car for car in self._vehicles if car.account is account]

    def add_energy_site(self, account: Account, **options: Any) -> EnergySite:
        """Install a solar and/or Powerwall site; `options` are those of `site.energy_site.EnergySite`."""
        from .site.energy_site import EnergySite  # noqa: PLC0415

        site = EnergySite(self, account, energy_site_id=self.new_id(13), **options)
        self._sites.append(site)
        return site

    @property
    def energy_sites(self) -> list[EnergySite]:
        return list(self._sites)

    def sites_of(self, account: Account) -> list[EnergySite]:
        return [site for site in self._sites if site.account is account]

    @property
    def auth(self) -> TokenAuthority:
        """The token authority shared by the SSO, the Owner API and the streaming server."""
        if self._auth is None:
            from .sso.tokens import TokenAuthority  # noqa: PLC0415

            self._auth = TokenAuthority(self)
        return self._auth

    def new_id(self, digits: int) -> int:
        """A fresh random id of `digits` digits, unique in this world (vehicle ids, site ids)."""
        while True:
            candidate = self.rng.randrange(10 ** (digits - 1), 10**digits)
            if candidate not in self._ids_taken:
                self._ids_taken.add(candidate)
                return candidate
