"""An event's currency and time zone, as the API takes and returns them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

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


def test_an_event_names_its_time_zone_and_keeps_utc_times(api: Api) -> None:
    organizer = api.register("organizer")
    starts_at = datetime(2026, 12, 31, 19, 0, tzinfo=timezone(timedelta(hours=1)))  # WAT
    default = api.call(
        "POST",
        "/api/v1/events",
        token=organizer.token,
        json=_event_body(starts_at=starts_at.isoformat()),
        expect=201,
    ).json()
    assert default["timezone"] == "Africa/Lagos"
    assert default["starts_at"] == "2026-12-31T18:00:00Z"  # JSON stays UTC

    accra = api.call(
        "POST",
        "/api/v1/events",
        token=organizer.token,
        json=_event_body(timezone="Africa/Accra"),
        expect=201,
    ).json()
    assert accra["timezone"] == "Africa/Accra"
    moved = api.call(
        "PATCH",
        f"/api/v1/events/{accra['id']}",
        token=organizer.token,
        json={"timezone": "Africa/Nairobi"},
        expect=200,
    ).json()
    assert moved["timezone"] == "Africa/Nairobi"
    assert (
        api.call("GET", f"/api/v1/events/{accra['id']}", token=organizer.token, expect=200).json()[
            "timezone"
        ]
        == "Africa/Nairobi"
    )

    for zone in ("WAT", "Africa/Lagoss", "+01:00", "", "x" * 300):
        created = api.call(
            "POST", "/api/v1/events", token=organizer.token, json=_event_body(timezone=zone)
        )
        body = expect_problem(created, 422, "validation_error")
        assert [error["field"] for error in body["errors"]] == ["timezone"], zone
    patched = api.call(
        "PATCH",
        f"/api/v1/events/{accra['id']}",
        token=organizer.token,
        json={"timezone": "Mars/Olympus_Mons"},
    )
    assert [e["field"] for e in expect_problem(patched, 422, "validation_error")["errors"]] == [
        "timezone"
    ]

    schema = api.call("GET", "/schema/openapi.json", expect=200).json()
    components = schema["components"]["schemas"]
    event_out = next(body for name, body in components.items() if name.endswith("EventOut"))
    assert "timezone" in event_out["properties"]
    create = next(body for name, body in components.items() if name.endswith("CreateEventBody"))
    assert create["properties"]["timezone"]["default"] == "Africa/Lagos"
    assert create["properties"]["currency"]["enum"] == ["NGN", "GHS", "ZAR", "KES", "USD"]
