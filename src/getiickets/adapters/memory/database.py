"""The in-memory database: one table per aggregate and the unique facts each must keep.

This is the schema, the counterpart of the SQL adapter's tables and unique
constraints; how tables store, version and commit rows is in ``tables``. One
``InMemoryDatabase`` is the committed state that every ``InMemoryUnitOfWork`` built
on it shares, like one database shared by many connections.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import msgspec

from getiickets.adapters.idempotency_records import IdempotencyRecord
from getiickets.adapters.memory.tables import Table, UniqueIndex
from getiickets.domain.model.accounts import User, canonical_email
from getiickets.domain.model.catalog import Event
from getiickets.domain.model.errors import DomainError, DuplicateError, EmailTakenError
from getiickets.domain.model.notifications import OutboxMessage
from getiickets.domain.model.orders import Order
from getiickets.domain.model.payments import InboxEvent
from getiickets.domain.model.tickets import Ticket


class StoredIdempotency(msgspec.Struct, kw_only=True):
    """An idempotency record as a row: records are frozen and carry no version."""

    record: IdempotencyRecord
    version: int = 0


def _duplicate(what: str) -> Callable[[Hashable], DomainError]:
    def error(value: Hashable) -> DomainError:
        return DuplicateError(f"{what} {value!r} already exists")

    return error


def _email_taken(_: Hashable) -> DomainError:
    # The email is left out of the message: it would tell who has an account.
    return EmailTakenError()


class InMemoryDatabase:
    def __init__(self) -> None:
        self.events: Table[Event] = Table(
            "event",
            lambda event: event.id,
            [
                UniqueIndex("slug", lambda event: [event.slug], _duplicate("event slug")),
                # Ticket types are rows of their own in SQL: their ids are unique across
                # events, which is what makes ``get_by_ticket_type`` well defined.
                UniqueIndex(
                    "ticket_type",
                    lambda event: [ticket_type.id for ticket_type in event.ticket_types],
                    _duplicate("ticket type"),
                ),
            ],
        )
        self.orders: Table[Order] = Table(
            "order",
            lambda order: order.id,
            [
                UniqueIndex(
                    "number", lambda order: [order.order_number], _duplicate("order number")
                ),
                UniqueIndex(
                    "reference",
                    lambda order: (
                        ([] if order.payment_reference is None else [order.payment_reference])
                        + order.past_references
                    ),
                    _duplicate("payment reference"),
                ),
            ],
        )
        self.tickets: Table[Ticket] = Table(
            "ticket",
            lambda ticket: ticket.id,
            [
                UniqueIndex(
                    "number", lambda ticket: [ticket.ticket_number], _duplicate("ticket number")
                )
            ],
        )
        self.users: Table[User] = Table(
            "user",
            lambda user: user.id,
            [UniqueIndex("email", lambda user: [canonical_email(user.email)], _email_taken)],
        )
        self.outbox: Table[OutboxMessage] = Table("outbox message", lambda message: message.id)
        self.payment_inbox: Table[InboxEvent] = Table("inbox event", lambda event: event.key)
        self.idempotency: Table[StoredIdempotency] = Table(
            "idempotency record", lambda stored: (stored.record.scope, stored.record.key)
        )
