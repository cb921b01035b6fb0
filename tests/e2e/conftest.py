"""The whole product over real HTTP: the app as ``getiickets serve`` builds it, under uvicorn.

Every test here runs against both backends:

- ``embedded``: nothing set but DATA_DIR, APP_BASE_URL and PORT, so SQLite under a
  temporary directory, in-process hot state, local files and the provider sandbox
  mounted at /sandbox, exactly what a new user gets;
- ``postgres-redis``: DATABASE_URL (a fresh database per module, migrated), REDIS_URL
  (the server's keys under a prefix of its own, removed afterwards) and
  TICKET_SIGNING_KEY: the production shape, with payments going to the sandbox because
  SANDBOX=true says so;
- ``postgres-pooler``: PostgreSQL alone (the SQL inventory, no Redis) through a
  pooler URL, ``?pgbouncer=true&connection_limit=1``: one connection for
  everything, so any use case that waits for a second connection while holding one
  deadlocks here (payments did).

APP_BASE_URL is the server's own address, so checkout links, the sandbox's webhooks
and the callback all come back to it. One server per module and backend: tests keep
out of each other's way with their own accounts, buyers and events. The sandbox's
state is handed to the app by the fixture, so a test can read what the simulators
received and sent (the signed webhook bodies, for one).
"""

from __future__ import annotations

import concurrent.futures
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import msgspec
import pytest

from getiickets.adapters.sqlalchemy.migrate import upgrade
from getiickets.entrypoints.asgi import build_app
from getiickets.entrypoints.settings import load_settings
from getiickets.sandbox.state import SandboxState
from tests.conftest import RUN_ID, fresh_database, redis_keys_removed
from tests.contract.live_server import base_url_of, free_socket, serve
from tests.e2e.story import Api, LiveApp

BACKENDS = (
    pytest.param("embedded", id="embedded"),
    pytest.param(
        "postgres-redis", id="postgres-redis", marks=[pytest.mark.postgres, pytest.mark.redis]
    ),
    pytest.param("postgres-pooler", id="postgres-pooler", marks=[pytest.mark.postgres]),
)
POOLER_QUERY = "pgbouncer=true&connection_limit=1"
"""A transaction pooler's usual configuration (Supabase's, for one): one connection per process."""
SHORT_TTL_SECONDS = 3
"""Below the 60 s that RESERVATION_TTL_SECONDS allows: set on the settings object after
``load_settings``, so that expiry and late payments happen within a test's patience."""


@pytest.fixture(scope="module", params=BACKENDS)
def app_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    """The app on a free port of 127.0.0.1, with the default 15-minute reservations."""
    with live_app(request, request.param, tmp_path_factory.mktemp("data")) as app:
        yield app


@pytest.fixture(scope="module", params=BACKENDS)
def short_ttl_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    """The app with reservations of ``SHORT_TTL_SECONDS``: orders expire while we watch."""
    data_dir = tmp_path_factory.mktemp("data")
    with live_app(request, request.param, data_dir, reservation_ttl=SHORT_TTL_SECONDS) as app:
        yield app


@pytest.fixture
def api(app_server: LiveApp) -> Iterator[Api]:
    with Api(app_server) as client:
        yield client


@pytest.fixture
def short_ttl_api(short_ttl_server: LiveApp) -> Iterator[Api]:
    with Api(short_ttl_server) as client:
        yield client


@contextmanager
def live_app(
    request: pytest.FixtureRequest,
    backend: str,
    data_dir: Path,
    *,
    reservation_ttl: int | None = None,
    environ_extra: dict[str, str] | None = None,
) -> Iterator[LiveApp]:
    with ExitStack() as stack:
        sock = free_socket()
        stack.callback(sock.close)  # serve closes it too; this covers a failed setup
        base_url = base_url_of(sock)
        environ = {
            "DATA_DIR": str(data_dir),
            "APP_BASE_URL": base_url,
            "PORT": str(sock.getsockname()[1]),
        }
        redis_prefix = None
        if backend == "postgres-redis":
            redis_url = request.getfixturevalue("redis_url")
            redis_prefix = f"e2e:{RUN_ID}:{uuid.uuid4().hex[:8]}:"
            stack.enter_context(redis_keys_removed(redis_url, redis_prefix))
            environ |= {
                "DATABASE_URL": _database(request, stack),
                "REDIS_URL": redis_url,
                # Servers of other runs and modules (each on its own database) must not
                # read each other's cached event lists and login counters.
                "REDIS_KEY_PREFIX": redis_prefix,
                "TICKET_SIGNING_KEY": secrets.token_urlsafe(32),
                # A server runs the simulators only when asked by name.
                "SANDBOX": "true",
                "SANDBOX_OUTBOX_TOKEN": secrets.token_urlsafe(16),
            }
        elif backend == "postgres-pooler":
            url = _database(request, stack)
            environ |= {
                "DATABASE_URL": f"{url}{'&' if '?' in url else '?'}{POOLER_QUERY}",
                "TICKET_SIGNING_KEY": secrets.token_urlsafe(32),
                "SANDBOX": "true",
                "SANDBOX_OUTBOX_TOKEN": secrets.token_urlsafe(16),
            }
        settings = load_settings(environ | (environ_extra or {}))
        if reservation_ttl is not None:
            settings = msgspec.structs.replace(settings, reservation_ttl_seconds=reservation_ttl)
        _in_a_thread(upgrade, settings.migration_url)
        sandbox = SandboxState()
        app = build_app(settings, sandbox_state=sandbox)
        stack.enter_context(serve(app, sock, lifespan="on"))
        yield LiveApp(backend=backend, base_url=base_url, settings=settings, sandbox=sandbox)


def _database(request: pytest.FixtureRequest, stack: ExitStack) -> str:
    request.getfixturevalue("postgres_dsn")  # the server is there, or skip / fail
    return stack.enter_context(fresh_database("e2e"))


def _in_a_thread(work: Callable[..., None], *args: object) -> None:
    """Run ``work`` on a thread of its own: it may start an event loop, and the calling
    thread may have one running already (Playwright's sync API keeps one)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work, *args).result()
