"""`getiickets serve` on its HTTP server (granian): the embedded default's lifespan and
in-process worker run in its server process, SIGTERM stops it cleanly, `--workers N`
serves from N processes, and a killed server leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from getiickets.entrypoints.settings import load_settings
from getiickets.sandbox.state import SandboxState
from tests.contract.live_server import free_socket
from tests.e2e.story import Api, LiveApp, guest, wait_for

CLI = [sys.executable, "-m", "getiickets.entrypoints.cli"]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with free_socket() as sock:
        port: int = sock.getsockname()[1]
    return port


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    port = _free_port()
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("PAYSTACK_", "BREVO_", "TWILIO_", "AWS_", "REDIS_", "DATABASE_", "SANDBOX")
        )
        and key not in {"TICKET_SIGNING_KEY", "RUN_WORKER_IN_PROCESS"}
    }
    return environ | {
        "DATA_DIR": str(tmp_path),
        "PORT": str(port),
        "APP_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "INFO",
        **extra,
    }


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serving(environ: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    subprocess.run([*CLI, "db", "upgrade"], env=environ, check=True, capture_output=True)  # noqa: S603
    with log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [*CLI, "serve", *args], env=environ, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: _answers(f"{environ['APP_BASE_URL']}/health"), "serve", within=60)
        yield server
    finally:
        if server.poll() is None:
            for child in psutil.Process(server.pid).children(recursive=True):
                child.kill()
            server.kill()
            server.wait(10)


def test_the_embedded_default_serves_runs_its_worker_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    environ = _environment(tmp_path)
    log = tmp_path / "serve.log"
    with serving(environ, log) as server:
        app = LiveApp(
            backend="embedded",
            base_url=environ["APP_BASE_URL"],
            settings=load_settings(environ),
            sandbox=SandboxState(),
        )
        with Api(app) as api:
            organizer = api.register("organizer")
            event = api.create_event(
                organizer, [{"name": "Community", "price": "0", "capacity": 5}]
            )
            buyer = guest()
            order = api.place_order(event, {"Community": 1}, buyer=buyer).json()
            assert order["status"] == "paid"
            # Only the in-process worker (started by the lifespan) sends the tickets.
            wait_for(lambda: api.sent_to(buyer["email"]), "the tickets email", within=30)

        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    text = log.read_text()
    assert "worker started" in text
    assert "worker stopped" in text  # the lifespan's shutdown ran


@pytest.mark.postgres
@pytest.mark.redis
def test_several_server_processes_serve_and_die_with_a_killed_server(
    tmp_path: Path, fresh_postgres_dsn: str, redis_url: str, redis_prefix: str
) -> None:
    environ = _environment(
        tmp_path,
        DATABASE_URL=fresh_postgres_dsn,
        REDIS_URL=redis_url,
        REDIS_KEY_PREFIX=redis_prefix,
        TICKET_SIGNING_KEY="serve-server-test-key",
        SANDBOX="true",
        RUN_WORKER_IN_PROCESS="false",
    )
    with serving(environ, tmp_path / "serve.log", "--workers", "2") as server:
        children = psutil.Process(server.pid).children(recursive=True)
        assert len(children) == 2
        for _ in range(20):
            assert _answers(f"{environ['APP_BASE_URL']}/health")

        server.send_signal(signal.SIGKILL)  # no chance to stop its children itself
        server.wait(10)
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
        deadline = time.monotonic() + 5
        while _answers(f"{environ['APP_BASE_URL']}/health"):
            assert time.monotonic() < deadline, "something still serves the port"
            time.sleep(0.2)
