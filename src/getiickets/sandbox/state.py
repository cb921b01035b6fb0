"""What every simulator shares: a record of what it received, and injected faults.

A test (or a person, through the sandbox's control routes) can tell a simulator to
fail its next N calls in a given way, then watch the adapter retry or give up.
"""

from __future__ import annotations

import asyncio
import enum
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class FaultKind(enum.StrEnum):
    SERVER_ERROR = "500"
    RATE_LIMITED = "429"
    TIMEOUT = "timeout"
    """The simulator holds the request longer than any sane client timeout."""
    MALFORMED = "malformed"
    """A 200 whose body is not the JSON the API documents."""
    LOST_RESPONSE = "lost_response"
    """The request is processed, then its answer is held longer than any sane client
    timeout: the effect happened but the client never hears of it (the case that makes
    blind retries of non-idempotent calls dangerous)."""


@dataclass
class Fault:
    kind: FaultKind
    remaining: int


@dataclass(frozen=True)
class ReceivedRequest:
    provider: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: datetime


@dataclass(frozen=True)
class DeliveryAttempt:
    at: datetime
    status_code: int | None
    """None when no answer came back (refused, timed out)."""
    error: str | None = None


@dataclass
class Delivery:
    """A request a simulator sends out (a webhook, a status callback), with every try."""

    provider: str
    event: str
    url: str
    headers: dict[str, str]
    body: bytes
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    delivered: bool = False
    abandoned: bool = False
    """True once the retry schedule ran out without a success."""


@dataclass
class ProviderState:
    """One simulator's memory. Simulators keep their own domain data beside it."""

    name: str
    received: list[ReceivedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)

    def record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.received.append(
            ReceivedRequest(
                provider=self.name,
                method=method,
                path=path,
                headers=headers,
                body=body,
                received_at=datetime.now(UTC),
            )
        )

    def fail_next(self, count: int, kind: FaultKind) -> None:
        self.faults.append(Fault(kind=kind, remaining=count))

    def take_fault(self) -> FaultKind | None:
        """The fault this call must show, if any (each planned fault is used up in turn)."""
        while self.faults:
            fault = self.faults[0]
            if fault.remaining > 0:
                fault.remaining -= 1
                return fault.kind
            self.faults.pop(0)
        return None

    def reset(self) -> None:
        self.received.clear()
        self.faults.clear()
        self.data.clear()
        self.deliveries.clear()


@dataclass
class SandboxState:
    """All simulators' state; one per sandbox app. A lock guards cross-thread test access."""

    paystack: ProviderState = field(default_factory=lambda: ProviderState("paystack"))
    brevo: ProviderState = field(default_factory=lambda: ProviderState("brevo"))
    twilio: ProviderState = field(default_factory=lambda: ProviderState("twilio"))
    lock: threading.Lock = field(default_factory=threading.Lock)
    background: set[asyncio.Task[None]] = field(default_factory=set)
    """Webhook senders still running; touched only on the sandbox's event loop."""

    def provider(self, name: str) -> ProviderState:
        states = {"paystack": self.paystack, "brevo": self.brevo, "twilio": self.twilio}
        if name not in states:
            raise KeyError(name)
        return states[name]

    def reset(self) -> None:
        """Forget everything received, planned and sent (background senders keep running:
        only their own event loop may cancel them, see ``cancel_background``)."""
        with self.lock:
            for name in ("paystack", "brevo", "twilio"):
                self.provider(name).reset()

    def run_in_background(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Start ``work`` on the running loop, kept until done so it is not collected."""
        task = asyncio.get_running_loop().create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def cancel_background(self) -> None:
        tasks = list(self.background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
