"""Scale-out: two API processes, two workers, one PostgreSQL, one Redis, one sandbox.

The deployment the README's "Running at scale" describes, shrunk onto one machine:
two ``getiickets serve`` processes on ports of their own (the test alternates its
requests between them, as a load balancer would), two ``getiickets worker`` processes,
one database and one Redis prefix. Paystack, Brevo and Twilio are ONE standalone
``getiickets sandbox`` process reached by URL, as staging reaches the providers' test
modes: a sandbox mounted in each API process would give each its own transactions and
its own outbox, and a webhook could reach the process that never saw the payment.

A rush of more attempts than seats, then 200 purchases paid at the sandbox's checkout
form (which sends the signed ``charge.success`` webhook), then the proof, from the
database, Redis and the sandbox: nothing oversold, every paid order holds exactly its
tickets, every buyer got exactly one email and one SMS, and nobody saw a 5xx.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis
from bench.app import app_env, gather_bounded, order_body, organizer_with_event
from bench.services import free_port, process, tool

from getiickets.adapters.sqlalchemy.migrate import upgrade
from getiickets.sandbox.config import SandboxConfig

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

SEATS = 200
"""Purchases to complete: one seat each, so exactly this many attempts can win."""
EXTRA_ATTEMPTS = 40
"""Attempts beyond the seats, racing the others: each must get 409 ``sold_out``."""
CONCURRENCY = 32
"""Requests in flight at once across both API processes."""
SETTLE_SECONDS = 45.0
"""How long payments, tickets, emails and SMS may take after the last checkout."""
STARTUP_SECONDS = 30.0

# The standalone sandbox's published credentials (the simulators check them).
SANDBOX = SandboxConfig()
_LEAKY = ("PAYSTACK_", "BREVO_", "TWILIO_", "AWS_", "REDIS_", "SANDBOX", "DIRECT_URL")


@dataclass
class Deployment:
    api_urls: list[str]
    sandbox_url: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    log_dir: Path = Path()

    def logs(self) -> str:
        """The end of every process's log, for a failure message."""
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}"
            for log in sorted(self.log_dir.glob("*.log"))
        )


def _environment(
    database_url: str, redis_url: str, prefix: str, *, data_dir: Path, api_port: int, sandbox: str
) -> dict[str, str]:
    """Every process's settings: the bench's, pointed at this test's stores and the sandbox.

    ``bench.services.process`` starts children with this machine's environment plus
    these: a provider or AWS variable set in the shell is blanked (an empty value is
    unset to the settings), so the run never reaches a real provider or bucket.
    """
    blanked = {key: "" for key in os.environ if key.startswith(_LEAKY)}
    return blanked | app_env(
        database_url,
        prefix,
        api_port,
        sandbox,
        REDIS_URL=redis_url,
        DATA_DIR=str(data_dir),
        BREVO_API_KEY=SANDBOX.brevo_api_key,
        BREVO_BASE_URL=f"{sandbox}/brevo/v3",
        TWILIO_ACCOUNT_SID=SANDBOX.twilio_account_sid,
        TWILIO_AUTH_TOKEN=SANDBOX.twilio_auth_token,
        TWILIO_PHONE_NUMBER="+15005550006",
        TWILIO_BASE_URL=f"{sandbox}/twilio",
        # The two workers below do all background work; API processes only answer.
        RUN_WORKER_IN_PROCESS="false",
    )


@contextmanager
def scaled_out(
    database_url: str, redis_url: str, prefix: str, tmp_path: Path
) -> Iterator[Deployment]:
    """Sandbox, two API processes and two workers, each an OS process, stopped afterwards.

    Their logs go where ``BENCH_LOG_DIR`` says (the caller points it into ``tmp_path``)."""
    api_ports = [free_port(), free_port()]
    sandbox_port = free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    api_urls = [f"http://127.0.0.1:{port}" for port in api_ports]
    # APP_BASE_URL (links, Twilio's status callbacks) is the load balancer's address in
    # production; here API 1 stands for it. Paystack's webhooks go to API 2, so a
    # payment started on one process is completed by the other half the time.
    environ = _environment(
        database_url,
        redis_url,
        prefix,
        data_dir=tmp_path / "data",
        api_port=api_ports[0],
        sandbox=sandbox_url,
    )
    log_dir = Path(os.environ["BENCH_LOG_DIR"])
    deployment = Deployment(api_urls=api_urls, sandbox_url=sandbox_url, log_dir=log_dir)
    getiickets = tool("getiickets")
    with ExitStack() as stack:
        try:
            started = deployment.processes
            started["sandbox"] = stack.enter_context(
                process(
                    [getiickets, "sandbox", "--port", str(sandbox_port),
                     "--webhook-url", f"{api_urls[1]}/api/v1/webhooks/paystack"],
                    env={"LOG_LEVEL": "WARNING"},
                    ready_url=f"{sandbox_url}/outbox",
                    log_name="sandbox",
                    within=STARTUP_SECONDS,
                )
            )  # fmt: skip
            for index in range(2):
                started[f"worker-{index + 1}"] = stack.enter_context(
                    process([getiickets, "worker"], env=environ, log_name=f"worker-{index + 1}")
                )
            for index, port in enumerate(api_ports):
                started[f"api-{index + 1}"] = stack.enter_context(
                    process(
                        [getiickets, "serve", "--port", str(port)],
                        env=environ,
                        ready_url=f"{api_urls[index]}/ready",
                        log_name=f"api-{index + 1}",
                        within=STARTUP_SECONDS,
                    )
                )
            yield deployment
        except Exception as error:
            error.add_note(deployment.logs())  # pytest shows it with the failure
            raise


class Answers:
    """Every HTTP answer the test received, from any process: none may be a 5xx."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int]] = []

    async def record(self, response: httpx.Response) -> None:
        self.seen.append(
            (f"{response.request.method} {response.request.url.path}", response.status_code)
        )

    def server_errors(self) -> list[tuple[str, int]]:
        return [(what, status) for what, status in self.seen if status >= 500]


def _buyer(index: int) -> dict[str, str]:
    return {
        "email": f"buyer-{index}@scale.example",
        "name": f"Buyer {index}",
        "phone": f"+234803{index:07d}",
    }


@dataclass
class Placed:
    index: int
    status: int
    body: dict[str, Any]


async def _rush(apis: list[httpx.AsyncClient], event: dict[str, Any]) -> list[Placed]:
    """Every attempt at once (bounded), alternating between the API processes."""

    async def attempt(index: int) -> Placed:
        answer = await apis[index % 2].post(
            "/api/v1/orders", json=order_body(event) | {"buyer": _buyer(index)}
        )
        return Placed(index, answer.status_code, answer.json())

    return await gather_bounded(CONCURRENCY, [attempt(i) for i in range(SEATS + EXTRA_ATTEMPTS)])


async def _pay(apis: list[httpx.AsyncClient], checkout: httpx.AsyncClient, placed: Placed) -> str:
    """Start the payment on the other API process, then press Pay at the sandbox's form."""
    order = placed.body
    started = await apis[(placed.index + 1) % 2].post(
        "/api/v1/payments/initialize",
        json={"order_id": order["id"]},
        headers={"X-Order-Token": order["access_token"]},
    )
    assert started.status_code == 200, started.text
    paid = await checkout.post(
        started.json()["authorization_url"], data={"action": "pay", "card": "success"}
    )
    assert paid.status_code == 303, paid.text
    return str(started.json()["reference"])


async def _eventually(what: str, check: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within} s")
        await asyncio.sleep(0.25)


@dataclass
class Facts:
    orders: dict[str, asyncpg.Record]
    tickets_per_order: Counter[str]
    quantities: dict[str, int]
    distinct_ticket_numbers: int
    outbox: Counter[tuple[str, str, str]]


async def _facts(database_url: str) -> Facts:
    connection = await asyncpg.connect(database_url)
    try:
        orders = await connection.fetch(
            "SELECT id, status, order_number, buyer_email, buyer_phone FROM orders"
        )
        tickets = await connection.fetch("SELECT order_id, ticket_number, status FROM tickets")
        lines = await connection.fetch(
            "SELECT order_id, sum(quantity) AS quantity FROM order_lines GROUP BY order_id"
        )
        outbox = await connection.fetch("SELECT order_id, channel, status FROM outbox")
    finally:
        await connection.close()
    return Facts(
        orders={row["id"]: row for row in orders},
        tickets_per_order=Counter(row["order_id"] for row in tickets if row["status"] == "valid"),
        quantities={row["order_id"]: int(row["quantity"]) for row in lines},
        distinct_ticket_numbers=len({row["ticket_number"] for row in tickets}),
        outbox=Counter((row["order_id"], row["channel"], row["status"]) for row in outbox),
    )


def _stock_in_redis(redis_url: str, prefix: str, ticket_type_id: str) -> dict[str, int]:
    """The inventory's own counters (``RedisInventory``'s keys, one hash tag per type)."""
    base = f"{prefix}inv:{{tt:{ticket_type_id}}}:"
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        capacity, sold, available = client.hmget(f"{base}meta", "capacity", "sold", "available")
        held = sum(int(quantity) for quantity in client.hvals(f"{base}quantities"))
    finally:
        client.close()
    return {"capacity": int(capacity), "sold": int(sold), "available": int(available), "held": held}


async def _scenario(
    deployment: Deployment, database_url: str, event: dict[str, Any], token: str
) -> dict[str, Any]:
    answers = Answers()
    hooks = {"response": [answers.record]}
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with (
        httpx.AsyncClient(
            base_url=deployment.api_urls[0], timeout=30, limits=limits, event_hooks=hooks
        ) as api_1,
        httpx.AsyncClient(
            base_url=deployment.api_urls[1], timeout=30, limits=limits, event_hooks=hooks
        ) as api_2,
        httpx.AsyncClient(timeout=30, limits=limits, event_hooks=hooks) as checkout,
        httpx.AsyncClient(base_url=deployment.sandbox_url, timeout=30) as sandbox,
    ):
        apis = [api_1, api_2]
        placed = await _rush(apis, event)
        won = [attempt for attempt in placed if attempt.status == 201]
        references = await gather_bounded(
            CONCURRENCY, [_pay(apis, checkout, attempt) for attempt in won]
        )

        async def everything_sent() -> bool:
            facts = await _facts(database_url)
            paid = sum(order["status"] == "paid" for order in facts.orders.values())
            sent = sum(n for (_, _, status), n in facts.outbox.items() if status == "sent")
            return paid == len(won) and sent == 2 * len(won)

        async def callbacks_answered() -> bool:
            deliveries = (await sandbox.get("/_control/twilio/deliveries")).json()
            # Queued, sent, delivered: three status callbacks per SMS, each POSTed once.
            return len(deliveries) == 3 * len(won) and all(d["attempts"] for d in deliveries)

        await _eventually("every order paid and its messages sent", everything_sent, SETTLE_SECONDS)
        await _eventually("every SMS status callback answered", callbacks_answered, 10)
        sales = await api_2.get(
            f"/api/v1/events/{event['id']}/sales", headers={"Authorization": f"Bearer {token}"}
        )
        return {
            "placed": placed,
            "won": won,
            "references": references,
            "answers": answers,
            "sales": sales.json(),
            "outbox": (await sandbox.get("/outbox")).json(),
            "webhooks": (await sandbox.get("/_control/paystack/deliveries")).json(),
            "callbacks": (await sandbox.get("/_control/twilio/deliveries")).json(),
        }


def test_two_api_processes_and_two_workers_sell_out_without_overselling_or_resending(
    fresh_postgres_dsn: str,
    redis_url: str,
    redis_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database_url = fresh_postgres_dsn
    monkeypatch.setenv("BENCH_LOG_DIR", str(tmp_path / "logs"))
    upgrade(database_url)

    with scaled_out(database_url, redis_url, redis_prefix, tmp_path) as deployment:
        stage = organizer_with_event(deployment.api_urls[0], capacity=SEATS)
        event = stage["event"]
        run = asyncio.run(_scenario(deployment, database_url, event, stage["token"]))
        exited = {
            name: p.returncode for name, p in deployment.processes.items() if p.poll() is not None
        }
        assert not exited, f"processes died: {exited}\n{deployment.logs()}"

    placed, won = run["placed"], run["won"]
    facts = asyncio.run(_facts(database_url))
    ticket_type_id = event["ticket_types"][0]["id"]

    # The rush: exactly the seats were sold, every other attempt was told sold_out, and
    # both API processes did both.
    statuses = Counter(attempt.status for attempt in placed)
    assert statuses == {201: SEATS, 409: EXTRA_ATTEMPTS}
    assert {attempt.body["code"] for attempt in placed if attempt.status == 409} == {"sold_out"}
    assert {attempt.index % 2 for attempt in won} == {0, 1}

    # No oversell, in the database and in Redis's counters.
    won_ids = {attempt.body["id"] for attempt in won}
    assert set(facts.orders) == won_ids, "an order exists that no 201 announced, or one is missing"
    assert {order["status"] for order in facts.orders.values()} == {"paid"}
    stock = _stock_in_redis(redis_url, redis_prefix, ticket_type_id)
    assert stock["sold"] <= stock["capacity"] == SEATS
    assert stock["available"] + stock["held"] + stock["sold"] == stock["capacity"]
    assert stock == {"capacity": SEATS, "sold": SEATS, "available": 0, "held": 0}
    [sales] = run["sales"]["ticket_types"]
    assert (sales["capacity"], sales["sold"], sales["held"], sales["available"]) == (
        SEATS, SEATS, 0, 0,
    )  # fmt: skip

    # Every paid order holds exactly its tickets, each issued once.
    assert facts.tickets_per_order == Counter(facts.quantities)
    assert sum(facts.tickets_per_order.values()) == SEATS == facts.distinct_ticket_numbers

    # Exactly one email and one SMS per paid order: queued once, sent once, and
    # accepted once by the providers (the sandbox's outbox).
    assert facts.outbox == Counter(
        {(order_id, channel, "sent"): 1 for order_id in won_ids for channel in ("email", "sms")}
    )
    emails = [entry for entry in run["outbox"] if entry["channel"] == "email"]
    texts = [entry for entry in run["outbox"] if entry["channel"] == "sms"]
    by_email = {order["buyer_email"]: order for order in facts.orders.values()}
    assert Counter(to for entry in emails for to in entry["to"]) == Counter(
        dict.fromkeys(by_email, 1)
    )
    for entry in emails:
        assert by_email[entry["to"][0]]["order_number"] in entry["text"]
    assert Counter(to for entry in texts for to in entry["to"]) == Counter(
        {order["buyer_phone"]: 1 for order in facts.orders.values()}
    )

    # Nobody saw a 5xx: not the buyers, not Paystack's webhooks, not Twilio's callbacks.
    assert run["answers"].server_errors() == []
    webhooks = run["webhooks"]
    assert sorted(hook["event"] for hook in webhooks) == ["charge.success"] * SEATS
    assert all(hook["delivered"] for hook in webhooks), [h for h in webhooks if not h["delivered"]]
    attempts = [a["status_code"] for d in webhooks + run["callbacks"] for a in d["attempts"]]
    assert set(attempts) == {200}, Counter(attempts)
