"""Twilio simulator: ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` under ``/twilio``.

Faithful to ``docs/providers.md`` §3, so the official SDK talks to
it unchanged (``client.api.base_url = "<sandbox>/twilio"``):

- Form-encoded fields, HTTP Basic auth with the account SID and auth token; anything
  else is 401 ``{"code": 20003, "message": "Authenticate", "more_info", "status"}``.
- Errors in Twilio's legacy shape ``{code, message, more_info, status}``: 21604 no
  ``To``, 21603 no ``From``/``MessagingServiceSid``, 21602 no ``Body``, 21617 a body
  over 1600 characters, 21211 a ``To`` that is not E.164 or equals ``From``, 21212 a
  ``From`` that is not E.164, 21609 a bad ``StatusCallback`` URL.
- 201 with the message resource: ``sid`` ``SM`` + 32 hex, ``status: "queued"``,
  RFC 2822 dates, ``num_segments`` and ``num_media`` as strings.
- Injected faults (``state.twilio.fail_next``) come first: 500 (20500), 429 (20429),
  a held request (timeout), a 200 that is not JSON, or a lost response (the message is
  queued, the answer held past the client's timeout).

Magic numbers. ``To`` numbers from Twilio's own test-credentials page:

====================  =====  ===========================================
``+15005550001``      21211  invalid number
``+15005550002``      21612  Twilio cannot route to this number
``+15005550003``      21408  no international permission for this number
``+15005550004``      21610  the recipient unsubscribed (replied STOP)
``+15005550009``      21614  not a mobile number (landline)
====================  =====  ===========================================

``From`` numbers, also Twilio's: ``+15005550001`` 21212 (invalid sender),
``+15005550007`` 21606 (not SMS-capable / not yours), ``+15005550008`` 21611 (queue
full); ``+15005550006`` and any other E.164 number pass.

Sandbox-only ``To`` numbers (not Twilio's; they exercise delivery failures, which
Twilio reports in callbacks rather than as HTTP errors): ``+15005550030`` ends
``undelivered`` with ErrorCode 30003 (unreachable handset), ``+15005550031`` ends
``failed`` with ErrorCode 30008 (unknown error). Every other message goes
``queued -> sent -> delivered``.

Each accepted message is kept for ``/sandbox/outbox`` (:func:`sent_messages`) and moves
through its statuses in the background, a short delay apart. With a
``StatusCallback``, every status is POSTed there form-encoded, signed in
``X-Twilio-Signature`` with ``RequestValidator(auth_token).compute_signature``, once
(Twilio does not retry them); each POST is in ``state.twilio.deliveries``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio
import httpx
from litestar import MediaType, Request, Response, Router, post
from litestar.params import FromPath
from twilio.request_validator import RequestValidator

from getiickets.sandbox.config import SandboxConfig
from getiickets.sandbox.delivery import Retries, deliver, recorded
from getiickets.sandbox.faults import (
    FaultAnswers,
    fault_answer,
    hold_lost_answer,
    request_received,
)
from getiickets.sandbox.state import FaultKind, SandboxState

API_VERSION = "2010-04-01"
MAX_BODY_CHARACTERS = 1600
MAX_CALLBACK_URL = 4000
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
MAGIC_TO_ERRORS: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (
        21612,
        "The 'To' phone number: {to}, is not currently reachable using the 'From' phone number via SMS.",
    ),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number {to} is not a valid mobile number"),
}
INVALID_FROM = "+15005550001"
MAGIC_FROM_ERRORS: dict[str, tuple[int, str]] = {
    INVALID_FROM: (
        21212,
        "The 'From' number {from_} is not a valid phone number, shortcode, or alphanumeric sender ID.",
    ),
    "+15005550007": (
        21606,
        "The 'From' phone number provided ({from_}) is not a valid message-capable Twilio phone number for this destination/account.",
    ),
    "+15005550008": (
        21611,
        "This 'From' number has exceeded the maximum number of queued messages.",
    ),
}
DELIVERY_FAILURES: dict[str, tuple[tuple[str, ...], str]] = {
    "+15005550030": (("queued", "sent", "undelivered"), "30003"),
    "+15005550031": (("queued", "failed"), "30008"),
}
DELIVERED = ("queued", "sent", "delivered")
STATUS_STEP_SECONDS = 0.1
"""Between one status and the next; real handsets take seconds, a demo need not."""
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
"""Characters that take two septets (an escape, then the character)."""


def sent_messages(state: SandboxState) -> list[dict[str, Any]]:
    """Messages the simulator accepted, oldest first, with their current status."""
    with state.lock:
        return [dict(message) for message in state.twilio.data.get("messages", [])]


def segments(body: str) -> int:
    """How many SMS parts the body takes (GSM-7: 160/153 septets; else UCS-2: 70/67)."""
    if all(char in _GSM7 or char in _GSM7_EXTENDED for char in body):
        units = len(body) + sum(char in _GSM7_EXTENDED for char in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    return 1 if units <= single else math.ceil(units / part)


class TwilioRequestError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def create_router(
    state: SandboxState, config: SandboxConfig, *, status_step_seconds: float = STATUS_STEP_SECONDS
) -> Router:
    """The simulator's routes, to mount at ``/twilio``."""
    provider = state.twilio

    @post(
        f"/{API_VERSION}/Accounts/{{account_sid:str}}/Messages.json",
        operation_id="twilioCreateMessage",
        summary="Twilio simulator: send an SMS",
        include_in_schema=False,
    )
    async def create_message(
        request: Request[Any, Any, Any], account_sid: FromPath[str]
    ) -> Response[Any]:
        raw = await request.body()
        fault = request_received(state, provider, request, raw)
        answer = await fault_answer(fault, _FAULT_ANSWERS, config)
        if answer is not None:
            return answer
        response = _create(
            request.headers.get("authorization"),
            account_sid,
            raw,
            state=state,
            config=config,
            status_step_seconds=status_step_seconds,
        )
        # A lost answer: queued, and with no idempotency key at Twilio a blind resend
        # would text the buyer twice.
        await hold_lost_answer(fault, config)
        return response

    return Router(path="/twilio", route_handlers=[create_message], tags=["sandbox"])


def _create(
    authorization: str | None,
    account_sid: str,
    raw: bytes,
    *,
    state: SandboxState,
    config: SandboxConfig,
    status_step_seconds: float,
) -> Response[Any]:
    if not _authenticated(
        authorization, account_sid, config.twilio_account_sid, config.twilio_auth_token
    ):
        return Response(
            _error_body(401, 20003, "Authenticate"),
            status_code=401,
            media_type=MediaType.JSON,
            headers={"WWW-Authenticate": 'Basic realm="Twilio API"'},
        )
    form = dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    try:
        _validate(form)
    except TwilioRequestError as error:
        return Response(
            _error_body(error.status, error.code, error.message),
            status_code=error.status,
            media_type=MediaType.JSON,
        )
    message = _message(account_sid, form, datetime.now(UTC))
    with state.lock:
        state.twilio.data.setdefault("messages", []).append(message)
    callback = form.get("StatusCallback") or None
    state.run_in_background(_progress(state, message, callback, config, status_step_seconds))
    return Response(message, status_code=201, media_type=MediaType.JSON)


def _authenticated(
    authorization: str | None, path_sid: str, account_sid: str, auth_token: str
) -> bool:
    if not authorization or not authorization.lower().startswith("basic "):
        return False
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    username, _, password = decoded.partition(":")
    return (
        hmac.compare_digest(username.encode(), account_sid.encode())
        and hmac.compare_digest(password.encode(), auth_token.encode())
        and path_sid == account_sid
    )


def _validate(form: dict[str, str]) -> None:
    to, from_ = form.get("To", ""), form.get("From", "")
    if not to:
        raise TwilioRequestError(400, 21604, "A 'To' phone number is required.")
    if not from_ and not form.get("MessagingServiceSid"):
        raise TwilioRequestError(400, 21603, "A 'From' phone number is required.")
    if not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
        raise TwilioRequestError(400, 21602, "Message body is required.")
    if len(form.get("Body", "")) > MAX_BODY_CHARACTERS:
        raise TwilioRequestError(
            400, 21617, "The concatenated message body exceeds the 1600 character limit."
        )
    if from_ and not E164.fullmatch(from_):
        code, text = MAGIC_FROM_ERRORS[INVALID_FROM]
        raise TwilioRequestError(400, code, text.format(from_=from_))
    if not E164.fullmatch(to) or to == from_:
        raise TwilioRequestError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if from_ in MAGIC_FROM_ERRORS:
        code, text = MAGIC_FROM_ERRORS[from_]
        raise TwilioRequestError(400, code, text.format(from_=from_))
    if to in MAGIC_TO_ERRORS:
        code, text = MAGIC_TO_ERRORS[to]
        raise TwilioRequestError(400, code, text.format(to=to))
    callback = form.get("StatusCallback")
    if callback is not None:
        parts = urlsplit(callback)
        if (
            parts.scheme not in {"http", "https"}
            or not parts.hostname
            or "_" in parts.hostname
            or len(callback) > MAX_CALLBACK_URL
        ):
            raise TwilioRequestError(
                400, 21609, f"The StatusCallback URL {callback} is not a valid URL."
            )


def _message(account_sid: str, form: dict[str, str], now: datetime) -> dict[str, Any]:
    sid = f"SM{uuid.uuid4().hex}"
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
    body = form.get("Body", "")
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": format_datetime(now),
        "date_sent": None,
        "date_updated": format_datetime(now),
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From") or None,
        "messaging_service_sid": form.get("MessagingServiceSid") or None,
        "num_media": "0",
        "num_segments": str(segments(body)),
        "price": None,
        "price_unit": None,
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": form["To"],
        "uri": f"{uri}.json",
    }


def _error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _error_response(status: int, code: int, message: str) -> Response[Any]:
    return Response(
        _error_body(status, code, message), status_code=status, media_type=MediaType.JSON
    )


_FAULT_ANSWERS: FaultAnswers[Response[Any]] = {
    FaultKind.SERVER_ERROR: lambda: _error_response(500, 20500, "Internal Server Error"),
    FaultKind.RATE_LIMITED: lambda: _error_response(429, 20429, "Too Many Requests"),
    FaultKind.TIMEOUT: lambda: _error_response(504, 20504, "Gateway Timeout"),
    FaultKind.MALFORMED: lambda: Response(
        "<html><body>Bad Gateway</body></html>", status_code=200, media_type=MediaType.HTML
    ),
}


async def _progress(
    state: SandboxState,
    message: dict[str, Any],
    callback: str | None,
    config: SandboxConfig,
    delay: float,
) -> None:
    statuses, error_code = DELIVERY_FAILURES.get(message["to"], (DELIVERED, None))
    async with httpx.AsyncClient(timeout=config.webhook_timeout_seconds) as client:
        for status in statuses:
            await anyio.sleep(delay)
            now = datetime.now(UTC)
            terminal_error = error_code if status in {"undelivered", "failed"} else None
            with state.lock:
                message["status"] = status
                message["date_updated"] = format_datetime(now)
                if status == "sent":
                    message["date_sent"] = format_datetime(now)
                if terminal_error is not None:
                    message["error_code"] = int(terminal_error)
                params = _callback_params(message, terminal_error)
            if callback is not None:
                await _post_callback(state, client, callback, params, config.twilio_auth_token)


def _callback_params(message: dict[str, Any], error_code: str | None) -> dict[str, str]:
    params = {
        "AccountSid": message["account_sid"],
        "ApiVersion": API_VERSION,
        "From": message["from"] or "",
        "MessageSid": message["sid"],
        "MessageStatus": message["status"],
        "SmsSid": message["sid"],
        "SmsStatus": message["status"],
        "To": message["to"],
    }
    if message["messaging_service_sid"]:
        params["MessagingServiceSid"] = message["messaging_service_sid"]
    if error_code is not None:
        params["ErrorCode"] = error_code
    return params


async def _post_callback(
    state: SandboxState,
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, str],
    auth_token: str,
) -> None:
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": RequestValidator(auth_token).compute_signature(url, params),
    }
    delivery = recorded(
        state,
        state.twilio,
        event=params["MessageStatus"],
        url=url,
        headers=headers,
        body=urlencode(params).encode(),
    )
    # Twilio does not retry status callbacks: a failed one is simply lost.
    await deliver(state, client, delivery, Retries())
