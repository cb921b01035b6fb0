"""The steps of a purchase as a client takes them, over HTTP, for the end-to-end tests.

``Api`` speaks docs/http-api.md through httpx and knows the sandbox's checkout page the way a
browser does (GET the page, POST its form, follow the 303). Waiting is always for a
condition, with a deadline: the worker polls about once a second, and the sandbox
sends its webhooks in the background.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Self, TypeVar

import httpx
import msgspec

from getiickets.entrypoints.settings import Settings
from getiickets.sandbox.state import Delivery, SandboxState

SANDBOX_SECRET = "sk_test_getiickets_sandbox"
PASSWORD = "correct horse battery"
PROBLEM_JSON = "application/problem+json"
T = TypeVar("T")


@dataclass(frozen=True)
class LiveApp:
    backend: str
    base_url: str
    settings: Settings
    sandbox: SandboxState


@dataclass(frozen=True)
class Account:
    token: str
    user: dict[str, Any]
    email: str
    password: str


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


def unique_email(label: str = "buyer") -> str:
    return f"{unique(label)}@example.com"


def unique_phone() -> str:
    return f"+234803{uuid.uuid4().int % 10_000_000:07d}"


def wait_for(
    probe: Callable[[], T | None],
    what: str,
    within: float = 15.0,
    interval: float = 0.1,
) -> T:
    """Call ``probe`` until it returns something truthy (a non-empty list, True...)."""
    deadline = time.monotonic() + within
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {within} s for {what}")
        time.sleep(interval)


def expect_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert an RFC 9457 problem with this status and code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status, body
    assert {"type", "title", "detail"} <= body.keys(), body
    return body


def sign(body: bytes, key: str = SANDBOX_SECRET) -> str:
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


class Api:
    """An HTTP client of one running app, with the story's steps as methods."""

    def __init__(self, app: LiveApp) -> None:
        self.app = app
        # No cookie jar: every request says who it is (a bearer token, an order token,
        # or nothing), instead of carrying the session cookie of the last sign-up.
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self.http = httpx.Client(base_url=app.base_url, timeout=20.0, cookies=no_cookies)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    # ------------------------------------------------------------------ plumbing

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        order_token: str | None = None,
        expect: int | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if order_token is not None:
            sent["X-Order-Token"] = order_token
        response = self.http.request(method, path, headers=sent, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (
                f"{method} {path}: {response.status_code} {response.text}"
            )
        return response

    # ------------------------------------------------------------------ accounts

    def register(self, role: str = "buyer", *, phone: str | None = None) -> Account:
        email = unique_email(role)
        body: dict[str, Any] = {"email": email, "password": PASSWORD, "name": f"{role} {email}"}
        if role != "buyer":
            body["role"] = role
        if phone is not None:
            body["phone"] = phone
        response = self.call("POST", "/api/v1/auth/register", json=body, expect=201)
        data = response.json()
        return Account(token=data["token"], user=data["user"], email=email, password=PASSWORD)

    # ------------------------------------------------------------------ events

    def create_event(
        self,
        organizer: Account,
        ticket_types: list[dict[str, Any]],
        *,
        publish: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        starts_at = fields.pop("starts_at", datetime.now(UTC) + timedelta(days=30))
        body = {
            "title": unique("Afrobeats Night"),
            "description": "Live music until late.",
            "category": "music",
            "city": "Lagos",
            "venue": "Eko Hotel",
            "starts_at": starts_at.isoformat(),
            "ticket_types": ticket_types,
            **fields,
        }
        event = self.call(
            "POST", "/api/v1/events", token=organizer.token, json=body, expect=201
        ).json()
        assert event["status"] == "draft"
        if publish:
            event = self.call(
                "POST", f"/api/v1/events/{event['id']}/publish", token=organizer.token, expect=200
            ).json()
            assert event["status"] == "published"
        return event

    def event(self, event_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", f"/api/v1/events/{event_id}", expect=200).json()
        return result

    def available(self, event_id: str) -> dict[str, int]:
        return {item["name"]: item["available"] for item in self.event(event_id)["ticket_types"]}

    def wait_for_available(self, event_id: str, expected: dict[str, int]) -> None:
        # The detail may be cached for a few seconds (docs/http-api.md), hence a wait, not a read.
        wait_for(
            lambda: self.available(event_id) == expected,
            f"availability {expected} on event {event_id}",
        )

    # ------------------------------------------------------------------ orders

    def place_order(
        self,
        event: dict[str, Any],
        quantities: dict[str, int],
        *,
        buyer: dict[str, Any] | None = None,
        token: str | None = None,
        expect: int = 201,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        by_name = {item["name"]: item["id"] for item in event["ticket_types"]}
        body = {
            "event_id": event["id"],
            "items": [
                {"ticket_type_id": by_name[name], "quantity": quantity}
                for name, quantity in quantities.items()
            ],
            "buyer": buyer or guest(),
        }
        return self.call(
            "POST", "/api/v1/orders", json=body, token=token, expect=expect, headers=headers
        )

    def order(self, order: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.call(
            "GET", f"/api/v1/orders/{order['id']}", order_token=order["access_token"], expect=200
        ).json()
        return result

    def wait_for_status(
        self, order: dict[str, Any], status: str, within: float = 15.0
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            current = self.order(order)
            return current if current["status"] == status else None

        return wait_for(probe, f"order {order['id']} to be {status}", within=within)

    def tickets(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.call(
            "GET",
            f"/api/v1/orders/{order['id']}/tickets",
            order_token=order["access_token"],
            expect=200,
        ).json()["items"]
        return items

    # ------------------------------------------------------------------ payments

    def initialize(self, order: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.call(
            "POST",
            "/api/v1/payments/initialize",
            json={"order_id": order["id"]},
            order_token=order["access_token"],
            expect=200,
        ).json()
        return result

    def expect_not_payable(self, order: dict[str, Any]) -> None:
        """Initialize refuses the order: 409 invalid_state (paid, failed, expired...)."""
        response = self.call(
            "POST",
            "/api/v1/payments/initialize",
            json={"order_id": order["id"]},
            order_token=order["access_token"],
        )
        expect_problem(response, 409, "invalid_state")

    def verify(self, reference: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call(
            "POST", "/api/v1/payments/verify", json={"reference": reference}, expect=200
        ).json()
        return result

    def checkout(self, authorization_url: str, action: str = "pay") -> httpx.Response:
        """Open the sandbox checkout and press Pay or Decline, as a browser would: the
        form posts back to the page's own URL; answers the 303 (not followed)."""
        page = self.http.get(authorization_url)
        assert page.status_code == 200, page.text
        assert "<form method='post'>" in page.text, page.text
        assert f"value='{action}'" in page.text, page.text
        selected = re.search(r"<option value='(\d+)' selected>", page.text)
        assert selected is not None, page.text
        response = self.http.post(authorization_url, data={"card": selected[1], "action": action})
        assert response.status_code == 303, response.text
        return response

    def follow(self, redirect: httpx.Response) -> httpx.Response:
        return self.http.get(redirect.headers["location"])

    def deliveries(self, reference: str, event: str = "charge.success") -> list[Delivery]:
        """The sandbox's webhooks about one payment reference, oldest first."""
        with self.app.sandbox.lock:
            sent = list(self.app.sandbox.paystack.deliveries)
        return [
            delivery
            for delivery in sent
            if delivery.event == event
            and msgspec.json.decode(delivery.body)["data"].get("reference") == reference
        ]

    def webhook(self, body: bytes, signature: str) -> httpx.Response:
        return self.call(
            "POST",
            "/api/v1/webhooks/paystack",
            content=body,
            headers={"content-type": "application/json", "x-paystack-signature": signature},
        )

    def paystack_api(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The simulator's own API, as the app's gateway calls it."""
        response = self.call(
            method,
            f"/sandbox/paystack{path}",
            headers={"Authorization": f"Bearer {SANDBOX_SECRET}"},
            expect=200,
            **kwargs,
        )
        result: dict[str, Any] = response.json()
        return result

    # ------------------------------------------------------------------ messages

    def outbox(self) -> list[dict[str, Any]]:
        # None on the embedded default, where the outbox is open.
        token = self.app.settings.sandbox_outbox_token
        items: list[dict[str, Any]] = self.call(
            "GET", "/sandbox/outbox", token=token, expect=200
        ).json()
        return items

    def sent_to(self, address: str) -> list[dict[str, Any]]:
        return [entry for entry in self.outbox() if address in entry["to"]]

    def metric(self, name: str, **labels: str) -> float:
        """One sample of /metrics (0 when the series has not appeared yet)."""
        text = self.call("GET", "/metrics", expect=200).text
        wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            series, _, value = line.rpartition(" ")
            if _series_matches(series, name, wanted):
                return float(value)
        return 0.0


def _series_matches(series: str, name: str, wanted: str) -> bool:
    if "{" not in series:
        return series == name and not wanted
    metric, _, rest = series.partition("{")
    labels = ",".join(sorted(rest.rstrip("}").split(",")))
    return metric == name and labels == wanted


def guest(*, phone: str | None = None) -> dict[str, Any]:
    return {
        "email": unique_email("guest"),
        "name": "Ada Guest",
        "phone": phone or unique_phone(),
    }


def paid_and_free(capacity: int = 50) -> list[dict[str, Any]]:
    return [
        {"name": "Regular", "price": "5000.00", "capacity": capacity, "max_per_order": 4},
        {"name": "Community", "price": "0", "capacity": capacity},
    ]
