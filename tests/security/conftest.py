"""The app as a hostile client meets it: served by uvicorn on a free port, like tests/e2e.

One embedded app per module (SQLite under a temporary directory, in-process hot state,
the provider sandbox mounted): what a bad request can do to the HTTP edge is the same
on every backend, and this is the one that starts in a second.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import live_app
from tests.e2e.story import Api, LiveApp


@pytest.fixture(scope="module")
def app_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    with live_app(request, "embedded", tmp_path_factory.mktemp("data")) as app:
        yield app


@pytest.fixture
def api(app_server: LiveApp) -> Iterator[Api]:
    with Api(app_server) as client:
        yield client
