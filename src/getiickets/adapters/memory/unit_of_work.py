"""``InMemoryUnitOfWork``: one transaction over an ``InMemoryDatabase``.

``async with uow:`` opens the transaction; ``commit`` applies every staged write at
once or raises (``ConflictError``, ``DuplicateError``, ``EmailTakenError``) having
applied nothing; leaving the block without committing rolls back. Either way the
transaction is over: commit and rollback close the unit, and any later use of its
repositories raises ``RuntimeError`` until a new ``async with`` opens it again. That
is stricter than a SQLAlchemy session (which would begin a new transaction silently)
on purpose, so a use case cannot lean on writes that nothing will commit.

Build one per operation (``lambda: InMemoryUnitOfWork(database)`` is a
``UnitOfWorkFactory``); units over the same database may run concurrently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from getiickets.adapters.memory.connections import unit_closed, unit_opened
from getiickets.adapters.memory.repositories import (
    InMemoryEventRepository,
    InMemoryOrderRepository,
    InMemoryOutboxRepository,
    InMemoryPaymentInboxRepository,
    InMemoryTicketRepository,
    InMemoryUserRepository,
)
from getiickets.adapters.memory.tables import Changes, StagedWrites, commit_all
from getiickets.adapters.memory.views import InMemorySalesView

if TYPE_CHECKING:
    from types import TracebackType

    from getiickets.adapters.memory.database import InMemoryDatabase
    from getiickets.ports.repositories import (
        EventRepository,
        OrderRepository,
        OutboxRepository,
        PaymentInboxRepository,
        TicketRepository,
        UserRepository,
    )
    from getiickets.ports.views import SalesView


class InMemoryUnitOfWork:
    def __init__(self, database: InMemoryDatabase) -> None:
        self.database = database
        events = Changes(database.events)
        orders = Changes(database.orders)
        tickets = Changes(database.tickets)
        users = Changes(database.users)
        outbox = Changes(database.outbox)
        payment_inbox = Changes(database.payment_inbox)
        self._changes: list[StagedWrites] = [
            events,
            orders,
            tickets,
            users,
            outbox,
            payment_inbox,
        ]
        # Typed as the ports: the protocol's attributes are mutable, hence invariant.
        self.events: EventRepository = InMemoryEventRepository(events)
        self.orders: OrderRepository = InMemoryOrderRepository(orders)
        self.tickets: TicketRepository = InMemoryTicketRepository(tickets)
        self.users: UserRepository = InMemoryUserRepository(users)
        self.outbox: OutboxRepository = InMemoryOutboxRepository(outbox)
        self.payment_inbox: PaymentInboxRepository = InMemoryPaymentInboxRepository(payment_inbox)
        self.sales: SalesView = InMemorySalesView(orders, events)
        self._counted = False

    @property
    def is_open(self) -> bool:
        return self._changes[0].is_open

    async def __aenter__(self) -> Self:
        if self.is_open:
            raise RuntimeError("this unit of work is already open; units do not nest")
        self._close()
        for changes in self._changes:
            changes.is_open = True
        # Counted as a held connection until commit, rollback or the block's end.
        unit_opened()
        self._counted = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()

    async def commit(self) -> None:
        if not self.is_open:
            raise RuntimeError("commit outside `async with`, or after commit or rollback")
        try:
            commit_all(self._changes)
        finally:
            self._close()

    async def rollback(self) -> None:
        self._close()

    def _close(self) -> None:
        if self._counted:
            unit_closed()
            self._counted = False
        for changes in self._changes:
            changes.clear()
            changes.is_open = False
