"""The unit of work: one transaction, and the repositories that share it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, Self

if TYPE_CHECKING:
    from types import TracebackType

    from getiickets.ports.repositories import (
        EventRepository,
        OrderRepository,
        OutboxRepository,
        PaymentInboxRepository,
        TicketRepository,
        UserRepository,
    )
    from getiickets.ports.views import SalesView


class UnitOfWork(Protocol):
    """``async with uow: ...; await uow.commit()``; leaving without commit rolls back.

    ``commit`` raises ``ConflictError`` when a saved aggregate changed underneath
    (optimistic locking) and ``DuplicateError`` when a unique fact already exists;
    either way nothing of the unit is kept.
    """

    events: EventRepository
    orders: OrderRepository
    tickets: TicketRepository
    users: UserRepository
    outbox: OutboxRepository
    payment_inbox: PaymentInboxRepository
    sales: SalesView
    """A read model for reports, not a repository: it loads no aggregate."""

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Makes a fresh unit of work; use cases take one per operation."""
