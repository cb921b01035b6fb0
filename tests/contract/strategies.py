"""Hypothesis strategies that build every field of every stored aggregate.

Each strategy fills every field, optional ones with a value or None, so a round trip
through a repository proves that each column is written and read back, not only the
ones an example-based test happened to set.

The ranges are the stores' own, not narrower: text is any Unicode except NUL (which
PostgreSQL refuses in ``text``; the HTTP edge refuses control characters) and lone
surrogates (not encodable at all); identifiers we generate fit ``String(64)``;
``Integer`` columns hold 32-bit values; money is what ``Money`` allows; datetimes are
aware, in several zones, and must come back as the same instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

from hypothesis import strategies as st

from getiickets.adapters.idempotency_records import IdempotencyRecord
from getiickets.domain.model.accounts import Role, Session, User
from getiickets.domain.model.catalog import Event, EventStatus, TicketType
from getiickets.domain.model.money import MAX_AMOUNT, SUPPORTED_CURRENCIES, Money
from getiickets.domain.model.notifications import Channel, MessageStatus, OutboxMessage, Template
from getiickets.domain.model.orders import Buyer, Order, OrderLine, OrderStatus
from getiickets.domain.model.payments import InboxEvent
from getiickets.domain.model.tickets import Ticket, TicketStatus

T = TypeVar("T")

INT32 = 2**31 - 1
JSON_SAFE_INT = 2**53

_ZONES = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=1)),  # Lagos
        timezone(timedelta(hours=-9, minutes=-30)),
        timezone(timedelta(hours=13, minutes=45)),
    ]
)

_characters = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")

texts = st.text(_characters, max_size=40)
"""Free text, empty included."""

words = st.text(_characters, min_size=1, max_size=40).filter(lambda text: text.strip() != "")
"""Text the model wants non-blank (names, titles)."""

identifiers = st.text(_characters, min_size=1, max_size=64)
"""Ids and numbers we generate: ``String(64)`` columns."""

moments = st.datetimes(
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001 - hypothesis attaches the zone
    max_value=datetime(2199, 12, 30),  # noqa: DTZ001
    timezones=_ZONES,
)
currencies = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), min_size=3, max_size=3)
"""Any ISO-shaped code: money read from a provider may be in a currency we do not sell."""
event_currencies = st.sampled_from(SUPPORTED_CURRENCIES)
time_zones = st.sampled_from(
    ["Africa/Lagos", "Africa/Accra", "Africa/Nairobi", "Africa/Johannesburg", "Asia/Kathmandu"]
)
small_ints = st.integers(min_value=0, max_value=INT32)
lengths = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=36_500))
"""How long something lasts: from a microsecond to a century."""


def money(currency: str | None = None) -> st.SearchStrategy[Money]:
    return st.builds(
        Money,
        amount=st.integers(min_value=0, max_value=MAX_AMOUNT),
        currency=st.just(currency) if currency is not None else currencies,
    )


def _optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-JSON_SAFE_INT, max_value=JSON_SAFE_INT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=12,
)


@st.composite
def _period(draw: st.DrawFn) -> tuple[datetime | None, datetime | None]:
    """Two optional moments, the second after the first when both are set."""
    start, end = draw(_optional(moments)), draw(_optional(moments))
    if start is not None and end is not None and end <= start:
        start, end = end, start
        if end == start:
            end = start + timedelta(microseconds=1)
    return start, end


@st.composite
def ticket_types(draw: st.DrawFn, event_id: str, currency: str, name: str) -> TicketType:
    sales_start, sales_end = draw(_period())
    return TicketType(
        id=draw(identifiers),
        event_id=event_id,
        name=name,
        price=draw(money(currency)),
        capacity=draw(small_ints),
        max_per_order=draw(st.integers(min_value=1, max_value=INT32)),
        sales_start=sales_start,
        sales_end=sales_end,
    )


@st.composite
def events(draw: st.DrawFn, event_id: str | None = None) -> Event:
    """Ticket types belong to the event: its id, its currency, names unique in it."""
    event_id = draw(identifiers) if event_id is None else event_id
    currency = draw(event_currencies)
    starts_at = draw(moments)
    names = draw(st.lists(words, max_size=4, unique=True))
    types = [draw(ticket_types(event_id, currency, name)) for name in names]
    ids = [ticket_type.id for ticket_type in types]
    if len(set(ids)) != len(ids):  # ticket type ids are unique across events
        for position, ticket_type in enumerate(types):
            ticket_type.id = f"{position}-{ticket_type.id}"[:64]
    return Event(
        id=event_id,
        slug=draw(identifiers),
        organizer_id=draw(identifiers),
        title=draw(words),
        description=draw(texts),
        category=draw(texts),
        city=draw(texts),
        venue=draw(texts),
        starts_at=starts_at,
        ends_at=draw(_optional(lengths.map(lambda length: starts_at + length))),
        timezone=draw(time_zones),
        currency=currency,
        status=draw(st.sampled_from(EventStatus)),
        image_key=draw(_optional(texts)),
        ticket_types=types,
        created_at=draw(_optional(moments)),
    )


emails = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.text(_characters.filter(lambda c: c != "@"), min_size=1, max_size=20),
    st.text(_characters.filter(lambda c: c != "@"), min_size=1, max_size=20),
)


@st.composite
def order_lines(draw: st.DrawFn) -> OrderLine:
    return OrderLine(
        ticket_type_id=draw(identifiers),
        name=draw(texts),
        quantity=draw(small_ints),
        unit_price=draw(money()),
        hold_id=draw(identifiers),
    )


@st.composite
def orders(draw: st.DrawFn, order_id: str | None = None) -> Order:
    return Order(
        id=draw(identifiers) if order_id is None else order_id,
        order_number=draw(identifiers),
        event_id=draw(identifiers),
        buyer=Buyer(email=draw(emails), name=draw(words), phone=draw(_optional(texts))),
        buyer_user_id=draw(_optional(identifiers)),
        lines=draw(st.lists(order_lines(), min_size=1, max_size=4)),
        total=draw(money()),
        status=draw(st.sampled_from(OrderStatus)),
        created_at=draw(moments),
        expires_at=draw(moments),
        access_token_digest=draw(texts),
        paid_at=draw(_optional(moments)),
        payment_reference=draw(_optional(texts)),
        past_references=draw(st.lists(identifiers, max_size=3, unique=True)),
        checkout_url=draw(_optional(texts)),
        access_code=draw(_optional(texts)),
        payment_issue=draw(_optional(texts)),
        refunded_at=draw(_optional(moments)),
        refund_due=draw(st.booleans()),
    )


@st.composite
def tickets(draw: st.DrawFn, ticket_id: str | None = None) -> Ticket:
    return Ticket(
        id=draw(identifiers) if ticket_id is None else ticket_id,
        ticket_number=draw(identifiers),
        order_id=draw(identifiers),
        event_id=draw(identifiers),
        ticket_type_id=draw(identifiers),
        holder_name=draw(texts),
        qr_payload=draw(texts),
        issued_at=draw(moments),
        status=draw(st.sampled_from(TicketStatus)),
        checked_in_at=draw(_optional(moments)),
        qr_key=draw(_optional(texts)),
        pdf_key=draw(_optional(texts)),
    )


users = st.builds(
    User,
    id=identifiers,
    email=emails,
    name=texts,
    role=st.sampled_from(Role),
    password_hash=texts,
    created_at=moments,
    phone=_optional(texts),
)


@st.composite
def outbox_messages(draw: st.DrawFn, message_id: str | None = None) -> OutboxMessage:
    return OutboxMessage(
        id=draw(identifiers) if message_id is None else message_id,
        channel=draw(st.sampled_from(Channel)),
        template=draw(st.sampled_from(Template)),
        recipient=draw(texts),
        recipient_name=draw(texts),
        order_id=draw(identifiers),
        data=draw(st.dictionaries(texts, json_values, max_size=4)),
        created_at=draw(moments),
        next_attempt_at=draw(moments),
        status=draw(st.sampled_from(MessageStatus)),
        attempts=draw(small_ints),
        last_error=draw(_optional(texts)),
        provider_message_id=draw(_optional(texts)),
        delivery_status=draw(_optional(texts)),
        sent_at=draw(_optional(moments)),
    )


@st.composite
def inbox_events(draw: st.DrawFn, key: str | None = None) -> InboxEvent:
    return InboxEvent(
        key=draw(texts) if key is None else key,
        provider=draw(texts),
        event_type=draw(texts),
        reference=draw(texts),
        payload=draw(st.binary(max_size=64)),
        received_at=draw(moments),
        processed_at=draw(_optional(moments)),
        attempts=draw(small_ints),
        next_attempt_at=draw(_optional(moments)),
        last_error=draw(_optional(texts)),
    )


@st.composite
def idempotency_records(
    draw: st.DrawFn, scope: str | None = None, key: str | None = None
) -> IdempotencyRecord:
    return IdempotencyRecord(
        scope=draw(texts) if scope is None else scope,
        key=draw(texts) if key is None else key,
        fingerprint=draw(texts),
        status_code=draw(small_ints),
        body=draw(st.binary(max_size=64)),
        created_at=draw(moments),
    )


@st.composite
def sessions(draw: st.DrawFn, live_at: datetime) -> Session:
    """Sessions still live at ``live_at`` (an ended one is not kept)."""
    return Session(
        key=draw(identifiers),
        user_id=draw(identifiers),
        role=draw(st.sampled_from(Role)),
        created_at=draw(moments),
        expires_at=(live_at + draw(lengths)).astimezone(draw(_ZONES)),
    )
