"""The SSO twin's building blocks without HTTP: TOTP, JWT, the token authority's rules."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from teslalink.simulator import World
from teslalink.simulator.sso import InvalidToken, LoginPolicy, pkce_challenge, totp
from teslalink.simulator.sso import jwt as sso_jwt
from teslalink.simulator.sso.login import AuthorizeRequest
from teslalink.simulator.sso.tokens import GrantError

# RFC 6238 appendix B: the seeds are ASCII "1234567890" repeated to the hash's key size.
_SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
_RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("at", "sha1", "sha256", "sha512"), _RFC6238)
def test_totp_rfc6238_vectors(at: int, sha1: str, sha256: str, sha512: str) -> None:
    for algorithm, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        secret = base64.b32encode(_SEEDS[algorithm]).decode()
        assert totp.totp(secret, at, digits=8, algorithm=algorithm) == expected


def test_hotp_rfc4226_vectors() -> None:
    key = b"12345678901234567890"
    expected = [
        "755224",
        "287082",
        "359152",
        "969429",
        "338314",
        "254676",
        "287922",
        "162583",
        "399871",
        "520489",
    ]
    assert [totp.hotp(key, counter) for counter in range(10)] == expected


def test_totp_verify_window_and_replay() -> None:
    secret = base64.b32encode(_SEEDS["sha1"]).decode().lower()  # apps show lowercase too
    at = 1_700_000_015.0
    step = totp.totp_step(at)
    now_code = totp.totp(secret, at)
    assert totp.verify(secret, now_code, at) == step
    assert totp.verify(secret, totp.totp(secret, at - 30), at) == step - 1  # one step of drift
    assert totp.verify(secret, totp.totp(secret, at + 30), at) == step + 1
    assert totp.verify(secret, totp.totp(secret, at - 60), at) is None  # two steps: too old
    assert totp.verify(secret, now_code, at, after_step=step) is None  # already used
    assert totp.verify(secret, "12345", at) is None
    assert totp.verify(secret, "abcdef", at) is None
    assert totp.verify(secret, f"{now_code[:3]} {now_code[3:]}", at) == step  # typed with a space


def test_totp_secret_errors_do_not_echo_the_secret() -> None:
    with pytest.raises(ValueError, match="base32") as info:
        totp.decode_secret("not!base32")
    assert "not!base32" not in str(info.value)


def test_jwt_round_trip_and_tampering() -> None:
    key = b"k" * 32
    token = sso_jwt.encode_hs256({"sub": "x", "exp": 5}, key, kid="abc")
    header_b64, payload_b64, _ = token.split(".")
    assert "=" not in token
    assert json.loads(base64.urlsafe_b64decode(header_b64 + "==")) == {
        "alg": "HS256",
        "typ": "JWT",
        "kid": "abc",
    }
    assert json.loads(base64.urlsafe_b64decode(payload_b64 + "==")) == {"sub": "x", "exp": 5}
    assert sso_jwt.decode_hs256(token, key) == {"sub": "x", "exp": 5}
    forged_payload = sso_jwt.b64url_encode(b'{"sub":"y","exp":5}')
    for bad in (f"{header_b64}.{forged_payload}.{token.split('.')[2]}", token + "x", "a.b", "", token[:-2]):
        with pytest.raises(sso_jwt.JWTError):
            sso_jwt.decode_hs256(bad, key)
    with pytest.raises(sso_jwt.JWTError):
        sso_jwt.decode_hs256(token, b"other key")
    none_header = sso_jwt.b64url_encode(b'{"alg":"none"}')
    none_alg = f"{none_header}.{payload_b64}."
    with pytest.raises(sso_jwt.JWTError):
        sso_jwt.decode_hs256(none_alg, key)


def test_pkce_challenge_matches_rfc7636_example() -> None:
    # RFC 7636 appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    digest = hashlib.sha256(verifier.encode()).digest()
    assert pkce_challenge(verifier) == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_issue_verify_expire(world: World) -> None:
    account = world.add_account("owner@example.com", "hunter2!")
    auth = world.auth
    body = auth.issue(account)
    assert list(body) == ["access_token", "refresh_token", "id_token", "expires_in", "token_type"]
    assert body["expires_in"] == 28800
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"].startswith("NA_")
    assert auth.verify_access_token(body["access_token"]) is account
    world.advance(28799)
    assert auth.verify_access_token(body["access_token"]) is account
    world.advance(1)
    with pytest.raises(InvalidToken) as info:
        auth.verify_access_token(body["access_token"])
    assert info.value.reason == "expired"
    assert body["access_token"] not in str(info.value)


def test_access_lifetime_is_settable_and_invalid_tokens_are_invalid(world: World) -> None:
    account = world.add_account("owner@example.com", "pw")
    auth = world.auth
    auth.access_lifetime_s = 60
    body = auth.issue(account, scope="openid email")
    assert body["expires_in"] == 60
    assert "refresh_token" not in body  # no offline_access, no refresh token
    for bad in ("", "garbage", body["access_token"] + "A", body["id_token"]):
        with pytest.raises(InvalidToken) as info:
            auth.verify_access_token(bad)
        assert info.value.reason == "invalid"
    # A token minted by another world (another seed) is not ours.
    other = World(seed=8, speed=0.0, start=world.now())
    foreign = other.auth.issue(other.add_account("owner@example.com", "pw"))["access_token"]
    with pytest.raises(InvalidToken, match="invalid"):
        auth.verify_access_token(foreign)


def test_revoke_all_revokes_every_grant_of_the_account_only(world: World) -> None:
    alice = world.add_account("alice@example.com", "pw")
    bob = world.add_account("bob@example.com", "pw")
    auth = world.auth
    a1, a2, b1 = auth.issue(alice), auth.issue(alice), auth.issue(bob)
    assert auth.revoke_all(alice) == 2
    for body in (a1, a2):
        with pytest.raises(InvalidToken) as info:
            auth.verify_access_token(body["access_token"])
        assert info.value.reason == "revoked"
    assert auth.verify_access_token(b1["access_token"]) is bob
    with pytest.raises(GrantError) as grant_info:
        auth.refresh(a1["refresh_token"], client_id="ownerapi", scope=None, region="na", issuer="x")
    assert (grant_info.value.error, grant_info.value.status) == ("login_required", 401)
    a3 = auth.issue(alice)  # logging in again works
    assert auth.verify_access_token(a3["access_token"]) is alice


def test_same_seed_same_tokens() -> None:
    def run() -> dict[str, object]:
        world = World(seed=3, speed=0.0, start=1_700_000_000)
        return world.auth.issue(world.add_account("a@example.com", "pw"))

    assert run() == run()


def test_no_secret_in_reprs(world: World) -> None:
    account = world.add_account("mfa@example.com", "s3cret-pw", mfa=True)
    auth = world.auth
    body = auth.issue(account)
    desk = auth.logins
    request = AuthorizeRequest.parse(
        {
            "client_id": "ownerapi",
            "redirect_uri": "tesla://auth/callback",
            "response_type": "code",
            "scope": "openid email offline_access",
            "state": "st",
            "code_challenge": pkce_challenge("v" * 43),
            "code_challenge_method": "S256",
        },
        clients=auth.clients,
    )
    tx = desk.start(request, region="na", issuer="https://auth.tesla.com/oauth2/v3", query="q=1")
    desk.new_captcha(tx)
    text = " ".join(repr(x) for x in (auth, desk, account, LoginPolicy(), tx, desk.session(tx.session_id)))
    secrets = ("s3cret-pw", account.mfa_secret, body["access_token"], body["refresh_token"])
    for secret in (*secrets, tx.id, tx.csrf, tx.session_id, tx.captcha_answer):
        assert secret
        assert secret not in text
