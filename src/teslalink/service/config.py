"""The service's configuration file: TOML in, `ServiceSettings` out, and every mistake with its line.

    settings = load_config(default_config_path())     # or parse_config(text, source="<test>")

Why all problems at once: the owner edits the file, runs `teslalink config check` and wants the
whole list, not one mistake per run. Each problem is one line "FILE:LINE: what is wrong", the
form editors and terminals turn into a link. A TOML syntax error stops `tomllib`, so it comes
alone (its line from tomllib's own message); everything after parsing (unknown keys with a
"did you mean", wrong types, values out of range, duplicates) is collected, each located by
`_config_lines.LineMap` (its limits are in its docstring).

Secrets: a dsn or a notification target's URL may hold a password or a token. No message ever
shows them: it names the key ("the url of notify.target #2") instead. Other values are shown,
quoted and cut short, so the owner sees what the file said.

What is allowed but worth a word (a listener open to the network, a dsn the sqlite backend
ignores, a file others can read that holds secrets) goes to `ServiceSettings.warnings`, in the
same "FILE:LINE: warning: ..." form.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import math
import os
import re
import stat
import tomllib
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar, cast
from urllib.parse import urlsplit

from ..errors import ConfigError
from ._config_lines import ConfigPath, LineMap
from ._config_starter import EVENT_HELP, starter_text
from .events import EVENT_KINDS
from .settings import (
    DEFAULT_EVENTS,
    DEFAULT_PORT,
    AccountSettings,
    ApiChoice,
    EngineSettings,
    ListenSettings,
    NotifySettings,
    ServiceSettings,
    SiteSettings,
    StorageSettings,
    TargetKind,
    TargetSettings,
    UnitSettings,
)

__all__ = [
    "CONFIG_ENV",
    "DSN_ENV",
    "EVENT_HELP",
    "KEYS",
    "STARTER_TEXT",
    "ConfigFileError",
    "default_config_path",
    "default_data_dir",
    "load_config",
    "parse_config",
    "render_config",
]

CONFIG_ENV: Final = "TESLALINK_CONFIG"
DSN_ENV: Final = "TESLALINK_DSN"

# Every key of the file, by table ("" is the top of the file). `[notify.events]` takes the
# EventKind values. The docs' test checks docs/service.md names each one.
KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "": ("service", "account", "wallconnector", "sites", "storage", "notify", "engine", "listen"),
    "service": ("data_dir",),
    "account": ("email", "api", "cars", "sites", "budget_usd"),
    "wallconnector": ("name", "host", "wiring", "car"),
    "sites": ("live_seconds",),
    "storage": ("backend", "path", "dsn", "batch_seconds", "downsample_after_days"),
    "notify": ("cooldown_seconds", "events", "target"),
    "notify.target": ("kind", "url", "events"),
    "engine": ("plugged_in_grace_seconds", "budget_warn_share"),
    "listen": ("enabled", "host", "port"),
}
_ARRAYS: Final = frozenset({"account", "wallconnector", "notify.target"})
_SECRET_KEYS: Final = frozenset({("storage", "dsn"), ("notify.target", "url")})

_YEAR_S: Final = 365 * 86400.0  # our choice: a longer wait in this file is a typo
_DSN: Final = re.compile(r"postgres(?:ql)?://", re.IGNORECASE)
_APPRISE_URL: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S")
_HOST_LABEL: Final = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_SHOWN_KEY: Final = re.compile(r"[A-Za-z0-9_.-]{1,40}")

STARTER_TEXT: Final = starter_text()
"""The commented starter file `teslalink config init` writes; it parses to the default settings."""

_T = TypeVar("_T")


class ConfigFileError(ConfigError):
    """The configuration file is wrong; `problems` holds every mistake found, one line each
    ("FILE:LINE: message"), `warnings` what was noticed besides. Its text is the first problem
    and how many more there are."""

    def __init__(self, problems: Sequence[str], warnings: Sequence[str] = ()) -> None:
        if not problems:
            raise ValueError("a ConfigFileError needs at least one problem")
        self.problems = list(problems)
        self.warnings = list(warnings)
        more = len(self.problems) - 1
        super().__init__(self.problems[0] + (f" (and {more} more)" if more else ""))


# --- where the file and the data are -------------------------------------------------------------


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """$TESLALINK_CONFIG, else $XDG_CONFIG_HOME/teslalink/service.toml, else ~/.config/teslalink/..."""
    env = os.environ if environ is None else environ
    explicit = env.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = env.get("XDG_CONFIG_HOME")
    root = Path(base).expanduser() if base else Path.home() / ".config"
    return root / "teslalink" / "service.toml"


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_DATA_HOME/teslalink, else ~/.local/share/teslalink (the XDG base directory rule)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME")
    root = Path(base).expanduser() if base else Path.home() / ".local" / "share"
    return root / "teslalink"


# --- reading ---------------------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> ServiceSettings:
    """The settings in the file at `path`; `ConfigFileError` with every problem found.

    Relative paths in the file (data_dir) are read from the file's folder, so the service does
    not depend on the folder it was started in (systemd starts it in /).
    """
    from ..cloud.tokens import read_regular_file  # noqa: PLC0415 - a FIFO must not block the read

    source = Path(path).expanduser()
    try:
        data = read_regular_file(source, "the config file")
    except FileNotFoundError:
        raise ConfigFileError([f"{source}: no such file; `teslalink config init` writes a starter"]) from None
    except ConfigError as exc:
        raise ConfigFileError([str(exc)]) from None
    except OSError as exc:
        raise ConfigFileError([f"{source}: cannot be read: {exc.strerror or exc}"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigFileError([f"{source}:{line}: not UTF-8 text (TOML files are UTF-8)"]) from None
    settings, secrets_at = _parse(text.removeprefix("\ufeff"), str(source), environ, source.parent)
    if secrets_at is not None and _readable_by_others(source):
        warning = (
            f"{source}:{secrets_at}: warning: this file holds a secret (a dsn or a target's url) and "
            f"others can read it: chmod 600 {source}"
        )
        settings = _with_warning(settings, warning)
    return settings


def parse_config(
    text: str,
    source: str = "<config>",
    environ: Mapping[str, str] | None = None,
    *,
    base_dir: Path | None = None,
) -> ServiceSettings:
    """The settings in `text` (TOML); problems name `source` as the file. `environ` (default
    os.environ) gives $TESLALINK_DSN and the default data dir; a relative data_dir is read from
    `base_dir` when given."""
    return _parse(text, source, environ, base_dir)[0]


def _readable_by_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    except OSError:
        return False


def _with_warning(settings: ServiceSettings, warning: str) -> ServiceSettings:
    return dataclasses.replace(settings, warnings=(*settings.warnings, warning))


def _parse(
    text: str, source: str, environ: Mapping[str, str] | None, base_dir: Path | None
) -> tuple[ServiceSettings, int | None]:
    """The settings, and the line of the first secret written in the file (None: it holds none)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError([_syntax_problem(source, text, exc)]) from None
    env = os.environ if environ is None else environ
    check = _Check(source, LineMap(text))
    settings = _Reader(check, document, env, base_dir).settings()
    if check.problems:
        raise ConfigFileError(check.problems, check.warnings)
    secrets = [line for line in check.secret_lines if line]
    settings = dataclasses.replace(settings, warnings=tuple(check.warnings))
    return settings, (min(secrets) if secrets else None)


_AT_LINE: Final = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_AT_END: Final = re.compile(r"\s*\(at end of document\)\s*$")


def _syntax_problem(source: str, text: str, exc: tomllib.TOMLDecodeError) -> str:
    """tomllib's "Invalid value (at line 3, column 7)" as "FILE:3: not valid TOML: invalid value
    (column 7)". Its messages name characters and keys, never a value."""
    message = str(exc)
    line, column = len(text.split("\n")), 0
    at = _AT_LINE.search(message)
    if at is not None:
        line, column = int(at.group(1)), int(at.group(2))
        message = message[: at.start()]
    else:
        message = _AT_END.sub("", message)
    if message == "Illegal character '\\n'":  # what tomllib says of a string left open
        message = "unterminated string (a string in quotes ends on its line; use triple quotes for more)"
    message = message[:1].lower() + message[1:]
    where = f" (column {column})" if column else " (at the end of the file)"
    return f"{source}:{line}: not valid TOML: {message}{where}"


# --- checking --------------------------------------------------------------------------------------


class _Check:
    """Collects problems and warnings, each "FILE:LINE: ...", in the order of their lines."""

    def __init__(self, source: str, lines: LineMap) -> None:
        self.source = source
        self.lines = lines
        self._problems: list[tuple[int, int, str]] = []
        self._warnings: list[tuple[int, int, str]] = []
        self.secret_lines: list[int | None] = []

    def where(self, path: ConfigPath) -> tuple[int, str]:
        line = self.lines.line_of(path)
        return (line or 0), (f"{self.source}:{line}" if line else self.source)

    def problem(self, path: ConfigPath, message: str) -> None:
        line, where = self.where(path)
        self._problems.append((line, len(self._problems), f"{where}: {message}"))

    def warn(self, path: ConfigPath, message: str) -> None:
        line, where = self.where(path)
        self._warnings.append((line, len(self._warnings), f"{where}: warning: {message}"))

    @property
    def problems(self) -> list[str]:
        return [text for _, _, text in sorted(self._problems)]

    @property
    def warnings(self) -> list[str]:
        return [text for _, _, text in sorted(self._warnings)]


def label(path: ConfigPath) -> str:
    """How a message names a key: "listen.port", "host of wallconnector #2", "notify.target #1"."""
    for i in range(len(path) - 1, -1, -1):
        index = path[i]
        if isinstance(index, int):
            table = ".".join(str(part) for part in path[:i])
            rest = ".".join(str(part) for part in path[i + 1 :])
            return f"{rest} of {table} #{index + 1}" if rest else f"{table} #{index + 1}"
    return ".".join(str(part) for part in path)


def _table_name(path: ConfigPath) -> str:
    if not path:
        return "the top of the file"
    if isinstance(path[-1], int):
        return f"[[{'.'.join(str(p) for p in path[:-1])}]] #{path[-1] + 1}"
    return f"[{'.'.join(str(p) for p in path)}]"


def _schema_name(path: ConfigPath) -> str:
    return ".".join(str(part) for part in path if isinstance(part, str))


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _shown(value: object) -> str:
    """A value the owner wrote, for a message: quoted, printable, at most 40 characters."""
    if isinstance(value, str):
        from ..cli._text import printable  # noqa: PLC0415 - stdlib only; the one rule for terminals

        text = printable(value)
        return repr(text if len(text) <= 40 else text[:39] + "…")
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, int | float) else _type_name(value)


def _shown_key(key: str) -> str:
    return repr(key) if _SHOWN_KEY.fullmatch(key) else "a key (not shown: it has unusual characters)"


class _Table:
    """One table of the file, read key by key; a wrong value is a problem and its default is used,
    so the reading goes on and finds the rest."""

    def __init__(
        self,
        check: _Check,
        path: ConfigPath,
        data: Mapping[str, Any],
        keys: Collection[str],
        *,
        what: str = "key",
    ) -> None:
        self.check = check
        self.path = path
        self.data = data
        for key in data:
            if key not in keys:
                self._unknown(key, keys, what)

    def _unknown(self, key: str, keys: Collection[str], what: str) -> None:
        close = difflib.get_close_matches(key, sorted(keys), n=1, cutoff=0.6)
        home = next((name for name, known in KEYS.items() if name and key in known), None)
        if close:
            hint = f"; did you mean {close[0]!r}?"
        elif home is not None and home != _schema_name(self.path):
            # TOML's classic slip: a key written after [[account]] belongs to that account
            hint = f"; it belongs in [[{home}]]" if home in _ARRAYS else f"; it belongs in [{home}]"
        else:
            hint = f"; known: {', '.join(sorted(keys))}" if len(keys) <= 8 else ""
        message = f"unknown {what} {_shown_key(key)} in {_table_name(self.path)}{hint}"
        self.check.problem((*self.path, key), message)

    def label(self, key: str) -> str:
        return label((*self.path, key))

    def problem(self, key: str, message: str) -> None:
        self.check.problem((*self.path, key), message)

    def warn(self, key: str, message: str) -> None:
        self.check.warn((*self.path, key), message)

    def _typed(self, key: str, kinds: type | tuple[type, ...], expected: str) -> Any:
        """The value of `key` if it has the type, else None (missing: quietly; wrong: a problem)."""
        value = self.data.get(key)
        if value is None:
            return None
        wrong_bool = isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,))
        if wrong_bool or not isinstance(value, kinds):
            self.problem(key, f"{self.label(key)} must be {expected}, not {_type_name(value)}")
            return None
        return value

    def string(self, key: str, *, secret: bool = False, required: bool = False) -> str | None:
        value = self._typed(key, str, "a string")
        if value is None:
            if required and key not in self.data:
                self.check.problem(self.path, f"{label(self.path)} has no {key}: it is required")
            return None
        if secret:
            self.check.secret_lines.append(self.check.lines.line_of((*self.path, key)))
        if not value.strip():
            self.problem(key, f"{self.label(key)} is empty")
            return None
        return str(value).strip()

    def choice(self, key: str, choices: Sequence[str], *, required: bool = False) -> str | None:
        value = self.string(key, required=required)
        if value is None or value in choices:
            return value
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        self.problem(key, f"{self.label(key)} must be one of {', '.join(choices)}, not {_shown(value)}{hint}")
        return None

    def boolean(self, key: str, default: bool) -> bool:
        value = self._typed(key, bool, "true or false")
        return default if value is None else bool(value)

    def number(
        self, key: str, default: _T, *, above: float | None = None, least: float | None = None, most: float
    ) -> float | _T:
        """A finite number (an integer is taken as one) in the bounds, else `default`."""
        value = self._typed(key, (int, float), "a number")
        if value is None:
            return default
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = math.inf
        if not math.isfinite(number):
            self.problem(key, f"{self.label(key)} must be a finite number, not {_shown(value)}")
        elif above is not None and not number > above:
            self.problem(key, f"{self.label(key)} must be more than {above:g}, not {_shown(value)}")
        elif least is not None and not number >= least:
            self.problem(key, f"{self.label(key)} must be at least {least:g}, not {_shown(value)}")
        elif number > most:
            self.problem(key, f"{self.label(key)} must be at most {most:g}, not {_shown(value)}")
        else:
            return number
        return default

    def seconds(self, key: str, default: float, *, zero_ok: bool = False) -> float:
        if zero_ok:
            return self.number(key, default, least=0.0, most=_YEAR_S)
        return self.number(key, default, above=0.0, most=_YEAR_S)

    def integer(self, key: str, default: int, *, low: int, high: int) -> int:
        value = self._typed(key, int, "an integer")
        if value is None:
            return default
        if not low <= value <= high:
            self.problem(key, f"{self.label(key)} {value} is out of range ({low}-{high})")
            return default
        return int(value)

    def strings(self, key: str) -> tuple[str, ...] | None:
        value = self._typed(key, list, "a list of strings")
        if value is None:
            return None
        good: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                what = "an empty string" if isinstance(item, str) else _type_name(item)
                self.problem(key, f"item {i + 1} of {self.label(key)} is {what}: give a non-empty string")
            else:
                good.append(item.strip())
        return tuple(good)

    def table(self, key: str, keys: Collection[str], *, what: str = "key") -> _Table:
        value = self.data.get(key)
        if value is not None and not isinstance(value, dict):
            self.problem(key, f"{self.label(key)} must be a table ([{_schema_name((*self.path, key))}])")
            value = None
        return _Table(self.check, (*self.path, key), value or {}, keys, what=what)

    def array(self, key: str) -> list[_Table]:
        """The tables of `[[key]]`; `[key]` written once instead is a problem that says how."""
        value = self.data.get(key)
        if value is None:
            return []
        name = _schema_name((*self.path, key))
        if not isinstance(value, list):
            self.problem(key, f"write [[{name}]] (one table per {key}), not {_type_name(value)}")
            return []
        tables = []
        for index, item in enumerate(value):
            path = (*self.path, key, index)
            if not isinstance(item, dict):
                self.check.problem(path, f"{label(path)} must be a table, not {_type_name(item)}")
                continue
            tables.append(_Table(self.check, path, item, KEYS[name]))
        return tables


class _Reader:
    """The document, section by section, into the settings."""

    def __init__(
        self, check: _Check, document: dict[str, Any], environ: Mapping[str, str], base_dir: Path | None
    ) -> None:
        self.check = check
        self.root = _Table(check, (), document, KEYS[""])
        self.environ = environ
        self.base_dir = base_dir

    def section(self, name: str) -> _Table:
        if isinstance(self.root.data.get(name), list):
            self.root.problem(name, f"write [{name}] once (there is one {name} section), not [[{name}]]")
            return _Table(self.check, (name,), {}, KEYS[name])
        return self.root.table(name, KEYS[name])

    def settings(self) -> ServiceSettings:
        data_dir = self.data_dir()
        return ServiceSettings(
            data_dir=data_dir,
            accounts=self.accounts(),
            wallconnectors=self.units(),
            sites=SiteSettings(live_s=self.section("sites").seconds("live_seconds", SiteSettings.live_s)),
            storage=self.storage(),
            notify=self.notify(),
            listen=self.listen(),
            engine=self.engine(),
        )

    def path(self, text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() or self.base_dir is None else self.base_dir / path

    def data_dir(self) -> Path:
        text = self.section("service").string("data_dir")
        return default_data_dir(self.environ) if text is None else self.path(text)

    def accounts(self) -> tuple[AccountSettings, ...]:
        found: list[AccountSettings] = []
        first: dict[str, ConfigPath] = {}
        for table in self.root.array("account"):
            email = table.string("email", required=True)
            if email is not None:
                if "@" not in email or any(char.isspace() for char in email):
                    table.problem("email", f"{table.label('email')} {_shown(email)} is not an email address")
                elif email.casefold() in first:
                    table.problem("email", f"{email} is also {self._first(first[email.casefold()])}")
                else:
                    first[email.casefold()] = table.path
            api = table.choice("api", ("auto", "owner", "fleet")) or "auto"
            budget = table.number("budget_usd", None, above=0.0, most=1e9)
            if budget is not None and api == "owner":
                table.warn(
                    "budget_usd", f"{table.label('budget_usd')} is not used: the Owner API is not billed"
                )
            account = AccountSettings(
                email=email or "",
                api=cast(ApiChoice, api),
                cars=table.strings("cars") or (),
                sites=table.boolean("sites", AccountSettings.sites),
                budget_usd=budget,
            )
            found.append(account)
        return tuple(found)

    def _first(self, path: ConfigPath) -> str:
        line = self.check.lines.line_of(path)
        return f"{label(path)} (line {line})" if line else label(path)

    def units(self) -> tuple[UnitSettings, ...]:
        from ..wallconnector.client import parse_host  # noqa: PLC0415 - yarl only when units are read
        from ..wallconnector.power import ElectricalService  # noqa: PLC0415

        found: list[UnitSettings] = []
        names: dict[str, ConfigPath] = {}
        hosts: dict[str, ConfigPath] = {}
        for table in self.root.array("wallconnector"):
            name = table.string("name", required=True)
            if name is not None:
                if name.casefold() in names:
                    table.problem(
                        "name", f"the name {_shown(name)} is also {self._first(names[name.casefold()])}"
                    )
                else:
                    names[name.casefold()] = table.path
            host = table.string("host", required=True)
            if host is not None:
                try:
                    authority = parse_host(host).authority.lower()
                except ConfigError as exc:
                    table.problem("host", f"{table.label('host')}: {exc}")
                else:
                    if authority in hosts:
                        table.problem(
                            "host",
                            f"{table.label('host')} is the same unit as {self._first(hosts[authority])}",
                        )
                    else:
                        hosts[authority] = table.path
            wiring = table.string("wiring") or UnitSettings.wiring
            try:
                wiring = ElectricalService.parse(wiring).value
            except ConfigError as exc:
                table.problem("wiring", f"{table.label('wiring')}: {exc}")
            found.append(
                UnitSettings(name=name or "", host=host or "", wiring=wiring, car=table.string("car"))
            )
        return tuple(found)

    def storage(self) -> StorageSettings:
        table = self.section("storage")
        backend = table.choice("backend", ("sqlite", "postgres")) or StorageSettings.backend
        path_text = table.string("path")
        file_dsn = table.string("dsn", secret=True)
        batch_s = table.seconds("batch_seconds", StorageSettings.batch_s)
        days = table.number(
            "downsample_after_days", StorageSettings.downsample_after_days, above=0.0, most=36500
        )
        dsn: str | None = None
        if backend == "postgres":
            env_dsn = self.environ.get(DSN_ENV, "").strip() or None
            dsn = env_dsn or file_dsn
            if dsn is None and "dsn" not in table.data:
                table.problem(
                    "backend", f"storage.backend is postgres but no dsn is given: set dsn or ${DSN_ENV}"
                )
            elif dsn is not None and not _DSN.match(dsn):
                named = f"${DSN_ENV}" if env_dsn else "storage.dsn"
                table.problem(
                    "dsn" if not env_dsn else "backend",
                    f"{named} is not a PostgreSQL URL (postgresql://user@host/db); its value is not shown",
                )
            if path_text is not None:
                table.warn("path", "storage.path is not used: the backend is postgres")
        elif file_dsn is not None:
            table.warn("dsn", "storage.dsn is not used: the backend is sqlite")
        return StorageSettings(
            backend="postgres" if backend == "postgres" else "sqlite",
            path=Path(path_text).expanduser() if path_text is not None else StorageSettings.path,
            dsn=dsn,
            batch_s=batch_s,
            downsample_after_days=days,
        )

    def notify(self) -> NotifySettings:
        table = self.section("notify")
        cooldown = table.seconds("cooldown_seconds", NotifySettings.cooldown_s, zero_ok=True)
        kinds = table.table("events", EVENT_KINDS, what="event kind")
        events = dict(DEFAULT_EVENTS)
        for name in kinds.data:
            if name in EVENT_KINDS:
                events[name] = kinds.boolean(name, DEFAULT_EVENTS[name])
        targets: list[TargetSettings] = []
        for target in table.array("target"):
            kind = target.choice("kind", ("webhook", "ntfy", "apprise"), required=True)
            url = target.string("url", secret=True, required=True)
            if kind is not None and url is not None:
                wrong = _url_problem(kind, url)
                if wrong:
                    target.problem("url", f"the {target.label('url')} {wrong}; its value is not shown")
            only = target.strings("events")
            for name in only or ():
                if name not in EVENT_KINDS:
                    close = difflib.get_close_matches(name, sorted(EVENT_KINDS), n=1, cutoff=0.6)
                    hint = f"; did you mean {close[0]!r}?" if close else "; see [notify.events] for the kinds"
                    target.problem(
                        "events", f"unknown event kind {_shown(name)} in {target.label('events')}{hint}"
                    )
            if only is not None and not only:
                target.warn("events", f"{target.label('events')} is empty: nothing is sent to it")
            targets.append(
                TargetSettings(
                    kind=cast(TargetKind, kind or "webhook"),
                    url=url or "",
                    events=None if only is None else frozenset(only),
                )
            )
        return NotifySettings(cooldown_s=cooldown, events=events, targets=tuple(targets))

    def listen(self) -> ListenSettings:
        table = self.section("listen")
        enabled = table.boolean("enabled", ListenSettings.enabled)
        host = table.string("host") or ListenSettings.host
        port = table.integer("port", DEFAULT_PORT, low=1, high=65535)
        loopback = _loopback(host)
        if loopback is None:
            table.problem("host", f"listen.host {_shown(host)} is not an IP address or host name")
        elif not loopback and enabled:
            table.warn(
                "host",
                f"listen.host {_shown(host)} is not loopback: /status and /metrics, which have no "
                "login, can be read from the network",
            )
        return ListenSettings(enabled=enabled, host=host, port=port)

    def engine(self) -> EngineSettings:
        table = self.section("engine")
        return EngineSettings(
            plugged_in_grace_s=table.seconds("plugged_in_grace_seconds", EngineSettings.plugged_in_grace_s),
            budget_warn_share=table.number(
                "budget_warn_share", EngineSettings.budget_warn_share, above=0.0, most=1.0
            ),
        )


def _loopback(host: str) -> bool | None:
    """Whether the listener's `host` is loopback only; None when it is not an address or name."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    name = host.removesuffix(".")
    if len(name) > 253 or not all(_HOST_LABEL.fullmatch(part) for part in name.split(".")):
        return None
    return name.lower() == "localhost"


def _url_problem(kind: str, url: str) -> str | None:
    """What is wrong with a target's url, in words that do not repeat it."""
    if kind == "apprise":
        return None if _APPRISE_URL.match(url) else "is not an Apprise URL (scheme://...)"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https") or not host:
        return "is not an http:// or https:// URL"
    if kind == "ntfy" and not parts.path.strip("/"):
        return "names no topic (https://ntfy.sh/TOPIC)"
    return None


# --- writing ---------------------------------------------------------------------------------------


def _toml_string(text: str) -> str:
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return _toml_string(str(value))
    if isinstance(value, tuple | list | frozenset):
        items = sorted(value) if isinstance(value, frozenset) else value
        return "[" + ", ".join(_toml_value(item) for item in items) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def render_config(settings: ServiceSettings) -> str:
    """`settings` as a file `parse_config` reads back to equal settings (without comments; the
    dsn and target URLs written in clear: it is the owner's file)."""
    lines = ["[service]", f"data_dir = {_toml_value(settings.data_dir)}", ""]
    for account in settings.accounts:
        lines += ["[[account]]", f"email = {_toml_value(account.email)}", f"api = {_toml_value(account.api)}"]
        lines += [f"cars = {_toml_value(account.cars)}", f"sites = {_toml_value(account.sites)}"]
        if account.budget_usd is not None:
            lines.append(f"budget_usd = {_toml_value(account.budget_usd)}")
        lines.append("")
    for unit in settings.wallconnectors:
        lines += ["[[wallconnector]]", f"name = {_toml_value(unit.name)}", f"host = {_toml_value(unit.host)}"]
        lines.append(f"wiring = {_toml_value(unit.wiring)}")
        if unit.car is not None:
            lines.append(f"car = {_toml_value(unit.car)}")
        lines.append("")
    storage = settings.storage
    lines += ["[sites]", f"live_seconds = {_toml_value(settings.sites.live_s)}", "", "[storage]"]
    lines += [f"backend = {_toml_value(storage.backend)}", f"path = {_toml_value(storage.path)}"]
    if storage.dsn is not None:
        lines.append(f"dsn = {_toml_value(storage.dsn)}")
    lines += [f"batch_seconds = {_toml_value(storage.batch_s)}"]
    lines += [f"downsample_after_days = {_toml_value(storage.downsample_after_days)}", ""]
    notify = settings.notify
    lines += ["[notify]", f"cooldown_seconds = {_toml_value(notify.cooldown_s)}", "", "[notify.events]"]
    lines += [f"{kind} = {_toml_value(on)}" for kind, on in sorted(notify.events.items())]
    lines.append("")
    for target in notify.targets:
        lines += [
            "[[notify.target]]",
            f"kind = {_toml_value(target.kind)}",
            f"url = {_toml_value(target.url)}",
        ]
        if target.events is not None:
            lines.append(f"events = {_toml_value(target.events)}")
        lines.append("")
    engine = settings.engine
    lines += ["[engine]", f"plugged_in_grace_seconds = {_toml_value(engine.plugged_in_grace_s)}"]
    lines += [f"budget_warn_share = {_toml_value(engine.budget_warn_share)}", ""]
    listen = settings.listen
    lines += ["[listen]", f"enabled = {_toml_value(listen.enabled)}", f"host = {_toml_value(listen.host)}"]
    lines += [f"port = {_toml_value(listen.port)}", ""]
    return "\n".join(lines)
