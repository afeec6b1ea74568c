"""One error type: every refusal of the twin carries its status and body; the car holds its reach rules."""

from __future__ import annotations

import orjson
import pytest

from teslalink.simulator import World
from teslalink.simulator.refusal import NotFound, Refusal
from teslalink.simulator.site.errors import SiteCommandError
from teslalink.simulator.sso.login import LoginError
from teslalink.simulator.sso.tokens import GrantError
from teslalink.simulator.vehicle.car import Car
from teslalink.simulator.vehicle.errors import (
    CommandSigningRequired,
    MobileAccessDisabled,
    UnknownCommand,
    VehicleInService,
    VehicleUnavailable,
)

START = 1_700_000_000.0


def make(**options: object) -> Car:
    world = World(seed=3, speed=0.0, start=START)
    account = world.add_account("owner@example.com", "secret", region="cn")
    return world.add_vehicle(account, **options)


def answer(refusal: Refusal) -> tuple[int, object, str | None]:
    response = refusal.response()
    assert response.body is not None
    assert response.content_type == "application/json"
    assert response.charset == "utf-8"
    return response.status, orjson.loads(bytes(response.body)), response.headers.get("Cache-Control")


def owner_api_body(error: str) -> dict[str, object]:
    return {"response": None, "error": error, "error_description": ""}


def test_every_refusal_renders_its_own_status_and_body() -> None:
    unavailable = owner_api_body('vehicle unavailable: {:error=>"vehicle unavailable:"}')
    assert answer(VehicleUnavailable()) == (408, unavailable, None)
    in_service = owner_api_body("vehicle is currently in service")
    assert answer(VehicleInService()) == (405, in_service, None)
    assert answer(MobileAccessDisabled()) == (405, owner_api_body("mobile_access_disabled"), None)
    assert answer(UnknownCommand("make_coffee")) == (404, owner_api_body("not_found"), None)
    assert str(UnknownCommand("make_coffee")) == "unknown vehicle command 'make_coffee'"
    assert answer(NotFound()) == (404, owner_api_body("not_found"), None)
    assert answer(SiteCommandError(400, "no battery")) == (400, owner_api_body("no battery"), None)
    status, body, _ = answer(CommandSigningRequired("cn"))
    assert status == 403
    assert isinstance(body, dict)
    assert body["error"].startswith("Tesla Vehicle Command Protocol required, please refer")
    assert "developer.tesla.cn" in body["error"]


def test_the_sso_errors_are_refusals_with_their_own_shapes() -> None:
    login = LoginError(400, "INVALID_REQUEST", "The body must be a JSON object or a form.")
    assert answer(login) == (
        400,
        {"error": {"code": "INVALID_REQUEST", "message": "The body must be a JSON object or a form."}},
        "no-store",
    )
    grant = GrantError("invalid_grant", "The authorization code is invalid or expired.")
    assert answer(grant) == (
        400,
        {"error": "invalid_grant", "error_description": "The authorization code is invalid or expired."},
        "no-store",
    )
    assert grant.error == "invalid_grant"


def test_the_car_refuses_in_tesla_order_in_service_first() -> None:
    car = make(asleep=True)
    car.account.mobile_access = False
    car.enter_service()
    with pytest.raises(VehicleInService):
        car.reach()
    with pytest.raises(VehicleInService):
        car.vehicle_data()  # the model's own read: the same rule as the endpoint's
    car.leave_service()
    with pytest.raises(MobileAccessDisabled):
        car.reach()
    with pytest.raises(VehicleUnavailable):
        car.reach(mobile_access=False)  # asleep: the question of mobile access needs it online too
    assert car.state == "asleep"  # refusing does not wake it


def test_a_reach_that_gets_through_keeps_the_car_awake() -> None:
    left_alone, reached = make(idle_sleep_s=120.0), make(idle_sleep_s=120.0)
    reached.account.mobile_access = False
    for _ in range(20):  # ten minutes, a call every 30 s: five times the idle timeout
        for car in (left_alone, reached):
            car.world.advance(30)
        reached.reach(mobile_access=False)
    assert reached.state == "online"
    assert left_alone.state == "asleep"


def test_the_cloud_signing_mode_is_the_car_refusing_unsigned_commands() -> None:
    car = make()
    with pytest.raises(CommandSigningRequired) as refused:
        car.command_response("flash_lights", require_signed=True)
    assert refused.value.region == "cn"
    with pytest.raises(UnknownCommand):
        car.command_response("make_coffee", require_signed=True)  # unknown before unsigned
    assert car.command_response("flash_lights") == {"result": True, "reason": ""}
