"""``getiickets demo``: a sample event and a ready checkout, made through the HTTP API of
the running app, and what to click next.

It talks to the app over HTTP, like any client, rather than opening the database
itself: the app's caches, in-process stock and sandbox then see every write (a second
process writing the database behind the app's back would leave them stale).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from getiickets.adapters.rendering.money import money_text
from getiickets.domain.model.local_time import readable_time
from getiickets.domain.model.money import Money

DEMO_EMAIL = "demo-organizer@getiickets.local"
DEMO_PASSWORD = "demo-organizer-password"  # noqa: S105 - a local demo account, printed below
DEMO_BUYER = {"email": "adaeze@example.com", "name": "Adaeze Ọbị", "phone": "+2348012345678"}
TIMEZONE = "Africa/Lagos"


class DemoError(Exception):
    """The app could not be reached, or refused a step; the message says what to do."""


def run_demo(base_url: str, *, now: datetime | None = None, timeout: float = 20.0) -> str:
    """Publish a sample event, place a guest order for two tickets and open its checkout;
    returns the instructions to print."""
    with httpx.Client(base_url=base_url, timeout=timeout) as http:
        try:
            http.get("/health").raise_for_status()
        except httpx.HTTPError as error:
            raise DemoError(
                f"the app does not answer at {base_url} ({error}).\n"
                "Start it first (make run), or set APP_BASE_URL to where it runs."
            ) from error
        token = _organizer_token(http)
        starts_at = _next_month_at_7pm_lagos(now or datetime.now(UTC))
        event = _call(
            http,
            "POST",
            "/api/v1/events",
            token=token,
            json={
                "title": "Lagos Afrobeats Night",
                "description": "A sample event made by `getiickets demo`.",
                "category": "music",
                "city": "Lagos",
                "venue": "Eko Convention Centre",
                "starts_at": starts_at.isoformat(),
                "timezone": TIMEZONE,
                "ticket_types": [
                    {"name": "Regular", "price": "5000.00", "capacity": 200},
                    {"name": "Community (free)", "price": "0", "capacity": 50},
                ],
            },
        )
        event = _call(http, "POST", f"/api/v1/events/{event['id']}/publish", token=token)
        paid, free = event["ticket_types"]
        order = _call(
            http,
            "POST",
            "/api/v1/orders",
            json={
                "event_id": event["id"],
                "items": [{"ticket_type_id": paid["id"], "quantity": 2}],
                "buyer": DEMO_BUYER,
            },
        )
        checkout = _call(
            http,
            "POST",
            "/api/v1/payments/initialize",
            json={"order_id": order["id"]},
            headers={"X-Order-Token": order["access_token"]},
        )
    total = money_text(Money.parse(order["total"], order["currency"]))
    when = readable_time(datetime.fromisoformat(event["starts_at"]), event["timezone"])
    api = f"{base_url}/api/v1"
    return f"""\
Published "{event["title"]}", {when} (slug {event["slug"]}).
Organizer login: {DEMO_EMAIL} / {DEMO_PASSWORD}

Order {order["order_number"]} for {DEMO_BUYER["name"]}: 2 x Regular, {total}, waiting for payment.

1. Open this link in your browser:

     {checkout["authorization_url"]}

   and click "Pay {total}" (the sandbox's test card is already chosen; no money moves).
   You land on the app's "Payment received" page.

2. Read the email and the SMS with the tickets (the PDFs are linked there):

     {base_url}/sandbox/outbox

3. Or ask the API for the tickets:

     curl -s {api}/orders/{order["id"]}/tickets -H 'X-Order-Token: {order["access_token"]}'

A free ticket is issued at once: order ticket type {free["id"]} instead.
API docs: {base_url}/schema
"""


def _organizer_token(http: httpx.Client) -> str:
    registered = http.post(
        "/api/v1/auth/register",
        json={
            "email": DEMO_EMAIL,
            "password": DEMO_PASSWORD,
            "name": "Demo Organizer",
            "role": "organizer",
        },
    )
    if registered.status_code == httpx.codes.CONFLICT:  # made by an earlier demo: log in
        signed = _call(
            http,
            "POST",
            "/api/v1/auth/login",
            json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
        )
    else:
        signed = _checked(registered)
    token: str = signed["token"]
    return token


def _next_month_at_7pm_lagos(now: datetime) -> datetime:
    """30 days from now, at 7 pm in Lagos (18:00 UTC: WAT has no daylight saving)."""
    return (
        (now + timedelta(days=30))
        .astimezone(UTC)
        .replace(hour=18, minute=0, second=0, microsecond=0)
    )


def _call(
    http: httpx.Client,
    method: str,
    path: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return _checked(http.request(method, path, headers=sent, **kwargs))


def _checked(response: httpx.Response) -> dict[str, Any]:
    if response.is_error:
        raise DemoError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text}"
        )
    body: dict[str, Any] = response.json()
    return body
