"""An ``Idempotency-Key`` replays a response only to the caller who earned it.

Keys are scoped to the caller (the user; for a guest, the order token or the client),
and access to an order is checked before anything is replayed: a key is not a
credential, and clients pick careless keys ("1", "checkout") more often than not.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.story import Api, expect_problem, guest, paid_and_free, unique

INITIALIZE = "/api/v1/payments/initialize"


def test_a_payment_key_replays_nothing_to_callers_who_may_not_see_the_order(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    owner = api.register("buyer")
    order = api.place_order(event, {"Regular": 1}, token=owner.token).json()
    key = {"Idempotency-Key": unique("pay")}
    body = {"order_id": order["id"]}
    first = api.call("POST", INITIALIZE, json=body, token=owner.token, headers=key, expect=200)
    checkout = first.json()

    stranger = api.register("buyer")
    rival = api.register("organizer")
    someone_elses = api.place_order(event, {"Regular": 1}).json()
    callers: dict[str, dict[str, Any]] = {
        "anonymous": {},
        "another buyer": {"token": stranger.token},
        "another organizer": {"token": rival.token},
        "another order's token": {"order_token": someone_elses["access_token"]},
    }
    for who, credentials in callers.items():
        response = api.call("POST", INITIALIZE, json=body, headers=key, **credentials)
        expect_problem(response, 404, "not_found")
        assert checkout["reference"] not in response.text, who
        assert checkout["authorization_url"] not in response.text, who

    # The owner's own retry still gets the first answer.
    again = api.call("POST", INITIALIZE, json=body, token=owner.token, headers=key, expect=200)
    assert again.json() == checkout
    assert again.headers.get("idempotent-replayed") == "true"


def test_the_order_token_holder_and_the_buyer_do_not_share_a_key(api: Api) -> None:
    """Both may pay the order; each gets their own replay scope (the same checkout anyway)."""
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    owner = api.register("buyer")
    order = api.place_order(event, {"Regular": 1}, token=owner.token).json()
    key = {"Idempotency-Key": unique("pay")}
    body = {"order_id": order["id"]}
    by_owner = api.call("POST", INITIALIZE, json=body, token=owner.token, headers=key, expect=200)
    by_token = api.call(
        "POST", INITIALIZE, json=body, order_token=order["access_token"], headers=key, expect=200
    )
    assert "idempotent-replayed" not in by_token.headers
    # Not a replay, yet the same checkout: one reference per order.
    assert by_token.json() == by_owner.json()


def test_guests_who_happen_to_share_a_key_each_get_their_own_order(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    careless = {"Idempotency-Key": "checkout"}

    first = api.place_order(event, {"Regular": 1}, buyer=guest(), headers=careless).json()
    second = api.place_order(event, {"Regular": 1}, buyer=guest(), headers=careless).json()

    assert second["id"] != first["id"]
    assert second["access_token"] != first["access_token"]
    api.wait_for_available(event["id"], {"Regular": 48, "Community": 50})


def test_a_guest_on_another_client_with_the_same_body_and_key_gets_no_replay(api: Api) -> None:
    """Everything a stranger could copy (the body, the key) is not enough to be us."""
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    buyer = guest()
    key = {"Idempotency-Key": unique("order")}
    first = api.place_order(event, {"Regular": 1}, buyer=buyer, headers=key).json()

    elsewhere = api.place_order(
        event, {"Regular": 1}, buyer=buyer, headers=key | {"User-Agent": "another-browser/1.0"}
    )
    assert "idempotent-replayed" not in elsewhere.headers
    assert first["id"] not in elsewhere.text
    assert first["access_token"] not in elsewhere.text

    # The same client retrying (a lost response) still gets its order and its token back.
    again = api.place_order(event, {"Regular": 1}, buyer=buyer, headers=key)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first


def test_a_signed_in_buyer_never_replays_a_guest_order(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free())
    buyer = guest()
    key = {"Idempotency-Key": unique("order")}
    as_guest = api.place_order(event, {"Regular": 1}, buyer=buyer, headers=key).json()

    member = api.register("buyer")
    signed_in = api.place_order(event, {"Regular": 1}, buyer=buyer, token=member.token, headers=key)
    assert "idempotent-replayed" not in signed_in.headers
    assert as_guest["access_token"] not in signed_in.text
