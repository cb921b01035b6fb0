"""Brevo simulator: ``POST /v3/smtp/email``, ``GET /v3/smtp/emails`` (mounted under
``/brevo``) and the webhooks.

Faithful to ``docs/providers.md`` §2:

- ``api-key`` header checked: a wrong or missing key is 401
  ``{"code": "unauthorized", "message": "Key not found"}``.
- Validation as documented, errors 400 ``{"code": "missing_parameter" |
  "invalid_parameter" | "bad_request", "message": ...}``: ``sender`` (``email`` or
  ``id``) and ``subject`` unless ``templateId``; ``to`` (non-empty, valid emails);
  ``htmlContent`` unless ``templateId``; every ``attachment`` has ``url`` xor base64
  ``content``, a ``name`` with ``content``, and an allowed file extension.
- 201 ``{"messageId": "<...@smtp-relay.mailin.fr>"}``, angle brackets included.
- ``headers.idempotencyKey`` (any spelling Brevo's Title-Case rewrite would give the
  same, e.g. ``Idempotency-Key``): a key reused within 30 minutes is 400
  ``duplicate_parameter`` and nothing is sent.
- ``headers["X-Sib-Sandbox"] == "drop"``: validated, 201, but neither stored nor
  reported, as Brevo's own sandbox mode does.
- Injected faults (``state.brevo.fail_next``) come before everything else: 500, 429
  with ``x-sib-ratelimit-limit``/``-remaining``/``-reset`` headers, a held request
  (timeout), a 200 that is not JSON, or a lost response (the email is accepted, the
  answer held past the client's timeout).

``GET /v3/smtp/emails`` is Brevo's log of transactional emails: ``api-key`` checked,
one of ``email`` / ``templateId`` / ``messageId`` required (else 400
``missing_parameter``), ``sort`` (``desc``, the default, or ``asc``), ``limit``
(default 500, at most 1000) and ``offset``; 200 ``{"count", "transactionalEmails":
[{email, subject, templateId?, messageId, uuid, date, from, tags}]}``, one entry per
recipient. It shows what was accepted, a send whose answer was lost included.

Accepted emails are kept for ``/sandbox/outbox`` (:func:`accepted_emails`), webhooks
sent in ``state.brevo.deliveries`` with every try. With a webhook URL configured, each
accepted email is followed by ``request`` then ``delivered`` events (snake_case
``event``, hyphenated ``message-id``, one event per POST, ``Authorization: Bearer
<token>``). Like Brevo, a 429 or no answer is retried on
the sandbox's compressed schedule (``config.webhook_retry_delays``; Brevo's is +10 min,
+1 h, +2 h, +8 h) and any other 4xx or 5xx drops the event.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx
import msgspec
from litestar import MediaType, Request, Response, Router, get, post

from getiickets.sandbox.config import SandboxConfig
from getiickets.sandbox.delivery import Retries, deliver, recorded
from getiickets.sandbox.faults import (
    FaultAnswers,
    fault_answer,
    hold_lost_answer,
    request_received,
)
from getiickets.sandbox.state import FaultKind, SandboxState

IDEMPOTENCY_TTL = timedelta(minutes=30)
"""The current docs page says 30 minutes (the first changelog said 15)."""
RATE_LIMIT = 1000
"""Per second on ``/v3/smtp/email`` (general tier); shown in ``x-sib-ratelimit-limit``."""
RATE_LIMIT_RESET_SECONDS = 1.0
"""``x-sib-ratelimit-reset`` on an injected 429: the send limit is per second."""
EVENT_DELAY_SECONDS = 0.1
"""Between acceptance and each webhook event: "request", then "delivered"."""
ALLOWED_EXTENSIONS = frozenset(
    [
        "xlsx",
        "xls",
        "ods",
        "docx",
        "docm",
        "doc",
        "csv",
        "pdf",
        "txt",
        "gif",
        "jpg",
        "jpeg",
        "png",
        "tif",
        "tiff",
        "rtf",
        "bmp",
        "cgm",
        "css",
        "shtml",
        "html",
        "htm",
        "zip",
        "xml",
        "ppt",
        "pptx",
        "tar",
        "ez",
        "ics",
        "mobi",
        "msg",
        "pub",
        "eps",
        "odt",
        "mp3",
        "m4a",
        "m4v",
        "wma",
        "ogg",
        "flac",
        "wav",
        "aif",
        "aifc",
        "aiff",
        "mp4",
        "mov",
        "avi",
        "mkv",
        "mpeg",
        "mpg",
        "wmv",
        "pkpass",
        "xlsm",
    ]
)
"""Brevo's list of accepted attachment extensions (its API reference; docs/providers.md §2.1
quotes part of it)."""
LOG_DEFAULT_LIMIT = 500
LOG_MAX_LIMIT = 1000
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_BREVO_TZ = ZoneInfo("Europe/Paris")
"""Webhook ``date`` is Brevo's local time (CET/CEST)."""


class BrevoRequestError(Exception):
    """A request Brevo would refuse; becomes its ``{code, message}`` error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class _Accepted:
    message_id: str
    email: dict[str, Any]
    dropped: bool = False
    """``X-Sib-Sandbox: drop``: answered like a send, but nothing was sent."""


def accepted_emails(state: SandboxState) -> list[dict[str, Any]]:
    """Emails the simulator accepted (not dropped), oldest first: the outbox view."""
    with state.lock:
        return [dict(email) for email in state.brevo.data.get("emails", [])]


def create_router(
    state: SandboxState,
    config: SandboxConfig,
    *,
    rate_limit_reset_seconds: float = RATE_LIMIT_RESET_SECONDS,
    event_delay_seconds: float = EVENT_DELAY_SECONDS,
) -> Router:
    """The simulator's routes, to mount at ``/brevo``.

    Webhook retries follow ``config.webhook_retry_delays`` (Brevo's own schedule is
    +10 min, +1 h, +2 h, +8 h), each try bounded by ``config.webhook_timeout_seconds``.
    """
    provider = state.brevo
    answers = _fault_answers(rate_limit_reset_seconds)

    @post(
        "/v3/smtp/email",
        operation_id="brevoSendTransacEmail",
        summary="Brevo simulator: send a transactional email",
        include_in_schema=False,
    )
    async def send_transac_email(request: Request[Any, Any, Any]) -> Response[Any]:
        raw = await request.body()
        fault = request_received(state, provider, request, raw)
        answer = await fault_answer(fault, answers, config)
        if answer is not None:
            return answer
        response = _send(request.headers.get("api-key"), raw, state, config, event_delay_seconds)
        # A lost answer: sent, and only the idempotency key stops the client's retry
        # from sending the email twice.
        await hold_lost_answer(fault, config)
        return response

    @get(
        "/v3/smtp/emails",
        operation_id="brevoGetTransacEmailsList",
        summary="Brevo simulator: the log of transactional emails",
        include_in_schema=False,
    )
    async def get_transac_emails_list(request: Request[Any, Any, Any]) -> Response[Any]:
        request_received(state, provider, request, b"", faulty=False)
        if not _key_matches(request.headers.get("api-key"), config.brevo_api_key):
            return _error(401, "unauthorized", "Key not found")
        try:
            listed = _email_log(state, dict(request.query_params))
        except BrevoRequestError as error:
            return _error(error.status, error.code, error.message)
        return Response(listed, status_code=200, media_type=MediaType.JSON)

    return Router(
        path="/brevo",
        route_handlers=[send_transac_email, get_transac_emails_list],
        tags=["sandbox"],
    )


def _email_log(state: SandboxState, query: dict[str, str]) -> dict[str, Any]:
    recipient, template_id, message_id = (
        query.get("email"),
        query.get("templateId"),
        query.get("messageId"),
    )
    if recipient is None and template_id is None and message_id is None:
        raise BrevoRequestError(
            400, "missing_parameter", "email, templateId or messageId is required"
        )
    sort = query.get("sort", "desc")
    try:
        limit = int(query.get("limit", LOG_DEFAULT_LIMIT))
        offset = int(query.get("offset", 0))
    except ValueError as error:
        raise BrevoRequestError(400, "invalid_parameter", "limit and offset are numbers") from error
    if sort not in {"asc", "desc"} or not 0 <= limit <= LOG_MAX_LIMIT or offset < 0:
        raise BrevoRequestError(400, "invalid_parameter", "sort, limit or offset is invalid")
    entries = [
        _logged(email, to)
        for email in accepted_emails(state)
        for to in email.get("to") or []
        if (recipient is None or str(to.get("email", "")).lower() == recipient.lower())
        and (template_id is None or str(email.get("templateId")) == template_id)
        and (message_id is None or email["messageId"] == message_id)
    ]
    if sort == "desc":
        entries.reverse()
    return {"count": len(entries), "transactionalEmails": entries[offset : offset + limit]}


def _logged(email: dict[str, Any], to: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "email": to.get("email"),
        "subject": email.get("subject"),
        "messageId": email["messageId"],
        "uuid": email["uuid"],
        "date": email["acceptedAt"],
        "from": (email.get("sender") or {}).get("email"),
        "tags": email.get("tags") or [],
    }
    if email.get("templateId") is not None:
        entry["templateId"] = email["templateId"]
    return entry


def _send(
    api_key: str | None,
    raw: bytes,
    state: SandboxState,
    config: SandboxConfig,
    event_delay_seconds: float,
) -> Response[Any]:
    if not _key_matches(api_key, config.brevo_api_key):
        return _error(401, "unauthorized", "Key not found")
    try:
        email = _validated(raw)
        accepted = _accept(state, email, now=datetime.now(UTC))
    except BrevoRequestError as error:
        return _error(error.status, error.code, error.message)
    if not accepted.dropped and config.brevo_webhook_url:
        state.run_in_background(
            _send_webhooks(state, config, config.brevo_webhook_url, accepted, event_delay_seconds)
        )
    return Response({"messageId": accepted.message_id}, status_code=201, media_type=MediaType.JSON)


def _key_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _validated(raw: bytes) -> dict[str, Any]:
    try:
        email = msgspec.json.decode(raw)
    except msgspec.DecodeError as error:
        raise BrevoRequestError(400, "bad_request", "Input must be a valid JSON object") from error
    if not isinstance(email, dict):
        raise BrevoRequestError(400, "bad_request", "Input must be a valid JSON object")
    templated = email.get("templateId") is not None
    if templated and not isinstance(email["templateId"], int):
        raise BrevoRequestError(400, "invalid_parameter", "templateId must be an integer")
    _check_sender(email.get("sender"), required=not templated)
    _check_recipients(email)
    if not templated:
        if not _non_empty_text(email.get("subject")):
            raise BrevoRequestError(400, "missing_parameter", "subject is missing")
        if not _non_empty_text(email.get("htmlContent")):
            raise BrevoRequestError(400, "missing_parameter", "htmlContent is missing")
    _check_attachments(email.get("attachment"))
    custom = email.get("headers")
    if custom is not None and not isinstance(custom, dict):
        raise BrevoRequestError(400, "invalid_parameter", "headers must be an object")
    return email


def _check_sender(sender: object, *, required: bool) -> None:
    if sender is None:
        if required:
            raise BrevoRequestError(400, "missing_parameter", "sender is missing")
        return
    if not isinstance(sender, dict):
        raise BrevoRequestError(400, "invalid_parameter", "sender must be an object")
    if sender.get("id") is not None:
        return
    if not isinstance(sender.get("email"), str) or not _EMAIL.fullmatch(sender["email"]):
        raise BrevoRequestError(400, "invalid_parameter", "valid sender email required")


def _check_recipients(email: dict[str, Any]) -> None:
    if email.get("messageVersions") is not None:
        return
    recipients = email.get("to")
    if recipients is None:
        raise BrevoRequestError(400, "missing_parameter", "to is missing")
    if not isinstance(recipients, list) or not recipients:
        raise BrevoRequestError(400, "invalid_parameter", "to must be a non-empty list")
    for recipient in recipients:
        address = recipient.get("email") if isinstance(recipient, dict) else None
        if not isinstance(address, str) or not _EMAIL.fullmatch(address):
            raise BrevoRequestError(400, "invalid_parameter", "email is not valid in to")


def _check_attachments(attachments: object) -> None:
    if attachments is None:
        return
    if not isinstance(attachments, list):
        raise BrevoRequestError(400, "invalid_parameter", "attachment must be a list")
    for item in attachments:
        if not isinstance(item, dict):
            raise BrevoRequestError(400, "invalid_parameter", "attachment must hold objects")
        url, content, name = item.get("url"), item.get("content"), item.get("name")
        if (url is None) == (content is None):
            raise BrevoRequestError(
                400, "invalid_parameter", "attachment needs either url or content, not both"
            )
        if content is not None:
            if not _non_empty_text(name):
                raise BrevoRequestError(
                    400, "missing_parameter", "attachment name is required with content"
                )
            try:
                base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError, TypeError) as error:
                raise BrevoRequestError(
                    400, "invalid_parameter", "attachment content must be base64"
                ) from error
        elif not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise BrevoRequestError(400, "invalid_parameter", "attachment url must be absolute")
        filename = str(name) if _non_empty_text(name) else str(url).split("?")[0].rsplit("/", 1)[-1]
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if extension not in ALLOWED_EXTENSIONS:
            raise BrevoRequestError(
                400, "invalid_parameter", f"attachment extension {extension!r} is not allowed"
            )


def _non_empty_text(value: object) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _custom_header(email: dict[str, Any], name: str) -> str | None:
    """A ``headers`` entry, matched as Brevo's Title-Case rewrite would match it."""
    wanted = name.replace("-", "").lower()
    for key, value in (email.get("headers") or {}).items():
        if str(key).replace("-", "").lower() == wanted:
            return str(value)
    return None


def _accept(state: SandboxState, email: dict[str, Any], *, now: datetime) -> _Accepted:
    message_id = f"<{now:%Y%m%d%H%M%S}.{uuid.uuid4().int % 10**12:012d}@smtp-relay.mailin.fr>"
    if (_custom_header(email, "X-Sib-Sandbox") or "").lower() == "drop":
        # Brevo's sandbox mode: validated and answered, never sent nor logged.
        return _Accepted(message_id=message_id, email=email, dropped=True)
    key = _custom_header(email, "idempotencyKey")
    with state.lock:
        keys: dict[str, datetime] = state.brevo.data.setdefault("idempotency_keys", {})
        if key is not None:
            seen = keys.get(key)
            if seen is not None and now - seen < IDEMPOTENCY_TTL:
                raise BrevoRequestError(
                    400,
                    "duplicate_parameter",
                    "An email with the same idempotencyKey was already sent",
                )
            keys[key] = now
        stored = {
            "messageId": message_id,
            "uuid": str(uuid.uuid4()),
            "acceptedAt": now.isoformat(),
            "sender": email.get("sender"),
            "to": email.get("to"),
            "subject": email.get("subject"),
            "htmlContent": email.get("htmlContent"),
            "textContent": email.get("textContent"),
            "attachment": email.get("attachment") or [],
            "headers": email.get("headers") or {},
            "templateId": email.get("templateId"),
            "tags": email.get("tags") or [],
        }
        state.brevo.data.setdefault("emails", []).append(stored)
    return _Accepted(message_id=message_id, email=stored)


def _fault_answers(reset: float) -> FaultAnswers[Response[Any]]:
    def rate_limited() -> Response[Any]:
        return Response(
            {"code": "too_many_requests", "message": "Too many requests, retry later"},
            status_code=429,
            media_type=MediaType.JSON,
            headers={
                "x-sib-ratelimit-limit": str(RATE_LIMIT),
                "x-sib-ratelimit-remaining": "0",
                "x-sib-ratelimit-reset": f"{reset:g}",
            },
        )

    def malformed() -> Response[Any]:
        return Response(
            "<html><body>Service Unavailable</body></html>",
            status_code=200,
            media_type=MediaType.HTML,
        )

    return {
        FaultKind.SERVER_ERROR: lambda: _error(500, "internal_error", "Internal server error"),
        FaultKind.RATE_LIMITED: rate_limited,
        FaultKind.TIMEOUT: lambda: _error(504, "gateway_timeout", "Timed out"),
        FaultKind.MALFORMED: malformed,
    }


def _error(status: int, code: str, message: str) -> Response[Any]:
    return Response(
        {"code": code, "message": message}, status_code=status, media_type=MediaType.JSON
    )


def webhook_event(event: str, accepted: _Accepted, now: datetime) -> dict[str, Any]:
    """One transactional webhook payload, field for field as Brevo posts it."""
    email = accepted.email
    recipients = email.get("to") or [{}]
    payload: dict[str, Any] = {
        "event": event,
        "email": recipients[0].get("email"),
        "id": 1,
        "date": now.astimezone(_BREVO_TZ).strftime("%Y-%m-%d %H:%M:%S"),
        "ts": int(now.timestamp()),
        "message-id": accepted.message_id,
        "ts_event": int(now.timestamp()),
        "ts_epoch": int(now.timestamp() * 1000),
        "subject": email.get("subject"),
        "tags": email.get("tags") or [],
        "sending_ip": "127.0.0.1",
    }
    custom = (email.get("headers") or {}).get("X-Mailin-custom")
    if custom is not None:
        payload["X-Mailin-custom"] = custom
    if email.get("templateId") is not None:
        payload["template_id"] = email["templateId"]
    return payload


async def _send_webhooks(
    state: SandboxState,
    config: SandboxConfig,
    url: str,
    accepted: _Accepted,
    delay: float,
) -> None:
    headers = {"content-type": "application/json"}
    if config.brevo_webhook_token:
        headers["authorization"] = f"Bearer {config.brevo_webhook_token}"
    # Brevo's rule: only a 429 or no answer earns a retry; any other 4xx or 5xx
    # discards the event.
    retries = Retries(
        delays=config.webhook_retry_delays,
        retried=lambda status: status is None or status == 429,  # noqa: PLR2004
    )
    async with httpx.AsyncClient(timeout=config.webhook_timeout_seconds) as client:
        for event in ("request", "delivered"):
            await anyio.sleep(delay)
            body = msgspec.json.encode(webhook_event(event, accepted, datetime.now(UTC)))
            delivery = recorded(
                state, state.brevo, event=event, url=url, headers=headers, body=body
            )
            await deliver(state, client, delivery, retries)
