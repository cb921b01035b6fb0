"""The ``PaymentGateway`` contract: one suite, every implementation.

``memory`` is the in-memory fake the unit tests trust; ``paystack-sandbox`` is the real
``PaystackGateway`` talking HTTP to the Paystack simulator served by uvicorn. Each
backend comes with a small driver that plays the customer: the fake is told to pay,
the simulator's checkout form is posted like a browser would.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import httpx
import msgspec
import pytest

from getiickets.adapters.memory import InMemoryClock, InMemoryIdGenerator, InMemoryPaymentGateway
from getiickets.adapters.paystack import PaystackGateway, RetryPolicy, create_paystack_client
from getiickets.domain.model.errors import (
    InvalidSignatureError,
    NotFoundError,
    PaymentProviderError,
)
from getiickets.domain.model.money import Money
from getiickets.domain.model.payments import (
    PaymentEvent,
    PaymentEventKind,
    PaymentInitialization,
    PaymentStatus,
    RefundStatus,
)
from getiickets.ports.payments import PaymentGateway, PaymentRequest
from getiickets.sandbox import paystack as paystack_simulator
from getiickets.sandbox.config import DEFAULT_PAYSTACK_SECRET_KEY, SandboxConfig
from tests.contract.live_server import Received, eventually
from tests.contract.sandbox_server import SandboxServer

pytestmark = pytest.mark.contract

SECRET = DEFAULT_PAYSTACK_SECRET_KEY
# Plain HTTP to 127.0.0.1: no certificate bundle to load for each client.
LOCAL = False
CALLBACK = "https://shop.example/payments/callback?order_id=ord-1"
TICKET_PRICE = Money(amount=500_000)  # 5,000.00 naira in kobo


def reference() -> str:
    """The domain's reference format, ``TKT-{unix_ms}-{uuid4}``."""
    return f"TKT-{int(datetime.now(UTC).timestamp() * 1000)}-{uuid.uuid4()}"


def payment(ref: str | None = None, amount: Money = TICKET_PRICE) -> PaymentRequest:
    return PaymentRequest(
        reference=ref or reference(),
        email="ada@example.com",
        amount=amount,
        callback_url=CALLBACK,
        metadata={"orderId": "ord-1", "eventId": "evt-1"},
    )


class Customer(Protocol):
    """What a backend's customer can do at the checkout, and what Paystack then signs."""

    async def pay(self, checkout: PaymentInitialization) -> None: ...
    async def decline(self, checkout: PaymentInitialization) -> None: ...
    async def charge_success_webhook(self, checkout: PaymentInitialization) -> tuple[bytes, str]:
        """The body and ``x-paystack-signature`` of the ``charge.success`` event."""
        ...


@dataclass
class Backend:
    gateway: PaymentGateway
    customer: Customer


# ------------------------------------------------------------------ memory


class FakeCustomer:
    def __init__(self, fake: InMemoryPaymentGateway) -> None:
        self.fake = fake

    async def pay(self, checkout: PaymentInitialization) -> None:
        self.fake.pay(checkout.reference)

    async def decline(self, checkout: PaymentInitialization) -> None:
        self.fake.decline(checkout.reference)

    async def charge_success_webhook(self, checkout: PaymentInitialization) -> tuple[bytes, str]:
        body = self.fake.webhook_body("charge.success", checkout.reference)
        return body, self.fake.sign(body)


# ------------------------------------------------------------------ sandbox


class Sandbox(SandboxServer):
    def charge_events(self, ref: str) -> list[Received]:
        return [
            post
            for post in self.receiver.received("paystack")
            if (event := msgspec.json.decode(post.body))["event"] == "charge.success"
            and event["data"]["reference"] == ref
        ]


def sandbox_config(hooks_url: str) -> SandboxConfig:
    return SandboxConfig(
        paystack_webhook_url=f"{hooks_url}/hooks/paystack",
        webhook_retry_delays=(0.05, 0.1),
        paystack_refund_settle_seconds=0.05,
        fault_delay_seconds=1.0,
    )


class BrowserCustomer:
    """Opens the checkout link and submits its form, as a browser without JavaScript does."""

    def __init__(self, browser: httpx.AsyncClient, sandbox: Sandbox) -> None:
        self.browser = browser
        self.sandbox = sandbox

    async def pay(self, checkout: PaymentInitialization) -> None:
        await self._submit(checkout, "pay")

    async def decline(self, checkout: PaymentInitialization) -> None:
        await self._submit(checkout, "decline")

    async def _submit(self, checkout: PaymentInitialization, action: str) -> None:
        page = await self.browser.get(checkout.authorization_url)
        assert page.status_code == 200
        assert "<form method='post'>" in page.text
        assert "5,000.00" in page.text
        answer = await self.browser.post(
            checkout.authorization_url,
            data={"action": action, "card": paystack_simulator.SUCCESS_CARD.number},
        )
        assert answer.status_code == 303
        expected = f"{CALLBACK}&reference={checkout.reference}&trxref={checkout.reference}"
        assert answer.headers["location"] == expected

    async def charge_success_webhook(self, checkout: PaymentInitialization) -> tuple[bytes, str]:
        await eventually(lambda: len(self.sandbox.charge_events(checkout.reference)) == 1)
        post = self.sandbox.charge_events(checkout.reference)[0]
        return post.body, post.headers["x-paystack-signature"]


@pytest.fixture(params=["memory", "paystack-sandbox"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        fake = InMemoryPaymentGateway(
            SECRET, InMemoryClock(datetime(2026, 11, 27, 9, tzinfo=UTC)), InMemoryIdGenerator(7)
        )
        yield Backend(gateway=fake, customer=FakeCustomer(fake))
        return
    sandbox: Sandbox = request.getfixturevalue("sandbox_server")
    retry = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
    async with (
        create_paystack_client(timeout=2.0, verify=LOCAL) as client,
        httpx.AsyncClient(timeout=2.0, verify=LOCAL) as browser,
    ):
        gateway = PaystackGateway(client, SECRET, base_url=f"{sandbox.url}/paystack", retry=retry)
        yield Backend(gateway=gateway, customer=BrowserCustomer(browser, sandbox))


# ------------------------------------------------------------------ initialize


async def test_initialize_gives_a_checkout_for_the_reference(backend: Backend) -> None:
    request = payment()

    checkout = await backend.gateway.initialize(request)

    assert checkout.reference == request.reference
    assert checkout.access_code
    assert checkout.authorization_url.endswith(checkout.access_code)


async def test_initialize_again_returns_the_same_checkout(backend: Backend) -> None:
    request = payment()

    first = await backend.gateway.initialize(request)
    again = await backend.gateway.initialize(request)

    assert again == first


async def test_a_reference_cannot_be_reused_for_another_amount(backend: Backend) -> None:
    request = payment()
    await backend.gateway.initialize(request)

    with pytest.raises(PaymentProviderError):
        await backend.gateway.initialize(payment(request.reference, Money(amount=600_000)))


async def test_a_reference_with_forbidden_characters_is_refused(backend: Backend) -> None:
    with pytest.raises(PaymentProviderError):
        await backend.gateway.initialize(payment("TKT 1/2"))


# ------------------------------------------------------------------ verify


async def test_an_unknown_reference_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFoundError):
        await backend.gateway.verify(reference())


async def test_an_empty_reference_is_not_found(backend: Backend) -> None:
    with pytest.raises(NotFoundError):
        await backend.gateway.verify("")


async def test_an_unpaid_transaction_is_abandoned(backend: Backend) -> None:
    request = payment()
    await backend.gateway.initialize(request)

    verification = await backend.gateway.verify(request.reference)

    assert verification.reference == request.reference
    assert verification.status is PaymentStatus.ABANDONED
    assert verification.amount == request.amount
    assert verification.paid_at is None


async def test_a_paid_transaction_verifies_as_success_for_its_amount(backend: Backend) -> None:
    request = payment()
    checkout = await backend.gateway.initialize(request)

    await backend.customer.pay(checkout)
    verification = await backend.gateway.verify(request.reference)

    assert verification.status is PaymentStatus.SUCCESS
    assert verification.amount == request.amount
    assert verification.gateway_response == "Successful"
    assert verification.paid_at is not None
    assert verification.paid_at.utcoffset() is not None


async def test_a_declined_transaction_verifies_as_failed(backend: Backend) -> None:
    request = payment()
    checkout = await backend.gateway.initialize(request)

    await backend.customer.decline(checkout)
    verification = await backend.gateway.verify(request.reference)

    assert verification.status is PaymentStatus.FAILED
    assert verification.amount == request.amount
    assert verification.paid_at is None


# ------------------------------------------------------------------ refund


async def paid(backend: Backend, request: PaymentRequest | None = None) -> PaymentRequest:
    request = request or payment()
    await backend.customer.pay(await backend.gateway.initialize(request))
    return request


async def test_a_paid_transaction_can_be_refunded_in_full(backend: Backend) -> None:
    request = await paid(backend)

    receipt = await backend.gateway.refund(request.reference)

    assert receipt.reference == request.reference
    assert receipt.amount == request.amount
    assert receipt.status is RefundStatus.PENDING
    assert (await backend.gateway.verify(request.reference)).status is PaymentStatus.REVERSED


async def test_refunding_twice_answers_with_the_existing_refund(backend: Backend) -> None:
    request = await paid(backend)
    first = await backend.gateway.refund(request.reference)

    again = await backend.gateway.refund(request.reference)

    assert again.reference == first.reference
    assert again.amount == first.amount
    # The refund may have moved on between the two calls; it is the same refund.
    assert again.status in {RefundStatus.PENDING, RefundStatus.PROCESSING, RefundStatus.PROCESSED}


async def test_a_partial_refund_leaves_the_rest_refundable(backend: Backend) -> None:
    request = await paid(backend)

    part = await backend.gateway.refund(request.reference, Money(amount=200_000))

    assert part.amount == Money(amount=200_000)
    assert (await backend.gateway.verify(request.reference)).status is PaymentStatus.SUCCESS
    rest = await backend.gateway.refund(request.reference)
    assert rest.amount == Money(amount=300_000)
    assert (await backend.gateway.verify(request.reference)).status is PaymentStatus.REVERSED


async def test_after_partial_refunds_a_repeat_answers_with_the_last_one(
    backend: Backend,
) -> None:
    request = await paid(backend)
    await backend.gateway.refund(request.reference, Money(amount=200_000))
    last = await backend.gateway.refund(request.reference)

    again = await backend.gateway.refund(request.reference)

    assert (again.reference, again.amount) == (request.reference, Money(amount=300_000))
    assert again.amount == last.amount


async def test_more_than_was_paid_cannot_be_refunded(backend: Backend) -> None:
    request = await paid(backend)

    with pytest.raises(PaymentProviderError):
        await backend.gateway.refund(request.reference, Money(amount=500_001))


async def test_an_unpaid_transaction_cannot_be_refunded(backend: Backend) -> None:
    request = payment()
    await backend.gateway.initialize(request)

    with pytest.raises(PaymentProviderError):
        await backend.gateway.refund(request.reference)


async def test_an_unknown_transaction_cannot_be_refunded(backend: Backend) -> None:
    with pytest.raises(PaymentProviderError):
        await backend.gateway.refund(reference())


# ------------------------------------------------------------------ webhooks


def signed(body: bytes) -> str:
    """Paystack's signature, computed here rather than by the code under test."""
    return hmac.new(SECRET.encode(), body, hashlib.sha512).hexdigest()


def webhook(event: str, **data: object) -> bytes:
    return msgspec.json.encode({"event": event, "data": data})


async def test_the_providers_charge_webhook_reads_as_a_charge_that_succeeded(
    backend: Backend,
) -> None:
    checkout = await backend.gateway.initialize(payment())
    await backend.customer.pay(checkout)

    body, signature = await backend.customer.charge_success_webhook(checkout)

    assert msgspec.json.decode(body)["data"]["reference"] == checkout.reference
    assert backend.gateway.read_webhook(body, signature) == PaymentEvent(
        kind=PaymentEventKind.CHARGE_SUCCEEDED, reference=checkout.reference
    )
    assert backend.gateway.provider == "paystack"


async def test_a_forged_webhook_is_refused(backend: Backend) -> None:
    checkout = await backend.gateway.initialize(payment())
    await backend.customer.pay(checkout)
    body, signature = await backend.customer.charge_success_webhook(checkout)

    tampered = body.replace(b'"success"', b'"failed"', 1)
    assert tampered != body
    forgeries = [
        (tampered, signature),
        (body, signature.upper()),
        (body, signature[:-1]),
        (body, ""),
        (body, "é" * len(signature)),
    ]
    for forged_body, forged_signature in forgeries:
        with pytest.raises(InvalidSignatureError):
            backend.gateway.read_webhook(forged_body, forged_signature)


@pytest.mark.parametrize("metadata", ["", 0, None, {"orderId": "ord-1"}], ids=repr)
@pytest.mark.parametrize(
    ("event", "field", "kind"),
    [
        ("charge.success", "reference", PaymentEventKind.CHARGE_SUCCEEDED),
        ("charge.failed", "reference", PaymentEventKind.CHARGE_FAILED),
        ("refund.processed", "transaction_reference", PaymentEventKind.REFUND_PROCESSED),
    ],
)
def test_events_read_whatever_metadata_paystack_sends(
    backend: Backend, event: str, field: str, kind: PaymentEventKind, metadata: object
) -> None:
    # Paystack sends "", 0 or null for "no metadata", an object otherwise.
    ref = reference()
    body = webhook(event, **{field: ref}, status="success", amount=500_000, metadata=metadata)

    assert backend.gateway.read_webhook(body, signed(body)) == PaymentEvent(
        kind=kind, reference=ref
    )


@pytest.mark.parametrize("event", ["transfer.success", "subscription.create", "refund.pending"])
def test_an_event_the_domain_has_no_kind_for_reads_as_other(backend: Backend, event: str) -> None:
    ref = reference()
    body = webhook(event, reference=ref, metadata=None)

    assert backend.gateway.read_webhook(body, signed(body)) == PaymentEvent(
        kind=PaymentEventKind.OTHER, reference=ref
    )


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"data": {}}',
        webhook("charge.success"),
        webhook("charge.success", reference=""),
        webhook("charge.success", reference=42),
        msgspec.json.encode({"event": "charge.success", "data": None}),
    ],
    ids=["not-json", "no-event", "no-reference", "empty-reference", "number", "null-data"],
)
def test_an_authentic_webhook_that_names_no_transaction_reads_as_nothing(
    backend: Backend, body: bytes
) -> None:
    assert backend.gateway.read_webhook(body, signed(body)) is None
