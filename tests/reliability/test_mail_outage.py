"""Brevo down, then back: every confirmation email is delivered once when it returns.

The app runs without its in-process worker; the test runs worker rounds itself, on a
clock it moves, so the outbox's backoff (30 s, then doubling) comes due at once. Brevo
is the app's own sandbox simulator, told to fail every call with a 500.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from getiickets.sandbox.brevo import accepted_emails
from getiickets.sandbox.state import FaultKind
from getiickets.sandbox.twilio import sent_messages
from tests.e2e.story import Api, guest
from tests.reliability.conftest import MovableClock, app_on, run_worker_rounds

ORDERS = 3
DOWN_FOR_CALLS = 1_000
"""More calls than the rounds below make: Brevo stays down until the test says so."""


def _free_orders(api: Api) -> list[dict[str, object]]:
    organizer = api.register("organizer")
    event = api.create_event(
        organizer, [{"name": "Community", "price": "0", "capacity": 10, "max_per_order": 2}]
    )
    orders = [api.place_order(event, {"Community": 1}, buyer=guest()).json() for _ in range(ORDERS)]
    assert {order["status"] for order in orders} == {"paid"}
    return orders


def _emails_by_key(api: Api) -> Counter[str]:
    return Counter(
        email["headers"].get("idempotencyKey", "?") for email in accepted_emails(api.app.sandbox)
    )


def test_emails_wait_out_a_brevo_outage_and_arrive_once(
    fresh_postgres_dsn: str, tmp_path: Path
) -> None:
    environ = {"DATABASE_URL": fresh_postgres_dsn, "RUN_WORKER_IN_PROCESS": "false"}
    clock = MovableClock()
    with app_on(environ, tmp_path) as api:
        brevo = api.app.sandbox.brevo
        brevo.fail_next(DOWN_FOR_CALLS, FaultKind.SERVER_ERROR)
        _free_orders(api)

        run_worker_rounds(api.app.settings, clock, rounds=2)
        clock.advance(timedelta(minutes=2))  # a retry comes due while Brevo is still down
        run_worker_rounds(api.app.settings, clock, rounds=1)

        assert accepted_emails(api.app.sandbox) == []
        assert len(sent_messages(api.app.sandbox)) == ORDERS  # SMS does not wait for email

        brevo.faults.clear()  # Brevo is back
        clock.advance(timedelta(hours=1))
        run_worker_rounds(api.app.settings, clock, rounds=2)
        clock.advance(timedelta(hours=2))
        run_worker_rounds(api.app.settings, clock, rounds=2)

        sent = _emails_by_key(api)
        assert len(sent) == ORDERS, sent
        assert set(sent.values()) == {1}, sent
        assert len(sent_messages(api.app.sandbox)) == ORDERS
