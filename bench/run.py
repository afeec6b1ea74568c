"""Run every benchmark against the same digital twin and print ours, the peer's, and the ratio.

    python bench/run.py [--units 200] [--polls 50] [--rounds 3]

Wall Connector polling: the twin serves N units in its own process (`teslalink sim
wallconnector`); each client then polls every unit P times, all units concurrently and one
request at a time per unit, in a fresh process of its own so CPU time and peak RSS are its alone.
Rounds alternate ours/peer and the median round is reported. Decoding: microseconds to decode
one real vitals body, in process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import decode  # noqa: E402  (bench/ is not a package)


def start_twin(units: int) -> tuple[subprocess.Popen[str], list[str]]:
    cmd = [sys.executable, "-m", "teslalink", "sim", "wallconnector", "--count", str(units), "--port", "0",
           "--json", "--speed", "60", "--wiring", "mixed", "--plugged", str(units // 2),
           "--seed", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if not first:
        proc.kill()
        raise SystemExit("the twin did not start")
    urls = [unit["url"] for unit in json.loads(first)["wall_connectors"]]
    return proc, urls


def poll_round(which: str, urls_file: str, polls: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(HERE / "wallconnector_poll.py"), which, urls_file, str(polls)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(rounds, key=lambda r: r["cpu_us_per_poll"])
    return ordered[len(ordered) // 2]


def row(name: str, ours: float, peer: float, better: str, fmt: str = "{:.1f}") -> str:
    ratio = peer / ours if better == "lower" else ours / peer
    return f"| {name} | {fmt.format(ours)} | {fmt.format(peer)} | {ratio:.2f}x |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--polls", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    twin, urls = start_twin(args.units)
    results: dict[str, list[dict[str, Any]]] = {"ours": [], "peer": []}
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(urls, handle)
        for i in range(args.rounds):
            order = ("ours", "peer") if i % 2 == 0 else ("peer", "ours")
            for which in order:
                results[which].append(poll_round(which, handle.name, args.polls))
    finally:
        twin.terminate()
        twin.wait(10)
        os.unlink(handle.name)
    ours, peer = median_round(results["ours"]), median_round(results["peer"])
    dec = decode.measure()

    print(
        f"Wall Connector: {args.units} simulated units x {args.polls} polls, median of {args.rounds} rounds"
    )
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; peer: tesla-wall-connector 1.2.0\n")
    print("| metric | teslalink | tesla-wall-connector | ratio (>1 = teslalink better) |")
    print("|---|---|---|---|")
    print(row("polls per second (wall)", ours["polls_per_s"], peer["polls_per_s"], "higher", "{:.0f}"))
    print(row("polls per CPU-second", ours["polls_per_cpu_s"], peer["polls_per_cpu_s"], "higher", "{:.0f}"))
    print(row("client CPU µs per poll", ours["cpu_us_per_poll"], peer["cpu_us_per_poll"], "lower"))
    print(row("p50 latency ms", ours["p50_ms"], peer["p50_ms"], "lower"))
    print(row("p99 latency ms", ours["p99_ms"], peer["p99_ms"], "lower"))
    print(row("peak RSS MiB", ours["peak_rss_mib"], peer["peak_rss_mib"], "lower"))
    print(
        row(
            "decode one vitals body µs (to typed model)",
            dec["ours_model_us"],
            dec["peer_us"],
            "lower",
            "{:.2f}",
        )
    )
    print(row("decode one vitals body µs (to dict)", dec["ours_dict_us"], dec["peer_us"], "lower", "{:.2f}"))
    print(
        row(
            "decode a body with nan, no brace µs",
            dec["ours_broken_us"],
            dec["peer_broken_us"],
            "lower",
            "{:.2f}",
        )
    )
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / "latest.json").write_text(json.dumps({"poll": results, "decode": dec}, indent=2))


if __name__ == "__main__":
    main()
