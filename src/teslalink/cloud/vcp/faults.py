"""Typed errors for the Vehicle Command Protocol, in teslalink's error tree.

The car answers a signed command that it refused with `signedMessageStatus.signed_message_fault`, a
`MessageFault_E` code (fleet.md 2.8). Each code maps to one class, and each class says what a caller
may do about it::

    TeslalinkError
    ├── VcpError                  our side found the car's message unacceptable
    │   ├── MalformedReply        the reply is not a RoutableMessage we can read
    │   ├── SessionInfoRejected   the session info's tag, request uuid or clock is wrong: discarded
    │   └── ResponseRejected      an encrypted reply does not decrypt, or replays a counter
    └── ApiError
        └── CarFault              the car refused the message: `.fault` (the code), `.fault_name`
            ├── SessionOutOfSync  5, 6, 15, 17, 20: resync from the attached session info, retry
            ├── CarBusy           1, 2, 11 (and VCSEC's OPERATIONSTATUS_WAIT): retry after a pause
            ├── KeyNotPaired      3 (or SessionInfo KEY_NOT_ON_WHITELIST): pair via the tesla.com/_ak link
            ├── KeyInactive       4: the key is on the car but disabled
            ├── InsufficientPrivileges  7: the key's role (or the car's state) forbids the command
            └── RemoteAccessDisabled    21: the owner turned mobile access off in the car

`retry` is the class's advice: "resync", "busy" or None (do not retry). Retrying is the caller's job,
with a bounded budget; a command whose reply was lost may have run and must not be resent blindly.
"""

from __future__ import annotations

from typing import ClassVar

from teslalink.cloud.fleet.pairing import pairing_link
from teslalink.errors import ApiError, TeslalinkError

__all__ = [
    "CarBusy",
    "CarFault",
    "InsufficientPrivileges",
    "KeyInactive",
    "KeyNotPaired",
    "MalformedReply",
    "RemoteAccessDisabled",
    "ResponseRejected",
    "SessionInfoRejected",
    "SessionOutOfSync",
    "VcpError",
    "fault_error",
]

# MessageFault_E names and Tesla's one-line remedies (universal_message.proto comments, fleet.md 2.8).
FAULT_NAMES: dict[int, str] = {
    0: "NONE",
    1: "BUSY",
    2: "TIMEOUT",
    3: "UNKNOWN_KEY_ID",
    4: "INACTIVE_KEY",
    5: "INVALID_SIGNATURE",
    6: "INVALID_TOKEN_OR_COUNTER",
    7: "INSUFFICIENT_PRIVILEGES",
    8: "INVALID_DOMAINS",
    9: "INVALID_COMMAND",
    10: "DECODING",
    11: "INTERNAL",
    12: "WRONG_PERSONALIZATION",
    13: "BAD_PARAMETER",
    14: "KEYCHAIN_IS_FULL",
    15: "INCORRECT_EPOCH",
    16: "IV_INCORRECT_LENGTH",
    17: "TIME_EXPIRED",
    18: "NOT_PROVISIONED_WITH_IDENTITY",
    19: "COULD_NOT_HASH_METADATA",
    20: "TIME_TO_LIVE_TOO_LONG",
    21: "REMOTE_ACCESS_DISABLED",
    22: "REMOTE_SERVICE_ACCESS_DISABLED",
    23: "COMMAND_REQUIRES_ACCOUNT_CREDENTIALS",
    24: "REQUEST_MTU_EXCEEDED",
    25: "RESPONSE_MTU_EXCEEDED",
    26: "REPEATED_COUNTER",
    27: "INVALID_KEY_HANDLE",
    28: "REQUIRES_RESPONSE_ENCRYPTION",
    29: "COMMAND_REQUIRES_PHYSICAL_PROXIMITY",
}


class VcpError(TeslalinkError):
    """A message from the car that our side refuses to trust or cannot read."""


class MalformedReply(VcpError):
    """The reply is not a RoutableMessage (or its payload is not the message its domain sends)."""


class SessionInfoRejected(VcpError):
    """Session info that must be discarded: a bad tag, an unknown or old request uuid, a stale clock."""


class ResponseRejected(VcpError):
    """An encrypted response that does not authenticate, or that repeats a counter already seen."""


class CarFault(ApiError):
    """The car received the signed message and refused it with a MessageFault_E code."""

    retry: ClassVar[str | None] = None
    hint: ClassVar[str] = ""

    def __init__(self, fault: int, vin: str = "", domain: str = "", detail: str = "") -> None:
        name = FAULT_NAMES.get(fault, f"UNKNOWN_FAULT_{fault}")
        where = " ".join(part for part in (vin, domain) if part)
        text = f"the car refused the signed message{f' ({where})' if where else ''}: {name} (fault {fault})"
        for extra in (detail, self.advice()):
            if extra:
                text = f"{text}; {extra}"
        super().__init__(200, "vehicle rejected request", text)
        self.fault = fault
        self.fault_name = name
        self.vin = vin
        self.domain = domain
        self.args = (text,)  # not "HTTP 200: ...": the HTTP layer succeeded

    def advice(self) -> str:
        """What the user or caller can do about it (the class's `hint`)."""
        return self.hint


class SessionOutOfSync(CarFault):
    """5, 6, 15, 17, 20: our session (signature, counter, epoch, clock) disagrees with the car's."""

    retry = "resync"
    hint = "the session is resynchronised from the car's answer; the command may be retried"


class CarBusy(CarFault):
    """1, 2, 11: the car (or one of its domains, still booting) cannot take the command now."""

    retry = "busy"
    hint = "try again in a few seconds"


class KeyNotPaired(CarFault):
    """3: the car does not know our public key. `link` is the pairing link when the domain is known."""

    def __init__(
        self, fault: int = 3, vin: str = "", domain: str = "", detail: str = "", app_domain: str = ""
    ) -> None:
        self.link = pairing_link(app_domain, vin) if app_domain else ""
        super().__init__(fault, vin, domain, detail)

    def advice(self) -> str:
        link = self.link or "https://tesla.com/_ak/<your domain>?vin=<VIN>"
        return f"the key is not paired: open {link} on the owner's phone (Tesla app), near the car"


class KeyInactive(CarFault):
    """4: the key is on the car's list but inactive."""

    hint = "the key is disabled on the car; remove it in the car's Locks screen and pair it again"


class InsufficientPrivileges(CarFault):
    """7: the key's role (a Fleet-API key is a fleet-manager key) or the car's state forbids the command."""

    hint = "the key's role does not allow this command, or the car's state forbids it now"


class RemoteAccessDisabled(CarFault):
    """21: 'Allow Mobile Access' is off in the car."""

    hint = "turn on Controls > Locks > Allow Mobile Access in the car"


_CLASS_BY_FAULT: dict[int, type[CarFault]] = {
    **dict.fromkeys((5, 6, 15, 17, 20), SessionOutOfSync),
    **dict.fromkeys((1, 2, 11), CarBusy),
    3: KeyNotPaired,
    4: KeyInactive,
    7: InsufficientPrivileges,
    21: RemoteAccessDisabled,
}


def fault_error(fault: int, vin: str = "", domain: str = "", app_domain: str = "") -> CarFault:
    """The typed error for a MessageFault_E code; codes without advice are a plain CarFault."""
    cls = _CLASS_BY_FAULT.get(fault, CarFault)
    if cls is KeyNotPaired:
        return KeyNotPaired(fault, vin, domain, app_domain=app_domain)
    return cls(fault, vin, domain)
