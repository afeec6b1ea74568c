"""docs/service.md's "Running it" against the code: the systemd units pass `systemd-analyze verify`
(when this machine has it), and the metrics table names every metric /metrics exports."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service_state import NOW_MS, built_state
from teslalink.service.metrics import registry_for, render

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE = (DOCS / "service.md").read_text("utf-8")
CHAPTER = GUIDE.split("## Running it", 1)[1].split("\n## ", 1)[0]


def units() -> dict[str, str]:
    return {
        "docs/teslalink.service (user)": (DOCS / "teslalink.service").read_text("utf-8"),
        "docs/service.md (system)": re.search(r"```ini\n(.*?)```", CHAPTER, re.DOTALL).group(1),  # type: ignore[union-attr]
    }


@pytest.mark.parametrize("name", list(units()))
def test_the_units_say_how_it_runs(name: str) -> None:
    text = units()[name]
    settings = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert re.search(r"^ExecStart=\S+/bin/teslalink serve$", text, re.MULTILINE)
    for setting in ("Restart=on-failure", "RestartSec=10", "KillSignal=SIGTERM", "NoNewPrivileges=yes"):
        assert setting in settings, setting


@pytest.mark.parametrize("name", list(units()))
def test_the_units_pass_systemd_analyze_verify(name: str, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not on this machine")
    teslalink = Path(sys.executable).parent / "teslalink"  # ExecStart must name a program that exists
    text = re.sub(r"^ExecStart=\S+", f"ExecStart={teslalink}", units()[name], flags=re.MULTILINE)
    unit = tmp_path / "teslalink.service"
    unit.write_text(text.replace("%h", str(Path.home())))
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "teslalink.service" not in result.stderr, result.stderr  # no warning about our unit either


def test_the_metrics_table_names_every_metric() -> None:
    state = built_state()
    body, _ = render(registry_for(lambda: (state, NOW_MS)), "")
    exported = {
        sample.name for family in text_string_to_metric_families(body.decode()) for sample in family.samples
    }
    documented: list[str] = []
    for row in re.findall(r"^\| (`teslalink_[^|]+) \|", CHAPTER, re.MULTILINE):
        names = re.findall(r"`([a-z_<>]+)`", row)
        stem = names[0].rsplit("_", 2)[0] if len(names) > 1 else ""  # `x_delivered_total`, `_failed_total`...
        documented += [stem + name if name.startswith("_") else name for name in names]
    patterns = [re.compile(re.sub(r"<[a-z]+>", "[a-z0-9_]+", name) + "$") for name in documented]
    assert exported, "nothing exported"
    undocumented = sorted(n for n in exported if not any(p.match(n) for p in patterns))
    assert not undocumented, f"exported, not in docs/service.md: {undocumented}"
    for name in documented:
        if "<" not in name:
            assert name in exported, f"documented, not exported: {name}"


TOML_BLOCKS = re.findall(r"```toml\n(.*?)```", GUIDE, re.DOTALL)


@pytest.mark.parametrize("number", range(len(TOML_BLOCKS)))
def test_every_toml_example_of_the_guide_is_a_valid_config(number: int, tmp_path: Path) -> None:
    """A reader copies these into service.toml: each must parse, in every chapter."""
    from teslalink.service.config import parse_config

    parse_config(TOML_BLOCKS[number], source=f"docs/service.md toml block {number + 1}", base_dir=tmp_path)
