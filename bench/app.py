"""getiickets itself under load: the processes as a deployment runs them.

One ``getiickets serve`` (or several, for the sell-out), ``getiickets worker``
processes, and the standalone Paystack sandbox (``getiickets sandbox``), all against
one PostgreSQL database and one Redis prefix, all run from the app as a deployment
installs it (``getiickets[server]``, see ``services.ensure_server_venv``). Payments go
to the sandbox by URL with its own secret key, exactly as a staging deployment would
point at Paystack's test mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.services import REDIS_URL, free_port, process, server_tool

SANDBOX_SECRET = "sk_test_getiickets_sandbox"  # noqa: S105 - the simulator's published key
PASSWORD = "bench password 1"  # noqa: S105


@dataclass
class Deployment:
    base_url: str
    env: dict[str, str]
    api: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sandbox_url: str = ""


def app_env(dsn: str, prefix: str, port: int, sandbox_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": prefix,
        "TICKET_SIGNING_KEY": secrets.token_hex(32),
        "APP_BASE_URL": f"http://127.0.0.1:{port}",
        "PAYSTACK_SECRET_KEY": SANDBOX_SECRET,
        "PAYSTACK_BASE_URL": f"{sandbox_url}/paystack",
        "LOG_LEVEL": "WARNING",
        "DATA_DIR": "bench/results/data",
        # The workers run as processes of their own, as in a deployment.
        "RUN_WORKER_IN_PROCESS": "false",
        **extra,
    }


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [server_tool("getiickets"), "db", "upgrade"],
        env={**_os_env(), **env},
        check=True,
        capture_output=True,
    )


@contextlib.contextmanager
def deployment(
    dsn: str, prefix: str, *, api_processes: int = 1, workers: int = 1, **extra: str
) -> Iterator[Deployment]:
    port = free_port()
    sandbox_port = free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env = app_env(dsn, prefix, port, sandbox_url, **extra)
    migrate(env)
    with contextlib.ExitStack() as stack:
        # No webhook URL: the bench sends the signed webhooks itself, at its own pace.
        stack.enter_context(
            process(
                [server_tool("getiickets"), "sandbox", "--port", str(sandbox_port)],
                env={"LOG_LEVEL": "WARNING"},
                ready_url=f"{sandbox_url}/outbox",
                log_name="sandbox",
            )
        )
        api = stack.enter_context(
            process(
                [
                    server_tool("getiickets"),
                    "serve",
                    "--port",
                    str(port),
                    "--workers",
                    str(api_processes),
                ],
                env=env,
                ready_url=f"http://127.0.0.1:{port}/health",
                log_name="api",
            )
        )
        for index in range(workers):
            stack.enter_context(
                process([server_tool("getiickets"), "worker"], env=env, log_name=f"worker-{index}")
            )
        yield Deployment(
            base_url=f"http://127.0.0.1:{port}", env=env, api=[api], sandbox_url=sandbox_url
        )


def _os_env() -> dict[str, str]:
    import os  # noqa: PLC0415

    return dict(os.environ)


# ---------------------------------------------------------------- setting the stage


def organizer_with_event(base_url: str, capacity: int, price: str = "5000.00") -> dict[str, Any]:
    """Registers an organizer and publishes an event with one hot ticket type."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        email = f"organizer-{uuid.uuid4().hex[:8]}@bench.example"
        account = http.post(
            "/api/v1/auth/register",
            json={
                "email": email,
                "password": PASSWORD,
                "name": "Bench Organizer",
                "role": "organizer",
            },
        )
        account.raise_for_status()
        token = account.json()["token"]
        starts = datetime.now(UTC) + timedelta(days=30)
        event = http.post(
            "/api/v1/events",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "title": f"Rush {uuid.uuid4().hex[:6]}",
                "description": "The bench's hot event.",
                "category": "music",
                "city": "Lagos",
                "venue": "Eko Hotel",
                "starts_at": starts.isoformat(),
                "ticket_types": [
                    {"name": "Regular", "price": price, "capacity": capacity, "max_per_order": 10}
                ],
            },
        )
        event.raise_for_status()
        event_id = event.json()["id"]
        published = http.post(
            f"/api/v1/events/{event_id}/publish", headers={"Authorization": f"Bearer {token}"}
        )
        published.raise_for_status()
        return {"token": token, "event": published.json()}


def order_body(event: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    return {
        "event_id": event["id"],
        "items": [{"ticket_type_id": event["ticket_types"][0]["id"], "quantity": quantity}],
        "buyer": {"email": "rush@bench.example", "name": "Rush Buyer", "phone": "+2348030000000"},
    }


async def gather_bounded(concurrency: int, jobs: list[Any]) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(job) for job in jobs))


def sign(body: bytes) -> str:
    return hmac.new(SANDBOX_SECRET.encode(), body, hashlib.sha512).hexdigest()


async def paid_webhooks(
    base_url: str, event: dict[str, Any], count: int
) -> list[tuple[str, dict[str, str]]]:
    """Places ``count`` orders, starts their payments and pays each at the sandbox's
    checkout (which sends no webhook here); returns the signed ``charge.success``
    webhooks the bench will deliver, as (body, headers)."""
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:

        async def one() -> tuple[str, dict[str, str]]:
            placed = await http.post("/api/v1/orders", json=order_body(event))
            placed.raise_for_status()
            order = placed.json()
            started = await http.post(
                "/api/v1/payments/initialize",
                json={"order_id": order["id"]},
                headers={"X-Order-Token": order["access_token"]},
            )
            started.raise_for_status()
            checkout = started.json()
            paid = await http.post(
                checkout["authorization_url"], data={"action": "pay", "card": "success"}
            )
            if paid.status_code >= 400:
                raise RuntimeError(
                    f"sandbox checkout refused: {paid.status_code} {paid.text[:200]}"
                )
            body = json.dumps(
                {
                    "event": "charge.success",
                    "data": {
                        "reference": checkout["reference"],
                        "status": "success",
                        "amount": int(float(order["total"]) * 100),
                        "currency": order["currency"],
                    },
                },
                separators=(",", ":"),
            )
            return body, {"x-paystack-signature": sign(body.encode())}

        return await gather_bounded(32, [one() for _ in range(count)])


async def wait_until_paid(dsn: str, expected: int, within: float) -> tuple[int, float]:
    """Polls the database until ``expected`` orders are paid; (paid, seconds taken)."""
    import asyncpg  # noqa: PLC0415

    connection = await asyncpg.connect(dsn)
    started = time.monotonic()
    try:
        while True:
            paid = await connection.fetchval("SELECT count(*) FROM orders WHERE status = 'paid'")
            elapsed = time.monotonic() - started
            if paid >= expected or elapsed > within:
                return int(paid), elapsed
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
