"""Contract suites: one set of tests per port, run against the fake and every real adapter.

Database backends for the repository and unit-of-work contracts:

* ``memory``: a fresh ``InMemoryDatabase``.
* ``sqlalchemy-sqlite``: a fresh file per test, a copy of one file migrated with
  ``upgrade`` at the start of the session (copying is what keeps the suite fast: a
  migration per test would cost more than the tests).
* ``sqlalchemy-postgres``: the run's PostgreSQL database (``tests/conftest.py``),
  migrated once per session and emptied before each test.

Other contract modules may reuse ``migrated_postgres_url`` and ``sqlite_url``.

The provider adapters' modules share ``sandbox_server``: the sandbox app served for
real, one per module, configured by the module's ``sandbox_config``.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from getiickets.adapters.memory import InMemoryDatabase, InMemoryUnitOfWork
from getiickets.adapters.memory.idempotency import InMemoryIdempotencyUnit
from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.adapters.sqlalchemy.idempotency import SqlAlchemyIdempotencyUnit
from getiickets.adapters.sqlalchemy.metadata import all_tables
from getiickets.adapters.sqlalchemy.migrate import upgrade
from getiickets.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from getiickets.entrypoints.http.idempotency import IdempotencyStore
from getiickets.ports.unit_of_work import UnitOfWorkFactory
from tests.contract.sandbox_server import SandboxServer, serve_sandbox

_HERE = Path(__file__).parent

DATABASE_BACKENDS = [
    "memory",
    "sqlalchemy-sqlite",
    pytest.param("sqlalchemy-postgres", marks=pytest.mark.postgres),
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Marked here rather than file by file, so `-m contract` can never miss a new file.
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.contract)


@pytest.fixture(scope="module")
def sandbox_server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """The sandbox for the requesting module, configured by its ``sandbox_config(hooks_url)``
    (a ``SandboxConfig`` whose webhook URLs point at ``hooks_url``) and given as its
    ``Sandbox`` class: a ``SandboxServer`` with the module's own helpers."""
    module = request.module
    with serve_sandbox(module.sandbox_config, getattr(module, "Sandbox", SandboxServer)) as server:
        yield server


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "getiickets.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite database file of this test alone."""
    path = tmp_path / "getiickets.db"
    # The template's engine is disposed, so its WAL is checkpointed into the file.
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_url: str) -> str:
    upgrade(postgres_url)
    return postgres_url


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def postgres_engine(migrated_postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_postgres_url)
    # Emptied before rather than after each test, so even a test that crashed hard
    # leaves nothing for the next one. DELETE, not TRUNCATE: on tables this small it is
    # ten times faster (TRUNCATE makes new files for every table and its indexes).
    async with engine.begin() as connection:
        for table in reversed(all_tables().sorted_tables):
            await connection.execute(table.delete())
    yield engine
    await engine.dispose()


@pytest.fixture(params=DATABASE_BACKENDS)
def database_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def uow_factory(request: pytest.FixtureRequest, database_backend: str) -> UnitOfWorkFactory:
    """Makes units of work that all share one empty database of the backend under test."""
    if database_backend == "memory":
        database = InMemoryDatabase()
        return lambda: InMemoryUnitOfWork(database)
    fixture = {"sqlalchemy-sqlite": "sqlite_engine", "sqlalchemy-postgres": "postgres_engine"}
    engine: AsyncEngine = request.getfixturevalue(fixture[database_backend])
    return lambda: SqlAlchemyUnitOfWork(engine)


def idempotency_store_beside(uow_factory: UnitOfWorkFactory) -> IdempotencyStore:
    """The HTTP entrypoint's idempotency store on the same database as these units."""
    unit = uow_factory()
    if isinstance(unit, InMemoryUnitOfWork):
        database = unit.database
        return lambda: InMemoryIdempotencyUnit(database)
    assert isinstance(unit, SqlAlchemyUnitOfWork)
    engine = unit.engine
    return lambda: SqlAlchemyIdempotencyUnit(engine)


@pytest.fixture
def idempotency_store(uow_factory: UnitOfWorkFactory) -> IdempotencyStore:
    return idempotency_store_beside(uow_factory)
