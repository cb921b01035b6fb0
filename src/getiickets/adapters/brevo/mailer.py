"""``BrevoMailer``: transactional email through Brevo's ``POST /v3/smtp/email``.

Request and error facts follow ``docs/providers.md`` §2: the
``api-key`` header, the singular ``attachment`` array (``url`` or base64 ``content``,
``name`` required with ``content``), and ``headers.idempotencyKey`` in the JSON body
(not an HTTP header). Brevo answers a reused key with ``duplicate_parameter`` and sends
nothing: that is how this adapter retries safely after a timeout, and why such an
answer counts as success (the earlier attempt went through).

That answer carries no ``messageId``, and the earlier attempt's answer was lost (or
went to another process), yet delivery webhooks are matched by that id. So every
email is also tagged with its idempotency key (``tags``), and after a
``duplicate_parameter`` the adapter asks Brevo's own log, ``GET /v3/smtp/emails``
filtered by recipient, for the email carrying that tag: the id comes from Brevo, so
any process finds it, however the first answer was lost. If the log cannot tell (down,
not caught up), the email still counts as sent, without an id, and a warning says so:
failing it would make the outbox resend it after Brevo forgot the key.

Retries inside one ``send`` are few and short (the outbox worker owns the long
backoff): 5xx, 408/409/425, network errors, timeouts and a malformed 2xx are tried
again up to ``max_attempts``; a 429 waits for ``x-sib-ratelimit-reset`` when that is
short enough. Everything else is a permanent failure.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import anyio
import httpx
import msgspec
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
)

from getiickets.adapters.delivery_retries import TryAgain, backoff, send_with_retries
from getiickets.ports.notifications import (
    Attachment,
    DeliveryError,
    DeliveryReceipt,
    EmailMessage,
    ProviderNotConfiguredError,
)

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.brevo.com/v3"
RATE_LIMIT_RESET_HEADER = "x-sib-ratelimit-reset"
_DUPLICATE = "duplicate_parameter"
_TRANSIENT_STATUSES = frozenset({408, 409, 425})
"""Timeout, conflicting concurrent request, too early: the v4 SDK retries these too."""
LOG_PAGE_SIZE = 100
"""Emails to one recipient read back from Brevo's log, newest first: a retry follows
its first attempt within the 30-minute idempotency window, so it is near the top."""


class _Created(msgspec.Struct):
    message_id: str = msgspec.field(name="messageId")


class _Logged(msgspec.Struct):
    message_id: str = msgspec.field(name="messageId")
    tags: list[str] = []


class _Log(msgspec.Struct):
    emails: list[_Logged] = msgspec.field(name="transactionalEmails", default_factory=list)


class _AlreadySent(Exception):  # noqa: N818 - control flow: Brevo refused a repeat
    pass


class _Problem(msgspec.Struct):
    code: str = ""
    message: str = ""


class BrevoMailer:
    """A ``Mailer`` backed by Brevo. Without an API key it raises ``ProviderNotConfiguredError``.

    ``client`` is shared with the rest of the process (the composition root owns it);
    when it is None the mailer opens its own on first use and ``aclose`` closes it.
    """

    def __init__(
        self,
        client: httpx.AsyncClient | None,
        api_key: str | None,
        sender_email: str | None,
        sender_name: str | None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        max_attempts: int = 3,
        retry_delay: float = 0.5,
        max_rate_limit_wait: float = 5.0,
        timeout: float = 10.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._client = client
        self._owns_client = False
        self._api_key = api_key or None
        self._sender_email = sender_email or None
        self._sender_name = sender_name or None
        self._url = base_url.rstrip("/") + "/smtp/email"
        self._log_url = base_url.rstrip("/") + "/smtp/emails"
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._max_rate_limit_wait = max_rate_limit_wait
        self._timeout = httpx.Timeout(timeout)

    @property
    def configured(self) -> bool:
        return self._api_key is not None and self._sender_email is not None

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
            self._owns_client = False

    async def send(self, message: EmailMessage) -> DeliveryReceipt:
        if self._api_key is None or self._sender_email is None:
            raise ProviderNotConfiguredError(
                "Brevo is not configured (BREVO_API_KEY, sender email)"
            )
        content = msgspec.json.encode(self.request_body(message))
        headers = {
            "api-key": self._api_key,
            "accept": "application/json",
            "content-type": "application/json",
        }
        try:
            return await send_with_retries(
                lambda: self._post(content, headers),
                provider="Brevo",
                max_attempts=self._max_attempts,
                retry_delay=self._retry_delay,
            )
        except _AlreadySent:
            logger.info(
                "Brevo already has idempotency key %s: not sent again", message.idempotency_key
            )
            message_id = await self._logged_message_id(message, headers)
            return DeliveryReceipt(provider_message_id=message_id)

    def request_body(self, message: EmailMessage) -> dict[str, Any]:
        """The documented ``SendSmtpEmail`` JSON for this message."""
        sender: dict[str, str] = {"email": self._sender_email or ""}
        if self._sender_name:
            sender = {"name": self._sender_name, **sender}
        recipient = {"email": message.to_email}
        if message.to_name:
            recipient["name"] = message.to_name
        body: dict[str, Any] = {
            "sender": sender,
            "to": [recipient],
            "subject": message.subject,
            "htmlContent": message.html,
        }
        if message.text:
            body["textContent"] = message.text
        if message.attachments:
            body["attachment"] = [_attachment(item) for item in message.attachments]
        body["headers"] = {"idempotencyKey": message.idempotency_key}
        # What finds this email in Brevo's log when the answer to its send is lost.
        body["tags"] = [message.idempotency_key]
        return body

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
            self._owns_client = True
        return self._client

    async def _post(self, content: bytes, headers: dict[str, str]) -> DeliveryReceipt:
        client = self._http()
        try:
            response = await client.post(
                self._url, content=content, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as error:
            # The email may have been accepted: the retry carries the same
            # idempotency key, so Brevo will not send it twice.
            raise TryAgain(DeliveryError(f"Brevo timed out: {error!r}", permanent=False)) from error
        except httpx.TransportError as error:
            raise TryAgain(
                DeliveryError(f"Brevo unreachable: {error!r}", permanent=False)
            ) from error
        return self._receipt(response)

    async def _logged_message_id(
        self, message: EmailMessage, headers: dict[str, str]
    ) -> str | None:
        """The ``messageId`` Brevo's log shows for the email tagged with this key.

        Read again, on the send's own backoff, while the log fails or does not show
        it yet (it may lag behind the send)."""
        retrying = AsyncRetrying(
            retry=retry_if_result(lambda found: found is None)
            | retry_if_exception_type((httpx.HTTPError, msgspec.DecodeError)),
            stop=stop_after_attempt(self._max_attempts),
            wait=backoff(self._retry_delay),
            sleep=anyio.sleep,
            retry_error_callback=lambda _: None,
        )
        message_id: str | None = await retrying(self._read_log, message, headers)
        if message_id is None:
            logger.warning(
                "Brevo sent the email with idempotency key %s but its log does not show it: "
                "its delivery reports cannot be matched",
                message.idempotency_key,
            )
        return message_id

    async def _read_log(self, message: EmailMessage, headers: dict[str, str]) -> str | None:
        response = await self._http().get(
            self._log_url,
            params={"email": message.to_email, "sort": "desc", "limit": LOG_PAGE_SIZE},
            headers=headers,
            timeout=self._timeout,
        )
        if response.status_code != 200:  # noqa: PLR2004
            return None
        log = msgspec.json.decode(response.content, type=_Log)
        for logged in log.emails:
            if message.idempotency_key in logged.tags:
                return logged.message_id
        return None

    def _receipt(self, response: httpx.Response) -> DeliveryReceipt:
        status = response.status_code
        if 200 <= status < 300:  # noqa: PLR2004 - the 2xx range
            try:
                message_id = msgspec.json.decode(response.content, type=_Created).message_id
            except msgspec.DecodeError as error:
                raise TryAgain(
                    DeliveryError(
                        f"Brevo answered {status} with an unexpected body", permanent=False
                    )
                ) from error
            return DeliveryReceipt(provider_message_id=message_id)
        problem = _problem(response)
        detail = (
            f"Brevo {status} {problem.code or '-'}: {problem.message or response.reason_phrase}"
        )
        if problem.code == _DUPLICATE:
            # Our only repeatable parameter is the idempotency key (one recipient, no
            # cc/bcc), so this is Brevo refusing to send the same email twice.
            raise _AlreadySent
        if status == 429:  # noqa: PLR2004
            reset = _seconds(response.headers.get(RATE_LIMIT_RESET_HEADER))
            limited = DeliveryError(detail, permanent=False)
            if reset is not None and reset <= self._max_rate_limit_wait:
                raise TryAgain(limited, delay=reset)
            raise limited
        if status >= 500 or status in _TRANSIENT_STATUSES:  # noqa: PLR2004
            raise TryAgain(DeliveryError(detail, permanent=False))
        if status == 401:  # noqa: PLR2004
            logger.error("Brevo rejected the API key (BREVO_API_KEY is wrong): %s", detail)
            raise DeliveryError(detail, permanent=True)
        if status == 402:  # noqa: PLR2004
            # Out of credits: hopeless now, but fine again once someone tops up, so the
            # outbox keeps the message and tries later.
            logger.error("Brevo account is out of credits: %s", detail)
            raise DeliveryError(detail, permanent=False)
        if status == 403:  # noqa: PLR2004
            logger.error("Brevo refused the request (permission, sender or IP): %s", detail)
        raise DeliveryError(detail, permanent=True)


def _attachment(attachment: Attachment) -> dict[str, str]:
    # Brevo takes a URL or base64 content, never both; a URL is lighter to send.
    if attachment.url:
        return {"url": attachment.url, "name": attachment.name}
    if attachment.content is not None:
        return {
            "content": base64.b64encode(attachment.content).decode("ascii"),
            "name": attachment.name,
        }
    raise DeliveryError(
        f"attachment {attachment.name!r} has neither url nor content", permanent=True
    )


def _problem(response: httpx.Response) -> _Problem:
    try:
        return msgspec.json.decode(response.content, type=_Problem)
    except msgspec.DecodeError:
        return _Problem()


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
