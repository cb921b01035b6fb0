"""The waiting page in a real browser: join, watch the place move, buy when let in.

Same Chromium set-up as the checkout test (Debian's ``chromium``, driven by Playwright).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.story import Api, guest
from tests.e2e.test_checkout_browser import browser  # noqa: F401 - the shared fixture
from tests.e2e.test_waiting_room import api, join, queue_server, queued_event  # noqa: F401

pytestmark = pytest.mark.e2e


def test_a_buyer_waits_on_the_page_and_buys_when_admitted(api: Api, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect  # noqa: PLC0415 - only once the fixture found it

    _, event = queued_event(api, admit_per_minute=20)  # one every 3 s
    join(api, event)  # someone is already in: the browser's buyer waits

    page = browser.new_page()
    try:
        page.goto(f"{api.app.base_url}/queue/{event['slug']}")
        expect(page).to_have_title(f"Waiting room: {event['title']}")
        # Buyers read the event's own local time (Lagos, WAT), not UTC.
        expect(page.locator("#when")).to_contain_text(re.compile(r"\d{1,2}:\d\d [ap]m WAT"))
        page.get_by_label("Email").fill(guest()["email"])
        page.get_by_role("button", name="Join the queue").click()

        expect(page.locator("#position")).to_have_text("1")
        expect(page.locator("#wait")).to_have_text(re.compile(r"^\d+ s$"))

        # The page polls by itself; the door opens within a few seconds.
        buy = page.get_by_role("link", name="Buy tickets now")
        expect(buy).to_be_visible(timeout=15_000)
        buy.click()
        page.get_by_label("Ticket").select_option(label="Community")
        page.get_by_label("Name").fill("Ada Browser")
        page.get_by_role("button", name="Place order").click()
        expect(page.locator("#message")).to_contain_text("confirmed")

        # The admission was used: the same page cannot order again.
        page.get_by_role("button", name="Place order").click()
        expect(page.locator("#message")).to_contain_text("used")
    finally:
        page.close()
