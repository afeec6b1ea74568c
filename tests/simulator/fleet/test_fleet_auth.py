"""fleet-auth over loopback: every grant and its errors, the authorize page, refresh rules, JWT claims."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from teslalink.simulator.fleet import DEMO_APP
from teslalink.simulator.sso.jwt import peek

from .conftest import Fleet

NA = "https://fleet-api.prd.na.vn.cloud.tesla.com"
EU = "https://fleet-api.prd.eu.vn.cloud.tesla.com"
REDIRECT = DEMO_APP.redirect_uris[0]


async def _login(fleet: Fleet, n: int, scope: str, **extra: str) -> str:
    """The authorize dance for demo<n>, headless: read the form, post it, return the code."""
    query = {
        "response_type": "code",
        "client_id": DEMO_APP.client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "st-123",
        **extra,
    }
    page = await fleet.request("GET", fleet.urls.auth + "oauth2/v3/authorize", params=query)
    assert page.status == 200
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    account = fleet.account(n)
    form = {**hidden, "identity": account.email, "credential": account.password}
    reply = await fleet.request("POST", fleet.urls.auth + "oauth2/v3/authorize", data=form)
    assert reply.status == 302, reply.text
    location = urlsplit(reply.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    params = parse_qs(location.query)
    assert params["state"] == ["st-123"]
    return params["code"][0]


async def _exchange(
    fleet: Fleet, code: str, redirect_uri: str = REDIRECT, secret: str = DEMO_APP.client_secret
):
    return await fleet.token(
        grant_type="authorization_code",
        client_id=DEMO_APP.client_id,
        client_secret=secret,
        code=code,
        redirect_uri=redirect_uri,
        audience=NA,
    )


async def test_partner_token_has_the_audience_region_and_expires_in_8_hours(fleet: Fleet) -> None:
    reply = await fleet.token(
        grant_type="client_credentials",
        client_id=DEMO_APP.client_id,
        client_secret=DEMO_APP.client_secret,
        audience=EU,
        scope="openid vehicle_device_data",
    )
    assert reply.status == 200
    assert reply.headers["Cache-Control"] == "no-store"
    body = reply.json
    assert body["expires_in"] == 28800
    assert body["token_type"] == "Bearer"
    header, claims = peek(body["access_token"])
    assert header["alg"] == "RS256"
    assert header["typ"] == "JWT"
    assert header["kid"]
    assert claims["aud"] == [EU]
    assert claims["ou_code"] == "EU"
    assert claims["azp"] == DEMO_APP.client_id
    assert claims["scp"] == ["openid", "vehicle_device_data"]
    assert claims["exp"] - claims["iat"] == 28800


async def test_partner_token_takes_the_twins_own_url_as_audience(fleet: Fleet) -> None:
    reply = await fleet.token(
        grant_type="client_credentials",
        client_id=DEMO_APP.client_id,
        client_secret=DEMO_APP.client_secret,
        audience=fleet.urls.api["cn"],
    )
    assert reply.status == 200
    assert peek(reply.json["access_token"])[1]["ou_code"] == "CN"


async def test_partner_token_errors(fleet: Fleet) -> None:
    base = {"grant_type": "client_credentials", "client_id": DEMO_APP.client_id, "audience": NA}
    wrong_secret = await fleet.token(**base, client_secret="ta-secret.nope")
    assert (wrong_secret.status, wrong_secret.json["error"]) == (400, "unauthorized_client")
    assert "ta-secret" not in wrong_secret.text
    unknown = await fleet.token(**{**base, "client_id": "someone"}, client_secret=DEMO_APP.client_secret)
    assert (unknown.status, unknown.json["error"]) == (400, "unauthorized_client")
    bad_audience = await fleet.token(
        **{**base, "audience": "https://example.com"}, client_secret=DEMO_APP.client_secret
    )
    assert (bad_audience.status, bad_audience.json["error"]) == (400, "invalid_request")
    grant = await fleet.token(grant_type="password", client_id=DEMO_APP.client_id, client_secret="x")
    assert (grant.status, grant.json["error"]) == (400, "unsupported_grant_type")
    as_json = await fleet.request("POST", fleet.urls.auth + "oauth2/v3/token", json=base)
    assert (as_json.status, as_json.json["error"]) == (400, "invalid_request")


async def test_authorization_code_flow_gives_a_user_token_with_the_real_claims(fleet: Fleet) -> None:
    code = await _login(fleet, 1, "openid offline_access vehicle_device_data vehicle_cmds")
    assert code.startswith("NA_")
    reply = await _exchange(fleet, code)
    assert reply.status == 200, reply.text
    body = reply.json
    assert body["refresh_token"].startswith("NA_")
    assert body["id_token"]
    assert body["expires_in"] == 28800
    header, claims = peek(body["access_token"])
    assert header["alg"] == "RS256"
    assert claims["iss"] == "https://auth.tesla.com/oauth2/v3/nts"
    assert claims["azp"] == DEMO_APP.client_id
    assert claims["aud"] == [NA, EU, "https://auth.tesla.com/oauth2/v3/userinfo"]
    assert claims["scp"] == ["openid", "offline_access", "vehicle_device_data", "vehicle_cmds"]
    assert claims["ou_code"] == "NA"
    assert claims["locale"] == "en-US"
    assert claims["amr"] == ["pwd"]
    assert claims["exp"] - claims["iat"] == 28800
    assert claims["auth_time"] <= claims["iat"]
    assert re.fullmatch(r"[0-9a-f-]{36}", claims["sub"])


async def test_codes_carry_the_home_region_and_mfa_accounts_need_the_passcode(fleet: Fleet) -> None:
    assert (await _login(fleet, 3, "openid")).startswith("CN_")
    query = {
        "response_type": "code",
        "client_id": DEMO_APP.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "s",
    }
    account = fleet.account(2)
    no_passcode = await fleet.request(
        "POST",
        fleet.urls.auth + "oauth2/v3/authorize",
        data={**query, "identity": account.email, "credential": account.password},
    )
    assert no_passcode.status == 401
    wrong_password = await fleet.request(
        "POST",
        fleet.urls.auth + "oauth2/v3/authorize",
        data={**query, "identity": account.email, "credential": "nope"},
    )
    assert wrong_password.status == 401
    assert "nope" not in wrong_password.text


async def test_authorize_refuses_unknown_clients_and_redirect_uris(fleet: Fleet) -> None:
    query = {
        "response_type": "code",
        "client_id": DEMO_APP.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "s",
    }
    url = fleet.urls.auth + "oauth2/v3/authorize"
    foreign = await fleet.request("GET", url, params={**query, "redirect_uri": "https://evil.example/cb"})
    assert foreign.status == 400
    assert "invalid_redirect_url" in foreign.text
    assert "Location" not in foreign.headers
    unknown = await fleet.request("GET", url, params={**query, "client_id": "nobody"})
    assert unknown.status == 400
    assert "unauthorized_client" in unknown.text
    no_state = await fleet.request("GET", url, params={k: v for k, v in query.items() if k != "state"})
    assert no_state.status == 400


async def test_code_exchange_errors(fleet: Fleet) -> None:
    code = await _login(fleet, 1, "openid offline_access")
    wrong_redirect = await _exchange(fleet, code, redirect_uri="http://127.0.0.1:1/other")
    assert (wrong_redirect.status, wrong_redirect.json["error"]) == (400, "invalid_redirect_url")
    reused = await _exchange(fleet, code)  # burnt by the first attempt
    assert (reused.status, reused.json["error"]) == (400, "invalid_auth_code")
    garbage = await _exchange(fleet, "NA_0000")
    assert (garbage.status, garbage.json["error"]) == (400, "invalid_auth_code")
    fresh = await _login(fleet, 1, "openid")
    bad_secret = await _exchange(fleet, fresh, secret="ta-secret.wrong")
    assert (bad_secret.status, bad_secret.json["error"]) == (400, "unauthorized_client")
    expired = await _login(fleet, 1, "openid")
    fleet.world.advance(301)
    late = await _exchange(fleet, expired)
    assert (late.status, late.json["error"]) == (400, "invalid_auth_code")


async def _refresh(fleet: Fleet, token: str):
    return await fleet.token(grant_type="refresh_token", client_id=DEMO_APP.client_id, refresh_token=token)


async def test_refresh_tokens_are_single_use_with_a_24_hour_grace_for_the_last_used(fleet: Fleet) -> None:
    first = (await _exchange(fleet, await _login(fleet, 1, "openid offline_access vehicle_device_data"))).json
    r1 = first["refresh_token"]
    second = await _refresh(fleet, r1)
    assert second.status == 200
    r2 = second.json["refresh_token"]
    assert r2 != r1
    assert r2.startswith("NA_")
    assert peek(second.json["access_token"])[1]["scp"] == ["openid", "offline_access", "vehicle_device_data"]
    fleet.world.advance(23 * 3600)
    again = await _refresh(fleet, r1)  # the last used one, within 24 h: the chain's current token
    assert again.status == 200
    assert again.json["refresh_token"] == r2
    fleet.world.advance(2 * 3600)
    late = await _refresh(fleet, r1)
    assert (late.status, late.json["error"]) == (401, "login_required")
    third = await _refresh(fleet, r2)
    assert third.status == 200
    r3 = third.json["refresh_token"]
    cycled_out = await _refresh(fleet, r1)
    assert cycled_out.status == 401
    assert (await _refresh(fleet, r2)).status == 200  # r2 is now the last used one
    assert (await _refresh(fleet, r3)).status == 200


async def test_refresh_tokens_expire_after_three_months_and_need_the_right_client(fleet: Fleet) -> None:
    first = (await _exchange(fleet, await _login(fleet, 1, "openid offline_access"))).json
    other = await fleet.token(
        grant_type="refresh_token", client_id="someone", refresh_token=first["refresh_token"]
    )
    assert (other.status, other.json["error"]) == (400, "unauthorized_client")
    wider = await fleet.token(
        grant_type="refresh_token",
        client_id=DEMO_APP.client_id,
        refresh_token=first["refresh_token"],
        scope="vehicle_cmds",
    )
    assert (wider.status, wider.json["error"]) == (400, "invalid_scope")
    fleet.world.advance(91 * 86400)
    expired = await _refresh(fleet, first["refresh_token"])
    assert (expired.status, expired.json["error"]) == (401, "login_required")


async def test_consent_is_reused_unless_prompt_missing_scopes(fleet: Fleet) -> None:
    await _login(fleet, 1, "openid vehicle_device_data")
    reused = (await _exchange(fleet, await _login(fleet, 1, "openid vehicle_device_data vehicle_cmds"))).json
    assert peek(reused["access_token"])[1]["scp"] == ["openid", "vehicle_device_data"]
    asked = await _login(fleet, 1, "openid vehicle_device_data vehicle_cmds", prompt_missing_scopes="true")
    widened = (await _exchange(fleet, asked)).json
    assert peek(widened["access_token"])[1]["scp"] == ["openid", "vehicle_device_data", "vehicle_cmds"]


async def test_discovery_and_jwks(fleet: Fleet) -> None:
    for path in (
        "oauth2/v3/thirdparty/.well-known/openid-configuration",
        "oauth2/v3/.well-known/openid-configuration",
    ):
        reply = await fleet.request("GET", fleet.urls.auth + path)
        assert reply.status == 200
        assert reply.json["token_endpoint"] == fleet.urls.auth + "oauth2/v3/token"
        assert reply.json["authorization_endpoint"] == fleet.urls.auth + "oauth2/v3/authorize"
    keys = (await fleet.request("GET", fleet.urls.auth + "oauth2/v3/thirdparty/discovery/keys")).json["keys"]
    token = await fleet.partner_token()
    assert keys[0]["kid"] == peek(token)[0]["kid"]
    assert keys[0]["alg"] == "RS256"
