"""/orders and /tickets: guest checkout, order access, ticket files."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter, SkipValidation
from litestar.status_codes import HTTP_302_FOUND

from getiickets.domain.model.accounts import Actor
from getiickets.domain.model.orders import Buyer
from getiickets.domain.model.tickets import Ticket
from getiickets.domain.usecases.ordering import Ordering, OrderItem, PlaceOrder
from getiickets.domain.usecases.ticket_files import TicketFiles
from getiickets.entrypoints.http.dependencies import (
    identify,
    identify_before_the_body,
    order_access,
    provide_services,
)
from getiickets.entrypoints.http.errors import documented
from getiickets.entrypoints.http.idempotency import (
    guest_client_caller,
    idempotent,
    user_caller,
)
from getiickets.entrypoints.http.responses import EncodedJson
from getiickets.entrypoints.http.schemas import (
    OrderOut,
    PlaceOrderBody,
    TicketListOut,
    TicketOut,
    order_view,
    placed_order_view,
    ticket_view,
)
from getiickets.ports.files import FileStorage

FILE_LINK_LIFETIME = timedelta(minutes=10)
"""Links in API responses are short-lived; the API hands out a fresh one on each read."""

ADMISSION_TOKEN_HEADER = "x-admission-token"  # noqa: S105 - a header name, not a secret
OrderToken = Annotated[str | None, QueryParameter(name="token", required=False)]


class OrdersController(Controller):
    path = "/orders"
    tags = ["orders"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/",
        operation_id="placeOrder",
        status_code=201,
        responses=documented(400, 401, 403, 404, 409, 422, 503),
        before_request=identify_before_the_body,
    )
    async def place_order(
        self,
        *,
        request: Request[Any, Any, Any],
        data: JSONBody[PlaceOrderBody],
    ) -> Response[Any]:
        # The rush's route declares no dependencies: Litestar resolved the four it named
        # in an anyio task group, a task each (a tenth of its CPU), and even a batch of
        # one costs a signature check. The hook has identified the caller already.
        services = provide_services(request.app.state)
        actor = await identify(request)
        waiting_room, ordering = services.waiting_room, services.ordering
        command = PlaceOrder(
            event_id=data.event_id,
            items=tuple(
                OrderItem(ticket_type_id=item.ticket_type_id, quantity=item.quantity)
                for item in data.items
            ),
            buyer=Buyer(
                email=data.buyer.email,
                name=data.buyer.name,
                phone=data.buyer.phone,
            ),
            buyer_user_id=actor.user_id if actor else None,
        )

        admission_token = request.headers.get(ADMISSION_TOKEN_HEADER)
        async with waiting_room.admission_for_order(data.event_id, admission_token) as admission:

            async def work() -> Any:
                placed = await ordering.place_order(command)
                if admission is not None:
                    admission.order_placed()
                return placed_order_view(placed.order, placed.access_token)

            key = request.headers.get("idempotency-key")
            if key is None:
                # Nothing to record or replay: skip hashing who is asking. Encoded here
                # as ``idempotent`` encodes what it stores, without Litestar's serializer.
                return EncodedJson(msgspec.json.encode(await work()), status_code=201)
            return await idempotent(
                store=services.idempotency,
                clock=services.clock,
                route="orders",
                caller=(
                    user_caller(actor)
                    if actor is not None
                    else guest_client_caller(request, data.buyer.email)
                ),
                key=key,
                body=await request.body(),
                status_code=201,
                work=work,
            )

    @get("/{order_id:str}", operation_id="getOrder", responses=documented(404))
    async def get_order(
        self,
        request: Request[Any, Any, Any],
        order_id: FromPath[str],
        actor: NamedDependency[Actor | None],
        ordering: NamedDependency[Ordering],
        token: OrderToken = None,
    ) -> OrderOut:
        access = order_access(request, actor, token)
        return order_view(await ordering.get_order(order_id, access))

    @post(
        "/{order_id:str}/cancel",
        operation_id="cancelOrder",
        status_code=200,
        responses=documented(404, 409),
    )
    async def cancel_order(
        self,
        request: Request[Any, Any, Any],
        order_id: FromPath[str],
        actor: NamedDependency[Actor | None],
        ordering: NamedDependency[Ordering],
        token: OrderToken = None,
    ) -> OrderOut:
        access = order_access(request, actor, token)
        return order_view(await ordering.cancel_order(order_id, access))

    @get("/{order_id:str}/tickets", operation_id="listOrderTickets", responses=documented(404))
    async def tickets(
        self,
        *,
        request: Request[Any, Any, Any],
        order_id: FromPath[str],
        actor: NamedDependency[Actor | None],
        ordering: NamedDependency[Ordering],
        files: NamedDependency[SkipValidation[FileStorage]],
        token: OrderToken = None,
    ) -> TicketListOut:
        access = order_access(request, actor, token)
        tickets = await ordering.tickets_of(order_id, access)
        return TicketListOut(items=[await ticket_out(files, ticket) for ticket in tickets])


class TicketsController(Controller):
    path = "/tickets"
    tags = ["orders"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        "/{ticket_number:str}/pdf",
        operation_id="getTicketPdf",
        status_code=HTTP_302_FOUND,
        responses=documented(404),
    )
    async def pdf(
        self,
        *,
        request: Request[Any, Any, Any],
        ticket_number: FromPath[str],
        actor: NamedDependency[Actor | None],
        ordering: NamedDependency[Ordering],
        ticket_files: NamedDependency[TicketFiles],
        files: NamedDependency[SkipValidation[FileStorage]],
        token: OrderToken = None,
    ) -> Response[None]:
        access = order_access(request, actor, token)
        ticket = await ordering.ticket(ticket_number, access)
        if ticket.pdf_key is None:
            # Asked for before the worker got to it: render now rather than make them wait.
            ticket = await ticket_files.render(ticket)
        assert ticket.pdf_key is not None  # noqa: S101 - render stores it
        url = await files.signed_url(ticket.pdf_key, FILE_LINK_LIFETIME)
        return Response(None, status_code=HTTP_302_FOUND, headers={"Location": url})


async def ticket_out(files: FileStorage, ticket: Ticket) -> TicketOut:
    qr_url = await files.signed_url(ticket.qr_key, FILE_LINK_LIFETIME) if ticket.qr_key else None
    pdf_url = await files.signed_url(ticket.pdf_key, FILE_LINK_LIFETIME) if ticket.pdf_key else None
    return ticket_view(ticket, qr_url, pdf_url)
