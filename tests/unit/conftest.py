"""Unit tests: the domain and every use case on the in-memory adapters, no I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.world import World

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Marked here rather than file by file, so `-m unit` can never miss a new file.
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.unit)


@pytest.fixture
def world() -> World:
    """A fresh getiickets, wired on the in-memory adapters, with the clock stopped."""
    return World()
