"""Holds and stock levels: the arithmetic every inventory adapter relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from getiickets.domain.model.inventory import Hold, StockedLine, StockFacts
from getiickets.domain.model.orders import OrderStatus

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_hold_is_for_at_least_one_ticket() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Hold(hold_id="h", ticket_type_id="t", quantity=0, expires_at=NOW)


def test_a_hold_is_live_until_its_expiry_and_not_at_it() -> None:
    hold = Hold(hold_id="h", ticket_type_id="t", quantity=2, expires_at=NOW)

    assert hold.is_live(NOW - timedelta(microseconds=1))
    assert not hold.is_live(NOW)


def test_facts_count_sold_from_the_sold_holds_and_held_from_live_holds_only() -> None:
    live = Hold(hold_id="live", ticket_type_id="t", quantity=3, expires_at=NOW + timedelta(1))
    lapsed = Hold(hold_id="lapsed", ticket_type_id="t", quantity=4, expires_at=NOW)
    facts = StockFacts(
        ticket_type_id="t", capacity=20, holds=(live, lapsed), sold_holds={"a": 2, "b": 5}
    )

    level = facts.level(NOW)

    assert facts.sold == 7
    assert (level.capacity, level.held, level.sold, level.available) == (20, 3, 7, 10)


def test_paid_lines_are_sold_pending_lines_held_and_the_rest_gave_their_stock_back() -> None:
    later = NOW + timedelta(minutes=15)
    lines = [
        StockedLine(OrderStatus.PENDING, "h2", 2, later),
        StockedLine(OrderStatus.PAID, "s1", 3, NOW),
        StockedLine(OrderStatus.PENDING, "h1", 1, NOW),
        StockedLine(OrderStatus.EXPIRED, "e1", 4, NOW),
        StockedLine(OrderStatus.CANCELLED, "c1", 5, NOW),
        StockedLine(OrderStatus.REFUNDED, "r1", 6, NOW),
        StockedLine(OrderStatus.FAILED, "f1", 7, NOW),
    ]

    facts = StockFacts.of_lines("t", 30, lines)

    assert facts == StockFacts(
        ticket_type_id="t",
        capacity=30,
        holds=(
            Hold(hold_id="h1", ticket_type_id="t", quantity=1, expires_at=NOW),
            Hold(hold_id="h2", ticket_type_id="t", quantity=2, expires_at=later),
        ),
        sold_holds={"s1": 3},
    )
    assert StockFacts.of_lines("t", 30, reversed(lines)) == facts
