"""``missing_packages``: what the ``getiickets`` command checks before running the app."""

from __future__ import annotations

import importlib.metadata

import pytest

from getiickets.entrypoints import extras
from getiickets.entrypoints.extras import missing_packages

pytestmark = pytest.mark.unit

# Installed metadata as pip sees it, with an extra made of other extras (not flattened).
REQUIRES = [
    "msgspec>=0.19",
    "sqlalchemy[asyncio]>=2.0; extra == 'sqlite'",
    'aiosqlite>=0.20; extra == "sqlite"',
    "no-such-package-h10>=1.0; extra == 'redis'",
    "getiickets[sqlite, redis]; extra == 'server'",
    "msgspec>=0.19; extra == 'server'",
]


@pytest.fixture
def metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    def requires(name: str) -> list[str]:
        assert name == "getiickets"
        return REQUIRES

    monkeypatch.setattr(extras.importlib.metadata, "requires", requires)


@pytest.mark.usefixtures("metadata")
def test_names_what_an_extra_and_the_extras_it_includes_lack() -> None:
    assert missing_packages("server") == ["no-such-package-h10"]
    assert missing_packages("sqlite") == []
    assert missing_packages("unknown") == []


def test_the_suite_runs_with_the_whole_app_installed() -> None:
    assert missing_packages("server") == []
    assert missing_packages("all") == []


def test_nothing_to_check_when_getiickets_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    def requires(name: str) -> list[str]:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(extras.importlib.metadata, "requires", requires)
    assert missing_packages("server") == []
