"""Holds and stock levels: the arithmetic every inventory adapter relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from getiickets.domain.model.inventory import Hold, StockFacts

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
