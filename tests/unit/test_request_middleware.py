"""The app's one middleware: request ids, control characters refused, and the access
log line, written only when INFO is on."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest

from getiickets.entrypoints.http.middleware import observe_requests
from getiickets.entrypoints.logs import request_id
from getiickets.entrypoints.metrics import Metrics


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b"{}", "more_body": False})


async def _call(path: str, query: bytes = b"", request_id_header: str | None = None) -> list[Any]:
    headers = [(b"host", b"test")]
    if request_id_header is not None:
        headers.append((b"x-request-id", request_id_header.encode()))
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "headers": headers,
        "http_version": "1.1",
        "client": ("203.0.113.9", 4321),
    }
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await observe_requests(_app)(scope, receive, send)
    return sent


def _header(message: dict[str, Any], name: bytes) -> list[bytes]:
    return [value for key, value in message["headers"] if key == name]


async def test_every_response_carries_a_request_id_and_a_plain_one_is_kept() -> None:
    start, _ = await _call("/health")
    [generated] = _header(start, b"x-request-id")
    assert len(generated) == 32
    assert _header(start, b"content-type") == [b"application/json"]

    start, _ = await _call("/health", request_id_header="abc-123")
    assert _header(start, b"x-request-id") == [b"abc-123"]
    start, _ = await _call("/health", request_id_header="no spaces <allowed>")
    assert _header(start, b"x-request-id") != [b"no spaces <allowed>"]
    assert request_id.get() is None  # reset after the request


async def test_control_characters_are_refused_with_a_problem_and_a_request_id() -> None:
    start, body = await _call("/api/v1/events/a\x00b", request_id_header="rid-1")
    assert start["status"] == 404
    assert _header(start, b"x-request-id") == [b"rid-1"]
    assert msgspec.json.decode(body["body"])["code"] == "not_found"

    start, body = await _call("/api/v1/events", query=b"city=La%01gos")
    assert start["status"] == 422
    assert msgspec.json.decode(body["body"])["errors"][0]["field"] == "query.city"


async def test_an_access_line_is_logged_at_info_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="getiickets.access")
    seen: list[str | None] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(request_id.get())  # type: ignore[method-assign]
    logging.getLogger("getiickets.access").addHandler(handler)
    try:
        await _call("/api/v1/events", query=b"page=2", request_id_header="rid-2")
    finally:
        logging.getLogger("getiickets.access").removeHandler(handler)

    [record] = [r for r in caplog.records if r.name == "getiickets.access"]
    assert record.getMessage().startswith(
        '203.0.113.9:4321 - "GET /api/v1/events?page=2 HTTP/1.1" 200'
    )
    assert seen == ["rid-2"]


async def test_no_access_line_is_even_built_above_info(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.WARNING, logger="getiickets.access")
    built: list[object] = []
    monkeypatch.setattr(logging.Logger, "info", lambda *args, **kwargs: built.append(args))

    await _call("/api/v1/events")

    assert built == []
    assert [r for r in caplog.records if r.name == "getiickets.access"] == []


def test_each_request_is_observed_in_its_own_series() -> None:
    metrics = Metrics()
    for method, route, status in [
        ("GET", "/api/v1/events", 200),
        ("GET", "/api/v1/events", 200),
        ("GET", "/api/v1/events", 422),
        ("POST", "/api/v1/events", 201),
    ]:
        metrics.observe_request(method, route, status, 0.002)

    def count(method: str, status: str) -> float | None:
        labels = {"method": method, "route": "/api/v1/events", "status": status}
        return metrics.registry.get_sample_value("getiickets_http_request_seconds_count", labels)

    assert (count("GET", "200"), count("GET", "422"), count("POST", "201")) == (2, 1, 1)
    assert count("POST", "200") is None
