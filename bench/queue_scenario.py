"""Waiting-room scenario: a burst of joins, polls at the page's rate, orders behind the door.

Against a running getiickets (loopback only), it:

1. registers an organizer, creates and publishes an event with one free ticket type
   large enough for everyone, and switches its queue on at ``admit_per_minute``;
2. sends ``joins`` joins as fast as ``concurrency`` connections allow (the burst);
3. for ``duration`` seconds, polls every waiting buyer at the rate the waiting page
   uses (``poll_seconds`` of its estimated wait, 2 to 15 s) and has every admitted
   buyer place one order with its admission token;
4. reports join and poll throughput and latency (p50, p99), orders by status, the
   measured admission rate against the setting, and Kendall's tau between the order
   the server recorded the joins in (the sequence sealed in each queue token) and the
   order they were admitted in (1.0: nobody overtook anyone).

The server must allow this many joins from one address:
``QUEUE_JOINS_PER_CLIENT_PER_MINUTE`` at least ``joins``.

    python bench/queue_scenario.py http://127.0.0.1:8000 --joins 10000

``run(base_url, ...)`` is what a bench harness calls; it answers a dict of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from getiickets.domain.model.waiting_room import poll_seconds

API = "/api/v1"
PASSWORD = "bench password 123"  # noqa: S105 - a throwaway account on a test server


@dataclass
class Buyer:
    email: str
    token: str = ""
    sequence: int = 0
    admitted_at: datetime | None = None
    admission_token: str | None = None
    next_poll: float = 0.0
    ordered: bool = False


@dataclass
class Timings:
    seconds: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def add(self, started: float, status: int) -> None:
        self.seconds.append(time.perf_counter() - started)
        self.statuses[status] += 1

    def summary(self, wall: float) -> dict[str, Any]:
        ordered = sorted(self.seconds)
        return {
            "requests": len(ordered),
            "per_second": round(len(ordered) / wall, 1) if wall else 0.0,
            "p50_ms": round(_quantile(ordered, 0.50) * 1000, 1),
            "p99_ms": round(_quantile(ordered, 0.99) * 1000, 1),
            "statuses": {str(code): count for code, count in sorted(self.statuses.items())},
        }


async def run(
    base_url: str,
    *,
    joins: int = 10_000,
    admit_per_minute: int = 3000,
    duration: float = 60.0,
    concurrency: int = 64,
) -> dict[str, Any]:
    """The scenario against ``base_url`` (loopback only); figures as a dict."""
    host = urlsplit(base_url).hostname
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("the queue scenario runs over loopback only")
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) as http:
        event_id = await _queued_event(http, admit_per_minute)
        buyers = [Buyer(email=f"q-{uuid.uuid4().hex[:12]}@bench.test") for _ in range(joins)]
        gate = asyncio.Semaphore(concurrency)

        join_times = Timings()
        started = time.perf_counter()
        await asyncio.gather(*(_join(http, gate, event_id, b, join_times) for b in buyers))
        join_wall = time.perf_counter() - started

        poll_times, order_times = Timings(), Timings()
        opened = time.perf_counter()
        deadline = opened + duration
        await asyncio.gather(
            *(
                _follow(http, gate, event_id, buyer, deadline, poll_times, order_times)
                for buyer in buyers
            )
        )
        wall = time.perf_counter() - opened

    admitted = sorted(
        (b for b in buyers if b.admitted_at is not None),
        key=lambda b: b.admitted_at or datetime.min.replace(tzinfo=UTC),
    )
    first, last = (admitted[0].admitted_at, admitted[-1].admitted_at) if admitted else (None, None)
    span = (last - first).total_seconds() if first and last else 0.0
    measured = (len(admitted) - 1) / span * 60 if span > 0 else 0.0
    return {
        "scenario": "queue",
        "joins": join_times.summary(join_wall),
        "polls": poll_times.summary(wall),
        "orders": order_times.summary(wall),
        "admitted": len(admitted),
        "admit_per_minute_set": admit_per_minute,
        "admit_per_minute_measured": round(measured, 1),
        "kendall_tau_join_vs_admission": _kendall_tau([b.sequence for b in admitted]),
        "duration_seconds": round(wall, 1),
    }


async def _queued_event(http: httpx.AsyncClient, admit_per_minute: int) -> str:
    email = f"organizer-{uuid.uuid4().hex[:10]}@bench.test"
    registered = await http.post(
        f"{API}/auth/register",
        json={"email": email, "password": PASSWORD, "name": "Bench", "role": "organizer"},
    )
    registered.raise_for_status()
    auth = {"Authorization": f"Bearer {registered.json()['token']}"}
    created = await http.post(
        f"{API}/events",
        headers=auth,
        json={
            "title": f"Queue bench {uuid.uuid4().hex[:6]}",
            "description": "",
            "category": "music",
            "city": "Lagos",
            "venue": "Bench Arena",
            "starts_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
            "ticket_types": [{"name": "Free", "price": "0", "capacity": 1_000_000}],
        },
    )
    created.raise_for_status()
    event_id: str = created.json()["id"]
    (await http.post(f"{API}/events/{event_id}/publish", headers=auth)).raise_for_status()
    queue = {"enabled": True, "admit_per_minute": admit_per_minute, "session_minutes": 10}
    (await http.put(f"{API}/events/{event_id}/queue", headers=auth, json=queue)).raise_for_status()
    return event_id


async def _join(
    http: httpx.AsyncClient,
    gate: asyncio.Semaphore,
    event_id: str,
    buyer: Buyer,
    timings: Timings,
) -> None:
    async with gate:
        started = time.perf_counter()
        response = await _send(http, "POST", f"{API}/events/{event_id}/queue", email=buyer.email)
        timings.add(started, response.status_code if response else 0)
    if response is not None and response.status_code == 201:
        _update(buyer, response.json(), time.perf_counter())


async def _follow(  # noqa: PLR0917 - one buyer's whole story
    http: httpx.AsyncClient,
    gate: asyncio.Semaphore,
    event_id: str,
    buyer: Buyer,
    deadline: float,
    polls: Timings,
    orders: Timings,
) -> None:
    """Poll as the page does until admitted, then order once."""
    if not buyer.token:
        return
    while buyer.admission_token is None:
        wait = buyer.next_poll - time.perf_counter()
        if buyer.next_poll > deadline:
            return
        if wait > 0:
            await asyncio.sleep(wait)
        async with gate:
            if time.perf_counter() > deadline:
                return  # the backlog behind a saturated server is not drained past the end
            started = time.perf_counter()
            response = await _send(http, "GET", f"{API}/queue/{buyer.token}")
            polls.add(started, response.status_code if response else 0)
        if response is None or response.status_code != 200:
            buyer.next_poll = time.perf_counter() + 15
            continue
        _update(buyer, response.json(), time.perf_counter())
    async with gate:
        if time.perf_counter() > deadline:
            return
        started = time.perf_counter()
        placed = await _send(
            http,
            "POST",
            f"{API}/orders",
            headers={"X-Admission-Token": buyer.admission_token},
            event_id=event_id,
            items=[{"ticket_type_id": await _free_type(http, event_id), "quantity": 1}],
            buyer={"email": buyer.email, "name": "Bench Buyer"},
        )
        orders.add(started, placed.status_code if placed else 0)
    buyer.ordered = placed is not None and placed.status_code == 201


async def _send(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    **body: Any,
) -> httpx.Response | None:
    """One request; None (counted as status 0) when the connection failed."""
    try:
        return await http.request(method, path, headers=headers, json=body or None)
    except httpx.TransportError:
        return None


_TYPES: dict[str, str] = {}


async def _free_type(http: httpx.AsyncClient, event_id: str) -> str:
    if event_id not in _TYPES:
        event = (await http.get(f"{API}/events/{event_id}")).json()
        _TYPES[event_id] = event["ticket_types"][0]["id"]
    return _TYPES[event_id]


def _update(buyer: Buyer, answer: dict[str, Any], now: float) -> None:
    buyer.token = answer["queue_token"]
    buyer.sequence = _sequence(buyer.token)
    if answer["status"] == "admitted":
        buyer.admission_token = answer["admission_token"]
        expires = datetime.fromisoformat(answer["admission_expires_at"])
        buyer.admitted_at = expires  # same session length for all: orders like admission
        return
    buyer.next_poll = now + poll_seconds(answer["estimated_wait_seconds"])


def _sequence(queue_token: str) -> int:
    """The place the server sealed in the token (signed, not secret): its join order."""
    payload = queue_token.split(".", 1)[0]
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return int(fields[2])


def _kendall_tau(values: list[int]) -> float:
    """Kendall's tau between list order and value order (1.0: already sorted)."""
    n = len(values)
    if n < 2:
        return 1.0
    # O(n log n) by counting inversions with a merge sort.
    inversions = _inversions(list(values))
    pairs = n * (n - 1) // 2
    return round(1 - 2 * inversions / pairs, 6)


def _inversions(values: list[int]) -> int:
    if len(values) <= 1:
        return 0
    middle = len(values) // 2
    left, right = values[:middle], values[middle:]
    count = _inversions(left) + _inversions(right)
    i = j = k = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            values[k] = left[i]
            i += 1
        else:
            values[k] = right[j]
            count += len(left) - i
            j += 1
        k += 1
    values[k:] = left[i:] + right[j:]
    return count


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("--joins", type=int, default=10_000)
    parser.add_argument("--admit-per-minute", type=int, default=3000)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    figures = asyncio.run(
        run(
            args.base_url,
            joins=args.joins,
            admit_per_minute=args.admit_per_minute,
            duration=args.duration,
            concurrency=args.concurrency,
        )
    )
    json.dump(figures, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
