"""Numbers are numbers: a request body is read as strictly as docs/http-api.md writes it.

Money accepts a decimal string or an integer; quantities, capacities and limits are
integers only. Litestar converts bodies leniently (``"1"`` -> 1, ``1e9`` -> 1000000000),
which silently accepted what a careful client never sends; each case here is a 422
``validation_error`` naming the field's path.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.story import Api, expect_problem, guest, paid_and_free

pytestmark = pytest.mark.e2e


def _field_errors(problem: dict[str, Any]) -> list[str]:
    return [item["field"] for item in problem.get("errors") or []]


@pytest.mark.parametrize("quantity", ["1", 1.0, True, "one"])
def test_order_quantities_are_integers_only(api: Api, quantity: object) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    body = {
        "event_id": event["id"],
        "items": [{"ticket_type_id": event["ticket_types"][0]["id"], "quantity": quantity}],
        "buyer": guest(),
    }
    problem = expect_problem(api.call("POST", "/api/v1/orders", json=body), 422, "validation_error")
    assert _field_errors(problem) == ["items.0.quantity"], problem


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", 1_000_000_000.0),
        ("price", 5000.5),
        ("price", True),
        ("capacity", "10"),
        ("capacity", 10.0),
        ("max_per_order", "4"),
    ],
)
def test_ticket_type_numbers_are_strict_on_create(api: Api, field: str, value: object) -> None:
    organizer = api.register("organizer")
    ticket_type: dict[str, Any] = {"name": "Regular", "price": "5000.00", "capacity": 10}
    ticket_type[field] = value
    body = {
        "title": "Strict",
        "starts_at": "2031-01-01T18:00:00+01:00",
        "ticket_types": [ticket_type],
    }
    response = api.call("POST", "/api/v1/events", token=organizer.token, json=body)
    problem = expect_problem(response, 422, "validation_error")
    assert _field_errors(problem) == [f"ticket_types.0.{field}"], problem


def test_ticket_type_price_is_strict_when_added(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free(), publish=False)
    response = api.call(
        "POST",
        f"/api/v1/events/{event['id']}/ticket-types",
        token=organizer.token,
        json={"name": "VIP", "price": 25000.0, "capacity": 5},
    )
    problem = expect_problem(response, 422, "validation_error")
    assert _field_errors(problem) == ["price"], problem


@pytest.mark.parametrize("price", ["5000", "5000.5", "5000.50", 5000, "0", 0])
def test_money_still_takes_a_decimal_string_or_an_integer(api: Api, price: object) -> None:
    organizer = api.register("organizer")
    body = {
        "title": "Prices",
        "starts_at": "2031-01-01T18:00:00+01:00",
        "ticket_types": [{"name": "Regular", "price": price, "capacity": 10}],
    }
    api.call("POST", "/api/v1/events", token=organizer.token, json=body, expect=201)
