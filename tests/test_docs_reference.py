"""Every citation of the facts we rely on points into the repository: docs/reference.md, by section."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference.md"
CITATION = re.compile(r"docs/reference\.md §(\d+(?:\.\d+)?)")
OUTSIDE = re.compile(r"\bREFERENCE\b(?!_)")  # the shared file outside the repo, by its old name


def _cited_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for folder in ("src", "tests", "bench"):
        files += sorted(p for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".md"})
    return [p for p in files if p != Path(__file__).resolve()]


def _sections() -> set[str]:
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", REFERENCE.read_text("utf-8"), re.MULTILINE))


def test_every_citation_names_a_section_of_docs_reference() -> None:
    sections = _sections()
    assert {"1", "2", "2.1", "2.2", "2.3", "2.4", "2.5", "3"} <= sections
    cited: dict[str, set[str]] = {}
    for path in _cited_files():
        for number in CITATION.findall(path.read_text("utf-8")):
            cited.setdefault(number, set()).add(str(path.relative_to(ROOT)))
    assert cited, "no file cites docs/reference.md"
    missing = {number: files for number, files in cited.items() if number not in sections}
    assert not missing


def test_nothing_cites_the_reference_file_outside_the_repository() -> None:
    stale = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _cited_files()
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not stale
