"""The worker: everything that happens after the request, with retries.

One loop, several chores, each claimed safely so any number of workers can run side by
side (leases and SKIP LOCKED claims in the repositories):
- expire orders whose reservation ended, after asking Paystack about those with a
  payment under way (Paystack sends no webhook for failures);
- deliver the outbox (email, SMS) with backoff;
- process the open payment events: webhook retries, and checks with Paystack of every
  initialized payment on a backoff (30 s, 1, 2, 5 min, then every 5 min), so a missed
  webhook costs seconds, not the reservation;
- ask for refunds that could not be requested before;
- render and store ticket QR images and PDFs.

Stopping (SIGTERM) lets the current round finish; anything claimed but not finished
comes back when its lease ends, so nothing is lost.

An outage (database or Redis down) fails every chore every round: the worker keeps
going, says so once per kind of failure (not a traceback per chore per second), and
says when a chore works again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from getiickets.adapters.sqlalchemy.errors import is_unavailable
from getiickets.domain.model.errors import CacheUnavailableError, DatabaseUnavailableError
from getiickets.entrypoints.logs import FailureLog
from getiickets.entrypoints.services import Services

logger = logging.getLogger(__name__)

BATCH = 50
IDLE_PAUSE_SECONDS = 1.0


@dataclass
class RoundReport:
    done: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        """A full batch somewhere means more may be waiting: go again at once."""
        return any(count >= BATCH for count in self.done.values())


class Worker:
    def __init__(self, services: Services, *, idle_pause: float = IDLE_PAUSE_SECONDS) -> None:
        self._services = services
        self._idle_pause = idle_pause
        self._failures = FailureLog(logger)
        self._chores: dict[str, Callable[[], Awaitable[int]]] = {
            "expired_orders": lambda: services.expiry.expire_due_orders(BATCH),
            "messages": lambda: services.notifications.deliver_due(BATCH),
            "webhook_retries": lambda: services.payment_inbox.retry_inbox(BATCH),
            "refunds": lambda: services.refunds.process_due_refunds(BATCH),
            "ticket_files": lambda: services.ticket_files.render_missing(BATCH),
        }

    async def run_once(self) -> RoundReport:
        """One pass over every chore; a failing chore is logged and the rest go on."""
        report = RoundReport()
        for name, chore in self._chores.items():
            try:
                report.done[name] = await chore()
            except Exception as error:
                self._failed(f"chore {name}", error)
                report.failed.append(name)
            else:
                self._failures.recovered(f"chore {name}", "works again")
        await self._report(report)
        return report

    def _failed(self, what: str, error: Exception) -> None:
        if isinstance(error, DatabaseUnavailableError | CacheUnavailableError) or is_unavailable(
            error
        ):
            # An outage: what is down is the news, the stack is not.
            self._failures.failed(f"{what} (dependency down)", f"{error}; retried next round")
        else:
            self._failures.failed(
                f"{what} ({type(error).__name__})",
                "failed; retried next round",
                level=logging.ERROR,
                exc_info=error,
            )

    async def _report(self, report: RoundReport) -> None:
        metrics = self._services.metrics
        metrics.reservations_expired.inc(report.done.get("expired_orders", 0))
        try:
            async with self._services.uow() as uow:
                backlog = await uow.outbox.backlog()
        except Exception as error:
            self._failed("outbox backlog metric", error)
            return
        self._failures.recovered("outbox backlog metric", "measured again")
        metrics.record_backlog(backlog.count, backlog.oldest_created_at, self._services.clock.now())

    async def run(self, stop: asyncio.Event) -> None:
        logger.info("worker started")
        while not stop.is_set():
            report = await self.run_once()
            if report.busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._idle_pause)
        logger.info("worker stopped")
