"""JSON Web Tokens (RFC 7519) in compact serialization, signed HS256 (RFC 7515), stdlib only.

Tesla's SSO signs its access and id tokens as JWTs, and clients decode the payload without
verifying it (to read `exp`, `sub` or the audience). The twin therefore mints real, decodable
JWTs. It signs with HMAC-SHA256 and a key derived from the world seed instead of Tesla's RS256
key pair: only the twin itself verifies signatures, and no client can check Tesla's signature
anyway. Decoding is strict (three base64url parts without padding, JSON objects, `alg` HS256,
constant-time signature check) and raises `JWTError`, whose message never contains the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["JWTError", "b64url_decode", "b64url_encode", "decode_hs256", "encode_hs256", "peek"]


class JWTError(ValueError):
    """The token is not a well-formed HS256 JWT, or its signature does not match."""


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of `b64url_encode`; padding is optional, any other character is an error."""
    if "=" in text or "+" in text or "/" in text:
        raise JWTError("not base64url without padding")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise JWTError("not base64url") from None


def encode_hs256(payload: Mapping[str, Any], key: bytes, *, kid: str | None = None) -> str:
    """Sign `payload` (JSON-serialisable claims) with HMAC-SHA256; returns `header.payload.signature`."""
    header: dict[str, str] = {"alg": "HS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    signing_input = f"{b64url_encode(orjson.dumps(header))}.{b64url_encode(orjson.dumps(dict(payload)))}"
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url_encode(signature)}"


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload WITHOUT checking the signature: what a client does to read `exp`."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JWTError("a JWT has three dot-separated parts")
    return _json_object(parts[0]), _json_object(parts[1])


def decode_hs256(token: str, key: bytes) -> dict[str, Any]:
    """The verified payload of an HS256 token signed with `key`; `JWTError` for anything else."""
    if not isinstance(token, str) or not token.isascii():
        raise JWTError("a JWT is an ASCII string")
    header, payload = peek(token)
    if header.get("alg") != "HS256":
        raise JWTError("unexpected signing algorithm")
    signing_input, _, signature = token.rpartition(".")
    expected = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, b64url_decode(signature)):
        raise JWTError("bad signature")
    return payload


def _json_object(part: str) -> dict[str, Any]:
    try:
        value = orjson.loads(b64url_decode(part))
    except orjson.JSONDecodeError:
        raise JWTError("a JWT part is not JSON") from None
    if not isinstance(value, dict):
        raise JWTError("a JWT part is not a JSON object")
    return value
