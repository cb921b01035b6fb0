"""Values handlers declare (a use case, a port, who is asking), and the guards that say
who may call a route.

Every field of the process's ``Services`` is a dependency of the same name, so a handler
names exactly what it uses (``ordering: NamedDependency[Ordering]``) and nothing else;
``DEPENDENCIES`` is the one place they are provided, for the whole app.
Litestar checks a dependency against its declared type with ``isinstance``, which a
port (a ``typing.Protocol``) cannot answer: declare those ``SkipValidation[Port]``.

A route's access rule is a guard, declared on its handler: Litestar runs guards before
it resolves the handler's parameters, the body (``data``) among them, so a caller who
may not call a route is told so (401, 403, or 404 for an event that is not there)
whatever they sent, and learns nothing about the route's schema. Who is asking is
looked up once per request and remembered on it; guards and handlers share it.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.handlers import BaseRouteHandler

from getiickets.domain.model.accounts import Actor
from getiickets.domain.model.errors import ForbiddenError, UnauthenticatedError
from getiickets.domain.usecases.access import OrderAccess
from getiickets.entrypoints.services import Services

SESSION_COOKIE = "session"
ORDER_TOKEN_HEADER = "x-order-token"  # noqa: S105 - a header name, not a secret
EVENT_ID_PARAMETER = "event_id"
_ACTOR = "actor"
"""Where the request's state keeps who is asking, once known."""

Connection = ASGIConnection[Any, Any, Any, Any]


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


def _field_of_services(name: str) -> Any:
    def provide(state: State) -> Any:
        return getattr(provide_services(state), name)

    provide.__name__ = f"provide_{name}"
    return provide


# ``services`` is declared by the two below although ``identify`` finds it itself:
# depending on it puts them in a batch after it. Litestar resolves the dependencies of
# one batch in an anyio task group, one task each, which cost a handler taking
# ``services`` and ``actor`` ~90 us of its ~140 us per request (the hot public reads
# take exactly those two).


async def provide_actor(
    request: Request[Any, Any, Any], services: NamedDependency[Services]
) -> Actor | None:
    return await identify(request)


async def provide_user(
    request: Request[Any, Any, Any], services: NamedDependency[Services]
) -> Actor:
    """The signed-in caller, for handlers guarded by ``requires_sign_in`` or stricter."""
    return signed_in(await identify(request))


DEPENDENCIES: dict[str, Provide] = {
    **{
        field.name: Provide(_field_of_services(field.name), sync_to_thread=False)
        for field in fields(Services)
    },
    "services": Provide(provide_services, sync_to_thread=False),
    "actor": Provide(provide_actor),
    "user": Provide(provide_user),
}


def bearer_token(connection: Connection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return connection.cookies.get(SESSION_COOKIE) or None


async def identify(connection: Connection) -> Actor | None:
    """The authenticated caller, or None for an anonymous one.

    A token that is sent but not valid is an error (401), not an anonymous call: a
    client with an expired session must learn it, not see a guest's view.
    """
    state = connection.state
    if _ACTOR in state:
        known: Actor | None = state[_ACTOR]
        return known
    token = bearer_token(connection)
    actor = None
    if token is not None:
        actor = await provide_services(connection.app.state).accounts.authenticate(token)
    state[_ACTOR] = actor
    return actor


def signed_in(actor: Actor | None) -> Actor:
    if actor is None:
        raise UnauthenticatedError("sign in first")
    return actor


def order_access(
    request: Request[Any, Any, Any], actor: Actor | None, token: str | None
) -> OrderAccess:
    """What a caller shows to see an order: who they are, and its token if they have it."""
    return OrderAccess(actor=actor, access_token=request.headers.get(ORDER_TOKEN_HEADER) or token)


# ---------------------------------------------------------------------- guards


async def identifies_caller(connection: Connection, _: BaseRouteHandler) -> None:
    """Anyone may call; a session token that is sent must be valid (else 401)."""
    await identify(connection)


async def identify_before_the_body(request: Request[Any, Any, Any]) -> None:
    """``identifies_caller`` as a ``before_request`` hook, for a rush's hot route.

    Litestar runs it, as it runs guards, before the body is read, so a bad token is a
    401 whatever the body; but a guard costs a copy of the handler per request, which
    was a tenth of the order route's CPU. Returns None: the handler runs next.
    """
    await identify(request)


async def requires_sign_in(connection: Connection, _: BaseRouteHandler) -> None:
    signed_in(await identify(connection))


async def requires_organizer(connection: Connection, _: BaseRouteHandler) -> None:
    if not signed_in(await identify(connection)).is_organizer:
        raise ForbiddenError("only organizers may do this")


async def requires_event_owner(connection: Connection, handler: BaseRouteHandler) -> None:
    """The organizer of the event in the path: 404 for no such event, 403 for another's."""
    await requires_organizer(connection, handler)
    actor = signed_in(await identify(connection))
    catalog = provide_services(connection.app.state).catalog
    await catalog.check_owner(actor, connection.path_params[EVENT_ID_PARAMETER])
