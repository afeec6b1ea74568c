"""The service's configuration file: the starter parses, every mistake is found with its line,
secrets never show, and what the file says is what the settings hold."""

from __future__ import annotations

import os
import re
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teslalink.errors import ConfigError
from teslalink.service._config_lines import LineMap
from teslalink.service.config import (
    KEYS,
    STARTER_TEXT,
    ConfigFileError,
    default_config_path,
    default_data_dir,
    load_config,
    parse_config,
    render_config,
)
from teslalink.service.events import EventKind
from teslalink.service.settings import (
    DEFAULT_EVENTS,
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

ROOT = Path(__file__).resolve().parents[2]
NO_ENV: dict[str, str] = {}
DSN = "postgresql://teslalink:hunter2-Secret@db.home:5432/teslalink"
NTFY = "https://ntfy.sh/tk_Secret-Topic-8c1f"


def problems(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigFileError) as caught:
        parse_config(text, "s.toml", environ=NO_ENV if environ is None else environ)
    return caught.value.problems


def uncommented(text: str) -> str:
    """The starter with every example ("#key = value", no space after the #) made real."""
    return re.sub(r"(?m)^#(?=\S)", "", text)


# --- the starter ------------------------------------------------------------------------------------


def test_the_starter_parses_to_the_defaults_without_a_warning() -> None:
    parsed = parse_config(STARTER_TEXT, "starter.toml", environ={"XDG_DATA_HOME": "/srv/data"})
    assert parsed == ServiceSettings(data_dir=Path("/srv/data/teslalink"))
    assert parsed.warnings == ()
    assert parsed.notify.events == DEFAULT_EVENTS


def test_the_starters_examples_uncommented_are_a_valid_file() -> None:
    parsed = parse_config(uncommented(STARTER_TEXT), "starter.toml", environ=NO_ENV)
    assert parsed.data_dir == Path("~/.local/share/teslalink").expanduser()
    assert parsed.accounts == (AccountSettings(email="owner@example.com", budget_usd=10.0),)
    assert parsed.wallconnectors == (
        UnitSettings(name="garage", host="192.168.1.50", car="5YJ3E1EA7KF000001"),
    )
    (target,) = parsed.notify.targets
    assert (target.kind, target.events) == ("ntfy", frozenset({"charge_complete", "plugged_in_not_charging"}))
    assert [w.split(": ", 1)[1] for w in parsed.warnings] == [
        "warning: storage.dsn is not used: the backend is sqlite"
    ]


def test_the_starter_shows_every_key_and_event_kind_with_a_comment_before_it() -> None:
    lines = uncommented(STARTER_TEXT).split("\n")
    written = {m.group(1): i for i, line in enumerate(lines) if (m := re.match(r"(\w+) = ", line))}
    tables = {name for name in KEYS if name}
    expected = {key for name, keys in KEYS.items() if name for key in keys if key not in {"events", "target"}}
    expected |= {"events"} | {kind.value for kind in EventKind}
    assert expected - tables <= set(written), expected - tables - set(written)
    for key, i in written.items():
        assert lines[i - 1].startswith("# "), f"{key} has no comment line before it"
    for name in tables:
        header = f"[[{name}]]" if name in {"account", "wallconnector", "notify.target"} else f"[{name}]"
        assert header in lines, header


# --- what the file says -------------------------------------------------------------------------------


def test_a_full_file_becomes_those_settings(tmp_path: Path) -> None:
    text = f"""
[service]
data_dir = "state"

[[account]]
email = "owner@example.com"
api = "fleet"
cars = ["5YJ3E1EA7KF000001", "Blue"]
sites = false
budget_usd = 12

[[account]]
email = "second@example.com"

[[wallconnector]]
name = "garage"
host = "192.168.1.50"
wiring = "Split-Phase"
car = "Blue"

[sites]
live_seconds = 30

[storage]
backend = "postgres"
dsn = "{DSN}"
batch_seconds = 0.5
downsample_after_days = 7

[notify]
cooldown_seconds = 0

[notify.events]
car_asleep = true
plugged_in = false

[[notify.target]]
kind = "ntfy"
url = "{NTFY}"
events = ["charge_complete"]

[[notify.target]]
kind = "apprise"
url = "tgram://bot-token/chat"

[engine]
plugged_in_grace_seconds = 120
budget_warn_share = 0.5

[listen]
enabled = false
port = 9000
"""
    parsed = parse_config(text, "full.toml", environ=NO_ENV, base_dir=tmp_path)
    assert parsed.data_dir == tmp_path / "state"  # relative: from the file's folder
    assert parsed.accounts == (
        AccountSettings("owner@example.com", "fleet", ("5YJ3E1EA7KF000001", "Blue"), False, 12.0),
        AccountSettings("second@example.com"),
    )
    assert parsed.wallconnectors == (UnitSettings("garage", "192.168.1.50", "split_phase", "Blue"),)
    assert parsed.sites == SiteSettings(live_s=30.0)
    assert parsed.storage == StorageSettings("postgres", Path("teslalink.db"), DSN, 0.5, 7.0)
    assert parsed.notify.cooldown_s == 0.0
    assert parsed.notify.events == {**DEFAULT_EVENTS, "car_asleep": True, "plugged_in": False}
    assert parsed.notify.targets == (
        TargetSettings("ntfy", NTFY, frozenset({"charge_complete"})),
        TargetSettings("apprise", "tgram://bot-token/chat"),
    )
    assert parsed.engine == EngineSettings(plugged_in_grace_s=120.0, budget_warn_share=0.5)
    assert parsed.listen == ListenSettings(enabled=False, host="127.0.0.1", port=9000)
    assert parsed.warnings == ()


def test_the_dsn_may_come_from_the_environment_and_wins_over_the_file() -> None:
    postgres = '[storage]\nbackend = "postgres"\n'
    assert parse_config(postgres, environ={"TESLALINK_DSN": DSN}).storage.dsn == DSN
    in_file = postgres + 'dsn = "postgresql://file@db/x"\n'
    assert parse_config(in_file, environ={"TESLALINK_DSN": DSN}).storage.dsn == DSN
    assert parse_config(in_file, environ=NO_ENV).storage.dsn == "postgresql://file@db/x"
    # sqlite has no use for one: the environment's is not taken, the file's is said to be unused
    assert parse_config("", environ={"TESLALINK_DSN": DSN}).storage.dsn is None
    assert parse_config(postgres, environ={"TESLALINK_DSN": DSN}).database_path  # a path all the same


def test_where_the_file_and_the_data_are() -> None:
    assert default_config_path({"TESLALINK_CONFIG": "/etc/tl.toml", "XDG_CONFIG_HOME": "/x"}) == Path(
        "/etc/tl.toml"
    )
    assert default_config_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/teslalink/service.toml")
    assert default_config_path({}) == Path.home() / ".config/teslalink/service.toml"
    assert default_data_dir({"XDG_DATA_HOME": "/d"}) == Path("/d/teslalink")
    assert default_data_dir({}) == Path.home() / ".local/share/teslalink"
    assert parse_config("", environ={"XDG_DATA_HOME": "/d"}).data_dir == Path("/d/teslalink")


# --- each mistake, with its line --------------------------------------------------------------------

BAD = [
    # (file, line, what the message says)
    ("[listen]\nport = 70000\n", 2, "listen.port 70000 is out of range (1-65535)"),
    ("[listen]\nport = 0\n", 2, "listen.port 0 is out of range (1-65535)"),
    ('[listen]\n\nport = "8080"\n', 3, "listen.port must be an integer, not a string"),
    ("[listen]\nport = 8080.0\n", 2, "listen.port must be an integer, not a number"),
    ('[listen]\nenabled = "yes"\n', 2, "listen.enabled must be true or false, not a string"),
    ('[listen]\nhost = "my host"\n', 2, "listen.host 'my host' is not an IP address or host name"),
    ('[listen]\nhots = "::1"\n', 2, "unknown key 'hots' in [listen]; did you mean 'host'?"),
    ("[lisen]\nport = 1\n", 1, "unknown key 'lisen' in the top of the file; did you mean 'listen'?"),
    ("port = 8765\n", 1, "unknown key 'port' in the top of the file; it belongs in [listen]"),
    (
        '[[account]]\nemail = "a@b.c"\ndata_dir = "/x"\n',
        3,
        "unknown key 'data_dir' in [[account]] #1; it belongs in [service]",
    ),
    ('[service]\ndata_dir = ""\n', 2, "service.data_dir is empty"),
    ("[service]\ndata_dir = 3\n", 2, "service.data_dir must be a string, not an integer"),
    ('[storage]\nbackend = "mysql"\n', 2, "storage.backend must be one of sqlite, postgres, not 'mysql'"),
    ('[storage]\nbackend = "postgress"\n', 2, "not 'postgress' (did you mean 'postgres'?)"),
    (
        '[storage]\nbackend = "postgres"\n',
        2,
        "storage.backend is postgres but no dsn is given: set dsn or $TESLALINK_DSN",
    ),
    ("[storage]\nbatch_seconds = 0\n", 2, "storage.batch_seconds must be more than 0, not 0"),
    ("[storage]\nbatch_seconds = nan\n", 2, "storage.batch_seconds must be a finite number, not nan"),
    ("[storage]\nbatch_seconds = inf\n", 2, "storage.batch_seconds must be a finite number, not inf"),
    (
        "[storage]\nbatch_seconds = 1e9\n",
        2,
        "storage.batch_seconds must be at most 3.1536e+07, not 1000000000.0",
    ),
    ("[storage]\nbatch_seconds = true\n", 2, "storage.batch_seconds must be a number, not a boolean"),
    (
        "[storage]\ndownsample_after_days = -1\n",
        2,
        "storage.downsample_after_days must be more than 0, not -1",
    ),
    ("[storage]\nbatch_seconds = 1" + "0" * 400 + "\n", 2, "storage.batch_seconds must be a finite number"),
    ("[sites]\nlive_seconds = -5\n", 2, "sites.live_seconds must be more than 0, not -5"),
    ("[notify]\ncooldown_seconds = -1\n", 2, "notify.cooldown_seconds must be at least 0, not -1"),
    (
        "[notify.events]\nplugged_inn = true\n",
        2,
        "unknown event kind 'plugged_inn' in [notify.events]; did you mean 'plugged_in'?",
    ),
    (
        "[notify.events]\ncharge_complete = 1\n",
        2,
        "notify.events.charge_complete must be true or false, not an integer",
    ),
    ("[notify]\nevents = 3\n", 2, "notify.events must be a table ([notify.events])"),
    (
        '[[notify.target]]\nkind = "webhok"\nurl = "https://h/x"\n',
        2,
        "kind of notify.target #1 must be one of webhook, ntfy, apprise, not 'webhok' "
        "(did you mean 'webhook'?)",
    ),
    ('[[notify.target]]\nurl = "https://h/x"\n', 1, "notify.target #1 has no kind: it is required"),
    ('[[notify.target]]\nkind = "webhook"\n', 1, "notify.target #1 has no url: it is required"),
    (
        '[[notify.target]]\nkind = "webhook"\nurl = "https://h/x"\nevents = ["charge_completed"]\n',
        4,
        "unknown event kind 'charge_completed' in events of notify.target #1; "
        "did you mean 'charge_complete'?",
    ),
    (
        '[[notify.target]]\nkind = "webhook"\nurl = "https://h/x"\nevents = "charge_complete"\n',
        4,
        "events of notify.target #1 must be a list of strings, not a string",
    ),
    (
        '[[notify.target]]\nkind = "webhook"\nurl = "https://h/x"\nevents = [""]\n',
        4,
        "item 1 of events of notify.target #1 is an empty string",
    ),
    (
        '[notify]\ntarget = {kind = "ntfy"}\n',
        2,
        "write [[notify.target]] (one table per target), not a table",
    ),
    ('[[account]]\napi = "owner"\n', 1, "account #1 has no email: it is required"),
    ('[[account]]\nemail = "owner"\n', 2, "email of account #1 'owner' is not an email address"),
    (
        '[[account]]\nemail = "o@x.y"\napi = "fleet-api"\n',
        3,
        "api of account #1 must be one of auto, owner, fleet, not 'fleet-api'",
    ),
    (
        '[[account]]\nemail = "o@x.y"\ncars = "Blue"\n',
        3,
        "cars of account #1 must be a list of strings, not a string",
    ),
    (
        '[[account]]\nemail = "o@x.y"\nbudget_usd = 0\n',
        3,
        "budget_usd of account #1 must be more than 0, not 0",
    ),
    (
        '[[account]]\nemail = "o@x.y"\nsites = 1\n',
        3,
        "sites of account #1 must be true or false, not an integer",
    ),
    (
        '[[account]]\nemail = "o@x.y"\n\n[[account]]\nemail = "O@X.Y"\n',
        5,
        "O@X.Y is also account #1 (line 1)",
    ),
    ('[account]\nemail = "o@x.y"\n', 1, "write [[account]] (one table per account), not a table"),
    (
        '[[storage]]\nbackend = "sqlite"\n',
        1,
        "write [storage] once (there is one storage section), not [[storage]]",
    ),
    ('[[wallconnector]]\nhost = "192.168.1.5"\n', 1, "wallconnector #1 has no name: it is required"),
    ('[[wallconnector]]\nname = "garage"\n', 1, "wallconnector #1 has no host: it is required"),
    (
        '[[wallconnector]]\nname = "g"\nhost = "192.168.1.5/api"\n',
        3,
        "host of wallconnector #1: invalid Wall Connector host '192.168.1.5/api': "
        "give the address without a path",
    ),
    (
        '[[wallconnector]]\nname = "g"\nhost = "192.168.1.5"\nwiring = "two_phase"\n',
        4,
        "wiring of wallconnector #1: unknown electrical service 'two_phase'; "
        "use one of: auto, three_phase, split_phase, single_phase",
    ),
    (
        '[[wallconnector]]\nname = "g"\nhost = "192.168.1.5"\ncar = ""\n',
        4,
        "car of wallconnector #1 is empty",
    ),
    (
        '[[wallconnector]]\nname = "g"\nhost = "10.0.0.2"\n'
        '[[wallconnector]]\nname = "G"\nhost = "10.0.0.3"\n',
        5,
        "the name 'G' is also wallconnector #1 (line 1)",
    ),
    (
        '[[wallconnector]]\nname = "a"\nhost = "10.0.0.2"\n[[wallconnector]]\nname = "b"\nhost = "http://10.0.0.2:80/"\n',
        6,
        "host of wallconnector #2 is the same unit as wallconnector #1 (line 1)",
    ),
    ("[engine]\nbudget_warn_share = 1.5\n", 2, "engine.budget_warn_share must be at most 1, not 1.5"),
    (
        "[engine]\nplugged_in_grace_seconds = 0\n",
        2,
        "engine.plugged_in_grace_seconds must be more than 0, not 0",
    ),
    ("[listen]\nport = 1\n[listen.extra]\nx = 1\n", 3, "unknown key 'extra' in [listen]"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD, ids=[message[:60] for _, _, message in BAD])
def test_each_mistake_is_one_line_with_its_line_number(text: str, line: int, message: str) -> None:
    found = problems(text)
    assert len(found) == 1, found
    assert found[0].startswith(f"s.toml:{line}: "), found
    assert message in found[0], found
    assert "\n" not in found[0]


def test_every_mistake_is_reported_at_once_in_the_order_of_the_file() -> None:
    text = """\
[[wallconnector]]
name = "garage"
host = "192.168.1.50"
wiring = "two_phase"

[listen]
port = 70000
hots = "127.0.0.1"

[notify.events]
plugged_inn = true
"""
    with pytest.raises(ConfigFileError) as caught:
        parse_config(text, "many.toml", environ=NO_ENV)
    found = caught.value.problems
    assert [p.split(":")[1] for p in found] == ["4", "7", "8", "11"]
    assert str(caught.value) == f"{found[0]} (and 3 more)"
    assert isinstance(caught.value, ConfigError)


SYNTAX = [
    ("[listen]\nport = \n", 2, "invalid value"),
    ('[listen]\nhost = "127.0.0.1\n', 2, "unterminated string (a string in quotes ends on its line"),
    ("[listen\nport = 1\n", 1, "expected ']' at the end of a table declaration"),
    ("[listen]\nport = 1\nport = 2\n", 3, "cannot overwrite a value"),
    ('x = """\nmany\nlines\n"""\n[listen]\nport 1\n', 6, "expected '='"),
]


@pytest.mark.parametrize(("text", "line", "message"), SYNTAX)
def test_a_toml_syntax_error_names_its_line(text: str, line: int, message: str) -> None:
    (found,) = problems(text)
    assert found.startswith(f"s.toml:{line}: not valid TOML: {message}"), found
    assert "(at line" not in found


def test_a_syntax_error_at_the_end_of_the_file() -> None:
    (found,) = problems('[listen]\nhost = "abc')
    assert found == "s.toml:2: not valid TOML: unterminated string (at the end of the file)"


# --- secrets ------------------------------------------------------------------------------------------


def test_a_dsn_or_a_target_url_never_shows_in_an_error_a_warning_or_a_repr() -> None:
    secrets = ["hunter2-Secret", "tk_Secret-Topic-8c1f", "bot-Secret-token"]
    cases = [
        '[storage]\nbackend = "postgres"\ndsn = "mysql://root:hunter2-Secret@db"\n',
        '[[notify.target]]\nkind = "ntfy"\nurl = "https://ntfy.sh/"\n[[notify.target]]\nkind = "webhook"\n'
        'url = "ftp://tk_Secret-Topic-8c1f@h"\n',
        '[[notify.target]]\nkind = "apprise"\nurl = "bot-Secret-token"\n',
        '[[notify.target]]\nkind = "webhook"\nurl = "http://[bot-Secret-token"\n',
        '[[notify.target]]\nkind = "webhook"\nurl = "http://h:bot-Secret-token/"\n',
        '[[notify.target]]\nkind = "webhook"\nurl = 3\nulr = "https://h/bot-Secret-token"\n',
        '[storage]\ndsn = "postgresql://u:hunter2-Secret@db/x"\n',  # sqlite: a warning, not shown
    ]
    said: list[str] = []
    for text in cases:
        try:
            parsed = parse_config(text, "s.toml", environ=NO_ENV)
        except ConfigFileError as exc:
            said += [str(exc), repr(exc), *exc.problems, *exc.warnings]
        else:
            said += [repr(parsed), *parsed.warnings]
    with pytest.raises(ConfigFileError) as caught:
        parse_config('[storage]\nbackend = "postgres"\n', environ={"TESLALINK_DSN": "hunter2-Secret"})
    said += caught.value.problems
    assert (
        "s.toml:6: the url of notify.target #2 is not an http:// or https:// URL; its value is not shown"
        in said
    )
    assert (
        "s.toml:3: the url of notify.target #1 names no topic (https://ntfy.sh/TOPIC); its value is not shown"
        in said
    )
    assert (
        "<config>:2: $TESLALINK_DSN is not a PostgreSQL URL (postgresql://user@host/db); "
        "its value is not shown" in said
    )
    for secret in secrets:
        assert not [line for line in said if secret in line]
    full = parse_config(
        f'[storage]\nbackend = "postgres"\ndsn = "{DSN}"\n[[notify.target]]\nkind = "ntfy"\nurl = "{NTFY}"\n'
    )
    assert "hunter2" not in repr(full)
    assert "Secret-Topic" not in repr(full)


# --- warnings -----------------------------------------------------------------------------------------


def test_what_is_allowed_but_worth_a_word_is_a_warning_with_its_line() -> None:
    text = """\
[[account]]
email = "o@x.y"
api = "owner"
budget_usd = 5

[storage]
dsn = "postgresql://u@h/x"

[listen]
host = "0.0.0.0"
"""
    parsed = parse_config(text, "w.toml", environ=NO_ENV)
    assert parsed.warnings == (
        "w.toml:4: warning: budget_usd of account #1 is not used: the Owner API is not billed",
        "w.toml:7: warning: storage.dsn is not used: the backend is sqlite",
        "w.toml:10: warning: listen.host '0.0.0.0' is not loopback: /status and /metrics, "
        "which have no login, "
        "can be read from the network",
    )
    assert parse_config('[listen]\nhost = "0.0.0.0"\nenabled = false\n').warnings == ()
    for loopback in ("127.0.0.2", "::1", "localhost"):
        assert parse_config(f'[listen]\nhost = "{loopback}"\n').warnings == ()


# --- the line scanner ---------------------------------------------------------------------------------


def test_lines_inside_strings_arrays_and_inline_tables_are_not_mistaken_for_keys() -> None:
    text = '''\
[service]
data_dir = """
[listen]
port = 1
"""
[[wallconnector]]
name = 'x = 1'  # port = 2
host = [
  "port = 3",
]
extra = { port = 4,
  other = 5 }
\u2028 = 1
'''
    lines = LineMap(text)
    assert lines.line_of(("service", "data_dir")) == 2
    assert lines.line_of(("listen",)) is None
    assert lines.line_of(("wallconnector", 0, "name")) == 7
    assert lines.line_of(("wallconnector", 0, "host")) == 8
    assert lines.line_of(("wallconnector", 0, "extra", "other")) == 11  # inside an inline table: its key
    assert lines.line_of(("wallconnector", 0, "nothing")) == 6  # not written: its table


def test_lines_count_as_toml_counts_them() -> None:
    # CRLF endings and a U+2028 inside a comment (which str.splitlines would count as a break)
    text = "# a \u2028 comment\r\n[listen]\r\n# \u0085 more\r\nport = 70000\r\n"
    (found,) = problems(text)
    assert found.startswith("s.toml:4: listen.port 70000"), found


def test_array_elements_and_their_subtables_are_counted_per_array() -> None:
    text = """\
[[account]]
email = "a@x.y"
[[notify.target]]
kind = "ntfy"
[[account]]
email = "b@x.y"
[[notify.target]]
kind = "webhook"
url = 3
"""
    lines = LineMap(text)
    assert lines.line_of(("account", 1, "email")) == 6
    assert lines.line_of(("notify", "target", 1, "url")) == 9
    found = problems(text)
    assert found == [
        "s.toml:3: notify.target #1 has no url: it is required",
        "s.toml:9: url of notify.target #2 must be a string, not an integer",
    ]


# --- the file ----------------------------------------------------------------------------------------


def test_load_config_reads_the_file_relative_paths_from_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "service.toml"
    path.parent.mkdir()
    path.write_text('[service]\ndata_dir = "../var"\n[storage]\npath = "tl.db"\n', encoding="utf-8")
    os.chmod(path, 0o600)
    parsed = load_config(path, environ=NO_ENV)
    assert parsed.data_dir == path.parent / "../var"
    assert parsed.database_path == path.parent / "../var" / "tl.db"
    assert parsed.warnings == ()


def test_a_file_holding_a_secret_and_readable_by_others_gets_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "service.toml"
    path.write_text(f'[[notify.target]]\nkind = "ntfy"\n\nurl = "{NTFY}"\n', encoding="utf-8")
    os.chmod(path, 0o644)
    (warning,) = load_config(path).warnings
    assert warning == (
        f"{path}:4: warning: this file holds a secret (a dsn or a target's url) and others can read it: "
        f"chmod 600 {path}"
    )
    os.chmod(path, 0o600)
    assert load_config(path).warnings == ()
    path.write_text("[listen]\nport = 1\n", encoding="utf-8")
    os.chmod(path, 0o644)
    assert load_config(path).warnings == ()  # nothing secret in it


def test_a_file_that_cannot_be_read_is_one_problem(tmp_path: Path) -> None:
    def only_problem(path: Path) -> str:
        with pytest.raises(ConfigFileError) as caught:
            load_config(path)
        (found,) = caught.value.problems
        return found

    missing = tmp_path / "nope.toml"
    assert only_problem(missing) == f"{missing}: no such file; `teslalink config init` writes a starter"
    assert "is a directory, not a regular file" in only_problem(tmp_path)
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    assert "is a FIFO, not a regular file" in only_problem(fifo)  # and the read did not block
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'[service]\n# caf\xe9\ndata_dir = "x"\n')
    assert only_problem(latin) == f"{latin}:2: not UTF-8 text (TOML files are UTF-8)"


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeff[listen]\nport = 9000\n".encode())
    assert load_config(path).listen.port == 9000


# --- the settings round trip --------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12).filter(lambda s: s.strip() == s)
_name = (
    st.text(string.ascii_letters + string.digits + "-_ ", min_size=1, max_size=12).map(str.strip).filter(bool)
)
_seconds = st.floats(min_value=0.001, max_value=1e6, allow_nan=False)
_kinds = st.sampled_from([kind.value for kind in EventKind])
TARGET_KINDS: list[TargetKind] = ["webhook", "ntfy", "apprise"]
API_CHOICES: list[ApiChoice] = ["auto", "owner", "fleet"]


@st.composite
def service_settings(draw: st.DrawFn) -> ServiceSettings:
    emails = draw(
        st.lists(st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.test", fullmatch=True), unique=True, max_size=3)
    )
    accounts = tuple(
        AccountSettings(
            email=email,
            api=draw(st.sampled_from(API_CHOICES)),
            cars=tuple(draw(st.lists(_text, max_size=3))),
            sites=draw(st.booleans()),
            budget_usd=draw(st.none() | st.floats(min_value=0.01, max_value=1e6)),
        )
        for email in emails
    )
    names = draw(st.lists(_name, unique_by=str.casefold, max_size=3))
    units = tuple(
        UnitSettings(
            name=name,
            host=f"10.0.0.{i + 1}",
            wiring=draw(st.sampled_from(["auto", "three_phase", "split_phase", "single_phase"])),
            car=draw(st.none() | _text),
        )
        for i, name in enumerate(names)
    )
    postgres = draw(st.booleans())
    targets = tuple(
        TargetSettings(
            kind=kind,
            url=f"https://notify.test/{draw(_name).replace(' ', '-')}"
            if kind != "apprise"
            else "tgram://t/c",
            events=draw(st.none() | st.frozensets(_kinds, min_size=1)),
        )
        for kind in draw(st.lists(st.sampled_from(TARGET_KINDS), max_size=3))
    )
    return ServiceSettings(
        data_dir=Path("/") / draw(_name),
        accounts=accounts,
        wallconnectors=units,
        sites=SiteSettings(live_s=draw(_seconds)),
        storage=StorageSettings(
            backend="postgres" if postgres else "sqlite",
            path=Path(draw(_name)),
            dsn=f"postgresql://u@h/{draw(_name).replace(' ', '')}" if postgres else None,
            batch_s=draw(_seconds),
            downsample_after_days=draw(st.floats(min_value=0.01, max_value=36500)),
        ),
        notify=NotifySettings(
            cooldown_s=draw(st.floats(min_value=0, max_value=1e6)),
            events={kind.value: draw(st.booleans()) for kind in EventKind},
            targets=targets,
        ),
        listen=ListenSettings(
            enabled=draw(st.booleans()),
            host=draw(st.sampled_from(["127.0.0.1", "::1", "localhost"])),
            port=draw(st.integers(1, 65535)),
        ),
        engine=EngineSettings(
            plugged_in_grace_s=draw(_seconds),
            budget_warn_share=draw(st.floats(min_value=0.01, max_value=1.0)),
        ),
    )


@settings(max_examples=150, deadline=None)
@given(service_settings())
def test_any_valid_settings_written_out_read_back_equal(original: ServiceSettings) -> None:
    assert parse_config(render_config(original), environ=NO_ENV) == original


# --- the docs -----------------------------------------------------------------------------------------


def test_the_docs_chapter_names_every_section_key_and_event_kind() -> None:
    text = (ROOT / "docs" / "service.md").read_text("utf-8")
    chapter = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for name, keys in KEYS.items():
        if not name:
            continue  # the tables themselves, each checked below
        assert f"[{name}]" in chapter, name
        for key in keys:
            subtable = f"[{name}.{key}]" in chapter or f"[[{name}.{key}]]" in chapter
            assert subtable or f"`{key}`" in chapter, (name, key)
    for kind in EventKind:
        assert f"`{kind.value}`" in chapter, kind


def test_the_docs_example_file_is_valid() -> None:
    text = (ROOT / "docs" / "service.md").read_text("utf-8")
    chapter = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```toml\n(.*?)```", chapter, re.DOTALL)
    parsed = parse_config(example, "docs", environ=NO_ENV)
    assert [unit.car for unit in parsed.wallconnectors] == ["Blue"]
    assert parsed.warnings == ()
