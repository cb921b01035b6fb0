"""The app as ``getiickets serve`` builds it in the embedded default, on a port of its own.

Who may do what does not depend on the storage behind it, so one backend is enough
here; payments still go through the mounted sandbox over real HTTP, which is why the
server runs under uvicorn rather than an in-process test client.
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
