"""Start-up of `teslalink wallconnector HOST status`, with and without aiohttp imported.

    python bench/startup.py [--runs 15]

The twin serves one unit in its own process; each run is a fresh `python -m teslalink
wallconnector URL status --json` and its wall time is the whole command (interpreter start,
imports, one vitals and one version request, output). The same command is timed a second way with
`import aiohttp` forced first: that is what every run cost while the command imported aiohttp
through teslalink._http, so the difference is what the lazy import saves. Runs alternate between
the two ways and the medians are printed (there is no peer for this one).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from run import start_twin  # noqa: E402  (bench/ is not a package)

# Run the CLI exactly as `python -m teslalink` does, after importing aiohttp first.
WITH_AIOHTTP = "import sys, aiohttp; from teslalink.cli.main import main; sys.argv[0] = 'teslalink'; main()"


def one_run(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    twin, urls = start_twin(1)
    try:
        command = ["wallconnector", urls[0], "status", "--json"]
        lean = [sys.executable, "-m", "teslalink", *command]
        forced = [sys.executable, "-c", WITH_AIOHTTP, *command]
        one_run(lean)  # warm the file cache before timing anything
        without, with_aiohttp = [], []
        for _ in range(args.runs):
            without.append(one_run(lean))
            with_aiohttp.append(one_run(forced))
    finally:
        twin.terminate()
        twin.wait(10)
    lean_ms, forced_ms = statistics.median(without) * 1000, statistics.median(with_aiohttp) * 1000
    print(f"wallconnector status start-up, median of {args.runs} runs:")
    print(f"  without aiohttp (now):            {lean_ms:6.0f} ms")
    print(f"  with aiohttp imported (before):   {forced_ms:6.0f} ms")
    print(f"  saved per command:                {forced_ms - lean_ms:6.0f} ms")


if __name__ == "__main__":
    main()
