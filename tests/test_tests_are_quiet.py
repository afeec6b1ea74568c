"""The guard in tests/conftest.py: a test that prints fails, one that captures what it prints passes."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

PROBE = """
import sys


def test_prints():
    print("parse_update: 8.89 µs/update")


def test_writes_to_stderr():
    sys.stderr.write("took 1.34 s\\n")


def test_captures_what_it_prints(capsys):
    print("captured")
    assert capsys.readouterr().out == "captured\\n"


def test_silent():
    assert True
"""


def test_a_test_that_prints_fails(run_probe: Callable[[str], subprocess.CompletedProcess[str]]) -> None:
    done = run_probe(PROBE)
    assert done.returncode == 1, done.stdout
    errors = sorted(
        line.split("::")[1].split(" ")[0] for line in done.stdout.splitlines() if line.startswith("ERROR")
    )
    assert errors == ["test_prints", "test_writes_to_stderr"], done.stdout
    assert "failed" not in done.stdout  # the other two pass
