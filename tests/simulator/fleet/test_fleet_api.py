"""The regional Fleet API hosts over loopback: registration, regions, reads, scopes, fleet_status,
commands, billing."""

from __future__ import annotations

import random

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from teslalink.simulator.accounting import BillingCategory
from teslalink.simulator.fleet import DEMO_APP, PartnerApp, fleet_state, pair, paired_keys, unpair
from teslalink.simulator.vehicle.spec import make_vin, model_spec

from .conftest import ALL_SCOPES, Fleet

NA = "https://fleet-api.prd.na.vn.cloud.tesla.com"
EU = "https://fleet-api.prd.eu.vn.cloud.tesla.com"
NEW_APP = PartnerApp("new-app", "ta-secret.new", "new.example", ("http://127.0.0.1:9/cb",))
VCP_TEXT = "Tesla Vehicle Command Protocol required, please refer to the documentation here: "


def _pem(curve: ec.EllipticCurve) -> tuple[bytes, bytes]:
    """A fresh public key's SPKI PEM and its uncompressed point."""
    public = ec.generate_private_key(curve).public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    point = (
        b""
        if not isinstance(curve, ec.SECP256R1)
        else public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return pem, point


async def test_registration_checks_the_domains_key_and_412_until_registered(fleet: Fleet) -> None:
    state = fleet_state(fleet.world)
    state.add_app(NEW_APP)
    partner = await fleet.partner_token("na", NEW_APP.client_id, NEW_APP.client_secret)
    user = fleet.user_token(fleet.account(1), client_id=NEW_APP.client_id)
    before = await fleet.call("GET", "na", "api/1/products", user)
    assert before.status == 412
    assert before.json["error"] == (
        "Account new-app must be registered in the current region "
        "https://fleet-api.prd.na.vn.cloud.tesla.com/, "
        "please see https://developer.tesla.com/docs/fleet-api/endpoints/partner-endpoints#register"
    )
    no_key = await fleet.call("POST", "na", "api/1/partner_accounts", partner, json={"domain": "new.example"})
    assert no_key.status == 412
    assert "https://new.example/.well-known/appspecific/com.tesla.3p.public-key.pem" in no_key.json["error"]
    for bad in (b"not a pem", _pem(ec.SECP384R1())[0]):
        state.know_domain_key("new.example", bad)
        refused = await fleet.call(
            "POST", "na", "api/1/partner_accounts", partner, json={"domain": "new.example"}
        )
        assert refused.status == 412
        assert "invalid" in refused.json["error"]
    other_domain = await fleet.call(
        "POST", "na", "api/1/partner_accounts", partner, json={"domain": "x.example"}
    )
    assert other_domain.status == 412
    pem, point = _pem(ec.SECP256R1())
    state.know_domain_key("new.example", pem)
    done = await fleet.call("POST", "na", "api/1/partner_accounts", partner, json={"domain": "new.example"})
    assert done.status == 200, done.text
    assert done.json["response"]["public_key"] == point.hex()
    assert point.hex().startswith("04")
    assert len(point) == 65
    key = await fleet.call(
        "GET", "na", "api/1/partner_accounts/public_key", partner, params={"domain": "new.example"}
    )
    assert key.json["response"]["public_key"] == point.hex()
    assert (await fleet.call("GET", "na", "api/1/products", user)).status == 200
    eu_user = fleet.user_token(fleet.account(2), client_id=NEW_APP.client_id)
    assert (await fleet.call("GET", "eu", "api/1/products", eu_user)).status == 412  # registered in na only


async def test_partner_and_user_tokens_are_kept_apart_and_401_has_no_body(fleet: Fleet) -> None:
    partner = await fleet.partner_token()
    user = fleet.user_token(fleet.account(1))
    assert (await fleet.call("GET", "na", "api/1/products", partner)).status == 403
    assert (
        await fleet.call("POST", "na", "api/1/partner_accounts", user, json={"domain": DEMO_APP.domain})
    ).status == 403
    missing = await fleet.call("GET", "na", "api/1/products", None)
    assert (missing.status, missing.text) == (401, "")
    forged = await fleet.call("GET", "na", "api/1/products", user[:-4] + "AAAA")
    assert forged.status == 401


async def test_users_region_and_421_on_the_wrong_host(fleet: Fleet) -> None:
    eu_user = fleet.user_token(fleet.account(2))
    region = await fleet.call("GET", "eu", "api/1/users/region", eu_user)
    assert region.json == {"response": {"region": "eu", "fleet_api_base_url": EU}}
    wrong = await fleet.call("GET", "na", "api/1/users/region", eu_user)
    assert wrong.status == 421
    assert wrong.json == {
        "response": None,
        "error": f"user out of region, use base URL: {EU}, see https://developer.tesla.com/docs/fleet-api#regional-requirements",
        "error_description": "",
    }
    assert wrong.headers["Alt-Svc"] == f"h2={EU}"
    cn_user = fleet.user_token(fleet.account(3))
    assert (await fleet.call("GET", "cn", "api/1/users/region", cn_user)).json["response"]["region"] == "cn"


async def test_products_vehicles_and_a_vehicle_by_vin_or_id(fleet: Fleet) -> None:
    user = fleet.user_token(fleet.account(1))
    car = fleet.world.vehicles_of(fleet.account(1))[0]
    products = (await fleet.call("GET", "na", "api/1/products", user)).json
    entry = products["response"][0]
    assert entry["vin"] == car.vin
    assert entry["command_signing"] == "required"
    assert {
        "id",
        "id_s",
        "vehicle_id",
        "state",
        "access_type",
        "ble_autopair_enrolled",
        "cached_data",
    } <= set(entry)
    assert any("energy_site_id" in p for p in products["response"])
    listing = (await fleet.call("GET", "na", "api/1/vehicles", user, params={"per_page": "1"})).json
    assert listing["count"] == 1
    assert listing["pagination"]["pages"] == 1
    assert len(listing["response"]) == 1
    for tag in (car.vin, car.id_s):
        one = await fleet.call("GET", "na", f"api/1/vehicles/{tag}", user)
        assert one.json["response"]["vin"] == car.vin
    other = fleet.world.vehicles_of(fleet.account(2))[0]
    assert (await fleet.call("GET", "na", f"api/1/vehicles/{other.vin}", user)).status == 404


async def test_vehicle_data_endpoints_scopes_and_location_rules(fleet: Fleet) -> None:
    car = fleet.world.vehicles_of(fleet.account(1))[0]
    path = f"api/1/vehicles/{car.vin}/vehicle_data"
    full = fleet.user_token(fleet.account(1))
    no_device = fleet.user_token(fleet.account(1), "openid vehicle_cmds")
    no_location = fleet.user_token(fleet.account(1), "openid vehicle_device_data")
    refused = await fleet.call("GET", "na", path, no_device)
    assert refused.status == 403
    assert refused.json["error"] == "Unauthorized missing scopes"
    assert refused.json["error_description"] == "vehicle_device_data"
    blocks = await fleet.call(
        "GET", "na", path, no_location, params={"endpoints": "charge_state;drive_state"}
    )
    body = blocks.json["response"]
    assert "charge_state" in body
    assert "climate_state" not in body
    assert "latitude" not in body["drive_state"]
    located = await fleet.call(
        "GET", "na", path, no_location, params={"endpoints": "location_data;charge_state"}
    )
    assert (located.status, located.json["error"]) == (403, "Unauthorized missing scopes")
    assert located.json["error_description"] == "vehicle_location"
    with_scope = await fleet.call("GET", "na", path, full, params={"endpoints": "location_data"})
    assert "latitude" in with_scope.json["response"]["drive_state"]


async def test_asleep_car_408_then_wake_up(fleet: Fleet) -> None:
    car = fleet.world.vehicles_of(fleet.account(1))[0]
    car.unplug()
    car.fall_asleep()
    user = fleet.user_token(fleet.account(1))
    asleep = await fleet.call("GET", "na", f"api/1/vehicles/{car.vin}/vehicle_data", user)
    assert asleep.status == 408
    assert asleep.json == {
        "response": None,
        "error": "vehicle unavailable: vehicle is offline or asleep",
        "error_description": "",
    }
    assert asleep.headers["x-txid"]
    woken = await fleet.call("POST", "na", f"api/1/vehicles/{car.vin}/wake_up", user)
    assert woken.status == 200
    assert woken.json["response"]["vin"] == car.vin
    fleet.world.advance(60)
    assert (await fleet.call("GET", "na", f"api/1/vehicles/{car.vin}/vehicle_data", user)).status == 200


async def test_fleet_status_before_and_after_pairing(fleet: Fleet) -> None:
    car = fleet.world.vehicles_of(fleet.account(1))[0]
    user = fleet.user_token(fleet.account(1))
    registration = fleet_state(fleet.world).registration("na", DEMO_APP.client_id)
    assert registration is not None
    before = (
        await fleet.call("POST", "na", "api/1/vehicles/fleet_status", user, json={"vins": [car.vin]})
    ).json
    assert before["response"]["key_paired_vins"] == []
    assert before["response"]["unpaired_vins"] == [car.vin]
    info = before["response"]["vehicle_info"][car.vin]
    assert info["vehicle_command_protocol_required"] is True
    assert info["discounted_device_data"] is False
    pair(fleet.world, car.vin, registration.public_key)
    assert paired_keys(fleet.world, car.vin) == {registration.public_key}
    after = (
        await fleet.call("POST", "na", "api/1/vehicles/fleet_status", user, json={"vins": [car.vin]})
    ).json
    assert after["response"]["key_paired_vins"] == [car.vin]
    assert after["response"]["unpaired_vins"] == []
    assert (
        after["response"]["vehicle_info"][car.vin]["total_number_of_keys"] == info["total_number_of_keys"] + 1
    )
    unpair(fleet.world, car.vin, registration.public_key)
    assert paired_keys(fleet.world, car.vin) == set()
    bad = await fleet.call("POST", "na", "api/1/vehicles/fleet_status", user, json={"vins": "nope"})
    assert bad.status == 400


async def test_rest_commands_need_signing_except_on_a_pre_2021_model_s(fleet: Fleet) -> None:
    account = fleet.account(1)
    modern = fleet.world.vehicles_of(account)[0]
    old = fleet.world.add_vehicle(account, model="S", vin=make_vin(model_spec("S"), 2019, random.Random(3)))
    user = fleet.user_token(account)
    refused = await fleet.call("POST", "na", f"api/1/vehicles/{modern.vin}/command/door_lock", user, json={})
    assert refused.status == 403
    assert refused.json["response"] is None
    assert refused.json["error"].startswith(VCP_TEXT)
    products = (await fleet.call("GET", "na", "api/1/products", user)).json["response"]
    assert {p["vin"]: p["command_signing"] for p in products if "vin" in p}[old.vin] == "off"
    done = await fleet.call("POST", "na", f"api/1/vehicles/{old.vin}/command/door_lock", user, json={})
    assert done.status == 200
    assert done.json["response"]["result"] is True
    assert old.closures.locked is True
    charging_only = fleet.user_token(account, "openid vehicle_charging_cmds")
    amps = await fleet.call(
        "POST",
        "na",
        f"api/1/vehicles/{old.vin}/command/set_charging_amps",
        charging_only,
        json={"charging_amps": 16},
    )
    assert amps.status == 200
    lock = await fleet.call(
        "POST", "na", f"api/1/vehicles/{old.vin}/command/door_unlock", charging_only, json={}
    )
    assert (lock.status, lock.json["error_description"]) == (403, "vehicle_cmds")


async def test_billing_by_category(fleet: Fleet) -> None:
    account = fleet.account(1)
    car = fleet.world.vehicles_of(account)[0]
    user = fleet.user_token(account, ALL_SCOPES)
    totals = fleet.world.accounting.totals
    start = dict(totals)
    await fleet.call("GET", "na", "api/1/products", user)
    await fleet.call("GET", "na", f"api/1/vehicles/{car.vin}", user)
    await fleet.call("GET", "na", f"api/1/vehicles/{car.vin}/vehicle_data", user)
    await fleet.call("GET", "na", f"api/1/vehicles/{car.vin}/vehicle_data", user)
    await fleet.call("POST", "na", f"api/1/vehicles/{car.vin}/wake_up", user)
    await fleet.call(
        "POST", "na", f"api/1/vehicles/{car.vin}/command/door_lock", user, json={}
    )  # 403: still billed
    await fleet.call("GET", "na", f"api/1/vehicles/{car.vin}/vehicle_data", None)  # 401: not billed
    site = fleet.world.sites_of(account)[0]
    await fleet.call("GET", "na", f"api/1/energy_sites/{site.energy_site_id}/live_status", user)

    def added(category: BillingCategory) -> int:
        return totals.get(category, 0) - start.get(category, 0)

    assert added(BillingCategory.DATA) == 3
    assert added(BillingCategory.WAKE) == 1
    assert added(BillingCategory.COMMAND) == 1
    assert fleet.world.accounting.by_vehicle[car.id][BillingCategory.DATA] >= 2


async def test_admin_endpoints_pair_know_a_domain_key_and_move_an_account(fleet: Fleet) -> None:
    car = fleet.world.vehicles_of(fleet.account(1))[0]
    _, point = _pem(ec.SECP256R1())
    admin = fleet.urls.auth + "_twin/fleet/"
    paired = await fleet.request("POST", admin + "pair", json={"vin": car.vin, "public_key": point.hex()})
    assert paired.status == 200
    assert point in paired_keys(fleet.world, car.vin)
    short = await fleet.request("POST", admin + "pair", json={"vin": car.vin, "public_key": "04ab"})
    assert short.status == 400
    pem, _ = _pem(ec.SECP256R1())
    known = await fleet.request(
        "POST", admin + "domain_key", json={"domain": "Other.Example", "pem": pem.decode()}
    )
    assert known.status == 200
    assert fleet_state(fleet.world).domain_keys["other.example"] == pem
    moved = await fleet.request(
        "POST", admin + "home_region", json={"email": fleet.account(1).email, "region": "eu"}
    )
    assert moved.status == 200
    user = fleet.user_token(fleet.account(1))
    assert (await fleet.call("GET", "na", "api/1/users/region", user)).status == 421
    bad = await fleet.request(
        "POST", admin + "home_region", json={"email": fleet.account(1).email, "region": "mars"}
    )
    assert bad.status == 400


async def test_an_expired_access_token_is_401_without_a_body(fleet: Fleet) -> None:
    user = fleet.user_token(fleet.account(1))
    assert (await fleet.call("GET", "na", "api/1/products", user)).status == 200
    fleet.world.advance(28800)
    expired = await fleet.call("GET", "na", "api/1/products", user)
    assert (expired.status, expired.text) == (401, "")


async def test_vehicles_pages_and_users_me_needs_user_data(fleet: Fleet) -> None:
    account = fleet.account(1)
    second = fleet.world.add_vehicle(account, model="Y")
    user = fleet.user_token(account)
    page2 = (
        await fleet.call("GET", "na", "api/1/vehicles", user, params={"per_page": "1", "page": "2"})
    ).json
    assert [v["vin"] for v in page2["response"]] == [second.vin]
    assert page2["pagination"] == {
        "previous": 1,
        "next": None,
        "current": 2,
        "per_page": 1,
        "count": 2,
        "pages": 2,
    }
    assert (await fleet.call("GET", "na", "api/1/vehicles", user, params={"page": "0"})).status == 400
    me = await fleet.call("GET", "na", "api/1/users/me", user)
    assert me.json["response"]["email"] == account.email
    no_profile = fleet.user_token(account, "openid vehicle_device_data")
    assert (await fleet.call("GET", "na", "api/1/users/me", no_profile)).status == 403
