"""What the HTTP app and the worker are given: use cases and the few ports they touch.

Built once per process by the composition root (``container.py``), which resolves it
from its (async) resources in the lifespan; nothing in here builds anything. HTTP
handlers never see the whole of it: each declares the fields it needs by name
(``ordering: NamedDependency[Ordering]``), provided in ``http/dependencies.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from getiickets.domain.usecases.accounts import Accounts
from getiickets.domain.usecases.catalog import Catalog
from getiickets.domain.usecases.checkin import CheckIn
from getiickets.domain.usecases.checkout import Checkout
from getiickets.domain.usecases.expiry import Expiry
from getiickets.domain.usecases.notifications import Notifications
from getiickets.domain.usecases.ordering import Ordering
from getiickets.domain.usecases.payment_inbox import PaymentInbox
from getiickets.domain.usecases.payment_results import PaymentResults
from getiickets.domain.usecases.refunds import Refunds
from getiickets.domain.usecases.ticket_files import TicketFiles
from getiickets.domain.usecases.waiting_room import WaitingRoom
from getiickets.entrypoints.background import BoundedJobs
from getiickets.entrypoints.http.fresh import FreshResponses
from getiickets.entrypoints.http.idempotency import IdempotencyStore
from getiickets.entrypoints.metrics import Metrics
from getiickets.entrypoints.settings import Settings
from getiickets.ports.clock import Clock
from getiickets.ports.files import FileStorage
from getiickets.ports.hot_state import Cache, RateLimiter
from getiickets.ports.unit_of_work import UnitOfWorkFactory


class ServedFiles(Protocol):
    """Storages without presigning of their own: the app serves their signed links."""

    def check_signature(self, key: str, expires: int, signature: str) -> bool: ...
    async def open_for_serving(self, key: str) -> tuple[bytes, str]: ...


ReadinessCheck = Callable[[], Awaitable[bool]]
Readiness = dict[str, ReadinessCheck]


@dataclass(frozen=True, kw_only=True)
class Services:
    settings: Settings
    accounts: Accounts
    catalog: Catalog
    ordering: Ordering
    checkout: Checkout
    payment_results: PaymentResults
    payment_inbox: PaymentInbox
    refunds: Refunds
    expiry: Expiry
    waiting_room: WaitingRoom
    checkin: CheckIn
    ticket_files: TicketFiles
    notifications: Notifications
    files: FileStorage
    served_files: ServedFiles | None
    uow: UnitOfWorkFactory
    idempotency: IdempotencyStore
    """The HTTP entrypoint's own records of ``Idempotency-Key`` requests."""
    cache: Cache
    rate_limiter: RateLimiter
    clock: Clock
    metrics: Metrics
    fresh_reads: FreshResponses
    """The public event list and details as last encoded, for a fraction of a second."""
    brevo_webhook_token: str | None = None
    """Shared secret Brevo sends as a bearer token with delivery events; None refuses all."""
    twilio_auth_token: str | None = None
    """Checks X-Twilio-Signature on SMS status callbacks; None refuses all."""
    readiness: Readiness = field(default_factory=dict)
    """Named checks for /ready (database, cache...), each bounded by its own timeout."""
    after_response: BoundedJobs = field(default_factory=BoundedJobs)
    """This process's work that follows a response (applying webhooks), a few at a time."""
