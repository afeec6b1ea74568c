"""Tokens and where they are kept: one JSON file in TeslaPy's cache layout, locked across processes.

The file layout is the one TeslaPy users already have on disk (its ``cache.json``), so pointing
teslalink at that file works as is, and TeslaPy can read ours::

    {"<email>": {"url": "<SSO base URL>",
                 "sso": {"access_token": ..., "refresh_token": ..., "id_token": ...,
                         "expires_in": ..., "expires_at": ..., "token_type": "Bearer"},
                 "fleet": {...}}}

``"fleet"`` is the account's Fleet API login (`teslalink.cloud.fleet.tokens`), kept beside the
Owner API token through `load_section` / `save_section`; TeslaPy ignores it.

Why the lock: refresh tokens rotate (each refresh retires the one used), so two processes that
refresh the same identity at once would fork the chain and one of them would log the user out.
`TokenStore.locked()` holds an exclusive `flock` on a sibling ``.lock`` file across the whole
read-refresh-write; the second process then re-reads the file and finds the new token instead of
refreshing with a retired one (see `cloud.auth`).

Why a symlinked file is written through its link: users point several tools (or several
accounts' configs) at one TeslaPy cache with a link. Replacing the link with a regular file at the
first refresh would fork the cache, and the next refresh through the other path would replay a
retired refresh token. So reads, writes and the lock all go to the link's target (`target`).

Why anything but a regular file is refused: reading a FIFO blocks until a writer comes, so a
token path that is a FIFO (or a device) would hang every command; it is refused at once.

Why the file is never overwritten when it cannot be read: it may hold other identities, or be a
TeslaPy cache the user cares about; a clear `ConfigError` naming the path is better than silently
replacing it with ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import math
import os
import stat
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .._files import atomic_write_bytes
from .._json import dumps, loads
from ..errors import AuthError, ConfigError, DecodeError

try:  # POSIX; elsewhere the in-process lock is all there is
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_TOKEN_FILE_ENV",
    "Loader",
    "MemoryTokenStore",
    "Token",
    "TokenStore",
    "default_token_path",
    "read_regular_file",
    "redact",
]

DEFAULT_TOKEN_FILE_ENV: Final = "TESLALINK_TOKEN_FILE"
KEPT_ON_DELETE: Final = ("fleet",)
"""Parts of an entry that are logins of their own (`delete` keeps them)."""
_LOCK_POLL_S: Final = 0.02

Loader = Callable[[], Mapping[str, Any]]
"""Returns the whole cache (TeslaPy's `cache_loader`)."""
Dumper = Callable[[dict[str, Any]], None]
"""Stores the whole cache (TeslaPy's `cache_dumper`)."""


def redact(secret: str | None) -> str:
    """How a secret is shown anywhere (reprs, logs): never its value, only whether there is one."""
    return "<none>" if not secret else "<redacted>"


@dataclass(frozen=True, slots=True)
class Token:
    """One login's tokens; `expires_at` is epoch seconds, `sso_url` the region's SSO base URL."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    expires_at: float = 0.0
    token_type: str = "Bearer"
    sso_url: str = "https://auth.tesla.com/"

    def __repr__(self) -> str:
        return (
            f"Token(access_token={redact(self.access_token)}, refresh_token={redact(self.refresh_token)}, "
            f"expires_at={self.expires_at!r}, sso_url={self.sso_url!r})"
        )

    def expires_in(self, now: float | None = None) -> float:
        """Seconds until the access token expires (negative once it has)."""
        return self.expires_at - (time.time() if now is None else now)

    @classmethod
    def from_response(
        cls, body: Mapping[str, Any], *, now: float, sso_url: str, previous: Token | None = None
    ) -> Token:
        """The token endpoint's answer; without a new refresh token the previous one is kept."""
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthError(f"{sso_url}: the token answer carries no access token")
        refresh = body.get("refresh_token")
        if not isinstance(refresh, str) or not refresh:
            refresh = previous.refresh_token if previous is not None else None
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            id_token = previous.id_token if previous is not None else None
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 28800.0
        token_type = body.get("token_type")
        return cls(
            access_token=access,
            refresh_token=refresh,
            id_token=id_token,
            expires_at=now + lifetime,
            token_type=token_type if isinstance(token_type, str) and token_type else "Bearer",
            sso_url=sso_url,
        )

    def to_cache_entry(self, now: float | None = None) -> dict[str, Any]:
        """The `{"url", "sso"}` entry of TeslaPy's cache layout."""
        current = time.time() if now is None else now
        sso: dict[str, Any] = {"access_token": self.access_token}
        if self.refresh_token is not None:
            sso["refresh_token"] = self.refresh_token
        if self.id_token is not None:
            sso["id_token"] = self.id_token
        sso["expires_in"] = max(0, int(self.expires_at - current))
        sso["expires_at"] = self.expires_at
        sso["token_type"] = self.token_type
        return {"url": self.sso_url, "sso": sso}

    @classmethod
    def from_cache_entry(cls, entry: Any, *, where: str, identity: str) -> Token | None:
        """Read one cache entry; None if it holds no token (TeslaPy writes `{}` after logout)."""
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: the entry for {identity!r} is not an object")
        sso = entry.get("sso")
        if sso is None or sso == {}:
            return None
        url = entry.get("url", "https://auth.tesla.com/")
        if not isinstance(sso, dict) or not isinstance(url, str):
            raise ConfigError(f"{where}: the entry for {identity!r} does not have TeslaPy's cache layout")
        access = sso.get("access_token")
        if not access:
            return None
        refresh, id_token = sso.get("refresh_token"), sso.get("id_token")
        expires_at, token_type = sso.get("expires_at", 0), sso.get("token_type", "Bearer")
        if (
            not isinstance(access, str)
            or not isinstance(refresh, str | None)
            or not isinstance(id_token, str | None)
            or not isinstance(expires_at, int | float)
            or isinstance(expires_at, bool)
            or not math.isfinite(expires_at)
            or not isinstance(token_type, str)
        ):
            raise ConfigError(f"{where}: the token of {identity!r} has a field of the wrong type")
        return cls(
            access_token=access,
            refresh_token=refresh or None,
            id_token=id_token or None,
            expires_at=float(expires_at),
            token_type=token_type,
            sso_url=url if url.endswith("/") else url + "/",
        )


def read_regular_file(path: Path, what: str = "the token file") -> bytes:
    """The bytes of `path`, which must be a regular file (or a link to one).

    Opened without blocking and checked before the read: a FIFO would block it until a writer
    comes (for ever, usually). `FileNotFoundError` and other `OSError`s pass through; anything
    that is not a regular file is a one-line `ConfigError`.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError(f"{path}: {what} is {_kind(mode)}, not a regular file; give the path of a file")
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read()
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a directory"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "a device")


def default_token_path(environ: Mapping[str, str] | None = None) -> Path:
    """$TESLALINK_TOKEN_FILE, else $XDG_CONFIG_HOME/teslalink/tokens.json, else ~/.config/..."""
    env = os.environ if environ is None else environ
    explicit = env.get(DEFAULT_TOKEN_FILE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = env.get("XDG_CONFIG_HOME")
    root = Path(base).expanduser() if base else Path.home() / ".config"
    return root / "teslalink" / "tokens.json"


class TokenStore:
    """Tokens of several identities in one cache (a file by default; `loader`/`dumper` to plug in).

    `load`, `save`, `delete` and `identities` are short synchronous file operations. `save` and
    `delete` rewrite the whole cache atomically (mode 0600), keeping every other identity and
    every key they do not know. `locked()` is the exclusive section `cloud.auth` refreshes in.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        loader: Loader | None = None,
        dumper: Dumper | None = None,
        lock_timeout_s: float = 60.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if (loader is None) != (dumper is None):
            raise ConfigError("give both a loader and a dumper, or neither")
        self._loader = loader
        self._dumper = dumper
        self.path: Path | None = None
        if loader is None or path is not None:
            self.path = Path(path).expanduser() if path is not None else default_token_path(environ)
        self.lock_timeout_s = lock_timeout_s
        self._async_lock: asyncio.Lock | None = None
        self._held = 0

    def __repr__(self) -> str:
        where = str(self.path) if self._loader is None else "custom loader"
        return f"{type(self).__name__}({where!r})"

    @property
    def target(self) -> Path | None:
        """The file the tokens are in: `path`, or where its symlink (chain) points (see the module doc).

        Resolved at each use, so a link changed while we run is followed.
        """
        return None if self.path is None else Path(os.path.realpath(self.path))

    @property
    def _where(self) -> str:
        return str(self.path) if self._loader is None or self.path is None else "the token cache"

    # --- the public operations -----------------------------------------------------------------

    def load(self, identity: str) -> Token | None:
        """The stored token of `identity` (None if none); `ConfigError` if the cache is unreadable."""
        cache = self._read()
        if identity not in cache:
            return None
        return Token.from_cache_entry(cache[identity], where=self._where, identity=identity)

    def save(self, identity: str, token: Token) -> None:
        """Store `token` for `identity`, keeping everything else in the cache."""
        with self._exclusive():
            cache = self._read()
            entry = cache.get(identity)
            new = token.to_cache_entry()
            if isinstance(entry, dict):
                merged = dict(entry)
                merged.update(new)
                new = merged
            cache[identity] = new
            self._write(cache)

    def delete(self, identity: str) -> bool:
        """Forget `identity`'s Owner API token; True if there was something to forget.

        The entry goes, but for its Fleet API login ("fleet"), which is another login of the
        account: logging out of the Owner API must not log it out of the Fleet API.
        """
        with self._exclusive():
            cache = self._read()
            if identity not in cache:
                return False
            entry = cache.pop(identity)
            kept = {name: entry[name] for name in KEPT_ON_DELETE if isinstance(entry, dict) and name in entry}
            if isinstance(entry, dict) and set(entry) == set(kept):
                return False  # nothing but the kept logins: nothing to forget
            if kept:
                cache[identity] = kept
            self._write(cache)
            return True

    def identities(self) -> list[str]:
        """Every identity with a stored token."""
        cache = self._read()
        return [
            name
            for name, entry in cache.items()
            if Token.from_cache_entry(entry, where=self._where, identity=name) is not None
        ]

    # --- other clients' parts of an entry (the Fleet API's "fleet", beside TeslaPy's "sso") ----

    def load_section(self, identity: str, name: str) -> dict[str, Any] | None:
        """The `name` part of `identity`'s entry as stored (None if there is none).

        Why parts: one account's Owner API token ("sso", which TeslaPy reads) and its Fleet API
        login ("fleet", `teslalink.cloud.fleet.tokens`) live side by side in one entry, so both
        keep working and TeslaPy still reads the file (it ignores keys it does not know).
        """
        _own_keys_refused(name)
        entry = self._read().get(identity)
        section = entry.get(name) if isinstance(entry, dict) else None
        if section is None:
            return None
        if not isinstance(section, dict):
            raise ConfigError(f"{self._where}: the {name!r} part of {identity!r} is not an object")
        return section

    def save_section(self, identity: str, name: str, section: Mapping[str, Any] | None) -> None:
        """Replace (None: remove) the `name` part of `identity`'s entry, keeping everything else."""
        _own_keys_refused(name)
        with self._exclusive():
            cache = self._read()
            entry = dict(cache.get(identity) or {})
            if section is None:
                entry.pop(name, None)
            else:
                entry[name] = dict(section)
            if entry:
                cache[identity] = entry
            else:
                cache.pop(identity, None)
            self._write(cache)

    def section_identities(self, name: str) -> list[str]:
        """Every identity whose entry has a `name` part."""
        _own_keys_refused(name)
        return [who for who, entry in self._read().items() if isinstance(entry, dict) and entry.get(name)]

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """Exclusive against other tasks using this store and other processes using the file."""
        if self._async_lock is None:
            self._async_lock = asyncio.Lock()
        async with self._async_lock:
            fd = await self._acquire_file_lock_async()
            self._held += 1
            try:
                yield
            finally:
                self._held -= 1
                self._release_file_lock(fd)

    # --- internals -----------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        if self._loader is not None:
            loaded = self._loader()
            if not isinstance(loaded, Mapping):
                raise ConfigError(f"{self._where}: the loader must return a dict")
            return self._checked(copy.deepcopy(dict(loaded)))
        assert self.path is not None
        try:
            raw = read_regular_file(self.path)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot read the token file ({exc.strerror})") from None
        if not raw.strip():
            return {}
        try:
            cache = loads(raw)
        except DecodeError:
            raise ConfigError(
                f"{self.path}: the token file is not valid JSON; fix or remove it and log in again"
            ) from None
        if not isinstance(cache, dict):
            raise ConfigError(
                f"{self.path}: the token file must hold a JSON object keyed by email (TeslaPy's layout)"
            )
        return self._checked(cache)

    def _checked(self, cache: dict[str, Any]) -> dict[str, Any]:
        """Every entry must read, so that a save never replaces an entry it could not understand."""
        for name, entry in cache.items():
            Token.from_cache_entry(entry, where=self._where, identity=name)
        return cache

    def _write(self, cache: dict[str, Any]) -> None:
        if self._dumper is not None:
            self._dumper(cache)
            return
        target = self.target
        assert target is not None
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write_bytes(target, dumps(cache, indent=True), mode=0o600)

    @property
    def _lock_path(self) -> Path | None:
        """Beside the target, so that every path to one file (links included) shares one lock."""
        target = self.target
        if target is None or fcntl is None:
            return None
        return target.with_name(target.name + ".lock")

    def _open_lock(self) -> int | None:
        lock_path = self._lock_path
        if lock_path is None:
            return None
        lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            return os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"{lock_path}: cannot open the lock file ({exc.strerror})") from None

    def _try_lock(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _timeout(self) -> ConfigError:
        return ConfigError(
            f"{self._lock_path}: another process has held the token lock for over {self.lock_timeout_s:g} s"
        )

    async def _acquire_file_lock_async(self) -> int | None:
        fd = self._open_lock()
        if fd is None:
            return None
        deadline = time.monotonic() + self.lock_timeout_s
        try:
            while not self._try_lock(fd):
                if time.monotonic() > deadline:
                    raise self._timeout()
                await asyncio.sleep(_LOCK_POLL_S)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _acquire_file_lock_blocking(self) -> int | None:
        fd = self._open_lock()
        if fd is None:
            return None
        deadline = time.monotonic() + self.lock_timeout_s
        try:
            while not self._try_lock(fd):
                if time.monotonic() > deadline:
                    raise self._timeout()
                time.sleep(_LOCK_POLL_S)
        except BaseException:
            os.close(fd)
            raise
        return fd

    @staticmethod
    def _release_file_lock(fd: int | None) -> None:
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The file lock for one synchronous read-modify-write (already held inside `locked()`)."""
        if self._held:
            yield
            return
        fd = self._acquire_file_lock_blocking()
        try:
            yield
        finally:
            self._release_file_lock(fd)


def _own_keys_refused(name: str) -> None:
    if name in ("sso", "url"):
        raise ValueError(f"{name!r} is the Owner API token's own key: use load/save")


class MemoryTokenStore(TokenStore):
    """Tokens in a dict of this process (tests, scripts); the same layout as the file."""

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self.cache: dict[str, Any] = copy.deepcopy(dict(initial or {}))
        super().__init__(loader=lambda: self.cache, dumper=self._dump)

    def __repr__(self) -> str:
        return f"MemoryTokenStore(identities={sorted(self.cache)!r})"

    def _dump(self, cache: dict[str, Any]) -> None:
        self.cache = cache
