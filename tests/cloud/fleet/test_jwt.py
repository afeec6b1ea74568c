"""Reading a Fleet access token's claims without verifying it: the twin's real-shaped tokens, and
what is not a JWT (a clear error that never repeats the token)."""

from __future__ import annotations

import base64
import json

import pytest

from teslalink.cloud.fleet.jwt import read_claims, read_payload
from teslalink.errors import AuthError
from teslalink.simulator import World, populate_demo
from teslalink.simulator.fleet import DEMO_APP, populate_fleet_demo
from teslalink.simulator.fleet.state import authority_of


def _twin_token(email: str, scopes: tuple[str, ...]) -> str:
    world = World(seed=3, speed=0.0, start=1_760_000_000.0)
    populate_demo(world)
    populate_fleet_demo(world)
    body = authority_of(world).issue_user_token(
        world.account(email), client_id=DEMO_APP.client_id, scopes=scopes
    )
    return str(body["access_token"])


def _b64(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unsigned(claims: object) -> str:
    return f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.c2ln"


def test_claims_of_a_twin_token_give_region_scopes_subject_and_expiry() -> None:
    token = _twin_token("demo2@teslalink.test", ("openid", "offline_access", "vehicle_cmds"))
    claims = read_claims(token)
    assert claims.region == "eu"  # ou_code "EU": demo2 lives in the eu region of the Fleet twin
    assert claims.scopes == ("openid", "offline_access", "vehicle_cmds")
    assert claims.client_id == DEMO_APP.client_id
    assert claims.subject
    assert "https://fleet-api.prd.eu.vn.cloud.tesla.com" in claims.audience
    assert claims.expires_at is not None
    assert claims.issued_at is not None
    assert claims.expires_at - claims.issued_at == 28800
    assert token not in repr(claims)


def test_cn_account_reads_cn() -> None:
    assert read_claims(_twin_token("demo3@teslalink.test", ("openid",))).region == "cn"


def test_scp_and_aud_as_strings_and_an_unknown_ou_code() -> None:
    claims = read_claims(_unsigned({"scp": "openid vehicle_cmds", "aud": "https://x", "ou_code": "XX"}))
    assert claims.scopes == ("openid", "vehicle_cmds")
    assert claims.audience == ("https://x",)
    assert claims.region is None
    assert claims.subject is None
    assert claims.expires_at is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt-at-all",
        "qwxz.yvbk",
        "qwxz.yvbk.jmnq.plkr",
        "eyJhbGciOiJIUzI1NiJ9.%%%%.c2ln",
        f"{_b64({'alg': 'none'})}.{_b64(b'not json')}.c2ln",
        f"{_b64({'alg': 'none'})}.{_b64([1, 2])}.c2ln",
        "päss.wörd.x",
        "a" * 20000,
    ],
    ids=[
        "empty",
        "one-part",
        "two-parts",
        "four-parts",
        "bad-base64",
        "not-json",
        "not-object",
        "non-ascii",
        "huge",
    ],
)
def test_a_token_that_is_not_a_jwt_is_a_clear_error_without_the_token(token: str) -> None:
    with pytest.raises(AuthError, match="is not a JWT") as caught:
        read_claims(token)
    message = str(caught.value)
    assert "\n" not in message
    for part in token.split("."):
        if len(part) > 3:
            assert part not in message


def test_read_payload_names_what_it_read() -> None:
    with pytest.raises(AuthError, match=r"^the id token is not a JWT"):
        read_payload("x", "the id token")
