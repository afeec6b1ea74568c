"""The partner app's configuration: who we are to Tesla's Fleet API, kept in ``fleet.json``.

A Fleet API app is made once at developer.tesla.com: a client id and secret, the redirect URI
its users come back to after signing in, the domain that hosts its public key, and the private
key that signs commands. `FleetApp` holds them (and the hosts, overridable for the twin), and
`save()` / `FleetApp.load()` keep them in ``$XDG_CONFIG_HOME/teslalink/fleet.json`` (else
``~/.config/teslalink/fleet.json``), beside the token file, owner-only (0600) and written
atomically, because the client secret is in it::

    {"client_id": "...", "client_secret": "...", "redirect_uri": "http://127.0.0.1:8765/callback",
     "domain": "app.example.com", "key_path": "/home/me/.config/teslalink/fleet-key.pem",
     "hosts": {"auth": "http://127.0.0.1:4004/", "api": {"na": "http://127.0.0.1:4005/"}}}

`hosts` is written only where it differs from Tesla's. When loading, the environment wins over the
file (our choice: it is how a test, a script or the twin's demo points one run elsewhere), the file
over the defaults: TESLALINK_FLEET_CLIENT_ID, _CLIENT_SECRET, _REDIRECT_URI, _DOMAIN, _KEY_FILE
(`ENV_FIELDS`: the names `teslalink fleet` reads too), TESLALINK_FLEET_AUTH_URL and
TESLALINK_FLEET_API_URL_NA / _EU / _CN; with the first three set no file is needed.
A file that is not JSON, or lacks a field, is a `ConfigError` naming the file and the field; the
secret is never in a message or a repr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from ..._files import atomic_write_bytes
from ..._json import dumps, loads
from ...errors import ConfigError, DecodeError
from ..tokens import read_regular_file, redact
from .hosts import FLEET_API_URLS, FLEET_AUTH_URL, FleetHosts

__all__ = ["APP_FILE", "ENV_FIELDS", "FleetApp", "default_app_path", "default_key_path"]

APP_FILE: Final = "fleet.json"
KEY_FILE: Final = "fleet-key.pem"
_ENV_AUTH: Final = "TESLALINK_FLEET_AUTH_URL"  # as teslalink.cloud.fleet.hosts reads them
_ENV_API: Final = "TESLALINK_FLEET_API_URL_"
_REQUIRED: Final = ("client_id", "client_secret", "redirect_uri")
ENV_FIELDS: Final = {
    "client_id": "TESLALINK_FLEET_CLIENT_ID",
    "client_secret": "TESLALINK_FLEET_CLIENT_SECRET",
    "redirect_uri": "TESLALINK_FLEET_REDIRECT_URI",
    "domain": "TESLALINK_FLEET_DOMAIN",
    "key_path": "TESLALINK_FLEET_KEY_FILE",
}
"""The environment's word for each field; it wins over the file's (as for the hosts)."""


def _config_dir(environ: Mapping[str, str] | None) -> Path:
    """$XDG_CONFIG_HOME/teslalink, else ~/.config/teslalink (as `cloud.tokens.default_token_path`)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME")
    root = Path(base).expanduser() if base else Path.home() / ".config"
    return root / "teslalink"


def default_app_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where `FleetApp.load()` and `save()` look by default."""
    return _config_dir(environ) / APP_FILE


def default_key_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the app's private key is kept unless the configuration says otherwise (our choice)."""
    return _config_dir(environ) / KEY_FILE


@dataclass(frozen=True, slots=True)
class FleetApp:
    """One partner app of developer.tesla.com: its credentials, domain, key file and hosts."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    domain: str | None = None
    key_path: Path = field(default_factory=default_key_path)
    hosts: FleetHosts = field(default_factory=FleetHosts.from_env)

    def __post_init__(self) -> None:
        for name in _REQUIRED:
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"the Fleet app's {name} must be a non-empty string")
        _check_redirect_uri(self.redirect_uri)
        object.__setattr__(self, "key_path", Path(self.key_path).expanduser())

    def __repr__(self) -> str:
        return (
            f"FleetApp(client_id={self.client_id!r}, client_secret={redact(self.client_secret)}, "
            f"redirect_uri={self.redirect_uri!r}, domain={self.domain!r}, key_path={str(self.key_path)!r})"
        )

    # --- the file ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The file's content (the secret included: the file is 0600)."""
        data: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uri": self.redirect_uri,
            "domain": self.domain,
            "key_path": str(self.key_path),
        }
        hosts = _hosts_beyond_teslas(self.hosts)
        if hosts:
            data["hosts"] = hosts
        return data

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the configuration (atomic, 0600, its folder 0700); returns the path written."""
        target = Path(path).expanduser() if path is not None else default_app_path()
        try:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write_bytes(target, dumps(self.to_dict(), indent=True), mode=0o600)
        except OSError as exc:
            raise ConfigError(
                f"{target}: cannot write the Fleet app configuration ({exc.strerror})"
            ) from None
        return target

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
    ) -> FleetApp:
        """Read the configuration; a missing, unreadable or malformed file is a `ConfigError` naming it."""
        source = Path(path).expanduser() if path is not None else default_app_path(environ)
        env = os.environ if environ is None else environ
        given = {name: env[variable] for name, variable in ENV_FIELDS.items() if env.get(variable)}
        data = _read(source)
        if data is None and not set(_REQUIRED) <= set(given):
            raise ConfigError(
                f"{source}: no Fleet app is configured; run `teslalink fleet setup`, or set "
                "TESLALINK_FLEET_CLIENT_ID, TESLALINK_FLEET_CLIENT_SECRET and TESLALINK_FLEET_REDIRECT_URI"
            )
        return cls.from_dict({**(data or {}), **given}, where=str(source), environ=environ)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, where: str = "the Fleet app configuration",
        environ: Mapping[str, str] | None = None,
    ) -> FleetApp:  # fmt: skip
        """Build from the file's content; every problem is a `ConfigError` starting with `where`."""
        for name in _REQUIRED:
            value = data.get(name)
            if value is None:
                raise ConfigError(f"{where}: the field {name!r} is missing")
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: the field {name!r} must be a non-empty string")
        domain, key_path = data.get("domain"), data.get("key_path")
        if domain is not None and not isinstance(domain, str):
            raise ConfigError(f"{where}: the field 'domain' must be a string")
        if key_path is not None and (not isinstance(key_path, str) or not key_path):
            raise ConfigError(f"{where}: the field 'key_path' must be a path")
        try:
            _check_redirect_uri(data["redirect_uri"])
            hosts = _hosts(data.get("hosts"), environ)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        return cls(
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            redirect_uri=data["redirect_uri"],
            domain=domain or None,
            key_path=Path(key_path) if key_path else default_key_path(environ),
            hosts=hosts,
        )


def _read(source: Path) -> dict[str, Any] | None:
    """The file's object, None if there is no file; a `ConfigError` naming it if it is not one."""
    try:
        raw = read_regular_file(source, "the Fleet app configuration")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the Fleet app configuration ({exc.strerror})") from None
    try:
        data = loads(raw)
    except DecodeError:
        raise ConfigError(f"{source}: the Fleet app configuration is not valid JSON") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the Fleet app configuration must be a JSON object")
    return data


def _check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    if not parts.scheme or not (parts.netloc or parts.path):
        raise ConfigError("the redirect URI is not a URL (http://127.0.0.1:PORT/path or the app's page)")


def _hosts_beyond_teslas(hosts: FleetHosts) -> dict[str, Any]:
    """The hosts that differ from Tesla's (what the file needs to say)."""
    saved: dict[str, Any] = {}
    if hosts.auth != FLEET_AUTH_URL:
        saved["auth"] = hosts.auth
    api = {region: url for region, url in hosts.api.items() if FLEET_API_URLS.get(region) != url}
    if api:
        saved["api"] = api
    return saved


def _hosts(saved: Any, environ: Mapping[str, str] | None) -> FleetHosts:
    """The file's hosts under the environment's (the environment wins; module docstring)."""
    if saved is None:
        saved = {}
    auth, api = (saved.get("auth"), saved.get("api", {})) if isinstance(saved, dict) else (None, None)
    if (
        not isinstance(saved, dict)
        or not isinstance(auth, str | None)
        or not isinstance(api, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in api.items())
    ):
        raise ConfigError('the field \'hosts\' must be {"auth": URL, "api": {region: URL}}')
    env = os.environ if environ is None else environ
    layered = {_ENV_API + region.upper(): url for region, url in api.items()}
    if auth:
        layered[_ENV_AUTH] = auth
    layered.update(env)
    extra = {region.lower(): url for region, url in api.items() if region.lower() not in FLEET_API_URLS}
    return FleetHosts.from_env(layered, api=extra or None)
