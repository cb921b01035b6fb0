"""The waiting room over real HTTP, on both backends: settings, joining, polling, the order gate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import BACKENDS, live_app
from tests.e2e.story import Account, Api, LiveApp, expect_problem, guest, paid_and_free, wait_for

pytestmark = pytest.mark.e2e

QUEUE = {"enabled": True, "admit_per_minute": 60, "session_minutes": 5}


@pytest.fixture(scope="module", params=BACKENDS)
def queue_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    # Every test here joins from 127.0.0.1: the per-client limit is the unit tests' to check.
    extra = {"QUEUE_JOINS_PER_CLIENT_PER_MINUTE": "1000"}
    with live_app(
        request, request.param, tmp_path_factory.mktemp("data"), environ_extra=extra
    ) as app:
        yield app


@pytest.fixture
def api(queue_server: LiveApp) -> Iterator[Api]:
    with Api(queue_server) as client:
        yield client


def queued_event(api: Api, **settings: Any) -> tuple[Account, dict[str, Any]]:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free(capacity=3))
    body = QUEUE | settings
    answer = api.call(
        "PUT", f"/api/v1/events/{event['id']}/queue", token=organizer.token, json=body, expect=200
    ).json()
    assert answer == body | {
        "max_active": body.get("max_active"),
        "opens_at": body.get("opens_at"),
        "max_per_admission": body.get("max_per_admission", 1),
    }
    return organizer, event


def join(api: Api, event: dict[str, Any], email: str | None = None) -> dict[str, Any]:
    body = {"email": email or guest()["email"]}
    answer: dict[str, Any] = api.call(
        "POST", f"/api/v1/events/{event['id']}/queue", json=body, expect=201
    ).json()
    return answer


def admitted(api: Api, place: dict[str, Any]) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        now = api.call("GET", f"/api/v1/queue/{place['queue_token']}", expect=200).json()
        return now if now["status"] == "admitted" else None

    return wait_for(probe, "admission", within=20)


def test_only_the_owner_sets_and_reads_the_queue(api: Api) -> None:
    organizer, event = queued_event(api)
    stranger = api.register("organizer")
    path = f"/api/v1/events/{event['id']}/queue"
    expect_problem(api.call("PUT", path, token=stranger.token, json=QUEUE), 403, "forbidden")
    expect_problem(api.call("GET", path, token=stranger.token), 403, "forbidden")
    expect_problem(api.call("GET", path), 401, "unauthenticated")
    bad = api.call("PUT", path, token=organizer.token, json=QUEUE | {"admit_per_minute": 0})
    assert expect_problem(bad, 422, "validation_error")["errors"][0]["field"] == "admit_per_minute"
    overview = api.call("GET", path, token=organizer.token, expect=200).json()
    assert overview["waiting"] == 0
    assert overview["admitted_total"] == 0


def test_a_rush_is_let_in_one_by_one_and_orders_need_an_admission(api: Api) -> None:
    organizer, event = queued_event(api)

    refused = api.place_order(event, {"Regular": 1}, expect=403)
    body = expect_problem(refused, 403, "queue_required")
    assert body["queue_url"] == f"{api.app.base_url}/queue/{event['slug']}"

    first, second, third = (join(api, event) for _ in range(3))
    assert first["status"] == "admitted"
    assert first["position"] == 0
    assert {"admission_token", "admission_expires_at"} <= first.keys()
    assert (second["status"], second["position"]) == ("waiting", 1)
    assert (third["status"], third["position"]) == ("waiting", 2)
    assert third["estimated_wait_seconds"] >= 1
    assert "admission_token" not in second

    token = {"X-Admission-Token": first["admission_token"]}
    api.place_order(event, {"Regular": 1}, headers=token, expect=201)
    reused = api.place_order(event, {"Regular": 1}, headers=token, expect=403)
    expect_problem(reused, 403, "invalid_admission")

    later = admitted(api, second)
    forged = later["admission_token"][:-2] + (
        "AA" if not later["admission_token"].endswith("AA") else "BB"
    )
    expect_problem(
        api.place_order(event, {"Regular": 1}, headers={"X-Admission-Token": forged}, expect=403),
        403,
        "invalid_admission",
    )
    _, other = queued_event(api)
    expect_problem(
        api.place_order(
            other,
            {"Regular": 1},
            headers={"X-Admission-Token": later["admission_token"]},
            expect=403,
        ),
        403,
        "invalid_admission",
    )

    overview = api.call(
        "GET", f"/api/v1/events/{event['id']}/queue", token=organizer.token, expect=200
    ).json()
    assert overview["admitted_total"] >= 2
    sales = api.call(
        "GET", f"/api/v1/events/{event['id']}/sales", token=organizer.token, expect=200
    ).json()
    assert sales["queue"]["enabled"] is True
    assert sales["queue"]["admitted_total"] >= 2
    assert api.metric("getiickets_queue_admitted_total", event_id=event["id"]) >= 2


def test_sold_out_does_not_spend_the_admission(api: Api) -> None:
    _, event = queued_event(api)
    place = join(api, event)
    token = {"X-Admission-Token": place["admission_token"]}
    sold_out = api.place_order(event, {"Regular": 4}, headers=token, expect=409)
    expect_problem(sold_out, 409, "sold_out")
    api.place_order(event, {"Regular": 1}, headers=token, expect=201)


def test_one_email_holds_one_place_and_joins_are_rate_limited(api: Api) -> None:
    _, event = queued_event(api)
    join(api, event)  # someone is in: the next ones wait
    email = guest()["email"]
    places = [join(api, event, email) for _ in range(5)]
    assert len({place["position"] for place in places}) == 1
    too_many = api.call("POST", f"/api/v1/events/{event['id']}/queue", json={"email": email})
    expect_problem(too_many, 429, "rate_limited")
    assert too_many.headers["Retry-After"]


def test_with_the_queue_off_orders_go_through_as_before(api: Api) -> None:
    organizer, event = queued_event(api)
    api.call(
        "PUT",
        f"/api/v1/events/{event['id']}/queue",
        token=organizer.token,
        json=QUEUE | {"enabled": False},
        expect=200,
    )
    api.place_order(event, {"Regular": 1}, expect=201)
    missing = api.call("POST", f"/api/v1/events/{event['id']}/queue", json={"email": "a@b.ng"})
    expect_problem(missing, 404, "not_found")


def test_a_draft_event_s_queue_cannot_be_joined_nor_an_unknown_event_s(api: Api) -> None:
    # The join reads the event without its availability (one cache read in a rush):
    # it must still see only what the public event page would.
    organizer = api.register("organizer")
    draft = api.create_event(organizer, paid_and_free(capacity=3), publish=False)
    path = f"/api/v1/events/{draft['id']}/queue"
    api.call("PUT", path, token=organizer.token, json=QUEUE, expect=200)
    expect_problem(api.call("POST", path, json={"email": "a@b.ng"}), 404, "not_found")
    unknown = api.call("POST", "/api/v1/events/no-such-event/queue", json={"email": "a@b.ng"})
    expect_problem(unknown, 404, "not_found")


def test_an_unknown_queue_token_is_not_found(api: Api) -> None:
    expect_problem(api.call("GET", "/api/v1/queue/not-a-token"), 404, "not_found")
    expect_problem(api.call("GET", "/api/v1/queue/eyJ4Ijox.AAAA"), 404, "not_found")


def test_the_waiting_page_is_plain_html(api: Api) -> None:
    _, event = queued_event(api)
    page = api.call("GET", f"/queue/{event['slug']}", expect=200)
    assert page.headers["content-type"].startswith("text/html")
    assert event["title"] in page.text
    assert api.call("GET", "/queue/no-such-event").status_code == 404


# ---------------------------------------------------------------- the join's fast path

# A plain JSON join is answered by the fast path (entrypoints/http/fast_join.py); the
# same join labelled with a charset goes through the Litestar route, which the fast
# path must match answer for answer.
FAST = {"Content-Type": "application/json"}
ROUTE = {"Content-Type": "application/json; charset=utf-8"}
_PER_REQUEST = {"x-request-id", "date", "server"}


def _joined(api: Api, path: str, body: bytes, headers: dict[str, str]) -> Any:
    return api.call("POST", path, content=body, headers=headers)


def _same_answer(fast: Any, route: Any) -> None:
    assert fast.status_code == route.status_code, (fast.text, route.text)
    assert fast.content == route.content
    assert _lasting_headers(fast) == _lasting_headers(route)
    assert fast.headers["x-request-id"]


def _lasting_headers(response: Any) -> list[tuple[bytes, bytes]]:
    """The headers in the order sent, but those that differ for every request."""
    raw: list[tuple[bytes, bytes]] = response.headers.raw
    return [(name, value) for name, value in raw if name.decode().lower() not in _PER_REQUEST]


def test_the_join_s_fast_path_answers_exactly_as_the_route(api: Api) -> None:
    organizer, event = queued_event(api)
    path = f"/api/v1/events/{event['id']}/queue"
    first = guest()["email"].encode()
    # The first buyer is admitted at once; joining again answers the same admission.
    fast = _joined(api, path, b'{"email":"%s"}' % first, FAST)
    route = _joined(api, path, b'{"email":"%s"}' % first, ROUTE)
    assert fast.status_code == 201
    assert fast.json()["status"] == "admitted"
    _same_answer(fast, route)
    # A waiting buyer: the same place both ways (the estimate moves with the clock).
    second = guest()["email"].encode()
    fast = _joined(api, path, b'{"email":"%s"}' % second, FAST)
    route = _joined(api, path, b'{"email":"%s"}' % second, ROUTE)
    assert fast.status_code == route.status_code == 201
    waiting_fast, waiting_route = fast.json(), route.json()
    assert (
        abs(
            waiting_fast.pop("estimated_wait_seconds") - waiting_route.pop("estimated_wait_seconds")
        )
        <= 1
    )
    assert waiting_fast == waiting_route
    assert waiting_fast["status"] == "waiting"
    # Refusals, byte for byte: a bad email, an unknown event, a draft, the rate limit.
    _same_answer(
        _joined(api, path, b'{"email":"not an email"}', FAST),
        _joined(api, path, b'{"email":"not an email"}', ROUTE),
    )
    unknown = "/api/v1/events/no-such-event/queue"
    _same_answer(
        _joined(api, unknown, b'{"email":"a@b.ng"}', FAST),
        _joined(api, unknown, b'{"email":"a@b.ng"}', ROUTE),
    )
    draft = api.create_event(organizer, paid_and_free(capacity=3), publish=False)
    draft_path = f"/api/v1/events/{draft['id']}/queue"
    api.call("PUT", draft_path, token=organizer.token, json=QUEUE, expect=200)
    _same_answer(
        _joined(api, draft_path, b'{"email":"a@b.ng"}', FAST),
        _joined(api, draft_path, b'{"email":"a@b.ng"}', ROUTE),
    )
    limited = b'{"email":"%s"}' % guest()["email"].encode()
    for _ in range(5):
        _joined(api, path, limited, FAST)
    fast, route = _joined(api, path, limited, FAST), _joined(api, path, limited, ROUTE)
    expect_problem(fast, 429, "rate_limited")
    _same_answer(fast, route)


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"email":1}', b'{"email":"a@b.ng","extra":1}', b"[]", b"", b'{"email":"\xff"}'],
    ids=["truncated", "not-a-string", "unknown-field", "not-an-object", "empty", "not-utf8"],
)
def test_a_join_the_fast_path_cannot_take_is_the_route_s_to_refuse(api: Api, body: bytes) -> None:
    _, event = queued_event(api)
    path = f"/api/v1/events/{event['id']}/queue"
    fast, route = _joined(api, path, body, FAST), _joined(api, path, body, ROUTE)
    assert fast.status_code in {400, 422}
    _same_answer(fast, route)


def test_an_oversized_join_is_refused_as_by_the_route(api: Api) -> None:
    _, event = queued_event(api)
    path = f"/api/v1/events/{event['id']}/queue"
    body = b'{"email":"' + b"a" * (1024 * 1024) + b'@b.ng"}'
    fast, route = _joined(api, path, body, FAST), _joined(api, path, body, ROUTE)
    expect_problem(fast, 413, "payload_too_large")
    _same_answer(fast, route)
