"""`getiickets worker` as an operator runs it: it works the queues, and SIGTERM stops it
cleanly after the round in hand, leaving nothing claimed that it did not record."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.adapters.sqlalchemy.migrate import upgrade
from getiickets.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from getiickets.domain.model.notifications import (
    Channel,
    MessageStatus,
    OutboxMessage,
    Template,
)
from tests.contract.stored_outbox import stored_message

CLI = [sys.executable, "-m", "getiickets.entrypoints.cli"]


def _environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PAYSTACK_", "BREVO_", "TWILIO_", "AWS_", "REDIS_", "SANDBOX"))
    }
    return environ | {
        "DATABASE_URL": database_url,
        "TICKET_SIGNING_KEY": "worker-test-key",
        # Mail and SMS go to the simulators; a server must ask for them by name.
        "SANDBOX": "true",
        "DATA_DIR": str(tmp_path),
        # No sandbox runs beside this worker: mail to it fails and is retried later,
        # which is exactly the kind of work a stopping worker must not lose.
        "APP_BASE_URL": "http://127.0.0.1:9",
        "LOG_LEVEL": "INFO",
    }


async def _queue_messages(database_url: str, count: int) -> list[str]:
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    ids = [f"worker-test-{index}" for index in range(count)]
    try:
        async with SqlAlchemyUnitOfWork(engine) as uow:
            for message_id in ids:
                await uow.outbox.add(
                    OutboxMessage(
                        id=message_id,
                        channel=Channel.SMS,
                        template=Template.TICKET_CONFIRMATION,
                        recipient="+2348012345678",
                        recipient_name="Ada",
                        order_id="no-such-order",
                        data={"order_number": "GT-TEST-0001"},
                        created_at=now,
                        next_attempt_at=now - timedelta(seconds=1),
                    )
                )
            await uow.commit()
    finally:
        await engine.dispose()
    return ids


async def _statuses(database_url: str, ids: list[str]) -> list[OutboxMessage]:
    engine = create_engine(database_url)
    try:
        found = [
            await stored_message(lambda: SqlAlchemyUnitOfWork(engine), message_id)
            for message_id in ids
        ]
    finally:
        await engine.dispose()
    return [message for message in found if message is not None]


def test_the_worker_works_the_outbox_and_stops_cleanly_on_sigterm(
    fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    database_url = fresh_postgres_dsn
    upgrade(database_url)
    ids = asyncio.run(_queue_messages(database_url, 5))
    worker = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [*CLI, "worker"],
        env=_environment(database_url, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            messages = asyncio.run(_statuses(database_url, ids))
            if all(message.status is not MessageStatus.PENDING for message in messages):
                break
            time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()

    assert worker.returncode == 0, output
    assert "worker stopped" in output
    # The order these messages announce does not exist (was never paid), so the worker
    # settles each without sending anything and records that: nothing is left leased.
    messages = asyncio.run(_statuses(database_url, ids))
    assert [(m.status, m.last_error) for m in messages] == [
        (MessageStatus.SKIPPED, "the order is no longer paid")
    ] * len(ids)


def test_the_embedded_default_refuses_a_separate_worker(tmp_path: Path) -> None:
    environ = {
        key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}
    } | {"DATA_DIR": str(tmp_path)}

    result = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [*CLI, "worker"], env=environ, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 2
    assert "runs its worker inside `getiickets serve`" in result.stderr
