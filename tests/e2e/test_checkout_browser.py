"""A real browser through the sandbox checkout: open the link, press Pay, land on the callback.

Playwright drives the system's Chromium (Debian's ``chromium`` package: Playwright's own
browser download is not used). Without it the test skips on a laptop and fails under
CI, like the other tests that need something outside Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import DESKTOP, PHONE, chromium, overflow
from tests.e2e.story import Api, guest, paid_and_free, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Chromium context with a fresh profile, for this module's tests."""
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


def test_a_buyer_pays_in_the_browser_and_lands_on_the_callback(api: Api, browser: Any) -> None:
    from playwright.sync_api import expect  # noqa: PLC0415 - only once the fixture found it

    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    buyer = guest()
    placed = api.place_order(event, {"Regular": 1}, buyer=buyer).json()
    checkout = api.initialize(placed)

    page = browser.new_page()
    try:
        page.goto(checkout["authorization_url"])
        expect(page).to_have_title("Paystack sandbox checkout")
        expect(page.get_by_text(checkout["reference"])).to_be_visible()
        page.get_by_role("button", name=re.compile(r"^Pay ")).click()

        page.wait_for_url(f"{api.app.base_url}/payments/callback?*")
        assert f"reference={checkout['reference']}" in page.url
        expect(page.get_by_role("heading", level=1)).to_have_text("Payment received")
        expect(page.locator("#message")).to_contain_text(placed["order_number"])
    finally:
        page.close()

    paid = api.wait_for_status(placed, "paid")
    assert paid["payment_reference"] == checkout["reference"]
    assert len(api.tickets(placed)) == 1
    wait_for(lambda: api.sent_to(buyer["email"]), "the tickets email")


VIEWPORTS = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_checkout_fits_its_box_on_a_phone_and_a_desktop(
    api: Api, browser: Any, viewport: dict[str, int]
) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    placed = api.place_order(event, {"Regular": 2}, buyer=guest()).json()
    checkout = api.initialize(placed)

    page = browser.new_page()
    try:
        page.set_viewport_size(viewport)
        page.goto(checkout["authorization_url"])
        assert overflow(page) == {}
        assert page.get_by_text("₦10,000.00").first.is_visible()
        assert page.get_by_text(event["title"]).is_visible()
    finally:
        page.close()
