"""Request and response bodies, exactly as docs/http-api.md names them.

Requests forbid unknown fields (a typo is an error, not a silently ignored field);
responses are built from domain objects by the ``*_view`` functions here and nowhere
else, so a field is spelled once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from getiickets.domain.model.accounts import Role, User
from getiickets.domain.model.money import Money
from getiickets.domain.model.orders import Order
from getiickets.domain.model.tickets import Ticket
from getiickets.domain.model.waiting_room import (
    MAX_ADMIT_PER_MINUTE,
    MAX_PER_ADMISSION,
    MAX_SESSION_MINUTES,
    QueueSettings,
)
from getiickets.domain.usecases.catalog import (
    EventList,
    EventView,
    SalesSummary,
    TicketTypeView,
)
from getiickets.domain.usecases.waiting_room import QueueOverview, QueueStatus

AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
"""RFC 3339 with an offset: a time without one is ambiguous, so it is refused."""
# Control characters are refused in every text we store: PostgreSQL rejects NUL, and
# the rest only ever arrive by mistake or malice. Tabs and newlines are fine in prose.
# So are right-to-left letters and marks; the bidi embedding, override and isolate
# controls are not: they make a name render as something else ("Ada<RLO>gpj.exe" shows
# as "Adaexe.jpg") in tickets, emails and the organizer's lists.
NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"
PROSE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"
Text = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_CONTROL)]
LongText = Annotated[str, msgspec.Meta(max_length=20_000, pattern=PROSE)]
Amount = str | int
"""Major units as a decimal string or an integer; floats are refused by the type."""
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_CONTROL)]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Capacity = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
MaxPerOrder = Annotated[int, msgspec.Meta(ge=1, le=1000)]
TimeZone = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=NO_CONTROL,
        description="IANA time zone where the event happens; texts for people show times there",
        examples=["Africa/Lagos"],
    ),
]
Currency = Literal["NGN", "GHS", "ZAR", "KES", "USD"]
"""Paystack's currencies (``SUPPORTED_CURRENCIES``): an enum in the OpenAPI document."""


class Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every request body."""


# ---------------------------------------------------------------- auth


class RegisterBody(Request):
    email: Text
    password: Annotated[str, msgspec.Meta(max_length=1024, pattern=NO_CONTROL)]
    name: Text
    phone: Text | None = None
    role: Role = Role.BUYER


class LoginBody(Request):
    email: Text
    password: Annotated[str, msgspec.Meta(max_length=1024, pattern=NO_CONTROL)]


class UserOut(msgspec.Struct, kw_only=True):
    id: str
    email: str
    name: str
    phone: str | None
    role: Role


class SessionOut(msgspec.Struct, kw_only=True):
    user: UserOut
    token: str
    expires_in: int


class MeOut(msgspec.Struct, kw_only=True):
    user: UserOut


def user_view(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, name=user.name, phone=user.phone, role=user.role)


# ---------------------------------------------------------------- events


class TicketTypeBody(Request):
    name: Text
    price: Amount
    capacity: Capacity
    max_per_order: MaxPerOrder = 10
    sales_start: AwareDatetime | None = None
    sales_end: AwareDatetime | None = None


class CreateEventBody(Request):
    title: Text
    starts_at: AwareDatetime
    description: LongText = ""
    category: Text = ""
    city: Text = ""
    venue: Text = ""
    ends_at: AwareDatetime | None = None
    timezone: TimeZone = "Africa/Lagos"
    currency: Currency = "NGN"
    ticket_types: Annotated[list[TicketTypeBody], msgspec.Meta(max_length=50)] = []


class UpdateEventBody(Request):
    title: Text | msgspec.UnsetType = msgspec.UNSET
    description: LongText | msgspec.UnsetType = msgspec.UNSET
    category: Text | msgspec.UnsetType = msgspec.UNSET
    city: Text | msgspec.UnsetType = msgspec.UNSET
    venue: Text | msgspec.UnsetType = msgspec.UNSET
    starts_at: AwareDatetime | msgspec.UnsetType = msgspec.UNSET
    ends_at: AwareDatetime | msgspec.UnsetType | None = msgspec.UNSET
    timezone: TimeZone | msgspec.UnsetType = msgspec.UNSET


class TicketTypeOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    price: str
    currency: str
    capacity: int
    available: int
    max_per_order: int
    sales_start: datetime | None
    sales_end: datetime | None


class EventOut(msgspec.Struct, kw_only=True):
    id: str
    slug: str
    title: str
    description: str
    category: str
    city: str
    venue: str
    starts_at: datetime
    ends_at: datetime | None
    timezone: str
    currency: str
    status: str
    organizer_id: str
    image_url: str | None
    ticket_types: list[TicketTypeOut]


class EventListOut(msgspec.Struct, kw_only=True):
    items: list[EventOut]
    page: int
    limit: int
    total: int


def ticket_type_view(view: TicketTypeView) -> TicketTypeOut:
    ticket_type = view.ticket_type
    return TicketTypeOut(
        id=ticket_type.id,
        name=ticket_type.name,
        price=ticket_type.price.major,
        currency=ticket_type.price.currency,
        capacity=ticket_type.capacity,
        available=view.available,
        max_per_order=ticket_type.max_per_order,
        sales_start=_utc(ticket_type.sales_start),
        sales_end=_utc(ticket_type.sales_end),
    )


def event_view(view: EventView) -> EventOut:
    event = view.event
    return EventOut(
        id=event.id,
        slug=event.slug,
        title=event.title,
        description=event.description,
        category=event.category,
        city=event.city,
        venue=event.venue,
        starts_at=event.starts_at.astimezone(UTC),
        ends_at=_utc(event.ends_at),
        timezone=event.timezone,
        currency=event.currency,
        status=event.status.value,
        organizer_id=event.organizer_id,
        image_url=view.image_url,
        ticket_types=[ticket_type_view(item) for item in view.ticket_types],
    )


def _utc(moment: datetime | None) -> datetime | None:
    """Times in responses are UTC, whatever offset the organizer wrote (docs/http-api.md)."""
    return None if moment is None else moment.astimezone(UTC)


def event_list_view(page: EventList) -> EventListOut:
    return EventListOut(
        items=[event_view(item) for item in page.items],
        page=page.page,
        limit=page.limit,
        total=page.total,
    )


class TicketTypeSalesOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    capacity: int
    sold: int
    held: int
    available: int
    revenue: str


class SalesOut(msgspec.Struct, kw_only=True):
    ticket_types: list[TicketTypeSalesOut]
    orders: dict[str, int]
    revenue: str
    currency: str
    queue: SalesQueueOut | None = None
    """The waiting room's state; null if the organizer never set one up."""


def sales_view(summary: SalesSummary, queue: QueueOverview | None = None) -> SalesOut:
    return SalesOut(
        queue=None if queue is None else sales_queue_view(queue),
        ticket_types=[
            TicketTypeSalesOut(
                id=row.id,
                name=row.name,
                capacity=row.capacity,
                sold=row.sold,
                held=row.held,
                available=row.available,
                revenue=row.revenue.major,
            )
            for row in summary.ticket_types
        ],
        orders=summary.orders,
        revenue=summary.revenue.major,
        currency=summary.revenue.currency,
    )


# ---------------------------------------------------------------- orders


class OrderItemBody(Request):
    ticket_type_id: Id
    quantity: Quantity


class BuyerBody(Request):
    email: Text
    name: Text
    phone: Text | None = None


class PlaceOrderBody(Request):
    event_id: Id
    items: Annotated[list[OrderItemBody], msgspec.Meta(min_length=1, max_length=20)]
    buyer: BuyerBody


class BuyerOut(msgspec.Struct, kw_only=True):
    email: str
    name: str
    phone: str | None


class OrderItemOut(msgspec.Struct, kw_only=True):
    ticket_type_id: str
    name: str
    quantity: int
    unit_price: str
    subtotal: str


class OrderOut(msgspec.Struct, kw_only=True):
    id: str
    order_number: str
    status: str
    event_id: str
    buyer: BuyerOut
    items: list[OrderItemOut]
    total: str
    currency: str
    expires_at: datetime
    created_at: datetime
    paid_at: datetime | None
    payment_reference: str | None


class PlacedOrderOut(OrderOut, kw_only=True):
    access_token: str


def _money(value: Money) -> str:
    return value.major


def order_fields(order: Order) -> dict[str, object]:
    return {
        "id": order.id,
        "order_number": order.order_number,
        "status": order.status.value,
        "event_id": order.event_id,
        "buyer": BuyerOut(email=order.buyer.email, name=order.buyer.name, phone=order.buyer.phone),
        "items": [
            OrderItemOut(
                ticket_type_id=line.ticket_type_id,
                name=line.name,
                quantity=line.quantity,
                unit_price=_money(line.unit_price),
                subtotal=_money(line.subtotal),
            )
            for line in order.lines
        ],
        "total": _money(order.total),
        "currency": order.total.currency,
        "expires_at": order.expires_at,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "payment_reference": order.payment_reference,
    }


def order_view(order: Order) -> OrderOut:
    return OrderOut(**order_fields(order))  # type: ignore[arg-type]


def placed_order_view(order: Order, access_token: str) -> PlacedOrderOut:
    return PlacedOrderOut(**order_fields(order), access_token=access_token)  # type: ignore[arg-type]


class TicketOut(msgspec.Struct, kw_only=True):
    id: str
    ticket_number: str
    order_id: str
    ticket_type_id: str
    holder_name: str
    status: str
    qr_payload: str
    qr_url: str | None
    pdf_url: str | None
    checked_in_at: datetime | None


class TicketListOut(msgspec.Struct, kw_only=True):
    items: list[TicketOut]


def ticket_view(ticket: Ticket, qr_url: str | None, pdf_url: str | None) -> TicketOut:
    return TicketOut(
        id=ticket.id,
        ticket_number=ticket.ticket_number,
        order_id=ticket.order_id,
        ticket_type_id=ticket.ticket_type_id,
        holder_name=ticket.holder_name,
        status=ticket.status.value,
        qr_payload=ticket.qr_payload,
        qr_url=qr_url,
        pdf_url=pdf_url,
        checked_in_at=ticket.checked_in_at,
    )


# ---------------------------------------------------------------- payments


class InitializePaymentBody(Request):
    order_id: Id


class PaymentInitOut(msgspec.Struct, kw_only=True):
    authorization_url: str
    access_code: str
    reference: str


class VerifyPaymentBody(Request):
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_CONTROL)]


class VerifyPaymentOut(msgspec.Struct, kw_only=True):
    status: Literal["success", "failed", "abandoned", "pending"]
    order: OrderOut


class WebhookAck(msgspec.Struct, kw_only=True):
    status: str


# ---------------------------------------------------------------- check-in


class CheckInBody(Request):
    event_id: Id
    qr_payload: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=NO_CONTROL)]


class CheckInOut(msgspec.Struct, kw_only=True):
    result: Literal["ok", "already_checked_in"]
    ticket: TicketOut
    checked_in_at: datetime | None


# ---------------------------------------------------------------- errors and operations


class FieldError(msgspec.Struct, kw_only=True):
    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | None = None
    queue_url: str | None = None
    """With ``queue_required``: the waiting page to join."""


class HealthOut(msgspec.Struct, kw_only=True):
    status: str


class ReadyOut(msgspec.Struct, kw_only=True):
    status: str
    checks: dict[str, str]


# ---------------------------------------------------------------- waiting room


class QueueSettingsBody(Request):
    enabled: bool
    admit_per_minute: Annotated[int, msgspec.Meta(ge=1, le=MAX_ADMIT_PER_MINUTE)]
    session_minutes: Annotated[int, msgspec.Meta(ge=1, le=MAX_SESSION_MINUTES)]
    max_active: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] | None = None
    opens_at: AwareDatetime | None = None
    max_per_admission: Annotated[int, msgspec.Meta(ge=1, le=MAX_PER_ADMISSION)] = 1


class QueueSettingsOut(msgspec.Struct, kw_only=True):
    enabled: bool
    admit_per_minute: int
    session_minutes: int
    max_active: int | None
    opens_at: datetime | None
    max_per_admission: int


class QueueOverviewOut(QueueSettingsOut, kw_only=True):
    waiting: int
    admitted_active: int
    admitted_total: int


class SalesQueueOut(QueueOverviewOut, kw_only=True):
    rebuilding: bool
    """True while the line is rebuilt after its store lost it: nobody is admitted."""


class JoinQueueBody(Request):
    email: Text


class QueueStatusOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    queue_token: str
    position: int
    estimated_wait_seconds: int
    status: Literal["waiting", "admitted"]
    admission_token: str | None = None
    admission_expires_at: datetime | None = None


def queue_settings_view(settings: QueueSettings) -> QueueSettingsOut:
    return QueueSettingsOut(
        enabled=settings.enabled,
        admit_per_minute=settings.admit_per_minute,
        session_minutes=settings.session_minutes,
        max_active=settings.max_active,
        opens_at=settings.opens_at,
        max_per_admission=settings.max_per_admission,
    )


def queue_overview_view(overview: QueueOverview) -> QueueOverviewOut:
    return msgspec.convert(_overview_fields(overview), QueueOverviewOut)


def sales_queue_view(overview: QueueOverview) -> SalesQueueOut:
    fields = _overview_fields(overview) | {"rebuilding": overview.rebuilding}
    return msgspec.convert(fields, SalesQueueOut)


def _overview_fields(overview: QueueOverview) -> dict[str, object]:
    return msgspec.structs.asdict(queue_settings_view(overview.settings)) | {
        "waiting": overview.waiting,
        "admitted_active": overview.admitted_active,
        "admitted_total": overview.admitted_total,
    }


def queue_status_view(status: QueueStatus) -> QueueStatusOut:
    return QueueStatusOut(
        queue_token=status.queue_token,
        position=status.position,
        estimated_wait_seconds=status.estimated_wait_seconds,
        status=status.status,
        admission_token=status.admission_token,
        admission_expires_at=status.admission_expires_at,
    )
