"""Inventory rules: stock held by reservations that expire on their own.

Per ticket type, at every instant: ``available + held + sold == capacity`` where
``held`` counts only holds that have not expired. The model here is the arithmetic;
the ``Inventory`` port makes it atomic across processes.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

import msgspec

from getiickets.domain.model.orders import OrderStatus


class Hold(msgspec.Struct, frozen=True, kw_only=True):
    """Stock set aside for one order line until ``expires_at``."""

    hold_id: str
    ticket_type_id: str
    quantity: int
    expires_at: datetime

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise ValueError("a hold is for at least one ticket")

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at


class StockLevel(msgspec.Struct, frozen=True, kw_only=True):
    capacity: int
    held: int
    sold: int

    @property
    def available(self) -> int:
        return self.capacity - self.held - self.sold


class StockFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the database knows about one ticket type: enough to rebuild any counter."""

    ticket_type_id: str
    capacity: int
    holds: tuple[Hold, ...] = ()
    """Holds of pending orders (live or not: the inventory drops the expired ones)."""
    sold_holds: dict[str, int] = msgspec.field(default_factory=dict)
    """Holds turned into sales (paid orders' lines), each with the quantity it sold, so
    confirming one again is recognised and releasing one (a refund) gives that back."""

    @property
    def sold(self) -> int:
        return sum(self.sold_holds.values())

    def level(self, now: datetime) -> StockLevel:
        held = sum(hold.quantity for hold in self.holds if hold.is_live(now))
        return StockLevel(capacity=self.capacity, held=held, sold=self.sold)

    @classmethod
    def of_lines(
        cls, ticket_type_id: str, capacity: int, lines: Iterable[StockedLine]
    ) -> StockFacts:
        """What a ticket type's order lines mean for stock: a paid order's lines are
        sold, a pending order's are held (expired ones too: the inventory drops those);
        other orders gave their stock back. Holds are sorted by id, so that equal facts
        compare equal whatever order the lines came in."""
        sold: dict[str, int] = {}
        holds: list[Hold] = []
        for line in lines:
            if line.status is OrderStatus.PAID:
                sold[line.hold_id] = line.quantity
            elif line.status is OrderStatus.PENDING:
                holds.append(
                    Hold(
                        hold_id=line.hold_id,
                        ticket_type_id=ticket_type_id,
                        quantity=line.quantity,
                        expires_at=line.expires_at,
                    )
                )
        return cls(
            ticket_type_id=ticket_type_id,
            capacity=capacity,
            holds=tuple(sorted(holds, key=lambda hold: hold.hold_id)),
            sold_holds=sold,
        )


class StockedLine(NamedTuple):
    """One order line of a ticket type, as much of it (and its order) as stock needs."""

    status: OrderStatus
    hold_id: str
    quantity: int
    expires_at: datetime


class Confirmation(enum.StrEnum):
    """What confirming a hold (turning it into a sale) did."""

    CONFIRMED = "confirmed"
    """The hold was live and is now sold."""
    ALREADY_CONFIRMED = "already_confirmed"
    """It was sold before: a repeated confirm changes nothing."""
    LAPSED = "lapsed"
    """The hold expired or never existed: its stock may be gone (late payment path)."""
