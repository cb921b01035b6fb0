"""The public event list and detail are kept for a fraction of a second per API process
(entrypoints/http/fresh.py). What buyers and organizers may rely on all the same:
availability is at most 1 s old, and an organizer sees their own edit at once."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.e2e.story import Api, wait_for

FRESH_WITHIN = 1.0
"""Seconds within which a sale shows in the availability (the ticket-rush issue)."""


def _regular(event: dict[str, Any]) -> int:
    [regular] = [item for item in event["ticket_types"] if item["name"] == "Regular"]
    return int(regular["available"])


def test_availability_after_an_order_shows_within_a_second_on_list_and_detail(
    api: Api,
) -> None:
    organizer = api.register("organizer")
    city = f"Fresh {uuid.uuid4().hex[:8]}"
    event = api.create_event(
        organizer, [{"name": "Regular", "price": "5000.00", "capacity": 50}], city=city
    )
    list_path, detail_path = f"/api/v1/events?city={city}", f"/api/v1/events/{event['id']}"

    def listed() -> int:
        [item] = api.call("GET", list_path, expect=200).json()["items"]
        return _regular(item)

    def detailed() -> int:
        return _regular(api.call("GET", detail_path, expect=200).json())

    for _ in range(3):  # both are now kept by the server
        assert (listed(), detailed()) == (50, 50)

    api.place_order(event, {"Regular": 2})
    sold_at = time.monotonic()
    for read in (listed, detailed):
        wait_for(lambda read=read: read() == 48, "the sale in the availability", within=5)
        assert time.monotonic() - sold_at <= FRESH_WITHIN


def test_an_organizer_sees_their_own_edit_at_once(api: Api) -> None:
    organizer = api.register("organizer")
    city = f"Edited {uuid.uuid4().hex[:8]}"
    event = api.create_event(
        organizer, [{"name": "Regular", "price": "5000.00", "capacity": 5}], city=city
    )
    list_path, detail_path = f"/api/v1/events?city={city}", f"/api/v1/events/{event['id']}"
    assert api.call("GET", detail_path, expect=200).json()["title"] == event["title"]
    assert [item["title"] for item in api.call("GET", list_path).json()["items"]] == [
        event["title"]
    ]

    api.call(
        "PATCH",
        f"/api/v1/events/{event['id']}",
        token=organizer.token,
        json={"title": "Renamed at once"},
        expect=200,
    )
    added = api.call(
        "POST",
        f"/api/v1/events/{event['id']}/ticket-types",
        token=organizer.token,
        json={"name": "VIP", "price": "20000.00", "capacity": 3},
        expect=201,
    ).json()

    shown = api.call("GET", detail_path, expect=200).json()
    assert shown["title"] == "Renamed at once"
    assert [item["name"] for item in shown["ticket_types"]] == ["Regular", "VIP"]
    assert shown["ticket_types"][1]["id"] == added["id"]
    listed = api.call("GET", list_path, expect=200).json()["items"]
    assert [item["title"] for item in listed] == ["Renamed at once"]


def test_a_published_draft_shows_at_once_and_only_its_owner_saw_it_before(api: Api) -> None:
    organizer = api.register("organizer")
    city = f"Draft {uuid.uuid4().hex[:8]}"
    draft = api.create_event(
        organizer,
        [{"name": "Regular", "price": "5000.00", "capacity": 5}],
        city=city,
        publish=False,
    )
    detail_path = f"/api/v1/events/{draft['id']}"
    for _ in range(2):  # the owner's view of a draft is never kept for anyone else
        assert api.call("GET", detail_path, token=organizer.token).json()["status"] == "draft"
        assert api.call("GET", detail_path).status_code == 404
    assert api.call("GET", f"/api/v1/events?city={city}").json()["items"] == []

    api.call("POST", f"/api/v1/events/{draft['id']}/publish", token=organizer.token, expect=200)

    assert api.call("GET", detail_path, expect=200).json()["status"] == "published"
    assert [
        item["id"] for item in api.call("GET", f"/api/v1/events?city={city}").json()["items"]
    ] == [draft["id"]]
