"""Account-level endpoints: products, orders, service scheduling, notification confirmations, status.

`GET api/1/products` lists the account's cars (their summaries: reading them never wakes or keeps
a car awake), energy sites and paired Wall Connectors, with a `count`. `GET status` is
unauthenticated and answers plain text "ok" (our choice: clients only look at the status code).
`POST api/1/notification_confirmations` answers `{"response": true}` (our choice).
"""

from __future__ import annotations

from aiohttp import web

from .bodies import ok
from .context import ACCOUNT, OWNER_API
from .products import linked_wall_connectors, orders, service_scheduling_data

__all__ = ["notification_confirmations", "products", "service_scheduling", "status", "user_orders"]


async def products(request: web.Request) -> web.StreamResponse:
    world = request.app[OWNER_API].world
    account = request[ACCOUNT]
    listing = [car.summary() for car in world.vehicles_of(account)]
    listing += [site.product() for site in world.sites_of(account)]
    listing += [link.product() for link in linked_wall_connectors(world, account)]
    return ok(listing, count=len(listing))


async def user_orders(request: web.Request) -> web.StreamResponse:
    world = request.app[OWNER_API].world
    return ok(orders(world.vehicles_of(request[ACCOUNT])))


async def service_scheduling(request: web.Request) -> web.StreamResponse:
    world = request.app[OWNER_API].world
    return ok(service_scheduling_data(world.vehicles_of(request[ACCOUNT]), world.now()))


async def notification_confirmations(request: web.Request) -> web.StreamResponse:
    await request.read()
    return ok(True)


async def status(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok", content_type="text/plain")
