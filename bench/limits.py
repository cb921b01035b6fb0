"""Measure C, K1 and Kb on this machine, in this run."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from bench.kernels import KERNEL_TABLES
from bench.services import REDIS_URL, free_port, process, tool
from bench.wrk import LoadResult, get_script, post_script, run_wrk

HOT_TYPE = "hot"


@contextlib.contextmanager
def granian(
    factory: str, env: dict[str, str] | None = None, name: str = "granian"
) -> Iterator[str]:
    port = free_port()
    command = [
        tool("granian"),
        "--interface",
        "asgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--no-ws",
        "--log-level",
        "warning",
        factory,
    ]
    base = f"http://127.0.0.1:{port}"
    with process(command, env=env, ready_url=f"{base}/ready-probe", log_name=name):
        yield base


@contextlib.contextmanager
def uvicorn(
    factory: str, env: dict[str, str] | None = None, name: str = "uvicorn"
) -> Iterator[str]:
    port = free_port()
    command = [
        tool("uvicorn"),
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    base = f"http://127.0.0.1:{port}"
    with process(command, env=env, ready_url=f"{base}/ready-probe", log_name=name):
        yield base


def ceiling(seconds: float, connections: int) -> dict[str, LoadResult]:
    results = {}
    for name, server in (("granian", granian), ("uvicorn-uvloop-httptools", uvicorn)):
        with server("bench.kernels:ceiling_app", name=f"ceiling-{name}") as base:
            run_wrk(f"{base}/json", get_script(), seconds=2, connections=connections)  # warm up
            results[name] = run_wrk(
                f"{base}/json", get_script(), seconds=seconds, connections=connections
            )
    return results


def order_kernels(dsn: str, prefix: str, seconds: float, connections: int) -> dict[str, LoadResult]:
    _prepare(dsn, prefix)
    env = {"BENCH_DSN": dsn, "BENCH_REDIS_URL": REDIS_URL, "BENCH_PREFIX": prefix}
    body = f'{{"ticket_type_id": "{HOT_TYPE}", "quantity": 1}}'
    results = {}
    for name, factory in (
        ("K1", "bench.kernels:one_commit_app"),
        ("Kb", "bench.kernels:group_commit_app"),
    ):
        with granian(factory, env=env, name=f"kernel-{name}") as base:
            results[name] = run_wrk(
                f"{base}/orders", post_script(body), seconds=seconds, connections=connections
            )
    return results


def _prepare(dsn: str, prefix: str) -> None:
    import asyncpg  # noqa: PLC0415
    import redis  # noqa: PLC0415

    async def tables() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(KERNEL_TABLES)
        finally:
            await connection.close()

    asyncio.run(tables())
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.set(f"{prefix}{{tt:{HOT_TYPE}}}:available", 10_000_000)
    finally:
        client.close()
