"""`teslalink sim all` as a real process: its admin URL answers, and the README's curl example runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import readline_within

README = Path(__file__).parents[2] / "README.md"
TIMEOUT_S = 30  # a hang guard: each step takes milliseconds


@pytest.fixture(scope="module")
def listing() -> Iterator[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    command = [sys.executable, "-m", "teslalink.cli.sim", "all", "--port", "0", "--speed", "0", "--json"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        yield json.loads(readline_within(proc.stdout))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 0
    assert "Traceback" not in err


def test_the_listed_admin_url_answers_with_every_endpoint(listing: dict[str, Any]) -> None:
    with urllib.request.urlopen(listing["admin"], timeout=TIMEOUT_S) as response:
        assert response.status == 200
        endpoints = json.loads(response.read())["endpoints"]
    paths = {e["path"] for e in endpoints}
    assert {"/_twin/advance", "/_twin/truth", "/_twin/vehicles/{vehicle}/drive"} <= paths


def _readme_example() -> list[str]:
    text = README.read_text()
    block = re.search(r"<!-- scenario-example -->\n```sh\n(.*?)```", text, re.S)
    assert block is not None, "the README lost its scenario example"
    return block.group(1).splitlines()


def _objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects curl printed back to back."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text):
        obj, end = decoder.raw_decode(text, at)
        found.append(obj)
        at = end
    return found


def test_the_readme_curl_example_drives_a_car(listing: dict[str, Any]) -> None:
    assert shutil.which("curl"), "the README's example needs curl"
    lines = _readme_example()
    assert lines[0].startswith("teslalink sim all")
    assert lines[1].startswith("ADMIN=")
    admin = listing["admin"].rstrip("/")
    script = "\n".join(["set -eu", f"ADMIN={admin}", *lines[2:]]) + "\n"
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    assert done.returncode == 0, done.stderr
    *_, last = _objects(done.stdout)
    assert last["shift_state"] == "D"
    assert last["speed_kph"] == 50.0
    assert last["id"] == listing["accounts"][0]["vehicles"][0]["id"]
