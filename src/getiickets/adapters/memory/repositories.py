"""The seven repositories over an ``InMemoryDatabase``, as one unit of work sees it.

Reads see committed state plus the unit's own staged writes and return copies;
``add`` and ``save`` only stage (see ``tables`` for versions and unique facts).
Orderings are total (ties broken by id) so that the SQL adapter can promise the same
``ORDER BY`` and the contract suites can compare lists exactly.

Claims (``OutboxRepository.claim_due``, ``PaymentInboxRepository.due_for_retry``) are
the exception: a claim is a small transaction of its own, committed at once, like
``SELECT ... FOR UPDATE SKIP LOCKED`` + ``UPDATE`` + ``COMMIT`` on a separate
connection. It moves each claimed row's ``next_attempt_at`` to ``now + lease`` and
bumps its version, whatever the surrounding unit later does, so two workers never
hold the same row and a worker that dies only delays it by the lease. The copies it
returns carry the new version: saving one after the work is done succeeds, unless the
lease ran out and another worker claimed the row again (then ``ConflictError``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import msgspec

from getiickets.adapters.argument_checks import check_lease, check_limit
from getiickets.adapters.idempotency_records import IdempotencyRecord
from getiickets.adapters.memory.database import StoredIdempotency
from getiickets.adapters.memory.tables import Changes, clone
from getiickets.domain.model.accounts import User, canonical_email
from getiickets.domain.model.catalog import Event, EventStatus
from getiickets.domain.model.errors import NotFoundError
from getiickets.domain.model.inventory import StockedLine, StockFacts
from getiickets.domain.model.notifications import OutboxMessage
from getiickets.domain.model.orders import Order, OrderStatus
from getiickets.domain.model.payments import InboxEvent
from getiickets.domain.model.tickets import Ticket, TicketStatus
from getiickets.ports.repositories import (
    MAX_PAGE_SIZE,
    EventPage,
    EventQuery,
    OutboxBacklog,
)


def _same_text(stored: str, wanted: str) -> bool:
    # lower() rather than casefold(), to match SQL's lower(column) = lower(:value).
    return stored.lower() == wanted.lower()


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


class InMemoryEventRepository:
    def __init__(self, changes: Changes[Event]) -> None:
        self._changes = changes

    async def add(self, event: Event) -> None:
        self._changes.add(event)

    async def get(self, event_id: str) -> Event | None:
        return self._changes.get(event_id)

    async def get_by_slug(self, slug: str) -> Event | None:
        return self._changes.find("slug", slug, lambda event: event.slug == slug)

    async def save(self, event: Event) -> None:
        self._changes.save(event)

    async def list_published(self, query: EventQuery) -> EventPage:
        """Published events by ``starts_at`` then id; category and city ignore case.

        ``page`` starts at 1 and ``limit`` is 1..``MAX_PAGE_SIZE``; anything else is a
        caller bug (the HTTP edge validates), so it raises ``ValueError``.
        """
        if query.page < 1:
            raise ValueError("page starts at 1")
        if not 1 <= query.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        matching = sorted(
            (event for event in self._changes.rows() if _is_listed(event, query)),
            key=lambda event: (event.starts_at, event.id),
        )
        start = (query.page - 1) * query.limit
        items = [clone(event) for event in matching[start : start + query.limit]]
        return EventPage(items=items, total=len(matching))

    async def get_by_ticket_type(self, ticket_type_id: str) -> Event | None:
        return self._changes.find(
            "ticket_type",
            ticket_type_id,
            lambda event: any(tt.id == ticket_type_id for tt in event.ticket_types),
        )


def _is_listed(event: Event, query: EventQuery) -> bool:
    return (
        event.status is EventStatus.PUBLISHED
        and (query.category is None or _same_text(event.category, query.category))
        and (query.city is None or _same_text(event.city, query.city))
        and (query.on_date is None or _utc_day(event.starts_at) == query.on_date)
    )


class InMemoryOrderRepository:
    def __init__(self, changes: Changes[Order]) -> None:
        self._changes = changes

    async def add(self, order: Order) -> None:
        self._changes.add(order)

    async def get(self, order_id: str) -> Order | None:
        return self._changes.get(order_id)

    async def get_by_reference(self, reference: str) -> Order | None:
        return self._changes.find(
            "reference", reference, lambda order: order.knows_reference(reference)
        )

    async def save(self, order: Order) -> None:
        self._changes.save(order)

    async def due_for_expiry(self, now: datetime, limit: int) -> list[Order]:
        """Pending orders with ``expires_at <= now``, by ``expires_at`` then id."""
        check_limit(limit)
        due = [o for o in self._changes.rows() if o.is_due_for_expiry(now)]
        return self._first(due, limit)

    async def refunds_due(self, limit: int) -> list[Order]:
        """Refunded orders still owing the provider a refund request, oldest refund first."""
        check_limit(limit)
        due = [o for o in self._changes.rows() if o.status is OrderStatus.REFUNDED and o.refund_due]
        due.sort(key=lambda order: (order.refunded_at or order.created_at, order.id))
        return [clone(order) for order in due[:limit]]

    async def stock_facts(self, ticket_type_id: str, capacity: int) -> StockFacts:
        """The ticket type's order lines; ``StockFacts.of_lines`` says what they mean."""
        lines = (
            StockedLine(order.status, line.hold_id, line.quantity, order.expires_at)
            for order in self._changes.rows()
            for line in order.lines
            if line.ticket_type_id == ticket_type_id
        )
        return StockFacts.of_lines(ticket_type_id, capacity, lines)

    @staticmethod
    def _first(orders: list[Order], limit: int) -> list[Order]:
        orders.sort(key=lambda order: (order.expires_at, order.id))
        return [clone(order) for order in orders[:limit]]


class InMemoryTicketRepository:
    def __init__(self, changes: Changes[Ticket]) -> None:
        self._changes = changes

    async def add(self, ticket: Ticket) -> None:
        self._changes.add(ticket)

    async def get(self, ticket_id: str) -> Ticket | None:
        return self._changes.get(ticket_id)

    async def get_by_number(self, ticket_number: str) -> Ticket | None:
        return self._changes.find(
            "number", ticket_number, lambda ticket: ticket.ticket_number == ticket_number
        )

    async def for_order(self, order_id: str) -> list[Ticket]:
        """By ``issued_at`` then id."""
        return self._sorted([t for t in self._changes.rows() if t.order_id == order_id])

    async def save(self, ticket: Ticket) -> None:
        self._changes.save(ticket)

    async def without_files(self, limit: int) -> list[Ticket]:
        """Tickets not void with no QR image or no PDF yet, oldest issued first."""
        check_limit(limit)
        missing = [
            ticket
            for ticket in self._changes.rows()
            if ticket.status is not TicketStatus.VOID
            and (ticket.qr_key is None or ticket.pdf_key is None)
        ]
        return self._sorted(missing, limit)

    @staticmethod
    def _sorted(tickets: list[Ticket], limit: int | None = None) -> list[Ticket]:
        tickets.sort(key=lambda ticket: (ticket.issued_at, ticket.id))
        return [clone(ticket) for ticket in tickets[:limit]]


class InMemoryUserRepository:
    def __init__(self, changes: Changes[User]) -> None:
        self._changes = changes

    async def add(self, user: User) -> None:
        """Raises ``EmailTakenError`` for an email registered in any letter case."""
        self._changes.add(user)

    async def get(self, user_id: str) -> User | None:
        return self._changes.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        key = canonical_email(email)
        return self._changes.find("email", key, lambda user: canonical_email(user.email) == key)


class InMemoryOutboxRepository:
    def __init__(self, changes: Changes[OutboxMessage]) -> None:
        self._changes = changes

    async def add(self, message: OutboxMessage) -> None:
        self._changes.add(message)

    async def save(self, message: OutboxMessage) -> None:
        self._changes.save(message)

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxMessage]:
        """Pending or failed messages with ``next_attempt_at <= now``, oldest first.

        Committed at once and blind to this unit's staged writes: see the module
        docstring. No ``await`` between choosing the rows and leasing them, so two
        concurrent claimers can never pick the same one.
        """
        self._changes.ensure_open()
        check_limit(limit)
        check_lease(lease)
        table = self._changes.table
        due = sorted(
            (m for m in table.rows.values() if m.is_due and m.next_attempt_at <= now),
            key=lambda message: (message.next_attempt_at, message.id),
        )[:limit]
        return table.update_now(
            msgspec.structs.replace(message, next_attempt_at=now + lease) for message in due
        )

    async def backlog(self) -> OutboxBacklog:
        waiting = [m.created_at for m in self._changes.rows() if m.is_due]
        return OutboxBacklog(count=len(waiting), oldest_created_at=min(waiting, default=None))

    async def get_by_provider_message_id(self, provider_message_id: str) -> OutboxMessage | None:
        """Provider ids are not unique facts; if two rows share one, the oldest wins."""
        matching = [m for m in self._changes.rows() if m.provider_message_id == provider_message_id]
        if not matching:
            return None
        return clone(min(matching, key=lambda message: (message.created_at, message.id)))


class InMemoryPaymentInboxRepository:
    def __init__(self, changes: Changes[InboxEvent]) -> None:
        self._changes = changes

    async def add(self, event: InboxEvent) -> None:
        """Raises ``DuplicateError`` if an event with this key is stored (or staged)."""
        self._changes.add(event)

    async def get(self, key: str) -> InboxEvent | None:
        return self._changes.get(key)

    async def save(self, event: InboxEvent) -> None:
        self._changes.save(event)

    async def due_for_retry(self, now: datetime, limit: int, lease: timedelta) -> list[InboxEvent]:
        """Unprocessed events whose ``next_attempt_at`` is unset or ``<= now``, leased.

        Oldest first by ``next_attempt_at``, or ``received_at`` when unset, then key.
        Committed at once, like ``OutboxRepository.claim_due``.
        """
        self._changes.ensure_open()
        check_limit(limit)
        check_lease(lease)
        table = self._changes.table
        due = sorted(
            (
                event
                for event in table.rows.values()
                if not event.is_processed
                and (event.next_attempt_at is None or event.next_attempt_at <= now)
            ),
            key=lambda event: (event.next_attempt_at or event.received_at, event.key),
        )[:limit]
        return table.update_now(
            msgspec.structs.replace(event, next_attempt_at=now + lease) for event in due
        )


class InMemoryIdempotencyRepository:
    def __init__(self, changes: Changes[StoredIdempotency]) -> None:
        self._changes = changes

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        stored = self._changes.get((scope, key))
        return None if stored is None else stored.record

    async def add(self, record: IdempotencyRecord) -> None:
        """Raises ``DuplicateError`` if ``(scope, key)`` is recorded (or staged)."""
        self._changes.add(StoredIdempotency(record=record))

    async def complete(self, record: IdempotencyRecord) -> None:
        stored = self._changes.get((record.scope, record.key))
        if stored is None:
            raise NotFoundError(f"idempotency key {record.key!r} is not recorded")
        self._changes.save(StoredIdempotency(record=record, version=stored.version))
