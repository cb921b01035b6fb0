"""What a buyer reads after a purchase: the PDF, the email and the SMS show the event's
local time, the money as people write it, and the holder's name exactly as typed."""

from __future__ import annotations

import io
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from getiickets.domain.model.local_time import readable_time
from tests.e2e.story import Api, guest, paid_and_free, wait_for

pytestmark = pytest.mark.e2e

HOLDER = "Adaeze Ọbị"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def test_the_pdf_email_and_sms_speak_local_time_naira_and_the_exact_name(api: Api) -> None:
    organizer = api.register("organizer")
    starts_at = (datetime.now(UTC) + timedelta(days=30)).replace(
        hour=18, minute=0, second=0, microsecond=0
    )
    event = api.create_event(organizer, paid_and_free(), starts_at=starts_at, venue="Eko Hotel")
    assert event["timezone"] == "Africa/Lagos"
    local = readable_time(starts_at, "Africa/Lagos")
    assert local.endswith(", 7:00 pm WAT")
    buyer = {**guest(), "name": HOLDER}

    placed = api.place_order(event, {"Regular": 2}, buyer=buyer).json()
    assert (placed["total"], placed["currency"]) == ("10000.00", "NGN")  # JSON: decimals
    api.checkout(api.initialize(placed)["authorization_url"])
    api.wait_for_status(placed, "paid")
    tickets = api.tickets(placed)
    assert {ticket["holder_name"] for ticket in tickets} == {HOLDER}

    # The PDF: the exact name (not "Adaeze Obi") and 7 pm in Lagos (not "18:00 UTC").
    for ticket in tickets:
        link = api.call(
            "GET",
            f"/api/v1/tickets/{ticket['ticket_number']}/pdf",
            order_token=placed["access_token"],
            expect=302,
        )
        text = nfc(PdfReader(io.BytesIO(api.follow(link).content)).pages[0].extract_text())
        assert nfc(HOLDER) in text.splitlines()
        assert local in text
        assert "Eko Hotel, Lagos" in text

    [email] = wait_for(lambda: api.sent_to(buyer["email"]), "the tickets email")
    assert email["subject"] == f"Your tickets for {event['title']}, {local}"
    for part in (email["text"], email["html"]):
        assert HOLDER in part
        assert local in part
        assert "₦10,000.00" in part
        assert "₦5,000.00" in part
        assert "Eko Hotel, Lagos" in part
        assert all(ticket["ticket_number"] in part for ticket in tickets)

    [sms] = wait_for(lambda: api.sent_to(buyer["phone"]), "the tickets SMS")
    assert sms["text"].startswith(HOLDER)  # UCS-2, letters kept
    assert local in sms["text"]
    assert "NGN 10,000.00" in sms["text"]
    assert placed["order_number"] in sms["text"]
    with api.app.sandbox.lock:
        [sent] = [
            message
            for message in api.app.sandbox.twilio.data.get("messages", [])
            if message.get("to") == buyer["phone"]
        ]
    # The network's count for this body: a UCS-2 message over 70 characters is 2 parts.
    assert sent["num_segments"] == "2"
