"""The seven repositories on one SQLAlchemy ``AsyncConnection`` (Core, no ORM).

They behave as the in-memory ones (``adapters/memory/repositories``), which the
contract suite checks: same orderings (ties broken by id), same errors, same versions
(see ``transaction``). Aggregates with children load in two queries (rows, then the
children of all of them); a save rewrites the children.

Claims (``claim_due``, ``due_for_retry``) pick due rows with ``FOR UPDATE SKIP
LOCKED`` (PostgreSQL; SQLite has a single writer, so plain SELECT is as safe) and
lease them with one ``UPDATE ... RETURNING`` in the unit's transaction: until the unit
commits the rows stay locked, so a concurrent claimer skips them; after it, they are
not due until the lease ends.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from getiickets.adapters.argument_checks import check_lease, check_limit
from getiickets.adapters.idempotency_records import IdempotencyRecord
from getiickets.adapters.sqlalchemy import mapping
from getiickets.adapters.sqlalchemy.metadata import UtcDateTime
from getiickets.adapters.sqlalchemy.tables import (
    events,
    idempotency_keys,
    order_lines,
    order_past_references,
    orders,
    outbox,
    payment_inbox,
    ticket_types,
    tickets,
    users,
)
from getiickets.adapters.sqlalchemy.transaction import Transaction
from getiickets.domain.model.accounts import User, canonical_email
from getiickets.domain.model.catalog import Event, EventStatus
from getiickets.domain.model.errors import (
    ConflictError,
    DuplicateError,
    EmailTakenError,
    NotFoundError,
)
from getiickets.domain.model.inventory import StockedLine, StockFacts
from getiickets.domain.model.notifications import MessageStatus, OutboxMessage
from getiickets.domain.model.orders import Order, OrderStatus
from getiickets.domain.model.payments import InboxEvent
from getiickets.domain.model.tickets import Ticket, TicketStatus
from getiickets.ports.repositories import (
    MAX_PAGE_SIZE,
    EventPage,
    EventQuery,
    OutboxBacklog,
)

_DUE_MESSAGES = (MessageStatus.PENDING.value, MessageStatus.FAILED.value)


def _day_range(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)


class _Repository:
    def __init__(self, transaction: Transaction) -> None:
        self._tx = transaction

    async def _rows(self, statement: sa.Executable) -> Sequence[sa.Row[Any]]:
        return (await self._tx.connection.execute(statement)).all()

    async def _lease(
        self,
        key: sa.Column[Any],
        due: sa.ColumnElement[bool],
        order_by: tuple[sa.ColumnElement[Any], ...],
        limit: int,
        until: datetime,
    ) -> list[sa.Row[Any]]:
        """Claim up to ``limit`` due rows, in order, until ``until``; the claimed rows.

        ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serialises writers anyway) lets
        concurrent claimers pass each other's rows instead of queueing on them or taking
        them twice; the claim bumps the version so a stale holder cannot save over it.
        """
        table = key.table
        chosen = list(
            (
                await self._tx.for_write().execute(
                    sa.select(key)
                    .where(due)
                    .order_by(*order_by)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).scalars()
        )
        if not chosen:
            return []
        leased = {
            row._mapping[key.name]: row
            for row in await self._rows(
                sa.update(table)
                .where(key.in_(chosen))
                .values(next_attempt_at=until, version=table.c.version + 1)
                .returning(*table.c)
            )
        }
        return [leased[value] for value in chosen]

    async def _children(
        self, parents: Sequence[sa.Row[Any]], parent_id: sa.Column[Any]
    ) -> dict[str, list[sa.Row[Any]]]:
        """Child rows (ticket types, order lines) of the given parents, in one query,
        grouped by parent id and kept in their stored order."""
        children: dict[str, list[sa.Row[Any]]] = defaultdict(list)
        if not parents:
            return children
        table = parent_id.table
        for child in await self._rows(
            sa.select(table)
            .where(parent_id.in_([row.id for row in parents]))
            .order_by(parent_id, table.c.position)
        ):
            children[child._mapping[parent_id.name]].append(child)
        return children

    async def _row(self, statement: sa.Executable) -> sa.Row[Any] | None:
        return (await self._tx.connection.execute(statement)).one_or_none()

    async def _insert_one(self, table: sa.Table, values: mapping.Values) -> bool:
        """Insert unless a unique fact is taken; True if the row went in."""
        result = await self._tx.for_write().execute(self._tx.insert_unless_taken(table), values)
        return result.rowcount == 1

    async def _update(self, table: sa.Table, pk: Any, target: Any, values: mapping.Values) -> int:
        """``UPDATE ... WHERE pk AND version``: the optimistic lock. Returns the stored version.

        ``pk`` is the primary key's value, a tuple for a composite key. The caller records
        the version in the ledger once every statement of its save succeeded: a save
        undone by its savepoint must leave the ledger as it was.
        """
        expected, stored = self._tx.ledger.plan_update(table, pk, target.version)
        key_columns = list(table.primary_key.columns)
        key_values = pk if len(key_columns) > 1 else (pk,)
        result = await self._tx.for_write().execute(
            sa.update(table)
            .where(
                *(column == value for column, value in zip(key_columns, key_values, strict=True)),
                table.c.version == expected,
            )
            .values({**values, "version": stored})
        )
        if result.rowcount != 1:
            raise ConflictError(f"{table.name} {pk} was changed by someone else, or is gone")
        return stored

    def _version(self, table: sa.Table, pk: Any, stored: int) -> int:
        return self._tx.ledger.visible(table, pk, stored)


class SqlAlchemyEventRepository(_Repository):
    async def add(self, event: Event) -> None:
        async with self._tx.unique_facts(
            lambda: DuplicateError(f"event {event.id}, its slug or a ticket type exists")
        ):
            connection = self._tx.for_write()
            await connection.execute(
                sa.insert(events), {**mapping.event_values(event), "version": 1}
            )
            if event.ticket_types:
                await connection.execute(sa.insert(ticket_types), mapping.ticket_type_values(event))
        self._tx.ledger.inserted(events, event.id, event)

    async def get(self, event_id: str) -> Event | None:
        return await self._one(sa.select(events).where(events.c.id == event_id))

    async def get_by_slug(self, slug: str) -> Event | None:
        return await self._one(sa.select(events).where(events.c.slug == slug))

    async def save(self, event: Event) -> None:
        async with self._tx.unique_facts(
            lambda: DuplicateError(f"the slug or a ticket type of event {event.id} exists")
        ):
            stored = await self._update(events, event.id, event, mapping.event_values(event))
            connection = self._tx.for_write()
            await connection.execute(
                sa.delete(ticket_types).where(ticket_types.c.event_id == event.id)
            )
            if event.ticket_types:
                await connection.execute(sa.insert(ticket_types), mapping.ticket_type_values(event))
        self._tx.ledger.updated(events, event.id, event, stored)

    async def list_published(self, query: EventQuery) -> EventPage:
        """Published events by ``starts_at`` then id; category and city ignore case."""
        if query.page < 1:
            raise ValueError("page starts at 1")
        if not 1 <= query.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        conditions = [events.c.status == EventStatus.PUBLISHED.value]
        if query.category is not None:
            conditions.append(events.c.category_key == mapping.text_key(query.category))
        if query.city is not None:
            conditions.append(events.c.city_key == mapping.text_key(query.city))
        if query.on_date is not None:
            start, end = _day_range(query.on_date)
            conditions += [events.c.starts_at >= start, events.c.starts_at < end]
        total = (
            await self._tx.connection.execute(
                sa.select(sa.func.count()).select_from(events).where(*conditions)
            )
        ).scalar_one()
        items = await self._many(
            sa.select(events)
            .where(*conditions)
            .order_by(events.c.starts_at, events.c.id)
            .limit(query.limit)
            .offset((query.page - 1) * query.limit)
        )
        return EventPage(items=items, total=total)

    async def get_by_ticket_type(self, ticket_type_id: str) -> Event | None:
        return await self._one(
            sa.select(events)
            .join(ticket_types, ticket_types.c.event_id == events.c.id)
            .where(ticket_types.c.id == ticket_type_id)
        )

    async def _one(self, statement: sa.Select[Any]) -> Event | None:
        found = await self._many(statement)
        return found[0] if found else None

    async def _many(self, statement: sa.Select[Any]) -> list[Event]:
        rows = await self._rows(statement)
        children = await self._children(rows, ticket_types.c.event_id)
        return [
            mapping.event_from(row, children[row.id], self._version(events, row.id, row.version))
            for row in rows
        ]


def _postgres_array(column: sa.Column[Any]) -> tuple[str, bool]:
    """The array type a column's values travel in, and whether it is JSON (sent as text:
    PostgreSQL has no implicit cast from text to json)."""
    column_type = column.type
    if isinstance(column_type, sa.JSON):
        return "text[]", True
    if isinstance(column_type, UtcDateTime):
        return "timestamptz[]", False
    if isinstance(column_type, sa.Boolean):
        return "boolean[]", False
    if isinstance(column_type, sa.BigInteger):
        return "bigint[]", False
    if isinstance(column_type, sa.Integer):
        return "integer[]", False
    if isinstance(column_type, sa.String):  # Text and CHAR too
        return "text[]", False
    raise TypeError(f"no array type for {column.table.name}.{column.name}: {column_type!r}")


def _unnest_insert(table: sa.Table) -> sa.TextClause:
    """``INSERT INTO table SELECT FROM unnest(one array per column)``: many rows, one
    statement with one parameter per column (PostgreSQL only)."""
    names = [column.name for column in table.c]
    arrays = [_postgres_array(column) for column in table.c]
    quoted = ", ".join(f'"{name}"' for name in names)
    given = ", ".join(
        f'"{name}"::json' if is_json else f'"{name}"'
        for name, (_, is_json) in zip(names, arrays, strict=True)
    )
    unnest = ", ".join(
        f"CAST(:{name} AS {array})" for name, (array, _) in zip(names, arrays, strict=True)
    )
    # Built once at import from our own table definitions; the values travel as parameters.
    return sa.text(
        f'INSERT INTO "{table.name}" ({quoted}) '  # noqa: S608
        f"SELECT {given} FROM unnest({unnest}) AS given({quoted})"
    )


def _as_arrays(table: sa.Table, rows: Sequence[mapping.Values]) -> dict[str, list[Any]]:
    """Rows of one table's values as one list per column, in ``_unnest_insert``'s form."""
    arrays: dict[str, list[Any]] = {}
    for column in table.c:
        values = [row[column.name] for row in rows]
        if isinstance(column.type, sa.JSON):
            values = [json.dumps(value) for value in values]
        elif isinstance(column.type, UtcDateTime):
            # The column type's own check: aware datetimes only, stored as UTC.
            values = [column.type.process_bind_param(value, _POSTGRES) for value in values]
        arrays[column.name] = values
    return arrays


_POSTGRES = postgresql.dialect()
_UNNEST_ORDERS = _unnest_insert(orders)
_UNNEST_ORDER_LINES = _unnest_insert(order_lines)


class SqlAlchemyOrderRepository(_Repository):
    async def add(self, order: Order) -> None:
        if not await self._insert_one(orders, {**mapping.order_values(order), "version": 1}):
            raise DuplicateError(f"order {order.id}, its number or its reference exists")
        await self._tx.for_write().execute(sa.insert(order_lines), mapping.order_line_values(order))
        self._tx.ledger.inserted(orders, order.id, order)

    async def add_all(self, new_orders: Sequence[Order]) -> None:
        """Insert new orders and their lines in two statements (a group commit's batch):
        on PostgreSQL one row of arrays per table, elsewhere an executemany.

        Not part of the port. A taken unique fact fails the statement, and with it the
        whole batch (``IntegrityError``; on PostgreSQL the transaction is then unusable):
        the caller finds the culprit by adding the orders one by one, which ``add``
        reports as ``DuplicateError``.
        """
        connection = self._tx.for_write()
        order_rows = [{**mapping.order_values(order), "version": 1} for order in new_orders]
        line_rows = [line for order in new_orders for line in mapping.order_line_values(order)]
        if self._tx.dialect == "postgresql":
            # One row of arrays instead of an executemany's Bind and Execute per row: the
            # server plans and runs a batch once (a fifth less of its CPU per order).
            await connection.execute(_UNNEST_ORDERS, _as_arrays(orders, order_rows))
            await connection.execute(_UNNEST_ORDER_LINES, _as_arrays(order_lines, line_rows))
        else:
            await connection.execute(sa.insert(orders), order_rows)
            await connection.execute(sa.insert(order_lines), line_rows)
        for order in new_orders:
            self._tx.ledger.inserted(orders, order.id, order)

    async def get(self, order_id: str) -> Order | None:
        found = await self._many(sa.select(orders).where(orders.c.id == order_id))
        return found[0] if found else None

    async def get_by_reference(self, reference: str) -> Order | None:
        """By the current reference, or by an older one the order moved on from."""
        older = sa.select(order_past_references.c.order_id).where(
            order_past_references.c.reference == reference
        )
        found = await self._many(
            sa.select(orders).where(
                sa.or_(orders.c.payment_reference == reference, orders.c.id.in_(older))
            )
        )
        return found[0] if found else None

    async def save(self, order: Order) -> None:
        async with self._tx.unique_facts(
            lambda: DuplicateError(f"the number or reference of order {order.id} exists")
        ):
            stored = await self._update(orders, order.id, order, mapping.order_values(order))
            # Lines change when a late payment re-takes stock (new hold ids): rewrite them.
            connection = self._tx.for_write()
            await connection.execute(
                sa.delete(order_lines).where(order_lines.c.order_id == order.id)
            )
            await connection.execute(sa.insert(order_lines), mapping.order_line_values(order))
            if order.past_references:
                await connection.execute(
                    sa.delete(order_past_references).where(
                        order_past_references.c.order_id == order.id
                    )
                )
                await connection.execute(
                    sa.insert(order_past_references),
                    [
                        {"reference": reference, "order_id": order.id}
                        for reference in order.past_references
                    ],
                )
        self._tx.ledger.updated(orders, order.id, order, stored)

    async def due_for_expiry(self, now: datetime, limit: int) -> list[Order]:
        """Pending orders with ``expires_at <= now``, by ``expires_at`` then id."""
        check_limit(limit)
        return await self._many(
            sa.select(orders)
            .where(orders.c.status == OrderStatus.PENDING.value, orders.c.expires_at <= now)
            .order_by(orders.c.expires_at, orders.c.id)
            .limit(limit)
        )

    async def refunds_due(self, limit: int) -> list[Order]:
        """Refunded orders still owing the provider a refund request, oldest refund first."""
        check_limit(limit)
        return await self._many(
            sa.select(orders)
            .where(orders.c.status == OrderStatus.REFUNDED.value, orders.c.refund_due)
            .order_by(sa.func.coalesce(orders.c.refunded_at, orders.c.created_at), orders.c.id)
            .limit(limit)
        )

    async def stock_facts(self, ticket_type_id: str, capacity: int) -> StockFacts:
        """The ticket type's lines of orders that keep stock (paid, pending); what they
        mean is ``StockFacts.of_lines``'s to say."""
        rows = await self._rows(
            sa.select(
                orders.c.status, orders.c.expires_at, order_lines.c.hold_id, order_lines.c.quantity
            )
            .join(orders, orders.c.id == order_lines.c.order_id)
            .where(
                order_lines.c.ticket_type_id == ticket_type_id,
                orders.c.status.in_([OrderStatus.PAID.value, OrderStatus.PENDING.value]),
            )
        )
        lines = (
            StockedLine(OrderStatus(row.status), row.hold_id, row.quantity, row.expires_at)
            for row in rows
        )
        return StockFacts.of_lines(ticket_type_id, capacity, lines)

    async def _many(self, statement: sa.Select[Any]) -> list[Order]:
        rows = await self._rows(statement)
        lines = await self._children(rows, order_lines.c.order_id)
        return [
            mapping.order_from(row, lines[row.id], self._version(orders, row.id, row.version))
            for row in rows
        ]


class SqlAlchemyTicketRepository(_Repository):
    async def add(self, ticket: Ticket) -> None:
        if not await self._insert_one(tickets, {**mapping.ticket_values(ticket), "version": 1}):
            raise DuplicateError(f"ticket {ticket.id} or its number exists")
        self._tx.ledger.inserted(tickets, ticket.id, ticket)

    async def get(self, ticket_id: str) -> Ticket | None:
        found = await self._many(sa.select(tickets).where(tickets.c.id == ticket_id))
        return found[0] if found else None

    async def get_by_number(self, ticket_number: str) -> Ticket | None:
        found = await self._many(sa.select(tickets).where(tickets.c.ticket_number == ticket_number))
        return found[0] if found else None

    async def for_order(self, order_id: str) -> list[Ticket]:
        """By ``issued_at`` then id."""
        return await self._many(
            sa.select(tickets)
            .where(tickets.c.order_id == order_id)
            .order_by(tickets.c.issued_at, tickets.c.id)
        )

    async def save(self, ticket: Ticket) -> None:
        async with self._tx.unique_facts(
            lambda: DuplicateError(f"the number of ticket {ticket.id} exists")
        ):
            stored = await self._update(tickets, ticket.id, ticket, mapping.ticket_values(ticket))
        self._tx.ledger.updated(tickets, ticket.id, ticket, stored)

    async def without_files(self, limit: int) -> list[Ticket]:
        """Tickets not void with no QR image or no PDF yet, oldest issued first."""
        check_limit(limit)
        return await self._many(
            sa.select(tickets)
            .where(
                tickets.c.status != TicketStatus.VOID.value,
                sa.or_(tickets.c.qr_key.is_(None), tickets.c.pdf_key.is_(None)),
            )
            .order_by(tickets.c.issued_at, tickets.c.id)
            .limit(limit)
        )

    async def _many(self, statement: sa.Select[Any]) -> list[Ticket]:
        return [
            mapping.ticket_from(row, self._version(tickets, row.id, row.version))
            for row in await self._rows(statement)
        ]


class SqlAlchemyUserRepository(_Repository):
    async def add(self, user: User) -> None:
        """Raises ``EmailTakenError`` for an email registered in any letter case."""
        if not await self._insert_one(users, {**mapping.user_values(user), "version": 1}):
            taken_id = await self._row(sa.select(users.c.id).where(users.c.id == user.id))
            if taken_id is not None:
                raise DuplicateError(f"user {user.id} already exists")
            raise EmailTakenError()  # which email is left out: it would tell who has an account
        self._tx.ledger.inserted(users, user.id, user)

    async def get(self, user_id: str) -> User | None:
        return await self._one(sa.select(users).where(users.c.id == user_id))

    async def get_by_email(self, email: str) -> User | None:
        return await self._one(sa.select(users).where(users.c.email_key == canonical_email(email)))

    async def _one(self, statement: sa.Select[Any]) -> User | None:
        row = await self._row(statement)
        if row is None:
            return None
        return mapping.user_from(row, self._version(users, row.id, row.version))


class SqlAlchemyOutboxRepository(_Repository):
    async def add(self, message: OutboxMessage) -> None:
        if not await self._insert_one(outbox, {**mapping.outbox_values(message), "version": 1}):
            raise DuplicateError(f"outbox message {message.id} already exists")
        self._tx.ledger.inserted(outbox, message.id, message)

    async def save(self, message: OutboxMessage) -> None:
        stored = await self._update(outbox, message.id, message, mapping.outbox_values(message))
        self._tx.ledger.updated(outbox, message.id, message, stored)

    async def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[OutboxMessage]:
        """Pending or failed messages with ``next_attempt_at <= now``, oldest first, leased."""
        check_limit(limit)
        check_lease(lease)
        rows = await self._lease(
            outbox.c.id,
            sa.and_(outbox.c.status.in_(_DUE_MESSAGES), outbox.c.next_attempt_at <= now),
            (outbox.c.next_attempt_at, outbox.c.id),
            limit,
            now + lease,
        )
        # The copies carry the leased version, committed or not: the claimer owns the rows.
        return [mapping.outbox_from(row, row.version) for row in rows]

    async def backlog(self) -> OutboxBacklog:
        oldest = sa.func.min(outbox.c.created_at, type_=UtcDateTime())
        query = sa.select(sa.func.count(), oldest).where(outbox.c.status.in_(_DUE_MESSAGES))
        count, oldest_created_at = (await self._tx.connection.execute(query)).one()
        return OutboxBacklog(count=count, oldest_created_at=oldest_created_at)

    async def get_by_provider_message_id(self, provider_message_id: str) -> OutboxMessage | None:
        """Provider ids are not unique facts; if two rows share one, the oldest wins."""
        found = await self._many(
            sa.select(outbox)
            .where(outbox.c.provider_message_id == provider_message_id)
            .order_by(outbox.c.created_at, outbox.c.id)
            .limit(1)
        )
        return found[0] if found else None

    async def _many(self, statement: sa.Select[Any]) -> list[OutboxMessage]:
        return [
            mapping.outbox_from(row, self._version(outbox, row.id, row.version))
            for row in await self._rows(statement)
        ]


class SqlAlchemyPaymentInboxRepository(_Repository):
    async def add(self, event: InboxEvent) -> None:
        """Raises ``DuplicateError`` if an event with this key is stored."""
        if not await self._insert_one(payment_inbox, {**mapping.inbox_values(event), "version": 1}):
            raise DuplicateError(f"inbox event {event.key} already exists")
        self._tx.ledger.inserted(payment_inbox, event.key, event)

    async def get(self, key: str) -> InboxEvent | None:
        row = await self._row(sa.select(payment_inbox).where(payment_inbox.c.key == key))
        if row is None:
            return None
        return mapping.inbox_from(row, self._version(payment_inbox, key, row.version))

    async def save(self, event: InboxEvent) -> None:
        stored = await self._update(payment_inbox, event.key, event, mapping.inbox_values(event))
        self._tx.ledger.updated(payment_inbox, event.key, event, stored)

    async def due_for_retry(self, now: datetime, limit: int, lease: timedelta) -> list[InboxEvent]:
        """Unprocessed events whose ``next_attempt_at`` is unset or ``<= now``, leased.

        Oldest first by ``next_attempt_at``, or ``received_at`` when unset, then key.
        """
        check_limit(limit)
        check_lease(lease)
        rows = await self._lease(
            payment_inbox.c.key,
            sa.and_(
                payment_inbox.c.processed_at.is_(None),
                sa.or_(
                    payment_inbox.c.next_attempt_at.is_(None),
                    payment_inbox.c.next_attempt_at <= now,
                ),
            ),
            (
                sa.func.coalesce(payment_inbox.c.next_attempt_at, payment_inbox.c.received_at),
                payment_inbox.c.key,
            ),
            limit,
            now + lease,
        )
        return [mapping.inbox_from(row, row.version) for row in rows]


class _StoredIdempotency:
    """The version of an idempotency row: records are frozen and carry none themselves."""

    def __init__(self, version: int) -> None:
        self.version = version


class SqlAlchemyIdempotencyRepository(_Repository):
    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        row = await self._row(sa.select(idempotency_keys).where(*self._is(scope, key)))
        return None if row is None else mapping.idempotency_from(row)

    async def add(self, record: IdempotencyRecord) -> None:
        """Raises ``DuplicateError`` if ``(scope, key)`` is recorded."""
        values = {**mapping.idempotency_values(record), "version": 1}
        if not await self._insert_one(idempotency_keys, values):
            raise DuplicateError(f"idempotency key {record.key!r} is recorded in {record.scope!r}")
        self._tx.ledger.inserted(
            idempotency_keys, (record.scope, record.key), _StoredIdempotency(0)
        )

    async def complete(self, record: IdempotencyRecord) -> None:
        """Store the response of a recorded key; ``NotFoundError`` if it is not recorded.

        Versioned like any save: two requests completing the same key cannot both win.
        """
        pk = (record.scope, record.key)
        version = (
            await self._tx.connection.execute(
                sa.select(idempotency_keys.c.version).where(*self._is(*pk))
            )
        ).scalar_one_or_none()
        if version is None:
            raise NotFoundError(f"idempotency key {record.key!r} is not recorded")
        stored_row = _StoredIdempotency(self._version(idempotency_keys, pk, version))
        stored = await self._update(
            idempotency_keys, pk, stored_row, mapping.idempotency_values(record)
        )
        self._tx.ledger.updated(idempotency_keys, pk, stored_row, stored)

    @staticmethod
    def _is(scope: str, key: str) -> tuple[sa.ColumnElement[bool], ...]:
        return idempotency_keys.c.scope == scope, idempotency_keys.c.key == key
