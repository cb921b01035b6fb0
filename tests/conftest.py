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


def _run_postgres(statement: str) -> None:
    """Run one admin statement on a loop of its own, in a thread: the calling fixture
    may be set up while pytest-asyncio's loop is already running."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _postgres(statement)).result()


async def _postgres(statement: str) -> None:
    import asyncpg  # noqa: PLC0415 - only tests that need Postgres pay for the import

    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A fresh, empty database for this test run (libpq-style DSN, no driver prefix)."""
    name = f"getiickets_test_{RUN_ID}"
    try:
        _run_postgres(f'CREATE DATABASE "{name}"')
    except Exception as error:
        service_missing("PostgreSQL", f"{POSTGRES_ADMIN_DSN}: {error}")
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    _run_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
    import redis  # noqa: PLC0415

    prefix = f"test:{RUN_ID}:{uuid.uuid4().hex[:8]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
