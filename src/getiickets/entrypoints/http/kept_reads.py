"""The rush's two hot reads answered from what ``FreshResponses`` keeps, around Litestar's handler.

While an answer is kept (fresh.py) the list and detail routes only copy its bytes into
a response, yet Litestar still builds a ``Request``, resolves the handler's dependencies
(the caller's identity among them), calls it and builds and renders a ``Response``:
most of the Python time of such a request. The middleware here is declared on those two
handlers alone, so Litestar has routed the request and the app's middleware
(``observe_requests``: control characters refused first, the request id, metrics by
route template, the access log) has run around it exactly as for any request; it sends
the kept bytes with the headers the handler's response has, or passes the request on.

It answers only what the handler would answer with those bytes without looking at the
request: the list without a query string (the handler validates a query), and an event
for a caller who sends no credentials (the handler checks a token that is sent, and
shows an owner their draft). Anything else, and anything not kept or older than
``max_age``, goes to the handler, which builds and keeps it.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

from getiickets.entrypoints.http.dependencies import SESSION_COOKIE
from getiickets.entrypoints.http.fresh import FreshResponses
from getiickets.ports.repositories import EventQuery

EVENT_REF_PARAMETER = "event_ref"
_UNFILTERED = EventQuery()
"""What ``GET /events`` without a query string asks for."""
_JSON = (b"content-type", b"application/json")
_SESSION = SESSION_COOKIE.encode()


def list_key(query: EventQuery) -> Hashable:
    """Where the list route keeps the page for ``query``."""
    return ("list", query)


def event_key(event_ref: str) -> Hashable:
    """Where the detail route keeps an event as anyone sees it."""
    return ("event", event_ref)


_UNFILTERED_KEY = list_key(_UNFILTERED)


def serve_kept_list(app: ASGIApp) -> ASGIApp:
    """``GET /events`` without a query string: the same page for every caller."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") == "GET" and not scope["query_string"]:
            body = _fresh_reads(scope).peek(_UNFILTERED_KEY)
            if body is not None:
                await _send_json(send, body)
                return
        await app(scope, receive, send)

    return middleware


def serve_kept_event(app: ASGIApp) -> ASGIApp:
    """``GET /events/{ref}`` for a caller without credentials (a query changes nothing)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") == "GET" and _sends_no_credentials(scope):
            body = _fresh_reads(scope).peek(event_key(scope["path_params"][EVENT_REF_PARAMETER]))
            if body is not None:
                await _send_json(send, body)
                return
        await app(scope, receive, send)

    return middleware


def _fresh_reads(scope: Scope) -> FreshResponses:
    # Looked up per request: a lifespan that runs again brings new services.
    fresh: FreshResponses = scope["app"].state.services.fresh_reads
    return fresh


def _sends_no_credentials(scope: Scope) -> bool:
    """No Authorization header and no session cookie (``bearer_token`` reads those two).

    Stricter than it: any Authorization header, and any cookie header that so much as
    mentions the session cookie's name, goes to the handler.
    """
    for name, value in scope["headers"]:
        lowered = name.lower()
        if lowered == b"authorization" or (lowered == b"cookie" and _SESSION in value):
            return False
    return True


async def _send_json(send: Send, body: bytes) -> None:
    # The headers of the handler's ``Response(content=body, media_type=JSON)``.
    start: Any = {
        "type": "http.response.start",
        "status": 200,
        "headers": [_JSON, (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
