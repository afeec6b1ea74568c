"""The guard in tests/conftest.py: a test that prints fails, one that captures what it prints passes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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


def test_a_test_that_prints_fails(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(PROBE)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rE", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard: the probe runs in about a second
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 1, done.stdout
    errors = sorted(
        line.split("::")[1].split(" ")[0] for line in done.stdout.splitlines() if line.startswith("ERROR")
    )
    assert errors == ["test_prints", "test_writes_to_stderr"], done.stdout
    assert "failed" not in done.stdout  # the other two pass
