"""The kept event list and detail, answered around Litestar's handler (http/kept_reads.py).

What a client receives from the shortcut must be exactly what the handler sends for the
same kept bytes (status, headers, body); what the handler answers differently (a
signed-in or wrongly signed-in caller, a query to validate, a draft, an unknown id,
another method) must still reach it; a write through this process shows at once.

To tell the two apart, the server's app is built with Litestar's route entry point
(``HTTPRoute.handle``, what every routed request goes through to reach a handler)
counting the requests it is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar.routes import HTTPRoute

from tests.e2e.conftest import BACKENDS, live_app
from tests.e2e.story import Account, Api, LiveApp, expect_problem

PER_REQUEST_HEADERS = {"x-request-id", "date"}
"""Headers each response has its own value of; everything else must be equal."""


class HandledRequests:
    """The paths of the requests Litestar took to a route handler, in order."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def take(self) -> list[str]:
        taken, self.paths = self.paths, []
        return taken


@pytest.fixture(scope="module")
def handled() -> HandledRequests:
    return HandledRequests()


@pytest.fixture(scope="module", params=BACKENDS)
def app_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    handled: HandledRequests,
) -> Iterator[LiveApp]:
    original = HTTPRoute.handle

    async def counted(self: HTTPRoute, scope: Any, receive: Any, send: Any) -> None:
        handled.paths.append(scope["raw_path"].decode())
        await original(self, scope, receive, send)

    with pytest.MonkeyPatch.context() as patch:
        # Litestar binds each route's entry point when the app is built, so before that.
        patch.setattr(HTTPRoute, "handle", counted)
        with live_app(request, request.param, tmp_path_factory.mktemp("data")) as app:
            yield app


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in PER_REQUEST_HEADERS]
    return response.status_code, headers, response.content


def _published(api: Api) -> tuple[Account, dict[str, Any]]:
    organizer = api.register("organizer")
    event = api.create_event(organizer, [{"name": "Regular", "price": "5000.00", "capacity": 9}])
    return organizer, event


def test_a_kept_event_is_answered_without_the_handler_exactly_as_the_handler_answers(
    api: Api, handled: HandledRequests
) -> None:
    organizer, event = _published(api)
    path = f"/api/v1/events/{event['id']}"
    handled.take()

    built = api.call("GET", path, expect=200)  # nothing kept since the publish: built
    assert handled.take() == [path]
    kept = api.call("GET", path, expect=200)
    assert handled.take() == []
    # A signed-in caller goes through the handler, which serves them the same kept bytes.
    signed_in = api.call("GET", path, token=organizer.token, expect=200)
    assert handled.take() == [path]

    assert _answer(kept) == _answer(built) == _answer(signed_in)
    assert kept.headers["content-type"] == "application/json"
    assert kept.json()["id"] == event["id"]
    assert kept.headers["x-request-id"] != built.headers["x-request-id"]
    given = api.call("GET", path, headers={"X-Request-Id": "client-42"}, expect=200)
    assert given.headers["x-request-id"] == "client-42"
    assert handled.take() == []


def test_the_kept_list_without_a_query_is_the_handlers_page_for_any_caller(
    api: Api, handled: HandledRequests
) -> None:
    organizer, _ = _published(api)
    handled.take()

    built = api.call("GET", "/api/v1/events", expect=200)
    assert handled.take() == ["/api/v1/events"]
    kept = api.call("GET", "/api/v1/events", expect=200)
    # The list reads nobody's identity: a token, even a wrong one, changes nothing.
    as_organizer = api.call("GET", "/api/v1/events", token=organizer.token, expect=200)
    as_nobody = api.call("GET", "/api/v1/events", token="not-a-session", expect=200)
    assert handled.take() == []
    # A query goes to the handler to be validated; page 1 of 20 is the same kept page.
    queried = api.call("GET", "/api/v1/events?page=1&limit=20", expect=200)
    assert handled.take() == ["/api/v1/events"]

    assert (
        _answer(kept)
        == _answer(built)
        == _answer(as_organizer)
        == _answer(as_nobody)
        == _answer(queried)
    )
    assert kept.json()["page"] == 1


def test_what_the_handler_answers_differently_still_reaches_it(
    api: Api, handled: HandledRequests
) -> None:
    organizer, event = _published(api)
    path = f"/api/v1/events/{event['id']}"
    api.call("GET", path, expect=200)
    api.call("GET", path, expect=200)  # kept now
    handled.take()

    expect_problem(api.call("GET", path, token="expired-or-forged"), 401, "unauthenticated")
    session = api.http.get(path, headers={"Cookie": f"theme=dark; session={organizer.token}"})
    assert session.status_code == 200
    assert session.json()["id"] == event["id"]
    expect_problem(api.call("GET", "/api/v1/events?page=0"), 422, "validation_error")
    expect_problem(api.call("PATCH", path, json={"title": "x"}), 401, "unauthenticated")
    assert handled.take() == [path, path, "/api/v1/events", path]

    draft = api.create_event(
        organizer, [{"name": "Regular", "price": "5000.00", "capacity": 9}], publish=False
    )
    draft_path = f"/api/v1/events/{draft['id']}"
    for _ in range(2):  # never kept: each goes to the handler
        expect_problem(api.call("GET", draft_path), 404, "not_found")
        assert (
            api.call("GET", draft_path, token=organizer.token, expect=200).json()["id"]
            == (draft["id"])
        )
    expect_problem(api.call("GET", "/api/v1/events/no-such-event"), 404, "not_found")
    # Control characters are refused before anything is routed or read.
    expect_problem(api.call("GET", "/api/v1/events/%00bad"), 404, "not_found")
    expect_problem(api.call("GET", "/api/v1/events?city=La%01gos"), 422, "validation_error")


def test_a_write_through_this_process_shows_at_once_and_is_kept_again(
    api: Api, handled: HandledRequests
) -> None:
    organizer, event = _published(api)
    path = f"/api/v1/events/{event['id']}"
    api.call("GET", path, expect=200)
    assert api.call("GET", path, expect=200).json()["title"] == event["title"]
    handled.take()

    api.call("PATCH", path, token=organizer.token, json={"title": "Renamed now"}, expect=200)
    assert api.call("GET", path, expect=200).json()["title"] == "Renamed now"
    assert api.call("GET", path, expect=200).json()["title"] == "Renamed now"
    assert handled.take() == [path, path]  # the write, then the read that built it again


def test_kept_answers_are_counted_under_the_routes_template(
    api: Api, handled: HandledRequests
) -> None:
    _, event = _published(api)
    path = f"/api/v1/events/{event['id']}"
    api.call("GET", path, expect=200)

    def served() -> float:
        text = api.call("GET", "/metrics", expect=200).text
        line = (
            'getiickets_http_request_seconds_count{method="GET",'
            'route="/api/v1/events/{event_id}",status="200"}'
        )
        [count] = [row.split()[-1] for row in text.splitlines() if row.startswith(line)]
        return float(count)

    before = served()
    handled.take()
    for _ in range(3):
        api.call("GET", path, expect=200)
    assert handled.take() == []
    assert served() == before + 3
