"""Refunds: asking the provider to return money, and recording that it did.

An order is marked refunded (``refund_due``) in the unit of work that decided the money
goes back; the provider is asked after the commit, and again by the worker while it
cannot be reached. The provider's report that a refund was processed refunds a paid
order (its tickets are voided, its stock goes back) or confirms a requested one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from getiickets.domain.model.errors import PAYMENT_PROVIDER_TROUBLE
from getiickets.domain.model.orders import OrderStatus
from getiickets.domain.usecases import inbox_rows
from getiickets.domain.usecases.holds import release_holds
from getiickets.domain.usecases.retrying import retry_on_conflict

if TYPE_CHECKING:
    from getiickets.domain.model.orders import Order
    from getiickets.ports.clock import Clock
    from getiickets.ports.inventory import Inventory
    from getiickets.ports.payments import PaymentGateway
    from getiickets.ports.unit_of_work import UnitOfWorkFactory

logger = logging.getLogger(__name__)


class Refunds:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        inventory: Inventory,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._inventory = inventory
        self._clock = clock

    async def request(self, order_id: str) -> bool:
        """Ask the provider for an order's due refund; False if it is not due or the
        provider did not take it (the worker asks again)."""
        async with self._uow() as uow:
            order = await uow.orders.get(order_id)
        if order is None or not order.refund_due or order.payment_reference is None:
            return False
        try:
            await self._gateway.refund(order.payment_reference)
        except PAYMENT_PROVIDER_TROUBLE:
            logger.warning("refund of order %s not accepted yet; will retry", order_id)
            return False

        async def record() -> None:
            async with self._uow() as uow:
                current = await uow.orders.get(order_id)
                if current is not None and current.refund_due:
                    current.record_refund_requested()
                    await uow.orders.save(current)
                    await uow.commit()

        await retry_on_conflict(record)
        return True

    async def process_due_refunds(self, limit: int = 50) -> int:
        """Worker: ask the provider for refunds that could not be requested before."""
        async with self._uow() as uow:
            due = await uow.orders.refunds_due(limit)
        requested = 0
        for order in due:
            if await self.request(order.id):
                requested += 1
        return requested

    async def refund_processed(self, reference: str, inbox: str) -> None:
        """The provider reports the transaction ``reference`` refunded (event row ``inbox``)."""

        async def attempt() -> Order | None:
            async with self._uow() as uow:
                order = await uow.orders.get_by_reference(reference)
                refunded = None
                if order is not None and order.status is OrderStatus.PAID:
                    order.mark_refunded(self._clock.now())
                    for ticket in await uow.tickets.for_order(order.id):
                        ticket.void()
                        await uow.tickets.save(ticket)
                    await uow.orders.save(order)
                    refunded = order
                elif order is not None and order.refund_due:
                    order.record_refund_requested()
                    await uow.orders.save(order)
                await inbox_rows.close(uow, inbox, self._clock.now())
                await uow.commit()
                return refunded

        refunded = await retry_on_conflict(attempt)
        if refunded is not None:
            await release_holds(self._inventory, refunded)
