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
