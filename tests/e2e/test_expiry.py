"""Reservations that run out: stock comes back, and a payment that comes too late goes back.

These run on a server whose reservations last ``SHORT_TTL_SECONDS`` (set past the 60 s
floor of RESERVATION_TTL_SECONDS on purpose), so the in-process worker expires orders
while the test watches.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SHORT_TTL_SECONDS
from tests.e2e.story import Api, expect_problem, guest, wait_for

pytestmark = pytest.mark.e2e

WORKER_GRACE = 10.0
"""How long past the expiry the worker may take (it polls about once a second)."""


def test_an_expired_order_gives_its_stock_back(short_ttl_api: Api) -> None:
    api = short_ttl_api
    organizer = api.register("organizer")
    event = api.create_event(
        organizer, [{"name": "Regular", "price": "2500.00", "capacity": 5, "max_per_order": 5}]
    )
    placed = api.place_order(event, {"Regular": 4}).json()
    api.wait_for_available(event["id"], {"Regular": 1})
    # Only one left: a second buyer of two is turned away, with nothing held.
    expect_problem(api.place_order(event, {"Regular": 2}, expect=409), 409, "sold_out")

    expired = api.wait_for_status(placed, "expired", within=SHORT_TTL_SECONDS + WORKER_GRACE)
    assert expired["paid_at"] is None
    api.wait_for_available(event["id"], {"Regular": 5})
    # An expired order is over: it cannot be paid or cancelled.
    api.expect_not_payable(placed)
    expect_problem(
        api.call(
            "POST",
            f"/api/v1/orders/{placed['id']}/cancel",
            order_token=placed["access_token"],
        ),
        409,
        "invalid_state",
    )
    # The stock that came back sells again.
    again = api.place_order(event, {"Regular": 5}).json()
    assert again["status"] == "pending"


def test_a_late_payment_for_a_sold_out_ticket_is_refunded(short_ttl_api: Api) -> None:
    api = short_ttl_api
    organizer = api.register("organizer")
    event = api.create_event(organizer, [{"name": "Last seat", "price": "7000.00", "capacity": 1}])

    # A opens the checkout and walks away; the worker checks with Paystack, then expires it.
    late = api.place_order(event, {"Last seat": 1}).json()
    late_checkout = api.initialize(late)
    api.wait_for_status(late, "expired", within=SHORT_TTL_SECONDS + WORKER_GRACE)

    # B buys the seat that came back.
    b = guest()
    buyer = api.place_order(event, {"Last seat": 1}, buyer=b).json()
    checkout = api.initialize(buyer)
    api.checkout(checkout["authorization_url"])
    api.wait_for_status(buyer, "paid")
    api.wait_for_available(event["id"], {"Last seat": 0})

    # Now A pays on the page still open in their browser.
    landing = api.follow(api.checkout(late_checkout["authorization_url"]))
    assert landing.status_code == 200
    assert "Payment not completed" in landing.text
    assert "refunded" in landing.text
    api.wait_for_status(late, "refunded")
    assert api.tickets(late) == []

    # The money goes back through Paystack: the simulator holds a refund for A's charge.
    def refund_of_a() -> list[dict[str, object]]:
        refunds = api.paystack_api("GET", "/refund")["data"]
        return [r for r in refunds if r["transaction_reference"] == late_checkout["reference"]]

    [refund] = wait_for(refund_of_a, "the refund to reach Paystack")
    assert refund["amount"] == 700_000
    # B keeps the seat, and it was sold once.
    assert api.order(buyer)["status"] == "paid"
    assert len(api.tickets(buyer)) == 1
    sales = api.call("GET", f"/api/v1/events/{event['id']}/sales", token=organizer.token).json()
    [seat] = sales["ticket_types"]
    assert (seat["capacity"], seat["sold"], seat["held"], seat["available"]) == (1, 1, 0, 0)
    assert sales["revenue"] == "7000.00"
    wait_for(lambda: api.sent_to(b["email"]), "B's tickets email")
