"""Who may call what: every route of the app against every kind of caller, in one table.

The callers are the seven docs/http-api.md distinguishes: nobody; buyer A, whose order the
order routes are about; buyer B; the organizer who owns the event; another
organizer; a guest holding the order's access token; a guest holding another order's
token. Someone else's order is 404, never 403 (no enumeration); a protected route
answers 401 or 403 before it reads the body, so each refusal is also tried with a
body that does not fit the route's schema and must not change the answer.

A route the table does not name fails ``test_every_route_of_the_app_is_in_the_table``:
a new route gets its row here before it ships.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.routes import ASGIRoute, HTTPRoute
from PIL import Image

from getiickets.entrypoints.asgi import build_app
from tests.e2e.story import (
    PASSWORD,
    Account,
    Api,
    LiveApp,
    guest,
    paid_and_free,
    unique,
    unique_email,
)

CALLERS = (
    "anonymous",
    "buyer A",
    "buyer B",
    "owner",
    "other organizer",
    "order's token",
    "other order's token",
)
REFUSALS = {401, 403}
"""Answers that depend on who is asking alone: the body must not change them."""
NOT_A_SCHEMA = {"event_id": 5, "title": [], "qr_payload": {}, "reference": 1, "unknown": True}


@dataclass(frozen=True)
class Scene:
    """What the routes act on: one published event of ``owner`` and its orders."""

    event: dict[str, Any]
    draft: dict[str, Any]
    order: dict[str, Any]
    """Buyer A's pending order for a paid ticket, its checkout initialized."""
    reference: str
    paid: dict[str, Any]
    """Buyer A's free order: paid at once, with a ticket."""
    ticket: dict[str, Any]
    file_url: str
    other: dict[str, Any]
    """A guest's order for the same event: its token is "another order's token"."""
    member: str
    """The email of an account, to sign in with."""
    queued: dict[str, Any] | None = None
    """An event of ``owner`` with its waiting room on (shared scene only)."""
    queue_token: str = ""
    """A guest's place in ``queued``'s line."""


@dataclass(frozen=True)
class Call:
    path: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] | None = None
    order: str = "order"
    """Which order of the scene "the order's token" belongs to."""


@dataclass(frozen=True)
class Row:
    method: str
    route: str
    """The path as the app declares it, so the table can be checked against the app."""
    codes: tuple[int, ...]
    call: Callable[[Scene], Call]
    fresh: bool = False
    """The call changes what it acts on (cancel, publish): a new scene for each caller."""
    new_session: bool = False
    """The call ends the caller's session (logout): sign in again for it."""
    has_body: bool = False
    needs_the_body: tuple[str, ...] = ()
    """Callers whose refusal depends on the body (it names the event they must own)."""


def codes(table_line: str) -> tuple[int, ...]:
    found = tuple(int(code) for code in table_line.split())
    assert len(found) == len(CALLERS), table_line
    return found


def event_body() -> dict[str, Any]:
    return {
        "title": unique("Matrix Night"),
        "city": "Lagos",
        "starts_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        "ticket_types": [{"name": "Regular", "price": "1000", "capacity": 10}],
    }


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), "orange").save(buffer, format="PNG")
    return buffer.getvalue()


def order_body(scene: Scene) -> dict[str, Any]:
    regular = next(item for item in scene.event["ticket_types"] if item["name"] == "Regular")
    return {
        "event_id": scene.event["id"],
        "items": [{"ticket_type_id": regular["id"], "quantity": 1}],
        "buyer": guest(),
    }


E = "/api/v1/events"
ORDERS = "/api/v1/orders"
# fmt: off
# The one table. Columns, in order: anonymous, buyer A, buyer B, owner, other organizer,
# guest with the order's token, guest with another order's token.
TABLE: dict[str, Row] = {
    "register": Row("POST", "/api/v1/auth/register", codes("201 201 201 201 201 201 201"),
        lambda s: Call("/api/v1/auth/register",
                       json={"email": unique_email(), "password": PASSWORD, "name": "New"}),
        has_body=True),
    "login": Row("POST", "/api/v1/auth/login", codes("200 200 200 200 200 200 200"),
        lambda s: Call("/api/v1/auth/login", json={"email": s.member, "password": PASSWORD}),
        has_body=True),
    "logout": Row("POST", "/api/v1/auth/logout", codes("401 204 204 204 204 401 401"),
        lambda s: Call("/api/v1/auth/logout"), new_session=True),
    "me": Row("GET", "/api/v1/auth/me", codes("401 200 200 200 200 401 401"),
        lambda s: Call("/api/v1/auth/me")),
    "list events": Row("GET", E, codes("200 200 200 200 200 200 200"),
        lambda s: Call(f"{E}?city=Lagos")),
    "published event": Row("GET", E + "/{event_ref:str}", codes("200 200 200 200 200 200 200"),
        lambda s: Call(f"{E}/{s.event['slug']}")),
    "draft event": Row("GET", E + "/{event_ref:str}", codes("404 404 404 200 404 404 404"),
        lambda s: Call(f"{E}/{s.draft['id']}")),
    "create event": Row("POST", E, codes("401 403 403 201 201 401 401"),
        lambda s: Call(E, json=event_body()), has_body=True),
    "update event": Row("PATCH", E + "/{event_id:str}", codes("401 403 403 200 403 401 401"),
        lambda s: Call(f"{E}/{s.event['id']}", json={"venue": "Eko Hotel"}), has_body=True),
    "publish event": Row("POST", E + "/{event_id:str}/publish",
        codes("401 403 403 200 403 401 401"),
        lambda s: Call(f"{E}/{s.draft['id']}/publish"), fresh=True),
    "add ticket type": Row("POST", E + "/{event_id:str}/ticket-types",
        codes("401 403 403 201 403 401 401"),
        lambda s: Call(f"{E}/{s.event['id']}/ticket-types",
                       json={"name": unique("VIP"), "price": "9000", "capacity": 5}),
        has_body=True),
    "event image": Row("PUT", E + "/{event_id:str}/image", codes("401 403 403 200 403 401 401"),
        lambda s: Call(f"{E}/{s.event['id']}/image", content=png(),
                       headers={"content-type": "image/png"}),
        has_body=True),
    "sales": Row("GET", E + "/{event_id:str}/sales", codes("401 403 403 200 403 401 401"),
        lambda s: Call(f"{E}/{s.event['id']}/sales")),
    "place order": Row("POST", ORDERS, codes("201 201 201 201 201 201 201"),
        lambda s: Call(ORDERS, json=order_body(s)), has_body=True),
    "order": Row("GET", ORDERS + "/{order_id:str}", codes("404 200 404 200 404 200 404"),
        lambda s: Call(f"{ORDERS}/{s.order['id']}")),
    "cancel order": Row("POST", ORDERS + "/{order_id:str}/cancel",
        codes("404 200 404 200 404 200 404"),
        lambda s: Call(f"{ORDERS}/{s.order['id']}/cancel"), fresh=True),
    "order tickets": Row("GET", ORDERS + "/{order_id:str}/tickets",
        codes("404 200 404 200 404 200 404"),
        lambda s: Call(f"{ORDERS}/{s.paid['id']}/tickets", order="paid")),
    "ticket pdf": Row("GET", "/api/v1/tickets/{ticket_number:str}/pdf",
        codes("404 302 404 302 404 302 404"),
        lambda s: Call(f"/api/v1/tickets/{s.ticket['ticket_number']}/pdf", order="paid")),
    "initialize payment": Row("POST", "/api/v1/payments/initialize",
        codes("404 200 404 200 404 200 404"),
        lambda s: Call("/api/v1/payments/initialize", json={"order_id": s.order["id"]}),
        has_body=True),
    # The reference is the buyer's proof here (as on the checkout's callback page).
    "verify payment": Row("POST", "/api/v1/payments/verify", codes("200 200 200 200 200 200 200"),
        lambda s: Call("/api/v1/payments/verify", json={"reference": s.reference}),
        has_body=True),
    "payment callback": Row("GET", "/payments/callback", codes("200 200 200 200 200 200 200"),
        lambda s: Call(f"/payments/callback?reference={s.reference}")),
    # Providers prove themselves with a signature or a shared secret, never a session.
    "paystack webhook": Row("POST", "/api/v1/webhooks/paystack",
        codes("401 401 401 401 401 401 401"),
        lambda s: Call("/api/v1/webhooks/paystack",
                       json={"event": "charge.success", "data": {"reference": s.reference}}),
        has_body=True),
    "brevo webhook": Row("POST", "/api/v1/webhooks/brevo", codes("401 401 401 401 401 401 401"),
        lambda s: Call("/api/v1/webhooks/brevo", json={"event": "delivered", "message-id": "x"}),
        has_body=True),
    "twilio callback": Row("POST", "/api/v1/webhooks/twilio",
        codes("401 401 401 401 401 401 401"),
        lambda s: Call("/api/v1/webhooks/twilio",
                       data={"MessageSid": "SM1", "MessageStatus": "delivered"}),
        has_body=True),
    "check in": Row("POST", "/api/v1/checkin", codes("401 403 403 200 403 401 401"),
        lambda s: Call("/api/v1/checkin", json={"event_id": s.event["id"],
                                                "qr_payload": s.ticket["qr_payload"]}),
        has_body=True, needs_the_body=("other organizer",)),
    # A signed link is the credential: whoever holds it may fetch the file, nobody else.
    "signed file": Row("GET", "/files/{key:path}", codes("200 200 200 200 200 200 200"),
        lambda s: Call(s.file_url)),
    "unsigned file": Row("GET", "/files/{key:path}", codes("404 404 404 404 404 404 404"),
        lambda s: Call(s.file_url.split("?")[0])),
    "health": Row("GET", "/health", codes("200 200 200 200 200 200 200"),
        lambda s: Call("/health")),
    "ready": Row("GET", "/ready", codes("200 200 200 200 200 200 200"),
        lambda s: Call("/ready")),
    "metrics": Row("GET", "/metrics", codes("200 200 200 200 200 200 200"),
        lambda s: Call("/metrics")),
    "openapi": Row("GET", "/schema/openapi.json", codes("200 200 200 200 200 200 200"),
        lambda s: Call("/schema/openapi.json")),
    "api docs": Row("GET", "/schema", codes("200 200 200 200 200 200 200"),
        lambda s: Call("/schema")),
    "swagger": Row("GET", "/schema/swagger", codes("200 200 200 200 200 200 200"),
        lambda s: Call("/schema/swagger")),
    "oauth2 redirect": Row("GET", "/schema/oauth2-redirect.html",
        codes("200 200 200 200 200 200 200"),
        lambda s: Call("/schema/oauth2-redirect.html")),
    "other schema files": Row("GET", "/schema/{path:str}", codes("404 404 404 404 404 404 404"),
        lambda s: Call("/schema/nothing-here")),
    "queue settings": Row("PUT", E + "/{event_id:str}/queue", codes("401 403 403 200 403 401 401"),
        lambda s: Call(f"{E}/{s.event['id']}/queue",
                       json={"enabled": False, "admit_per_minute": 60, "session_minutes": 10}),
        has_body=True),
    "queue overview": Row("GET", E + "/{event_id:str}/queue", codes("401 403 403 200 403 401 401"),
        lambda s: Call(f"{E}/{s.event['id']}/queue")),
    "join queue": Row("POST", E + "/{event_id:str}/queue", codes("201 201 201 201 201 201 201"),
        lambda s: Call(f"{E}/{_queued(s)['id']}/queue", json={"email": unique_email()}),
        has_body=True),
    # The queue token is the credential: its holder sees the place, whoever they are.
    "queue place": Row("GET", "/api/v1/queue/{queue_token:str}",
        codes("200 200 200 200 200 200 200"),
        lambda s: Call(f"/api/v1/queue/{s.queue_token}")),
    "queue page": Row("GET", "/queue/{slug:str}", codes("200 200 200 200 200 200 200"),
        lambda s: Call(f"/queue/{_queued(s)['slug']}")),
    # Mounted only where the sandbox runs (here: the embedded default).
    "sandbox": Row("*", "/sandbox", codes("200 200 200 200 200 200 200"),
        lambda s: Call("/sandbox/outbox")),
}
# fmt: on


@dataclass(frozen=True)
class People:
    owner: Account
    rival: Account
    buyer_a: Account
    buyer_b: Account


@pytest.fixture(scope="module")
def people(app_server: LiveApp) -> People:
    with Api(app_server) as api:
        return People(
            owner=api.register("organizer"),
            rival=api.register("organizer"),
            buyer_a=api.register("buyer"),
            buyer_b=api.register("buyer"),
        )


def _queued(scene: Scene) -> dict[str, Any]:
    assert scene.queued is not None, "queue rows use the shared scene"
    return scene.queued


def new_scene(api: Api, people: People, *, with_queue: bool = False) -> Scene:
    event = api.create_event(people.owner, paid_and_free())
    draft = api.create_event(people.owner, paid_and_free(), publish=False)
    order = api.place_order(event, {"Regular": 1}, token=people.buyer_a.token).json()
    reference = api.initialize(order)["reference"]
    paid = api.place_order(event, {"Community": 1}, token=people.buyer_a.token).json()
    assert paid["status"] == "paid", paid
    [ticket] = api.tickets(paid)
    pdf = api.call(
        "GET",
        f"/api/v1/tickets/{ticket['ticket_number']}/pdf",
        order_token=paid["access_token"],
        expect=302,
    )
    file_url = pdf.headers["location"].removeprefix(api.app.base_url)
    other = api.place_order(event, {"Regular": 1}).json()
    queued, queue_token = None, ""
    if with_queue:
        # Its own event: with the queue on, orders need an admission (the order rows'
        # event stays queue-free). Joins are rate limited per client, so only once.
        queued = api.create_event(people.owner, paid_and_free())
        api.call(
            "PUT",
            f"{E}/{queued['id']}/queue",
            token=people.owner.token,
            json={"enabled": True, "admit_per_minute": 60, "session_minutes": 10},
            expect=200,
        )
        joined = api.call(
            "POST", f"{E}/{queued['id']}/queue", json={"email": unique_email()}, expect=201
        )
        queue_token = joined.json()["queue_token"]
    return Scene(
        event=event,
        draft=draft,
        order=order,
        reference=reference,
        paid=paid,
        ticket=ticket,
        file_url=file_url,
        other=other,
        member=people.buyer_b.email,
        queued=queued,
        queue_token=queue_token,
    )


@pytest.fixture(scope="module")
def shared_scene(app_server: LiveApp, people: People) -> Scene:
    with Api(app_server) as api:
        return new_scene(api, people, with_queue=True)


def credentials(  # noqa: PLR0917 - the cell of the table, spelled out
    api: Api, people: People, scene: Scene, row: Row, call: Call, caller: str
) -> dict[str, Any]:
    accounts = {
        "buyer A": people.buyer_a,
        "buyer B": people.buyer_b,
        "owner": people.owner,
        "other organizer": people.rival,
    }
    if caller in accounts:
        account = accounts[caller]
        if row.new_session:
            return {"token": sign_in(api, account)}
        return {"token": account.token}
    if caller == "order's token":
        order: dict[str, Any] = getattr(scene, call.order)
        return {"order_token": order["access_token"]}
    if caller == "other order's token":
        return {"order_token": scene.other["access_token"]}
    return {}


def sign_in(api: Api, account: Account) -> str:
    response = api.call(
        "POST",
        "/api/v1/auth/login",
        json={"email": account.email, "password": account.password},
        expect=200,
    )
    token: str = response.json()["token"]
    return token


def send(api: Api, row: Row, call: Call, who: dict[str, Any], *, invalid: bool = False) -> int:
    method = "GET" if row.method == "*" else row.method
    body: dict[str, Any] = {"headers": dict(call.headers)}
    if invalid:
        body["json"] = NOT_A_SCHEMA
        body["headers"].pop("content-type", None)
    elif call.json is not None:
        body["json"] = call.json
    elif call.content is not None:
        body["content"] = call.content
    elif call.data is not None:
        body["data"] = call.data
    return api.call(method, call.path, **who, **body).status_code


@pytest.mark.parametrize("name", TABLE)
def test_each_caller_gets_the_answer_the_table_gives(
    api: Api, people: People, shared_scene: Scene, name: str
) -> None:
    row = TABLE[name]
    seen: dict[str, int] = {}
    mismatches = []
    for caller, expected in zip(CALLERS, row.codes, strict=True):
        scene = new_scene(api, people) if row.fresh else shared_scene
        call = row.call(scene)
        who = credentials(api, people, scene, row, call, caller)
        seen[caller] = send(api, row, call, who)
        if row.has_body and expected in REFUSALS and caller not in row.needs_the_body:
            refused_anyway = send(api, row, call, who, invalid=True)
            if refused_anyway != expected:
                mismatches.append(f"{caller} with a body that does not fit: {refused_anyway}")
    wanted = dict(zip(CALLERS, row.codes, strict=True))
    assert (seen, mismatches) == (wanted, []), f"{row.method} {row.route}: {seen} {mismatches}"


def app_routes(app_server: LiveApp) -> Iterator[tuple[str, str]]:
    app = build_app(app_server.settings)
    for route in app.routes:
        if isinstance(route, ASGIRoute):
            yield "*", route.path
        elif isinstance(route, HTTPRoute):
            for method in route.methods - {"OPTIONS", "HEAD"}:
                yield method, route.path


def test_every_route_of_the_app_is_in_the_table(app_server: LiveApp) -> None:
    served = set(app_routes(app_server))
    tabled = {(row.method, row.route) for row in TABLE.values()}
    assert served - tabled == set(), "routes missing from TABLE: give each a row"
    assert tabled - served == set(), "TABLE names routes the app does not have"
