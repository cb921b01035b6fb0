"""``PaystackGateway`` beyond the port contract, and the simulator against Paystack's docs.

The gateway talks real HTTP to the simulator (uvicorn on 127.0.0.1). Faults are planned
in the simulator's state; the gateway's sleeps are recorded instead of slept, so the
retry schedule is asserted exactly and the suite stays fast. Requests are counted from
the simulator's own log of what it received.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from getiickets.adapters.memory import InMemoryCache, InMemoryClock
from getiickets.adapters.paystack import PaystackGateway, RetryPolicy, create_paystack_client
from getiickets.domain.model.errors import (
    NotFoundError,
    PaymentProviderError,
    PaymentProviderUnavailableError,
)
from getiickets.domain.model.money import Money
from getiickets.domain.model.payments import (
    PaymentEvent,
    PaymentEventKind,
    PaymentInitialization,
    PaymentStatus,
    RefundStatus,
)
from getiickets.ports.payments import PaymentRequest
from getiickets.sandbox import paystack as paystack_simulator
from getiickets.sandbox.config import DEFAULT_PAYSTACK_SECRET_KEY, SandboxConfig
from getiickets.sandbox.state import Delivery, FaultKind
from tests.contract.live_server import Received, eventually
from tests.contract.sandbox_server import SandboxServer, serve_sandbox

pytestmark = pytest.mark.contract

SECRET = DEFAULT_PAYSTACK_SECRET_KEY
# Plain HTTP to 127.0.0.1: no certificate bundle to load for each client.
LOCAL = False
PRICE = Money(amount=500_000)
CLIENT_TIMEOUT = 0.3
FAULT_DELAY = 1.0  # an injected timeout holds the request this long: past CLIENT_TIMEOUT
RETRY_AFTER = 1
WEBHOOK_RETRIES = (0.05, 0.1, 0.2)
RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=5.0)
EXCERPT = Path(__file__).parent / "data" / "paystack_openapi_excerpt.yaml"
# Paystack's full spec (PaystackOSS/openapi, dist/paystack.yaml; 0.5 MB) is not in the
# repo: set PAYSTACK_OPENAPI to a copy to check the committed excerpt against it.
REFERENCE_SPEC = os.environ.get("PAYSTACK_OPENAPI")


class Sandbox(SandboxServer):
    @property
    def api(self) -> str:
        return f"{self.url}/paystack"

    def calls(self, method: str, path: str) -> int:
        """Requests the simulator received for ``method`` on ``/paystack{path}...``."""
        with self.state.lock:
            return sum(
                1
                for item in self.state.paystack.received
                if item.method == method and item.path.startswith(f"/paystack{path}")
            )

    def plan(self, count: int, kind: FaultKind) -> None:
        with self.state.lock:
            self.state.paystack.fail_next(count, kind)

    def cleared(self) -> Sandbox:
        """This sandbox with no request, planned fault or webhook on record: each test
        counts from zero (transactions are kept apart by unique references)."""
        with self.state.lock:
            self.state.paystack.received.clear()
            self.state.paystack.faults.clear()
        self.receiver.clear()
        return self

    def events(self, name: str, reference: str) -> list[Received]:
        def about(post: Received) -> bool:
            event = msgspec.json.decode(post.body)
            data = event["data"]
            ref = data.get("reference") or data.get("transaction_reference")
            return bool(event["event"] == name and ref == reference)

        return [post for post in self.receiver.received("paystack") if about(post)]


def sandbox_config(hooks_url: str, **settings: Any) -> SandboxConfig:
    return SandboxConfig(
        paystack_webhook_url=f"{hooks_url}/hooks/paystack",
        webhook_retry_delays=WEBHOOK_RETRIES,
        paystack_refund_settle_seconds=0.05,
        paystack_retry_after_seconds=RETRY_AFTER,
        fault_delay_seconds=FAULT_DELAY,
        **settings,
    )


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    return sandbox_server.cleared()


class RecordedSleep:
    """Stands in for asyncio.sleep: the schedule is asserted, not waited for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def paystack_client() -> httpx.AsyncClient:
    """The gateway's client, impatient enough that an injected timeout is one."""
    return create_paystack_client(timeout=CLIENT_TIMEOUT, connect_timeout=1.0, verify=LOCAL)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with paystack_client() as client:
        yield client


@pytest.fixture
def sleeps() -> RecordedSleep:
    return RecordedSleep()


def make_gateway(
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    sleeps: RecordedSleep | None = None,
    **options: Any,
) -> PaystackGateway:
    settings: dict[str, Any] = {
        "base_url": sandbox.api,
        "retry": RETRY,
        "sleep": sleeps or RecordedSleep(),
        "jitter": lambda: 0.5,
    }
    return PaystackGateway(client, options.pop("secret_key", SECRET), **(settings | options))


@pytest.fixture
def gateway(client: httpx.AsyncClient, sandbox: Sandbox, sleeps: RecordedSleep) -> PaystackGateway:
    return make_gateway(client, sandbox, sleeps)


def payment(amount: Money = PRICE, email: str = "ada@example.com") -> PaymentRequest:
    return PaymentRequest(
        reference=f"TKT-{int(time.time() * 1000)}-{uuid.uuid4()}",
        email=email,
        amount=amount,
        callback_url="https://shop.example/payments/callback",
        metadata={"orderId": "ord-1", "eventId": "evt-1"},
    )


async def pay(checkout: PaymentInitialization, card: str | None = None) -> None:
    async with httpx.AsyncClient(verify=LOCAL) as browser:
        answer = await browser.post(
            checkout.authorization_url,
            data={"action": "pay", "card": card or paystack_simulator.SUCCESS_CARD.number},
        )
    assert answer.status_code == 303


async def paid(gateway: PaystackGateway, card: str | None = None) -> PaymentRequest:
    request = payment()
    await pay(await gateway.initialize(request), card)
    return request


# ------------------------------------------------------------------ retries


async def test_a_transient_server_error_is_retried_until_it_succeeds(
    gateway: PaystackGateway, sandbox: Sandbox, sleeps: RecordedSleep
) -> None:
    sandbox.plan(2, FaultKind.SERVER_ERROR)
    request = payment()

    checkout = await gateway.initialize(request)

    assert checkout.reference == request.reference
    assert sandbox.calls("POST", "/transaction/initialize") == 3
    # Exponential backoff with equal jitter (jitter fixed at 0.5): 3/4 of 0.01, then of 0.02.
    assert sleeps.delays == pytest.approx([0.0075, 0.015])


async def test_a_rate_limit_is_retried_after_retry_after(
    gateway: PaystackGateway, sandbox: Sandbox, sleeps: RecordedSleep
) -> None:
    request = payment()
    await gateway.initialize(request)
    sandbox.plan(1, FaultKind.RATE_LIMITED)

    verification = await gateway.verify(request.reference)

    assert verification.status is PaymentStatus.ABANDONED
    assert sandbox.calls("GET", "/transaction/verify/") == 2
    assert sleeps.delays == [RETRY_AFTER]


async def test_a_retry_after_longer_than_the_policy_allows_ends_the_retries(
    client: httpx.AsyncClient, sandbox: Sandbox, sleeps: RecordedSleep
) -> None:
    impatient = RetryPolicy(attempts=3, base_delay=0.01, max_retry_after=RETRY_AFTER / 2)
    gateway = make_gateway(client, sandbox, sleeps, retry=impatient)
    sandbox.plan(1, FaultKind.RATE_LIMITED)

    with pytest.raises(PaymentProviderUnavailableError, match="rate limited"):
        await gateway.verify("ref-1")

    assert sandbox.calls("GET", "/transaction/verify/") == 1
    assert sleeps.delays == []


async def test_a_timeout_is_retried(gateway: PaystackGateway, sandbox: Sandbox) -> None:
    request = payment()
    await gateway.initialize(request)
    sandbox.plan(1, FaultKind.TIMEOUT)
    started = time.monotonic()

    verification = await gateway.verify(request.reference)

    assert verification.reference == request.reference
    assert sandbox.calls("GET", "/transaction/verify/") == 2
    # The client gave up on its own timeout; it did not wait for the held request.
    assert time.monotonic() - started < FAULT_DELAY


async def test_when_retries_run_out_the_provider_is_unavailable(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    sandbox.plan(10, FaultKind.SERVER_ERROR)

    with pytest.raises(PaymentProviderUnavailableError, match="HTTP 500"):
        await gateway.verify("ref-1")

    assert sandbox.calls("GET", "/transaction/verify/") == RETRY.attempts


async def test_an_invalid_key_is_refused_without_retrying(
    client: httpx.AsyncClient, sandbox: Sandbox, sleeps: RecordedSleep
) -> None:
    gateway = make_gateway(client, sandbox, sleeps, secret_key="sk_test_wrong")

    with pytest.raises(PaymentProviderError, match="invalid key"):
        await gateway.initialize(payment())

    assert sandbox.calls("POST", "/transaction/initialize") == 1
    assert sleeps.delays == []


async def test_a_validation_error_carries_paystacks_message(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    with pytest.raises(PaymentProviderError, match="Email Address is required"):
        await gateway.initialize(payment(email=""))

    assert sandbox.calls("POST", "/transaction/initialize") == 1


async def test_an_unreadable_answer_is_retried_like_a_lost_one(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    # Decision: a 200 that is not Paystack's JSON is a lost answer (a proxy page, a
    # cut-off body), not a refusal: retried, then "unavailable" when retries run out.
    request = payment()
    await gateway.initialize(request)
    sandbox.plan(1, FaultKind.MALFORMED)

    assert (await gateway.verify(request.reference)).reference == request.reference
    assert sandbox.calls("GET", "/transaction/verify/") == 2

    sandbox.plan(RETRY.attempts, FaultKind.MALFORMED)
    with pytest.raises(PaymentProviderUnavailableError, match="unreadable answer"):
        await gateway.verify(request.reference)


# ------------------------------------------------------------------ initialize is idempotent


async def test_an_initialize_timed_out_before_processing_is_simply_retried(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    request = payment()
    sandbox.plan(1, FaultKind.TIMEOUT)

    checkout = await gateway.initialize(request)

    assert sandbox.calls("POST", "/transaction/initialize") == 2
    assert (await gateway.verify(checkout.reference)).status is PaymentStatus.ABANDONED


async def test_a_duplicate_reference_is_answered_with_the_checkout_already_given(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    # Two processes sharing the checkout cache (Redis in production).
    shared = InMemoryCache(InMemoryClock(datetime.now(UTC)))
    first_process = make_gateway(client, sandbox, checkouts=shared)
    second_process = make_gateway(client, sandbox, checkouts=shared)
    request = payment()

    first = await first_process.initialize(request)
    again = await second_process.initialize(request)

    assert again == first
    # The second really asked Paystack, met duplicate_reference and recovered.
    assert sandbox.calls("POST", "/transaction/initialize") == 2
    listed = await transactions_at_paystack(sandbox, perPage="100")
    assert [row["reference"] for row in listed["data"]].count(request.reference) == 1


async def test_a_duplicate_nobody_here_remembers_is_refused_with_a_reason(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    request = payment()
    await make_gateway(client, sandbox).initialize(request)
    stranger = make_gateway(client, sandbox)  # another process, no shared cache

    with pytest.raises(PaymentProviderError, match="duplicate_reference") as refused:
        await stranger.initialize(request)

    assert "abandoned" in refused.value.detail
    assert "checkout link" in refused.value.detail


async def test_an_initialize_whose_answer_was_lost_is_not_invented(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    # Paystack created the transaction but the link never arrived; it never hands it
    # out again, so the gateway must say so rather than make one up.
    request = payment()
    sandbox.plan(1, FaultKind.LOST_RESPONSE)

    with pytest.raises(PaymentProviderError, match="never reached this service"):
        await gateway.initialize(request)

    assert sandbox.calls("POST", "/transaction/initialize") == 2
    listed = await transactions_at_paystack(sandbox, perPage="100")
    assert [row["reference"] for row in listed["data"]].count(request.reference) == 1


# ------------------------------------------------------------------ refunds are never doubled


async def test_a_refund_whose_answer_was_lost_is_found_not_repeated(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    request = await paid(gateway)
    sandbox.plan(1, FaultKind.LOST_RESPONSE)

    receipt = await gateway.refund(request.reference)

    assert receipt.amount == PRICE
    assert sandbox.calls("POST", "/refund") == 1
    assert sandbox.calls("GET", "/refund?transaction=") == 1
    assert len(await refunds_at_paystack(sandbox, request.reference)) == 1


async def test_a_refund_that_failed_at_paystack_is_checked_then_sent_again(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    request = await paid(gateway)
    sandbox.plan(1, FaultKind.SERVER_ERROR)

    receipt = await gateway.refund(request.reference)

    assert receipt.status is RefundStatus.PENDING
    assert sandbox.calls("GET", "/refund?transaction=") == 1
    assert sandbox.calls("POST", "/refund") == 2
    assert len(await refunds_at_paystack(sandbox, request.reference)) == 1


async def test_a_rate_limited_refund_is_sent_again_without_a_lookup(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    request = await paid(gateway)
    sandbox.plan(1, FaultKind.RATE_LIMITED)

    await gateway.refund(request.reference)

    assert sandbox.calls("POST", "/refund") == 2
    assert sandbox.calls("GET", "/refund") == 0


async def test_a_refund_whose_outcome_stays_unknown_is_unavailable_not_repeated(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    request = await paid(gateway)
    # The refund POST is lost, and so is every lookup that could say what happened.
    sandbox.plan(1, FaultKind.LOST_RESPONSE)
    sandbox.plan(20, FaultKind.SERVER_ERROR)

    with pytest.raises(PaymentProviderUnavailableError):
        await gateway.refund(request.reference)

    assert sandbox.calls("POST", "/refund") == 1


async def test_refunding_a_processed_refund_again_reports_it_processed(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    request = await paid(gateway)
    await gateway.refund(request.reference)
    await eventually(lambda: bool(sandbox.events("refund.processed", request.reference)))

    again = await gateway.refund(request.reference)

    assert (again.status, again.amount) == (RefundStatus.PROCESSED, PRICE)


async def transactions_at_paystack(sandbox: Sandbox, **params: str) -> dict[str, Any]:
    """``GET /transaction``, as an operator's tool would read it: data and meta."""
    headers = {"Authorization": f"Bearer {SECRET}"}
    async with httpx.AsyncClient(base_url=sandbox.api, headers=headers, verify=LOCAL) as raw:
        listed = await raw.get("/transaction", params=params)
    assert listed.status_code == 200
    body: dict[str, Any] = listed.json()
    return body


async def refunds_at_paystack(sandbox: Sandbox, reference: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {SECRET}"}
    async with httpx.AsyncClient(base_url=sandbox.api, headers=headers, verify=LOCAL) as raw:
        transaction = (await raw.get(f"/transaction/verify/{reference}")).json()["data"]
        listed = await raw.get("/refund", params={"transaction": transaction["id"]})
    refunds: list[dict[str, Any]] = listed.json()["data"]
    return refunds


# ------------------------------------------------------------------ verify details


@pytest.fixture(scope="module")
def variant_sandbox() -> Iterator[Sandbox]:
    """Fees passed on to customers; unknown references answered 400 (the field variant)."""
    variant = partial(
        sandbox_config, paystack_pass_fees_to_customer=True, paystack_unknown_reference_status=400
    )
    with serve_sandbox(variant, Sandbox) as server:
        yield server


async def test_verify_compares_the_requested_amount_when_fees_are_passed_on(
    client: httpx.AsyncClient, variant_sandbox: Sandbox
) -> None:
    gateway = make_gateway(client, variant_sandbox)
    request = payment()
    await pay(await gateway.initialize(request))

    verification = await gateway.verify(request.reference)

    charged = await transactions_at_paystack(variant_sandbox, status="success", perPage="100")
    mine = next(row for row in charged["data"] if row["reference"] == request.reference)
    assert mine["amount"] == PRICE.amount + paystack_simulator.fee_for(PRICE.amount)
    assert verification.amount == PRICE


async def test_an_unknown_reference_answered_400_is_not_found_too(
    client: httpx.AsyncClient, variant_sandbox: Sandbox
) -> None:
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {SECRET}"}, verify=LOCAL
    ) as raw:
        answer = await raw.get(f"{variant_sandbox.api}/transaction/verify/nope")
    assert (answer.status_code, answer.json()["status"]) == (400, False)

    with pytest.raises(NotFoundError):
        await make_gateway(client, variant_sandbox).verify("nope")


async def test_an_empty_reference_never_reaches_paystack(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    with pytest.raises(NotFoundError):
        await gateway.verify("")
    assert sandbox.calls("GET", "/transaction") == 0

    # What Paystack would have answered: the path falls through to /transaction/:id.
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {SECRET}"}, verify=LOCAL
    ) as raw:
        answer = await raw.get(f"{sandbox.api}/transaction/verify/")
    assert answer.status_code == 400
    assert answer.json() == {"status": False, "message": "Transaction ID should be numeric."}


async def test_the_simulator_lists_transactions_newest_first_by_status(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    unpaid = payment()
    await gateway.initialize(unpaid)
    settled = await paid(gateway)

    successes = await transactions_at_paystack(sandbox, status="success", perPage="100")
    newest = await transactions_at_paystack(sandbox, perPage="1")

    assert settled.reference in {row["reference"] for row in successes["data"]}
    assert unpaid.reference not in {row["reference"] for row in successes["data"]}
    assert all(row["status"] == PaymentStatus.SUCCESS for row in successes["data"])
    assert [row["reference"] for row in newest["data"]] == [settled.reference]
    assert newest["meta"]["perPage"] == 1
    assert newest["meta"]["total"] >= 2
    assert newest["data"][0]["id"] > 2**53  # beyond a double: Paystack's ids are 64-bit


# ------------------------------------------------------------------ webhooks


async def test_charge_success_is_signed_with_hmac_sha512_of_the_exact_bytes(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    request = await paid(gateway)

    await eventually(lambda: bool(sandbox.events("charge.success", request.reference)))
    post = sandbox.events("charge.success", request.reference)[0]

    expected = hmac.new(SECRET.encode(), post.body, hashlib.sha512).hexdigest()
    assert post.headers["x-paystack-signature"] == expected
    event = msgspec.json.decode(post.body)
    assert event["data"]["status"] == "success"
    assert event["data"]["amount"] == PRICE.amount
    assert event["data"]["metadata"] == {"orderId": "ord-1", "eventId": "evt-1"}


async def test_an_unacknowledged_webhook_is_retried_on_the_schedule(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    sandbox.receiver.fail_next(2)
    request = await paid(gateway)

    def delivery() -> Delivery:
        with sandbox.state.lock:
            about = [
                d for d in sandbox.state.paystack.deliveries if request.reference in str(d.body)
            ]
        assert len(about) == 1
        return about[0]

    # Delivered once the sender has read the receiver's 200.
    await eventually(lambda: delivery().delivered)
    tries = sandbox.events("charge.success", request.reference)

    assert [attempt.status_code for attempt in delivery().attempts] == [500, 500, 200]
    assert len(tries) == 3
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(tries)]
    assert gaps[0] >= WEBHOOK_RETRIES[0]
    assert gaps[1] >= WEBHOOK_RETRIES[1]
    assert len({post.body for post in tries}) == 1  # the same event each time


async def test_a_declined_charge_sends_no_webhook(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    declined = payment()
    checkout = await gateway.initialize(declined)

    await pay(checkout, card="4084080000005408")  # Paystack's "declined" test card

    assert (await gateway.verify(declined.reference)).status is PaymentStatus.FAILED
    with sandbox.state.lock:
        # Deliveries are recorded before the checkout answers, so none means none.
        assert [
            d for d in sandbox.state.paystack.deliveries if declined.reference.encode() in d.body
        ] == []


async def test_a_refund_is_announced_pending_then_processed(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    request = await paid(gateway)

    await gateway.refund(request.reference)

    await eventually(lambda: bool(sandbox.events("refund.processed", request.reference)))
    pending = sandbox.events("refund.pending", request.reference)
    processed = sandbox.events("refund.processed", request.reference)
    assert len(pending) == len(processed) == 1
    assert pending[0].at <= processed[0].at
    data = msgspec.json.decode(processed[0].body)["data"]
    assert (data["status"], data["amount"], data["currency"]) == ("processed", "500000", "NGN")
    kinds = [
        gateway.read_webhook(post.body, post.headers["x-paystack-signature"])
        for post in (*pending, *processed)
    ]
    assert kinds == [
        PaymentEvent(kind=PaymentEventKind.OTHER, reference=request.reference),
        PaymentEvent(kind=PaymentEventKind.REFUND_PROCESSED, reference=request.reference),
    ]


async def test_a_refund_on_the_failing_test_card_is_announced_failed(
    gateway: PaystackGateway, sandbox: Sandbox
) -> None:
    request = await paid(gateway, card="4084080000671803")

    await gateway.refund(request.reference)

    await eventually(lambda: bool(sandbox.events("refund.failed", request.reference)))
    # The money went back to the merchant: the charge stands.
    assert (await gateway.verify(request.reference)).status is PaymentStatus.SUCCESS


# ------------------------------------------------------------------ the simulator vs the docs


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXCERPT.read_text())
    return document


def check(schemas: dict[str, Any], name: str, body: Any) -> None:
    """Validate ``body`` against a component schema of Paystack's OpenAPI (3.0) spec."""
    validator = OAS30Validator({**schemas, "$ref": f"#/components/schemas/{name}"})
    problems = [
        f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(body)
    ]
    assert problems == [], name


async def test_answers_validate_against_paystacks_openapi_schemas(
    schemas: dict[str, Any], sandbox: Sandbox
) -> None:
    headers = {"Authorization": f"Bearer {SECRET}"}
    request = payment()
    async with httpx.AsyncClient(base_url=sandbox.api, headers=headers, verify=LOCAL) as raw:
        body = {
            "email": request.email,
            "amount": 500_000,
            "reference": request.reference,
            "callback_url": request.callback_url,
        }
        initialized = await raw.post("/transaction/initialize", json=body)
        check(schemas, "TransactionInitializeResponse", initialized.json())
        duplicate = await raw.post("/transaction/initialize", json=body)
        assert duplicate.status_code == 400
        check(schemas, "TransactionInitializeBadRequestModel", duplicate.json())

        check(
            schemas,
            "VerifyResponse",
            (await raw.get(f"/transaction/verify/{request.reference}")).json(),
        )
        checkout = initialized.json()["data"]["authorization_url"]
        assert (await raw.post(checkout, data={"action": "pay"})).status_code == 303
        verified = (await raw.get(f"/transaction/verify/{request.reference}")).json()
        check(schemas, "VerifyResponse", verified)
        assert verified["data"]["status"] == "success"

        refund = await raw.post(
            "/refund", json={"transaction": request.reference, "amount": 100_000}
        )
        check(schemas, "RefundCreateResponse", refund.json())
        refunds = await raw.get("/refund", params={"transaction": verified["data"]["id"]})
        check(schemas, "RefundListResponse", refunds.json())
        listed = await raw.get("/transaction", params={"status": "success", "perPage": 5})
        check(schemas, "TransactionListResponse", listed.json())

        unknown = await raw.get("/transaction/verify/no-such-reference")
        assert unknown.status_code == 404
        check(schemas, "Error", unknown.json())
    async with httpx.AsyncClient(base_url=sandbox.api, verify=LOCAL) as anonymous:
        refused = await anonymous.get("/transaction", headers={"Authorization": "Bearer sk_bad"})
    assert (refused.status_code, refused.json()) == (
        401,
        {"status": False, "message": "Invalid key"},
    )
    check(schemas, "Error", refused.json())


async def test_initialize_takes_form_bodies_and_string_amounts(sandbox: Sandbox) -> None:
    headers = {"Authorization": f"Bearer {SECRET}"}
    async with httpx.AsyncClient(base_url=sandbox.api, headers=headers, verify=LOCAL) as raw:
        accepted = await raw.post(
            "/transaction/initialize",
            data={"email": "ada@example.com", "amount": "20000", "metadata": '{"orderId": "o"}'},
        )
        refused = await raw.post(
            "/transaction/initialize", data={"email": "ada@example.com", "amount": "200.50"}
        )
        reference = accepted.json()["data"]["reference"]
        verified = (await raw.get(f"/transaction/verify/{reference}")).json()["data"]

    assert accepted.status_code == 200
    assert (verified["amount"], verified["metadata"]) == (20_000, {"orderId": "o"})
    assert refused.status_code == 400
    assert refused.json()["message"] == "Amount must be an integer"


@pytest.mark.slow
def test_the_schema_excerpt_is_the_reference_spec_verbatim() -> None:
    if not REFERENCE_SPEC:
        pytest.skip("set PAYSTACK_OPENAPI to Paystack's dist/paystack.yaml to check the excerpt")
    spec = yaml.safe_load(Path(REFERENCE_SPEC).read_text())
    excerpt = yaml.safe_load(EXCERPT.read_text())
    for name, schema in excerpt["components"]["schemas"].items():
        assert schema == spec["components"]["schemas"][name], name


async def test_the_event_and_its_local_time_are_shown_on_the_checkout_page(
    gateway: PaystackGateway,
) -> None:
    request = msgspec.structs.replace(
        payment(),
        metadata={
            "orderId": "ord-1",
            "event": "Ọjà Night",
            "eventStarts": "Thu 31 Dec 2026, 7:00 pm WAT",
        },
    )
    checkout = await gateway.initialize(request)

    async with httpx.AsyncClient(verify=LOCAL) as browser:
        page = (await browser.get(checkout.authorization_url)).text
    # Paystack shows metadata.custom_fields to the payer; the rest is only stored.
    assert "<dt>Event</dt><dd>Ọjà Night</dd>" in page
    assert "<dt>When</dt><dd>Thu 31 Dec 2026, 7:00 pm WAT</dd>" in page
