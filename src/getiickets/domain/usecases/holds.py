"""An order's holds in the inventory: sold once it is paid, given back once it is not.

Both are idempotent, so every path that settles an order (placing a free one, a payment,
a cancellation, an expiry, a refund) may call them again after its commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from getiickets.domain.model.orders import Order
    from getiickets.ports.inventory import Inventory


async def confirm_sold(inventory: Inventory, order: Order) -> None:
    """Confirm a paid order's holds once more, after the commit that made it paid.

    Holds are confirmed before that commit (the gate); if the inventory lost its state
    and rebuilt from the database in between, it saw them as live holds that would
    expire and hand sold stock out again. Confirming is idempotent, so repeating it
    after the commit closes that window at the cost of one cheap call per line.
    """
    for line in order.lines:
        await inventory.confirm(line.ticket_type_id, line.hold_id)


async def release_holds(inventory: Inventory, order: Order) -> None:
    """Give an order's stock back: it was cancelled, expired, failed or refunded."""
    for line in order.lines:
        await inventory.release(line.ticket_type_id, line.hold_id)
