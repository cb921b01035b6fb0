"""Who may see an order: its buyer, the holder of its access token, or the organizer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from getiickets.domain.model.accounts import Actor
from getiickets.domain.model.errors import NotFoundError

if TYPE_CHECKING:
    from getiickets.domain.model.orders import Order
    from getiickets.ports.unit_of_work import UnitOfWork


class OrderAccess(msgspec.Struct, frozen=True, kw_only=True):
    actor: Actor | None = None
    access_token: str | None = None


async def load_visible_order(uow: UnitOfWork, order_id: str, access: OrderAccess) -> Order:
    """The order, or ``NotFoundError``: someone else's order looks exactly like no order."""
    order = await uow.orders.get(order_id)
    if order is None or not await _may_see(uow, order, access):
        raise NotFoundError("order not found")
    return order


async def _may_see(uow: UnitOfWork, order: Order, access: OrderAccess) -> bool:
    if access.access_token and order.grants_access(access.access_token):
        return True
    actor = access.actor
    if actor is None:
        return False
    if order.buyer_user_id is not None and order.buyer_user_id == actor.user_id:
        return True
    if actor.is_organizer:
        event = await uow.events.get(order.event_id)
        return event is not None and event.organizer_id == actor.user_id
    return False
