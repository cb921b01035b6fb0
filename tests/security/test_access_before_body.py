"""A protected route says 401 or 403 before it reads the body.

Otherwise anyone could probe the schema of organizer routes without an account, and
a caller's refusal would depend on what they sent rather than on who they are.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.story import Account, Api, expect_problem, paid_and_free

NOT_A_SCHEMA = {"title": 5, "ticket_types": "none", "qr_payload": [], "unknown": True}
BODIES: dict[str, dict[str, Any]] = {
    "invalid": {"json": NOT_A_SCHEMA},
    "malformed": {"content": b'{"title": ', "headers": {"content-type": "application/json"}},
    "not an image": {"content": b"hello", "headers": {"content-type": "text/plain"}},
}


@pytest.fixture(scope="module")
def world(app_server: Any) -> dict[str, Any]:
    with Api(app_server) as api:
        organizer = api.register("organizer")
        return {
            "organizer": organizer,
            "rival": api.register("organizer"),
            "buyer": api.register("buyer"),
            "event": api.create_event(organizer, paid_and_free()),
        }


def _routes(event_id: str) -> list[tuple[str, str]]:
    return [
        ("POST", "/api/v1/events"),
        ("PATCH", f"/api/v1/events/{event_id}"),
        ("POST", f"/api/v1/events/{event_id}/ticket-types"),
        ("PUT", f"/api/v1/events/{event_id}/image"),
        ("POST", "/api/v1/checkin"),
    ]


@pytest.mark.parametrize("body", BODIES)
def test_anonymous_callers_are_told_to_sign_in_whatever_they_send(
    api: Api, world: dict[str, Any], body: str
) -> None:
    for method, path in _routes(world["event"]["id"]):
        response = api.call(method, path, **BODIES[body])
        expect_problem(response, 401, "unauthenticated")


@pytest.mark.parametrize("body", BODIES)
def test_buyers_are_refused_organizer_routes_whatever_they_send(
    api: Api, world: dict[str, Any], body: str
) -> None:
    buyer: Account = world["buyer"]
    for method, path in _routes(world["event"]["id"]):
        response = api.call(method, path, token=buyer.token, **BODIES[body])
        expect_problem(response, 403, "forbidden")


@pytest.mark.parametrize("body", BODIES)
def test_another_organizer_is_refused_the_event_whatever_they_send(
    api: Api, world: dict[str, Any], body: str
) -> None:
    rival: Account = world["rival"]
    for method, path in _routes(world["event"]["id"])[1:4]:
        response = api.call(method, path, token=rival.token, **BODIES[body])
        expect_problem(response, 403, "forbidden")


def test_an_unknown_event_is_not_found_before_its_body_is_read(
    api: Api, world: dict[str, Any]
) -> None:
    organizer: Account = world["organizer"]
    for method, path in _routes("no-such-event")[1:4]:
        response = api.call(method, path, token=organizer.token, **BODIES["invalid"])
        expect_problem(response, 404, "not_found")
