"""The engine: readings in (the `Sink` of service.watch), events and records out, state kept.

    engine = Engine(settings.engine, settings.wallconnectors, recorder_and_notifier.put, state,
                    clock_ms=lambda: int(time.time() * 1000), on_plug_edge=wake_car_job)
    engine.note_car(CarInfo(vin, account=email, name=...))   # every watched car, before polling
    engine.note_unit("Garage", serial)                        # each unit's /api/1/version serial
    engine.restore(saved_state, await recorder.open_spans())  # continue where the last run stopped
    ... the jobs call engine.car_polled / unit_read / lifetime_read / site_read / site_history ...
    engine.tick(now)                                          # every ~30 s, so deadlines fire
    save(engine.to_state())                                   # every minute and at stop, atomically

Every record and event goes to `emit` (the recorder and the notifier sit behind it); every event
is also added to `ServiceState.recent_events`, and each device's status (its state word, last
reading, error, next poll) is kept current in the `ServiceState`.

`on_plug_edge(vin_or_name)` is how the engine asks for a car to be read: at a Wall Connector's
plug-in edge (the car's VIN when it is known, else the config's name for it), when a unit saw
charging stop (the car knows why) and after an unplug (the car's last figures). The runner wakes
that car's job (`touch()` then `scheduler.wake`), which reads it only if it is awake: the engine
never wakes a car.

A reading the engine cannot handle (a bug) is logged, counted in `failures` and skipped: the
jobs go on at their own pace.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from ...cloud.fleet.ledger import CATEGORIES
from ...errors import ConfigError
from ..events import DeviceKind, DeviceRef, EventKind
from ..records import (
    ApiUsage,
    CarInfo,
    CarState,
    ChargeSource,
    ChargingSession,
    Drive,
    Record,
    SiteEnergyDay,
    StateSpan,
    WallConnectorSession,
)
from ..settings import EngineSettings, UnitSettings
from ..state import AccountStatus, ServiceState
from ..watch import CarPolicy, SitePolicy, UnitPolicy
from . import cars, sessions, sites, units
from .context import Context
from .figures import ms, one_line
from .persist import dump, load
from .tracks import CarTrack, DriveTrack, OpenCharge, Span, UnitTrack, WcSession

if TYPE_CHECKING:
    from ...cloud.energy import EnergySite, LiveStatus
    from ...cloud.fleet.ledger import MonthUsage
    from ...cloud.stream_models import StreamUpdate
    from ...cloud.watcher import CarWatcher, PollResult
    from ...wallconnector.monitor import UnitMonitor, UnitReading

__all__ = ["STATE_KIND", "Engine"]

_LOG = logging.getLogger("teslalink.service.engine")

STATE_KIND: Final = "teslalink.service.engine"
_STATE_VERSION: Final = 1
_MODELS: Final = {"3": "Model 3", "Y": "Model Y", "S": "Model S", "X": "Model X"}
_REPLUG_SLACK_MS: Final = 5_000  # a unit session restored from the recorder: its estimated start's rounding


class Engine:
    def __init__(
        self,
        settings: EngineSettings,
        units: Sequence[UnitSettings] | Mapping[str, UnitSettings],
        emit: Callable[[Record], None],
        state: ServiceState,
        *,
        clock_ms: Callable[[], int] | None = None,
        on_plug_edge: Callable[[str], None] | None = None,
        car_policy: CarPolicy | None = None,
        unit_policy: UnitPolicy | None = None,
        site_policy: SitePolicy | None = None,
    ) -> None:
        configured = dict(units) if isinstance(units, Mapping) else {u.name: u for u in units}
        self.ctx = Context(settings, emit, state, configured, on_plug_edge)
        self.state = state
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.car_policy = car_policy or CarPolicy()
        self.unit_policy = unit_policy or UnitPolicy()
        self.site_policy = site_policy or SitePolicy()
        self.failures = 0
        self.last_failure: str | None = None
        self._infos: dict[str, CarInfo] = {}
        self._budget_warned: dict[str, str] = {}  # account -> the month budget_low was told for
        self._usage_sent: dict[tuple[str, str, str], int] = {}
        for name, unit in configured.items():
            self.ctx.units[name] = UnitTrack(name=name, car=unit.car)

    # --- the Sink ------------------------------------------------------------------------------

    def car_polled(self, car: CarWatcher, result: PollResult, at: float) -> None:
        with self._guard("car_polled"):
            track = cars.car_polled(self.ctx, car, result, at)
            self._info(car, track)
            status = self.state.device(track.ref)
            metered = self.metered(track.vin)
            status.next_poll_ms = ms(at + self.car_policy.interval(car, result, metered))

    def unit_read(self, name: str, monitor: UnitMonitor, reading: UnitReading) -> None:
        with self._guard("unit_read"):
            unit = units.unit_read(self.ctx, name, monitor, reading)
            status = self.state.device(unit.ref)
            status.next_poll_ms = ms(reading.ts + self.unit_policy.interval(monitor))

    def lifetime_read(self, name: str, monitor: UnitMonitor, at: float) -> None:
        with self._guard("lifetime_read"):
            units.lifetime_read(self.ctx, name, monitor, at)

    def site_read(self, site: EnergySite, status: LiveStatus | None, error: str | None, at: float) -> None:
        with self._guard("site_read"):
            sites.site_read(self.ctx, site, status, error, at)
            ref = DeviceRef(DeviceKind.SITE, str(site.energy_site_id), site.label)
            wait = self.site_policy.live_s if error is None else self.site_policy.error_s
            self.state.device(ref).next_poll_ms = ms(at + wait)

    def site_history(
        self,
        site: EnergySite,
        day_records: Sequence[SiteEnergyDay],
        at: float,
        *,
        reads: int = 0,
        error: str | None = None,
    ) -> None:
        """A site's daily energies (`SiteHistoryJob`): recorded, the newest day in /status."""
        with self._guard("site_history"):
            sites.site_history(self.ctx, site, day_records, error)
            if error is not None:
                _LOG.warning("site %s: energy history: %s (tried again later)", site.label, one_line(error))

    # --- what else the runner tells it ---------------------------------------------------------

    def car_streamed(self, car: CarWatcher, update: StreamUpdate) -> None:
        """A streamed update: pass this as `CarWatcher.on_update` (a drive's positions)."""
        with self._guard("car_streamed"):
            cars.car_streamed(self.ctx, car, update)

    def note_car(self, info: CarInfo) -> None:
        """A car the service watches, with the account that lists it (a `CarInfo` record)."""
        with self._guard("note_car"):
            track = self.ctx.cars.get(info.vin)
            if track is None:
                track = self.ctx.cars[info.vin] = CarTrack(vin=info.vin, name=info.name, account=info.account)
            track.account = info.account
            track.name = info.name or track.name
            self.ctx.cars_changed()
            self._infos[info.vin] = info
            self.ctx.record(info)

    def note_unit(self, name: str, serial: str | None) -> None:
        """A unit's serial (from its /api/1/version): its stable id from now on."""
        unit = self.ctx.units.get(name) or units.track_of(self.ctx, name)
        if serial and serial != unit.serial:
            old = (DeviceKind.WALL_CONNECTOR, unit.id)
            unit.serial = serial
            moved = self.state.devices.pop(old, None)
            if moved is not None:
                moved.device = unit.ref
                self.state.devices[(DeviceKind.WALL_CONNECTOR, unit.id)] = moved

    def account_usage(self, email: str, month_usage: MonthUsage, budget_usd: float | None, at: float) -> None:
        """An account's billable calls this month (the ledger's): `ApiUsage` records, /status, and
        `budget_low` once per month when the spend passes `budget_warn_share` of the budget.

        The spend is the calls' cost before Tesla's monthly discount (our choice: a warning on
        what the calls cost, not on what remains to pay)."""
        with self._guard("account_usage"):
            account = self.state.accounts.get(email)
            if account is None:
                account = self.state.accounts[email] = AccountStatus(email=email, api="")
            month = month_usage.month
            account.month = month
            account.counts = {c: month_usage.count(c) for c in CATEGORIES}
            account.cost_usd = month_usage.cost_usd
            account.budget_usd = budget_usd
            for category in CATEGORIES:
                count = month_usage.count(category)
                if self._usage_sent.get((email, month, category)) != count:
                    self._usage_sent[(email, month, category)] = count
                    cost = month_usage.category_cost_usd(category)
                    self.ctx.record(ApiUsage(email, month, category, count, cost))
            share = self.ctx.settings.budget_warn_share
            if not budget_usd or budget_usd <= 0 or month_usage.cost_usd < share * budget_usd:
                return
            if self._budget_warned.get(email) == month:
                return
            self._budget_warned[email] = month
            self.ctx.event(
                EventKind.BUDGET_LOW,
                ms(at),
                DeviceRef(DeviceKind.ACCOUNT, email),
                f"{email}: ${month_usage.cost_usd:.2f} of the ${budget_usd:.2f} budget spent in {month}",
                {
                    "month": month,
                    "cost_usd": round(month_usage.cost_usd, 4),
                    "budget_usd": budget_usd,
                    "spent_share": round(month_usage.cost_usd / budget_usd, 4),
                    "warn_share": share,
                },
            )

    def tick(self, at: float) -> None:
        """The runner's timer (every ~30 s): what fires without a reading (the grace period, a
        stop the car never explained, a drive whose car stayed offline)."""
        with self._guard("tick"):
            at_ms = ms(at)
            sessions.tick(self.ctx, at_ms)
            for car in list(self.ctx.cars.values()):
                cars.car_tick(self.ctx, car, at_ms)
            for unit in list(self.ctx.units.values()):
                units.unit_tick(self.ctx, unit, at_ms)

    def flush(self) -> None:
        """Hand on every open span as it is now (the runner calls it every minute and at stop).

        Open spans are otherwise re-sent at most once a minute as they grow; this makes what the
        recorder holds, after a kill -9 too, at most a minute behind the engine."""
        with self._guard("flush"):
            now_ms = self.clock_ms()
            for charge in list(self.ctx.charges.values()):  # the open ones: closed ones are gone
                sessions.send(self.ctx, charge, now_ms, force=True)
            for unit in self.ctx.units.values():
                if unit.session is not None:
                    self.ctx.record(unit.session.record(unit.id))
            for car in self.ctx.cars.values():
                if car.drive is not None:
                    self.ctx.record(car.drive.record(car.vin, None, None))

    def metered(self, vin: str) -> bool:
        """Does a Wall Connector see this car plugged in now? (`CarJob.metered`: its energy is then
        metered for free, and the car is read less often while it charges.)"""
        car = self.ctx.cars.get(vin)
        return car is not None and any(u.connected for u in self.ctx.units_of_car(car))

    # --- state across restarts -----------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """Everything needed to continue after a restart, as JSON types (no notifier cooldowns:
        those are the notifier's)."""
        return {
            "kind": STATE_KIND,
            "version": _STATE_VERSION,
            "saved_ms": self.clock_ms(),
            "cars": {vin: dump(car) for vin, car in self.ctx.cars.items()},
            "units": {name: dump(unit) for name, unit in self.ctx.units.items()},
            "charges": {key: dump(charge) for key, charge in self.ctx.charges.items()},
            "budget_warned": dict(self._budget_warned),
        }

    def restore(self, state: Mapping[str, Any] | None, open_spans: Iterable[Record] | None = None) -> None:
        """Continue from `to_state()`'s output (None: no state file) and the recorder's open spans.

        The recorder commits every few seconds, the state file is saved every minute, so the
        recorder is newer: a span the state file has open that the recorder does not list open
        was closed since the save and is dropped, and a span the recorder lists open that the state
        file lacks is taken from the record. A stopped charge awaiting its unplug (not open in
        the recorder's sense) is kept. `open_spans` None trusts the state file alone.

        Call it after `note_car` and `note_unit` (a unit's sessions are found by serial) and
        before the first reading. A state that is not one is a ConfigError and nothing changes.
        """
        cars_: dict[str, CarTrack] = {}
        units_: dict[str, UnitTrack] = {}
        charges: dict[str, OpenCharge] = {}
        warned: dict[str, str] = {}
        if state is not None:
            if not isinstance(state, Mapping):
                raise ConfigError(f"engine state must be a JSON object, got {type(state).__name__}")
            if state.get("kind") != STATE_KIND:
                raise ConfigError(f"engine state is of kind {state.get('kind')!r}, expected {STATE_KIND!r}")
            if state.get("version") != _STATE_VERSION:
                raise ConfigError(
                    f"engine state version {state.get('version')!r} is not supported "
                    f"(this teslalink reads {_STATE_VERSION})"
                )
            cars_ = {str(k): load(CarTrack, v, f"cars.{k}") for k, v in _section(state, "cars").items()}
            units_ = {str(k): load(UnitTrack, v, f"units.{k}") for k, v in _section(state, "units").items()}
            charges = {
                str(k): load(OpenCharge, v, f"charges.{k}") for k, v in _section(state, "charges").items()
            }
            warned = {str(k): str(v) for k, v in _section(state, "budget_warned").items()}
        for name, unit in self.ctx.units.items():  # what note_unit and the config said win
            restored = units_.get(name)
            if restored is None:
                units_[name] = unit
            else:
                restored.serial = unit.serial or restored.serial
                restored.car = unit.car
        for vin, car in self.ctx.cars.items():
            restored_car = cars_.get(vin)
            if restored_car is None:
                cars_[vin] = car
            else:
                restored_car.name = car.name or restored_car.name
                restored_car.account = car.account or restored_car.account
        if open_spans is not None:
            _reconcile(cars_, units_, charges, list(open_spans))
        self.ctx.cars, self.ctx.units, self.ctx.charges = cars_, units_, charges
        self.ctx.cars_changed()
        self._budget_warned = warned

    # --- inside --------------------------------------------------------------------------------

    def _info(self, watcher: CarWatcher, track: CarTrack) -> None:
        """A `CarInfo` for a car seen before `note_car` named it, or renamed since."""
        known = self._infos.get(track.vin)
        if known is not None and known.name == track.name:
            return
        vehicle = watcher.vehicle
        info = CarInfo(
            vin=track.vin,
            account=track.account if known is None else known.account,
            name=track.name,
            model=known.model if known is not None and known.model else _MODELS.get(_letter(track.vin)),
            vehicle_id=vehicle.vehicle_id,
            id=int(vehicle.id_s),
        )
        self._infos[track.vin] = info
        self.ctx.record(info)

    def _guard(self, where: str) -> _Guard:
        return _Guard(self, where)


class _Guard:
    """A reading's bookkeeping that fails is logged and counted, never raised into a job."""

    def __init__(self, engine: Engine, where: str) -> None:
        self.engine, self.where = engine, where

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        self.engine.failures += 1
        self.engine.last_failure = f"{self.where}: {one_line(str(exc) or type(exc).__name__)}"
        _LOG.exception("engine %s failed; the reading is skipped", self.where)
        return True


def _letter(vin: str) -> str:
    return vin[3].upper() if len(vin) == 17 else ""


def _section(state: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = state.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"engine state: {name} must be an object, got {type(value).__name__}")
    return value


def _reconcile(
    cars_: dict[str, CarTrack],
    units_: dict[str, UnitTrack],
    charges: dict[str, OpenCharge],
    spans: list[Record],
) -> None:
    """Make the restored tracks agree with the recorder's open spans (see `Engine.restore`)."""
    open_keys = {
        r.key
        for r in spans
        if isinstance(r, StateSpan | Drive | ChargingSession | WallConnectorSession) and r.end_ms is None
    }

    def car(vin: str) -> CarTrack:
        return cars_.setdefault(vin, CarTrack(vin=vin))

    def unit_of(serial: str) -> UnitTrack | None:
        return next((u for u in units_.values() if serial in (u.serial, u.name)), None)

    for track in cars_.values():
        if track.span is not None and track.span.key not in open_keys:
            track.span = None
        if track.drive is not None and track.drive.key not in open_keys:
            track.drive = None
    for unit in units_.values():
        if unit.session is not None and unit.session.key not in open_keys:
            unit.session = None
    for key, charge in list(charges.items()):
        if (charge.active or charge.pending_stop_ms is not None) and key not in open_keys:
            del charges[key]
    for record in sorted((r for r in spans if getattr(r, "end_ms", 0) is None), key=lambda r: r.start_ms):  # type: ignore[union-attr]
        if isinstance(record, StateSpan):
            track = car(record.vin)
            if track.span is None or record.start_ms > track.span.start_ms:
                track.span = Span(record.key, CarState(record.state).value, record.start_ms)
        elif isinstance(record, Drive):
            track = car(record.vin)
            if track.drive is None or record.start_ms > track.drive.start_ms:
                track.drive = _drive_of(record)
        elif isinstance(record, WallConnectorSession):
            found = unit_of(record.serial)
            if found is not None and (found.session is None or record.start_ms > found.session.start_ms):
                found.session = WcSession(
                    key=record.key,
                    start_ms=record.start_ms,
                    last_ms=record.start_ms + _REPLUG_SLACK_MS,
                    energy_wh=record.energy_wh,
                    charging_s=record.charging_s or 0.0,
                    vin=record.vin,
                )
        elif isinstance(record, ChargingSession) and record.key not in charges:
            charges[record.key] = _charge_of(record, unit_of(record.serial) if record.serial else None)
    for key, charge in charges.items():
        if charge.vin is not None:
            track = car(charge.vin)
            if track.charge_key not in charges:
                track.charge_key = key
        at_unit = unit_of(charge.serial) if charge.serial else None
        if at_unit is not None and charge.unit_open and at_unit.charge_key not in charges:
            at_unit.charge_key = key
    for track in cars_.values():
        if track.charge_key is not None and track.charge_key not in charges:
            track.charge_key = None
    for unit in units_.values():
        if unit.charge_key is not None and unit.charge_key not in charges:
            unit.charge_key = None


def _drive_of(record: Drive) -> DriveTrack:
    return DriveTrack(
        key=record.key,
        start_ms=record.start_ms,
        start_odometer_km=record.start_odometer_km,
        start_battery_level=record.start_battery_level,
        start_range_km=record.start_range_km,
        start_latitude=record.start_latitude,
        start_longitude=record.start_longitude,
        speed_max_kmh=record.speed_max_kmh,
    )


def _charge_of(record: ChargingSession, unit: UnitTrack | None) -> OpenCharge:
    car_seen = record.source in (ChargeSource.CAR, ChargeSource.BOTH)
    unit_seen = record.source in (ChargeSource.WALL_CONNECTOR, ChargeSource.BOTH)
    return OpenCharge(
        key=record.key,
        start_ms=record.start_ms,
        vin=record.vin,
        unit=None if unit is None else unit.name,
        serial=record.serial,
        car_seen=car_seen,
        unit_seen=unit_seen,
        car_open=car_seen,
        unit_open=unit_seen,
        active=True,
        energy_added_wh=record.energy_added_wh,
        energy_grid_wh=record.energy_grid_wh,
        start_battery_level=record.start_battery_level,
        end_battery_level=record.end_battery_level,
        max_power_w=record.max_power_w if unit_seen else None,
        car_max_power_w=None if unit_seen else record.max_power_w,
        fast_charger=record.fast_charger,
    )
