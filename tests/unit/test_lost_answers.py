"""A reserve whose answer is lost (a timeout after the store ran it) strands no stock.

The inventory here does what it is asked and then loses the answer, as Redis does when
it runs a command after our deadline (frozen, then thawed): the caller sees an outage,
the store holds the stock. The hold id is ours before the call, so the order gives it
back by id; and an abandon that cannot reach the store either is retried until it lands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

from getiickets.adapters.abandoned_holds import RetriedAbandons
from getiickets.domain.model.errors import CacheUnavailableError
from getiickets.domain.usecases.ordering import Ordering
from tests.unit.world import World

if TYPE_CHECKING:
    from getiickets.domain.model.inventory import Confirmation, Hold, StockLevel
    from getiickets.ports.inventory import Inventory

pytestmark = pytest.mark.unit


class LosingAnswers:
    """An inventory whose reserves of chosen ticket types run, then time out."""

    def __init__(self, inner: Inventory) -> None:
        self.inner = inner
        self.lose_reserves_of: set[str] = set()
        self.unreachable = False

    async def reserve(self, hold: Hold) -> bool:
        self._check()
        held = await self.inner.reserve(hold)
        if hold.ticket_type_id in self.lose_reserves_of:
            raise CacheUnavailableError("the inventory store is unavailable: timed out")
        return held

    async def release(self, ticket_type_id: str, hold_id: str) -> None:
        self._check()
        await self.inner.release(ticket_type_id, hold_id)

    async def abandon(self, hold: Hold) -> None:
        self._check()
        await self.inner.abandon(hold)

    async def confirm(self, ticket_type_id: str, hold_id: str) -> Confirmation:
        self._check()
        return await self.inner.confirm(ticket_type_id, hold_id)

    async def level(self, ticket_type_id: str) -> StockLevel:
        return await self.inner.level(ticket_type_id)

    async def levels(self, ticket_type_ids: Sequence[str]) -> dict[str, StockLevel]:
        return await self.inner.levels(ticket_type_ids)

    def _check(self) -> None:
        if self.unreachable:
            raise CacheUnavailableError("the inventory store is unavailable: refused")


def _ordering(world: World, inventory: Inventory) -> Ordering:
    return Ordering(
        uow=world.uow,
        inventory=inventory,
        issuance=world.issuance,
        clock=world.clock,
        ids=world.ids,
        orders=world.orders,
        cache=world.cache,
    )


async def test_a_reserve_whose_answer_is_lost_holds_nothing_once_the_order_fails() -> None:
    world = World()
    event = await world.a_published_event(regular_capacity=10, community_capacity=10)
    inventory = LosingAnswers(world.inventory)
    inventory.lose_reserves_of = {event.community_id}
    world.ordering = _ordering(world, inventory)

    with pytest.raises(CacheUnavailableError):
        await world.place_order(event, regular=2, community=3)

    assert (await world.level(event.regular_id)).held == 0
    assert (await world.level(event.community_id)).held == 0


async def test_holds_given_up_while_the_store_is_unreachable_are_released_when_it_is_back() -> None:
    world = World()
    event = await world.a_published_event(regular_capacity=10)
    losing = LosingAnswers(world.inventory)
    inventory = RetriedAbandons(losing, world.clock, backoff=(0.01,))
    world.ordering = _ordering(world, inventory)
    losing.lose_reserves_of = {event.regular_id}

    # The reserve runs and its answer is lost; then the store stops answering, so the
    # hold cannot be given back at once.
    reserve = losing.reserve

    async def reserve_then_go_down(hold: Hold) -> bool:
        try:
            return await reserve(hold)
        finally:
            losing.unreachable = True

    losing.reserve = reserve_then_go_down  # type: ignore[method-assign]
    with pytest.raises(CacheUnavailableError):
        await world.place_order(event, regular=4)

    assert [hold.quantity for hold in inventory.queued] == [4]
    assert (await world.level(event.regular_id)).held == 4

    losing.unreachable = False
    await inventory.settled()

    assert inventory.queued == []
    assert (await world.level(event.regular_id)).held == 0
