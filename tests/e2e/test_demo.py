"""``getiickets demo`` works through the running app's API, and its instructions work."""

from __future__ import annotations

import re

import pytest

from getiickets.entrypoints.demo import DemoError, run_demo
from tests.contract.live_server import base_url_of, free_socket
from tests.e2e.story import Api, wait_for

pytestmark = pytest.mark.e2e


def test_the_demo_leaves_a_checkout_to_click_and_clicking_it_pays(api: Api) -> None:
    printed = run_demo(api.app.base_url)

    assert re.search(r"\d{4}, 7:00 pm WAT", printed)
    assert 'click "Pay ₦10,000.00"' in printed
    url = re.search(r"^\s+(http\S+/sandbox/paystack/\S+)$", printed, re.MULTILINE)
    assert url is not None, printed
    assert f"{api.app.base_url}/sandbox/outbox" in printed

    api.checkout(url[1])  # what the buyer's click does
    tickets = re.search(r"orders/(\S+)/tickets -H 'X-Order-Token: (\S+)'", printed)
    assert tickets is not None, printed
    order = {"id": tickets[1], "access_token": tickets[2]}
    paid = api.wait_for_status(order, "paid")
    assert paid["buyer"]["name"] == "Adaeze Ọbị"
    assert len(api.tickets(order)) == 2
    # The event it made is the app's own: served, cached and counted by the running app.
    api.wait_for_available(paid["event_id"], {"Regular": 198, "Community (free)": 50})
    wait_for(lambda: api.sent_to("adaeze@example.com"), "the demo buyer's email")

    assert "Pay ₦10,000.00" in run_demo(api.app.base_url)  # again: logs in, new event


def test_the_demo_says_to_start_the_app_when_it_is_not_running() -> None:
    # Bound, never listening: connections to it are refused.
    with free_socket() as sock, pytest.raises(DemoError, match="make run"):
        run_demo(base_url_of(sock), timeout=2.0)
