"""/events: public reads, organizer writes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post, put
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from getiickets.domain.model.accounts import Actor
from getiickets.domain.model.errors import InvalidMoneyError, NotFoundError, ValidationError
from getiickets.domain.model.media import MAX_IMAGE_BYTES
from getiickets.domain.model.money import Money
from getiickets.domain.usecases.catalog import Catalog, CreateEvent, NewTicketType, UpdateEvent
from getiickets.domain.usecases.waiting_room import WaitingRoom
from getiickets.entrypoints.http.dependencies import requires_event_owner, requires_organizer
from getiickets.entrypoints.http.errors import documented
from getiickets.entrypoints.http.fresh import FreshResponses
from getiickets.entrypoints.http.images import check_image
from getiickets.entrypoints.http.kept_reads import (
    event_key,
    list_key,
    serve_kept_event,
    serve_kept_list,
)
from getiickets.entrypoints.http.schemas import (
    CreateEventBody,
    EventListOut,
    EventOut,
    SalesOut,
    TicketTypeBody,
    TicketTypeOut,
    UpdateEventBody,
    event_list_view,
    event_view,
    sales_view,
    ticket_type_view,
)
from getiickets.entrypoints.services import Services
from getiickets.ports.repositories import MAX_PAGE_SIZE, EventQuery


class EventsController(Controller):
    path = "/events"
    tags = ["events"]  # noqa: RUF012 - Litestar reads it as a class attribute

    # Kept answers skip the handler (kept_reads): what it serves must match them.
    @get("/", operation_id="listEvents", responses=documented(422), middleware=[serve_kept_list])
    async def list_events(  # noqa: PLR0917 - one parameter per query field of docs/http-api.md
        self,
        # The hot public reads take the bag itself: one dependency, one batch (see
        # dependencies.provide_actor) - ~90 us less per request than a task group.
        services: NamedDependency[Services],
        category: FromQuery[str | None] = None,
        city: FromQuery[str | None] = None,
        on_date: Annotated[date | None, QueryParameter(name="date")] = None,
        page: Annotated[int, QueryParameter(name="page", ge=1, le=10_000)] = 1,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=MAX_PAGE_SIZE)] = 20,
    ) -> Response[EventListOut]:
        query = EventQuery(category=category, city=city, on_date=on_date, page=page, limit=limit)

        async def build() -> bytes:
            return msgspec.json.encode(event_list_view(await services.catalog.list_events(query)))

        return _json(await services.fresh_reads.get(list_key(query), build))

    @get(
        "/{event_ref:str}",  # kept_reads.EVENT_REF_PARAMETER
        operation_id="getEvent",
        responses=documented(404),
        middleware=[serve_kept_event],
    )
    async def get_event(
        self,
        event_ref: FromPath[str],
        actor: NamedDependency[Actor | None],
        services: NamedDependency[Services],
    ) -> Response[EventOut]:
        async def build() -> bytes:
            # As anyone sees it: a draft is not found here, and is never kept.
            return msgspec.json.encode(event_view(await services.catalog.get_event(event_ref)))

        try:
            return _json(await services.fresh_reads.get(event_key(event_ref), build))
        except NotFoundError:
            if actor is None:
                raise
        # Perhaps the organizer's own draft: built for them alone, every time.
        return _json(
            msgspec.json.encode(event_view(await services.catalog.get_event(event_ref, actor)))
        )

    @post(
        "/",
        operation_id="createEvent",
        status_code=201,
        responses=documented(400, 401, 403, 422),
        guards=[requires_organizer],
    )
    async def create_event(
        self,
        data: JSONBody[CreateEventBody],
        user: NamedDependency[Actor],
        catalog: NamedDependency[Catalog],
    ) -> EventOut:
        command = CreateEvent(
            title=data.title,
            starts_at=data.starts_at,
            description=data.description,
            category=data.category,
            city=data.city,
            venue=data.venue,
            ends_at=data.ends_at,
            timezone=data.timezone,
            currency=data.currency,
            ticket_types=tuple(
                _new_ticket_type(body, data.currency, f"ticket_types.{index}")
                for index, body in enumerate(data.ticket_types)
            ),
        )
        return event_view(await catalog.create_event(user, command))

    @patch(
        "/{event_id:str}",
        operation_id="updateEvent",
        responses=documented(400, 401, 403, 404, 422),
        guards=[requires_event_owner],
    )
    async def update_event(
        self,
        event_id: FromPath[str],
        data: JSONBody[UpdateEventBody],
        user: NamedDependency[Actor],
        catalog: NamedDependency[Catalog],
        fresh_reads: NamedDependency[FreshResponses],
    ) -> EventOut:
        changes = UpdateEvent(**msgspec.structs.asdict(data))
        updated = await catalog.update_event(user, event_id, changes)
        fresh_reads.clear()
        return event_view(updated)

    @post(
        "/{event_id:str}/publish",
        operation_id="publishEvent",
        status_code=200,
        responses=documented(401, 403, 404, 409),
        guards=[requires_event_owner],
    )
    async def publish_event(
        self,
        event_id: FromPath[str],
        user: NamedDependency[Actor],
        catalog: NamedDependency[Catalog],
        fresh_reads: NamedDependency[FreshResponses],
    ) -> EventOut:
        published = await catalog.publish_event(user, event_id)
        fresh_reads.clear()
        return event_view(published)

    @post(
        "/{event_id:str}/ticket-types",
        operation_id="addTicketType",
        status_code=201,
        responses=documented(400, 401, 403, 404, 409, 422),
        guards=[requires_event_owner],
    )
    async def add_ticket_type(
        self,
        event_id: FromPath[str],
        data: JSONBody[TicketTypeBody],
        user: NamedDependency[Actor],
        catalog: NamedDependency[Catalog],
        fresh_reads: NamedDependency[FreshResponses],
    ) -> TicketTypeOut:
        event = await catalog.get_event(event_id, user)
        new_type = _new_ticket_type(data, event.event.currency, "")
        added = await catalog.add_ticket_type(user, event_id, new_type)
        fresh_reads.clear()
        return ticket_type_view(added)

    @put(
        "/{event_id:str}/image",
        operation_id="setEventImage",
        status_code=200,
        responses=documented(401, 403, 404, 413, 415),
        guards=[requires_event_owner],
        # Litestar refuses a larger body (413) as it streams in: a huge upload is never buffered.
        request_max_body_size=MAX_IMAGE_BYTES,
    )
    async def set_image(
        self,
        request: Request[Any, Any, Any],
        event_id: FromPath[str],
        user: NamedDependency[Actor],
        catalog: NamedDependency[Catalog],
        fresh_reads: NamedDependency[FreshResponses],
    ) -> EventOut:
        data = await request.body()
        content_type = request.headers.get("content-type", "")
        await check_image(data, content_type)
        changed = await catalog.set_image(user, event_id, data, content_type)
        fresh_reads.clear()
        return event_view(changed)

    @get(
        "/{event_id:str}/sales",
        operation_id="getEventSales",
        responses=documented(401, 403, 404),
        guards=[requires_event_owner],
    )
    async def sales(
        self,
        event_id: FromPath[str],
        user: NamedDependency[Actor],
        catalog: NamedDependency[Catalog],
        waiting_room: NamedDependency[WaitingRoom],
    ) -> SalesOut:
        summary = await catalog.sales_summary(user, event_id)
        # After the owner check above; the queue's state is additive (null if never set).
        return sales_view(summary, await waiting_room.sales_state(event_id))


def _json(body: bytes) -> Response[Any]:
    return Response(content=body, media_type=MediaType.JSON)


def _new_ticket_type(body: TicketTypeBody, currency: str, field: str) -> NewTicketType:
    prefix = f"{field}." if field else ""
    try:
        price = Money.parse(body.price, currency)
    except InvalidMoneyError as error:
        raise InvalidMoneyError(error.detail, field=f"{prefix}price") from error
    try:
        return NewTicketType(
            name=body.name,
            price=price,
            capacity=body.capacity,
            max_per_order=body.max_per_order,
            sales_start=body.sales_start,
            sales_end=body.sales_end,
        )
    except ValidationError as error:
        raise ValidationError(error.detail, field=f"{prefix}{error.field}") from error
