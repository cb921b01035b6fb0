"""What the bench runs against: PostgreSQL and Redis on loopback, started if down, a
temporary database and a Redis prefix of its own, the app installed as a deployment
installs it, and servers in subprocesses."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

POSTGRES_ADMIN_DSN = os.environ.get(
    "BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
VENV_BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
SERVER_VENV = ROOT / ".venv-server"
"""The app's processes run from here: ``getiickets[server]`` and nothing else."""


def ensure_services() -> None:
    """Start the machine's PostgreSQL and Redis if they are not answering; install wrk
    and the app (``ensure_server_venv``) if they are not there."""
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode != 0:
        versions = sorted(os.listdir("/etc/postgresql"))
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
            check=True,
        )
    if not _redis_answers():
        Path("/var/lib/redis").mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "-::1",
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                "/var/lib/redis",
            ],
            check=True,
        )
    _wait(
        "PostgreSQL",
        lambda: (
            subprocess.run(
                ["pg_isready", "-q", "-h", "127.0.0.1"],
                check=False,
            ).returncode
            == 0
        ),
    )
    _wait("Redis", _redis_answers)
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    ensure_server_venv()


def ensure_server_venv() -> None:
    """Install the app as a deployment does, in a venv of its own: the ``server`` extra
    at the pinned versions (constraints.txt), editable so it runs this checkout's code.

    The dev venv (.venv) also holds the test tools, and libraries import what they find
    installed: dependency-injector loads pydantic-settings and werkzeug when present
    (moto and schemathesis bring them), ~14 MB in every API process that a production
    install never has. Reinstalled when pyproject.toml or constraints.txt change.
    """
    stamp = SERVER_VENV / ".installed"
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    print(f"==> installing getiickets[server] into {SERVER_VENV} (once)", file=sys.stderr)
    python = SERVER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(SERVER_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-c", "constraints.txt", "-e", ".[server]"],
        cwd=ROOT,
        check=True,
    )
    stamp.write_text(wanted)


def _redis_answers() -> bool:
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def _wait(what: str, ready: object, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {within} s")
        time.sleep(0.2)


def admin(statement: str) -> None:
    import asyncpg  # noqa: PLC0415

    async def run() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


@contextlib.contextmanager
def temporary_database(label: str) -> Iterator[str]:
    """A fresh database, dropped afterwards; yields its libpq DSN."""
    name = f"getiickets_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def redis_prefix(label: str) -> Iterator[str]:
    import redis  # noqa: PLC0415

    prefix = f"bench:{label}:{uuid.uuid4().hex[:8]}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
        finally:
            client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def process(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    ready_url: str | None = None,
    log_name: str = "server",
    within: float = 60.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess in its own group, waited for at ``ready_url``, stopped afterwards."""
    log_dir = Path(os.environ.get("BENCH_LOG_DIR", "bench/results/logs"))
    log_dir.mkdir(parents=True, exist_ok=True)
    log = (log_dir / f"{log_name}.log").open("wb")
    child = subprocess.Popen(
        command,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        if ready_url is not None:
            _wait_http(child, ready_url, within, log_name)
        yield child
    finally:
        stop(child)
        log.close()


def stop(child: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if child.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(5)


def _wait_http(child: subprocess.Popen[bytes], url: str, within: float, name: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{name} exited with {child.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} was not ready at {url} within {within} s")


def tool(name: str) -> str:
    """A console script of this venv (getiickets, granian, uvicorn)."""
    return str(VENV_BIN / name)


def server_tool(name: str) -> str:
    """A console script of the app as deployed (``ensure_server_venv``)."""
    return str(SERVER_VENV / "bin" / name)
