"""``SqlAlchemyInventory``: stock and holds in the database, for deployments without Redis.

Each operation is one short transaction of its own (never the caller's unit of work,
so a hold outlives a rolled-back order exactly as with Redis):

1. lock the ticket type's ``inventory_stock`` row: ``SELECT ... FOR UPDATE`` on
   PostgreSQL, so every process queues on that one row; the row missing means the
   ticket type is unseen (or its rows were deleted), so it is built from the facts first;
2. delete its expired unconfirmed holds (``expires_at <= now``, the injected clock's
   now): their stock is simply available again;
3. count ``held`` = the quantities of its remaining unconfirmed holds, then act.

``level`` only reads, in one statement and without the lock (see there).

The count is a statement of its own, run after the lock is granted. Folding it into
the locking ``SELECT`` would be wrong on PostgreSQL: a row lock waited for re-reads the
locked row, but a subquery in the same statement keeps the snapshot taken before the
wait, so it would miss the holds the previous lock holder just committed.

SQLite has no row locks. There each transaction asks for the database's write lock at
``BEGIN IMMEDIATE`` (honoured by engines from ``engine.create_engine``), which keeps
other processes out, and an ``asyncio.Lock`` per ``SqlAlchemyInventory`` queues this
process's operations for it in order: SQLite's busy handler would instead make hundreds
of waiters poll, unfairly, and fail at its timeout. The embedded runtime is one process
and uses ``InMemoryInventory``; this adapter on SQLite serves tests and small tools.
Do not call it inside an open unit of work on SQLite: that unit holds the write lock
this would wait for.

On PostgreSQL a stock row waited for longer than ``lock_timeout`` seconds raises
``ConflictError`` (try again), as pretix does, instead of piling up requests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from getiickets.adapters.sqlalchemy.engine import SQLITE_BEGIN
from getiickets.adapters.sqlalchemy.errors import database_call
from getiickets.adapters.sqlalchemy.inventory_tables import inventory_holds, inventory_stock
from getiickets.domain.model.errors import ConflictError, NotFoundError
from getiickets.domain.model.inventory import Confirmation, Hold, StockFacts, StockLevel
from getiickets.ports.clock import Clock
from getiickets.ports.inventory import StockFactsSource

MAX_REBUILDS = 3
"""Rebuilds one call may do; more means the rows keep vanishing (deleted in a loop)."""
_LOCK_NOT_AVAILABLE = "55P03"

stock = inventory_stock.c
holds = inventory_holds.c


class _StockMissingError(Exception):
    """The ticket type's stock row is not there: build it from the facts, then retry."""


class SqlAlchemyInventory:
    """Implements ``Inventory`` on PostgreSQL (any number of processes) or SQLite (one)."""

    def __init__(
        self,
        engine: AsyncEngine,
        facts: StockFactsSource,
        clock: Clock,
        lock_timeout: float = 3.0,
    ) -> None:
        self._engine = engine
        self._facts = facts
        self._clock = clock
        self._postgres = engine.dialect.name == "postgresql"
        self._lock_timeout_ms = round(lock_timeout * 1000)
        self._serial = contextlib.nullcontext() if self._postgres else asyncio.Lock()
        self._loading: dict[str, asyncio.Lock] = {}

    async def reserve(self, hold: Hold) -> bool:

        async def act(conn: AsyncConnection, row: sa.Row[Any, Any], now: datetime) -> bool:
            # One round trip for both reads: the row lock makes them consistent.
            sold_already = (
                sa.select(holds.confirmed)
                .where(holds.hold_id == hold.hold_id, holds.ticket_type_id == hold.ticket_type_id)
                .scalar_subquery()
            )
            existing, held = (
                await conn.execute(sa.select(sold_already, self._held_query(hold.ticket_type_id)))
            ).one()
            if existing is not None:
                return not existing
            if not hold.is_live(now):
                return False
            if row.capacity - row.sold - held < hold.quantity:
                return False
            await conn.execute(
                inventory_holds.insert().values(
                    hold_id=hold.hold_id,
                    ticket_type_id=hold.ticket_type_id,
                    quantity=hold.quantity,
                    expires_at=hold.expires_at,
                    confirmed=False,
                )
            )
            return True

        return await self._run(hold.ticket_type_id, act)

    async def release(self, ticket_type_id: str, hold_id: str) -> None:
        async def act(conn: AsyncConnection, row: sa.Row[Any, Any], now: datetime) -> None:
            existing = await self._hold(conn, ticket_type_id, hold_id)
            if existing is None:
                return
            if existing.confirmed:
                await conn.execute(
                    inventory_stock.update()
                    .where(stock.ticket_type_id == ticket_type_id)
                    .values(sold=stock.sold - existing.quantity)
                )
            await conn.execute(inventory_holds.delete().where(holds.hold_id == hold_id))

        await self._run(ticket_type_id, act)

    async def abandon(self, hold: Hold) -> None:
        # A reserve whose answer was lost either committed or never will: a reserve still
        # running holds the stock row's lock, so this release waits for it and sees it.
        await self.release(hold.ticket_type_id, hold.hold_id)

    async def confirm(self, ticket_type_id: str, hold_id: str) -> Confirmation:
        async def act(conn: AsyncConnection, row: sa.Row[Any, Any], now: datetime) -> Confirmation:
            existing = await self._hold(conn, ticket_type_id, hold_id)
            if existing is None:
                return Confirmation.LAPSED
            if existing.confirmed:
                return Confirmation.ALREADY_CONFIRMED
            await conn.execute(
                inventory_holds.update().where(holds.hold_id == hold_id).values(confirmed=True)
            )
            await conn.execute(
                inventory_stock.update()
                .where(stock.ticket_type_id == ticket_type_id)
                .values(sold=stock.sold + existing.quantity)
            )
            return Confirmation.CONFIRMED

        return await self._run(ticket_type_id, act)

    async def level(self, ticket_type_id: str) -> StockLevel:
        """Read without locking: pages showing stock must not queue behind buyers.

        One statement reads the stock row and sums the live holds, so on PostgreSQL it
        sees one snapshot: a confirm (hold sold and ``sold`` raised, one transaction)
        is seen whole or not at all. Expired holds are left out by the filter rather
        than deleted; the next write reclaims them.
        """
        for _ in range(MAX_REBUILDS + 1):
            async with self._serial, self._connect() as conn:
                now = self._clock.now()
                held = (
                    sa.select(sa.func.coalesce(sa.func.sum(holds.quantity), 0))
                    .where(
                        holds.ticket_type_id == ticket_type_id,
                        holds.confirmed == sa.false(),
                        holds.expires_at > now,
                    )
                    .scalar_subquery()
                )
                query = sa.select(stock.capacity, stock.sold, held).where(
                    stock.ticket_type_id == ticket_type_id
                )
                row = (await conn.execute(query)).one_or_none()
            if row is not None:
                capacity, sold, held_now = row
                return StockLevel(capacity=capacity, held=int(held_now), sold=sold)
            await self._rebuild(ticket_type_id)
        raise ConflictError(f"the stock of ticket type {ticket_type_id} keeps disappearing")

    async def levels(self, ticket_type_ids: Sequence[str]) -> dict[str, StockLevel]:
        """``level`` of each in one statement (one snapshot, no lock); a type whose
        stock row is missing is then rebuilt and read like ``level``."""
        wanted = list(dict.fromkeys(ticket_type_ids))
        if not wanted:
            return {}
        async with self._serial, self._connect() as conn:
            now = self._clock.now()
            held = (
                sa.select(sa.func.coalesce(sa.func.sum(holds.quantity), 0))
                .where(
                    holds.ticket_type_id == stock.ticket_type_id,
                    holds.confirmed == sa.false(),
                    holds.expires_at > now,
                )
                .scalar_subquery()
            )
            query = sa.select(stock.ticket_type_id, stock.capacity, stock.sold, held).where(
                stock.ticket_type_id.in_(wanted)
            )
            found = {
                ticket_type_id: StockLevel(capacity=capacity, held=int(held_now), sold=sold)
                for ticket_type_id, capacity, sold, held_now in await conn.execute(query)
            }
        return {
            ticket_type_id: found[ticket_type_id]
            if ticket_type_id in found
            else await self.level(ticket_type_id)
            for ticket_type_id in wanted
        }

    # ------------------------------------------------------------------ internals

    async def _run(
        self,
        ticket_type_id: str,
        act: Callable[[AsyncConnection, sa.Row[Any, Any], datetime], Any],
    ) -> Any:
        """Lock the stock row, reclaim expired holds and ``act``, in one transaction."""
        for _ in range(MAX_REBUILDS + 1):
            try:
                async with self._serial, self._transaction() as conn:
                    row = (await conn.execute(self._lock_stock(ticket_type_id))).one_or_none()
                    if row is None:
                        raise _StockMissingError
                    now = self._clock.now()
                    await conn.execute(
                        inventory_holds.delete().where(
                            holds.ticket_type_id == ticket_type_id,
                            holds.confirmed == sa.false(),
                            holds.expires_at <= now,
                        )
                    )
                    return await act(conn, row, now)
            except _StockMissingError:
                await self._rebuild(ticket_type_id)
        raise ConflictError(f"the stock of ticket type {ticket_type_id} keeps disappearing")

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection; an outage on the way in or during the block is
        ``DatabaseUnavailableError`` (503 and try again), not a driver error."""
        async with database_call(connecting=True):
            connection = await self._engine.connect()
        try:
            async with database_call():
                yield connection
        finally:
            await connection.close()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._connect() as conn:
                if not self._postgres:
                    # Take SQLite's write lock at BEGIN (engines from ``create_engine``
                    # honour this option): a transaction that reads and then writes
                    # would fail if another connection wrote in between.
                    await conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
                async with conn.begin():
                    if self._postgres:
                        # SET takes no bound parameter; the value is our own int.
                        await conn.exec_driver_sql(
                            f"SET LOCAL lock_timeout = {self._lock_timeout_ms:d}"
                        )
                    yield conn
        except DBAPIError as error:
            if _sqlstate(error) == _LOCK_NOT_AVAILABLE:
                raise ConflictError("the ticket stock is busy; try again") from error
            raise

    @staticmethod
    def _lock_stock(ticket_type_id: str) -> sa.Select[Any]:
        # FOR UPDATE is left out by the SQLite compiler: there the asyncio lock serialises.
        return (
            sa.select(stock.capacity, stock.sold)
            .where(stock.ticket_type_id == ticket_type_id)
            .with_for_update()
        )

    @staticmethod
    async def _hold(
        conn: AsyncConnection, ticket_type_id: str, hold_id: str
    ) -> sa.Row[Any, Any] | None:
        query = sa.select(holds.quantity, holds.confirmed).where(
            holds.hold_id == hold_id, holds.ticket_type_id == ticket_type_id
        )
        return (await conn.execute(query)).one_or_none()

    @staticmethod
    def _held_query(ticket_type_id: str) -> sa.ScalarSelect[Any]:
        """Stock in unconfirmed holds; the expired ones were deleted in this transaction."""
        return (
            sa.select(sa.func.coalesce(sa.func.sum(holds.quantity), 0))
            .where(holds.ticket_type_id == ticket_type_id, holds.confirmed == sa.false())
            .scalar_subquery()
        )

    async def _rebuild(self, ticket_type_id: str) -> None:
        """Insert the stock row and holds from the facts, unless someone already did.

        Tasks of this process queue on one lock, so the facts load once per process.
        Across processes the insert is ``ON CONFLICT DO NOTHING``: a second rebuilder
        waits for the first one's transaction, then inserts nothing, and the holds go in
        only with the stock row that won, in the same transaction.
        """
        lock = self._loading.setdefault(ticket_type_id, asyncio.Lock())
        async with lock:
            if await self._stock_exists(ticket_type_id):
                return
            facts = await self._facts.stock_facts(ticket_type_id)
            if facts is None:
                raise NotFoundError(f"ticket type {ticket_type_id} not found")
            async with self._serial, self._transaction() as conn:
                insert = self._insert(inventory_stock).values(
                    ticket_type_id=ticket_type_id, capacity=facts.capacity, sold=facts.sold
                )
                inserted = await conn.execute(insert.on_conflict_do_nothing())
                if inserted.rowcount != 1:
                    return
                # Leftovers of an interrupted deletion would collide with the facts' holds.
                await conn.execute(
                    inventory_holds.delete().where(holds.ticket_type_id == ticket_type_id)
                )
                rows = _hold_rows(facts, self._clock.now())
                if rows:
                    await conn.execute(inventory_holds.insert(), rows)

    async def _stock_exists(self, ticket_type_id: str) -> bool:
        async with self._serial, self._connect() as conn:
            query = sa.select(stock.ticket_type_id).where(stock.ticket_type_id == ticket_type_id)
            return (await conn.execute(query)).first() is not None

    def _insert(self, table: sa.Table) -> Any:
        return postgresql.insert(table) if self._postgres else sqlite.insert(table)


def _hold_rows(facts: StockFacts, now: datetime) -> list[dict[str, Any]]:
    """Rows for the live unconfirmed holds and the sold ones (whose expiry is moot)."""
    rows = [
        {
            "hold_id": hold.hold_id,
            "ticket_type_id": facts.ticket_type_id,
            "quantity": hold.quantity,
            "expires_at": hold.expires_at,
            "confirmed": False,
        }
        for hold in facts.holds
        if hold.is_live(now) and hold.hold_id not in facts.sold_holds
    ]
    rows += [
        {
            "hold_id": hold_id,
            "ticket_type_id": facts.ticket_type_id,
            "quantity": quantity,
            "expires_at": now,
            "confirmed": True,
        }
        for hold_id, quantity in facts.sold_holds.items()
    ]
    return rows


def _sqlstate(error: DBAPIError) -> str | None:
    orig = error.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
