"""An event's currency and time zone, as the API takes and returns them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.story import Api, expect_problem

pytestmark = pytest.mark.e2e


def _event_body(**fields: object) -> dict[str, object]:
    return {
        "title": "Highlife Evening",
        "starts_at": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
        "ticket_types": [{"name": "Regular", "price": "2500", "capacity": 10}],
        **fields,
    }


def test_only_the_currencies_paystack_settles_are_accepted(api: Api) -> None:
    organizer = api.register("organizer")
    for currency in ("EUR", "XOF", "ABC"):
        response = api.call(
            "POST", "/api/v1/events", token=organizer.token, json=_event_body(currency=currency)
        )
        body = expect_problem(response, 422, "validation_error")
        assert [error["field"] for error in body["errors"]] == ["currency"], currency
    for currency in ("NGN", "GHS", "ZAR", "KES", "USD"):
        created = api.call(
            "POST",
            "/api/v1/events",
            token=organizer.token,
            json=_event_body(currency=currency),
            expect=201,
        ).json()
        assert created["currency"] == currency
        assert created["ticket_types"][0]["currency"] == currency
