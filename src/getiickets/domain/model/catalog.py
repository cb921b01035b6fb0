"""Events and the ticket types they sell."""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import datetime

import msgspec

from getiickets.domain.model.errors import (
    ForbiddenError,
    InvalidStateError,
    NotFoundError,
    SalesClosedError,
    TooManyTicketsError,
    ValidationError,
)
from getiickets.domain.model.local_time import DEFAULT_TIMEZONE, is_time_zone
from getiickets.domain.model.money import SUPPORTED_CURRENCIES, Money, is_supported_currency

DEFAULT_MAX_PER_ORDER = 10
MAX_SLUG_LENGTH = 80


class EventStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class TicketType(msgspec.Struct, kw_only=True):
    id: str
    event_id: str
    name: str
    price: Money
    capacity: int
    max_per_order: int = DEFAULT_MAX_PER_ORDER
    sales_start: datetime | None = None
    sales_end: datetime | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValidationError("a ticket type needs a name", field="name")
        if self.capacity < 0:
            raise ValidationError("capacity must not be negative", field="capacity")
        if self.max_per_order < 1:
            raise ValidationError("max_per_order must be at least 1", field="max_per_order")
        if self.sales_start and self.sales_end and self.sales_end <= self.sales_start:
            raise ValidationError("sales_end must be after sales_start", field="sales_end")

    @property
    def is_free(self) -> bool:
        return self.price.is_zero

    def on_sale_at(self, now: datetime) -> bool:
        started = self.sales_start is None or self.sales_start <= now
        not_ended = self.sales_end is None or now < self.sales_end
        return started and not_ended

    def check_quantity(self, quantity: int) -> None:
        if quantity < 1:
            raise ValidationError("quantity must be at least 1", field="quantity")
        if quantity > self.max_per_order:
            raise TooManyTicketsError(
                f"at most {self.max_per_order} {self.name!r} tickets per order"
            )


class Event(msgspec.Struct, kw_only=True):
    id: str
    slug: str
    organizer_id: str
    title: str
    description: str = ""
    category: str = ""
    city: str = ""
    venue: str = ""
    starts_at: datetime
    ends_at: datetime | None = None
    timezone: str = DEFAULT_TIMEZONE
    """IANA name: where the event happens, so what every text for people is written in."""
    currency: str = "NGN"
    status: EventStatus = EventStatus.DRAFT
    image_key: str | None = None
    ticket_types: list[TicketType] = msgspec.field(default_factory=list)
    created_at: datetime | None = None
    version: int = 0
    """Bumped by every successful save; repositories use it for optimistic locking."""

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValidationError("an event needs a title", field="title")
        if not is_time_zone(self.timezone):
            raise ValidationError(
                "timezone must be an IANA time zone name such as Africa/Lagos", field="timezone"
            )
        if not is_supported_currency(self.currency):
            raise ValidationError(
                f"currency must be one of {', '.join(SUPPORTED_CURRENCIES)}", field="currency"
            )
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValidationError("ends_at must be after starts_at", field="ends_at")

    def ticket_type(self, ticket_type_id: str) -> TicketType:
        for ticket_type in self.ticket_types:
            if ticket_type.id == ticket_type_id:
                return ticket_type
        raise NotFoundError(f"ticket type {ticket_type_id} not found in this event")

    def check_owner(self, user_id: str) -> None:
        if user_id != self.organizer_id:
            raise ForbiddenError("only the event's organizer may do this")

    def add_ticket_type(self, ticket_type: TicketType) -> None:
        if self.status is EventStatus.CANCELLED:
            raise InvalidStateError("a cancelled event takes no new ticket types")
        if ticket_type.price.currency != self.currency:
            raise ValidationError("ticket price must be in the event's currency", field="price")
        if any(existing.name == ticket_type.name for existing in self.ticket_types):
            raise ValidationError(
                "this event already has a ticket type with that name", field="name"
            )
        self.ticket_types.append(ticket_type)

    def publish(self) -> None:
        if self.status is EventStatus.PUBLISHED:
            return  # publishing twice is harmless: the event is what was asked for
        if self.status is not EventStatus.DRAFT:
            raise InvalidStateError(f"a {self.status} event cannot be published")
        if not self.ticket_types:
            raise InvalidStateError("an event needs at least one ticket type to be published")
        self.status = EventStatus.PUBLISHED

    def cancel(self) -> None:
        if self.status is EventStatus.CANCELLED:
            return
        self.status = EventStatus.CANCELLED

    def check_on_sale(self, ticket_type: TicketType, now: datetime) -> None:
        if self.status is not EventStatus.PUBLISHED:
            raise SalesClosedError("this event is not on sale")
        if not ticket_type.on_sale_at(now):
            raise SalesClosedError(f"{ticket_type.name!r} tickets are not on sale now")


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by hyphens: ``"Afro Nation 2026!"`` -> ``afro-nation-2026``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-") or "event"


def unique_slug(title: str, suffix: str) -> str:
    """A slug made unique with a short random suffix, for when the plain one is taken."""
    return f"{slugify(title)[: MAX_SLUG_LENGTH - len(suffix) - 1]}-{suffix}"
