"""Every example in the `--help` of the car commands, and every such command in the README's and
docs/cloud.md's shell blocks, runs against the twin (each on a fresh twin, demo1 logged in) and
exits 0; and the help of each command that takes a number says its range and unit."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from teslalink.cli.main import cli
from teslalink.simulator import ThreadedTwin

ROOT = Path(__file__).resolve().parents[2]
DEMO1 = "demo1@teslalink.test"
OURS = ("vehicles", "vehicle", "wake", "command", "charge", "climate", "lock", "unlock", "speed-limit", "api")
"""The commands these examples belong to (energy, stream, login... have their own tests)."""
_EXAMPLE = re.compile(r"`(teslalink [^`]+)`")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand of OURS, as the words that name it."""
    ctx = click.Context(cli)
    paths: list[tuple[str, ...]] = []
    for name in OURS:
        found = cli.get_command(ctx, name)
        assert found is not None, name
        paths.append((name,))
        if isinstance(found, click.Group):
            paths.extend((name, sub) for sub in found.list_commands(ctx))
    return paths


def help_text(path: tuple[str, ...]) -> str:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    return re.sub(r"\s+", " ", result.stdout)  # examples wrapped over two lines read as one


def help_examples() -> list[tuple[str, str]]:
    """(where, example) for every `teslalink ...` in a help text."""
    return [(" ".join(path), ex) for path in command_paths() for ex in _EXAMPLE.findall(help_text(path))]


def doc_examples() -> list[tuple[str, str]]:
    """(where, line) for every line of a ```sh block in README.md and docs/cloud.md that runs one of OURS."""
    found: list[tuple[str, str]] = []
    for doc in (ROOT / "README.md", ROOT / "docs" / "cloud.md"):
        in_sh = False
        for number, line in enumerate(doc.read_text("utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("```"):
                in_sh = stripped == "```sh" and not in_sh
                continue
            words = stripped.split("#")[0].split()
            if in_sh and len(words) > 1 and words[0] == "teslalink" and words[1] in OURS:
                found.append((f"{doc.name}:{number}", " ".join(words)))
    return found


EXAMPLES = help_examples() + doc_examples()


def test_the_examples_were_found() -> None:
    """Guards the extraction itself: a regex that finds nothing would pass every test below."""
    where = {w for w, _ in EXAMPLES}
    assert {"api", "command", "charge limit", "climate temp", "speed-limit set", "wake"} <= where
    assert any(w.startswith("README.md:") for w in where)
    assert any(w.startswith("cloud.md:") for w in where)


@pytest.mark.parametrize(("where", "example"), EXAMPLES, ids=[f"{w}: {e}" for w, e in EXAMPLES])
def test_every_example_runs(demo_logged_in: ThreadedTwin, where: str, example: str) -> None:
    words = shlex.split(example)
    assert words[0] == "teslalink"
    result = invoke(*words[1:])
    assert result.exit_code == 0, f"{where}: `{example}` exited {result.exit_code}:\n{result.output}"


@pytest.mark.parametrize(
    ("path", "says"),
    [
        (("charge", "limit"), ["50-100 (%)"]),
        (("charge", "amps"), ["0-48 (A)", "at most its maximum on this supply"]),
        (("speed-limit", "set"), ["50-90 (mph)"]),
        (("climate", "temp"), ["15-28 °C", "59-82 °F", "72F", "22C", "without a unit is refused"]),
    ],
)
def test_help_says_ranges_and_units(path: tuple[str, ...], says: list[str]) -> None:
    text = help_text(path)
    for words in says:
        assert words in text, (path, words, text)
