"""Surfaces: every face of the twin starts (answering its URL), stops, and says what it stands for."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from teslalink.simulator import World, serve_cloud
from teslalink.simulator.sso.server import sso_surfaces
from teslalink.simulator.surface import AppSurface, Surface, serve_app, serve_surfaces
from teslalink.simulator.wall_connector.server import WallConnectorServer


class Greeter(Surface):
    """A surface of the kind a later issue adds (a Fleet API host): an app of its own."""

    def __init__(self) -> None:
        self.name = "greeter"
        self.description = "a surface serve_cloud knows nothing about"
        app = web.Application()
        app.router.add_get("/hello", self._hello)
        self._inner = AppSurface(self.name, self.description, app)
        self.stopped = False

    async def _hello(self, request: web.Request) -> web.Response:
        return web.Response(text="hello")

    async def start(self) -> str:
        return await self._inner.start()

    async def stop(self) -> None:
        await self._inner.stop()
        self.stopped = True


async def test_serve_cloud_starts_any_surface_beside_its_own(world: World) -> None:
    greeter = Greeter()
    async with serve_cloud(world, surfaces=[greeter]) as cloud, aiohttp.ClientSession() as http:
        async with http.get(cloud.extra["greeter"] + "hello") as r:
            assert (r.status, await r.text()) == (200, "hello")
        assert cloud.as_dict()["extra"] == {"greeter": cloud.extra["greeter"]}
    assert greeter.stopped


async def test_every_face_of_the_cloud_is_a_surface(world: World) -> None:
    world.add_wall_connector()
    async with serve_cloud(world) as cloud:
        (unit,) = cloud.wall_connectors
        assert isinstance(unit, Surface)
        assert unit.name == f"wall_connector_{unit.unit.serial}"
        assert unit.unit.serial in unit.description
        assert await unit.start() == unit.url  # already started: the same URL, nothing rebound


async def test_sso_regions_know_each_others_url_before_either_starts(world: World) -> None:
    na, cn = sso_surfaces(world)
    assert (na.name, na.description, cn.name, cn.description) == (
        "sso_na",
        "auth.tesla.com",
        "sso_cn",
        "auth.tesla.cn",
    )
    async with serve_surfaces([na, cn]) as urls, aiohttp.ClientSession() as http:
        assert urls == {"sso_na": na.url, "sso_cn": cn.url}
        assert na.url != cn.url
        async with http.get(na.url + "oauth2/v3/.well-known/openid-configuration") as r:
            assert r.status == 200


async def test_a_bound_surface_that_never_started_releases_its_port() -> None:
    surface = AppSurface("idle", "bound only", web.Application())
    url = surface.bind()
    assert surface.bind() == url  # idempotent: one socket, one URL
    await surface.stop()
    async with serve_app(web.Application(), port=surface.port) as port:  # the port is free again
        assert port == surface.port


async def test_the_app_of_a_surface_exists_once_started() -> None:
    surface = AppSurface("later", "built at start", web.Application)
    with pytest.raises(RuntimeError, match="has not started"):
        _ = surface.app
    async with serve_surfaces([surface]):
        assert isinstance(surface.app, web.Application)


async def test_a_unit_server_is_the_same_surface_alone(world: World) -> None:
    unit = world.add_wall_connector()
    server = WallConnectorServer(unit)
    async with serve_surfaces([server]) as urls, aiohttp.ClientSession() as http:
        response = await http.get(urls[server.name] + "/api/1/version")
        assert response.status == 200
        response.release()
    assert not server.running
