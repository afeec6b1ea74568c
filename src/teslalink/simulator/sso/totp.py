"""Time-based one-time passwords (RFC 4226 HOTP, RFC 6238 TOTP), from the standard library.

The SSO twin checks the second factor exactly as an authenticator app computes it: HMAC-SHA1 of
the 30-second step number, dynamically truncated to 6 digits. Time is whatever the caller passes
(the world clock), never the machine's, so a test can compute the passcode for `world.now()` and
a scenario replays identically.

`verify` accepts the current step and `window` steps either side (clock drift between phone and
server; RFC 6238 section 5.2 recommends at most one) and returns the step that matched, so the
caller can refuse a passcode that was already used (the same section says a verifier MUST NOT
accept the second use of an OTP).

Nothing here logs, and no error message ever contains a secret or a passcode.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math

__all__ = ["DIGITS", "STEP_S", "decode_secret", "hotp", "totp", "totp_step", "verify"]

STEP_S = 30
DIGITS = 6
_ALGORITHMS = frozenset({"sha1", "sha256", "sha512"})


def decode_secret(secret_b32: str) -> bytes:
    """The key bytes of a base32 secret as apps show it: any case, spaces allowed, padding optional."""
    cleaned = "".join(secret_b32.split()).upper()
    cleaned += "=" * (-len(cleaned) % 8)
    try:
        key = base64.b32decode(cleaned, casefold=False)
    except (binascii.Error, ValueError):
        raise ValueError("the TOTP secret is not valid base32") from None
    if not key:
        raise ValueError("the TOTP secret is empty")
    return key


def hotp(key: bytes, counter: int, *, digits: int = DIGITS, algorithm: str = "sha1") -> str:
    """RFC 4226: the `digits`-digit one-time password for `counter` (zero-padded on the left)."""
    if algorithm not in _ALGORITHMS:
        raise ValueError(f"unsupported HMAC algorithm {algorithm!r}")
    if not 6 <= digits <= 10:
        raise ValueError(f"digits must be 6..10, got {digits!r}")
    if counter < 0:
        raise ValueError("the counter must be >= 0")
    mac = hmac.new(key, counter.to_bytes(8, "big"), algorithm).digest()
    offset = mac[-1] & 0x0F
    code = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def totp_step(at: float, *, step_s: int = STEP_S) -> int:
    """The RFC 6238 time step T = floor(unix time / step) containing `at`."""
    if not math.isfinite(at) or at < 0:
        raise ValueError("time must be a finite number of epoch seconds >= 0")
    return int(at // step_s)


def totp(
    secret_b32: str, at: float, *, step_s: int = STEP_S, digits: int = DIGITS, algorithm: str = "sha1"
) -> str:
    """The passcode an authenticator app shows at epoch time `at` for this base32 secret."""
    return hotp(decode_secret(secret_b32), totp_step(at, step_s=step_s), digits=digits, algorithm=algorithm)


def verify(
    secret_b32: str,
    passcode: str,
    at: float,
    *,
    window: int = 1,
    step_s: int = STEP_S,
    digits: int = DIGITS,
    after_step: int | None = None,
) -> int | None:
    """The time step whose passcode equals `passcode` (within ±`window` steps of `at`), else None.

    Steps at or before `after_step` are not considered: pass the step of the last accepted
    passcode to refuse a replay. Comparison is constant-time per candidate.
    """
    candidate = passcode.strip().replace(" ", "")
    if len(candidate) != digits or not candidate.isascii() or not candidate.isdigit():
        return None
    key = decode_secret(secret_b32)
    now_step = totp_step(at, step_s=step_s)
    matched: int | None = None
    for step in range(now_step - window, now_step + window + 1):
        if step < 0 or (after_step is not None and step <= after_step):
            continue
        if hmac.compare_digest(hotp(key, step, digits=digits), candidate) and matched is None:
            matched = step
    return matched
