"""Pictures of what people see: the sandbox checkout (phone and desktop), the tickets
email and the ticket PDF, for one purchase by "Adaeze Ọbị".

Each picture is checked, not only taken: the checkout fits its box, the email renders
in Chromium with the local time, the naira amounts and the exact name visible, and
the PDF draws to a page with ink on it. By default the PNGs go to a temporary
directory; ``make screenshots`` sets ``GETIICKETS_SCREENSHOTS=docs/screenshots`` so
they replace the committed ones (from the embedded backend only).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat

from getiickets.domain.model.local_time import readable_time
from tests.e2e.browser import DESKTOP, PHONE, chromium, overflow
from tests.e2e.story import Api, guest, paid_and_free, wait_for

pytestmark = pytest.mark.e2e

HOLDER = "Adaeze Ọbị"
STARTS_AT = datetime(2027, 12, 31, 18, 0, tzinfo=UTC)  # 7 pm in Lagos
EMAIL_WIDTH = {"width": 720, "height": 900}
OUTPUT_VARIABLE = "GETIICKETS_SCREENSHOTS"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def shots(api: Api, tmp_path: Path) -> Path:
    """Where the pictures go: the committed folder only when asked, and only once."""
    wanted = os.environ.get(OUTPUT_VARIABLE)
    if wanted and api.app.backend == "embedded":
        folder = Path(wanted)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path


def has_ink(png: bytes) -> bool:
    """Not a blank page: the picture has real contrast in it."""
    with Image.open(io.BytesIO(png)) as image:
        return bool(ImageStat.Stat(image.convert("L")).stddev[0] > 10)


def test_screenshots_of_the_checkout_the_email_and_the_ticket(
    api: Api, browser: Any, shots: Path
) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - only once the fixture found it

    organizer = api.register("organizer")
    event = api.create_event(
        organizer,
        paid_and_free(),
        title="Lagos Afrobeats Night",
        venue="Eko Convention Centre",
        starts_at=STARTS_AT,
    )
    local = readable_time(STARTS_AT, event["timezone"])
    buyer = {**guest(), "name": HOLDER}
    placed = api.place_order(event, {"Regular": 2}, buyer=buyer).json()
    checkout = api.initialize(placed)

    page = browser.new_page()
    try:
        for name, viewport in (("checkout-phone", PHONE), ("checkout-desktop", DESKTOP)):
            page.set_viewport_size(viewport)
            page.goto(checkout["authorization_url"])
            assert overflow(page) == {}, name
            expect(page.get_by_text(local)).to_be_visible()
            expect(page.get_by_role("button", name="Pay ₦10,000.00")).to_be_visible()
            page.screenshot(path=shots / f"{name}.png", full_page=True)
        page.get_by_role("button", name=re.compile(r"^Pay ")).click()
        page.wait_for_url(f"{api.app.base_url}/payments/callback?*")
    finally:
        page.close()
    api.wait_for_status(placed, "paid")

    [email] = wait_for(lambda: api.sent_to(buyer["email"]), "the tickets email")
    page = browser.new_page()
    try:
        for name, viewport in (("email", EMAIL_WIDTH), ("email-phone", PHONE)):
            page.set_viewport_size(viewport)
            page.set_content(email["html"], wait_until="load")
            # Exact texts: the hidden preview line (preheader) repeats some of them.
            for text in (local, "₦10,000.00", "₦5,000.00 each", "Eko Convention Centre, Lagos"):
                expect(page.get_by_text(text, exact=True).first).to_be_visible()
            expect(page.get_by_text(HOLDER, exact=True)).to_have_count(2)  # two tickets
            expect(page.get_by_role("link", name="Download PDF")).to_have_count(2)
            assert overflow(page, "table") == {}, name
            png = page.screenshot(path=shots / f"{name}.png", full_page=True)
            assert has_ink(png)
    finally:
        page.close()

    ticket = api.tickets(placed)[0]
    link = api.call(
        "GET",
        f"/api/v1/tickets/{ticket['ticket_number']}/pdf",
        order_token=placed["access_token"],
        expect=302,
    )
    png = pdf_page_png(api.follow(link).content)
    assert has_ink(png)
    (shots / "ticket-pdf.png").write_bytes(png)


def pdf_page_png(pdf: bytes, scale: float = 2.0) -> bytes:
    """The first page drawn by PDFium (pypdfium2): a real viewer's rendering."""
    import pypdfium2  # noqa: PLC0415 - a dev dependency, needed here only

    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[0].render(scale=scale).to_pil()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
