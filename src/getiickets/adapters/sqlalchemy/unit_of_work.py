"""``SqlAlchemyUnitOfWork``: one database transaction on one pooled connection.

``async with uow:`` checks out a connection and begins; ``commit`` commits (or raises
``DuplicateError`` / ``ConflictError`` having kept nothing); leaving the block without
committing rolls back. Either way the connection goes back to the pool and the unit
is closed: using its repositories raises ``RuntimeError`` until the next ``async with``,
exactly like ``InMemoryUnitOfWork``.

SQLite allows one writer at a time, and a transaction that read before it writes fails
with "database is locked" if another connection wrote in between (WAL snapshots cannot
be upgraded). So on SQLite every unit is a write transaction from its first statement
(``BEGIN IMMEDIATE``), and units of one engine queue for it on an ``asyncio.Lock``,
in order, instead of busy-polling in driver threads; the ``busy_timeout`` set by
``engine`` covers another process (a CLI command) holding the lock. Either wait ends in
an error after ``SQLITE_BUSY_TIMEOUT_MS``, never in a hang. The embedded mode is single-process and the units are short, so one writer at
a time costs little. A unit opened while the same task already holds the lock (an
inventory rebuilding its counts from the database in the middle of a payment) cannot
wait for it without deadlocking: it reads on a connection of its own, which WAL lets
run beside the writer, and refuses to write. PostgreSQL needs none of this.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Self
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from getiickets.adapters.sqlalchemy.engine import SQLITE_BEGIN, SQLITE_BUSY_TIMEOUT_MS, is_sqlite
from getiickets.adapters.sqlalchemy.errors import database_call, is_unavailable, unavailable
from getiickets.adapters.sqlalchemy.repositories import (
    SqlAlchemyEventRepository,
    SqlAlchemyOrderRepository,
    SqlAlchemyOutboxRepository,
    SqlAlchemyPaymentInboxRepository,
    SqlAlchemyTicketRepository,
    SqlAlchemyUserRepository,
)
from getiickets.adapters.sqlalchemy.transaction import Transaction, is_unique_violation
from getiickets.adapters.sqlalchemy.views import SqlAlchemySalesView
from getiickets.domain.model.errors import ConflictError, DatabaseUnavailableError, DuplicateError

if TYPE_CHECKING:
    from types import TracebackType

    from sqlalchemy.engine import Engine, ExceptionContext
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from getiickets.ports.repositories import (
        EventRepository,
        OrderRepository,
        OutboxRepository,
        PaymentInboxRepository,
        TicketRepository,
        UserRepository,
    )
    from getiickets.ports.views import SalesView


class _SqliteWriter:
    """The one writer slot of an SQLite engine, and which task holds it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.holder: asyncio.Task[object] | None = None


_sqlite_writers: WeakKeyDictionary[Engine, _SqliteWriter] = WeakKeyDictionary()

# PostgreSQL aborts one of two transactions that wait on each other's rows (deadlock) or
# that a serializable snapshot cannot order: the same "someone else changed it at the
# same time" the fake reports as a conflict, and as retryable.
_CONFLICT_STATES = {"40001", "40P01"}


def _conflicts_as_domain_errors(context: ExceptionContext) -> BaseException | None:
    state = getattr(context.original_exception, "sqlstate", None)
    if state in _CONFLICT_STATES and context.sqlalchemy_exception is not None:
        conflict = ConflictError("a concurrent transaction changed the same rows; try again")
        conflict.__cause__ = context.sqlalchemy_exception
        return conflict
    return None


def _translate_conflicts(engine: AsyncEngine) -> None:
    if not event.contains(engine.sync_engine, "handle_error", _conflicts_as_domain_errors):
        event.listen(engine.sync_engine, "handle_error", _conflicts_as_domain_errors, retval=True)


def _sqlite_writer(engine: AsyncEngine) -> _SqliteWriter:
    writer = _sqlite_writers.get(engine.sync_engine)
    if writer is None:
        writer = _sqlite_writers[engine.sync_engine] = _SqliteWriter()
    return writer


class SqlAlchemyUnitOfWork:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        _translate_conflicts(engine)
        self._tx = Transaction()
        self._connection: AsyncConnection | None = None
        self._writer: _SqliteWriter | None = None
        # Typed as the ports: the protocol's attributes are mutable, hence invariant.
        self.events: EventRepository = SqlAlchemyEventRepository(self._tx)
        self.order_rows = SqlAlchemyOrderRepository(self._tx)
        """``orders`` with what only adapters use (``add_all``, for the order book)."""
        self.orders: OrderRepository = self.order_rows
        self.tickets: TicketRepository = SqlAlchemyTicketRepository(self._tx)
        self.users: UserRepository = SqlAlchemyUserRepository(self._tx)
        self.outbox: OutboxRepository = SqlAlchemyOutboxRepository(self._tx)
        self.payment_inbox: PaymentInboxRepository = SqlAlchemyPaymentInboxRepository(self._tx)
        self.sales: SalesView = SqlAlchemySalesView(self._tx)

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    @property
    def transaction(self) -> Transaction:
        """The unit's transaction, for a store outside the domain's ports to work in
        (the HTTP entrypoint's idempotency records)."""
        return self._tx

    async def __aenter__(self) -> Self:
        if self.is_open:
            raise RuntimeError("this unit of work is already open; units do not nest")
        read_only = await self._take_sqlite_writer() if is_sqlite(self.engine) else False
        try:
            async with database_call(connecting=True):
                connection = await self.engine.connect()
            try:
                async with database_call():
                    if self._writer is not None:
                        await connection.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
                    await connection.begin()
            except BaseException:
                await connection.close()
                raise
        except BaseException:
            self._release_writer()
            raise
        self._connection = connection
        self._tx.open(connection, read_only=read_only)
        return self

    async def _take_sqlite_writer(self) -> bool:
        """Queue for the engine's writer slot; True if this task holds it already (nested)."""
        writer = _sqlite_writer(self.engine)
        if writer.holder is not None and writer.holder is asyncio.current_task():
            return True
        try:
            async with asyncio.timeout(SQLITE_BUSY_TIMEOUT_MS / 1000):
                await writer.lock.acquire()
        except TimeoutError as error:
            raise TimeoutError(
                "waited too long for SQLite's write lock, held by another unit of work"
            ) from error
        writer.holder = asyncio.current_task()
        self._writer = writer
        return False

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # An outage met inside the block (or by the rollback itself, on a connection the
        # server dropped) leaves as DatabaseUnavailableError: the caller answers 503.
        async with database_call():
            await self.rollback()
        if isinstance(exc, Exception) and is_unavailable(exc):
            if isinstance(exc, DatabaseUnavailableError):
                return  # translated already, by a nested call
            raise unavailable(exc) from exc

    async def commit(self) -> None:
        if self._connection is None:
            raise RuntimeError("commit outside `async with`, or after commit or rollback")
        try:
            async with database_call():
                await self._connection.commit()
        except IntegrityError as error:
            # Constraints are checked per statement, so this is rare (deferred checks);
            # whatever caused it, the unit is over and nothing of it was kept.
            if is_unique_violation(error):
                raise DuplicateError("a unique fact was recorded concurrently") from error
            raise
        else:
            self._tx.ledger.stamp()
        finally:
            await self._close()

    async def rollback(self) -> None:
        if self._connection is None:
            return
        try:
            await self._connection.rollback()
        finally:
            await self._close()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        self._tx.close()
        try:
            if connection is not None:
                await connection.close()
        finally:
            self._release_writer()

    def _release_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.holder = None
            writer.lock.release()
