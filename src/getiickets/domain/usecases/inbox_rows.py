"""Closing or keeping open a payment inbox row, inside the caller's unit of work.

Every path that learns something about a payment (a delivery, a poll, a refund's
report) ends by settling the row it came from: closed once something was applied, kept
open on the model's schedule while there is nothing to apply yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from getiickets.domain.model.orders import OrderStatus
from getiickets.domain.usecases.retrying import retry_on_conflict

if TYPE_CHECKING:
    from datetime import datetime

    from getiickets.domain.model.orders import Order
    from getiickets.ports.clock import Clock
    from getiickets.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory


async def keep_open(uow: UnitOfWork, key: str, order: Order | None, now: datetime) -> None:
    """Nothing to apply yet: polled again while ``order`` waits for its money."""
    event = await uow.payment_inbox.get(key)
    if event is None or event.is_processed:
        return
    waiting = order is not None and order.status is OrderStatus.PENDING
    event.nothing_to_apply(now, order_waiting=waiting)
    await uow.payment_inbox.save(event)


async def close(uow: UnitOfWork, key: str, now: datetime) -> None:
    event = await uow.payment_inbox.get(key)
    if event is not None and not event.is_processed:
        event.mark_processed(now)
        await uow.payment_inbox.save(event)


async def close_now(uow: UnitOfWorkFactory, key: str, clock: Clock) -> None:
    """``close`` in a unit of its own."""

    async def attempt() -> None:
        async with uow() as unit:
            await close(unit, key, clock.now())
            await unit.commit()

    await retry_on_conflict(attempt)
