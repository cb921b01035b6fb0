"""Every error becomes RFC 9457 problem details here, and only here.

Domain errors carry their stable ``code``; this module adds the HTTP status. Bad
input never reaches a 500: malformed JSON is 400 ``malformed_json``, a body that does
not fit its schema is 422 ``validation_error`` with dotted field paths.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotFoundException,
    SerializationException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec

from getiickets.adapters.sqlalchemy.errors import is_unavailable
from getiickets.domain.model import errors
from getiickets.entrypoints.http.schemas import FieldError, Problem
from getiickets.entrypoints.logs import FailureLog

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
"""What a 503 asks clients to wait: outages we ride out (a restart, a failover) last
seconds, and the pool and clients reconnect by themselves."""
_UNAVAILABLE = (errors.DatabaseUnavailableError, errors.CacheUnavailableError)
_PUBLIC_DETAIL = {
    errors.DatabaseUnavailableError.code: "the database is unavailable; try again shortly",
    errors.CacheUnavailableError.code: "the cache is unavailable; try again shortly",
}
"""Outages are answered in fixed words: the adapters' detail (driver errors, addresses)
is for our log, not for clients."""

failures = FailureLog(logger)
"""An outage fails every request the same way: one line per kind of failure, not one
(with a traceback) per request."""

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "https://getiickets.com/problems/"

# Most specific first: the first class an error is an instance of decides its status.
STATUS_BY_ERROR: tuple[tuple[type[errors.DomainError], int], ...] = (
    (errors.NotFoundError, 404),
    (errors.ValidationError, 422),
    (errors.TooManyTicketsError, 422),
    (errors.InvalidTicketError, 422),
    (errors.WrongEventError, 422),
    (errors.SoldOutError, 409),
    (errors.SalesClosedError, 409),
    (errors.InvalidStateError, 409),
    (errors.ConflictError, 409),
    (errors.EmailTakenError, 409),
    (errors.IdempotencyConflictError, 409),
    (errors.DuplicateError, 409),
    (errors.InvalidCredentialsError, 401),
    (errors.UnauthenticatedError, 401),
    (errors.InvalidSignatureError, 401),
    (errors.ForbiddenError, 403),
    (errors.QueueRequiredError, 403),
    (errors.InvalidAdmissionError, 403),
    (errors.UnsupportedMediaTypeError, 415),
    (errors.PayloadTooLargeError, 413),
    (errors.RateLimitedError, 429),
    (errors.PaymentProviderUnavailableError, 502),
    (errors.PaymentProviderError, 502),
    (errors.CacheUnavailableError, 503),
    (errors.DatabaseUnavailableError, 503),
)

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}
_INDEX = re.compile(r"\[(\d+)\]")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")


def problem(
    status: int,
    code: str,
    detail: str,
    field_errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    return Response(
        Problem(
            type=PROBLEM_TYPE + code,
            title=HTTPStatus(status).phrase,
            status=status,
            detail=detail,
            code=code,
            errors=field_errors,
        ),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def status_of(error: errors.DomainError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 400


def problem_of(error: errors.DomainError) -> Problem:
    status = status_of(error)
    field_errors = None
    if isinstance(error, errors.ValidationError):
        field_errors = [FieldError(field=error.field or "body", message=error.detail)]
    return Problem(
        type=PROBLEM_TYPE + error.code,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=_PUBLIC_DETAIL.get(error.code, error.detail),
        code=error.code,
        errors=field_errors,
        queue_url=error.queue_url if isinstance(error, errors.QueueRequiredError) else None,
    )


def domain_error(request: Request[Any, Any, Any], error: errors.DomainError) -> Response[Problem]:
    body = problem_of(error)
    headers = None
    if isinstance(error, errors.RateLimitedError):
        headers = {"Retry-After": "60"}
    elif isinstance(error, _UNAVAILABLE):
        cause = type(error.__cause__).__name__ if error.__cause__ else "no cause"
        failures.failed(f"{error.code} ({cause})", f"{_route(request)}: {error.detail}")
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return Response(body, status_code=body.status, media_type=PROBLEM_JSON, headers=headers)


def validation_error(_: Request[Any, Any, Any], error: ValidationException) -> Response[Problem]:
    field_errors = [_field_error(item) for item in (error.extra or []) if isinstance(item, dict)]
    return problem(422, "validation_error", "the request does not fit the schema", field_errors)


def serialization_error(
    _: Request[Any, Any, Any], error: SerializationException
) -> Response[Problem]:
    return problem(400, "malformed_json", f"the body is not valid JSON: {error.detail}")


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Problem]:
    # Litestar turns an undecodable body into a 400 caused by a SerializationException;
    # msgspec words it variously ("JSON is malformed", "Input data was truncated"...).
    if error.status_code == 400 and isinstance(error.__cause__, SerializationException):  # noqa: PLR2004
        return problem(400, "malformed_json", f"the body is not valid JSON: {error.detail}")
    if isinstance(error, NotFoundException):
        return problem(404, "not_found", "no such resource")
    code = _CODE_BY_STATUS.get(error.status_code, "http_error")
    # The exception's own headers carry meaning: a 405's ``Allow`` lists the methods.
    return problem(error.status_code, code, str(error.detail), headers=error.headers)


def unexpected_error(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    if is_unavailable(error):
        # A database error no adapter translated (a driver's own, mid-request).
        unavailable = errors.DatabaseUnavailableError(f"{type(error).__name__}: {error}")
        unavailable.__cause__ = error
        return domain_error(request, unavailable)
    # A bug fails every request that reaches it: its traceback once, then a count.
    failures.failed(
        f"internal_error ({type(error).__name__} on {_route(request)})",
        "unhandled error",
        level=logging.ERROR,
        exc_info=error,
    )
    return problem(500, "internal_error", "something went wrong on our side")


def _route(request: Request[Any, Any, Any]) -> str:
    return f"{request.method} {request.scope.get('path_template') or request.url.path}"


def msgspec_error(_: Request[Any, Any, Any], error: msgspec.ValidationError) -> Response[Problem]:
    """For bodies decoded by hand (raw-body routes)."""
    return problem(422, "validation_error", str(error), [_from_msgspec(str(error))])


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    errors.DomainError: domain_error,
    ValidationException: validation_error,
    SerializationException: serialization_error,
    msgspec.ValidationError: msgspec_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}


def _field_error(item: dict[str, Any]) -> FieldError:
    message = str(item.get("message", "invalid value"))
    key = str(item.get("key") or "")
    return FieldError(field=_dotted(key, message), message=message)


def _dotted(key: str, message: str) -> str:
    """``items[0].quantity`` -> ``items.0.quantity``; the body root becomes the field named in the message."""
    path = _INDEX.sub(r".\1", key).strip(".")
    if path in {"data", "body", ""}:
        path = ""
    for pattern in (_MISSING_FIELD, _UNKNOWN_FIELD):
        if match := pattern.search(message):
            path = f"{path}.{match[1]}" if path else match[1]
    return path or "body"


def _from_msgspec(message: str) -> FieldError:
    location = message.rsplit(" - at `", 1)
    key = location[1].rstrip("`").removeprefix("$").lstrip(".") if len(location) == 2 else ""  # noqa: PLR2004
    return FieldError(field=_dotted(key, location[0]), message=location[0])


def documented(*statuses: int) -> dict[int, ResponseSpec]:
    """The error responses a route can give, for its OpenAPI operation."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=f"{HTTPStatus(status).phrase} (problem details; see `code`)",
            media_type=PROBLEM_JSON,
        )
        for status in statuses
    }
