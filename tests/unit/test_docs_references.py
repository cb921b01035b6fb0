"""The repo stands alone: its words point into docs/, never to files a clone lacks.

Code cites the provider notes by section ("docs/providers.md §1.9"), so each cited
section must exist there: a renumbering would otherwise leave the citations wrong.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).parents[2]
PROVIDERS = ROOT / "docs" / "providers.md"
# Spelled in pieces so that this file does not match itself.
OUTSIDE = re.compile(
    r"\.\./" + r"shared/|shared/(?:API|ARCHITECTURE|STYLE)\.md|shared/" + "reference"
)
CITATION = re.compile(r"docs/providers\.md(?:``)?\s+§(?P<section>\d+(?:\.\d+)?)")
HEADING = re.compile(r"^#{2,3} (?P<section>\d+(?:\.\d+)?)[. ]", re.MULTILINE)


def texts() -> dict[Path, str]:
    files = [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / "Makefile"]
    for folder, pattern in (("src", "*.py"), ("tests", "*.py"), ("examples", "*.py"),
                            ("tests", "*.yaml"), ("docs", "*.md")):  # fmt: skip
        files.extend((ROOT / folder).rglob(pattern))
    return {path.relative_to(ROOT): path.read_text(encoding="utf-8") for path in files}


def test_nothing_points_outside_the_repo() -> None:
    outside = [
        f"{path}:{number}"
        for path, text in texts().items()
        for number, line in enumerate(text.splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert outside == []


def test_every_cited_section_of_the_provider_notes_exists() -> None:
    sections = set(HEADING.findall(PROVIDERS.read_text(encoding="utf-8")))
    cited = {
        f"{path} §{match['section']}"
        for path, text in texts().items()
        for match in CITATION.finditer(text)
        if match["section"] not in sections
    }
    assert sections >= {"1", "1.9", "2.6", "3.3", "4.4", "7"}
    assert cited == set()
