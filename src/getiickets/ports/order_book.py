"""The order book: where a placed order is written down, and nothing else.

Under a rush every buyer's order is one commit, and a commit costs an fsync: one
transaction per order caps the order path near the disk's syncs per second. This port
is narrow so that an adapter may carry many orders in one commit (a group commit)
while each caller still learns its own order's fate, and only once it is durable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from getiickets.domain.model.orders import Order


class OrderBook(Protocol):
    async def record(self, order: Order) -> None:
        """Store a new order and its lines; when this returns, they are committed.

        On return ``order.version`` is its stored version (1), as after a unit of work's
        commit; an order whose version is still 0 was not stored. Raises
        ``DuplicateError`` (nothing stored) if its id, number or payment reference
        exists, and ``DatabaseUnavailableError`` in an outage. One caller's failure
        never fails another's order.

        Never call it with a unit of work open: an adapter may need a connection of its
        own. A cancelled caller's order is either left out of every commit or, if a
        commit carries it already, that commit is seen through (``order.version`` then
        tells) before the cancellation goes on.
        """
        ...
