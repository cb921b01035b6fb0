"""`getiickets serve` and `worker` as an operator starts them: unsafe settings stop them
at once with one line naming the variable; a real deployment serves no sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from getiickets.entrypoints.asgi import build_app, create_app_from_environment
from getiickets.entrypoints.container import sandbox_config
from getiickets.entrypoints.settings import SettingsError, load_settings
from tests.contract.live_server import free_socket

CLI = [sys.executable, "-m", "getiickets.entrypoints.cli"]
SERVER = {
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres",
    "TICKET_SIGNING_KEY": "serve-test-key",
    "PAYSTACK_SECRET_KEY": "sk_test_not_a_real_key",
}


def _environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PAYSTACK_", "BREVO_", "TWILIO_", "AWS_", "REDIS_", "SANDBOX"))
        and key not in {"DATABASE_URL", "TICKET_SIGNING_KEY"}
    }
    return (
        environ | SERVER | {"DATA_DIR": str(tmp_path), "RUN_WORKER_IN_PROCESS": "false"} | overrides
    )


def _run(command: str, environ: dict[str, str], *args: str) -> tuple[int, str]:
    """Exit code and stderr; a process that starts serving instead fails the test."""
    # A session of its own: a server that did start (with worker processes) is
    # stopped as a whole.
    process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [*CLI, command, *args],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"`getiickets {command}` kept running instead of refusing its settings")
    return process.returncode, stderr


def _free_port() -> int:
    with free_socket() as sock:
        port: int = sock.getsockname()[1]
    return port


def test_serve_with_a_database_and_no_paystack_key_refuses_to_start(tmp_path: Path) -> None:
    environ = _environment(tmp_path, PAYSTACK_SECRET_KEY="", PORT=str(_free_port()))

    status, stderr = _run("serve", environ)

    assert status != 0
    [line] = [line for line in stderr.splitlines() if "PAYSTACK_SECRET_KEY" in line]
    assert "SANDBOX=true" in line


def test_worker_with_a_database_and_no_paystack_key_refuses_to_start(tmp_path: Path) -> None:
    status, stderr = _run("worker", _environment(tmp_path, PAYSTACK_SECRET_KEY=""))

    assert status != 0
    assert "PAYSTACK_SECRET_KEY" in stderr


def test_serve_on_several_processes_without_redis_refuses_to_start(tmp_path: Path) -> None:
    environ = _environment(tmp_path, PORT=str(_free_port()))

    status, stderr = _run("serve", environ, "--workers", "2")

    assert status != 0
    assert "REDIS_URL" in stderr


@pytest.fixture
def real_deployment(tmp_path: Path, postgres_dsn: str) -> Iterator[str]:
    """`getiickets serve` configured for real Paystack (a key it never calls here)."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    environ = _environment(
        tmp_path, DATABASE_URL=postgres_dsn, PORT=str(port), APP_BASE_URL=base_url
    )
    server = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [*CLI, "serve"], env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_until_healthy(server, base_url)
        yield base_url
    finally:
        server.terminate()
        server.communicate(timeout=20)


def _wait_until_healthy(server: subprocess.Popen[str], base_url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    pytest.fail(f"the server did not become healthy:\n{server.communicate()[0]}")


def test_a_real_deployment_serves_no_sandbox(real_deployment: str) -> None:
    for path in ("/sandbox/outbox", "/sandbox/paystack/transaction", "/sandbox/_control/reset"):
        assert httpx.get(f"{real_deployment}{path}").status_code == 404, path


def test_the_sandbox_is_mounted_only_when_asked_for_by_name(tmp_path: Path) -> None:
    def mounted(environ: dict[str, str]) -> bool:
        app = build_app(load_settings(environ | {"DATA_DIR": str(tmp_path)}))
        return any(route.path == "/sandbox" for route in app.routes)

    assert mounted({})  # the embedded default
    assert mounted(SERVER | {"PAYSTACK_SECRET_KEY": "", "SANDBOX": "true"})
    assert not mounted(SERVER)
    with pytest.raises(SettingsError, match="PAYSTACK_SECRET_KEY"):
        mounted(SERVER | {"PAYSTACK_SECRET_KEY": ""})


def test_the_asgi_factory_refuses_unsafe_settings_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in _environment(tmp_path, PAYSTACK_SECRET_KEY="").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PAYSTACK_SECRET_KEY")

    with pytest.raises(SystemExit) as exited:
        create_app_from_environment()

    assert exited.value.code != 0
    [line] = capsys.readouterr().err.splitlines()
    assert "PAYSTACK_SECRET_KEY" in line


def test_secrets_in_urls_never_reach_the_access_log(tmp_path: Path) -> None:
    """The embedded default as `make run` starts it, with uvicorn's access log."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    environ = {
        key: value
        for key, value in _environment(tmp_path).items()
        if key not in {"DATABASE_URL", "TICKET_SIGNING_KEY", "PAYSTACK_SECRET_KEY"}
    } | {"PORT": str(port), "APP_BASE_URL": base_url}
    subprocess.run([*CLI, "db", "upgrade"], env=environ, check=True, timeout=60)  # noqa: S603
    server = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [*CLI, "serve"], env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_until_healthy(server, base_url)
        order = httpx.get(f"{base_url}/api/v1/orders/no-such-order?token=SECRET-ORDER-TOKEN")
        file = httpx.get(f"{base_url}/files/t/x.pdf?expires=4102444800&signature=SECRET-SIG")
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)

    assert (order.status_code, file.status_code) == (404, 404), output
    assert "SECRET" not in output
    assert "/api/v1/orders/no-such-order?token=***" in output
    assert "/files/t/x.pdf?expires=***&signature=***" in output


def test_a_server_sandbox_serves_its_outbox_only_to_the_token_holder(tmp_path: Path) -> None:
    def inspection(environ: dict[str, str]) -> tuple[bool, str | None]:
        config = sandbox_config(load_settings(environ | {"DATA_DIR": str(tmp_path)}))
        return config.inspection_routes, config.inspection_token

    staging = SERVER | {"PAYSTACK_SECRET_KEY": "", "SANDBOX": "true"}
    assert inspection({}) == (True, None)  # the embedded default: one's own machine
    assert inspection(staging) == (False, None)
    assert inspection(staging | {"SANDBOX_OUTBOX_TOKEN": "t0ken"}) == (True, "t0ken")
