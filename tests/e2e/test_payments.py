"""Payments the way they go wrong: declines, repeated and forged webhooks, wrong amounts."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import msgspec
import pytest

from tests.e2e.story import Api, expect_problem, guest, paid_and_free, sign, wait_for

pytestmark = pytest.mark.e2e


def test_a_declined_payment_sends_no_webhook_and_verify_fails_the_order(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    placed = api.place_order(event, {"Regular": 3}).json()
    checkout = api.initialize(placed)
    api.wait_for_available(event["id"], {"Regular": 47, "Community": 50})

    redirect = api.checkout(checkout["authorization_url"], action="decline")
    assert redirect.headers["location"].startswith(f"{api.app.base_url}/payments/callback?")

    # Paystack sends webhooks for successful charges only: nothing tells the app yet.
    with api.app.sandbox.lock:
        sent = [delivery.body for delivery in api.app.sandbox.paystack.deliveries]
    assert not [body for body in sent if checkout["reference"].encode() in body]
    assert api.order(placed)["status"] == "pending"

    verified = api.verify(checkout["reference"])
    assert verified["status"] == "failed"
    assert verified["order"]["status"] == "failed"
    assert api.order(placed)["status"] == "failed"
    assert api.tickets(placed) == []
    api.wait_for_available(event["id"], {"Regular": 50, "Community": 50})

    # The buyer's browser, landing after the decline, is told plainly.
    landing = api.follow(redirect)
    assert landing.status_code == 200
    assert "Payment not completed" in landing.text
    # A failed order cannot be paid again.
    api.expect_not_payable(placed)


def test_repeated_and_concurrent_webhooks_issue_tickets_and_messages_once(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    buyer = guest()
    placed = api.place_order(event, {"Regular": 2}, buyer=buyer).json()
    checkout = api.initialize(placed)

    # Pay without following the redirect: only the webhook tells the app.
    api.checkout(checkout["authorization_url"])
    [delivery] = api.deliveries(checkout["reference"])
    signature = delivery.headers["x-paystack-signature"]

    # The same signed body five more times, and three buyers' browsers asking to verify,
    # all at once and racing the sandbox's own delivery.
    start = threading.Barrier(8)

    def send(what: str) -> httpx.Response:
        with httpx.Client(base_url=api.app.base_url, timeout=20.0) as client:
            start.wait(timeout=10)
            if what == "verify":
                return client.post(
                    "/api/v1/payments/verify", json={"reference": checkout["reference"]}
                )
            return client.post(
                "/api/v1/webhooks/paystack",
                content=delivery.body,
                headers={"content-type": "application/json", "x-paystack-signature": signature},
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, ["webhook"] * 5 + ["verify"] * 3))
    assert [answer.status_code for answer in answers] == [200] * 8, [a.text for a in answers]
    outcomes = sorted(answer.json()["status"] for answer in answers[:5])
    # Stored once: at most one of ours came first (else the sandbox's own did).
    assert outcomes in (["duplicate"] * 5, ["accepted"] + ["duplicate"] * 4), outcomes
    for verified in answers[5:]:
        assert verified.json()["status"] == "success"
        assert verified.json()["order"]["status"] == "paid"

    api.wait_for_status(placed, "paid")
    wait_for(lambda: delivery.delivered, "the sandbox's own delivery to be acknowledged")
    # Once more after the fact: acknowledged, and changes nothing.
    late = api.webhook(delivery.body, signature)
    assert (late.status_code, late.json()["status"]) == (200, "duplicate")

    tickets = api.tickets(placed)
    assert len(tickets) == 2
    sales = api.call("GET", f"/api/v1/events/{event['id']}/sales", token=organizer.token).json()
    regular = next(row for row in sales["ticket_types"] if row["name"] == "Regular")
    assert (regular["sold"], regular["held"], regular["available"]) == (2, 0, 48)

    # One email and one SMS. Once both went out, wait for the outbox to be empty: a
    # duplicate, written by a second payment transaction, would have gone out too.
    wait_for(lambda: api.sent_to(buyer["email"]) and api.sent_to(buyer["phone"]), "messages")
    wait_for(lambda: api.metric("getiickets_outbox_depth") == 0, "an empty outbox")
    assert len(api.sent_to(buyer["email"])) == 1
    assert len(api.sent_to(buyer["phone"])) == 1
    assert len(api.tickets(placed)) == 2


def test_a_forged_webhook_is_refused_and_changes_nothing(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    placed = api.place_order(event, {"Regular": 1}).json()
    checkout = api.initialize(placed)
    body = msgspec.json.encode(
        {
            "event": "charge.success",
            "data": {
                "reference": checkout["reference"],
                "status": "success",
                "amount": 500_000,
                "currency": "NGN",
                "requested_amount": 500_000,
            },
        }
    )

    signatures = (sign(body, "sk_test_someone_else"), "", "not-hex-at-all", "é".encode())
    for signature in signatures:
        headers = {"content-type": "application/json", "x-paystack-signature": signature}
        forged = api.http.post("/api/v1/webhooks/paystack", content=body, headers=headers)
        expect_problem(forged, 401, "invalid_signature")
    unsigned = api.http.post(
        "/api/v1/webhooks/paystack", content=body, headers={"content-type": "application/json"}
    )
    expect_problem(unsigned, 401, "invalid_signature")
    # The signature covers the exact bytes: a genuine one over other bytes fails too.
    tampered = api.webhook(body + b" ", sign(body))
    expect_problem(tampered, 401, "invalid_signature")

    assert api.order(placed)["status"] == "pending"
    assert api.tickets(placed) == []
    # Nothing was stored either: the same event, correctly signed, is news to the app.
    genuine = api.webhook(body, sign(body))
    assert (genuine.status_code, genuine.json()["status"]) == (200, "accepted")
    # ...and the app still asks Paystack, which knows of no payment: still pending.
    verified = api.verify(checkout["reference"])
    assert verified["status"] == "abandoned"
    assert verified["order"]["status"] == "pending"


def test_a_payment_for_another_amount_does_not_pay_the_order(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    placed = api.place_order(event, {"Regular": 2}).json()
    checkout = api.initialize(placed)
    assert placed["total"] == "10000.00"
    _change_simulated_amount(api, checkout["reference"], kobo=100_000)  # 1,000.00 naira
    mismatches = api.metric("getiickets_payments_total", outcome="mismatch")

    api.checkout(checkout["authorization_url"])
    [delivery] = api.deliveries(checkout["reference"])
    # The webhook says success (its body is the provider's), but the verified amount is
    # not the order's: acknowledged, and the order is left as it was.
    wait_for(lambda: delivery.delivered, "the webhook to be acknowledged")
    wait_for(
        lambda: api.metric("getiickets_payments_total", outcome="mismatch") > mismatches,
        "the mismatch to be counted",
    )
    verified = api.verify(checkout["reference"])
    assert verified["status"] == "success"
    assert verified["order"]["status"] == "pending"
    assert verified["order"]["paid_at"] is None
    assert api.order(placed)["status"] == "pending"
    assert api.tickets(placed) == []
    sales = api.call("GET", f"/api/v1/events/{event['id']}/sales", token=organizer.token).json()
    regular = next(row for row in sales["ticket_types"] if row["name"] == "Regular")
    assert (regular["sold"], regular["held"]) == (0, 2)


def _change_simulated_amount(api: Api, reference: str, *, kobo: int) -> None:
    """Make the simulator's transaction worth ``kobo``, as if the checkout had been
    opened for another amount. The sandbox has no control route for this and the app
    picks its references itself, so the test reaches into the simulator's book (the
    sandbox state is the test's own). Verify then reports this amount to the app."""
    with api.app.sandbox.lock:
        book: Any = api.app.sandbox.paystack.data["book"]
        transaction = book.transactions[reference]
        transaction.requested = transaction.amount = kobo
    check = api.paystack_api("GET", f"/transaction/verify/{reference}")
    assert (check["data"]["amount"], check["data"]["requested_amount"]) == (kobo, kobo)
