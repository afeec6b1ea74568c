"""Fixtures of the FleetApi tests: the demo world and the Fleet twin serving it on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fleet_api_twin import START, FleetTwin

from teslalink.simulator import World, populate_demo
from teslalink.simulator.fleet import FleetUrls, fleet_surfaces, populate_fleet_demo
from teslalink.simulator.serve import serve_cloud
from teslalink.simulator.surface import Surface


@pytest.fixture
def demo_fleet_world() -> World:
    """The demo world (demo1 in na, demo2 in eu, demo3 in cn; the demo app registered everywhere),
    its clock moved only by advance(). A test may change it before `fleet_twin` serves it."""
    world = World(seed=17, speed=0.0, start=START)
    populate_demo(world)
    populate_fleet_demo(world)
    return world


@pytest.fixture
def fleet_surfaces_of(demo_fleet_world: World) -> list[Surface]:
    """The Fleet twin's surfaces before they are served (a test may add to a host's middlewares)."""
    return fleet_surfaces(demo_fleet_world)


@pytest.fixture
async def fleet_twin(demo_fleet_world: World, fleet_surfaces_of: list[Surface]) -> AsyncIterator[FleetTwin]:
    async with serve_cloud(demo_fleet_world, surfaces=fleet_surfaces_of) as cloud:
        twin = FleetTwin(demo_fleet_world, FleetUrls.of(cloud.extra), fleet_surfaces_of)
        try:
            yield twin
        finally:
            for api in twin.opened:
                await api.close()
