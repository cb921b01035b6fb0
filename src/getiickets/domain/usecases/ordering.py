"""Placing and cancelling orders: stock is held first, then written down.

Holds are taken from the inventory (all lines or none) before the order is stored;
if storing fails, the holds go back at once. Holds end by themselves at
``expires_at``, so a crash between the two steps can cost stock for one reservation
period at most, and never oversells.

A reserve whose answer is lost (a timeout: Redis frozen, or slow) may still happen
after we gave up on it, so its hold is given back too: ``Inventory.abandon`` by hold id,
which the id being ours before the call makes possible, and which also stops a late
copy of the reserve from holding anything. The composition root makes an abandon that
cannot reach the inventory wait and retry (``RetriedAbandons``) instead of failing.

Under a rush this is the hot path, so it touches the database once: the event comes
from the read cache (``event_cache``), and a pending order goes to the ``OrderBook``,
whose adapter carries many orders per commit. A cached event can only be stale the
safe way: what ordering checks (published, the types' prices, limits and sales
windows) never changes once set, except a draft becoming published and types being
added, and a stale copy of those refuses an order rather than taking a wrong one.

Before even the read cache, each process keeps the events it has just sold from for
``ON_SALE_MEMO_TTL`` (a Redis round trip per order saved). Only a published event that
has every ticket type ordered is answered from it: whatever ordering decides from such
a copy, a fresh read would decide too (no use case unpublishes an event or changes a
ticket type). Anything else (a draft, a type the copy lacks) goes to the read cache, so
an event published or a type added a moment ago sells at once. A free order, whose
tickets are issued at once with the event's (editable) title and venue on them, reads
the event afresh.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING

import msgspec

from getiickets.domain.model.accounts import normalize_email, normalize_phone
from getiickets.domain.model.catalog import EventStatus
from getiickets.domain.model.errors import (
    CacheUnavailableError,
    DatabaseUnavailableError,
    NotFoundError,
    SoldOutError,
    ValidationError,
)
from getiickets.domain.model.inventory import Hold
from getiickets.domain.model.money import total
from getiickets.domain.model.orders import (
    DEFAULT_RESERVATION_TTL,
    ORDER_NUMBER_CODE_LENGTH,
    Buyer,
    Order,
    OrderLine,
    OrderStatus,
    digest_token,
    order_number,
)
from getiickets.domain.model.tickets import Ticket
from getiickets.domain.usecases.access import OrderAccess, load_visible_order
from getiickets.domain.usecases.event_cache import EventCache
from getiickets.domain.usecases.holds import confirm_sold, release_holds
from getiickets.domain.usecases.retrying import retry_on_conflict
from getiickets.domain.usecases.single_flight import SingleFlight

if TYPE_CHECKING:
    from datetime import datetime

    from getiickets.domain.model.catalog import Event
    from getiickets.domain.usecases.issuance import TicketIssuance
    from getiickets.ports.clock import Clock, IdGenerator
    from getiickets.ports.hot_state import Cache
    from getiickets.ports.inventory import Inventory
    from getiickets.ports.order_book import OrderBook
    from getiickets.ports.unit_of_work import UnitOfWorkFactory


ON_SALE_MEMO_TTL = timedelta(seconds=1)
"""How long a process answers orders from an event it has just read. Short because
nothing should outlive a change a future use case may make (a cancellation), and long
enough that a rush reads each event about once a second per process."""
_MEMO_LIMIT = 10_000


class OrderItem(msgspec.Struct, frozen=True, kw_only=True):
    ticket_type_id: str
    quantity: int


class PlaceOrder(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    items: tuple[OrderItem, ...]
    buyer: Buyer
    buyer_user_id: str | None = None


class PlacedOrder(msgspec.Struct, frozen=True, kw_only=True):
    order: Order
    access_token: str
    """Lets a guest read the order; shown once, stored only as a digest."""
    tickets: list[Ticket]
    """Issued at once for a free order; empty until payment otherwise."""


class Ordering:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        inventory: Inventory,
        issuance: TicketIssuance,
        clock: Clock,
        ids: IdGenerator,
        reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL,
        orders: OrderBook | None = None,
        cache: Cache | None = None,
    ) -> None:
        """Without ``orders``, pending orders are written in a unit of work each; without
        ``cache``, the event is read from the database."""
        self._uow = uow
        self._inventory = inventory
        self._issuance = issuance
        self._clock = clock
        self._ids = ids
        self._reservation_ttl = reservation_ttl
        self._orders = orders
        self._events = EventCache(uow=uow, cache=cache) if cache is not None else None
        self._on_sale: dict[str, tuple[Event, datetime]] = {}
        self._reading: SingleFlight[Event | None] = SingleFlight()

    async def place_order(self, command: PlaceOrder) -> PlacedOrder:
        now = self._clock.now()
        memo = self._memo_on_sale(command, now)
        event = memo or await self._event(command.event_id, now)
        if event is None:
            raise NotFoundError("event not found")
        lines = self._lines(event, command.items, now)
        buyer = Buyer(
            email=normalize_email(command.buyer.email, field="buyer.email"),
            name=command.buyer.name.strip(),
            phone=normalize_phone(command.buyer.phone, field="buyer.phone"),
        )
        access_token = self._ids.new_secret()
        order = Order(
            id=self._ids.new_id(),
            order_number=order_number(self._ids.new_code(ORDER_NUMBER_CODE_LENGTH)),
            event_id=event.id,
            buyer=buyer,
            buyer_user_id=command.buyer_user_id,
            lines=lines,
            total=total([line.subtotal for line in lines], event.currency),
            status=OrderStatus.PENDING,
            created_at=now,
            expires_at=now + self._reservation_ttl,
            access_token_digest=digest_token(access_token),
        )
        if order.is_free and memo is not None:
            # A free order's tickets are issued now and carry the event's title, venue
            # and times, which organizers may edit: those come from a fresh read.
            event = await self._event(event.id, now) or event
        holds = [
            Hold(
                hold_id=line.hold_id,
                ticket_type_id=line.ticket_type_id,
                quantity=line.quantity,
                expires_at=order.expires_at,
            )
            for line in lines
        ]
        await self._hold_all(holds)
        try:
            tickets = await self._store(order, event, now)
        except BaseException:
            # An order never stored (its version unstamped): nobody else knows these
            # holds, so giving them back is safe. A stored one keeps them (a cancelled
            # caller whose commit went through), to be paid or to expire.
            if not order.version:
                await self._abandon(holds)
            raise
        if order.is_free:
            await confirm_sold(self._inventory, order)
        return PlacedOrder(order=order, access_token=access_token, tickets=tickets)

    async def get_order(self, order_id: str, access: OrderAccess) -> Order:
        async with self._uow() as uow:
            return await load_visible_order(uow, order_id, access)

    async def tickets_of(self, order_id: str, access: OrderAccess) -> list[Ticket]:
        async with self._uow() as uow:
            order = await load_visible_order(uow, order_id, access)
            return await uow.tickets.for_order(order.id)

    async def ticket(self, ticket_number: str, access: OrderAccess) -> Ticket:
        """A ticket by its number, for whoever may see its order."""
        async with self._uow() as uow:
            ticket = await uow.tickets.get_by_number(ticket_number)
            if ticket is None:
                raise NotFoundError("ticket not found")
            await load_visible_order(uow, ticket.order_id, access)
            return ticket

    async def cancel_order(self, order_id: str, access: OrderAccess) -> Order:
        async def attempt() -> Order:
            async with self._uow() as uow:
                order = await load_visible_order(uow, order_id, access)
                order.cancel()
                await uow.orders.save(order)
                await uow.commit()
                return order

        order = await retry_on_conflict(attempt)
        await release_holds(self._inventory, order)
        return order

    def _lines(self, event: Event, items: tuple[OrderItem, ...], now: datetime) -> list[OrderLine]:
        if not items:
            raise ValidationError("an order needs at least one item", field="items")
        seen: set[str] = set()
        lines = []
        for index, item in enumerate(items):
            if item.ticket_type_id in seen:
                raise ValidationError(
                    "each ticket type may appear once; add up the quantity",
                    field=f"items.{index}.ticket_type_id",
                )
            seen.add(item.ticket_type_id)
            ticket_type = event.ticket_type(item.ticket_type_id)
            event.check_on_sale(ticket_type, now)
            if item.quantity < 1:
                raise ValidationError(
                    "quantity must be at least 1", field=f"items.{index}.quantity"
                )
            ticket_type.check_quantity(item.quantity)
            lines.append(
                OrderLine(
                    ticket_type_id=ticket_type.id,
                    name=ticket_type.name,
                    quantity=item.quantity,
                    unit_price=ticket_type.price,
                    hold_id=self._ids.new_id(),
                )
            )
        return lines

    async def _hold_all(self, holds: list[Hold]) -> None:
        tried: list[Hold] = []
        try:
            for hold in holds:
                # Counted before the call: if its answer is lost, it may have been held.
                tried.append(hold)
                if not await self._inventory.reserve(hold):
                    raise SoldOutError("not enough tickets left")
        except BaseException:
            await self._abandon(tried)
            raise

    def _memo_on_sale(self, command: PlaceOrder, now: datetime) -> Event | None:
        """The event as read less than ``ON_SALE_MEMO_TTL`` ago, if published and
        offering every type ordered (see the module's docstring); else None."""
        memo = self._on_sale.get(command.event_id)
        if memo is None or now - memo[1] >= ON_SALE_MEMO_TTL:
            return None
        event = memo[0]
        offered = {ticket_type.id for ticket_type in event.ticket_types}
        if all(item.ticket_type_id in offered for item in command.items):
            return event
        return None

    async def _event(self, event_id: str, now: datetime) -> Event | None:
        """Read once for every order that asks meanwhile: in a rush the whole burst in
        flight finds the memo stale at the same moment."""
        return await self._reading.share(event_id, lambda: self._read_event(event_id, now))

    async def _read_event(self, event_id: str, now: datetime) -> Event | None:
        if self._events is not None:
            event = await self._events.get(event_id)
        else:
            async with self._uow() as uow:
                event = await uow.events.get(event_id)
        if event is not None and event.status is EventStatus.PUBLISHED:
            if len(self._on_sale) >= _MEMO_LIMIT:
                self._on_sale.clear()
            self._on_sale[event_id] = (event, now)
        return event

    async def _store(self, order: Order, event: Event, now: datetime) -> list[Ticket]:
        if not order.is_free and self._orders is not None:
            await self._orders.record(order)
            return []
        if order.is_free:
            # Free: no payment to wait for, so the holds are sold right away. Confirmed
            # before the unit of work opens: an SQL inventory must not wait on it.
            for line in order.lines:
                await self._inventory.confirm(line.ticket_type_id, line.hold_id)
        async with self._uow() as uow:
            tickets: list[Ticket] = []
            if order.is_free:
                tickets = await self._issuance.complete_sale(uow, order, event, now)
            await uow.orders.add(order)
            await uow.commit()
            return tickets

    async def _abandon(self, holds: list[Hold]) -> None:
        """Give back holds of an order that will not be written; the caller is failing
        already, so an outage here must not replace its error (the hold still ends at
        its expiry, and the composition root's inventory retries it sooner)."""
        for hold in holds:
            with contextlib.suppress(CacheUnavailableError, DatabaseUnavailableError):
                await self._inventory.abandon(hold)
