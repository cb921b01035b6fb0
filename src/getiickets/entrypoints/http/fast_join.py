"""The queue join's fast path: POST /api/v1/events/{event_id}/queue without the framework's
per-request machinery, answering exactly as the Litestar route does.

In a rush the join is the one route everyone hits at once. Litestar resolving the
handler's parameters and dependencies (an anyio task group per request), decoding the
body twice and building a Response cost most of a join; after that went, its routing
and exception layers were still a sixth of the API process. So the fast path sits in
front of them (``answer_joins_first``, installed by ``create_app``): inside
``Litestar.__call__`` (the app is in the scope, ``before_send`` hooks wrap ``send``)
but before its routing, wrapped in the same ``observe_requests`` the app middleware
is (request id, control-character refusal, latency labelled with the route's template,
access log), so a join answered here is observed exactly as the route's would be.

It takes only what it can prove the route would take the same way: ``POST`` to exactly
``/api/v1/events/{id}/queue`` (no root path, a valid Host as Litestar checks it), a body
labelled plain ``application/json`` that decodes strictly into ``JoinQueueBody``.
Anything else (another path or label, a body too big, malformed or not fitting the
schema) is handed to Litestar untouched, its bytes replayed, so Litestar answers it as
before. Errors are answered by the route's own exception handlers, as Litestar picks
them. The route stays for the rest, for the OpenAPI document, and as the reference the
tests hold this to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import msgspec
from litestar._asgi.utils import is_valid_host
from litestar.types import Receive, ReceiveMessage, Scope, Send

from getiickets.entrypoints.http.dependencies import EVENT_ID_PARAMETER, provide_services
from getiickets.entrypoints.http.middleware import observe_requests
from getiickets.entrypoints.http.schemas import JoinQueueBody, queue_status_view

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import HTTPScope

MAX_FAST_BODY_BYTES = 4096
"""An email is at most 200 characters: a join body past this goes the route's way
(which enforces the app's own limit and its 413)."""
_JSON = b"application/json"
_DECODER = msgspec.json.Decoder(JoinQueueBody, strict=True)
# Litestar's own encoding of the route's answer: msgspec, no extra hooks needed here
# (QueueStatusOut holds str, int and an aware datetime; the tests compare the bytes).
_ENCODER = msgspec.json.Encoder()
_HEADERS = [(b"content-type", _JSON)]
_PREFIX = "/api/v1/events/"
_SUFFIX = "/queue"
_SAMPLE_PATH = f"{_PREFIX}sample{_SUFFIX}"


def answer_joins_first(app: Litestar) -> None:
    """Put the fast path in front of ``app``'s routing: plain JSON joins are answered
    there, every other request goes on to Litestar as before."""
    _, route_handler, _, _, template = app.asgi_router.handle_routing(_SAMPLE_PATH, "POST")
    if getattr(route_handler, "operation_id", None) != "joinEventQueue":
        raise RuntimeError(f"{_SAMPLE_PATH} is not the join route: {route_handler}")
    litestar = app.asgi_handler

    async def front(scope: Scope, receive: Receive, send: Send) -> None:
        event_id = _join_target(scope)
        if event_id is None:
            await litestar(scope, receive, send)
            return
        body, complete = await _read_body(receive)
        joining = _decoded(body) if complete else None
        if joining is None:
            await litestar(scope, _replaying(body, receive, complete), send)
            return
        # What Litestar's routing would have put in the scope for the route.
        scope["path_params"] = {EVENT_ID_PARAMETER: event_id}
        scope["path_template"] = template
        scope["route_handler"] = route_handler

        async def join(scope: Scope, receive: Receive, send: Send) -> None:
            await _answer(scope, receive, send, joining)

        await observe_requests(join)(scope, receive, send)

    app.asgi_handler = front


def _join_target(scope: Scope) -> str | None:
    """The event id of a join the fast path may take, else None."""
    if scope["type"] != "http" or scope.get("root_path"):
        return None
    http = cast("HTTPScope", scope)  # the type was just checked; mypy cannot narrow it
    event_id = _event_id(http["path"]) if http["method"] == "POST" else None
    if event_id is None:
        return None
    labelled_json = False
    for name, value in scope["headers"]:
        if name == b"content-type":
            if value != _JSON:
                return None
            labelled_json = True
        elif name == b"host" and not is_valid_host(value):
            return None  # Litestar's routing refuses it
    return event_id if labelled_json else None


def _event_id(path: str) -> str | None:
    """``{id}`` of exactly ``/api/v1/events/{id}/queue``, else None."""
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        return None
    event_id = path[len(_PREFIX) : -len(_SUFFIX)]
    return event_id if event_id and "/" not in event_id else None


async def _answer(scope: Scope, receive: Receive, send: Send, joining: JoinQueueBody) -> None:
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
