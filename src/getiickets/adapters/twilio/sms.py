"""``TwilioSmsSender``: SMS through the official ``twilio`` SDK.

Facts from ``docs/providers.md`` §3. The SDK's sync client runs in a
worker thread (``anyio.to_thread.run_sync``), as docs/architecture.md asks of sync SDKs: its
``*_async`` twin needs an aiohttp session bound to one event loop, which a client built
once at start-up and shared by workers and tests cannot promise. The sandbox is reached
by pointing ``client.api.base_url`` at it (section 3.4, option A).

Twilio's Messages API has no idempotency key, so the "same key, sent once" promise of
the ``SmsSender`` port is kept in this process: the receipt of every key sent is kept
(bounded), and concurrent sends of one key wait for each other. Across processes the
outbox's lease is what stands between a message and a second SMS.

Retries inside one ``send`` happen only where Twilio surely did not take the message:
20429 ("not processed, safe to retry"), 5xx, and a connection that never opened
(urllib3's ``NewConnectionError`` is a ``ConnectTimeoutError``, so one check covers
refused, unresolvable and timed-out connects). A read timeout, a connection dropped
mid-answer or an unreadable 2xx may hide a queued SMS, so those go back to the outbox
as transient failures instead of being sent again at once.

The SDK's client, and ``requests`` under it, are imported with the first send, off the
event loop: every API process builds this sender, only the worker sends (an API
process has no use for the ~4 MB they keep resident).
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException

from getiickets.adapters.delivery_retries import TryAgain, send_with_retries
from getiickets.ports.notifications import (
    DeliveryError,
    DeliveryReceipt,
    ProviderNotConfiguredError,
    SmsMessage,
)

if TYPE_CHECKING:
    import requests
    from twilio.rest import Client

logger = logging.getLogger(__name__)

E164 = re.compile(r"\+[1-9][0-9]{7,14}")
"""A plus, then 8 to 15 digits with no leading zero (the in-memory fake's rule too)."""
PERMANENT_CODES: Mapping[int, str] = {
    21211: "the 'To' number is not a valid phone number",
    21614: "the 'To' number is not a mobile number (landline?)",
    21610: "the recipient unsubscribed (replied STOP)",
    21608: "the 'To' number is not verified on this trial account",
    21606: "the 'From' number cannot send SMS",
    21612: "Twilio cannot route between these numbers",
}
AUTHENTICATION_FAILED = 20003
TOO_MANY_REQUESTS = 20429
_KNOWN_RECEIPTS_KEPT = 4096


class TwilioSmsSender:
    """An ``SmsSender`` backed by Twilio; raises ``ProviderNotConfiguredError`` without
    an account SID, auth token and sender number."""

    def __init__(
        self,
        account_sid: str | None,
        auth_token: str | None,
        from_number: str | None,
        *,
        base_url: str | None = None,
        status_callback_url: str | None = None,
        max_attempts: int = 3,
        retry_delay: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._from = from_number or None
        self._status_callback_url = status_callback_url or None
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._credentials = (
            (account_sid, auth_token) if account_sid and auth_token and from_number else None
        )
        self._base_url = base_url.rstrip("/") if base_url else None
        self._timeout = timeout
        self._client: Client | None = None
        self._receipts: OrderedDict[str, DeliveryReceipt] = OrderedDict()
        self._locks: dict[str, anyio.Lock] = {}

    @property
    def configured(self) -> bool:
        return self._credentials is not None

    async def send(self, message: SmsMessage) -> DeliveryReceipt:
        credentials = self._credentials
        if credentials is None:
            raise ProviderNotConfiguredError(
                "Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_PHONE_NUMBER)"
            )
        if not E164.fullmatch(message.to):
            raise DeliveryError(
                f"21211: the 'To' number {message.to!r} is not E.164", permanent=True
            )
        key = message.idempotency_key
        lock = self._locks.setdefault(key, anyio.Lock())
        try:
            async with lock:
                receipt = self._receipts.get(key)
                if receipt is None:
                    client = self._client
                    if client is None:
                        client = await anyio.to_thread.run_sync(self._new_client, *credentials)
                    receipt = await self._send_with_retries(client, message)
                    self._remember(key, receipt)
                return receipt
        finally:
            if not lock.locked() and lock.statistics().tasks_waiting == 0:
                self._locks.pop(key, None)

    def _new_client(self, account_sid: str, auth_token: str) -> Client:
        """The SDK's client, imported and built with the first send (see the module)."""
        from twilio.http.http_client import TwilioHttpClient  # noqa: PLC0415
        from twilio.rest import Client  # noqa: PLC0415

        # The SDK reads TWILIO_EDGE/TWILIO_REGION from os.environ unless given a
        # mapping: an explicit empty one keeps settings.py the only reader of the
        # environment, and an edge would rewrite the sandbox's host.
        client = Client(
            account_sid,
            auth_token,
            http_client=TwilioHttpClient(timeout=self._timeout),
            environment={"TWILIO_EDGE": "", "TWILIO_REGION": ""},
        )
        if self._base_url:
            client.api.base_url = self._base_url
        # Two first sends at once may each build one: the one kept is as good as the other.
        self._client = client
        return client

    async def _send_with_retries(self, client: Client, message: SmsMessage) -> DeliveryReceipt:
        create = partial(
            client.messages.create,
            to=message.to,
            from_=self._from,
            body=message.body,
            status_callback=self._status_callback_url or values.unset,
        )
        # 20429 asks us to back off: a few quick retries here, the outbox does the rest.
        return await send_with_retries(
            lambda: self._attempt(create),
            provider="Twilio",
            max_attempts=self._max_attempts,
            retry_delay=self._retry_delay,
        )

    async def _attempt(self, create: partial[Any]) -> DeliveryReceipt:
        import requests  # noqa: PLC0415 - loaded with the client, before any attempt

        try:
            instance = await anyio.to_thread.run_sync(create)
        except (TwilioRestException, TwilioServiceException) as error:
            raise _mapped(error) from error
        except requests.exceptions.ConnectionError as error:
            unreachable = DeliveryError(f"Twilio unreachable: {error!r}", permanent=False)
            if _never_connected(error):
                raise TryAgain(unreachable) from error
            # Dropped after the request went out: it may have been queued.
            raise unreachable from error
        except requests.exceptions.RequestException as error:
            raise DeliveryError(
                f"Twilio did not answer in time (the SMS may be queued): {error!r}",
                permanent=False,
            ) from error
        except (ValueError, TypeError) as error:
            # A 2xx whose body is not a message: Twilio may have queued it anyway.
            raise DeliveryError(
                f"Twilio answered with an unreadable body: {error!r}", permanent=False
            ) from error
        except TwilioException as error:
            raise DeliveryError(f"Twilio: {error!r}", permanent=False) from error
        sid = getattr(instance, "sid", None)
        if not isinstance(sid, str) or not sid:
            raise DeliveryError("Twilio answered without a message sid", permanent=False)
        return DeliveryReceipt(provider_message_id=sid)

    def _remember(self, key: str, receipt: DeliveryReceipt) -> None:
        self._receipts[key] = receipt
        self._receipts.move_to_end(key)
        while len(self._receipts) > _KNOWN_RECEIPTS_KEPT:
            self._receipts.popitem(last=False)


def _never_connected(error: requests.exceptions.ConnectionError) -> bool:
    """Refused, unresolvable or timed out while connecting: Twilio never saw the request."""
    import requests  # noqa: PLC0415 - loaded with the client
    import urllib3.exceptions  # noqa: PLC0415

    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    cause = error.args[0] if error.args else None
    # requests wraps urllib3's MaxRetryError, whose ``reason`` is the real failure.
    return isinstance(getattr(cause, "reason", cause), urllib3.exceptions.ConnectTimeoutError)


def _mapped(error: TwilioRestException | TwilioServiceException) -> Exception:
    """The port's error for a Twilio error response (``TryAgain`` when safe to resend)."""
    status, code = error.status, error.code
    # str(error) adds terminal colours when stderr is a tty: build the text ourselves.
    text = error.msg if isinstance(error, TwilioRestException) else error.detail or error.title
    detail = f"Twilio {status} error {code}: {text}"
    if code in PERMANENT_CODES:
        return DeliveryError(f"{detail} ({PERMANENT_CODES[code]})", permanent=True)
    if code == TOO_MANY_REQUESTS or status == 429:  # noqa: PLR2004
        return TryAgain(DeliveryError(detail, permanent=False))
    if status >= 500:  # noqa: PLR2004
        return TryAgain(DeliveryError(detail, permanent=False))
    if code == AUTHENTICATION_FAILED or status == 401:  # noqa: PLR2004
        logger.error("Twilio rejected the credentials (TWILIO_ACCOUNT_SID/AUTH_TOKEN): %s", detail)
        return DeliveryError(detail, permanent=True)
    if 400 <= status < 500:  # noqa: PLR2004
        # Any other refusal of the request itself will be refused again.
        return DeliveryError(detail, permanent=True)
    return DeliveryError(detail, permanent=False)
