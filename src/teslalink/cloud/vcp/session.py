"""Sessions with one car domain: the state a signed command needs, checked, kept and cached.

A session is what the handshake (or a fault reply) teaches us about one domain of one car: its
epoch (16 random bytes, new at each boot), its anti-replay counter, its clock, and its public key
(which gives the shared key K). VCSEC and infotainment have separate keys, clocks and counters, so
the unit is (VIN, domain).

Rules from protocol.md ("Recovering from synchronization errors") that `verify_session_info`
enforces: accept session info only with a valid tag computed over OUR recent request uuid; refuse a
clock older than one already accepted in the same epoch; never lower the counter within an epoch.

Handshakes are billed Fleet API requests, so sessions are cached on disk (one JSON file per
account, 0600, written atomically) and a new process signs at once. protocol.md: an optimistic
cache costs nothing when stale, because the car's fault reply carries fresh session info.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tesla_protocol.command import signatures_pb2

from teslalink._files import atomic_write_bytes
from teslalink.cloud.tokens import default_token_path
from teslalink.cloud.vcp import crypto
from teslalink.cloud.vcp.crypto import Domain
from teslalink.cloud.vcp.faults import KeyNotPaired, MalformedReply, SessionInfoRejected, VcpError
from teslalink.cloud.vcp.keys import PartnerKey
from teslalink.errors import ConfigError

__all__ = [
    "DomainSession",
    "SessionCache",
    "SessionState",
    "Sessions",
    "default_session_cache_path",
]

_LOG = logging.getLogger(__name__)

# our choice: session info answering a request uuid older than this is discarded. protocol.md says
# "the last several seconds" and Go uses 10 s, but a Fleet API round trip to a car on a weak cellular
# link can take longer than that; a stale uuid only means one more handshake.
REQUEST_UUID_WINDOW = 30.0
# our choice: how many outstanding request uuids one session remembers (bounds memory under a storm).
_MAX_PENDING_UUIDS = 64
_COUNTER_MAX = 0xFFFFFFFF
# our choice: counters are reserved on disk in blocks of this many, so a command costs a cache write
# only once per block (a rewrite with two fsyncs costs 0.3-0.9 ms of CPU, several commands' worth:
# bench/fleet.py). A new process starts above the reservation: it skips up to this many counters,
# which the car allows (they must only increase; 2^32 of them last any car's life), and never
# reuses one.
COUNTER_RESERVATION = 128
_CACHE_FORMAT = 1
_MAX_CACHE_FILE = 4 * 1024 * 1024


@dataclass(frozen=True)
class SessionState:
    """What one car domain told us in its last authenticated session info."""

    epoch: bytes
    counter: int  # the last counter used (by the car's word or by us); the next command uses +1
    clock_time: int  # the domain's clock (seconds since the epoch started) at that session info
    clock_offset: float  # our clock minus the car's clock, in seconds
    vehicle_public_key: bytes  # the domain's 65-byte public point


class DomainSession:
    """The session with one domain of one car; create through `Sessions.session`.

    `lock` serialises commands to this domain: VCSEC wants counters in order, and a resync in the
    middle of another command would otherwise race it.
    """

    def __init__(
        self,
        vin: str,
        domain: Domain,
        key: PartnerKey,
        *,
        state: SessionState | None = None,
        on_change: Callable[[DomainSession], None] | None = None,
        clock: Callable[[], float] = time.time,
        app_domain: str = "",
    ) -> None:
        self.vin = vin
        self.domain = Domain(domain)
        self.key = key
        self.lock = asyncio.Lock()
        self._state = state
        self._on_change = on_change
        self._clock = clock
        self._app_domain = app_domain
        self._pending: dict[bytes, float] = {}  # request uuid -> when issued, oldest first
        self._derived: _Derived | None = None  # what K gives, for the current vehicle key
        self._reserved = state.counter if state else 0  # counters up to this are on disk already
        self._saving: asyncio.Future[None] | None = None  # the cache write holding our last change
        self._response_prefix: bytes | None = None

    def __repr__(self) -> str:
        have = "no session" if self._state is None else f"epoch {self._state.epoch.hex()[:8]}…"
        return f"DomainSession({self.vin}, {self.domain.name}, {have})"

    @property
    def app_domain(self) -> str:
        """The partner domain the key is registered for (for the pairing link), or ""."""
        return self._app_domain

    @property
    def state(self) -> SessionState | None:
        """The current session, or None before the first handshake."""
        return self._state

    def new_request_uuid(self) -> bytes:
        """16 unpredictable bytes for a request's `uuid`, remembered so its reply can be checked."""
        return self.remember_request_uuid(os.urandom(16))

    def remember_request_uuid(self, uuid: bytes) -> bytes:
        """Expect session info for `uuid` during the next REQUEST_UUID_WINDOW seconds.

        `new_request_uuid` is the way to get one; this is public to replay a known exchange
        (Tesla's test vectors).
        """
        now = self._clock()
        self._forget_old_uuids(now)
        self._pending[uuid] = now
        return uuid

    def shared_key(self) -> bytes:
        """K for the current session's vehicle key (computed once per key)."""
        return self._keys().k

    def command_subkey(self) -> bytes:
        """HMAC(K, "authenticated command"), derived once per vehicle key."""
        return self._keys().command_subkey

    def command_mac(self) -> hmac.HMAC:
        """HMAC-SHA256 keyed with `command_subkey()` (built once per vehicle key), for
        `crypto.hmac_tag` to copy: never update it."""
        return self._keys().command_mac

    def response_cipher(self) -> AESGCM:
        """AES-GCM keyed with K, for the car's encrypted responses (built once per vehicle key)."""
        return self._keys().cipher

    def metadata_prefix(self, signature_type: crypto.SignatureType) -> bytes:
        """The metadata items every command of this epoch shares (`crypto.command_metadata_prefix`)."""
        derived = self._keys()
        epoch = (self._state or self._require_state()).epoch
        found = derived.prefixes.get((signature_type, epoch))
        if found is None:
            found = crypto.command_metadata_prefix(signature_type, self.domain, self.vin, epoch)
            derived.prefixes[(signature_type, epoch)] = found
        return found

    def response_metadata_prefix(self) -> bytes:
        """The metadata items every encrypted response of this domain shares (built once)."""
        if self._response_prefix is None:
            self._response_prefix = crypto.response_metadata_prefix(self.domain, self.vin)
        return self._response_prefix

    def _keys(self) -> _Derived:
        derived, state = self._derived, self._state
        if derived is not None and state is not None and derived.vehicle_key is state.vehicle_public_key:
            return derived  # the common case, once per command: the same key object as last time
        state = self._require_state()
        if self._derived is None or self._derived.vehicle_key != state.vehicle_public_key:
            k = crypto.shared_key(self.key.private_key, state.vehicle_public_key)
            self._derived = _Derived(state.vehicle_public_key, k)
        return self._derived

    def verify_session_info(self, tag: bytes, request_uuid: bytes, session_info_bytes: bytes) -> SessionState:
        """Check the car's session info for our `request_uuid` and adopt it; return the new state.

        Raises SessionInfoRejected (bad tag, unknown or stale uuid, clock gone backwards),
        MalformedReply (not a SessionInfo) or KeyNotPaired (the car does not know our key).
        """
        info = _decode_session_info(session_info_bytes)
        if info.status == signatures_pb2.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST:
            # our choice: believed without a tag (a real car may send none, fleet.md 2.5): it changes
            # no state, and whoever could forge it could as well drop our messages.
            raise KeyNotPaired(
                3, self.vin, self.domain.name, "the car answered KEY_NOT_ON_WHITELIST", self._app_domain
            )
        issued = self._pending.get(request_uuid)
        now = self._clock()
        if issued is None or not 0 <= now - issued <= REQUEST_UUID_WINDOW:
            raise SessionInfoRejected(
                f"{self.vin} {self.domain.name}: session info for a request we did not send now"
            )
        vehicle_key = bytes(info.publicKey)
        k = crypto.shared_key(self.key.private_key, vehicle_key)
        expected = crypto.session_info_tag(k, self.vin, request_uuid, session_info_bytes)
        if not hmac.compare_digest(expected, tag):
            raise SessionInfoRejected(
                f"{self.vin} {self.domain.name}: the session info's tag is wrong; discarded"
            )
        del self._pending[request_uuid]  # one answer per request
        self._adopt(_state_from(info, now), k)
        return self._require_state()

    def next_counter(self) -> int:
        """Take the next anti-replay counter; reserved on disk first, so no process reuses it."""
        state = self._state or self._require_state()
        counter = state.counter + 1
        if counter > _COUNTER_MAX:
            raise VcpError(
                f"{self.vin} {self.domain.name}: the counter is exhausted; a new handshake is needed"
            )
        # built by hand, not dataclasses.replace: this runs once per command
        self._state = SessionState(
            state.epoch, counter, state.clock_time, state.clock_offset, state.vehicle_public_key
        )
        if counter > self._reserved:
            self._reserved = min(_COUNTER_MAX, counter + COUNTER_RESERVATION - 1)
            self._changed()
        return counter

    def reserve_next(self) -> bool:
        """Reserve (on disk, once `saved()`) the counter the next command takes, before it is signed
        (late, by the transport). True while that write is under way.

        A 401's resend signs once more; should that counter start a block, `next_counter` reserves
        it without waiting (our choice: a crash in that window costs a resync, never a replay).
        """
        state = self._require_state()
        if state.counter + 1 > self._reserved:
            self._reserved = min(_COUNTER_MAX, state.counter + COUNTER_RESERVATION)
            self._changed()
        return self.unsaved

    async def saved(self) -> None:
        """Return once this session's last change is in the cache file (at once when it is, or when
        there is no cache); a failed write was logged and is not raised (a resync costs less)."""
        saving = self._saving
        if saving is not None and not saving.done():
            await asyncio.shield(saving)

    @property
    def unsaved(self) -> bool:
        """A change of this session is still on its way to the cache file."""
        return self._saving is not None and not self._saving.done()

    def persisted_state(self) -> SessionState | None:
        """The state as the cache should keep it: the counter is the end of our reservation."""
        if self._state is None:
            return None
        return replace(self._state, counter=max(self._state.counter, self._reserved))

    def car_clock(self) -> float:
        """Now, in the domain's clock (seconds since its epoch began)."""
        return self._clock() - (self._state or self._require_state()).clock_offset

    def expires_at(self, lifetime: float) -> int:
        """The `expires_at` for a command sent now that must not run after `lifetime` seconds."""
        return max(0, math.floor(self.car_clock() + lifetime))

    def forget(self) -> None:
        """Drop the session (the next command handshakes again)."""
        self._state = None
        self._derived = None
        self._reserved = 0
        self._changed()

    def _adopt(self, new: SessionState, k: bytes) -> None:
        old = self._state
        if old is not None and old.epoch == new.epoch:
            if new.clock_time < old.clock_time:
                raise SessionInfoRejected(
                    f"{self.vin} {self.domain.name}: session info older than one already accepted; discarded"
                )
            new = replace(new, counter=max(new.counter, old.counter))
        else:
            self._reserved = 0  # a new epoch: the old reservation means nothing
        # The first block of counters is reserved in the same cache write as the session itself
        # (our choice: a handshake and its first command cost one write, not two).
        self._reserved = max(self._reserved, min(_COUNTER_MAX, new.counter + COUNTER_RESERVATION))
        self._state = new
        if self._derived is None or self._derived.vehicle_key != new.vehicle_public_key:
            self._derived = _Derived(new.vehicle_public_key, k)
        self._changed()

    def _require_state(self) -> SessionState:
        if self._state is None:
            raise VcpError(f"{self.vin} {self.domain.name}: no session yet; handshake first")
        return self._state

    def _forget_old_uuids(self, now: float) -> None:
        """Drop stale uuids from the front (oldest first: a dict keeps its insertion order).

        A clock stepped backwards leaves later entries older-looking than earlier ones; the walk
        stops at the first fresh one, and the count bound still holds whatever the clock did.
        """
        pending = self._pending
        while pending:
            oldest = next(iter(pending))
            if now - pending[oldest] <= REQUEST_UUID_WINDOW and len(pending) < _MAX_PENDING_UUIDS:
                break
            del pending[oldest]

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self)


class _Derived:
    """What K for one vehicle key gives: the command subkey, the response cipher, metadata prefixes."""

    __slots__ = ("cipher", "command_mac", "command_subkey", "k", "prefixes", "vehicle_key")

    def __init__(self, vehicle_key: bytes, k: bytes) -> None:
        self.vehicle_key = vehicle_key
        self.k = k
        self.command_subkey = crypto.command_key(k)
        self.command_mac = crypto.command_mac(k)
        self.cipher = AESGCM(k)
        self.prefixes: dict[tuple[int, bytes], bytes] = {}


def _decode_session_info(data: bytes) -> signatures_pb2.SessionInfo:
    info = signatures_pb2.SessionInfo()
    try:
        info.ParseFromString(data)
    except Exception:  # protobuf's DecodeError has no stable import path across runtimes
        raise MalformedReply("the car's session info is not a SessionInfo message") from None
    return info


def _state_from(info: signatures_pb2.SessionInfo, now: float) -> SessionState:
    epoch = bytes(info.epoch)
    vehicle_key = bytes(info.publicKey)
    clock_time = int(info.clock_time)
    if len(epoch) != 16:
        raise MalformedReply(f"the car's session info has a {len(epoch)}-byte epoch; expected 16")
    return SessionState(
        epoch=epoch,
        counter=int(info.counter),
        clock_time=clock_time,
        clock_offset=now - clock_time,
        vehicle_public_key=vehicle_key,
    )


def default_session_cache_path(account: str, environ: Mapping[str, str] | None = None) -> Path:
    """`vcp-sessions/<account>.json` beside the default token file (TESLALINK_TOKEN_FILE, else
    $XDG_CONFIG_HOME/teslalink/, else ~/.config/teslalink/), as `SessionCache.beside` puts it.

    our choice: one file per account, named after it (characters outside [A-Za-z0-9._@-] become _).
    """
    return default_token_path(environ).with_name(SESSION_DIR_NAME) / _file_name(account)


SESSION_DIR_NAME = "vcp-sessions"
"""The directory of the session caches, one file per account (beside the token file, or in the
default config directory)."""


def _file_name(account: str) -> str:
    """our choice: the account's name, characters outside [A-Za-z0-9._@-] made _ (never hidden)."""
    safe = re.sub(r"[^A-Za-z0-9._@-]", "_", account).lstrip(".") or "default"
    return f"{safe}.json"


class SessionCache:
    """The sessions of one account on disk: JSON, owner-only, replaced atomically on each handshake,
    resync and counter block (see COUNTER_RESERVATION).

    Entries are keyed by VIN and domain and bound to our public key (a session made with another
    key is useless). A corrupt or foreign file is a cache miss, logged, never an error: the recovery
    is a handshake, which the car's fault replies make as cheap as a cached session.
    our choice: no lock between processes; a write merges with the file on disk and keeps the higher
    counter of the same epoch; two processes at once may still collide on a counter, which costs one
    resync (the car refuses the replay and sends fresh session info), never a double execution.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # What this object last wrote, and its entries: a batch rewriting a file nobody else
        # changed skips parsing it (the bytes are compared, never a timestamp).
        self._written: tuple[bytes, dict[str, Any]] | None = None

    @classmethod
    def beside(cls, token_path: str | os.PathLike[str], account: str) -> SessionCache:
        """`account`'s cache in `vcp-sessions/` beside the token file (as the ledger and the
        cooldowns), so `--token-file` and TESLALINK_TOKEN_FILE keep a run's sessions apart."""
        return cls(Path(token_path).with_name(SESSION_DIR_NAME) / _file_name(account))

    def load(self, vin: str, domain: Domain, client_key: bytes) -> SessionState | None:
        entry = self._read().get(_entry_name(vin, domain))
        if not isinstance(entry, dict) or entry.get("client_key") != client_key.hex():
            return None
        try:
            return SessionState(
                epoch=bytes.fromhex(entry["epoch"]),
                counter=int(entry["counter"]),
                clock_time=int(entry["clock_time"]),
                clock_offset=float(entry["clock_offset"]),
                vehicle_public_key=bytes.fromhex(entry["vehicle_public_key"]),
            )
        except (KeyError, TypeError, ValueError):
            _LOG.warning("session cache %s: the entry for %s is damaged; ignoring it", self.path, vin)
            return None

    def store(self, vin: str, domain: Domain, client_key: bytes, state: SessionState | None) -> None:
        """Write one session (None: remove it), merged with what the file holds."""
        self.store_many(client_key, [(vin, domain, state)])

    def store_many(
        self, client_key: bytes, entries: Iterable[tuple[str, Domain, SessionState | None]]
    ) -> None:
        """Write several sessions in one rewrite of the file (`Sessions` batches its changes so).

        Blocking (a read, a rewrite and two fsyncs): `Sessions` runs it in a thread when a loop runs.
        """
        sessions = dict(self._read())  # a copy: `load` may be reading the one `_read` keeps
        for vin, domain, state in entries:
            _merge(sessions, _entry_name(vin, domain), client_key, state)
        # Compact, not indented: only then does json use its C encoder (the whole file is rewritten).
        data = json.dumps({"format": _CACHE_FORMAT, "sessions": sessions}, sort_keys=True).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write_bytes(self.path, data, mode=0o600)
        except OSError as exc:
            # our choice: a cache that cannot be written costs a resync later, not the command now.
            _LOG.warning("session cache %s not written: %s", self.path, exc.strerror or exc)
            return
        self._written = (data, sessions)

    def _read(self) -> dict[str, Any]:
        try:
            with self.path.open("rb") as handle:
                raw = handle.read(_MAX_CACHE_FILE + 1)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            _LOG.warning(
                "session cache %s unreadable (%s); handshaking afresh", self.path, exc.strerror or exc
            )
            return {}
        written = self._written
        if written is not None and raw == written[0]:
            return written[1]  # the file is as we wrote it: its entries are known, no parse needed
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            document = None
        sessions = document.get("sessions") if isinstance(document, dict) else None
        if (
            len(raw) > _MAX_CACHE_FILE
            or not isinstance(sessions, dict)
            or document.get("format") != _CACHE_FORMAT
        ):
            _LOG.warning("session cache %s is not a teslalink session cache; ignoring it", self.path)
            return {}
        return sessions


def _entry_name(vin: str, domain: Domain) -> str:
    return f"{vin}/{Domain(domain).name}"


def _merge(sessions: dict[str, Any], name: str, client_key: bytes, state: SessionState | None) -> None:
    """Put one session into the file's entries; the same epoch on disk keeps the higher counter."""
    if state is None:
        sessions.pop(name, None)
        return
    entry = {k: v.hex() if isinstance(v, bytes) else v for k, v in asdict(state).items()}
    entry["client_key"] = client_key.hex()
    on_disk = sessions.get(name)
    if isinstance(on_disk, dict) and on_disk.get("epoch") == entry["epoch"]:
        with contextlib.suppress(TypeError, ValueError):
            entry["counter"] = max(state.counter, int(on_disk.get("counter", 0)))
    sessions[name] = entry


class Sessions:
    """All sessions of one account (one partner key): one `DomainSession` per (VIN, domain)."""

    def __init__(
        self,
        key: PartnerKey,
        cache: SessionCache | None = None,
        *,
        clock: Callable[[], float] = time.time,
        app_domain: str = "",
    ) -> None:
        self.key = key
        self.cache = cache
        self._clock = clock
        self._app_domain = app_domain
        self._sessions: dict[tuple[str, Domain], DomainSession] = {}
        self._public_point = key.public_bytes()
        # The changes not yet handed to a write, and the future that write will resolve.
        self._unwritten: dict[tuple[str, Domain], DomainSession] = {}
        self._next_write: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    def session(self, vin: str, domain: Domain) -> DomainSession:
        """The session for this car's domain, loaded from the cache the first time it is asked for."""
        known = self._sessions.get((vin, domain))  # an int domain finds its Domain's slot: they hash alike
        if known is not None:
            return known
        if not (vin.isascii() and vin.isalnum() and 0 < len(vin) <= 32):
            raise ConfigError(f"{vin!r} is not a VIN")
        slot = (vin, Domain(domain))
        found = self._sessions.get(slot)
        if found is None:
            state = self.cache.load(vin, slot[1], self._public_point) if self.cache else None
            found = DomainSession(
                vin,
                slot[1],
                self.key,
                state=state,
                on_change=self._save,
                clock=self._clock,
                app_domain=self._app_domain,
            )
            self._sessions[slot] = found
        return found

    def _save(self, session: DomainSession) -> None:
        """A session changed: write it now without a running loop, else in the next batch.

        In a loop, changes are coalesced (our choice): every session that changed while a write
        was under way goes into the next one, a single rewrite of the file in a thread, so 100
        handshakes at once cost a few writes, not 200, and the loop never waits for an fsync.
        `DomainSession.saved()` waits for the write that holds its change.
        """
        if self.cache is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a blocking caller (a script, a test): write at once, as it asked
            self.cache.store(session.vin, session.domain, self._public_point, session.persisted_state())
            return
        self._unwritten[(session.vin, session.domain)] = session
        if self._next_write is None:
            self._next_write = loop.create_future()
        session._saving = self._next_write
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_batches(self.cache))

    async def _write_batches(self, cache: SessionCache) -> None:
        """Write what changed, batch after batch, until nothing is left; one write at a time."""
        while self._unwritten:
            batch, done = self._unwritten, self._next_write
            self._unwritten, self._next_write = {}, None
            # the states as they are now, taken in the loop: the thread never reads a live session
            entries = [(s.vin, s.domain, s.persisted_state()) for s in batch.values()]
            try:
                await asyncio.to_thread(cache.store_many, self._public_point, entries)
            except Exception as exc:  # store_many logs what it can expect; this is the rest
                _LOG.warning("session cache %s not written: %s", cache.path, exc)
            finally:
                if done is not None and not done.done():
                    done.set_result(None)
