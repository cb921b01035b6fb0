"""Shared test infrastructure: real servers when they run, a clear word when they don't.

Tests that need PostgreSQL, Redis or moto ask for the fixtures below. On a laptop
without the server they skip and say why; under CI (``CI=true``) a missing server
is a failure, so a green CI run always means the real adapters were exercised.

Every test run gets its own PostgreSQL database and its own Redis key prefix, so
leftovers never leak from one run into the next.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]


def service_missing(service: str, reason: str) -> None:
    """Skip (laptop) or fail (CI) a test whose server is not there."""
    message = f"{service} is not available ({reason})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(f"{message}; start it to run this test")


def run_postgres_admin(statement: str) -> None:
    """Run one admin statement on a loop of its own, in a thread: the caller may be
    inside a running event loop (pytest-asyncio's, or Playwright's)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _postgres(statement)).result()


async def _postgres(statement: str) -> None:
    import asyncpg  # noqa: PLC0415 - only tests that need Postgres pay for the import

    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def fresh_database(purpose: str) -> Iterator[str]:
    """An empty database of its own for this run, dropped afterwards; yields its DSN."""
    name = f"getiickets_{purpose}_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    run_postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        run_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_keys_removed(redis_url: str, prefix: str) -> Iterator[None]:
    """Delete every key under ``prefix`` once the block ends."""
    import redis  # noqa: PLC0415

    try:
        yield
    finally:
        client = redis.Redis.from_url(redis_url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A fresh, empty database for this test run (libpq-style DSN, no driver prefix)."""
    try:
        run_postgres_admin("SELECT 1")
    except Exception as error:
        service_missing("PostgreSQL", f"{POSTGRES_ADMIN_DSN}: {error}")
    with fresh_database("test") as dsn:
        yield dsn


@pytest.fixture
def fresh_postgres_dsn(postgres_dsn: str) -> Iterator[str]:
    """An empty database of this test alone, next to the run's database."""
    with fresh_database("scratch") as dsn:
        yield dsn


@pytest.fixture(scope="session")
def postgres_url(postgres_dsn: str) -> str:
    """The same database as an SQLAlchemy asyncpg URL."""
    return postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        service_missing("Redis", f"{REDIS_URL}: {error}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test alone; its keys are deleted afterwards."""
    prefix = f"test:{RUN_ID}:{uuid.uuid4().hex[:8]}:"
    with redis_keys_removed(redis_url, prefix):
        yield prefix
