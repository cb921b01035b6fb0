"""Request-scoped values handlers declare: the services, and who is asking."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State

from getiickets.domain.model.accounts import Actor
from getiickets.domain.model.errors import UnauthenticatedError
from getiickets.entrypoints.services import Services

SESSION_COOKIE = "session"
ORDER_TOKEN_HEADER = "x-order-token"  # noqa: S105 - a header name, not a secret


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(SESSION_COOKIE) or None


async def provide_actor(request: Request[Any, Any, Any], state: State) -> Actor | None:
    """The authenticated caller, or None for an anonymous one.

    A token that is sent but not valid is an error (401), not an anonymous call: a
    client with an expired session must learn it, not see a guest's view.
    """
    token = bearer_token(request)
    if token is None:
        return None
    return await provide_services(state).accounts.authenticate(token)


def signed_in(actor: Actor | None) -> Actor:
    if actor is None:
        raise UnauthenticatedError("sign in first")
    return actor
