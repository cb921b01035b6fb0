"""The rush scenarios on getiickets itself."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import queue_scenario
from bench.app import (
    deployment,
    gather_bounded,
    order_body,
    organizer_with_event,
    paid_webhooks,
    wait_until_paid,
)
from bench.wrk import LoadResult, get_script, post_script, rotating_post_script, run_wrk

HOT_CAPACITY = 1_000_000
QUEUE_ADMIT_PER_MINUTE = 3000
"""Fixed, not derived from the measured order throughput: the polling load the waiting
pages make depends on it (the page asks every tenth of its estimated wait), so a fixed
rate keeps the poll figures comparable from run to run; 50 buyers/s is well under what
the order path sustains, so the rate measured is the waiting room's, not the orders';
and 10,000 joins keep the line full for 200 s, longer than any follow phase."""


class PeakRss:
    """The peak resident memory of each process of a process tree (the API processes).

    The peak is the kernel's own high-water mark (``VmHWM`` in /proc/<pid>/status), not a
    sample: a spike shorter than any sampling interval (an Argon2id hash takes its 64 MiB
    for ~50 ms) is in it all the same. The tree is walked every 0.2 s only to find the
    processes (granian starts its server processes after the supervisor) and to read each
    one's mark while it is alive; the marks only grow, so the last reading is the peak.
    """

    def __init__(self, pids: list[int]) -> None:
        import psutil  # noqa: PLC0415

        self._processes = [psutil.Process(pid) for pid in pids]
        self._peaks_mb: dict[int, float] = {}
        self._roles: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def peak_per_process_mb(self) -> float:
        return max(self._peaks_mb.values(), default=0.0)

    @property
    def peaks_mb(self) -> dict[str, float]:
        """Each process's peak: granian's supervisor, and the server processes it started."""
        return {f"{self._roles[pid]} {pid}": round(peak, 1) for pid, peak in self._peaks_mb.items()}

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._read()

    def _read(self) -> None:
        import psutil  # noqa: PLC0415

        for root in self._processes:
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            for member in tree:
                peak = _high_water_mark_mb(member.pid)
                if peak is None:
                    continue
                self._roles[member.pid] = "supervisor" if member is root else "server process"
                self._peaks_mb[member.pid] = max(self._peaks_mb.get(member.pid, 0.0), peak)

    @contextmanager
    def sampling(self) -> Iterator[PeakRss]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self._read()  # the processes are still running: the marks as they end


def _high_water_mark_mb(pid: int) -> float | None:
    """``VmHWM`` of a live process, in MiB; None once it is gone (or for a zombie)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


SINGLE_PROCESS_PARTS = ("event_list", "event_detail", "orders", "webhooks")


def single_process(
    dsn: str,
    prefix: str,
    seconds: float,
    connections: int,
    webhooks: int,
    *,
    parts: Collection[str] = SINGLE_PROCESS_PARTS,
) -> dict[str, Any]:
    """One API process and one worker: the event list, detail, orders and webhooks
    (``parts`` of them)."""
    results: dict[str, Any] = {}
    with deployment(dsn, prefix, api_processes=1, workers=1) as app:
        rss = PeakRss([child.pid for child in app.api])
        with rss.sampling():
            stage = organizer_with_event(app.base_url, HOT_CAPACITY)
            event = stage["event"]
            reads = {
                "event_list": f"{app.base_url}/api/v1/events",
                "event_detail": f"{app.base_url}/api/v1/events/{event['id']}",
            }
            for part, url in reads.items():
                if part in parts:
                    run_wrk(url, get_script(), seconds=2, connections=connections)  # warm up
                    results[part] = run_wrk(
                        url, get_script(), seconds=seconds, connections=connections
                    )
            if "orders" in parts:
                body = msgspec_json(order_body(event))
                results["orders"] = run_wrk(
                    f"{app.base_url}/api/v1/orders",
                    post_script(body),
                    seconds=seconds,
                    connections=connections,
                )
            if "webhooks" in parts:
                results["webhooks"] = _webhooks(app.base_url, dsn, seconds, connections, webhooks)
        results["peak_rss_mb"] = round(rss.peak_per_process_mb, 1)
        results["peak_rss_mb_by_process"] = rss.peaks_mb
    return results


def _webhooks(
    base_url: str, dsn: str, seconds: float, connections: int, count: int
) -> dict[str, Any]:
    stage = organizer_with_event(base_url, count * 2)
    requests = asyncio.run(paid_webhooks(base_url, stage["event"], count))
    already = asyncio.run(wait_until_paid(dsn, 0, 0))[0]
    outcome: dict[str, Any] = {}

    def load() -> None:
        outcome["load"] = run_wrk(
            f"{base_url}/api/v1/webhooks/paystack",
            rotating_post_script("/api/v1/webhooks/paystack", requests),
            seconds=seconds,
            connections=connections,
            script_args=["2"],  # wrk's thread count: each thread takes every other body
        )

    loader = threading.Thread(target=load)
    loader.start()
    paid, took = asyncio.run(wait_until_paid(dsn, already + count, within=seconds + 30))
    loader.join()
    load_result: LoadResult = outcome["load"]
    return {
        "orders": count,
        "paid": paid - already,
        "seconds_to_pay_all": round(took, 2),
        "paid_per_second": round((paid - already) / took, 1) if took else 0.0,
        "webhook_requests": load_result.as_json(),
    }


def sell_out(dsn: str, prefix: str, seats: int, attempts: int, connections: int) -> dict[str, Any]:
    """``serve --workers 2`` and 2 workers: ``attempts`` buyers for ``seats`` seats."""
    ttl = 60
    with deployment(
        dsn, prefix, api_processes=2, workers=2, RESERVATION_TTL_SECONDS=str(ttl)
    ) as app:
        stage = organizer_with_event(app.base_url, seats)
        event = stage["event"]
        started = time.monotonic()
        statuses = asyncio.run(_attempts(app.base_url, order_body(event), attempts, connections))
        took = time.monotonic() - started
        counts: dict[str, int] = {}
        for status in statuses:
            counts[str(status)] = counts.get(str(status), 0) + 1
        held = asyncio.run(_held_seats(dsn, event["id"]))
        available_now = _available(app.base_url, event["id"])
        # Holds lapse after the TTL; the worker's sweep expires the orders.
        deadline = time.monotonic() + ttl + 60
        available_later = available_now
        while time.monotonic() < deadline:
            available_later = _available(app.base_url, event["id"])
            if available_later == seats:
                break
            time.sleep(1)
        return {
            "seats": seats,
            "attempts": attempts,
            "statuses": dict(sorted(counts.items())),
            "orders_per_second": round(attempts / took, 1),
            "seats_held_in_database": held,
            "available_after_rush": available_now,
            "available_after_expiry": available_later,
            "oversold": held > seats,
            "ok": held == seats
            and counts.get("201", 0) == seats
            and counts.get("409", 0) == attempts - seats
            and available_later == seats,
        }


async def _attempts(
    base_url: str, body: dict[str, Any], attempts: int, connections: int
) -> list[int]:
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:

        async def one() -> int:
            try:
                return (await http.post("/api/v1/orders", json=body)).status_code
            except httpx.HTTPError:
                return 0

        return await gather_bounded(connections, [one() for _ in range(attempts)])


async def _held_seats(dsn: str, event_id: str) -> int:
    import asyncpg  # noqa: PLC0415

    connection = await asyncpg.connect(dsn)
    try:
        value = await connection.fetchval(
            "SELECT coalesce(sum(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id "
            "WHERE o.event_id = $1 AND o.status IN ('pending', 'paid')",
            event_id,
        )
        return int(value)
    finally:
        await connection.close()


def _available(base_url: str, event_id: str) -> int:
    event = httpx.get(f"{base_url}/api/v1/events/{event_id}", timeout=10).json()
    return int(event["ticket_types"][0]["available"])


def rendering(tickets: int) -> dict[str, Any]:
    """QR PNG + PDF per ticket, one process, as the worker renders them."""
    import msgspec  # noqa: PLC0415

    from getiickets.adapters.rendering.tickets import render_ticket  # noqa: PLC0415
    from getiickets.ports.files import TicketDocument  # noqa: PLC0415

    # Shaped like a signed ticket's GT1.<claims>.<signature> (base64url: byte mode,
    # version 14-H); each ticket its own, as in a sell-out.
    claims, signature = "eyJ0IjoiMDFKSDhYM1ZLUTJaN0I0TjZNOFBRUlNUVVYiLCJlIjoi", "c2lnbmF0dXJl" * 7
    document = TicketDocument(
        event_title="Lagos Jazz Night",
        starts_at=datetime.now(UTC) + timedelta(days=30),
        venue="Eko Hotel",
        city="Lagos",
        holder_name="Adaeze Obi",
        ticket_type_name="Regular",
        ticket_number="T-ABCDEFGH",
        order_number="GT-ABCDEF",
        qr_payload=f"GT1.{claims}MDFKSDhYM1ZLUTJaN0I0TjZNOFBRUlNUVVcifQ.{signature}",
    )
    render_ticket(document)  # warm caches (fonts, etc.)
    started, cpu_started = time.perf_counter(), time.process_time()
    for index in range(tickets):
        payload = f"GT1.{claims}MDFKSDhYM1ZLUTJaN0I0TjZNOFBR{index:016d}.{signature}"
        render_ticket(msgspec.structs.replace(document, qr_payload=payload))
    took, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "tickets": tickets,
        "seconds": round(took, 2),
        "tickets_per_second": round(tickets / took, 1),
        # What one idle core would give: on a shared machine the wall clock also
        # counts the time other processes held the CPU.
        "tickets_per_cpu_second": round(tickets / cpu, 1) if cpu else None,
    }


def msgspec_json(value: Any) -> str:
    import msgspec  # noqa: PLC0415

    return msgspec.json.encode(value).decode()


def queue(
    dsn: str, prefix: str, joins: int, follow_seconds: float, connections: int
) -> dict[str, Any]:
    """The waiting room (1 API process, 1 worker): a burst of joins, then the pages."""
    # The burst comes from one address (wrk): the per-client limit must let it through;
    # the per-email limit is untouched (each join has its own email).
    with deployment(
        dsn, prefix, api_processes=1, workers=1, QUEUE_JOINS_PER_CLIENT_PER_MINUTE=str(joins * 2)
    ) as app:
        return queue_scenario.run(
            app.base_url,
            joins=joins,
            admit_per_minute=QUEUE_ADMIT_PER_MINUTE,
            follow_seconds=follow_seconds,
            connections=connections,
        )
