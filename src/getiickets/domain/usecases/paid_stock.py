"""Selling a paid order's stock: its own holds while it owns them, fresh ones after.

Only a pending order still owns its holds; whoever moved it out of pending (the expiry
sweep, a failure) gave them back. A payment that arrives after that is a late payment:
each lapsed line takes stock again, if there is any left, under a hold id derived from
the order and line, so that every concurrent report of the same payment works on one
hold instead of racing each other for stock (and refunding a buyer whose tickets were
there). Nothing here writes the order; ``payment_results`` records what it did.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import TYPE_CHECKING

from getiickets.domain.model.inventory import Confirmation, Hold
from getiickets.domain.model.orders import DEFAULT_RESERVATION_TTL, OrderStatus

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from getiickets.domain.model.orders import Order, OrderLine
    from getiickets.ports.inventory import Inventory

HoldRef = tuple[str, str]
"""(ticket_type_id, hold_id) of a hold to give back."""


def late_hold_id(order: Order, line: OrderLine) -> str:
    """The one hold id a late payment uses to re-take a line's stock.

    Derived (a digest, so it stays as short as any other id) rather than random, so
    that every report of the payment names the same hold."""
    digest = hashlib.sha256(f"{order.id}\n{line.ticket_type_id}".encode()).hexdigest()
    return f"late-{digest[:40]}"


@dataclasses.dataclass
class TakenStock:
    """What taking a paid order's stock did, between the two units of work."""

    kept: list[HoldRef] = dataclasses.field(default_factory=list)
    """The order's own holds, now sold."""
    retaken: dict[str, str] = dataclasses.field(default_factory=dict)
    """Ticket type id -> the late hold sold in place of a lapsed one."""
    sold_out: bool = False
    """A lapsed line found no stock left: the payment goes back."""

    @property
    def holds(self) -> list[HoldRef]:
        """Every hold sold here: to give back if the payment cannot be honoured."""
        return self.kept + list(self.retaken.items())


class PaidStock:
    def __init__(
        self, inventory: Inventory, reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL
    ) -> None:
        self._inventory = inventory
        self._reservation_ttl = reservation_ttl

    async def take(self, order: Order, now: datetime) -> TakenStock:
        """Sell the order's stock in the inventory, stopping at the first line without."""
        stock = TakenStock()
        lapsed: list[OrderLine] = []
        for line in order.lines:
            owned = order.status is OrderStatus.PENDING
            if (
                owned
                and await self._inventory.confirm(line.ticket_type_id, line.hold_id)
                is not Confirmation.LAPSED
            ):
                stock.kept.append((line.ticket_type_id, line.hold_id))
            else:
                lapsed.append(line)
        for line in lapsed:
            if not await self._retake(order, line, now):
                stock.sold_out = True
                break
            stock.retaken[line.ticket_type_id] = late_hold_id(order, line)
        return stock

    async def _retake(self, order: Order, line: OrderLine, now: datetime) -> bool:
        """Take stock again for a line whose hold is gone, and sell it; False if none is left."""
        hold_id = late_hold_id(order, line)
        if await self._inventory.confirm(line.ticket_type_id, hold_id) is not Confirmation.LAPSED:
            return True  # another report of this payment took it already
        hold = Hold(
            hold_id=hold_id,
            ticket_type_id=line.ticket_type_id,
            quantity=line.quantity,
            expires_at=now + self._reservation_ttl,
        )
        if not await self._inventory.reserve(hold):
            return False
        await self._inventory.confirm(line.ticket_type_id, hold_id)
        return True
