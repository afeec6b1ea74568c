"""Which way a vehicle command goes over the Fleet API: signed, or the REST call (research/fleet.md 8.13).

    answer = await route_command(vin=..., command_signing="required", name="CHARGING_AMPS",
                                 params={"charging_amps": 16}, signer=signer, rest=send_rest,
                                 follow_region=api.follow_region, fleet=api)

- `command_signing == "off"` (a pre-2021 Model S/X), no signer, or a command with no protocol
  message (`not signer.supports(name)`): the REST call, `rest()`.
- otherwise the signed command (our choice: "allowed", "required" and an unknown value alike; a
  car that takes REST only says so with a 422, which costs one billed request once per process).
- 422 `SignedCommandsNotSupported` (nothing ran): the REST call, and the VIN is remembered for the
  rest of the process, so its next command goes REST at once.
- 421 `OutOfRegion` on the signed path (nothing ran): `follow_region(base_url)` switches host,
  then the command is signed once more there; a second 421 is raised. (The REST call, `rest()`,
  is the caller's: FleetApi's request path follows a 421 itself.)
- `OutcomeUnknown` (a reply lost: the car may have run it) is raised as it is: never resent, and
  never sent again as REST either. Every other error too.

`fleet` is the Fleet API the signed command travels: its `http`, `base_url` and `tokens`, and
`count_billable(category, status)` (a `FleetApi` is one), re-read after a region switch.

Lean: this module imports no part of the `fleet` extra; the signer that is passed in does.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from teslalink.errors import ConfigError, OutOfRegion, SignedCommandsNotSupported

if TYPE_CHECKING:
    from yarl import URL

    from teslalink.cloud.fleet.signer import VcpSigner
    from teslalink.cloud.provider import TokenProvider
    from teslalink.cloud.vcp.fleet_transport import JsonHttp

__all__ = ["FleetLink", "forget_rest_only", "is_rest_only", "route_command"]

_REST_ONLY_VINS: set[str] = set()


class FleetLink(Protocol):
    """What a signed command needs of the Fleet API client (`FleetApi` has it all)."""

    @property
    def http(self) -> JsonHttp: ...

    @property
    def base_url(self) -> URL | str: ...

    @property
    def tokens(self) -> TokenProvider: ...

    def count_billable(self, category: str, status: int) -> None: ...


def is_rest_only(vin: str) -> bool:
    """Did this car answer a signed command with 422 in this process (so it gets REST calls)?"""
    return vin in _REST_ONLY_VINS


def forget_rest_only(vin: str | None = None) -> None:
    """Forget what the 422s taught (one car's, or all): its next command is tried signed again."""
    if vin is None:
        _REST_ONLY_VINS.clear()
    else:
        _REST_ONLY_VINS.discard(vin)


async def route_command(
    *,
    vin: str,
    command_signing: str,
    name: str,
    params: Mapping[str, Any],
    signer: VcpSigner | None,
    rest: Callable[[], Awaitable[Any]],
    follow_region: Callable[[str], object],
    fleet: FleetLink | None = None,
) -> Any:
    """Send command `name` the way the car takes it; the REST-shaped answer `{"result", "reason"}`."""
    if command_signing == "off" or signer is None or not signer.supports(name) or vin in _REST_ONLY_VINS:
        return await rest()
    if fleet is None:
        raise ConfigError(f"{name}: a signed command needs the Fleet API client (route_command's fleet=)")
    link = fleet

    def on_status(status: int) -> None:
        link.count_billable("commands", status)

    def signed() -> Awaitable[Any]:
        # a plain function, not a coroutine of its own: one frame fewer on every command's resume
        return signer.send(link.http, link.base_url, vin, link.tokens, name, params, on_status=on_status)

    try:
        try:
            return await signed()
        except OutOfRegion as exc:
            # a 421: the account's region refused it before any car saw it, so sending it again
            # elsewhere cannot run a command twice. A 421 that names no host is raised as it is.
            if not exc.base_url:
                raise
            base_url = exc.base_url
        switched = follow_region(base_url)
        if inspect.isawaitable(switched):
            await switched
        return await signed()  # at the host the 421 named (`link` is re-read)
    except SignedCommandsNotSupported:
        pass
    _REST_ONLY_VINS.add(vin)
    return await rest()
