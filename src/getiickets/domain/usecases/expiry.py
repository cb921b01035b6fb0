"""Expiring pending orders whose reservation ended, so that their stock goes back.

An order with a payment under way is checked with the provider first: the provider
sends no webhook for failures, and a success may have been missed. A success that shows
up after the expiry takes the late-payment path (``payment_results``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from getiickets.domain.usecases.holds import release_holds
from getiickets.domain.usecases.retrying import retry_on_conflict

if TYPE_CHECKING:
    from getiickets.domain.model.orders import Order
    from getiickets.domain.usecases.payment_results import PaymentResults
    from getiickets.ports.clock import Clock
    from getiickets.ports.inventory import Inventory
    from getiickets.ports.unit_of_work import UnitOfWorkFactory


class Expiry:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        inventory: Inventory,
        results: PaymentResults,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._inventory = inventory
        self._results = results
        self._clock = clock

    async def expire_due_orders(self, limit: int = 100) -> int:
        """Worker: expire the pending orders whose reservation ended; returns how many."""
        async with self._uow() as uow:
            due = await uow.orders.due_for_expiry(self._clock.now(), limit)
        expired = 0
        for order in due:
            if order.payment_reference and await self._results.settle_before_expiry(order):
                continue
            if await self._expire(order.id):
                expired += 1
        return expired

    async def _expire(self, order_id: str) -> bool:
        async def attempt() -> Order | None:
            async with self._uow() as uow:
                order = await uow.orders.get(order_id)
                if order is None or not order.is_due_for_expiry(self._clock.now()):
                    return None  # paid, cancelled or extended in the meantime
                order.expire(self._clock.now())
                await uow.orders.save(order)
                await uow.commit()
                return order

        order = await retry_on_conflict(attempt)
        if order is None:
            return False
        await release_holds(self._inventory, order)
        return True
