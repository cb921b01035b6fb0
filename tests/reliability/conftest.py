"""Private servers to break: a ``redis-server`` and a PostgreSQL cluster of the test's own.

The shared servers of the other suites must never be stopped, frozen or flushed, so
every fault test starts what it breaks: ``redis-server`` on a free port (no
persistence, like a cache restarted empty), and a PostgreSQL cluster made by
``initdb`` and run by ``pg_ctl`` from the Debian binaries, on a free port with its
socket directory in a temporary directory. PostgreSQL refuses to run as root, so when
the tests run as root the cluster runs as the ``postgres`` user, in a directory it owns.

A missing binary skips the test and says why; under ``CI=true`` it fails instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dependency_injector import providers

from getiickets.adapters.sqlalchemy.migrate import upgrade
from getiickets.entrypoints.asgi import build_app
from getiickets.entrypoints.container import Container, running_services
from getiickets.entrypoints.settings import Settings, load_settings
from getiickets.entrypoints.worker import RoundReport, Worker
from getiickets.sandbox.state import SandboxState
from tests.conftest import service_missing
from tests.contract.live_server import base_url_of, free_socket, serve
from tests.e2e.story import Api, LiveApp

STARTUP_SECONDS = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait(condition: object, what: str, within: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {within} s")
        time.sleep(0.05)


class PrivateRedis:
    """A ``redis-server`` of one test: kill it, restart it empty, freeze it, thaw it."""

    def __init__(self, binary: str) -> None:
        self._binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - our own binary, our own arguments
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: _answers(self.port), f"redis-server on port {self.port} starting")

    def kill(self) -> None:
        """SIGKILL: everything it held is gone (no persistence)."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait(timeout=10)

    def restart_empty(self) -> None:
        self.kill()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: connections are accepted by the kernel, nothing is answered."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)
        self.kill()


class PrivatePostgres:
    """A PostgreSQL cluster of one test module, stopped and started at will."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self._bin = bin_dir
        self._root = root
        self._data = root / "data"
        self._sockets = root / "sockets"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        command = [str(self._bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(  # noqa: S603 - the Debian binaries, our own arguments
            command, check=check, capture_output=True, timeout=60
        )

    def create(self) -> None:
        self._sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self._root, "postgres", "postgres")
            shutil.chown(self._sockets, "postgres", "postgres")
        self._run("initdb", "-D", str(self._data), "-U", "postgres", "-A", "trust", "-N")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self._sockets} -c listen_addresses=127.0.0.1 "
            # No fsync: an immediate stop kills the server, not the machine, so what was
            # written is still in the OS's cache and a 201 stays durable; commits must
            # still wait for their WAL write (synchronous_commit stays on).
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self._data), "-o", options, "-l", str(self._root / "log"),
            "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast``: sessions are ended, then a clean shutdown; ``immediate``: a crash."""
        self._run("pg_ctl", "-D", str(self._data), "-m", mode, "-w", "-t", "30", "stop")

    def close(self) -> None:
        self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "stop", check=False)


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        service_missing("redis-server", "not on PATH (Debian package redis-server)")
        raise AssertionError  # unreachable: service_missing skips or fails
    server = PrivateRedis(binary)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = _postgres_bin()
    if bin_dir is None:
        service_missing("initdb/pg_ctl", "no /usr/lib/postgresql/*/bin (Debian postgresql)")
        raise AssertionError  # unreachable
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        service_missing("runuser", "needed to run PostgreSQL as the postgres user")
    root = Path(tempfile.mkdtemp(prefix="getiickets-pg-"))
    server = PrivatePostgres(bin_dir, root)
    try:
        server.create()
        server.start()
        yield server
    finally:
        server.close()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def app_on(environ: dict[str, str], data_dir: Path) -> Iterator[Api]:
    """The app as ``getiickets serve`` builds it, in a thread of this process (so ``caplog``
    sees its log lines), migrated first; payments go to the mounted sandbox."""
    with ExitStack() as stack:
        sock = free_socket()
        stack.callback(sock.close)
        base_url = base_url_of(sock)
        settings = load_settings(
            {
                "DATA_DIR": str(data_dir),
                "APP_BASE_URL": base_url,
                "PORT": str(sock.getsockname()[1]),
                "TICKET_SIGNING_KEY": secrets.token_urlsafe(32),
                # Fail fast while a dependency is down: the tests measure the answer time.
                "DB_POOL_TIMEOUT_SECONDS": "3",
                # Outside the embedded default the sandbox must be asked for by name.
                "SANDBOX": "true",
                **environ,
            }
        )
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(upgrade, settings.migration_url).result()
        sandbox = SandboxState()
        stack.enter_context(serve(build_app(settings, sandbox_state=sandbox), sock, lifespan="on"))
        app = LiveApp(backend="reliability", base_url=base_url, settings=settings, sandbox=sandbox)
        yield stack.enter_context(Api(app))


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def recorded_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record of the block, from any thread. Not ``caplog``: the app's startup
    (the sandbox's Litestar logging config) replaces the root logger's handlers."""
    recorder = _Recorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        yield recorder.records
    finally:
        root.removeHandler(recorder)


def problems(records: list[logging.LogRecord]) -> list[str]:
    """The warnings and errors among ``records``, readable in an assertion message."""
    return [
        f"{r.name}: {r.getMessage()[:200]}{' +traceback' if r.exc_info else ''}"
        for r in records
        if r.levelno >= logging.WARNING
    ]


class MovableClock:
    """The system's time plus an offset the test moves: retries and leases come due
    without waiting for them."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by


def run_worker_rounds(settings: Settings, clock: MovableClock, rounds: int) -> list[RoundReport]:
    """``rounds`` rounds of the worker, in this process, on its own services and loop."""

    async def work() -> list[RoundReport]:
        def with_clock(container: Container) -> None:
            container.clock.override(providers.Object(clock))

        async with running_services(settings, with_clock) as services:
            worker = Worker(services)
            return [await worker.run_once() for _ in range(rounds)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work()).result()


def process_environ(api: Api, **extra: str) -> dict[str, str]:
    """The environment of a ``getiickets`` process beside the in-thread app: same
    database, Redis, keys and data directory, and the app's sandbox as its providers."""
    settings = api.app.settings
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PAYSTACK_", "BREVO_", "TWILIO_", "AWS_", "REDIS_", "DATABASE_"))
    }
    environ |= {
        "DATABASE_URL": settings.effective_database_url,
        "TICKET_SIGNING_KEY": settings.ticket_signing_key or "",
        "DATA_DIR": str(settings.data_dir),
        "APP_BASE_URL": api.app.base_url,
        "SANDBOX": "true",
        "LOG_LEVEL": "INFO",
    }
    if settings.redis_url:
        environ |= {"REDIS_URL": settings.redis_url, "REDIS_KEY_PREFIX": settings.redis_key_prefix}
    return environ | extra
