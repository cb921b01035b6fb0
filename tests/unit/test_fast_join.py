"""The queue join's fast path decides what it answers itself and hands the rest to the
route untouched (tests/e2e/test_waiting_room.py holds its answers to the route's)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from getiickets.domain.usecases.waiting_room import QueueStatus
from getiickets.entrypoints.http.fast_join import MAX_FAST_BODY_BYTES, answer_joins_first

ADMITTED = QueueStatus(
    event_id="evt",
    queue_token="place-token",
    position=0,
    estimated_wait_seconds=0,
    status="admitted",
    admission_token="admission-token",
    admission_expires_at=datetime(2030, 1, 1, 12, 5, tzinfo=UTC),
)


class Stubs:
    def __init__(self) -> None:
        self.joins: list[tuple[str, str, str]] = []
        self.route_bodies: list[bytes] = []
        self.sent: list[dict[str, Any]] = []
        self.observed: list[tuple[str, str, str]] = []

    async def published_event(self, id_or_slug: str) -> Any:
        return SimpleNamespace(id=id_or_slug)

    async def join(self, event: Any, email: str, client: str) -> QueueStatus:
        self.joins.append((event.id, email, client))
        return ADMITTED

    async def route(self, scope: Any, receive: Any, send: Any) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.route_bodies.append(body)

    async def send(self, message: Any) -> None:
        self.sent.append(message)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.observed.append((method, route, str(status)))

    def handle_routing(self, path: str, method: str) -> Any:
        handler = SimpleNamespace(operation_id="joinEventQueue")
        return None, handler, path, {}, "/api/v1/events/{event_id}/queue"


async def _post(
    stubs: Stubs,
    chunks: list[bytes],
    content_type: bytes | None,
    path: str = "/api/v1/events/evt/queue",
    method: str = "POST",
) -> None:
    services = SimpleNamespace(
        catalog=stubs,
        waiting_room=stubs,
        metrics=SimpleNamespace(observe_request=stubs.observe_request),
    )
    app: Any = SimpleNamespace(
        state=SimpleNamespace(services=services), asgi_router=stubs, asgi_handler=stubs.route
    )
    answer_joins_first(app)
    scope: Any = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [] if content_type is None else [(b"content-type", content_type)],
        "app": app,
        "client": ("203.0.113.9", 5000),
    }
    messages = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]

    async def receive() -> Any:
        return messages.pop(0)

    await app.asgi_handler(scope, receive, stubs.send)


async def test_a_plain_json_join_is_answered_without_the_route() -> None:
    stubs = Stubs()
    await _post(stubs, [b'{"email":', b'"a@b.ng"}'], b"application/json")
    assert stubs.route_bodies == []
    assert stubs.joins == [("evt", "a@b.ng", "203.0.113.9")]
    start, body = stubs.sent
    assert start["status"] == 201
    assert msgspec.json.decode(body["body"]) == {
        "queue_token": "place-token",
        "position": 0,
        "estimated_wait_seconds": 0,
        "status": "admitted",
        "admission_token": "admission-token",
        "admission_expires_at": "2030-01-01T12:05:00Z",
    }
    headers = dict(start["headers"])
    assert headers[b"content-length"] == str(len(body["body"])).encode()
    # Observed as the route is: its request id header, its template in the metrics.
    assert headers[b"x-request-id"]
    assert stubs.observed == [("POST", "/api/v1/events/{event_id}/queue", "201")]


@pytest.mark.parametrize(
    ("chunks", "content_type"),
    [
        ([b'{"email":"a@b.ng"}'], b"application/json; charset=utf-8"),
        ([b'{"email":"a@b.ng"}'], None),
        ([b'{"email":"a@b.ng","x":1}'], b"application/json"),
        ([b'{"email":'], b"application/json"),
        ([b"x" * (MAX_FAST_BODY_BYTES // 2)] * 3 + [b"tail"], b"application/json"),
    ],
    ids=["charset", "no-label", "unknown-field", "truncated", "too-big-in-chunks"],
)
async def test_anything_else_goes_to_the_route_with_every_byte(
    chunks: list[bytes], content_type: bytes | None
) -> None:
    stubs = Stubs()
    await _post(stubs, chunks, content_type)
    assert stubs.joins == []
    assert stubs.route_bodies == [b"".join(chunks)]
    assert stubs.observed == []  # Litestar's route observes it, not the fast path


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/events/evt/queue/", "POST"),
        ("/api/v1/events//queue", "POST"),
        ("/api/v1/events/a/b/queue", "POST"),
        ("/api/v1/events/evt/queue", "PUT"),
        ("/api/v1/queue/evt", "POST"),
    ],
    ids=["trailing-slash", "no-id", "nested", "another-method", "another-route"],
)
async def test_only_the_join_s_exact_path_and_method_are_taken(path: str, method: str) -> None:
    stubs = Stubs()
    await _post(stubs, [b'{"email":"a@b.ng"}'], b"application/json", path=path, method=method)
    assert stubs.joins == []
    assert stubs.route_bodies == [b'{"email":"a@b.ng"}']
