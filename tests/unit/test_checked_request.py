"""``CheckedRequest``: a struct body is decoded once, strictly, and errors keep their order
(malformed JSON before a misfit)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar import Litestar, Request, post
from litestar.params import JSONBody
from litestar.testing import TestClient

from getiickets.entrypoints.http.bodies import CheckedRequest
from getiickets.entrypoints.http.errors import EXCEPTION_HANDLERS


class Item(msgspec.Struct):
    ticket_type_id: str
    quantity: int


class Basket(msgspec.Struct):
    items: list[Item]


received: list[object] = []


@post("/baskets", status_code=200)
async def take(data: JSONBody[Basket]) -> dict[str, int]:
    received.append(data)
    return {"count": len(data.items)}


@pytest.fixture
def client() -> Any:
    received.clear()
    app = Litestar(
        route_handlers=[take],
        request_class=CheckedRequest,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    with TestClient(app) as client:
        yield client


def _post(client: Any, body: bytes) -> Any:
    return client.post("/baskets", content=body, headers={"content-type": "application/json"})


def test_a_fitting_body_is_parsed_once_into_the_struct(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    generic_parses: list[bytes] = []
    litestar_json = Request.json

    async def counted(self: Request[Any, Any, Any]) -> Any:
        generic_parses.append(await self.body())
        return await litestar_json(self)

    monkeypatch.setattr(Request, "json", counted)

    response = _post(client, b'{"items": [{"ticket_type_id": "tt", "quantity": 2}]}')

    assert response.status_code == 200, response.text
    assert received == [Basket(items=[Item(ticket_type_id="tt", quantity=2)])]
    assert generic_parses == []


def test_a_truncated_body_is_malformed_json_even_where_its_start_does_not_fit(
    client: Any,
) -> None:
    response = _post(client, b'{"items": [{"ticket_type_id": "tt", "quantity": "2"')

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "malformed_json"
    assert received == []


@pytest.mark.parametrize("quantity", [b'"2"', b"2.0", b"true"])
def test_a_well_formed_misfit_is_a_validation_error_naming_the_field(
    client: Any, quantity: bytes
) -> None:
    response = _post(
        client, b'{"items": [{"ticket_type_id": "tt", "quantity": ' + quantity + b"}]}"
    )

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [error["field"] for error in problem["errors"]] == ["items.0.quantity"]
    assert received == []
