"""The twin's `https://tesla.com/_ak/<domain>?vin=` page: the owner signs in and approves, the app's
registered key joins the car's whitelist, and fleet_status lists the car as paired; anyone else,
an unregistered app or a domain whose key is gone is refused and nothing is paired."""

from __future__ import annotations

from teslalink.simulator.fleet import DEMO_APP, fleet_listing, fleet_state, paired_keys
from teslalink.simulator.sso.totp import totp

from .conftest import Fleet, Reply


def vin_of(fleet: Fleet, n: int) -> str:
    return fleet.world.vehicles_of(fleet.account(n))[0].vin


def demo_key(fleet: Fleet) -> bytes:
    registration = fleet_state(fleet.world).registration("na", DEMO_APP.client_id)
    assert registration is not None
    return registration.public_key


async def approve(fleet: Fleet, n: int, vin: str, *, domain: str = DEMO_APP.domain, **form: str) -> Reply:
    account = fleet.account(n)
    fields = {"identity": account.email, "credential": account.password, "vin": vin, "action": "approve"}
    return await fleet.request("POST", f"{fleet.urls.pairing_url}{domain}", data={**fields, **form})


async def paired_per_fleet_status(fleet: Fleet, n: int, vin: str) -> bool:
    region = fleet_state(fleet.world).home_region(fleet.account(n))
    reply = await fleet.call(
        "POST",
        region,
        "api/1/vehicles/fleet_status",
        fleet.user_token(fleet.account(n)),
        json={"vins": [vin]},
    )
    assert reply.status == 200, reply.text
    body = reply.json["response"]
    assert vin in body["key_paired_vins"] + body["unpaired_vins"]
    return vin in body["key_paired_vins"]


async def test_the_page_names_the_app_the_car_and_offers_approve(fleet: Fleet) -> None:
    vin = vin_of(fleet, 1)
    page = await fleet.request("GET", f"{fleet.urls.pairing_url}{DEMO_APP.domain}?vin={vin}")
    assert page.status == 200
    assert DEMO_APP.name in page.text
    assert DEMO_APP.domain in page.text
    assert vin in page.text
    assert 'value="approve"' in page.text
    assert 'name="credential"' in page.text
    unknown = await fleet.request("GET", f"{fleet.urls.pairing_url}nobody.example?vin={vin}")
    assert unknown.status == 404
    assert "has not registered" in unknown.text


async def test_the_owner_approves_and_fleet_status_lists_the_car_as_paired(fleet: Fleet) -> None:
    vin = vin_of(fleet, 1)
    assert not await paired_per_fleet_status(fleet, 1, vin)
    done = await approve(fleet, 1, vin)
    assert done.status == 200, done.text
    assert "Key Added" in done.text
    assert vin in done.text
    assert demo_key(fleet) in paired_keys(fleet.world, vin)
    assert await paired_per_fleet_status(fleet, 1, vin)
    again = await approve(fleet, 1, vin)  # idempotent
    assert again.status == 200
    assert "was already" in again.text


async def test_an_mfa_owner_in_another_region_approves_with_the_passcode(fleet: Fleet) -> None:
    vin, account = vin_of(fleet, 2), fleet.account(2)  # demo2: eu, TOTP
    assert account.mfa_secret is not None
    without = await approve(fleet, 2, vin)
    assert without.status == 401
    passcode = totp(account.mfa_secret, fleet.world.now())
    assert (await approve(fleet, 2, vin, passcode=passcode)).status == 200
    assert await paired_per_fleet_status(fleet, 2, vin)


async def test_a_stranger_or_a_wrong_password_pairs_nothing(fleet: Fleet) -> None:
    vin = vin_of(fleet, 1)
    stranger = await approve(fleet, 3, vin)  # demo3 signs in for demo1's car
    assert stranger.status == 403
    assert "Only the car's owner can add a key" in stranger.text
    wrong = await approve(fleet, 1, vin, credential="not-the-password")
    assert wrong.status == 401
    assert "not-the-password" not in wrong.text
    assert paired_keys(fleet.world, vin) == set()
    assert not await paired_per_fleet_status(fleet, 1, vin)


async def test_no_vin_pairs_the_owners_only_car(fleet: Fleet) -> None:
    vin = vin_of(fleet, 1)
    assert (await approve(fleet, 1, "")).status == 200
    assert demo_key(fleet) in paired_keys(fleet.world, vin)


async def test_an_app_not_registered_in_the_owners_region_is_refused(fleet: Fleet) -> None:
    vin = vin_of(fleet, 2)  # demo2 lives in eu
    account = fleet.account(2)
    assert account.mfa_secret is not None
    del fleet_state(fleet.world).registrations["eu"][DEMO_APP.client_id]
    refused = await approve(fleet, 2, vin, passcode=totp(account.mfa_secret, fleet.world.now()))
    assert refused.status == 412
    assert "Application has not registered in the eu region" in refused.text
    assert paired_keys(fleet.world, vin) == set()


async def test_a_domain_whose_key_is_gone_is_refused(fleet: Fleet) -> None:
    vin = vin_of(fleet, 1)
    del fleet_state(fleet.world).domain_keys[DEMO_APP.domain]
    refused = await approve(fleet, 1, vin)
    assert refused.status == 412
    assert "/.well-known/appspecific/com.tesla.3p.public-key.pem" in refused.text
    assert paired_keys(fleet.world, vin) == set()


async def test_sim_all_lists_the_pairing_url(fleet: Fleet) -> None:
    listing = fleet_listing(fleet.world, fleet.urls)
    assert listing["pairing_url"] == fleet.urls.web + "_ak/"
    assert fleet.urls.web.startswith("http://127.0.0.1:")
