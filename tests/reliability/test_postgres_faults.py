"""PostgreSQL stopped mid-sale, then started again: clean 503s while it is down, a few log
lines (not a traceback per request), and a sale that goes on by itself once it is back.

The app runs against a private cluster without Redis, so stock lives in PostgreSQL too
(the SQL inventory): the harshest case, where every order needs the database.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from getiickets.sandbox.brevo import accepted_emails
from tests.e2e.story import Api, expect_problem, guest, wait_for
from tests.reliability.conftest import PrivatePostgres, app_on, problems, recorded_logs

CAPACITY = 20
ANSWER_WITHIN = 12.0
"""Seconds any request may take while the database is down: the pool's 3 s wait, a
connect attempt, never a hang."""
OUTAGE_REQUESTS = 20
OUTAGE_SECONDS = 4.0
"""Long enough for the in-process worker to fail a few rounds (it polls every second)."""
MAX_LOG_LINES = 10
"""For the failing requests and worker rounds: one line per failure class, not one per
request or round (before the fix: a traceback per request and per chore)."""


def _outage_requests(api: Api, event: dict[str, object], token: str) -> list[tuple[str, float]]:
    """Each request, its status and code, and how long it took."""
    answers = []
    until = time.monotonic() + OUTAGE_SECONDS
    for index in range(OUTAGE_REQUESTS):
        time.sleep(max(0.0, (until - time.monotonic()) / (OUTAGE_REQUESTS - index)))
        started = time.monotonic()
        if index % 3 == 0:
            response = api.place_order(event, {"Regular": 1}, expect=None)  # type: ignore[arg-type]
        elif index % 3 == 1:
            response = api.call("GET", "/api/v1/events?limit=5")
        else:
            response = api.call("GET", "/api/v1/auth/me", token=token)
        elapsed = time.monotonic() - started
        if response.status_code != 200:
            problem = expect_problem(response, 503, "database_unavailable")
            assert int(response.headers["Retry-After"]) > 0, problem
        answers.append((f"{response.status_code}", elapsed))
    return answers


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_database_outage_answers_503_and_recovers(
    mode: str, private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    environ = {"DATABASE_URL": private_postgres.url}
    with app_on(environ, tmp_path) as api:
        organizer = api.register("organizer")
        buyer = api.register("buyer")
        event = api.create_event(
            organizer,
            [
                {"name": "Regular", "price": "5000.00", "capacity": CAPACITY},
                {"name": "Community", "price": "0", "capacity": CAPACITY},
            ],
        )
        before = [api.place_order(event, {"Regular": 2}).json() for _ in range(2)]

        with recorded_logs() as records:
            private_postgres.stop(mode)
            answers = _outage_requests(api, event, buyer.token)
            outage_lines = problems(records)
        private_postgres.start()

        assert {status for status, _ in answers} <= {"200", "503"}
        assert "503" in {status for status, _ in answers}
        assert max(elapsed for _, elapsed in answers) < ANSWER_WITHIN
        assert len(outage_lines) <= MAX_LOG_LINES, outage_lines
        assert not [line for line in outage_lines if line.endswith("+traceback")], outage_lines

        # Back by itself: no restart of the app, the next requests just work.
        wait_for(
            lambda: api.call("GET", f"/api/v1/events/{event['id']}").status_code == 200,
            "the app to answer again",
            within=20,
        )
        after = api.place_order(event, {"Regular": 3}, buyer=guest()).json()
        api.call("GET", "/api/v1/auth/me", token=buyer.token, expect=200)

        for order in [*before, after]:
            assert api.order(order)["status"] == "pending"
        # The orders refused during the outage hold nothing: only the stored ones do.
        api.wait_for_available(
            event["id"], {"Regular": CAPACITY - 2 - 2 - 3, "Community": CAPACITY}
        )
        # The in-process worker lived through the outage and works again.
        free = api.place_order(event, {"Community": 1}, buyer=guest()).json()
        assert free["status"] == "paid"
        wait_for(
            lambda: (
                [e for e in accepted_emails(api.app.sandbox) if free["id"] in str(e)]
                or [e for e in accepted_emails(api.app.sandbox) if free["order_number"] in str(e)]
            ),
            "the worker to send the confirmation of an order placed after the outage",
            within=20,
        )
