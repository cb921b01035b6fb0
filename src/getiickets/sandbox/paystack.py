"""The Paystack simulator: Paystack's transaction and refund API, a checkout page, webhooks.

Faithful to ``docs/providers.md`` §1 and its §5 checklist:

- Bearer secret key (401 ``Invalid key``), the ``{status, message, data, meta}``
  envelope, Paystack's error bodies (``type``, ``code``, ``meta.nextStep``).
- ``POST /transaction/initialize`` with JSON or form bodies; ``amount`` in subunits as
  an integer or a numeric string; references limited to letters, digits, ``-.=``,
  generated when absent, 400 ``duplicate_reference`` on reuse.
- ``GET /transaction/verify/:reference``: 404 for an unknown reference, or 400 when
  configured (the code is disputed); an empty reference falls through to
  ``GET /transaction/:id`` and is refused with "Transaction ID should be numeric.".
  Transaction ids are unsigned 64-bit integers beyond a double's exact range.
- ``GET /transaction`` with offset paging; ``POST /refund`` (reference or id, at most
  what is left, successful transactions only, ``pending`` first, then processed in the
  background with ``refund.pending`` / ``refund.processed`` webhooks); ``GET /refund``.
- A checkout page per ``access_code``: a plain HTML form (no JavaScript) with the
  documented test cards. Pay makes the transaction succeed and sends ``charge.success``;
  Decline (or a declining card) fails it and sends nothing, as Paystack sends webhooks
  for successful charges only. Both redirect to the callback URL with ``reference`` and
  ``trxref``.
- Webhooks are signed with HMAC-SHA512 (lowercase hex) of the exact bytes sent, header
  ``x-paystack-signature``, and retried on the configured schedule until a 200.

Every request is recorded in ``state.paystack.received``, and faults planned in
``state.paystack`` are applied to API calls (not to the checkout page).

Where the sources are silent the simulator chooses, and says so where it does:
messages for refund refusals, and the fee formula (Paystack's Nigerian local card fee).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import math
import re
import secrets
import ssl
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import msgspec
from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, RawBody, URLEncodedBody

from getiickets.adapters.rendering.money import money_text
from getiickets.domain.model.errors import InvalidMoneyError
from getiickets.domain.model.money import Money
from getiickets.sandbox.delivery import Retries, deliver, recorded
from getiickets.sandbox.faults import FaultAnswers, fault_answer, hold_lost_answer, received
from getiickets.sandbox.state import (
    Delivery,
    FaultKind,
    ProviderState,
    SandboxState,
)

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

    from getiickets.sandbox.config import SandboxConfig

INTEGRATION_ID = 412829
_DOMAIN = "test"
_REFERENCE = re.compile(r"[A-Za-z0-9.=-]+")
_CURRENCIES = frozenset({"NGN", "GHS", "ZAR", "KES", "USD", "XOF"})
_CODE_ALPHABET = string.ascii_lowercase + string.digits
_ACCESS_CODE_LENGTH = 15  # like "3ni8kdavz62431k"
_REFERENCE_LENGTH = 10  # like "re4lyvq3s3"
# Ids above 2**53 cannot pass through a double unchanged: a client that parses them as
# floats (JavaScript's JSON.parse does) is caught out, as Paystack warns it will be.
_MIN_ID = 2**53 + 1
_MAX_ID = 2**64 - 1
_JSON = "application/json"
_HTML = "text/html"  # Litestar adds the charset to text types
_API = "paystack_api"
"""``opt`` flag of the API routes: the ones that need the key and may be made to fail."""
_TOO_MANY_REQUESTS = 429
_SERVER_ERROR = 500
_GATEWAY_TIMEOUT = 504
_UNAUTHORIZED = 401
_BAD_REQUEST = 400
_NOT_FOUND = 404
_DEFAULT_PER_PAGE = 50


@dataclass(frozen=True)
class TestCard:
    """A card from Paystack's "Test Payments" page (docs/providers.md §1.9) and what it does."""

    __test__ = False  # not a pytest test class, whatever its name says

    number: str
    label: str
    succeeds: bool
    gateway_response: str
    refund_outcome: str = "processed"
    brand: str = "visa"


TEST_CARDS: tuple[TestCard, ...] = (
    TestCard("4084084084084081", "Success", succeeds=True, gateway_response="Successful"),
    TestCard("4084080000005408", "Declined", succeeds=False, gateway_response="Declined"),
    TestCard(
        "4084080000670037",
        "Insufficient funds",
        succeeds=False,
        gateway_response="Insufficient Funds",
    ),
    TestCard(
        "4084080000671803",
        "Success; a refund on it fails",
        succeeds=True,
        gateway_response="Successful",
        refund_outcome="failed",
    ),
    TestCard(
        "4084080000671902",
        "Success; a refund on it needs attention",
        succeeds=True,
        gateway_response="Successful",
        refund_outcome="needs-attention",
    ),
    TestCard(
        "507850785078507812",
        "Verve, PIN 1111 (the PIN step is skipped here)",
        succeeds=True,
        gateway_response="Successful",
        brand="verve",
    ),
)
_CARDS = {card.number: card for card in TEST_CARDS}
SUCCESS_CARD = TEST_CARDS[0]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    """Paystack's timestamp style: ``2024-08-22T09:15:02.000Z``."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _code(length: int) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


_FEE_PER_MILLE = 15
_FEE_FLAT = 10_000  # 100 naira in kobo
_FEE_FLAT_FROM = 250_000  # the flat part is waived under 2,500 naira
_FEE_CAP = 200_000  # 2,000 naira


def fee_for(amount: int) -> int:
    """Paystack's Nigerian local card fee, in subunits: 1.5% plus 100 naira (waived
    under 2,500 naira), capped at 2,000 naira. Other currencies use it too, for
    simplicity: the simulator only needs fees to exist, not to be exact."""
    fee = math.ceil(amount * _FEE_PER_MILLE / 1000)
    if amount >= _FEE_FLAT_FROM:
        fee += _FEE_FLAT
    return min(fee, _FEE_CAP)


@dataclass
class _Customer:
    id: int
    code: str
    email: str


@dataclass
class _Refund:
    id: int
    transaction: _Transaction
    amount: int
    currency: str
    merchant_note: str
    customer_note: str
    created_at: datetime
    status: str = "pending"
    updated_at: datetime | None = None
    refunded_at: datetime | None = None
    refund_reference: str | None = None

    @property
    def counts(self) -> bool:
        """Whether it takes money back: every refund except a failed one."""
        return self.status != "failed"


@dataclass
class _Transaction:
    id: int
    reference: str
    access_code: str
    customer: _Customer
    requested: int
    currency: str
    callback_url: str | None
    metadata: dict[str, Any] | None
    created_at: datetime
    status: str = "abandoned"
    amount: int = 0
    """What the customer is charged: ``requested`` plus fees when they bear them."""
    fees: int | None = None
    gateway_response: str = "The transaction was not completed"
    paid_at: datetime | None = None
    card: TestCard | None = None
    ip_address: str = ""
    authorization_code: str = ""
    signature: str = ""
    refunds: list[_Refund] = field(default_factory=list)

    @property
    def refunded(self) -> int:
        return sum(refund.amount for refund in self.refunds if refund.counts)

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded


@dataclass
class _Book:
    """Everything the simulated Paystack integration knows."""

    transactions: dict[str, _Transaction] = field(default_factory=dict)
    by_access_code: dict[str, _Transaction] = field(default_factory=dict)
    by_id: dict[int, _Transaction] = field(default_factory=dict)
    customers: dict[str, _Customer] = field(default_factory=dict)
    refunds: list[_Refund] = field(default_factory=list)
    used_ids: set[int] = field(default_factory=set)

    def new_id(self) -> int:
        while True:
            candidate = _MIN_ID + secrets.randbelow(_MAX_ID - _MIN_ID)
            if candidate not in self.used_ids:
                self.used_ids.add(candidate)
                return candidate

    def add(self, transaction: _Transaction) -> None:
        self.transactions[transaction.reference] = transaction
        self.by_access_code[transaction.access_code] = transaction
        self.by_id[transaction.id] = transaction

    def refund(self, transaction: _Transaction, fields: dict[str, Any]) -> _Refund:
        """Queue a refund that ``_refund_refusal`` accepted."""
        amount = _refund_amount(transaction, fields)
        assert isinstance(amount, int)  # noqa: S101 - _refund_refusal refuses the rest
        now = _now()
        default_note = f"Refund for transaction {transaction.reference}"
        refund = _Refund(
            id=self.new_id(),
            transaction=transaction,
            amount=amount,
            currency=transaction.currency,
            merchant_note=str(fields.get("merchant_note") or default_note),
            customer_note=str(fields.get("customer_note") or default_note),
            created_at=now,
            updated_at=now,
        )
        transaction.refunds.append(refund)
        self.refunds.append(refund)
        if transaction.refundable == 0:
            # Fully refunded: verify says "reversed" (back to "success" if it fails).
            transaction.status = "reversed"
        return refund

    def customer(self, email: str) -> _Customer:
        key = email.lower()
        if key not in self.customers:
            self.customers[key] = _Customer(
                id=10_000_000 + len(self.customers) + 1, code=f"CUS_{_code(15)}", email=email
            )
        return self.customers[key]


def _book(provider: ProviderState) -> _Book:
    """The simulated integration (recreated after a reset). Call with the state lock held."""
    book = provider.data.get("book")
    if not isinstance(book, _Book):
        book = provider.data["book"] = _Book()
    return book


# ---------------------------------------------------------------------- JSON shapes


def _authorization(transaction: _Transaction, *, with_nulls: bool) -> dict[str, Any]:
    card = transaction.card
    if card is None or transaction.paid_at is None:
        if not with_nulls:
            return {}
        # The list endpoint's schema requires every key, nullable.
        keys = ("authorization_code", "bin", "last4", "exp_month", "exp_year", "channel")
        more = ("card_type", "bank", "country_code", "brand", "signature", "account_name")
        return {**dict.fromkeys(keys + more), "reusable": False}
    return {
        "authorization_code": transaction.authorization_code,
        "bin": card.number[:6],
        "last4": card.number[-4:],
        "exp_month": "12",
        "exp_year": "2030",
        "channel": "card",
        "card_type": f"{card.brand} ",
        "bank": "TEST BANK",
        "country_code": "NG",
        "brand": card.brand,
        "reusable": True,
        "signature": transaction.signature,
        "account_name": None,
        "receiver_bank_account_number": None,
        "receiver_bank": None,
    }


def _customer_json(customer: _Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "first_name": None,
        "last_name": None,
        "email": customer.email,
        "customer_code": customer.code,
        "phone": None,
        "metadata": None,
        "risk_action": "default",
        "international_format_phone": None,
    }


def transaction_json(transaction: _Transaction, *, listed: bool = False) -> dict[str, Any]:
    """A transaction as verify, the list and ``charge.success`` show it.

    ``listed``: the list endpoint's schema differs from verify's in small ways (absent
    metadata is null there and "" in verify; ``plan`` an object there, null in verify;
    an unpaid authorization has every key, null, there and none in verify).
    """
    metadata: Any = transaction.metadata
    if metadata is None and not listed:
        metadata = ""
    return {
        "id": transaction.id,
        "domain": _DOMAIN,
        "status": transaction.status,
        "reference": transaction.reference,
        "receipt_number": None,
        "amount": transaction.amount,
        "message": None,
        "gateway_response": transaction.gateway_response,
        "paid_at": _iso(transaction.paid_at),
        "created_at": _iso(transaction.created_at),
        "channel": "card",
        "currency": transaction.currency,
        "ip_address": transaction.ip_address,
        "metadata": metadata,
        "log": None,
        "fees": transaction.fees,
        "fees_split": None,
        "authorization": _authorization(transaction, with_nulls=listed),
        "customer": _customer_json(transaction.customer),
        "plan": {} if listed else None,
        "split": {},
        "order_id": None,
        "paidAt": _iso(transaction.paid_at),
        "createdAt": _iso(transaction.created_at),
        "requested_amount": transaction.requested,
        "pos_transaction_data": None,
        "source": None,
        "fees_breakdown": None,
        "connect": None,
        "transaction_date": _iso(transaction.created_at),
        "plan_object": {},
        "subaccount": {},
    }


def _refund_created_json(refund: _Refund) -> dict[str, Any]:
    """``POST /refund``'s data (spec ``RefundCreateResponse``)."""
    transaction = refund.transaction
    return {
        "transaction": {
            "id": transaction.id,
            "domain": _DOMAIN,
            "reference": transaction.reference,
            "amount": transaction.amount,
            "paid_at": _iso(transaction.paid_at),
            "channel": "card",
            "currency": transaction.currency,
            "authorization": {"exp_month": None, "exp_year": None, "account_name": None},
            "customer": {"international_format_phone": None},
            "plan": {},
            "subaccount": {"currency": None},
            "split": {},
            "order_id": None,
            "paidAt": _iso(transaction.paid_at),
            "pos_transaction_data": None,
            "source": None,
            "fees_breakdown": None,
        },
        "integration": INTEGRATION_ID,
        "deducted_amount": 0,
        "channel": None,
        "merchant_note": refund.merchant_note,
        "customer_note": refund.customer_note,
        "status": refund.status,
        "refunded_by": "sandbox@getiickets.invalid",
        "expected_at": _iso(refund.created_at + timedelta(days=9)),
        "currency": refund.currency,
        "domain": _DOMAIN,
        "amount": refund.amount,
        "fully_deducted": False,
        "id": refund.id,
        "createdAt": _iso(refund.created_at),
        "updatedAt": _iso(refund.updated_at or refund.created_at),
    }


def _refund_listed_json(refund: _Refund) -> dict[str, Any]:
    """One row of ``GET /refund`` (spec ``RefundListResponseArray``)."""
    transaction = refund.transaction
    return {
        "integration": INTEGRATION_ID,
        "transaction": transaction.id,
        "dispute": None,
        "settlement": None,
        "id": refund.id,
        "domain": _DOMAIN,
        "currency": refund.currency,
        "amount": refund.amount,
        "status": refund.status,
        "refunded_at": _iso(refund.refunded_at),
        "refunded_by": "sandbox@getiickets.invalid",
        "customer_note": refund.customer_note,
        "merchant_note": refund.merchant_note,
        "deducted_amount": refund.amount if refund.status == "processed" else 0,
        "fully_deducted": 1 if refund.status == "processed" else 0,
        "createdAt": _iso(refund.created_at),
        "bank_reference": None,
        "transaction_reference": transaction.reference,
        "reason": refund.status.upper(),
        "customer": {
            "id": transaction.customer.id,
            "first_name": "",
            "last_name": "",
            "email": transaction.customer.email,
            "customer_code": transaction.customer.code,
            "phone": None,
            "metadata": "",
            "risk_action": "default",
            "international_format_phone": "",
        },
        "refund_type": "full" if refund.amount == transaction.amount else "partial",
        "transaction_amount": transaction.amount,
        "initiated_by": "sandbox@getiickets.invalid",
        "refund_channel": "card",
        "session_id": None,
        "collect_account_number": False,
    }


def _refund_event_json(refund: _Refund) -> dict[str, Any]:
    """A ``refund.*`` webhook's data, like Paystack's samples (``amount`` a string)."""
    return {
        "status": refund.status,
        "transaction_reference": refund.transaction.reference,
        "refund_reference": refund.refund_reference,
        "amount": str(refund.amount),
        "currency": refund.currency,
        "processor": "sandbox",
        "customer": {
            "first_name": None,
            "last_name": None,
            "email": refund.transaction.customer.email,
        },
        "integration": INTEGRATION_ID,
        "domain": _DOMAIN,
        "id": str(refund.id),
    }


# ---------------------------------------------------------------------- responses


def _json(
    status_code: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(payload),
        status_code=status_code,
        media_type=_JSON,
        headers=headers,
    )


def _ok(message: str, data: Any, meta: dict[str, Any] | None = None) -> Response[bytes]:
    payload: dict[str, Any] = {"status": True, "message": message, "data": data}
    if meta is not None:
        payload["meta"] = meta
    return _json(200, payload)


def _error_body(
    message: str,
    *,
    code: str | None = None,
    kind: str = "validation_error",
    next_step: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"status": False, "message": message}
    if code is not None:
        body["meta"] = {"nextStep": next_step or "Check the request and try again"}
        body["type"] = kind
        body["code"] = code
    return body


def _error(status_code: int, message: str, **details: Any) -> Response[bytes]:
    return _json(status_code, _error_body(message, **details))


def _html(status_code: int, title: str, body: str) -> Response[bytes]:
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>"
        # Fits a 320 px phone as well as a desktop: the card takes the width it is given
        # (never more), long references wrap anywhere, the card list shrinks to the card.
        "*,*::before,*::after{box-sizing:border-box}"
        "body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0;padding:1rem}"
        "main{max-width:28rem;margin:auto;background:#fff;padding:1.25rem 1.5rem;"
        "border-radius:8px}"
        "h1{margin-top:0}dt{font-weight:600}dd{margin:0 0 .6rem;overflow-wrap:anywhere}"
        "select,button{font-size:1rem;padding:.5rem;max-width:100%}select{width:100%}"
        ".actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.8rem}"
        ".note{color:#666;font-size:.9rem}"
        "@media (min-width:40rem){body{padding:2rem}main{padding:1.5rem 2rem}}"
        f"</style></head><body><main>{body}</main></body></html>"
    )
    return Response(content=page.encode(), status_code=status_code, media_type=_HTML)


def _display_amount(amount: int, currency: str) -> str:
    """``₦10,000.00``: as the app's own emails write it (Babel)."""
    try:
        return money_text(Money(amount=amount, currency=currency))
    except InvalidMoneyError:  # a currency code the simulator was sent but Babel cannot name
        units, cents = divmod(amount, 100)
        return f"{currency} {units:,}.{cents:02d}"


def _custom_fields(metadata: dict[str, Any] | None) -> list[tuple[str, str]]:
    """``metadata.custom_fields``, which Paystack's checkout shows to the payer."""
    fields = (metadata or {}).get("custom_fields")
    if not isinstance(fields, list):
        return []
    return [
        (str(field["display_name"]), str(field["value"]))
        for field in fields
        if isinstance(field, dict) and "display_name" in field and "value" in field
    ]


def _with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to whatever query it already has."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


# ---------------------------------------------------------------------- request reading


def _fields(request: Request[Any, Any, Any], body: bytes) -> dict[str, Any] | Response[bytes]:
    """A JSON or form body as a dict (Paystack takes both), or the 400 for a bad one."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        fields = msgspec.json.decode(body) if body else {}
    except msgspec.DecodeError:
        return _error(_BAD_REQUEST, "Invalid JSON in request body")
    if not isinstance(fields, dict):
        return _error(_BAD_REQUEST, "Invalid JSON in request body")
    return fields


def _amount(value: object) -> int | str:
    """Subunits from an integer or a numeric string, or the refusal message."""
    if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value):
        value = int(value)
    if isinstance(value, float) or (
        isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]*\.[0-9]+\s*", value)
    ):
        return "Amount must be an integer"
    if not isinstance(value, int) or isinstance(value, bool):
        return "Invalid Amount Sent"
    return value if value > 0 else "You must specify a valid amount"


def _metadata(value: object) -> dict[str, Any] | None:
    # The markdown doc says "stringified JSON", the spec an object: take both.
    if isinstance(value, str) and value.strip():
        try:
            value = msgspec.json.decode(value)
        except msgspec.DecodeError:
            return None
    return value if isinstance(value, dict) else None


def _int_query(request: Request[Any, Any, Any], *names: str, default: int) -> int:
    for name in names:
        value = request.query_params.get(name)
        if value is not None and value.isdigit() and int(value) > 0:
            return int(value)
    return default


# ---------------------------------------------------------------------- webhooks


class WebhookSender:
    """Sends signed events in the background, on the configured retry schedule."""

    def __init__(self, state: SandboxState, config: SandboxConfig) -> None:
        self._state = state
        self._config = config
        self._tls: ssl.SSLContext | None = None

    def send(self, event: str, data: dict[str, Any]) -> Delivery | None:
        """Record the delivery now (visible at once) and send it in the background."""
        url = self._config.paystack_webhook_url
        if url is None:
            return None
        body = msgspec.json.encode({"event": event, "data": data})
        key = self._config.paystack_secret_key.encode()
        headers = {
            "content-type": "application/json",
            "x-paystack-signature": hmac.new(key, body, hashlib.sha512).hexdigest(),
        }
        delivery = recorded(
            self._state, self._state.paystack, event=event, url=url, headers=headers, body=body
        )
        self._state.run_in_background(self._deliver(delivery))
        return delivery

    async def _deliver(self, delivery: Delivery) -> None:
        if self._tls is None:
            # Loaded once: building it for every delivery costs tens of milliseconds.
            self._tls = httpx.create_ssl_context()
        timeout = self._config.webhook_timeout_seconds
        # Paystack wants a 200 OK, nothing else (docs/providers.md §1.9), and retries
        # anything else on its schedule.
        retries = Retries(
            delays=self._config.webhook_retry_delays,
            accepted=lambda status: status == 200,  # noqa: PLR2004
        )
        async with httpx.AsyncClient(timeout=timeout, verify=self._tls) as client:
            await deliver(self._state, client, delivery, retries)


# ---------------------------------------------------------------------- faults and auth


def _simulator_middleware(
    state: SandboxState, config: SandboxConfig
) -> Callable[[ASGIApp], ASGIApp]:
    """Records every request, then (API routes only) applies planned faults and the key."""
    answers = _fault_answers(config)

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            body = await _read_body(receive)
            headers = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in scope["headers"]
            }
            query = scope.get("query_string", b"").decode("latin-1")
            path = scope["path"] + (f"?{query}" if query else "")
            handler = scope.get("route_handler")
            is_api = handler is not None and bool(handler.opt.get(_API))
            fault = received(
                state,
                state.paystack,
                method=str(scope.get("method", "")),
                path=path,
                headers=headers,
                body=body,
                faulty=is_api,
            )
            replay = _replaying(body, receive)
            if not is_api:
                await app(scope, replay, send)
                return
            refusal = await fault_answer(fault, answers, config) or _auth_refusal(headers, config)
            if refusal is not None:
                await _send_response(send, *refusal)
                return
            if fault is not FaultKind.LOST_RESPONSE:
                await app(scope, replay, send)
                return
            held: list[Message] = []

            async def hold(message: Message) -> None:
                held.append(message)

            await app(scope, replay, hold)
            await hold_lost_answer(fault, config)
            for message in held:
                await send(message)

        return middleware

    return wrap


_Raw = tuple[int, bytes, str, dict[str, str]]


def _fault_answers(config: SandboxConfig) -> FaultAnswers[_Raw]:
    def server_error() -> _Raw:
        body = _error_body("An error occurred", code="internal_error", kind="api_error")
        return _SERVER_ERROR, msgspec.json.encode(body), _JSON, {}

    def rate_limited() -> _Raw:
        body = _error_body(
            "Rate limit exceeded!",
            code="rate_limited",
            kind="api_error",
            next_step="Wait a few minutes and try the API call again",
        )
        headers = {}
        if config.paystack_retry_after_seconds is not None:
            headers["retry-after"] = str(config.paystack_retry_after_seconds)
        return _TOO_MANY_REQUESTS, msgspec.json.encode(body), _JSON, headers

    def timed_out() -> _Raw:
        # Answered like a gateway in front of the API would be: the request never ran.
        return _GATEWAY_TIMEOUT, b"upstream request timeout", "text/plain", {}

    def malformed() -> _Raw:
        # A 200 cut off mid-body: the envelope starts, then the bytes stop.
        return 200, b'{"status":true,"message":"Verification succ', _JSON, {}

    return {
        FaultKind.SERVER_ERROR: server_error,
        FaultKind.RATE_LIMITED: rate_limited,
        FaultKind.TIMEOUT: timed_out,
        FaultKind.MALFORMED: malformed,
    }


def _auth_refusal(headers: dict[str, str], config: SandboxConfig) -> _Raw | None:
    value = headers.get("authorization")
    if value is None:
        message = "No Authorization Header was found"
    elif not value.startswith("Bearer ") or not value[len("Bearer ") :].strip():
        message = "Format is Authorization Bearer [secret key]"
    elif not hmac.compare_digest(
        value[len("Bearer ") :].strip().encode(), config.paystack_secret_key.encode()
    ):
        message = "Invalid key"
    else:
        return None
    return _UNAUTHORIZED, msgspec.json.encode(_error_body(message)), _JSON, {}


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the app, then defers to the real one."""
    pending = True

    async def replay() -> Any:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_response(
    send: Send, status: int, body: bytes, media_type: str, headers: dict[str, str]
) -> None:
    raw_headers = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(name.encode(), value.encode()) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


# ---------------------------------------------------------------------- the router


class CheckoutForm(msgspec.Struct, kw_only=True):
    action: str
    card: str = SUCCESS_CARD.number


class _Paystack:
    """What the routes do; ``create_router`` only wires them to paths."""

    def __init__(self, state: SandboxState, config: SandboxConfig) -> None:
        self.state = state
        self.config = config
        self.webhooks = WebhookSender(state, config)

    def book(self) -> _Book:
        return _book(self.state.paystack)

    def public_base(self, request: Request[Any, Any, Any]) -> str:
        if self.config.public_base_url is not None:
            return self.config.public_base_url.rstrip("/")
        return str(request.base_url).rstrip("/") + self.config.path_prefix.rstrip("/")

    def initialize(self, request: Request[Any, Any, Any], body: bytes) -> Response[bytes]:
        fields = _fields(request, body)
        if isinstance(fields, Response):
            return fields
        checked = _initialize_fields(fields)
        if isinstance(checked, Response):
            return checked
        email, amount, currency, reference = checked
        config = self.config
        with self.state.lock:
            book = self.book()
            if reference in book.transactions:
                return _json(_BAD_REQUEST, _duplicate_reference())
            while not reference or reference in book.transactions:
                reference = _code(_REFERENCE_LENGTH)
            access_code = _code(_ACCESS_CODE_LENGTH)
            while access_code in book.by_access_code:
                access_code = _code(_ACCESS_CODE_LENGTH)
            charged = amount + fee_for(amount) if config.paystack_pass_fees_to_customer else amount
            transaction = _Transaction(
                id=book.new_id(),
                reference=reference,
                access_code=access_code,
                customer=book.customer(email),
                requested=amount,
                amount=charged,
                currency=currency,
                callback_url=str(fields.get("callback_url") or "") or config.paystack_callback_url,
                metadata=_metadata(fields.get("metadata")),
                created_at=_now(),
            )
            book.add(transaction)
        return _ok(
            "Authorization URL created",
            {
                "authorization_url": f"{self.public_base(request)}/paystack/checkout/{access_code}",
                "access_code": access_code,
                "reference": reference,
            },
        )

    def verify(self, reference: str) -> Response[bytes]:
        with self.state.lock:
            transaction = self.book().transactions.get(reference)
            data = None if transaction is None else transaction_json(transaction)
        if data is None:
            status = self.config.paystack_unknown_reference_status
            return _error(status, "Transaction reference not found")
        return _ok("Verification successful", data)

    def fetch(self, transaction_id: str) -> Response[bytes]:
        if not transaction_id.isdigit():
            return _error(_BAD_REQUEST, "Transaction ID should be numeric.")
        with self.state.lock:
            transaction = self.book().by_id.get(int(transaction_id))
            data = None if transaction is None else transaction_json(transaction)
        if data is None:
            return _error(_NOT_FOUND, "Transaction not found")
        return _ok("Transaction retrieved", data)

    def list_transactions(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        per_page = _int_query(request, "perPage", "per_page", default=_DEFAULT_PER_PAGE)
        page = _int_query(request, "page", default=1)
        wanted = request.query_params.get("status")
        skipped = (page - 1) * per_page
        with self.state.lock:
            rows = [
                transaction
                for transaction in reversed(self.book().transactions.values())
                if wanted is None or transaction.status == wanted
            ]
            data = [
                transaction_json(row, listed=True) for row in rows[skipped : skipped + per_page]
            ]
        meta = {
            "total": len(rows),
            "total_volume": sum(row.amount for row in rows if row.status == "success"),
            "skipped": skipped,
            "perPage": per_page,
            "page": page,
            "pageCount": max(1, math.ceil(len(rows) / per_page)),
        }
        return _ok("Transactions retrieved", data, meta)

    def create_refund(self, request: Request[Any, Any, Any], body: bytes) -> Response[bytes]:
        fields = _fields(request, body)
        if isinstance(fields, Response):
            return fields
        wanted = str(fields.get("transaction") or "")
        if not wanted:
            return _error(
                _BAD_REQUEST,
                "Transaction reference or id is required",
                code="missing_params",
                next_step="Provide all required params",
            )
        with self.state.lock:
            book = self.book()
            transaction = book.transactions.get(wanted)
            if transaction is None and wanted.isdigit():
                transaction = book.by_id.get(int(wanted))
            refusal = _refund_refusal(transaction, fields)
            if refusal is not None:
                return refusal
            assert transaction is not None  # noqa: S101 - _refund_refusal refuses None
            refund = book.refund(transaction, fields)
            data = _refund_created_json(refund)
            pending = _refund_event_json(refund)
        self.webhooks.send("refund.pending", pending)
        self.state.run_in_background(self._settle(refund))
        return _ok("Refund has been queued for processing", data)

    async def _settle(self, refund: _Refund) -> None:
        await asyncio.sleep(self.config.paystack_refund_settle_seconds)
        card = refund.transaction.card
        outcome = card.refund_outcome if card is not None else "processed"
        with self.state.lock:
            refund.status = outcome
            refund.updated_at = _now()
            if outcome == "processed":
                refund.refunded_at = refund.updated_at
                refund.refund_reference = _code(12).upper()
            transaction = refund.transaction
            # A failed refund puts the money back: the transaction is no longer reversed.
            if transaction.status == "reversed" and transaction.refundable > 0:
                transaction.status = "success"
            event = _refund_event_json(refund)
        self.webhooks.send(f"refund.{outcome}", event)

    def list_refunds(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        per_page = _int_query(request, "perPage", default=_DEFAULT_PER_PAGE)
        page = _int_query(request, "page", default=1)
        # Paystack documents this filter as "the transaction ID", not the reference.
        wanted = request.query_params.get("transaction")
        currency = request.query_params.get("currency")
        skipped = (page - 1) * per_page
        with self.state.lock:
            rows = [
                refund
                for refund in reversed(self.book().refunds)
                if (wanted is None or str(refund.transaction.id) == wanted)
                and (currency is None or refund.currency == currency)
            ]
            data = [_refund_listed_json(row) for row in rows[skipped : skipped + per_page]]
        meta = {
            "total": len(rows),
            "skipped": skipped,
            "perPage": str(per_page),
            "page": page,
            "pageCount": max(1, math.ceil(len(rows) / per_page)),
            "failedRefundCount": sum(1 for row in rows if row.status == "failed"),
        }
        return _ok("Refunds retrieved", data, meta)

    def checkout_page(self, access_code: str) -> Response[bytes]:
        with self.state.lock:
            transaction = self.book().by_access_code.get(access_code)
            if transaction is None:
                return _checkout_missing()
            return _checkout_html(transaction)

    def checkout_submit(
        self, request: Request[Any, Any, Any], access_code: str, form: CheckoutForm
    ) -> Response[bytes]:
        with self.state.lock:
            transaction = self.book().by_access_code.get(access_code)
            if transaction is None:
                return _checkout_missing()
            # Only an open checkout can be paid: a second click changes nothing.
            settled_now = transaction.status == "abandoned"
            if settled_now:
                _charge(transaction, form, request.client.host if request.client else "")
            paid_now = settled_now and transaction.status == "success"
            event = transaction_json(transaction) if paid_now else None
            callback, reference = transaction.callback_url, transaction.reference
            status = transaction.status
        if event is not None:
            # Paystack sends webhooks for successful charges only (docs/providers.md §1.9).
            self.webhooks.send("charge.success", event)
        if callback is None:
            return _html(200, "Payment finished", f"<h1>Payment {html.escape(status)}</h1>")
        location = _with_query(callback, reference=reference, trxref=reference)
        return Response(content=b"", status_code=303, headers={"Location": location})


def create_router(state: SandboxState, config: SandboxConfig) -> Router:
    """Paystack's API and checkout under ``/paystack``."""
    paystack = _Paystack(state, config)
    api: dict[str, Any] = {_API: True}

    @post("/transaction/initialize", status_code=200, operation_id="paystackInitialize", opt=api)
    async def initialize(request: Request[Any, Any, Any], body: RawBody) -> Response[bytes]:
        return paystack.initialize(request, body)

    @get("/transaction/verify/{reference:str}", operation_id="paystackVerify", opt=api)
    async def verify(reference: FromPath[str]) -> Response[bytes]:
        return paystack.verify(reference)

    @get("/transaction/verify", operation_id="paystackVerifyNothing", opt=api)
    async def verify_nothing() -> Response[bytes]:
        # Paystack routes /transaction/verify/ to /transaction/:id with the id "verify".
        return paystack.fetch("verify")

    @get("/transaction/{transaction_id:str}", operation_id="paystackFetch", opt=api)
    async def fetch(transaction_id: FromPath[str]) -> Response[bytes]:
        return paystack.fetch(transaction_id)

    @get("/transaction", operation_id="paystackListTransactions", opt=api)
    async def list_transactions(request: Request[Any, Any, Any]) -> Response[bytes]:
        return paystack.list_transactions(request)

    @post("/refund", status_code=200, operation_id="paystackCreateRefund", opt=api)
    async def create_refund(request: Request[Any, Any, Any], body: RawBody) -> Response[bytes]:
        return paystack.create_refund(request, body)

    @get("/refund", operation_id="paystackListRefunds", opt=api)
    async def list_refunds(request: Request[Any, Any, Any]) -> Response[bytes]:
        return paystack.list_refunds(request)

    @get("/checkout/{access_code:str}", operation_id="paystackCheckoutPage")
    async def checkout_page(access_code: FromPath[str]) -> Response[bytes]:
        return paystack.checkout_page(access_code)

    @post("/checkout/{access_code:str}", status_code=303, operation_id="paystackCheckoutSubmit")
    async def checkout_submit(
        request: Request[Any, Any, Any],
        access_code: FromPath[str],
        data: URLEncodedBody[CheckoutForm],
    ) -> Response[bytes]:
        return paystack.checkout_submit(request, access_code, data)

    return Router(
        path="/paystack",
        route_handlers=[
            initialize,
            verify,
            verify_nothing,
            fetch,
            list_transactions,
            create_refund,
            list_refunds,
            checkout_page,
            checkout_submit,
        ],
        middleware=[_simulator_middleware(state, config)],
        include_in_schema=False,
    )


def _initialize_fields(fields: dict[str, Any]) -> tuple[str, int, str, str] | Response[bytes]:
    """Email, amount, currency and reference (maybe empty), or the 400 Paystack gives."""
    email = str(fields.get("email") or "").strip()
    amount = _amount(fields.get("amount"))
    currency = str(fields.get("currency") or "NGN")
    reference = str(fields.get("reference") or "")
    refusal: Response[bytes] | None = None
    if not email:
        refusal = _error(
            _BAD_REQUEST,
            "Email Address is required",
            code="missing_params",
            next_step="Provide all required params",
        )
    elif isinstance(amount, str):
        refusal = _error(_BAD_REQUEST, amount, code="invalid_params")
    elif currency not in _CURRENCIES:
        refusal = _error(
            _BAD_REQUEST, "Currency not supported by merchant", code="unsupported_currency"
        )
    elif reference and not _REFERENCE.fullmatch(reference):
        refusal = _error(
            _BAD_REQUEST, "Invalid character in transaction reference", code="invalid_params"
        )
    if refusal is not None:
        return refusal
    assert isinstance(amount, int)  # noqa: S101 - a str amount was refused above
    return email, amount, currency, reference


def _refund_refusal(
    transaction: _Transaction | None, fields: dict[str, Any]
) -> Response[bytes] | None:
    """Why this refund cannot be made, if it cannot. Messages other than "Transaction has
    been fully reversed" are the simulator's wording: Paystack's are not documented."""
    if transaction is None:
        return _error(_NOT_FOUND, "Transaction not found")
    if transaction.status == "reversed":
        return _error(
            _BAD_REQUEST, "Transaction has been fully reversed", code="transaction_reversed"
        )
    message: str | None = None
    amount = _refund_amount(transaction, fields)
    if transaction.status != "success":
        message = "Cannot refund a transaction that was not successful"
    elif str(fields.get("currency") or transaction.currency) != transaction.currency:
        message = "Refund currency must match the transaction currency"
    elif isinstance(amount, str):
        message = amount
    elif amount > transaction.refundable:
        message = "Refund amount cannot be more than the original transaction amount"
    return None if message is None else _error(_BAD_REQUEST, message, code="invalid_params")


def _refund_amount(transaction: _Transaction, fields: dict[str, Any]) -> int | str:
    requested = fields.get("amount")
    return transaction.refundable if requested in (None, "") else _amount(requested)


def _checkout_missing() -> Response[bytes]:
    return _html(_NOT_FOUND, "Checkout not found", "<h1>This checkout does not exist</h1>")


def _duplicate_reference() -> dict[str, Any]:
    # The spec's own example for TransactionInitializeBadRequestModel.
    return {
        "status": False,
        "message": "Duplicate Transaction Reference",
        "meta": {"nextStep": "Try and create the Transaction or Charge with a new reference"},
        "type": "validation_error",
        "code": "duplicate_reference",
        "errorCodeMappingNotFound": False,
    }


def _charge(transaction: _Transaction, form: CheckoutForm, ip_address: str) -> None:
    card = _CARDS.get(form.card, SUCCESS_CARD)
    transaction.card = card
    transaction.ip_address = ip_address
    if form.action == "pay" and card.succeeds:
        transaction.status = "success"
        transaction.gateway_response = card.gateway_response
        transaction.paid_at = _now()
        transaction.fees = fee_for(transaction.requested)
        transaction.authorization_code = f"AUTH_{_code(10)}"
        transaction.signature = f"SIG_{_code(20)}"
        return
    transaction.status = "failed"
    transaction.gateway_response = card.gateway_response if form.action == "pay" else "Declined"


def _checkout_html(transaction: _Transaction) -> Response[bytes]:
    amount = html.escape(_display_amount(transaction.amount, transaction.currency))
    shown = "".join(
        f"<dt>{html.escape(name)}</dt><dd>{html.escape(value)}</dd>"
        for name, value in _custom_fields(transaction.metadata)
    )
    details = (
        f"<dl>{shown}<dt>Amount</dt><dd>{amount}</dd>"
        f"<dt>Email</dt><dd>{html.escape(transaction.customer.email)}</dd>"
        f"<dt>Reference</dt><dd>{html.escape(transaction.reference)}</dd></dl>"
    )
    if transaction.status != "abandoned":
        back = ""
        if transaction.callback_url:
            target = _with_query(
                transaction.callback_url,
                reference=transaction.reference,
                trxref=transaction.reference,
            )
            back = f"<p><a href='{html.escape(target, quote=True)}'>Back to the merchant</a></p>"
        status = html.escape(transaction.status)
        return _html(200, "Checkout closed", f"<h1>This payment is {status}</h1>{details}{back}")
    options = "".join(
        f"<option value='{card.number}'{' selected' if card is SUCCESS_CARD else ''}>"
        f"{' '.join(card.number[i : i + 4] for i in range(0, len(card.number), 4))}"
        f" &mdash; {html.escape(card.label)}</option>"
        for card in TEST_CARDS
    )
    form = (
        "<form method='post'>"
        f"<label for='card'>Test card</label><br><select id='card' name='card'>{options}</select>"
        "<div class='actions'>"
        f"<button type='submit' name='action' value='pay'>Pay {amount}</button>"
        "<button type='submit' name='action' value='decline'>Decline</button>"
        "</div></form>"
    )
    note = "<p class='note'>getiickets sandbox: a simulated Paystack checkout. No money moves.</p>"
    return _html(200, "Paystack sandbox checkout", f"<h1>Checkout</h1>{note}{details}{form}")
