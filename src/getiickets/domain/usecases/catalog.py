"""Organizers publish events and ticket types; anyone browses what is on sale."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from getiickets.domain.model.catalog import (
    DEFAULT_MAX_PER_ORDER,
    Event,
    EventStatus,
    TicketType,
    slugify,
    unique_slug,
)
from getiickets.domain.model.errors import (
    DuplicateError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from getiickets.domain.model.local_time import DEFAULT_TIMEZONE
from getiickets.domain.model.media import MAX_IMAGE_BYTES, media_type
from getiickets.domain.model.money import DEFAULT_CURRENCY, Money
from getiickets.domain.model.orders import OrderStatus
from getiickets.domain.usecases.event_cache import EventCache
from getiickets.domain.usecases.retrying import retry_on_conflict
from getiickets.domain.usecases.single_flight import SingleFlight
from getiickets.ports.repositories import EventPage

if TYPE_CHECKING:
    from collections.abc import Mapping

    from getiickets.domain.model.accounts import Actor
    from getiickets.domain.model.inventory import StockLevel
    from getiickets.ports.clock import Clock, IdGenerator
    from getiickets.ports.files import FileStorage
    from getiickets.ports.hot_state import Cache
    from getiickets.ports.inventory import Inventory
    from getiickets.ports.repositories import EventQuery
    from getiickets.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

# Cache keys ``events:v<version>:...`` (300 s; events themselves: ``event_cache``). Lists
# carry a version that every event write bumps, so a write retires every cached page at
# once without finding them.
LIST_TTL = timedelta(seconds=300)
LIST_VERSION_KEY = "events:version"
PUBLISHED_MEMO_TTL = timedelta(seconds=2)
"""How stale a queue join's view of an event may be in another process than the one
that changed it (``published_event``)."""
_PUBLISHED_MEMO_SIZE = 10_000
IMAGE_URL_LIFETIME = timedelta(days=1)
_IMAGE_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
_SLUG_SUFFIX_LENGTH = 6
# Trimmed on update exactly as on create, or " Abuja " would escape the city filter.
_TRIMMED_FIELDS = frozenset({"title", "category", "city", "venue"})


class NewTicketType(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    price: Money
    capacity: int
    max_per_order: int = DEFAULT_MAX_PER_ORDER
    sales_start: datetime | None = None
    sales_end: datetime | None = None


class CreateEvent(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    starts_at: datetime
    description: str = ""
    category: str = ""
    city: str = ""
    venue: str = ""
    ends_at: datetime | None = None
    timezone: str = DEFAULT_TIMEZONE
    currency: str = DEFAULT_CURRENCY
    ticket_types: tuple[NewTicketType, ...] = ()


class UpdateEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Only the fields that are set change."""

    title: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType = msgspec.UNSET
    category: str | msgspec.UnsetType = msgspec.UNSET
    city: str | msgspec.UnsetType = msgspec.UNSET
    venue: str | msgspec.UnsetType = msgspec.UNSET
    starts_at: datetime | msgspec.UnsetType = msgspec.UNSET
    ends_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    timezone: str | msgspec.UnsetType = msgspec.UNSET


class TicketTypeView(msgspec.Struct, frozen=True, kw_only=True):
    ticket_type: TicketType
    available: int


class EventView(msgspec.Struct, frozen=True, kw_only=True):
    event: Event
    ticket_types: list[TicketTypeView]
    image_url: str | None


class EventList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[EventView]
    total: int
    page: int
    limit: int


class TicketTypeSalesView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    capacity: int
    sold: int
    held: int
    available: int
    revenue: Money


class SalesSummary(msgspec.Struct, frozen=True, kw_only=True):
    ticket_types: list[TicketTypeSalesView]
    orders: dict[str, int]
    revenue: Money


class Catalog:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        inventory: Inventory,
        files: FileStorage,
        cache: Cache,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._inventory = inventory
        self._files = files
        self._cache = cache
        self._events = EventCache(uow=uow, cache=cache)
        self._clock = clock
        self._ids = ids
        self._published: dict[str, tuple[Event, datetime]] = {}
        self._reading_published: SingleFlight[Event] = SingleFlight()

    async def create_event(self, actor: Actor, command: CreateEvent) -> EventView:
        if not actor.is_organizer:
            raise ForbiddenError("only organizers create events")
        event_id = self._ids.new_id()
        event = Event(
            id=event_id,
            slug=slugify(command.title),
            organizer_id=actor.user_id,
            title=command.title.strip(),
            description=command.description,
            category=command.category.strip(),
            city=command.city.strip(),
            venue=command.venue.strip(),
            starts_at=command.starts_at,
            ends_at=command.ends_at,
            timezone=command.timezone,
            currency=command.currency,
            created_at=self._clock.now(),
        )
        for new_type in command.ticket_types:
            event.add_ticket_type(self._ticket_type(event_id, new_type))
        await self._add_with_free_slug(event)
        return await self._view(event)

    async def update_event(self, actor: Actor, event_id: str, command: UpdateEvent) -> EventView:
        async def attempt() -> Event:
            async with self._uow() as uow:
                event = await self._owned_event(uow, actor, event_id)
                changes = {
                    field: value.strip() if field in _TRIMMED_FIELDS else value
                    for field in command.__struct_fields__
                    if (value := getattr(command, field)) is not msgspec.UNSET
                }
                # replace() runs __post_init__, so the changed event keeps every invariant.
                updated = msgspec.structs.replace(event, **changes)
                await uow.events.save(updated)
                await uow.commit()
                return updated

        return await self._view(await self._written(await retry_on_conflict(attempt)))

    async def publish_event(self, actor: Actor, event_id: str) -> EventView:
        async def attempt() -> Event:
            async with self._uow() as uow:
                event = await self._owned_event(uow, actor, event_id)
                event.publish()
                await uow.events.save(event)
                await uow.commit()
                return event

        return await self._view(await self._written(await retry_on_conflict(attempt)))

    async def add_ticket_type(
        self, actor: Actor, event_id: str, new_type: NewTicketType
    ) -> TicketTypeView:
        async def attempt() -> TicketType:
            async with self._uow() as uow:
                event = await self._owned_event(uow, actor, event_id)
                ticket_type = self._ticket_type(event_id, new_type)
                event.add_ticket_type(ticket_type)
                await uow.events.save(event)
                await uow.commit()
                return ticket_type

        ticket_type = await retry_on_conflict(attempt)
        await self._forget_cached(event_id)
        level = await self._inventory.level(ticket_type.id)
        return TicketTypeView(ticket_type=ticket_type, available=level.available)

    async def set_image(
        self, actor: Actor, event_id: str, data: bytes, content_type: str
    ) -> EventView:
        extension = _check_image(data, content_type)
        async with self._uow() as uow:
            await self._owned_event(uow, actor, event_id)
        key = f"events/{event_id}/image-{self._ids.new_code(8).lower()}.{extension}"
        await self._files.put(key, data, content_type)

        async def attempt() -> Event:
            async with self._uow() as uow:
                event = await self._owned_event(uow, actor, event_id)
                event.image_key = key
                await uow.events.save(event)
                await uow.commit()
                return event

        return await self._view(await self._written(await retry_on_conflict(attempt)))

    async def get_event(self, id_or_slug: str, actor: Actor | None = None) -> EventView:
        return await self._view(await self.visible_event(id_or_slug, actor))

    async def visible_event(self, id_or_slug: str, actor: Actor | None = None) -> Event:
        """The event ``get_event`` shows, without its availability or image link: for
        callers that need only the event (a queue join in a rush), one cache read."""
        event = await self._cached_event(id_or_slug)
        visible = event is not None and (
            event.status is EventStatus.PUBLISHED
            or (actor is not None and actor.user_id == event.organizer_id)
        )
        if event is None or not visible:
            raise NotFoundError("event not found")
        return event

    async def published_event(self, id_or_slug: str) -> Event:
        """The published event, as this process saw it at most ``PUBLISHED_MEMO_TTL`` ago:
        for a queue join in a rush, which then costs no read at all.

        Sound for joins because a join uses only the event's id and sells nothing: an
        event cancelled meanwhile takes joins for that long more in this process (as a
        change of queue settings reaches other processes ``SETTINGS_TTL`` late), and the
        order path reads the event afresh. Only published events are remembered, so a
        newly published one is seen at once.
        """
        now = self._clock.now()
        seen = self._published.get(id_or_slug)
        if seen is not None and now - seen[1] < PUBLISHED_MEMO_TTL:
            return seen[0]
        # In a rush every join in flight finds the memo stale at the same moment.
        return await self._reading_published.share(
            id_or_slug, lambda: self._remember_published(id_or_slug, now)
        )

    async def _remember_published(self, id_or_slug: str, now: datetime) -> Event:
        event = await self.visible_event(id_or_slug)
        if len(self._published) >= _PUBLISHED_MEMO_SIZE:
            self._published.clear()
        self._published[id_or_slug] = (event, now)
        return event

    async def check_owner(self, actor: Actor, event_id: str) -> None:
        """Refuse anyone but the event's organizer: ``NotFoundError``, ``ForbiddenError``.

        For the edge, before it reads a request's body; the writes check again. A
        cached copy will do: an event never changes hands.
        """
        event = await self._cached_event(event_id)
        if event is None or event.id != event_id:
            raise NotFoundError("event not found")
        event.check_owner(actor.user_id)

    async def list_events(self, query: EventQuery) -> EventList:
        version = await self._cache.get(LIST_VERSION_KEY) or b"0"
        key = (
            f"events:v{version.decode()}:{query.category or ''}:{query.city or ''}:"
            f"{query.on_date.isoformat() if query.on_date else ''}:{query.page}:{query.limit}"
        )
        cached = await self._cache.get(key)
        if cached is not None:
            page = _page_decoder.decode(cached)
        else:
            async with self._uow() as uow:
                page = await uow.events.list_published(query)
            await self._cache.set(key, msgspec.json.encode(page), LIST_TTL)
        # Availability is never cached here: it comes from the inventory on every read,
        # for the whole page at once.
        levels = await self._inventory.levels(
            [ticket_type.id for event in page.items for ticket_type in event.ticket_types]
        )
        views = [await self._view(event, levels) for event in page.items]
        return EventList(items=views, total=page.total, page=query.page, limit=query.limit)

    async def sales_summary(self, actor: Actor, event_id: str) -> SalesSummary:
        async with self._uow() as uow:
            event = await self._owned_event(uow, actor, event_id)
            report = await uow.sales.event_sales(event_id)
        sales = {line.ticket_type_id: line for line in report.ticket_types}
        rows = []
        levels = await self._inventory.levels(
            [ticket_type.id for ticket_type in event.ticket_types]
        )
        for ticket_type in event.ticket_types:
            level = levels[ticket_type.id]
            revenue = sales[ticket_type.id].revenue if ticket_type.id in sales else 0
            rows.append(
                TicketTypeSalesView(
                    id=ticket_type.id,
                    name=ticket_type.name,
                    capacity=level.capacity,
                    sold=level.sold,
                    held=level.held,
                    available=level.available,
                    revenue=Money(amount=revenue, currency=event.currency),
                )
            )
        return SalesSummary(
            ticket_types=rows,
            orders={status.value: report.orders.get(status, 0) for status in OrderStatus},
            revenue=Money(amount=sum(row.revenue.amount for row in rows), currency=event.currency),
        )

    async def _cached_event(self, id_or_slug: str) -> Event | None:
        """The event by id or slug, from the cache or the database (``event_cache``)."""
        return await self._events.get_by_id_or_slug(id_or_slug)

    async def _written(self, event: Event) -> Event:
        await self._forget_cached(event.id, event.slug)
        return event

    async def _forget_cached(self, event_id: str, slug: str | None = None) -> None:
        """After a write: drop the detail entries and retire every cached list page."""
        self._published.pop(event_id, None)
        if slug is not None:
            self._published.pop(slug, None)
        await self._events.forget(event_id, slug)
        await self._cache.incr(LIST_VERSION_KEY)

    async def _owned_event(self, uow: UnitOfWork, actor: Actor, event_id: str) -> Event:
        event = await uow.events.get(event_id)
        if event is None:
            raise NotFoundError("event not found")
        event.check_owner(actor.user_id)
        return event

    async def _add_with_free_slug(self, event: Event) -> None:
        async with self._uow() as uow:
            if await uow.events.get_by_slug(event.slug) is None:
                try:
                    await uow.events.add(event)
                    await uow.commit()
                except DuplicateError:
                    pass  # taken in the meantime: fall through to a suffixed slug
                else:
                    return
        event.slug = unique_slug(event.title, self._ids.new_code(_SLUG_SUFFIX_LENGTH).lower())
        async with self._uow() as uow:
            await uow.events.add(event)
            await uow.commit()

    def _ticket_type(self, event_id: str, new_type: NewTicketType) -> TicketType:
        return TicketType(
            id=self._ids.new_id(),
            event_id=event_id,
            name=new_type.name.strip(),
            price=new_type.price,
            capacity=new_type.capacity,
            max_per_order=new_type.max_per_order,
            sales_start=new_type.sales_start,
            sales_end=new_type.sales_end,
        )

    async def _view(
        self, event: Event, levels: Mapping[str, StockLevel] | None = None
    ) -> EventView:
        """The event with its availability, read from ``levels`` when the caller has it."""
        if levels is None:
            levels = await self._inventory.levels(
                [ticket_type.id for ticket_type in event.ticket_types]
            )
        types = [
            TicketTypeView(ticket_type=ticket_type, available=levels[ticket_type.id].available)
            for ticket_type in event.ticket_types
        ]
        image_url = (
            await self._files.signed_url(event.image_key, IMAGE_URL_LIFETIME)
            if event.image_key
            else None
        )
        return EventView(event=event, ticket_types=types, image_url=image_url)


_page_decoder = msgspec.json.Decoder(EventPage)


def _check_image(data: bytes, content_type: str) -> str:
    """The business rule: PNG, JPEG or WebP, at most 5 MiB. That the bytes really are
    what the type says is checked by every file storage before it stores anything."""
    declared = media_type(content_type)
    if declared not in _IMAGE_EXTENSIONS:
        raise UnsupportedMediaTypeError("event images must be PNG, JPEG or WebP")
    if len(data) > MAX_IMAGE_BYTES:
        raise PayloadTooLargeError("event images must be at most 5 MiB")
    return _IMAGE_EXTENSIONS[declared]
