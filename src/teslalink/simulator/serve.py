"""Serve the whole simulated Tesla cloud of a world on loopback: SSO, Owner API, streaming, Wall Connectors.

    async with serve_cloud(world, faults=Faults.parse("5xx=0.02", seed=world.seed)) as cloud:
        cloud.sso["na"], cloud.sso["cn"]      # http://127.0.0.1:p/  (auth.tesla.com, auth.tesla.cn)
        cloud.owner_api                       # http://127.0.0.1:p/  (+ the twin's /_twin/ endpoints)
        cloud.streaming                       # ws://127.0.0.1:p/streaming/
        cloud.wall_connectors                 # one WallConnectorServer (its own port) per unit
        cloud.as_dict()                       # all of it as JSON

Ports: `ports` maps a surface ("sso_na", "sso_cn", "owner_api", "streaming", or an extra app's
name) to a port, and "wall_connectors" to the first unit's port (unit i on port + i); a missing
entry or 0 is an ephemeral port. `ports_from_base(P)` gives the fixed layout of `teslalink sim
all --port P`: SSO na P, cn P+1, Owner API P+2, streaming P+3, extra apps from P+4, Wall
Connectors from P+10.

Faults: one `Faults` object serves every surface: "owner_api" and "sso" through a middleware,
"streaming" through the streaming server's own hook, and "wall_connector" by setting the units'
quirks (latency becomes the slow first byte, drop the drop rate; a Wall Connector has no 5xx or
429 to give, so those rates do not apply to it). Changes at runtime take effect on every surface.
Without `faults`, the SSO has no fault layer and only the Owner API's and the streaming server's
faults (one object, `Cloud.faults`) can be set later; pass a `Faults` (even an empty one) to
change any surface's at runtime (what `teslalink sim all` does, so POST /_twin/faults reaches
every surface).

Every face is a `surface.Surface` (an SSO region, the Owner API, the streaming server, each Wall
Connector) started by `serve_surfaces`; `extra_apps` serves more aiohttp apps next to these (name
-> app), each on its own port, and `surfaces` any other surface (the Fleet API hosts to come),
their URLs in `Cloud.extra` under their names.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from .faults import Faults, FaultSpec, fault_middleware
from .owner_api import OWNER_API, OwnerApi, RateLimits, create_owner_api_app
from .quirks import Quirks
from .sso.app import SSO_REGIONS
from .sso.server import sso_surfaces
from .streaming.server import streaming_surface
from .surface import AppSurface, Surface, serve_surfaces
from .wall_connector.server import WallConnectorServer

if TYPE_CHECKING:
    from .wall_connector.unit import WallConnectorUnit
    from .world import World

__all__ = ["PORT_OFFSETS", "Cloud", "ports_from_base", "serve_cloud"]

OWNER_API_HOST: Final = "owner-api.teslamotors.com"
PORT_OFFSETS: Final = {"sso_na": 0, "sso_cn": 1, "owner_api": 2, "streaming": 3}
EXTRA_APPS_OFFSET: Final = 4
WALL_CONNECTORS_OFFSET: Final = 10


def ports_from_base(base: int, extra_apps: int = 0) -> dict[str, int]:
    """The fixed port layout from `base` (0: every port ephemeral)."""
    if base == 0:
        return {}
    ports = {name: base + offset for name, offset in PORT_OFFSETS.items()}
    ports["wall_connectors"] = base + WALL_CONNECTORS_OFFSET
    for i in range(extra_apps):
        ports[f"extra_{i}"] = base + EXTRA_APPS_OFFSET + i
    return ports


@dataclass(frozen=True)
class Cloud:
    """The running cloud: every URL, and the objects behind them for runtime changes."""

    host: str
    sso: dict[str, str]
    owner_api: str
    streaming: str
    wall_connectors: list[WallConnectorServer]
    owner_api_app: web.Application = field(repr=False)
    faults: Faults = field(repr=False)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def admin(self) -> str:
        """Base URL of the twin's admin endpoints (accounting, advance, faults)."""
        return self.owner_api + "_twin/"

    @property
    def api(self) -> OwnerApi:
        """The Owner API's settings (rate limits, signing mode) and lookups."""
        return self.owner_api_app[OWNER_API]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sso": dict(self.sso),
            "owner_api": self.owner_api,
            "streaming": self.streaming,
            "admin": self.admin,
            "wall_connectors": [
                {"serial": s.unit.serial, "url": s.url, "host": s.host, "port": s.port}
                for s in self.wall_connectors
            ],
            **({"extra": dict(self.extra)} if self.extra else {}),
        }


@contextlib.asynccontextmanager
async def serve_cloud(
    world: World,
    *,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    faults: Faults | None = None,
    rate_limits: RateLimits | None = None,
    require_signed_commands: bool = False,
    extra_apps: Mapping[str, web.Application] | None = None,
    surfaces: Iterable[Surface] = (),
) -> AsyncIterator[Cloud]:
    """Serve every surface of `world`, and `surfaces` beside them, until the block ends.

    See the module docstring; a surface of `surfaces` keeps its own host and port, and its URL
    is in `Cloud.extra` under its name, like an extra app's.
    """
    chosen = dict(ports or {})
    owner_app = create_owner_api_app(
        world, faults=faults, rate_limits=rate_limits, require_signed_commands=require_signed_commands
    )
    api = owner_app[OWNER_API]
    sso = sso_surfaces(
        world,
        host,
        {region: chosen.get(f"sso_{region}", 0) for region in SSO_REGIONS},
        middlewares=() if faults is None else (fault_middleware(faults, "sso"),),
    )
    owner = AppSurface("owner_api", OWNER_API_HOST, owner_app, host=host, port=chosen.get("owner_api", 0))
    streaming = streaming_surface(world, host=host, port=chosen.get("streaming", 0), faults=api.faults)
    extras: list[Surface] = [
        AppSurface(
            name, f"extra app {name!r}", app, host=host, port=chosen.get(name, chosen.get(f"extra_{i}", 0))
        )
        for i, (name, app) in enumerate((extra_apps or {}).items())
    ]
    extras += surfaces
    base = chosen.get("wall_connectors", 0)
    units = [
        WallConnectorServer(unit, host, 0 if base == 0 else base + i)
        for i, unit in enumerate(world.wall_connectors)
    ]
    with contextlib.ExitStack() as quirks:
        if faults is not None:
            quirks.enter_context(_wall_connector_faults(world.wall_connectors, faults))
        async with serve_surfaces([*sso, owner, streaming, *extras, *units]) as urls:
            yield Cloud(
                host=host,
                sso={region: urls[f"sso_{region}"] for region in SSO_REGIONS},
                owner_api=urls["owner_api"],
                streaming=urls["streaming"],
                wall_connectors=units,
                owner_api_app=owner_app,
                faults=faults if faults is not None else api.faults,
                extra={surface.name: urls[surface.name] for surface in extras},
            )


@contextlib.contextmanager
def _wall_connector_faults(units: list[WallConnectorUnit], faults: Faults) -> Iterator[None]:
    """Keep the units' quirks in step with the "wall_connector" faults; restore them afterwards.

    A unit's own quirks (set at start, or later through the scenario controls) are the base the
    faults are laid over: quirks set while the faults apply become the new base, and survive both
    a later change of the faults and the end of serving.
    """
    base: dict[str, Quirks] = {unit.serial: unit.quirks for unit in units}
    applied: dict[str, Quirks] = {}

    def own_quirks(unit: WallConnectorUnit) -> Quirks:
        if applied.get(unit.serial) is not unit.quirks:  # set by someone else since: the new base
            base[unit.serial] = unit.quirks
        return base[unit.serial]

    def apply(surface: str, spec: FaultSpec) -> None:
        if surface != "wall_connector":
            return
        latency = (spec.latency_s[0] + spec.latency_s[1]) / 2.0
        for unit in units:
            own = own_quirks(unit)
            unit.quirks = applied[unit.serial] = replace(
                own,
                slow_first_byte_s=max(own.slow_first_byte_s, latency),
                drop_rate=max(own.drop_rate, spec.drop_rate),
            )

    apply("wall_connector", faults.spec("wall_connector"))
    faults.add_listener(apply)
    try:
        yield
    finally:
        faults.remove_listener(apply)
        for unit in units:
            unit.quirks = own_quirks(unit)
