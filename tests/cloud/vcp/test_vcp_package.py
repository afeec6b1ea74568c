"""The package's footprint: teslalink stays lean without it, and without the extra it says what to install."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_teslalink_and_its_cloud_client_loads_no_crypto_or_protobuf() -> None:
    code = (
        "import sys, teslalink, teslalink.cloud, teslalink.cli.main\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'cryptography', 'tesla_protocol', 'google'}))"
    )
    assert _run(code) == "[]"


def test_without_the_fleet_extra_the_import_is_one_clear_error() -> None:
    code = (
        "import sys; sys.modules['tesla_protocol'] = None\n"
        "import importlib.util as u; real = u.find_spec\n"
        "u.find_spec = lambda n, *a: None if n == 'tesla_protocol' else real(n, *a)\n"
        "try:\n    import teslalink.cloud.vcp.messages\n"
        "except ImportError as e:\n    print(type(e).__name__, e)\n"
    )
    expected = "MissingFleetExtra signed commands need tesla_protocol: pip install 'teslalink[fleet]'"
    assert _run(code) == expected
