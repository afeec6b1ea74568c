"""What one streaming connection knows and decides: its subscriptions, when to push, when to stop.

The rules live here, in world time, with no sockets: `app` feeds client messages in and sends
what comes out, and calls `poll()` whenever its pacing loop wakes. A `Session` never sleeps and
never reads the wall clock, so with a frozen world (speed 0) a test steps it with
`world.advance()`, and an accelerated world streams exactly what the same drive would at speed 1,
only sooner.

The rules (docs/reference.md §2.5; where it is silent, our choice, marked so):

* `data:subscribe_oauth` checks the access token with the world's token authority; the tag must
  be the `vehicle_id` of a car of that account. Either failing is a `client_error` "Can't
  validate token. " (our choice for a foreign tag: the real server authorised token and vehicle
  together, and its clients only know this one message). The older `data:subscribe` checks
  base64(email:vehicle_token) against the car's `tokens` instead.
* A car that is asleep (or still waking) gets `vehicle_disconnected` "disconnected" (the
  fixture's message); a car without connectivity `vehicle_error` "Vehicle is offline". Neither
  wakes the car: a subscription is not a wake_up.
* Subscribing answers at once with the current values (a snapshot); after that the server looks
  at the car once every `interval_s` of world time and sends an update when the requested values
  changed since the last one ("about once a second while values change"). A clock that jumps
  ten seconds gives one update, not ten: the stream samples the present, it does not replay.
* Each update after the snapshot restarts the car's idle timer (streaming keeps a car awake while
  data flows). The snapshot alone does not (our choice): a logger that resubscribes every few
  seconds to a parked car, as TeslaMate does, must not keep it awake for ever.
* When the car has not changed for `idle_timeout_s` (10 s) of world time the subscription ends
  with `vehicle_disconnected`, which is what loggers see when a car parks, then (our choice,
  docs/reference.md §2.5: the server "stops and closes") the connection closes if that was its last
  subscription. The same holds for every error: `close_after_error` closes a connection left
  without subscriptions.
* A connection may hold several subscriptions, one per tag (the tag exists to tell them apart);
  subscribing again to a tag replaces that subscription (teslajsonpy resubscribes every few
  seconds on the same socket). `data:unsubscribe` ends one silently and keeps the connection.
* Each pushed field value with a value (not the timestamp, not an empty field) is one streaming
  signal in `world.accounting`, the unit the Fleet API bills.
* The token is checked when subscribing only (our choice): a stream outlives its token's expiry,
  as a subscription already authorised would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..accounting import BillingCategory
from ..sso.tokens import InvalidToken
from . import protocol
from .protocol import DISCONNECTED, TOKEN_ERROR, VEHICLE_OFFLINE, ErrorType, MsgType

if TYPE_CHECKING:
    from ..accounts import Account
    from ..vehicle.car import Car
    from ..world import World

__all__ = ["LocationFeed", "Session", "StreamingPolicy", "Subscription", "find_car"]

_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class StreamingPolicy:
    """How the twin paces and ends streams. World seconds unless the name says real.

    The default pushes at most one update per world second per subscription, like the real
    server. An accelerated world would ask for many more per real second (speed 60: sixty), so
    `max_updates_per_real_s` caps each connection's loop: at speed 60 with the cap of 20 a
    client gets 20 updates per real second, 3 world seconds apart. `poll_real_s` is how often the
    loop looks at a frozen clock (speed 0, tests) for `advance()` calls.
    """

    interval_s: float = 1.0
    idle_timeout_s: float = 10.0
    location_interval_s: float = 30.0
    max_updates_per_real_s: float = 20.0
    poll_real_s: float = 0.05
    close_after_error: bool = True
    binary_frames: bool = True  # the real server sent JSON in binary frames (teslajsonpy reads only those)

    def __post_init__(self) -> None:
        for name in ("interval_s", "idle_timeout_s", "location_interval_s", "max_updates_per_real_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not (self.poll_real_s > 0 and math.isfinite(self.poll_real_s)):
            raise ValueError(f"poll_real_s must be a positive number, got {self.poll_real_s!r}")

    def real_delay(self, speed: float, world_seconds: float | None) -> float:
        """Real seconds to sleep before the next look, `world_seconds` from now being due."""
        floor = 1.0 / self.max_updates_per_real_s
        if speed <= 0:
            return max(floor, self.poll_real_s)
        wait = 1.0 if world_seconds is None else world_seconds / speed
        return max(floor, min(wait, 1.0))


def find_car(world: World, vehicle_id: str) -> Car | None:
    """The car whose `vehicle_id` (the streaming tag) is this string."""
    for car in world.vehicles:
        if str(car.vehicle_id) == vehicle_id:
            return car
    return None


@dataclass(slots=True)
class Subscription:
    """One tag on one connection."""

    tag: str
    car: Car
    columns: tuple[str, ...]
    since: float  # world time of the subscription
    last_sent: float | None = None
    last_fields: list[str] | None = None
    last_change: float = 0.0  # world time the fields were last seen to change
    last_polled: float | None = None
    updates: int = 0

    def fields(self, sample: Mapping[str, Any]) -> list[str]:
        return [protocol.format_value(v) for v in protocol.column_values(sample, self.columns)]


class Session:
    """The subscriptions of one websocket connection; see the module docstring for the rules."""

    def __init__(self, world: World, policy: StreamingPolicy | None = None) -> None:
        self.world = world
        self.policy = policy if policy is not None else StreamingPolicy()
        self.subscriptions: dict[str, Subscription] = {}
        self.should_close = False
        self.updates_sent = 0

    def __repr__(self) -> str:
        return f"Session(tags={sorted(self.subscriptions)!r}, should_close={self.should_close!r})"

    # --- client messages -------------------------------------------------------------------------

    def handle(self, message: Mapping[str, Any]) -> list[dict[str, Any]]:
        """React to one client message; returns the messages to send (maybe none)."""
        kind = message.get("msg_type")
        tag = _tag(message.get("tag"))
        if kind == MsgType.SUBSCRIBE_OAUTH:
            return self._subscribe(tag, self._oauth_car(tag, message.get("token")), message.get("value"))
        if kind == MsgType.SUBSCRIBE:
            return self._subscribe(tag, self._legacy_car(tag, message.get("token")), message.get("value"))
        if kind == MsgType.UNSUBSCRIBE:
            self.subscriptions.pop(tag, None)
        # Anything else (the app's pings, unknown types) is ignored, as real servers ignore
        # what they do not understand; an error would make TeslaPy close the stream.
        return []

    def _oauth_car(self, tag: str, token: object) -> Car | None:
        if not isinstance(token, str):
            return None
        try:
            account = self.world.auth.verify_access_token(token)
        except InvalidToken:
            return None
        return _owned(self.world, tag, account)

    def _legacy_car(self, tag: str, token: object) -> Car | None:
        decoded = protocol.decode_legacy_token(token)
        if decoded is None:
            return None
        email, vehicle_token = decoded
        car = find_car(self.world, tag)
        if car is None or car.account.email.lower() != email.strip().lower():
            return None
        return car if vehicle_token in car.tokens else None

    def _subscribe(self, tag: str, car: Car | None, value: object) -> list[dict[str, Any]]:
        self.subscriptions.pop(tag, None)
        if car is None:
            return self._ended([protocol.error_message(tag, TOKEN_ERROR, ErrorType.CLIENT_ERROR)])
        t = self.world.now()
        sub = Subscription(tag, car, protocol.parse_columns(value), since=t, last_change=t)
        self.subscriptions[tag] = sub
        out: list[dict[str, Any]] = []
        self._poll_one(sub, t, out)
        return self._ended(out) if tag not in self.subscriptions else out

    # --- the pacing loop's view ------------------------------------------------------------------

    def poll(self) -> list[dict[str, Any]]:
        """Everything due at the world's present: updates, and errors for streams that ended."""
        if not self.subscriptions:
            return []
        t = self.world.now()
        out: list[dict[str, Any]] = []
        ended = False
        for sub in list(self.subscriptions.values()):
            if not self._poll_one(sub, t, out):
                ended = True
        return self._ended(out) if ended else out

    def done(self) -> bool:
        """The connection should close (an error left it without subscriptions)."""
        return self.should_close

    def due_in(self) -> float | None:
        """World seconds until the earliest subscription may have something (None: nothing open)."""
        if not self.subscriptions:
            return None
        t = self.world.now()
        soonest = math.inf
        for sub in self.subscriptions.values():
            # A look at a quiet car counts like an update: the next look is an interval later.
            looked = sub.last_polled if sub.last_polled is not None else t
            soonest = min(soonest, looked + self.policy.interval_s - t)
        return max(0.0, soonest)

    def _poll_one(self, sub: Subscription, t: float, out: list[dict[str, Any]]) -> bool:
        """Push what is due for `sub`; False when it ended (its error is in `out`)."""
        car = sub.car
        if sub.last_polled is not None and t - sub.last_polled < self.policy.interval_s - _EPS:
            return True  # looked less than an interval ago (another tag on this connection was due)
        sub.last_polled = t
        state = car.state
        if state != "online":
            del self.subscriptions[sub.tag]
            if state == "offline":
                out.append(protocol.error_message(sub.tag, VEHICLE_OFFLINE, ErrorType.VEHICLE_ERROR))
            else:
                out.append(protocol.error_message(sub.tag, DISCONNECTED, ErrorType.VEHICLE_DISCONNECTED))
            return False
        sample = car.telemetry()
        fields = sub.fields(sample)
        first = sub.last_sent is None
        if first or fields != sub.last_fields:  # at most one look, so one update, per interval
            if not first:
                sub.last_change = t
                car.touch()
            out.append(protocol.update_message(sub.tag, int(sample["timestamp"]), fields))
            sub.last_sent, sub.last_fields = t, fields
            sub.updates += 1
            self.updates_sent += 1
            signals = sum(1 for f in fields if f)
            if signals:
                self.world.accounting.record(
                    BillingCategory.STREAMING_SIGNAL, 200, vehicle=car.id, count=signals
                )
            return True
        quiet_since = max(car.telemetry_changed_at(), sub.since, sub.last_change)
        if t - quiet_since >= self.policy.idle_timeout_s - _EPS:
            del self.subscriptions[sub.tag]
            out.append(protocol.error_message(sub.tag, DISCONNECTED, ErrorType.VEHICLE_DISCONNECTED))
            return False
        return True

    def _ended(self, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """After an error: close the connection if nothing is left on it (policy permitting)."""
        if self.policy.close_after_error and not self.subscriptions:
            self.should_close = True
        return out


class LocationFeed:
    """The low-rate location stream (`vehicle_data:location`) of one car for one connection.

    docs/reference.md §2.5 calls it a newer location-only stream; the seed thread got it from the app's other
    websocket endpoint, `connect/<vehicle_id>`, with HTTP Basic `email:token`, "at very low
    frequency". Our choices: one message at once and then every `location_interval_s` (30 s) of
    world time while the car is online, whether it moved or not; it never keeps the car awake
    (it was Tesla's way to save data); when the car sleeps or loses connectivity the feed sends
    the streaming errors above and ends. Each message is two streaming signals.
    """

    def __init__(self, world: World, car: Car, policy: StreamingPolicy | None = None) -> None:
        self.world = world
        self.car = car
        self.policy = policy if policy is not None else StreamingPolicy()
        self.last_sent: float | None = None
        self.ended = False

    def handle(self, message: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Clients have nothing to say on this socket: whatever they send is ignored."""
        return []

    def done(self) -> bool:
        return self.ended and self.policy.close_after_error

    def poll(self) -> list[dict[str, Any]]:
        """The location if it is due, or the error that ends the feed."""
        if self.ended:
            return []
        tag = str(self.car.vehicle_id)
        state = self.car.state
        if state != "online":
            self.ended = True
            if state == "offline":
                return [protocol.error_message(tag, VEHICLE_OFFLINE, ErrorType.VEHICLE_ERROR)]
            return [protocol.error_message(tag, DISCONNECTED, ErrorType.VEHICLE_DISCONNECTED)]
        t = self.world.now()
        if self.last_sent is not None and t - self.last_sent < self.policy.location_interval_s - _EPS:
            return []
        self.last_sent = t
        sample = self.car.telemetry()
        self.world.accounting.record(BillingCategory.STREAMING_SIGNAL, 200, vehicle=self.car.id, count=2)
        return [protocol.location_message(sample["est_lat"], sample["est_lng"])]

    def due_in(self) -> float | None:
        if self.ended:
            return None
        if self.last_sent is None:
            return 0.0
        return max(0.0, self.last_sent + self.policy.location_interval_s - self.world.now())


def _tag(value: object) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, (str, int)):
        return str(value)
    return ""


def _owned(world: World, tag: str, account: Account) -> Car | None:
    car = find_car(world, tag)
    return car if car is not None and car.account is account else None
