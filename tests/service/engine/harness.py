"""The engine against the twin in virtual time: the service's own jobs feed a real `Engine`.

A frozen world (`World(speed=0)`) is moved by the scheduler, so hours of world time take
seconds. The car is read by the library's `CarWatcher` through the twin's Owner API, the Wall
Connector by `UnitMonitor` over loopback HTTP, each by the service's job (`CarJob`, `UnitJob`,
`LifetimeJob`), plus the runner's 30 s `tick`. What the engine emits is kept in `records`; the
twin's own accounting and truth say what really happened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from teslalink.cloud import CloudUrls, StaticToken, TeslaApi
from teslalink.cloud.watcher import CarWatcher, FleetWatcher
from teslalink.service.engine import Engine
from teslalink.service.events import Event, EventKind
from teslalink.service.records import CarInfo, Record
from teslalink.service.scheduler import Scheduler, WorldClock
from teslalink.service.settings import EngineSettings, UnitSettings
from teslalink.service.state import ServiceState
from teslalink.service.watch import CarJob, CarPolicy, LifetimeJob, UnitJob, UnitPolicy
from teslalink.simulator import World, scenario, serve_cloud
from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.serve import Cloud
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.wall_connector.unit import WallConnectorUnit
from teslalink.wallconnector import WallConnector
from teslalink.wallconnector.monitor import UnitMonitor

EMAIL = "engine@teslalink.test"
START = 1_750_000_000.0
UNIT = "Garage"
CAR_NAME = "Sparky"
TICK_S = 30.0

R = TypeVar("R")


async def _no_wait(seconds: float) -> None:
    """The unit client's retry pause: a refused connection is asked again at once (no real sleeps)."""


@dataclass
class Twin:
    """One owner: a car, a Wall Connector configured as that car's, and the engine watching them."""

    world: World
    cloud: Cloud
    api: TeslaApi
    car: Car
    unit: WallConnectorUnit
    settings: EngineSettings
    unit_policy: UnitPolicy
    car_policy: CarPolicy
    records: list[Record] = field(default_factory=list)
    asked: list[tuple[float, str]] = field(default_factory=list)  # on_plug_edge calls (world time)
    scheduler: Scheduler | None = None
    engine: Engine | None = None
    watcher: CarWatcher | None = None
    monitor: UnitMonitor | None = None
    state: ServiceState | None = None
    _closing: list[Any] = field(default_factory=list)

    # --- running -------------------------------------------------------------------------------

    async def start(
        self,
        *,
        car_at: float | None = None,
        unit: bool = True,
        engine_state: dict[str, Any] | None = None,
        open_spans: list[Record] | None = None,
        monitor_state: dict[str, Any] | None = None,
    ) -> Engine:
        """Build the service's parts and their jobs (a restart when `engine_state` is given)."""
        now = self.world.now()
        scheduler = Scheduler(WorldClock(self.world))
        state = ServiceState(version="test", started_ms=round(now * 1000))
        fleet = await FleetWatcher.of(self.api, clock=self.world.now)
        (watcher,) = fleet.cars
        watcher.may_stream = False  # the twin's stream runs in real time; these tests poll
        self._closing.append(fleet)
        engine = Engine(
            self.settings,
            [UnitSettings(UNIT, host=self.cloud.wall_connectors[0].url, car=CAR_NAME)],
            self.records.append,
            state,
            clock_ms=lambda: round(self.world.now() * 1000),
            on_plug_edge=self._edge,
            car_policy=self.car_policy,
            unit_policy=self.unit_policy,
        )
        engine.note_car(CarInfo(self.car.vin, EMAIL, self.car.display_name, "Model 3"))
        engine.note_unit(UNIT, self.unit.serial)
        if engine_state is not None or open_spans is not None:
            engine.restore(engine_state, open_spans)
        vin = self.car.vin
        scheduler.add(
            "car",
            CarJob(watcher, engine, self.world.now, self.car_policy, metered=lambda: engine.metered(vin)),
            due=car_at,
        )
        if unit:
            client = WallConnector(self.cloud.wall_connectors[0].url, sleep=_no_wait)
            self._closing.append(client)
            monitor = UnitMonitor(client, UNIT, clock=self.world.now)
            if monitor_state is not None:
                monitor.restore(monitor_state)
            scheduler.add("unit", UnitJob(UNIT, monitor, engine, self.world.now, self.unit_policy))
            scheduler.add("lifetime", LifetimeJob(UNIT, monitor, engine, self.world.now, self.unit_policy))
            self.monitor = monitor

        async def tick() -> float:
            engine.tick(self.world.now())
            return self.world.now() + TICK_S

        scheduler.add("tick", tick)
        self.scheduler, self.engine, self.watcher, self.state = scheduler, engine, watcher, state
        return engine

    async def run(self, seconds: float) -> None:
        assert self.scheduler is not None
        await self.scheduler.run_until(self.world.now() + seconds)

    async def run_until(self, done: Callable[[], bool], limit_s: float, step_s: float = 60.0) -> float:
        """Run until `done()` (checked every `step_s` of world time); the world time it took."""
        began = self.world.now()
        while not done():
            assert self.world.now() - began < limit_s, f"not done within {limit_s:g} s of world time"
            await self.run(step_s)
        return self.world.now() - began

    def _edge(self, who: str) -> None:
        """What the runner does with `on_plug_edge`: read that car now if it is awake (never wake it)."""
        self.asked.append((self.world.now(), who))
        if self.watcher is not None and self.scheduler is not None and who in (self.car.vin, CAR_NAME):
            self.watcher.touch()
            self.scheduler.wake("car")

    async def close(self) -> None:
        for part in self._closing:
            await (part.aclose() if hasattr(part, "aclose") else part.close())

    # --- what happened ---------------------------------------------------------------------------

    def events(self, kind: EventKind | None = None) -> list[Event]:
        return [r for r in self.records if isinstance(r, Event) and (kind is None or r.kind is kind)]

    def kinds(self) -> list[str]:
        return [e.kind.value for e in self.events()]

    def of(self, kind: type[R]) -> list[R]:
        return [r for r in self.records if isinstance(r, kind)]

    def latest(self, kind: type[R]) -> dict[str, R]:
        """The last version of each span of this type, by key (what the recorder's upsert keeps)."""
        found: dict[str, R] = {}
        for record in self.of(kind):
            found[record.key] = record  # type: ignore[attr-defined]
        return found

    def open_spans(self) -> list[Record]:
        """What a recorder's `open_spans()` would answer now: the latest of each span, still open."""
        from teslalink.service.records import ChargingSession, Drive, StateSpan, WallConnectorSession

        spans: list[Record] = []
        for kind in (StateSpan, Drive, ChargingSession, WallConnectorSession):
            spans += [r for r in self.latest(kind).values() if r.end_ms is None]  # type: ignore[attr-defined]
        return spans

    def billed(self, category: BillingCategory) -> int:
        return int(self.world.accounting.by_vehicle.get(self.car.id, {}).get(category, 0))

    def unit_truth(self) -> dict[str, Any]:
        return scenario.unit_truth(self.world, self.unit.serial)

    def ms(self, offset_s: float) -> int:
        return round((START + offset_s) * 1000)


@asynccontextmanager
async def twin(
    *,
    seed: int = 11,
    asleep: bool = False,
    battery_level: float = 70.0,
    charge_limit_soc: int = 80,
    settings: EngineSettings | None = None,
    unit_policy: UnitPolicy | None = None,
    car_policy: CarPolicy | None = None,
    quirks: Any = None,
) -> AsyncIterator[Twin]:
    world = World(seed=seed, speed=0.0, start=START)
    account = world.add_account(EMAIL, "pw-engine")
    car = world.add_vehicle(
        account,
        model="3",
        display_name=CAR_NAME,
        asleep=asleep,
        battery_level=battery_level,
        charge_limit_soc=charge_limit_soc,
    )
    unit = world.add_wall_connector(quirks=quirks)
    async with serve_cloud(world) as cloud:
        token = world.auth.issue(world.account(EMAIL))["access_token"]
        urls = CloudUrls(api=cloud.owner_api, sso=cloud.sso["na"], streaming=cloud.streaming)
        api = TeslaApi(urls, StaticToken(token))
        found = Twin(
            world,
            cloud,
            api,
            car,
            unit,
            settings or EngineSettings(),
            unit_policy or UnitPolicy(),
            car_policy or CarPolicy(),
        )
        try:
            yield found
        finally:
            await found.close()
            await api.close()
