"""docs/http-api.md at the edges: errors, idempotency, sessions, ownership, uploads, lists."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image

from getiickets.entrypoints.http.routes.auth import LOGIN_ATTEMPTS_PER_EMAIL
from tests.e2e.story import (
    PASSWORD,
    Api,
    expect_problem,
    guest,
    paid_and_free,
    unique,
    unique_email,
    wait_for,
)

pytestmark = pytest.mark.e2e

FIVE_MIB = 5 * 1024 * 1024

# Every route of docs/http-api.md (method, path under /api/v1 unless absolute) and no others.
API_ROUTES = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/auth/me"),
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/events/{}"),
    ("POST", "/api/v1/events"),
    ("PATCH", "/api/v1/events/{}"),
    ("POST", "/api/v1/events/{}/publish"),
    ("POST", "/api/v1/events/{}/ticket-types"),
    ("PUT", "/api/v1/events/{}/image"),
    ("GET", "/api/v1/events/{}/sales"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/orders/{}"),
    ("POST", "/api/v1/orders/{}/cancel"),
    ("GET", "/api/v1/orders/{}/tickets"),
    ("GET", "/api/v1/tickets/{}/pdf"),
    ("POST", "/api/v1/payments/initialize"),
    ("POST", "/api/v1/payments/verify"),
    ("POST", "/api/v1/webhooks/paystack"),
    ("POST", "/api/v1/checkin"),
    ("GET", "/health"),
    ("GET", "/ready"),
}


def png(size: int = 8) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------- errors


def test_malformed_json_is_a_400_problem(api: Api) -> None:
    for path in ("/api/v1/orders", "/api/v1/auth/register", "/api/v1/payments/verify"):
        response = api.http.post(
            path, content=b'{"event_id": "x", ', headers={"content-type": "application/json"}
        )
        expect_problem(response, 400, "malformed_json")


def test_an_order_with_a_token_that_stopped_working_is_401_whatever_its_body(api: Api) -> None:
    """The caller is identified before the body is read: a client with an expired
    session learns that first, not what its body lacks."""
    buyer = api.register("buyer")
    api.call("POST", "/api/v1/auth/logout", token=buyer.token, expect=204)

    for body in ({"event_id": "x"}, {"items": "none"}, []):
        response = api.call("POST", "/api/v1/orders", token=buyer.token, json=body)
        expect_problem(response, 401, "unauthenticated")
    malformed = api.http.post(
        "/api/v1/orders",
        content=b'{"event_id": ',
        headers={"content-type": "application/json", "authorization": f"Bearer {buyer.token}"},
    )
    expect_problem(malformed, 401, "unauthenticated")


def test_validation_errors_name_the_field(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    regular = event["ticket_types"][0]["id"]

    def order(body: dict[str, object]) -> list[dict[str, str]]:
        response = api.call("POST", "/api/v1/orders", json=body)
        errors: list[dict[str, str]] = expect_problem(response, 422, "validation_error")["errors"]
        assert all(error["message"] for error in errors), errors
        return errors

    buyer = guest()
    zero = order(
        {
            "event_id": event["id"],
            "items": [{"ticket_type_id": regular, "quantity": 0}],
            "buyer": buyer,
        }
    )
    assert [error["field"] for error in zero] == ["items.0.quantity"]
    second = order(
        {
            "event_id": event["id"],
            "items": [
                {"ticket_type_id": regular, "quantity": 1},
                {"ticket_type_id": regular, "quantity": "two"},
            ],
            "buyer": buyer,
        }
    )
    assert [error["field"] for error in second] == ["items.1.quantity"]
    no_email = order(
        {
            "event_id": event["id"],
            "items": [{"ticket_type_id": regular, "quantity": 1}],
            "buyer": {"name": "Ada"},
        }
    )
    assert [error["field"] for error in no_email] == ["buyer.email"]
    assert [error["field"] for error in order({"event_id": event["id"], "buyer": buyer})] == [
        "items"
    ]

    # Money: more than two decimals, negatives and exponents are refused, by field.
    for price in ("10.001", "-5", "1e3", "NaN"):
        response = api.call(
            "POST",
            "/api/v1/events",
            token=organizer.token,
            json={
                "title": "Bad prices",
                "starts_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
                "ticket_types": [{"name": "A", "price": price, "capacity": 1}],
            },
        )
        body = expect_problem(response, 422, "validation_error")
        assert [error["field"] for error in body["errors"]] == ["ticket_types.0.price"], price

    # Over max_per_order (4 for Regular) is its own code; nothing is held.
    too_many = api.place_order(event, {"Regular": 5}, expect=422)
    expect_problem(too_many, 422, "too_many_tickets")
    expect_problem(api.call("GET", "/api/v1/orders/nope", order_token="x"), 404, "not_found")
    expect_problem(api.call("GET", "/api/v1/events/no-such-event"), 404, "not_found")
    expect_problem(api.call("GET", "/api/v1/no-such-route"), 404, "not_found")
    api.wait_for_available(event["id"], {"Regular": 50, "Community": 50})


def test_tickets_outside_their_sales_window_are_not_sold(api: Api) -> None:
    organizer = api.register("organizer")
    later = datetime.now(UTC) + timedelta(days=2)
    event = api.create_event(
        organizer,
        [{"name": "Early bird", "price": "1000", "capacity": 10, "sales_start": later.isoformat()}],
    )
    expect_problem(api.place_order(event, {"Early bird": 1}, expect=409), 409, "sales_closed")


# ---------------------------------------------------------------------- orders


def test_an_idempotency_key_replays_the_first_order(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    buyer = guest()
    key = {"Idempotency-Key": unique("order")}

    first = api.place_order(event, {"Regular": 2}, buyer=buyer, headers=key).json()
    again = api.place_order(event, {"Regular": 2}, buyer=buyer, headers=key)
    assert again.json() == first
    assert again.headers.get("idempotent-replayed") == "true"
    # Held once, not twice.
    api.wait_for_available(event["id"], {"Regular": 48, "Community": 50})

    other = api.place_order(event, {"Regular": 3}, buyer=buyer, headers=key, expect=409)
    expect_problem(other, 409, "idempotency_conflict")
    api.wait_for_available(event["id"], {"Regular": 48, "Community": 50})

    # Initialize is idempotent too: the same checkout for the same key and body.
    pay_key = {"Idempotency-Key": unique("pay"), "X-Order-Token": first["access_token"]}
    body = {"order_id": first["id"]}
    one = api.call("POST", "/api/v1/payments/initialize", json=body, headers=pay_key, expect=200)
    two = api.call("POST", "/api/v1/payments/initialize", json=body, headers=pay_key, expect=200)
    assert one.json() == two.json()


def test_someone_elses_order_is_not_found(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    placed = api.place_order(event, {"Community": 1}).json()
    [ticket] = api.tickets(placed)
    other_guest = api.place_order(event, {"Community": 1}).json()
    stranger = api.register("buyer")
    rival = api.register("organizer")

    attempts = {
        "no credentials": {},
        "another order's token": {"order_token": other_guest["access_token"]},
        "a made-up token": {"order_token": "not-a-token"},
        "another buyer": {"token": stranger.token},
        "another organizer": {"token": rival.token},
    }
    for who, credentials in attempts.items():
        for method, path in (
            ("GET", f"/api/v1/orders/{placed['id']}"),
            ("GET", f"/api/v1/orders/{placed['id']}/tickets"),
            ("POST", f"/api/v1/orders/{placed['id']}/cancel"),
            ("GET", f"/api/v1/tickets/{ticket['ticket_number']}/pdf"),
        ):
            response = api.call(method, path, **credentials)  # type: ignore[arg-type]
            assert response.status_code == 404, (who, method, path, response.text)
            expect_problem(response, 404, "not_found")
        response = api.call(
            "POST", "/api/v1/payments/initialize", json={"order_id": placed["id"]}, **credentials
        )  # type: ignore[arg-type]
        expect_problem(response, 404, "not_found")

    # The token in the query works like the header; the event's organizer sees it too.
    query = api.call("GET", f"/api/v1/orders/{placed['id']}?token={placed['access_token']}")
    assert query.status_code == 200
    assert (
        api.call("GET", f"/api/v1/orders/{placed['id']}", token=organizer.token).status_code == 200
    )
    assert api.order(placed)["status"] == "paid"


def test_a_pending_order_can_be_cancelled_and_its_stock_returns(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    placed = api.place_order(event, {"Regular": 4}).json()
    api.wait_for_available(event["id"], {"Regular": 46, "Community": 50})
    cancelled = api.call(
        "POST",
        f"/api/v1/orders/{placed['id']}/cancel",
        order_token=placed["access_token"],
        expect=200,
    ).json()
    assert cancelled["status"] == "cancelled"
    api.wait_for_available(event["id"], {"Regular": 50, "Community": 50})
    again = api.call(
        "POST", f"/api/v1/orders/{placed['id']}/cancel", order_token=placed["access_token"]
    )
    expect_problem(again, 409, "invalid_state")


# ---------------------------------------------------------------------- auth


def test_sessions_register_log_in_and_log_out_at_once(api: Api) -> None:
    phone = "+2348012345678"
    buyer = api.register("buyer", phone=phone)
    assert buyer.user["role"] == "buyer"
    assert buyer.user["phone"] == phone
    assert set(buyer.user) == {"id", "email", "name", "phone", "role"}
    me = api.call("GET", "/api/v1/auth/me", token=buyer.token, expect=200).json()
    assert me["user"] == buyer.user

    organizer = api.register("organizer")
    login = api.call(
        "POST",
        "/api/v1/auth/login",
        json={"email": organizer.email, "password": PASSWORD},
        expect=200,
    )
    assert login.json()["expires_in"] == 7200
    assert login.json()["user"] == organizer.user
    cookie = login.headers["set-cookie"]
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert ("Secure" in cookie) is (api.app.backend != "embedded")
    second = login.json()["token"]

    # The cookie alone authenticates (what a browser sends).
    session = re.match(r"session=([^;]+)", cookie)
    assert session is not None
    by_cookie = api.call("GET", "/api/v1/auth/me", headers={"cookie": f"session={session[1]}"})
    assert by_cookie.status_code == 200
    assert by_cookie.json()["user"]["id"] == organizer.user["id"]
    draft = api.create_event(organizer, paid_and_free(), publish=False)

    api.call("POST", "/api/v1/auth/logout", token=organizer.token, expect=204)
    expect_problem(
        api.call("GET", "/api/v1/auth/me", token=organizer.token), 401, "unauthenticated"
    )
    # A token that stopped working is an error, not a guest's view (a 404 for a draft).
    expect_problem(
        api.call("GET", f"/api/v1/events/{draft['id']}", token=organizer.token),
        401,
        "unauthenticated",
    )
    # Only that session ended.
    assert api.call("GET", "/api/v1/auth/me", token=second).status_code == 200

    expect_problem(api.call("GET", "/api/v1/auth/me"), 401, "unauthenticated")
    taken = api.call(
        "POST",
        "/api/v1/auth/register",
        json={"email": buyer.email, "password": PASSWORD, "name": "Again"},
    )
    expect_problem(taken, 409, "email_taken")
    short = api.call(
        "POST",
        "/api/v1/auth/register",
        json={"email": unique_email(), "password": "short", "name": "Shorty"},
    )
    assert "password" in [
        error["field"] for error in expect_problem(short, 422, "validation_error")["errors"]
    ]
    wrong = api.call(
        "POST", "/api/v1/auth/login", json={"email": buyer.email, "password": "wrong password"}
    )
    expect_problem(wrong, 401, "invalid_credentials")


def test_login_is_rate_limited_after_repeated_failures(api: Api) -> None:
    victim = api.register("buyer")
    guess = {"email": victim.email, "password": "not the password"}
    for _ in range(LOGIN_ATTEMPTS_PER_EMAIL):
        expect_problem(
            api.call("POST", "/api/v1/auth/login", json=guess), 401, "invalid_credentials"
        )
    limited = api.call("POST", "/api/v1/auth/login", json=guess)
    expect_problem(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
    # Even the right password waits now: the point is to stop the guessing.
    right = {"email": victim.email, "password": PASSWORD}
    expect_problem(api.call("POST", "/api/v1/auth/login", json=right), 429, "rate_limited")
    # Other accounts are not locked out by it.
    other = api.register("buyer")
    api.call(
        "POST",
        "/api/v1/auth/login",
        json={"email": other.email, "password": PASSWORD},
        expect=200,
    )


# ---------------------------------------------------------------------- events


def test_an_organizer_cannot_touch_another_organizers_event(api: Api) -> None:
    owner = api.register("organizer")
    rival = api.register("organizer")
    buyer = api.register("buyer")
    event = api.create_event(owner, paid_and_free())
    event_id = event["id"]

    attempts = [
        ("PATCH", f"/api/v1/events/{event_id}", {"json": {"title": "Mine now"}}),
        ("POST", f"/api/v1/events/{event_id}/publish", {}),
        (
            "POST",
            f"/api/v1/events/{event_id}/ticket-types",
            {"json": {"name": "VIP", "price": "1", "capacity": 5}},
        ),
        (
            "PUT",
            f"/api/v1/events/{event_id}/image",
            {"content": png(), "headers": {"content-type": "image/png"}},
        ),
        ("GET", f"/api/v1/events/{event_id}/sales", {}),
    ]
    for method, path, extra in attempts:
        expect_problem(api.call(method, path, token=rival.token, **extra), 403, "forbidden")  # type: ignore[arg-type]
        expect_problem(api.call(method, path, token=buyer.token, **extra), 403, "forbidden")  # type: ignore[arg-type]
        expect_problem(api.call(method, path, **extra), 401, "unauthenticated")  # type: ignore[arg-type]
    [ticket] = api.tickets(api.place_order(event, {"Community": 1}).json())
    scan = {"event_id": event_id, "qr_payload": ticket["qr_payload"]}
    expect_problem(
        api.call("POST", "/api/v1/checkin", token=rival.token, json=scan), 403, "forbidden"
    )
    expect_problem(
        api.call("POST", "/api/v1/checkin", token=buyer.token, json=scan), 403, "forbidden"
    )
    new_event = {
        "title": "Buyers cannot organize",
        "starts_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
    }
    expect_problem(
        api.call("POST", "/api/v1/events", token=buyer.token, json=new_event), 403, "forbidden"
    )
    assert api.event(event_id)["title"] == event["title"]
    assert len(api.event(event_id)["ticket_types"]) == 2
    assert api.event(event_id)["image_url"] is None

    # The owner can do all of it.
    patched = api.call(
        "PATCH", f"/api/v1/events/{event_id}", token=owner.token, json={"title": "Renamed"}
    )
    assert patched.status_code == 200
    assert patched.json()["title"] == "Renamed"
    added = api.call(
        "POST",
        f"/api/v1/events/{event_id}/ticket-types",
        token=owner.token,
        json={"name": "VIP", "price": "25000.50", "capacity": 5, "max_per_order": 2},
        expect=201,
    ).json()
    assert (added["name"], added["price"], added["currency"]) == ("VIP", "25000.50", "NGN")
    assert (added["capacity"], added["available"], added["max_per_order"]) == (5, 5, 2)
    wait_for(lambda: api.event(event_id)["title"] == "Renamed", "the renamed event")
    api.wait_for_available(event_id, {"Regular": 50, "Community": 49, "VIP": 5})


def test_event_images_are_checked_before_they_are_stored(api: Api) -> None:
    owner = api.register("organizer")
    event = api.create_event(owner, paid_and_free())
    path = f"/api/v1/events/{event['id']}/image"
    assert event["image_url"] is None

    image = png()
    stored = api.call(
        "PUT", path, token=owner.token, content=image, headers={"content-type": "image/png"}
    )
    assert stored.status_code == 200, stored.text
    image_url = stored.json()["image_url"]
    assert image_url
    fetched = api.http.get(image_url)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"].startswith("image/png")
    assert fetched.content == image

    gif = b"GIF89a" + bytes(64)
    expect_problem(
        api.call(
            "PUT", path, token=owner.token, content=gif, headers={"content-type": "image/png"}
        ),
        415,
        "unsupported_media_type",
    )
    expect_problem(
        api.call(
            "PUT", path, token=owner.token, content=gif, headers={"content-type": "image/gif"}
        ),
        415,
        "unsupported_media_type",
    )
    huge = image[:8] + bytes(FIVE_MIB)
    expect_problem(
        api.call(
            "PUT", path, token=owner.token, content=huge, headers={"content-type": "image/png"}
        ),
        413,
        "payload_too_large",
    )
    # The refused uploads left the first image in place.
    assert api.event(event["id"])["image_url"] is not None
    assert api.http.get(api.event(event["id"])["image_url"]).content == image


def test_the_event_list_filters_pages_and_hides_drafts(api: Api) -> None:
    organizer = api.register("organizer")
    category = unique("jazz")
    soon = datetime.now(UTC).replace(hour=18, minute=0, second=0, microsecond=0) + timedelta(
        days=20
    )
    later = soon + timedelta(days=5)
    tickets = [{"name": "Regular", "price": "3000", "capacity": 10}]
    lagos_later = api.create_event(
        organizer, tickets, category=category, city="Lagos", starts_at=later
    )
    abuja_soon = api.create_event(
        organizer, tickets, category=category, city="Abuja", starts_at=soon
    )
    draft = api.create_event(
        organizer, tickets, category=category, city="Lagos", starts_at=soon, publish=False
    )
    api.create_event(organizer, tickets, category=unique("other"), city="Lagos", starts_at=soon)

    def listed(**query: object) -> dict[str, object]:
        response = api.call("GET", "/api/v1/events", params={"category": category, **query})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    def ids(page: dict[str, object]) -> list[str]:
        return [item["id"] for item in page["items"]]  # type: ignore[attr-defined, index]

    everything = listed()
    assert ids(everything) == [abuja_soon["id"], lagos_later["id"]]  # soonest first
    assert (everything["page"], everything["limit"], everything["total"]) == (1, 20, 2)
    assert ids(listed(city="lagos")) == [lagos_later["id"]]  # case does not matter
    assert ids(listed(date=date.isoformat(soon.date()))) == [abuja_soon["id"]]
    assert ids(listed(date=date.isoformat(later.date()), city="Abuja")) == []
    second_page = listed(limit=1, page=2)
    assert ids(second_page) == [lagos_later["id"]]
    assert (second_page["page"], second_page["limit"], second_page["total"]) == (2, 1, 2)
    for bad in ({"limit": 101}, {"limit": 0}, {"page": 0}, {"date": "tomorrow"}):
        expect_problem(api.call("GET", "/api/v1/events", params=bad), 422, "validation_error")

    # A draft is the owner's alone, by id or slug; publishing it lists it soon after.
    expect_problem(api.call("GET", f"/api/v1/events/{draft['id']}"), 404, "not_found")
    own = api.call("GET", f"/api/v1/events/{draft['slug']}", token=organizer.token)
    assert own.status_code == 200
    assert own.json()["id"] == draft["id"]
    api.call("POST", f"/api/v1/events/{draft['id']}/publish", token=organizer.token, expect=200)
    wait_for(lambda: listed()["total"] == 3, "the published draft in the list")
    assert (
        api.call("GET", f"/api/v1/events/{lagos_later['slug']}").json()["id"] == lagos_later["id"]
    )


# ---------------------------------------------------------------------- operations


def test_health_readiness_metrics_and_the_openapi_document(api: Api) -> None:
    assert api.call("GET", "/health", expect=200).json() == {"status": "ok"}
    ready = api.call("GET", "/ready", expect=200).json()
    expected = {"database": "ok"}
    if api.app.backend == "postgres-redis":
        expected["cache"] = "ok"
    assert ready == {"status": "ok", "checks": expected}

    metrics = api.call("GET", "/metrics", expect=200)
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "getiickets_http_request_seconds" in metrics.text

    schema = api.call("GET", "/schema/openapi.json", expect=200).json()
    operations = {}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                template = re.sub(r"\{[^}]+\}", "{}", path.rstrip("/") or "/")
                operations[(method.upper(), template)] = operation.get("operationId")
    missing = API_ROUTES - operations.keys()
    assert not missing, f"contract routes missing from the OpenAPI document: {sorted(missing)}"
    unnamed = sorted(route for route in API_ROUTES if not operations[route])
    assert not unnamed, f"routes without an operationId: {unnamed}"
    names = [operations[route] for route in API_ROUTES]
    assert len(set(names)) == len(names), names


def test_control_characters_are_refused_wherever_they_come_in(api: Api) -> None:
    # PostgreSQL refuses NUL in text outright: without these checks it would be a 500.
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    regular = event["ticket_types"][0]["id"]
    buyer = guest() | {"name": "Ada\u0000Obi"}
    body = {"event_id": event["id"], "items": [{"ticket_type_id": regular, "quantity": 1}]}

    in_body = api.call("POST", "/api/v1/orders", json=body | {"buyer": buyer})
    [error] = expect_problem(in_body, 422, "validation_error")["errors"]
    assert error["field"] == "buyer.name"

    expect_problem(api.http.get("/api/v1/orders/abc%00def"), 404, "not_found")
    expect_problem(api.http.get("/api/v1/events/abc%00def"), 404, "not_found")
    in_query = api.http.get("/api/v1/events", params={"city": "Lagos\u0000"})
    [error] = expect_problem(in_query, 422, "validation_error")["errors"]
    assert error["field"] == "query.city"

    # Newlines and tabs stay welcome in prose.
    described = api.call(
        "PATCH",
        f"/api/v1/events/{event['id']}",
        json={"description": "Line one\n\tLine two"},
        token=organizer.token,
    )
    assert described.status_code == 200, described.text
