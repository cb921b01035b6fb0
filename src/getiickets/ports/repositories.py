"""Repositories: collections of aggregates inside a unit of work.

Reads return copies: changing one changes nothing until it is passed to ``save`` and
the unit of work commits. ``save`` checks the aggregate's ``version`` (optimistic
locking) and raises ``ConflictError`` if someone else saved it first; ``add`` raises
``DuplicateError`` (or the specific ``EmailTakenError``) when a unique fact exists.
Repositories never commit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import msgspec

from getiickets.domain.model.catalog import Event

if TYPE_CHECKING:
    from getiickets.domain.model.accounts import User
    from getiickets.domain.model.inventory import StockFacts
    from getiickets.domain.model.notifications import OutboxMessage
    from getiickets.domain.model.orders import Order
    from getiickets.domain.model.payments import InboxEvent
    from getiickets.domain.model.tickets import Ticket

MAX_PAGE_SIZE = 100


class EventQuery(msgspec.Struct, frozen=True, kw_only=True):
    category: str | None = None
    city: str | None = None
    on_date: date | None = None
    """Events starting on this (UTC) day."""
    page: int = 1
    limit: int = 20


class EventPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Event]
    total: int


class OutboxBacklog(msgspec.Struct, frozen=True, kw_only=True):
    """Messages still to deliver (pending or failed), for monitoring."""

    count: int
    oldest_created_at: datetime | None


class EventRepository(Protocol):
    async def add(self, event: Event) -> None: ...
    async def get(self, event_id: str) -> Event | None: ...
    async def get_by_slug(self, slug: str) -> Event | None: ...
    async def save(self, event: Event) -> None: ...
    async def list_published(self, query: EventQuery) -> EventPage:
        """Published events, soonest first."""
        ...

    async def get_by_ticket_type(self, ticket_type_id: str) -> Event | None: ...


class OrderRepository(Protocol):
    async def add(self, order: Order) -> None: ...
    async def get(self, order_id: str) -> Order | None: ...
    async def get_by_reference(self, reference: str) -> Order | None: ...
    async def save(self, order: Order) -> None: ...
    async def due_for_expiry(self, now: datetime, limit: int) -> list[Order]:
        """Pending orders whose reservation ended at or before ``now``, oldest first."""
        ...

    async def refunds_due(self, limit: int) -> list[Order]:
        """Orders marked refunded whose refund has not been accepted by the provider yet."""
        ...

    async def stock_facts(self, ticket_type_id: str, capacity: int) -> StockFacts:
        """Sold count, pending holds and confirmed hold ids: all an inventory counter needs."""
        ...


class TicketRepository(Protocol):
    async def add(self, ticket: Ticket) -> None: ...
    async def get(self, ticket_id: str) -> Ticket | None: ...
    async def get_by_number(self, ticket_number: str) -> Ticket | None: ...
    async def for_order(self, order_id: str) -> list[Ticket]: ...
    async def save(self, ticket: Ticket) -> None: ...
    async def without_files(self, limit: int) -> list[Ticket]:
        """Tickets whose QR image or PDF has not been rendered and stored yet."""
        ...


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Raises ``EmailTakenError`` if the (normalised) email is registered."""
        ...

    async def get(self, user_id: str) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...


class OutboxRepository(Protocol):
    async def add(self, message: OutboxMessage) -> None: ...
    async def save(self, message: OutboxMessage) -> None: ...
    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxMessage]:
        """Take up to ``limit`` due messages, oldest first, for ``lease``.

        Claimed messages are not due again until the lease ends, so two workers never
        get the same message at the same time, and a worker that dies loses nothing.
        """
        ...

    async def backlog(self) -> OutboxBacklog:
        """How many messages wait for delivery, and since when the oldest."""
        ...

    async def get_by_provider_message_id(
        self, provider_message_id: str
    ) -> OutboxMessage | None: ...


class PaymentInboxRepository(Protocol):
    async def add(self, event: InboxEvent) -> None:
        """Raises ``DuplicateError`` if an event with the same key was stored."""
        ...

    async def get(self, key: str) -> InboxEvent | None: ...
    async def save(self, event: InboxEvent) -> None: ...
    async def due_for_retry(self, now: datetime, limit: int, lease: timedelta) -> list[InboxEvent]:
        """Claim unprocessed events whose retry time has come (leased like the outbox)."""
        ...
