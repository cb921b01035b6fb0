"""``Idempotency-Key``: the same key and body get the first response, once.

The key is recorded as in progress before the work runs, so a client that retries
while its first request is still running gets a 409 instead of a second order. The
response is stored when the work ends, errors included (a 409 ``sold_out`` replays
as such, as Stripe does); only a failure on our side (5xx) frees the key for a retry.

A key is not a credential: clients pick careless keys ("1", "checkout") as often as
random ones. So every key lives in the scope of its caller (the route plus who is
asking, see the ``*_caller`` helpers), and a route whose access depends on the body
passes ``authorize``, which runs before anything is claimed or replayed: someone who
may not make the request gets the same answer with a key as without one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, Self

import msgspec
from litestar import Request, Response

from getiickets.adapters.idempotency_records import IdempotencyRecord
from getiickets.domain.model.accounts import Actor, canonical_email
from getiickets.domain.model.errors import DomainError, DuplicateError, IdempotencyConflictError
from getiickets.domain.usecases.access import OrderAccess
from getiickets.entrypoints.http.errors import PROBLEM_JSON, problem_of, status_of
from getiickets.ports.clock import Clock

if TYPE_CHECKING:
    from types import TracebackType

MAX_KEY_LENGTH = 255
IN_PROGRESS = 0
RETRYABLE = -1
"""Stored after a failure on our side: the next request with the key runs again."""
SERVER_ERROR = 500


class IdempotencyUnit(Protocol):
    """One short transaction on the records: ``async with unit: ...; await unit.commit()``.

    Not a domain port: no use case reads status codes and bodies. The stores are this
    entrypoint's (``adapters/memory/idempotency``, ``adapters/sqlalchemy/idempotency``),
    each opened only while no other connection of the request is held.
    """

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    async def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...
    async def add(self, record: IdempotencyRecord) -> None:
        """Raises ``DuplicateError`` if the key was recorded already."""
        ...

    async def complete(self, record: IdempotencyRecord) -> None:
        """Store the response of a recorded (in-progress) key; ``NotFoundError`` if absent."""
        ...

    async def commit(self) -> None: ...


IdempotencyStore = Callable[[], IdempotencyUnit]
"""Opens a fresh unit on the records."""


async def idempotent(
    *,
    store: IdempotencyStore,
    clock: Clock,
    route: str,
    caller: str,
    key: str | None,
    body: bytes,
    status_code: int,
    work: Callable[[], Awaitable[Any]],
    authorize: Callable[[], Awaitable[object]] | None = None,
) -> Response[Any]:
    """Run ``work`` once per key and caller; replay its stored response for a repeat.

    ``authorize`` raises when the caller may not make this request; ``work`` checks
    access itself too (it must, without a key), so it only runs when a key is sent.
    """
    if key is None:
        return Response(await work(), status_code=status_code)
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise IdempotencyConflictError("Idempotency-Key must be 1 to 255 characters")
    if authorize is not None:
        await authorize()
    record = IdempotencyRecord(
        scope=f"{route}:{caller}",
        key=key,
        fingerprint=hashlib.sha256(body).hexdigest(),
        status_code=IN_PROGRESS,
        body=b"",
        created_at=clock.now(),
    )
    stored = await _claim(store, record)
    if stored is not None:
        return _replay(stored)
    try:
        result = await work()
    except DomainError as error:
        status = status_of(error)
        if status >= SERVER_ERROR:
            await _store(store, record, RETRYABLE, b"")
            raise
        await _store(store, record, status, domain_error_body(error))
        raise
    except BaseException:
        await _store(store, record, RETRYABLE, b"")
        raise
    encoded = msgspec.json.encode(result)
    await _store(store, record, status_code, encoded)
    return Response(encoded, status_code=status_code, media_type="application/json")


def user_caller(actor: Actor) -> str:
    return f"user:{actor.user_id}"


def order_caller(access: OrderAccess) -> str:
    """The user, else the order token that grants access (by digest: no credentials at rest)."""
    if access.actor is not None:
        return user_caller(access.actor)
    return f"token:{_digest(access.access_token or '')}"


def guest_client_caller(request: Request[Any, Any, Any], buyer_email: str) -> str:
    """Who a guest placing an order is, as far as anything can tell.

    A guest has proved nothing yet, so only what they send can tell their retry from a
    stranger's request, and a key alone is not enough (see the module's docstring).
    Their scope is the client (address and User-Agent) and the buyer's email from the
    body; the body itself must match too. To be replayed another guest's order and
    access token, a stranger would have to send the same key and body, for the same
    email, from the same address with the same User-Agent: be indistinguishable from
    the buyer's own retry, for an order whose tickets go to that buyer's mailbox anyway.
    Anything less lands in a scope of its own and places an order of its own.

    The price: a guest whose retry comes from a new address (Wi-Fi to mobile data)
    places a second order instead of getting the first back. That order holds stock
    until it expires, and it leaks nothing. Digests keep addresses and emails out of
    the table.
    """
    address = request.client.host if request.client else ""
    agent = request.headers.get("user-agent", "")
    email = canonical_email(buyer_email)
    return f"guest:{_digest(chr(0).join((address, agent, email)))}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def domain_error_body(error: DomainError) -> bytes:
    return msgspec.json.encode(problem_of(error))


async def _claim(store: IdempotencyStore, record: IdempotencyRecord) -> IdempotencyRecord | None:
    """Record the key as ours; or the stored record when the key was used before."""
    try:
        async with store() as unit:
            await unit.add(record)
            await unit.commit()
    except DuplicateError:
        pass
    else:
        return None
    async with store() as unit:
        stored = await unit.get(record.scope, record.key)
        if stored is None or stored.fingerprint != record.fingerprint:
            raise IdempotencyConflictError(
                "this Idempotency-Key was used with a different request"
            ) from None
        if stored.in_progress:
            raise IdempotencyConflictError("a request with this Idempotency-Key is still running")
        if stored.status_code != RETRYABLE:
            return stored
        # The earlier attempt failed on our side: this one takes the key over. Two
        # retries racing here meet the record's version check; one of them loses.
        await unit.complete(record)
        await unit.commit()
    return None


def _replay(stored: IdempotencyRecord) -> Response[Any]:
    is_error = stored.status_code >= 400  # noqa: PLR2004 - client errors replay as problems
    return Response(
        stored.body,
        status_code=stored.status_code,
        media_type=PROBLEM_JSON if is_error else "application/json",
        headers={"Idempotent-Replayed": "true"},
    )


async def _store(
    store: IdempotencyStore, record: IdempotencyRecord, status_code: int, body: bytes
) -> None:
    async with store() as unit:
        await unit.complete(msgspec.structs.replace(record, status_code=status_code, body=body))
        await unit.commit()
