"""The Vehicle Command Protocol's dependencies load only with simulator.fleet, never with the twin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import teslalink

SRC = Path(teslalink.__file__).parent.parent


def test_the_twin_and_the_cli_do_not_import_the_fleet_extra() -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    probe = (
        "import teslalink, teslalink.simulator, teslalink.cli.main\n"
        "import sys\n"
        "heavy = ('cryptography', 'tesla_protocol', 'teslalink.simulator.fleet')\n"
        "print(any(m in sys.modules for m in heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], check=False, capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
