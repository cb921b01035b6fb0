"""Per-request plumbing: a request id on every log line and response, and latency metrics."""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from getiickets.domain.model.errors import NotFoundError, ValidationError
from getiickets.entrypoints.http.errors import PROBLEM_JSON, problem_of
from getiickets.entrypoints.http.schemas import Problem
from getiickets.entrypoints.logs import request_id

REQUEST_ID_HEADER = "x-request-id"
access_log = logging.getLogger("getiickets.access")
"""One line per request at INFO, through the root handler (its format, request id and
redaction of secrets in URLs); nothing at all is built for it above INFO."""
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def observe_requests(app: ASGIApp) -> ASGIApp:
    """The one middleware: a request id on the response and every log line, paths and
    queries with control characters refused, latency metrics, and an access log line.

    One layer, wrapping ``send`` once: each ASGI layer costs a call per message on
    every request, and these used to be two (the server's access log a third).
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = _header(scope, REQUEST_ID_HEADER)
        # A client's id is kept when it is a plain token: it ties their logs to ours.
        # 16 random bytes as 32 hex digits, as uuid4().hex was, without building a UUID
        # (~2 us, a tenth of a kept read's time in Python).
        rid = given if given and _SAFE_ID.fullmatch(given) else os.urandom(16).hex()
        rid_header = (REQUEST_ID_HEADER.encode(), rid.encode())
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), rid_header]
            await send(message)

        try:
            refusal = _refusal(scope)
            if refusal is not None:
                await _send_problem(send_with_id, refusal)
            else:
                await app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            _observe(scope, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                _log_access(scope, status, seconds)
            request_id.reset(token)

    return middleware


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    client = scope.get("client")
    query = scope.get("query_string", b"")
    path = scope.get("path", "") + ("?" + query.decode("latin-1") if query else "")
    access_log.info(
        '%s - "%s %s HTTP/%s" %d %.1f ms',
        f"{client[0]}:{client[1]}" if client else "-",
        scope.get("method", ""),
        path,
        scope.get("http_version", "1.1"),
        status,
        seconds * 1000,
    )


def _observe(scope: Scope, status: int, seconds: float) -> None:
    app: Any = scope.get("app")
    services = getattr(getattr(app, "state", None), "services", None)
    if services is None:
        return
    route = scope.get("path_template") or "unmatched"
    services.metrics.observe_request(scope.get("method", ""), route, status, seconds)


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


# The characters the body schemas refuse too (schemas.NO_CONTROL): C0 and C1 controls,
# DEL, and the bidi embedding, override and isolate controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# No stored text may hold a control character (PostgreSQL refuses NUL outright), so
# none gets in through the path or the query either: an id with one names nothing
# (404), a query value with one is invalid (422). Bodies are checked by their schemas.


def _refusal(scope: Scope) -> Problem | None:
    """The problem to answer with, built by the one mapper in ``errors``."""
    if _CONTROL.search(scope.get("path", "")):
        return problem_of(NotFoundError("no such resource"))
    query = scope.get("query_string", b"")
    if not query:  # most requests; parse_qsl("") alone costs ~0.6 us
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if _CONTROL.search(name) or _CONTROL.search(value):
            field = f"query.{_CONTROL.sub('', name)}"
            return problem_of(ValidationError("control characters are not allowed", field=field))
    return None


async def _send_problem(send: Send, problem: Problem) -> None:
    body = msgspec.json.encode(problem)
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": problem.status,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
