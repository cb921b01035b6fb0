"""``PaystackGateway``: the ``PaymentGateway`` port over Paystack's HTTP API (httpx).

Facts followed are in ``docs/providers.md`` §1: Bearer secret key,
the ``{status, message, data, meta}`` envelope (``status`` is whether the *call* worked,
``data.status`` the transaction's), amounts in subunits, an unknown reference answered
404 by the spec and 400 in the field, an empty reference falling through to another
route, ``requested_amount`` beside ``amount`` when fees are passed on to the customer,
and webhooks signed with HMAC-SHA512 (hex) of the raw body under the secret key.

Retries: network errors, 5xx and 429 are retried with exponential backoff and jitter
(at least ``Retry-After`` when Paystack sends it), only where a repeat cannot do harm:

- GETs (verify, the refund list): always.
- initialize: the reference makes it idempotent at Paystack. A repeat can only meet
  ``duplicate_reference``, never create a second transaction; ``initialize`` explains
  how a duplicate is answered.
- refund: a request that may have reached Paystack (a timeout after sending, a 5xx, an
  unreadable answer) is never re-sent blindly. Each refund call carries its own marker
  in ``merchant_note``; before re-sending, the transaction's refunds are read and a
  refund with that marker is the answer. Failures that prove nothing was processed
  (connection refused, 429) are re-sent directly.

An unreadable 2xx answer (not JSON, or not Paystack's envelope) counts as a lost answer,
not as a refusal: it is what a proxy's error page or a cut-off response looks like, and
Paystack may well have acted. It is retried under the rules above and ends in
``PaymentProviderUnavailableError`` when retries run out.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import ssl
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from getiickets.adapters import paystack_wire
from getiickets.domain.model.errors import (
    CheckoutUnavailableError,
    InvalidMoneyError,
    NotFoundError,
    PaymentProviderError,
    PaymentProviderUnavailableError,
)
from getiickets.domain.model.money import Money
from getiickets.domain.model.payments import (
    PaymentEvent,
    PaymentInitialization,
    PaymentVerification,
    RefundReceipt,
    RefundStatus,
)
from getiickets.ports.hot_state import Cache
from getiickets.ports.payments import PaymentRequest

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.paystack.co"
# Paystack's rule for references (docs/providers.md §1.8). Checked before a verify so that
# nothing but a reference ever lands in the URL path.
_REFERENCE = re.compile(r"[A-Za-z0-9.=-]+")
_FULLY_REVERSED = "fully reversed"
_DUPLICATE_REFERENCE = "duplicate_reference"
# Long enough to outlive any pending order (reservations last 15 minutes by default).
_CHECKOUT_TTL = timedelta(hours=24)
_LOCAL_CHECKOUTS = 4096
_REFUNDS_PER_PAGE = 100
_SYSTEM_RANDOM = secrets.SystemRandom()


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry a call that may succeed next time."""

    attempts: int = 4
    """Tries in all, the first included."""
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0
    """A ``Retry-After`` longer than this ends the retries at once: nobody waits that long
    for a checkout link, and the caller (or the worker) can try again later."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts counts the first try, so it is at least 1")
        if min(self.base_delay, self.max_delay, self.max_retry_after) < 0:
            raise ValueError("delays cannot be negative")

    def backoff(self, retry: int, fraction: float) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry).

        Exponential with "equal jitter": half of the ceiling is fixed, half random, so
        clients that failed together spread out without ever retrying at once.
        """
        ceiling = min(self.max_delay, self.base_delay * 2**retry)
        return ceiling / 2 + ceiling / 2 * fraction


DEFAULT_RETRY = RetryPolicy()


def create_paystack_client(
    timeout: float = 10.0,
    *,
    connect_timeout: float = 5.0,
    verify: ssl.SSLContext | bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The one client per process that the composition root builds (and closes).

    ``verify``: an ``ssl.SSLContext`` for a private CA, or False for plain-HTTP local
    simulators (it also skips loading the CA bundle, some 50 ms per client).
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        headers={"User-Agent": "getiickets", "Accept": "application/json"},
        verify=verify,
        transport=transport,
    )


class _Checkout(msgspec.Struct, frozen=True, kw_only=True):
    """A checkout link Paystack gave us, with what it was for."""

    fingerprint: str
    authorization_url: str
    access_code: str
    reference: str

    def initialization(self) -> PaymentInitialization:
        return PaymentInitialization(
            authorization_url=self.authorization_url,
            access_code=self.access_code,
            reference=self.reference,
        )


class _TransientError(Exception):
    """The call may work if repeated: nothing readable came back, or Paystack asked to wait."""

    def __init__(
        self, reason: str, *, maybe_processed: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maybe_processed = maybe_processed
        """False only when the request provably had no effect (not sent, or rate limited)."""
        self.retry_after = retry_after


class _RefusedError(Exception):
    """Paystack read the request and said no; repeating it changes nothing."""

    def __init__(self, status_code: int, message: str, code: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.code = code


class PaystackGateway:
    def __init__(
        self,
        client: httpx.AsyncClient,
        secret_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        retry: RetryPolicy = DEFAULT_RETRY,
        checkouts: Cache | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = _SYSTEM_RANDOM.random,
    ) -> None:
        """``checkouts``: a cache shared by every process (Redis in production) that
        remembers the checkout links handed out, so that any process can answer a
        repeated ``initialize``; without it each process remembers its own."""
        if not secret_key:
            raise ValueError("a Paystack secret key is required")
        self._client = client
        self._secret_key = secret_key
        self._base_url = base_url.rstrip("/")
        self._retry = retry
        self._shared_checkouts = checkouts
        self._local_checkouts: OrderedDict[str, _Checkout] = OrderedDict()
        self._sleep = sleep
        self._jitter = jitter

    # ------------------------------------------------------------------ the port

    async def initialize(self, request: PaymentRequest) -> PaymentInitialization:
        """POST /transaction/initialize; a repeat returns the first checkout.

        Paystack answers a reused reference with 400 ``duplicate_reference`` and never
        hands out a checkout link again (verify carries no ``access_code``). So every
        link received is remembered (per process, and in ``checkouts`` when given), and
        a duplicate is answered from there. A duplicate that nobody here remembers (the
        first answer was lost to a timeout, or a process without the shared cache made
        it) cannot be resumed: that raises ``PaymentProviderError`` naming the
        transaction's state, rather than inventing a link or silently using another
        reference, which would let one order be paid twice.
        """
        payload: dict[str, Any] = {
            "email": request.email,
            "amount": request.amount.subunits,
            "currency": request.amount.currency,
            "reference": request.reference,
        }
        if request.callback_url:
            payload["callback_url"] = request.callback_url
        if request.metadata:
            payload["metadata"] = _metadata(request.metadata)

        async def create() -> PaymentInitialization:
            body = await self._attempt("POST", "/transaction/initialize", json=payload)
            return _initialization(_data_object(body), request.reference)

        try:
            checkout = await self._with_retries("initialize", create)
        except _RefusedError as refusal:
            if refusal.code == _DUPLICATE_REFERENCE or "duplicate" in refusal.message.lower():
                return await self._existing_checkout(request)
            raise _refusal_error(refusal) from None
        await self._remember(request, checkout)
        return checkout

    async def verify(self, reference: str) -> PaymentVerification:
        """GET /transaction/verify/:reference; ``NotFoundError`` for an unknown one."""
        return await self._fetch_transaction(reference, lambda data: _verification(reference, data))

    async def refund(self, reference: str, amount: Money | None = None) -> RefundReceipt:
        """POST /refund; a fully refunded transaction answers with its existing refund."""
        if not _REFERENCE.fullmatch(reference):
            raise PaymentProviderError(f"cannot refund {reference!r}: not a Paystack reference")
        marker = f"getiickets refund {uuid.uuid4().hex}"
        payload: dict[str, Any] = {"transaction": reference, "merchant_note": marker}
        if amount is not None:
            payload["amount"] = amount.subunits
            payload["currency"] = amount.currency

        async def create() -> RefundReceipt:
            try:
                body = await self._attempt("POST", "/refund", json=payload)
            except _RefusedError as refusal:
                if _FULLY_REVERSED in refusal.message.lower():
                    return await self._existing_refund(reference)
                raise _refusal_error(refusal) from None
            return _receipt(reference, _data_object(body))

        async def find_own() -> RefundReceipt | None:
            _, refunds = await self._refunds_of(reference)
            own = [item for item in refunds if item.get("merchant_note") == marker]
            return _receipt(reference, own[0]) if own else None

        return await self._with_retries("refund", create, reconcile=find_own)

    provider = paystack_wire.PROVIDER

    def read_webhook(self, body: bytes, signature: str) -> PaymentEvent | None:
        return paystack_wire.read_webhook(self._secret_key, body, signature)

    # ------------------------------------------------------------------ checkouts

    async def _remember(self, request: PaymentRequest, checkout: PaymentInitialization) -> None:
        entry = _Checkout(
            fingerprint=_fingerprint(request),
            authorization_url=checkout.authorization_url,
            access_code=checkout.access_code,
            reference=checkout.reference,
        )
        self._local_checkouts[request.reference] = entry
        self._local_checkouts.move_to_end(request.reference)
        while len(self._local_checkouts) > _LOCAL_CHECKOUTS:
            self._local_checkouts.popitem(last=False)
        if self._shared_checkouts is not None:
            await self._shared_checkouts.set(
                _checkout_key(request.reference), msgspec.json.encode(entry), _CHECKOUT_TTL
            )

    async def _recall(self, reference: str) -> _Checkout | None:
        entry = self._local_checkouts.get(reference)
        if entry is not None or self._shared_checkouts is None:
            return entry
        raw = await self._shared_checkouts.get(_checkout_key(reference))
        if raw is None:
            return None
        try:
            return msgspec.json.decode(raw, type=_Checkout)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None

    async def _existing_checkout(self, request: PaymentRequest) -> PaymentInitialization:
        remembered = await self._recall(request.reference)
        if remembered is not None:
            if remembered.fingerprint != _fingerprint(request):
                raise PaymentProviderError(
                    f"duplicate_reference: {request.reference} was already used for another "
                    "payment (different email, amount or currency)"
                )
            return remembered.initialization()
        try:
            existing = await self._fetch_transaction(
                request.reference, lambda data: _verification(request.reference, data)
            )
        except NotFoundError:
            state = "not visible to verify"
        else:
            state = f"{existing.status}, {existing.amount.major} {existing.amount.currency}"
        raise CheckoutUnavailableError(
            f"duplicate_reference: Paystack already has transaction {request.reference} "
            f"({state}) but its checkout link never reached this service (a lost answer, "
            "or another process without the shared checkout cache), and Paystack does "
            "not hand it out again; taking this payment needs a new reference"
        )

    # ------------------------------------------------------------------ lookups

    async def _fetch_transaction(self, reference: str, parse: Callable[[dict[str, Any]], T]) -> T:
        """GET /transaction/verify/:reference, read by ``parse`` (inside the retries, so
        an unreadable answer is retried like a lost one)."""
        # An empty reference would make the path /transaction/verify/, which Paystack
        # routes to "fetch by id" and answers 400: refuse it (and any non-reference) here.
        if not _REFERENCE.fullmatch(reference):
            raise NotFoundError(f"{reference!r} is not a Paystack transaction reference")

        async def fetch() -> T:
            path = f"/transaction/verify/{quote(reference, safe='')}"
            return parse(_data_object(await self._attempt("GET", path)))

        try:
            return await self._with_retries("verify", fetch)
        except _RefusedError as refusal:
            # Spec: 404 "Entity not found"; field reports: 400 "Transaction reference not
            # found" (docs/providers.md §1.3). Both mean the same thing.
            if (
                refusal.status_code == httpx.codes.NOT_FOUND
                or "not found" in refusal.message.lower()
            ):
                raise NotFoundError(f"Paystack has no transaction {reference}") from None
            raise _refusal_error(refusal) from None

    async def _refunds_of(self, reference: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The transaction and its refunds (the list is filtered by transaction *id*)."""
        try:
            transaction = await self._fetch_transaction(reference, _with_id)
        except NotFoundError as error:
            raise PaymentProviderError(f"cannot refund {reference}: {error.detail}") from None
        transaction_id = transaction.get("id")
        params = {"transaction": str(transaction_id), "perPage": str(_REFUNDS_PER_PAGE)}

        async def fetch() -> list[dict[str, Any]]:
            body = await self._attempt("GET", "/refund", params=params)
            items = body.get("data")
            if not isinstance(items, list):
                raise _TransientError("unreadable refund list", maybe_processed=True)
            return [item for item in items if isinstance(item, dict)]

        try:
            items = await self._with_retries("refund lookup", fetch)
        except _RefusedError as refusal:
            raise _refusal_error(refusal) from None
        # Filter again here: should the filter be ignored, another transaction's refund
        # must never pass for this one's.
        return transaction, [
            item for item in items if _refund_belongs(item, transaction_id, reference)
        ]

    async def _existing_refund(self, reference: str) -> RefundReceipt:
        """What answers a refund of a transaction Paystack says is fully reversed."""
        transaction, refunds = await self._refunds_of(reference)
        live = [item for item in refunds if item.get("status") != RefundStatus.FAILED]
        if not live:
            # Reversed without a refund we can list (a chargeback, say): the money has
            # gone back all the same, so report the whole amount as processed.
            charged = _money(transaction.get("amount"), transaction.get("currency"))
            return RefundReceipt(reference=reference, status=RefundStatus.PROCESSED, amount=charged)
        # The latest refund is the one that completed the reversal (after partial refunds,
        # the last part), as the in-memory fake answers too.
        # Paystack lists newest first: that order breaks ties of the millisecond stamps.
        newest = max(enumerate(live), key=lambda pair: (_created(pair[1]), -pair[0]))
        return _receipt(reference, newest[1])

    # ------------------------------------------------------------------ HTTP

    async def _with_retries(
        self,
        what: str,
        operation: Callable[[], Awaitable[T]],
        *,
        reconcile: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        """Run ``operation``, retrying transient failures (tenacity's loop, our policy).

        ``reconcile``: for a request that must not be repeated blindly, a lookup that
        answers in its stead when the previous try may have been processed after all.
        """
        policy = self._retry
        last: _TransientError | None = None
        out_of_attempts = stop_after_attempt(policy.attempts)

        def wait(state: RetryCallState) -> float:
            delay = policy.backoff(state.attempt_number - 1, self._jitter())
            if last is not None and last.retry_after is not None:
                delay = max(delay, last.retry_after)
            return delay

        def stop(state: RetryCallState) -> bool:
            # A Retry-After longer than the policy allows ends the retries at once.
            asked_to_wait_too_long = (
                last is not None
                and last.retry_after is not None
                and last.retry_after > policy.max_retry_after
            )
            return asked_to_wait_too_long or out_of_attempts(state)

        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_TransientError),
            stop=stop,
            wait=wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if last is not None and last.maybe_processed and reconcile is not None:
                        settled = await self._reconcile(what, reconcile)
                        if settled is not None:
                            return settled
                    try:
                        return await operation()
                    except _TransientError as failure:
                        last = failure
                        logger.warning(
                            "paystack %s attempt %d/%d failed: %s",
                            what,
                            attempt.retry_state.attempt_number,
                            policy.attempts,
                            failure.reason,
                        )
                        raise
        except _TransientError as failure:
            if failure.maybe_processed and reconcile is not None:
                # The last try may have worked: say so rather than report a failure.
                settled = await self._reconcile(what, reconcile)
                if settled is not None:
                    return settled
            raise PaymentProviderUnavailableError(
                f"Paystack {what} failed: {failure.reason}"
            ) from None
        raise AssertionError("unreachable: tenacity returns, or raises the last failure")

    async def _reconcile(self, what: str, reconcile: Callable[[], Awaitable[T | None]]) -> T | None:
        try:
            return await reconcile()
        except _TransientError as failure:
            # Not knowing whether the first try worked, repeating it could do it twice.
            raise PaymentProviderUnavailableError(
                f"Paystack {what}: outcome unknown ({failure.reason})"
            ) from None

    async def _attempt(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One request: the envelope of a successful call, or an exception saying why not."""
        headers = {"Authorization": f"Bearer {self._secret_key}"}
        try:
            response = await self._client.request(
                method, self._base_url + path, json=json, params=params, headers=headers
            )
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError) as error:
            raise PaymentProviderError(
                f"cannot call Paystack at {self._base_url}: {error}"
            ) from error
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            # Never sent: repeating it cannot double anything.
            raise _TransientError(_describe(error), maybe_processed=False) from error
        except (httpx.TransportError, httpx.DecodingError) as error:
            # Sent, but the answer was lost (read timeout, reset, cut-off body).
            raise _TransientError(_describe(error), maybe_processed=True) from error
        status = response.status_code
        if status == httpx.codes.TOO_MANY_REQUESTS:
            raise _TransientError(
                "rate limited (HTTP 429)",
                maybe_processed=False,
                retry_after=_retry_after(response.headers.get("retry-after")),
            )
        if status >= httpx.codes.INTERNAL_SERVER_ERROR:
            raise _TransientError(f"HTTP {status}", maybe_processed=True)
        body = _envelope(response.content)
        if response.is_success:
            if body is None:
                raise _TransientError(
                    f"unreadable answer (HTTP {status}, not Paystack's JSON envelope)",
                    maybe_processed=True,
                )
            if body["status"] is not True:
                raise _RefusedError(status, _text(body.get("message")), _text(body.get("code")))
            return body
        if body is None:
            raise _RefusedError(status, response.text[:200])
        raise _RefusedError(status, _text(body.get("message")), _text(body.get("code")))


# ---------------------------------------------------------------------- parsing


def _envelope(content: bytes) -> dict[str, Any] | None:
    try:
        body = msgspec.json.decode(content)
    # msgspec raises UnicodeDecodeError (not DecodeError) for text that is not UTF-8.
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("status"), bool):
        return None
    return body


def _data_object(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise _TransientError("unreadable answer: data is not an object", maybe_processed=True)
    return data


def _with_id(data: dict[str, Any]) -> dict[str, Any]:
    if type(data.get("id")) is not int:
        raise _TransientError("unreadable answer: transaction id", maybe_processed=True)
    return data


def _initialization(data: dict[str, Any], reference: str) -> PaymentInitialization:
    fields = [data.get(key) for key in ("authorization_url", "access_code", "reference")]
    url, access_code, answered = fields
    if not all(isinstance(value, str) and value for value in fields):
        raise _TransientError("unreadable answer: checkout fields missing", maybe_processed=True)
    if answered != reference:
        raise PaymentProviderError(f"Paystack answered for reference {answered}, not {reference}")
    return PaymentInitialization(
        authorization_url=str(url), access_code=str(access_code), reference=reference
    )


def _verification(reference: str, data: dict[str, Any]) -> PaymentVerification:
    answered = data.get("reference")
    if answered != reference:
        raise PaymentProviderError(f"Paystack answered for reference {answered}, not {reference}")
    status = data.get("status")
    if not isinstance(status, str):
        raise _TransientError("unreadable answer: no transaction status", maybe_processed=True)
    # Fees passed on to the customer make ``amount`` larger than what was asked for;
    # ``requested_amount`` is what the order is worth (docs/providers.md §1.3).
    requested = data.get("requested_amount")
    asked = _money(data.get("amount") if requested is None else requested, data.get("currency"))
    return PaymentVerification(
        reference=reference,
        status=paystack_wire.payment_status(status),
        amount=asked,
        paid_at=_timestamp(data.get("paid_at") or data.get("paidAt")),
        gateway_response=_text(data.get("gateway_response")),
    )


def _receipt(reference: str, data: dict[str, Any]) -> RefundReceipt:
    try:
        refund_status = RefundStatus(_text(data.get("status")))
    except ValueError:
        # An unknown refund state is still in flight as far as we can tell.
        refund_status = RefundStatus.PENDING
    return RefundReceipt(
        reference=reference,
        status=refund_status,
        amount=_money(data.get("amount"), data.get("currency")),
    )


def _refund_belongs(item: dict[str, Any], transaction_id: object, reference: str) -> bool:
    # The list names the transaction by id (create answers embed the whole object).
    owner = item.get("transaction")
    if isinstance(owner, dict):
        return owner.get("id") == transaction_id or owner.get("reference") == reference
    return owner == transaction_id or item.get("transaction_reference") == reference


def _created(item: dict[str, Any]) -> str:
    # Paystack's ISO 8601 UTC stamps sort correctly as text.
    created = item.get("createdAt") or item.get("created_at")
    return created if isinstance(created, str) else ""


def _money(amount: object, currency: object) -> Money:
    # Paystack types amounts inconsistently: refund webhooks send "5000" (docs/providers.md §1.9).
    # ASCII digits only: "²".isdigit() is true, and int() refuses it.
    if isinstance(amount, str) and amount.isascii() and amount.isdigit():
        amount = int(amount)
    if type(amount) is not int or not isinstance(currency, str):
        raise _TransientError("unreadable answer: amount or currency", maybe_processed=True)
    try:
        return Money(amount=amount, currency=currency)
    except InvalidMoneyError as error:
        raise _TransientError(f"unreadable answer: {error.detail}", maybe_processed=True) from None


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _TransientError(f"unreadable timestamp {value!r}", maybe_processed=True) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _refusal_error(refusal: _RefusedError) -> PaymentProviderError:
    if refusal.status_code == httpx.codes.UNAUTHORIZED:
        return PaymentProviderError(
            f"Paystack refused the secret key (invalid key): {refusal.message}"
        )
    code = f" [{refusal.code}]" if refusal.code else ""
    return PaymentProviderError(
        f"Paystack refused the request (HTTP {refusal.status_code}){code}: {refusal.message}"
    )


def _fingerprint(request: PaymentRequest) -> str:
    return f"{request.email}|{request.amount.amount}|{request.amount.currency}"


def _checkout_key(reference: str) -> str:
    return f"paystack:checkout:{reference}"


def _describe(error: Exception) -> str:
    detail = str(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# Metadata keys Paystack's checkout page shows the payer, with their labels.
_SHOWN_ON_CHECKOUT = {"event": "Event", "eventStarts": "When"}


def _metadata(metadata: dict[str, str]) -> dict[str, Any]:
    """Our metadata, plus ``custom_fields``: the entries Paystack displays on its
    checkout page (the rest of ``metadata`` is only stored with the transaction)."""
    shown = [
        {"display_name": label, "variable_name": key, "value": metadata[key]}
        for key, label in _SHOWN_ON_CHECKOUT.items()
        if metadata.get(key)
    ]
    return {**metadata, "custom_fields": shown} if shown else dict(metadata)
