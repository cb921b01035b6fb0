"""Hostile input at the HTTP edge: whatever arrives, the answer is a 4xx problem with a
stable ``code``, never a 5xx (docs/http-api.md, Conventions).

Deep nesting, sizes around the documented 1 MiB limit, invalid UTF-8, wrong content
types, control and bidi characters, oversized headers: each against every route that
reads a body, found from the app's own OpenAPI document plus the raw-body webhooks, so
a route added later is covered without editing this file.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.story import (
    PROBLEM_JSON,
    Api,
    LiveApp,
    expect_problem,
    paid_and_free,
    sign,
    unique_email,
)

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
JSON_LIMIT = MIB
"""docs/http-api.md: JSON bodies (and the webhook) over 1 MiB are 413 ``payload_too_large``."""
IMAGE_LIMIT = 5 * MIB

DEEP = 1_000
"""The nesting that raised RecursionError (a 500 and a traceback) on every JSON route."""
RAW_BODY_ROUTES = (
    ("POST", "/api/v1/webhooks/paystack"),
    ("POST", "/api/v1/webhooks/brevo"),
)
"""Routes that read their body by hand (a signature covers the exact bytes)."""
PUBLIC_JSON_ROUTES = (
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/orders"),
    ("POST", "/api/v1/payments/initialize"),
    ("POST", "/api/v1/payments/verify"),
)
"""Routes anyone may call with a body: nothing stands between a stranger and the parser."""


def json_body_routes(app: LiveApp) -> list[tuple[str, str]]:
    """Every operation whose OpenAPI request body is JSON, path parameters filled in."""
    with httpx.Client(base_url=app.base_url) as client:
        document = client.get("/schema/openapi.json").raise_for_status().json()
    routes = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                routes.append((method.upper(), _filled(path)))
    return sorted(routes)


def _filled(path: str) -> str:
    return "/".join("x" if part.startswith("{") else part for part in path.split("/"))


def expect_refusal(response: httpx.Response) -> dict[str, Any]:
    """A 4xx RFC 9457 problem with a code, whatever the route thought of the request."""
    assert 400 <= response.status_code < 500, f"{response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code, body
    assert body["code"], body
    return body


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def test_json_routes_are_found(app_server: LiveApp) -> None:
    routes = json_body_routes(app_server)
    assert set(PUBLIC_JSON_ROUTES) <= set(routes), routes


@pytest.mark.parametrize("shape", ["objects", "arrays"])
def test_deep_nesting_is_malformed_json_on_every_body_route(
    api: Api, app_server: LiveApp, shape: str
) -> None:
    body = nested(DEEP) if shape == "objects" else b"[" * DEEP + b"]" * DEEP
    for method, path in [*json_body_routes(app_server), *RAW_BODY_ROUTES]:
        response = api.call(
            method, path, content=body, headers={"content-type": "application/json"}
        )
        problem = expect_refusal(response)
        # Protected routes may refuse the stranger first; nobody gets past the parser.
        assert problem["code"] in {"malformed_json", "unauthenticated", "invalid_signature"}, (
            method,
            path,
            problem,
        )
        if (method, path) in PUBLIC_JSON_ROUTES:
            expect_problem(response, 400, "malformed_json")


def test_brackets_inside_strings_are_not_nesting(api: Api) -> None:
    password = "[{" * 500
    response = api.call(
        "POST", "/api/v1/auth/login", json={"email": "nobody@example.com", "password": password}
    )
    expect_problem(response, 401, "invalid_credentials")


def padded(document: bytes, size: int) -> bytes:
    """``document`` followed by JSON whitespace up to exactly ``size`` bytes: still valid JSON."""
    assert len(document) <= size
    return document + b" " * (size - len(document))


def test_json_bodies_over_the_limit_are_payload_too_large(api: Api, app_server: LiveApp) -> None:
    body = padded(b"{}", JSON_LIMIT + 1)
    for method, path in [*json_body_routes(app_server), *RAW_BODY_ROUTES]:
        response = api.call(
            method, path, content=body, headers={"content-type": "application/json"}
        )
        problem = expect_refusal(response)
        assert problem["code"] in {"payload_too_large", "unauthenticated", "invalid_signature"}, (
            method,
            path,
            problem,
        )
        if (method, path) in PUBLIC_JSON_ROUTES:
            expect_problem(response, 413, "payload_too_large")


def test_a_json_body_of_exactly_the_limit_is_read(api: Api) -> None:
    login = b'{"email": "nobody@example.com", "password": "not the password"}'
    response = api.call(
        "POST",
        "/api/v1/auth/login",
        content=padded(login, JSON_LIMIT),
        headers={"content-type": "application/json"},
    )
    expect_problem(response, 401, "invalid_credentials")


def _charge(reference: str) -> bytes:
    return (
        b'{"event": "charge.success", "data": {"reference": "' + reference.encode() + b'", '
        b'"status": "success", "amount": 100, "currency": "NGN", "metadata": ""}}'
    )


def test_a_signed_webhook_of_exactly_the_limit_is_checked_whole(api: Api) -> None:
    body = padded(_charge("TKT-unknown-at-limit"), JSON_LIMIT)
    response = api.webhook(body, sign(body))
    assert response.status_code == 200, response.text


def test_a_signed_webhook_over_the_limit_is_payload_too_large(api: Api) -> None:
    body = padded(_charge("TKT-unknown-over-limit"), JSON_LIMIT + 1)
    expect_problem(api.webhook(body, sign(body)), 413, "payload_too_large")


def test_a_signed_prefix_with_junk_after_it_is_refused(api: Api) -> None:
    prefix = padded(_charge("TKT-unknown-prefix"), JSON_LIMIT)
    response = api.webhook(prefix + b"junk the signature does not cover", sign(prefix))
    expect_problem(response, 413, "payload_too_large")


def test_event_images_over_five_mib_are_payload_too_large(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free(), publish=False)
    response = api.call(
        "PUT",
        f"/api/v1/events/{event['id']}/image",
        token=organizer.token,
        content=b"\x89PNG\r\n\x1a\n" + b"\0" * IMAGE_LIMIT,
        headers={"content-type": "image/png"},
    )
    expect_problem(response, 413, "payload_too_large")


def test_a_chunked_body_without_a_length_is_counted_as_it_streams(api: Api) -> None:
    def chunks() -> Any:
        for _ in range(JSON_LIMIT // 4096 + 1):
            yield b" " * 4096

    response = api.call(
        "POST", "/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    expect_problem(response, 413, "payload_too_large")


# ---------------------------------------------------------------------- encodings and types


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"email": "\xff\xfe@example.com", "password": "x"}', id="invalid-utf8"),
        pytest.param(b'{"email": "\xed\xa0\x80@example.com", "password": "x"}', id="surrogate"),
        pytest.param(b'\xef\xbb\xbf{"email": "a@example.com", "password": "x"}', id="utf8-bom"),
        pytest.param('{"email": "a@example.com"}'.encode("utf-16"), id="utf16"),
        pytest.param(b'{"email": "a@example.com", "password": "\\ud800"}', id="lone-surrogate"),
        pytest.param(b"\x00" * 64, id="nul-bytes"),
    ],
)
def test_undecodable_text_is_refused_with_a_problem(api: Api, body: bytes) -> None:
    for method, path in PUBLIC_JSON_ROUTES:
        response = api.call(
            method, path, content=body, headers={"content-type": "application/json"}
        )
        problem = expect_refusal(response)
        assert problem["code"] in {"malformed_json", "validation_error", "invalid_credentials"}


@pytest.mark.parametrize(
    "body", [b'{"event_id": "x", "items": [], "buyer": {}}', b"\xff\xfe", b"[" * 1000]
)
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        "application/xml",
        "application/json; charset=latin-1",
        "",
        "\u00e9/\u00e9",
    ],
)
def test_wrong_content_types_are_refused_with_a_problem(
    api: Api, content_type: str, body: bytes
) -> None:
    for method, path in PUBLIC_JSON_ROUTES:
        headers = {"content-type": content_type.encode()} if content_type else {}
        response = api.call(method, path, content=body, headers=headers)
        expect_refusal(response)


def test_an_event_image_sent_as_json_is_unsupported(api: Api) -> None:
    organizer = api.register("organizer")
    event = api.create_event(organizer, paid_and_free(), publish=False)
    response = api.call(
        "PUT",
        f"/api/v1/events/{event['id']}/image",
        token=organizer.token,
        content=b'{"image": "not really"}',
        headers={"content-type": "application/json"},
    )
    expect_problem(response, 415, "unsupported_media_type")


# ---------------------------------------------------------------------- characters

CONTROL_AND_BIDI = [
    pytest.param("\x00", id="nul"),
    pytest.param("\x1b[31m", id="ansi-escape"),
    pytest.param("\x85", id="c1-next-line"),
    pytest.param("\x9b", id="c1-csi"),
    pytest.param("\u202e", id="right-to-left-override"),
    pytest.param("\u202a", id="left-to-right-embedding"),
    pytest.param("\u2066", id="left-to-right-isolate"),
    pytest.param("\u2069", id="pop-directional-isolate"),
]


@pytest.mark.parametrize("character", CONTROL_AND_BIDI)
def test_control_and_bidi_characters_in_names_are_validation_errors(
    api: Api, character: str
) -> None:
    body = {"email": unique_email(), "password": "long enough", "name": f"Ada{character}gpj.exe"}
    response = api.call("POST", "/api/v1/auth/register", json=body)
    problem = expect_problem(response, 422, "validation_error")
    assert [error["field"] for error in problem["errors"]] == ["name"], problem


@pytest.mark.parametrize("character", CONTROL_AND_BIDI)
def test_control_and_bidi_characters_in_queries_are_validation_errors(
    api: Api, character: str
) -> None:
    response = api.call("GET", "/api/v1/events", params={"city": f"Lagos{character}"})
    problem = expect_problem(response, 422, "validation_error")
    assert [error["field"] for error in problem["errors"]] == ["query.city"], problem


@pytest.mark.parametrize("character", CONTROL_AND_BIDI)
def test_control_and_bidi_characters_in_paths_name_nothing(api: Api, character: str) -> None:
    escaped = quote(f"x{character}y", safe="")
    expect_problem(api.call("GET", f"/api/v1/events/{escaped}"), 404, "not_found")


def test_right_to_left_text_itself_is_welcome(api: Api) -> None:
    body = {
        "email": "x-rtl@example.com",
        "password": "long enough",
        "name": "\u0622\u062f\u0627 \u200f",
    }
    api.call("POST", "/api/v1/auth/register", json=body, expect=201)


# ---------------------------------------------------------------------- headers


@pytest.mark.parametrize("size", [8 * 1024, 15 * 1024])
def test_large_headers_the_server_accepts_get_a_problem(api: Api, size: int) -> None:
    response = api.call("GET", "/api/v1/auth/me", headers={"authorization": "Bearer " + "a" * size})
    expect_problem(response, 401, "unauthenticated")
    response = api.call("GET", "/api/v1/events", headers={"x-request-id": "r" * size})
    assert response.status_code == 200, response.text
    assert len(response.headers["x-request-id"]) <= 64


@pytest.mark.parametrize("size", [64 * 1024])
def test_huge_headers_never_get_a_server_error(api: Api, size: int) -> None:
    response = api.call("GET", "/api/v1/auth/me", headers={"authorization": "Bearer " + "a" * size})
    # The server (h11) may refuse a header block itself, before the app sees it; when
    # the app answers, it is the usual problem.
    assert response.status_code < 500, response.status_code
    if response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        expect_problem(response, 401, "unauthenticated")


def test_many_headers_get_a_problem(api: Api) -> None:
    headers = {f"x-h{index}": "v" for index in range(200)}
    headers["authorization"] = "Bearer nonsense"
    expect_problem(api.call("GET", "/api/v1/auth/me", headers=headers), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"MessageSid=\xff&MessageStatus=%ff%fe"),
        (
            "multipart/form-data; boundary=zz",
            b'--zz\r\nContent-Disposition: form-data; name="a\xff"\r\n\r\n\xff\r\n--zz--\r\n',
        ),
        ("multipart/form-data", b"no boundary"),
        ("application/json", b'{"MessageSid": "x"}'),
    ],
)
def test_form_callbacks_refuse_garbage_with_a_problem(
    api: Api, content_type: str, body: bytes
) -> None:
    response = api.call(
        "POST", "/api/v1/webhooks/twilio", content=body, headers={"content-type": content_type}
    )
    expect_refusal(response)


@pytest.mark.parametrize(
    "target",
    [
        "/api/v1/events?city=%ff%fe",
        "/api/v1/events?%ff=1",
        "/api/v1/events?page=%ed%a0%80",
        "/api/v1/events/%ff%fe",
        "/api/v1/orders/%c3?token=%ff",
        "/api/v1/tickets/%ff/pdf?token=%80",
    ],
)
def test_undecodable_paths_and_queries_get_a_problem(api: Api, target: str) -> None:
    response = api.http.get(target)
    if response.status_code != 200:  # the list may read the bytes as U+FFFD and find nothing
        expect_refusal(response)


@pytest.mark.parametrize(
    "headers",
    [
        [(b"authorization", b"Bearer \xff\xfe")],
        [(b"x-order-token", b"\xff")],
        [(b"idempotency-key", b"\xc3\x28" * 100)],
        [(b"cookie", b"session=\xff\x80")],
        [(b"content-type", b"application/json; charset=\xff")],
    ],
)
def test_headers_that_are_not_text_get_a_problem(
    api: Api, headers: list[tuple[bytes, bytes]]
) -> None:
    response = api.http.post(
        "/api/v1/orders", content=b'{"event_id": "x", "items": []}', headers=headers
    )
    expect_refusal(response)
