"""The purchase as people make it: organizer publishes, a guest pays, the door lets them in."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.story import Api, expect_problem, guest, paid_and_free, wait_for

pytestmark = pytest.mark.e2e


def test_a_guest_pays_gets_tickets_by_mail_and_sms_and_gets_in_once(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    buyer = guest()

    placed = api.place_order(event, {"Regular": 2}, buyer=buyer).json()
    assert placed["status"] == "pending"
    assert (placed["total"], placed["currency"]) == ("10000.00", "NGN")
    assert placed["buyer"] == buyer
    assert placed["access_token"]
    assert placed["paid_at"] is None
    api.wait_for_available(event["id"], {"Regular": 48, "Community": 50})

    checkout = api.initialize(placed)
    assert checkout["authorization_url"].startswith(f"{api.app.base_url}/sandbox/paystack/")
    assert checkout["reference"].startswith("TKT-")
    # Initializing again while pending resumes the same checkout.
    assert api.initialize(placed) == checkout

    redirect = api.checkout(checkout["authorization_url"])
    assert redirect.headers["location"].startswith(f"{api.app.base_url}/payments/callback?")
    assert f"reference={checkout['reference']}" in redirect.headers["location"]
    landing = api.follow(redirect)
    assert landing.status_code == 200
    assert "Payment received" in landing.text

    paid = api.wait_for_status(placed, "paid")
    assert paid["paid_at"] is not None
    assert paid["payment_reference"] == checkout["reference"]
    # The sandbox's signed charge.success reached the app and was acknowledged.
    delivery = wait_for(
        lambda: next(iter(d for d in api.deliveries(checkout["reference"]) if d.delivered), None),
        "the charge.success webhook to be delivered",
    )
    assert delivery.attempts[-1].status_code == 200

    tickets = api.tickets(placed)
    assert len(tickets) == 2
    regular = event["ticket_types"][0]["id"]
    assert {ticket["ticket_type_id"] for ticket in tickets} == {regular}
    assert {ticket["status"] for ticket in tickets} == {"valid"}
    assert len({ticket["ticket_number"] for ticket in tickets}) == 2
    assert all(ticket["order_id"] == placed["id"] and ticket["qr_payload"] for ticket in tickets)

    for ticket in tickets:
        link = api.call(
            "GET",
            f"/api/v1/tickets/{ticket['ticket_number']}/pdf",
            order_token=placed["access_token"],
            expect=302,
        )
        pdf = api.follow(link)
        assert pdf.status_code == 200
        assert pdf.headers["content-type"].startswith("application/pdf")
        assert pdf.content.startswith(b"%PDF")

    email = wait_for(lambda: api.sent_to(buyer["email"]), "the tickets email")
    sms = wait_for(lambda: api.sent_to(buyer["phone"]), "the tickets SMS")
    assert [entry["channel"] for entry in email] == ["email"]
    assert [entry["channel"] for entry in sms] == ["sms"]
    assert placed["order_number"] in email[0]["text"] + (email[0]["subject"] or "")
    assert placed["order_number"] in sms[0]["text"]

    sales = api.call("GET", f"/api/v1/events/{event['id']}/sales", token=organizer.token).json()
    rows = {row["name"]: row for row in sales["ticket_types"]}
    assert (rows["Regular"]["sold"], rows["Regular"]["held"]) == (2, 0)
    assert rows["Regular"]["available"] == 48
    assert (sales["revenue"], sales["currency"]) == ("10000.00", "NGN")

    scan = {"event_id": event["id"], "qr_payload": tickets[0]["qr_payload"]}
    first = api.call("POST", "/api/v1/checkin", token=organizer.token, json=scan, expect=200)
    assert first.json()["result"] == "ok"
    assert first.json()["ticket"]["ticket_number"] == tickets[0]["ticket_number"]
    assert first.json()["ticket"]["status"] == "checked_in"
    second = api.call("POST", "/api/v1/checkin", token=organizer.token, json=scan, expect=200)
    assert second.json()["result"] == "already_checked_in"
    assert second.json()["checked_in_at"] == first.json()["checked_in_at"]
    after = {ticket["ticket_number"]: ticket["status"] for ticket in api.tickets(placed)}
    assert after == {
        tickets[0]["ticket_number"]: "checked_in",
        tickets[1]["ticket_number"]: "valid",
    }

    # The QR payload is signed: change one character and the door refuses it.
    payload = tickets[1]["qr_payload"]
    forged = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    expect_problem(
        api.call(
            "POST",
            "/api/v1/checkin",
            token=organizer.token,
            json={"event_id": event["id"], "qr_payload": forged},
        ),
        422,
        "invalid_ticket",
    )
    # A real ticket of another event is not let in here.
    other = api.create_event(organizer, paid_and_free())
    expect_problem(
        api.call(
            "POST",
            "/api/v1/checkin",
            token=organizer.token,
            json={"event_id": other["id"], "qr_payload": payload},
        ),
        422,
        "wrong_event",
    )


def test_a_free_order_is_paid_at_once_with_its_tickets(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    buyer = api.register("buyer")
    details = guest()

    placed = api.place_order(event, {"Community": 3}, buyer=details, token=buyer.token).json()
    assert placed["status"] == "paid"
    assert placed["total"] == "0.00"
    assert placed["paid_at"] is not None
    assert placed["payment_reference"] is None
    # The buyer's own session reads the order: no order token needed.
    mine = api.call("GET", f"/api/v1/orders/{placed['id']}", token=buyer.token, expect=200)
    assert mine.json()["status"] == "paid"

    tickets = api.tickets(placed)
    assert len(tickets) == 3
    assert {ticket["status"] for ticket in tickets} == {"valid"}

    # Straight away, before the worker has rendered the files, several devices ask for
    # the same PDF at once: each renders it, and each gets its link.
    def pdf(_: int) -> int:
        with httpx.Client(base_url=api.app.base_url, timeout=20.0) as client:
            return client.get(
                f"/api/v1/tickets/{tickets[0]['ticket_number']}/pdf",
                headers={"X-Order-Token": placed["access_token"]},
            ).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(pdf, range(4))) == [302] * 4
    api.wait_for_available(event["id"], {"Regular": 50, "Community": 47})

    # Nothing to pay.
    api.expect_not_payable(placed)
    wait_for(lambda: api.sent_to(details["email"]), "the free tickets email")
    wait_for(lambda: api.sent_to(details["phone"]), "the free tickets SMS")
    scan = {"event_id": event["id"], "qr_payload": tickets[2]["qr_payload"]}
    ok = api.call("POST", "/api/v1/checkin", token=organizer.token, json=scan, expect=200)
    assert ok.json()["result"] == "ok"
