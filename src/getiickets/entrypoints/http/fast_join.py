"""The queue join's fast path: POST /api/v1/events/{event_id}/queue without the framework's
per-request machinery, answering exactly as the Litestar route does.

In a rush the join is the one route everyone hits at once, and most of its time went to
Litestar resolving the handler's parameters and dependencies (an anyio task group per
request), decoding the body twice and building a Response. This is route middleware on
the join handler alone (one ``middleware=[fast_join]`` on the decorator): Litestar has
already routed the request and its app middleware (request id, metrics, access log)
and exception handlers still wrap it, so every error raised here gets the same
problem+json answer the route would give.

It takes only what it can prove the route would take the same way: a body labelled
plain ``application/json`` that decodes strictly into ``JoinQueueBody``. Anything else
(another label, a body too big, malformed or not fitting the schema) is handed to the
route untouched, its bytes replayed, so Litestar answers it as before. The route stays
for those, for the OpenAPI document, and as the reference the tests hold this to.
"""

from __future__ import annotations

import msgspec
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from getiickets.entrypoints.http.dependencies import EVENT_ID_PARAMETER, provide_services
from getiickets.entrypoints.http.schemas import JoinQueueBody, queue_status_view

MAX_FAST_BODY_BYTES = 4096
"""An email is at most 200 characters: a join body past this goes the route's way
(which enforces the app's own limit and its 413)."""
_JSON = b"application/json"
_DECODER = msgspec.json.Decoder(JoinQueueBody, strict=True)
# Litestar's own encoding of the route's answer: msgspec, no extra hooks needed here
# (QueueStatusOut holds str, int and an aware datetime; the tests compare the bytes).
_ENCODER = msgspec.json.Encoder()
_HEADERS = [(b"content-type", _JSON)]


def fast_join(app: ASGIApp) -> ASGIApp:
    """Route middleware for the join handler: the join itself, or the route for the rest."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if not _labelled_json(scope):
            await app(scope, receive, send)
            return
        body, complete = await _read_body(receive)
        joining = _decoded(body) if complete else None
        if joining is None:
            await app(scope, _replaying(body, receive, complete), send)
            return
        try:
            answer = await _join(scope, joining)
        except Exception as error:  # answered by the route's own handlers
            await _answer_error(scope, receive, send, error)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [*_HEADERS, (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer, "more_body": False})

    return middleware


async def _join(scope: Scope, joining: JoinQueueBody) -> bytes:
    """What the route's handler does, with what Litestar would have given it."""
    services = provide_services(scope["app"].state)
    event = await services.catalog.published_event(scope["path_params"][EVENT_ID_PARAMETER])
    client = scope.get("client")
    status = await services.waiting_room.join(
        event, joining.email, client[0] if client else "unknown"
    )
    return _ENCODER.encode(queue_status_view(status))


async def _answer_error(scope: Scope, receive: Receive, send: Send, error: Exception) -> None:
    """The answer the route gives for ``error``: its exception handler, as Litestar picks
    it (the closest class in the error's MRO), inside the app middleware, so the request
    id and the metrics' status are the route's too."""
    route_handler = scope["route_handler"]
    handlers = route_handler.resolve_exception_handlers()
    handler = next((handlers[kind] for kind in type(error).__mro__ if kind in handlers), None)
    if handler is None:
        raise error
    request = scope["app"].request_class(scope=scope, receive=receive, send=send)
    response = handler(request, error)
    asgi = response.to_asgi_response(
        app=None, request=request, type_encoders=route_handler.resolve_type_encoders()
    )
    await asgi(scope, receive, send)


def _labelled_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value == _JSON)
    return False


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The body, and whether it is all there (False: past the bound, or the client left)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_FAST_BODY_BYTES:
            return b"".join(chunks), False


def _decoded(body: bytes) -> JoinQueueBody | None:
    try:
        return _DECODER.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None


def _replaying(body: bytes, receive: Receive, complete: bool) -> Receive:
    """``receive`` as if nothing had been read: what was read first, then the rest."""
    replayed = False

    async def replay() -> ReceiveMessage:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": not complete}

    return replay
