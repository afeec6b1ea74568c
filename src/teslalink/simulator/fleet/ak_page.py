"""The `https://tesla.com/_ak/<domain>?vin=<VIN>` page: the owner approves an app's virtual key.

On Tesla's side the link opens the Tesla app on the owner's phone, which names the app asking for
a key and, on "Approve", enrols the app's registered public key with the car over BLE (research/
fleet.md 2.11). No source shows that screen, so every detail of this stand-in is ours:

* our choice: a web page with a sign-in form (email, password, and the passcode with MFA) stands
  in for the phone app, where the owner is already signed in; a headless client posts the form.
* our choice: GET only needs an app that uses the domain (so the page can name it); the checks
  come on Approve, when the account (and so its home region) is known:
  - the car must be the signed-in account's own (only the owner can pair; research/fleet.md
    2.11 says DRIVER access cannot; the twin has no drivers, so another account is refused);
  - the app must be registered in the owner's home region, and the key it registered must still
    be the one its domain serves at /.well-known/... (Tesla's app then says "Application has not
    registered", research/fleet.md 2.11);
  - unverified: the car need not be awake (the phone's BLE reaches a sleeping car).
* our choice of statuses: 200 the key was added (or was already there), 401 wrong sign-in,
  400 no car chosen, 403 not the owner's car, 404 no app uses the domain, 412 not registered.
* the key is added as `pairing.pair` adds it (the admin shortcut `/_twin/fleet/pair` too), as a
  fleet-manager key: unverified, research/fleet.md 9 says presumably ROLE_FM, form factor CLOUD_KEY.

Served as its own surface ("tesla_web", see `serve.py`), so a link can point at it:
`https://tesla.com/_ak/...` becomes `<its URL>_ak/...` (`sim all --json`: `fleet.pairing_url`).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Final

from aiohttp import web

from .auth_app import signed_in
from .pairing import pair, paired_keys
from .registration import public_point, well_known_url
from .state import fleet_state

if TYPE_CHECKING:
    from ..accounts import Account
    from ..vehicle.car import Car
    from ..world import World
    from .state import FleetState, PartnerApp, Registration

__all__ = ["AK_PATH", "TESLA_WEB_HOST", "create_tesla_web_app"]

TESLA_WEB_HOST: Final = "tesla.com"
AK_PATH: Final = "/_ak/"


class _Refused(Exception):
    """An approval that cannot go on: the page's status and its one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_tesla_web_app(world: World) -> web.Application:
    """The tesla.com pages the twin serves: `GET|POST /_ak/{domain}`."""
    page = _AkPage(world)
    app = web.Application()
    app.router.add_get(AK_PATH + "{domain}", page.show)
    app.router.add_post(AK_PATH + "{domain}", page.approve)
    return app


class _AkPage:
    def __init__(self, world: World) -> None:
        self.world = world
        self.state: FleetState = fleet_state(world)

    async def show(self, request: web.Request) -> web.StreamResponse:
        domain = request.match_info["domain"].strip().lower()
        app = _app_of(self.state, domain)
        if app is None:
            return _page(404, domain, None, _UNKNOWN_DOMAIN)
        return _page(200, domain, app, "", vin=request.query.get("vin", ""))

    async def approve(self, request: web.Request) -> web.StreamResponse:
        domain = request.match_info["domain"].strip().lower()
        app = _app_of(self.state, domain)
        if app is None:
            return _page(404, domain, None, _UNKNOWN_DOMAIN)
        form = await _form(request)
        vin = form.get("vin", "").strip() or request.query.get("vin", "").strip()
        account = self._sign_in(form)
        if account is None:
            return _page(401, domain, app, "Wrong email, password or passcode.", vin=vin)
        try:
            car = self._owners_car(account, vin)
            registration = self._registration(account, app)
        except _Refused as refused:
            return _page(refused.status, domain, app, refused.message, vin=vin)
        already = registration.public_key in paired_keys(self.world, car.vin)
        pair(self.world, car.vin, registration.public_key)
        done = "was already" if already else "is now"
        message = f"{app.name} ({domain}) {done} a key of {car.display_name} ({car.vin})."
        return _done(message)

    def _sign_in(self, form: dict[str, str]) -> Account | None:
        return signed_in(self.world, form)

    def _owners_car(self, account: Account, vin: str) -> Car:
        """The car to add the key to: the VIN given, which must be this account's own."""
        own = self.world.vehicles_of(account)
        if not vin:
            if len(own) == 1:
                return own[0]
            choices = ", ".join(car.vin for car in own) or "this account has no car"
            raise _Refused(400, f"Choose the car to add the key to ({choices}).")
        for car in own:
            if car.vin == vin:
                return car
        raise _Refused(403, f"Only the car's owner can add a key: {vin} is not a car of {account.email}.")

    def _registration(self, account: Account, app: PartnerApp) -> Registration:
        """The app's registration in the owner's region, whose key the domain still serves."""
        region = self.state.home_region(account)
        registration = self.state.registration(region, app.client_id)
        if registration is None or registration.domain != app.domain.lower():
            raise _Refused(412, f"Application has not registered in the {region} region.")
        hosted = self.state.domain_keys.get(registration.domain)
        try:
            point = None if hosted is None else public_point(hosted)
        except ValueError:
            point = None
        if point is None:
            where = well_known_url(registration.domain)
            raise _Refused(412, f"Application has not registered: no public key at {where}.")
        if point != registration.public_key:
            raise _Refused(
                412, "Application has not registered: its domain serves another key than it registered."
            )
        return registration


_UNKNOWN_DOMAIN: Final = "Application has not registered: no app uses this domain."


def _app_of(state: FleetState, domain: str) -> PartnerApp | None:
    return next((app for app in state.apps.values() if app.domain.lower() == domain), None)


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_type != "application/x-www-form-urlencoded":
        return {}
    try:
        form = await request.post()
    except ValueError:
        return {}
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _page(status: int, domain: str, app: PartnerApp | None, message: str, *, vin: str = "") -> web.Response:
    """The approval page: who asks, for which car, and the sign-in with Approve."""
    esc = html.escape
    parts = ["<!doctype html><html><head><title>Tesla - Add Virtual Key</title></head><body>"]
    parts.append("<h1>Add Virtual Key</h1>")
    if message:
        parts.append(f'<p class="error">{esc(message, quote=False)}</p>')
    if app is not None:
        car = f" to the car {esc(vin)}" if vin else ""
        parts.append(
            f'<p class="app">{esc(app.name)} ({esc(domain)}) asks for a virtual key{car}. '
            "With it the app can send commands to the car; it is listed on the car's Locks "
            f"screen as {esc(domain)}, where you can remove it.</p>"
            f'<form method="post" action="{AK_PATH}{esc(domain)}">'
            f'<input type="hidden" name="vin" value="{esc(vin)}">'
            '<input type="email" name="identity"><input type="password" name="credential">'
            '<input type="text" name="passcode" autocomplete="one-time-code">'
            '<button type="submit" name="action" value="approve">Approve</button></form>'
        )
    parts.append("</body></html>")
    return web.Response(status=status, text="".join(parts), content_type="text/html")


def _done(message: str) -> web.Response:
    text = (
        "<!doctype html><html><head><title>Tesla - Key Added</title></head><body>"
        f'<h1>Key Added</h1><p class="done">{html.escape(message, quote=False)}</p></body></html>'
    )
    return web.Response(status=200, text=text, content_type="text/html")
