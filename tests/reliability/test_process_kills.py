"""The API process and the worker SIGKILLed mid-work, then started again.

- API killed mid-purchase: buyers keep ordering against ``getiickets serve`` (a real
  process, PostgreSQL + a private Redis) when it is SIGKILLed and restarted. Every
  201 is a whole order; an order whose request died with the process is written
  whole or not at all; stock held by an order that was never written (killed between
  reserve and write) is at most what the requests in flight asked for, and only until
  those holds expire; nothing is oversold.
- Worker killed mid-send: ``getiickets worker`` is SIGKILLed while Brevo holds the
  answer to an email it already accepted. The messages it had claimed come back when
  their lease ends, and every email and SMS is delivered exactly once.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from getiickets.adapters.sqlalchemy.migrate import upgrade
from getiickets.entrypoints.settings import load_settings
from getiickets.sandbox.brevo import accepted_emails
from getiickets.sandbox.state import FaultKind, SandboxState
from getiickets.sandbox.twilio import sent_messages
from tests.e2e.story import Api, LiveApp, guest, wait_for
from tests.reliability.conftest import (
    MovableClock,
    PrivateRedis,
    app_on,
    free_port,
    process_environ,
    run_worker_rounds,
)

CLI = [sys.executable, "-m", "getiickets.entrypoints.cli"]
BUYERS = 4
CAPACITY = 2000
"""Enough that the buyers cannot sell out before the restart: at group-commit speed
four of them placed 55 orders within one 0.1 s poll, and a sold-out event left the
wait for sales after the restart to time out."""
DELIVERY_LEASE = timedelta(minutes=5)
"""The outbox's claim lease (``notifications.DELIVERY_LEASE``)."""


class ApiProcess:
    """``getiickets serve`` on a port of its own, killed and started at will."""

    def __init__(self, environ: dict[str, str], log: Path) -> None:
        self.environ = environ
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own CLI
                [*CLI, "serve"], env=self.environ, stdout=log, stderr=subprocess.STDOUT
            )
        url = f"{self.environ['APP_BASE_URL']}/health"
        wait_for(lambda: _answers(url), "the API process to start", within=30)

    def kill(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def api_process(
    private_redis: PrivateRedis, database_dsn: str, tmp_path: Path
) -> Iterator[tuple[ApiProcess, Api]]:
    port = free_port()
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PAYSTACK_", "BREVO_", "TWILIO_", "AWS_", "REDIS_", "DATABASE_"))
    } | {
        "DATABASE_URL": database_dsn,
        "REDIS_URL": private_redis.url,
        "TICKET_SIGNING_KEY": "process-kill-test-key",
        "DATA_DIR": str(tmp_path),
        "APP_BASE_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "SANDBOX": "true",
        "RUN_WORKER_IN_PROCESS": "false",
    }
    settings = load_settings(environ)
    upgrade(settings.migration_url)
    server = ApiProcess(environ, tmp_path / "api.log")
    server.start()
    app = LiveApp(
        backend="process",
        base_url=environ["APP_BASE_URL"],
        settings=settings,
        sandbox=SandboxState(),
    )
    try:
        with Api(app) as api:
            yield server, api
    finally:
        server.kill()


def test_an_api_process_killed_mid_purchase_writes_no_half_order_and_never_oversells(
    private_redis: PrivateRedis, fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    with api_process(private_redis, fresh_postgres_dsn, tmp_path) as (server, api):
        organizer = api.register("organizer")
        event = api.create_event(
            organizer, [{"name": "Regular", "price": "5000.00", "capacity": CAPACITY}]
        )
        created: list[dict[str, Any]] = []
        refused: list[int] = []
        lost: list[str] = []
        stop = threading.Event()

        def buyer() -> None:
            while not stop.is_set():
                try:
                    answer = api.place_order(event, {"Regular": 1}, expect=None)
                except httpx.HTTPError as error:
                    lost.append(type(error).__name__)  # died with the process: outcome unknown
                    continue
                if answer.status_code == 201:
                    created.append(answer.json())
                else:
                    refused.append(answer.status_code)

        with concurrent.futures.ThreadPoolExecutor(BUYERS) as pool:
            running = [pool.submit(buyer) for _ in range(BUYERS)]
            try:
                wait_for(lambda: len(created) >= 2 * BUYERS, "the sale to be under way")
                server.kill()
                wait_for(lambda: len(lost) >= 1, "a request to die with the process")
                server.start()
                after = len(created)
                wait_for(lambda: len(created) >= after + 2 * BUYERS, "sales after the restart")
            finally:
                # Also when a wait fails: the buyers loop until told, and the pool's exit
                # waits for them (the test hung instead of failing).
                stop.set()
            for future in running:
                future.result()

        assert set(refused) <= {409}, Counter(refused)
        for order in created:
            stored = api.order(order)
            assert stored["status"] == "pending"
            assert [line["quantity"] for line in stored["items"]] == [1]
        sales = api.call(
            "GET", f"/api/v1/events/{event['id']}/sales", token=organizer.token, expect=200
        ).json()
        written = sales["orders"].get("pending", 0)
        # Requests cut off by the kill: their order is whole or absent, never half.
        in_flight = BUYERS
        assert len(created) <= written <= len(created) + in_flight, (len(created), written)
        (regular,) = sales["ticket_types"]
        assert regular["sold"] + regular["held"] + regular["available"] == CAPACITY
        # Held: the written orders, plus at most what the killed requests had reserved
        # before they could write their order (until those holds expire).
        assert written <= regular["held"] <= written + in_flight, (written, regular)


def test_a_worker_killed_mid_send_delivers_every_message_exactly_once(
    fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    environ = {"DATABASE_URL": fresh_postgres_dsn, "RUN_WORKER_IN_PROCESS": "false"}
    with app_on(environ, tmp_path) as api:
        organizer = api.register("organizer")
        event = api.create_event(
            organizer, [{"name": "Community", "price": "0", "capacity": 10, "max_per_order": 2}]
        )
        orders = [api.place_order(event, {"Community": 1}, buyer=guest()).json() for _ in range(3)]
        # Brevo takes the first email, then its answer never comes: the worker waits.
        api.app.sandbox.brevo.fail_next(1, FaultKind.LOST_RESPONSE)

        with (tmp_path / "worker.log").open("ab") as log:
            worker = subprocess.Popen(  # noqa: S603 - our own CLI
                [*CLI, "worker"], env=process_environ(api), stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_for(
                lambda: len(accepted_emails(api.app.sandbox)) >= 1,
                "the worker to be mid-send",
                within=30,
            )
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)

        # Another worker, once the dead one's leases have run out.
        clock = MovableClock()
        clock.advance(DELIVERY_LEASE + timedelta(seconds=1))
        run_worker_rounds(api.app.settings, clock, rounds=3)

        emails = Counter(
            email["headers"].get("idempotencyKey", "?")
            for email in accepted_emails(api.app.sandbox)
        )
        assert len(emails) == len(orders), emails
        assert set(emails.values()) == {1}, emails
        texts = Counter(message["to"] for message in sent_messages(api.app.sandbox))
        assert len(texts) == len(orders), texts
        assert set(texts.values()) == {1}, texts
