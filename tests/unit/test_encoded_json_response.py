"""``EncodedJson`` sends what Litestar's ``Response`` sends for the same body, and is
Litestar's own response whenever a route, the app or the response adds anything."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, MediaType, Response, post
from litestar.datastructures import Cookie
from litestar.testing import TestClient

from getiickets.entrypoints.http.responses import EncodedJson, _Sent

BODY = b'{"id":"ord_1","status":"pending","total":{"amount":"5000.00"}}'


@post("/fast", status_code=201)
async def fast() -> Response[Any]:
    return EncodedJson(BODY, status_code=201)


@post("/litestar", status_code=201)
async def litestar_own() -> Response[Any]:
    return Response(BODY, status_code=201, media_type=MediaType.JSON)


@post("/with-cookie", status_code=201, response_cookies=[Cookie(key="seen", value="1")])
async def with_cookie() -> Response[Any]:
    return EncodedJson(BODY, status_code=201)


@post("/with-header", status_code=201)
async def with_header() -> Response[Any]:
    response = EncodedJson(BODY, status_code=201)
    response.headers["x-extra"] = "1"
    return response


@pytest.fixture
def client() -> Any:
    app = Litestar(route_handlers=[fast, litestar_own, with_cookie, with_header])
    with TestClient(app) as client:
        yield client


def test_the_same_status_headers_and_body_as_litestar_s_response(client: Any) -> None:
    ours, theirs = client.post("/fast"), client.post("/litestar")

    assert (ours.status_code, ours.content) == (theirs.status_code, theirs.content) == (201, BODY)
    assert sorted(ours.headers.items()) == sorted(theirs.headers.items())


def test_anything_to_merge_is_merged(client: Any) -> None:
    assert client.post("/with-cookie").cookies["seen"] == "1"
    assert client.post("/with-header").headers["x-extra"] == "1"


def test_with_nothing_to_merge_it_skips_litestar_s_asgi_response() -> None:
    sent = EncodedJson(BODY, status_code=201).to_asgi_response(
        None, None, headers={}, cookies=[], background=None, status_code=201
    )
    merged = EncodedJson(BODY, status_code=201).to_asgi_response(
        None, None, headers={"x-route": "1"}, cookies=[], background=None, status_code=201
    )

    assert isinstance(sent, _Sent)
    assert not isinstance(merged, _Sent)


def test_it_holds_what_litestar_s_response_holds_for_the_same_arguments() -> None:
    ours = EncodedJson(BODY, status_code=201)
    theirs = Response(BODY, status_code=201, media_type=MediaType.JSON)

    assert {name: getattr(ours, name) for name in Response.__slots__} == {
        name: getattr(theirs, name) for name in Response.__slots__
    }
