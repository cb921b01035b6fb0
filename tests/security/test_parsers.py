"""Every parser of outside data, fed what the outside may send: each either reads a valid
value or raises its documented error, never anything else (an unexpected exception is
a 500 at the edge, or a worker that dies on one message).

Parsers: money strings, phone numbers, QR payloads, Paystack webhook bodies (with the
odd ``metadata`` values Paystack really sends: ``""``, ``0``, ``null``, objects) and
verify answers, Brevo webhooks, Twilio status callbacks, and the HTTP edge's own
nesting check.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import timeit
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from getiickets.adapters.brevo.webhooks import (
    DeliveryStatusReport,
    InvalidWebhookError,
    parse_brevo_webhook,
)
from getiickets.adapters.paystack.gateway import PaystackGateway, RetryPolicy
from getiickets.adapters.twilio.status_callbacks import (
    InvalidStatusCallbackError,
    TwilioStatusReport,
    parse_status_callback,
    verify_status_callback,
)
from getiickets.domain.model.accounts import normalize_phone
from getiickets.domain.model.errors import (
    InvalidMoneyError,
    InvalidSignatureError,
    InvalidTicketError,
    NotFoundError,
    PaymentProviderError,
    PaymentProviderUnavailableError,
    ValidationError,
)
from getiickets.domain.model.money import MAX_AMOUNT, Money
from getiickets.domain.model.payments import PaymentVerification
from getiickets.domain.model.tickets import (
    QrClaims,
    SignedQr,
    parse_qr_payload,
    qr_message,
    qr_payload,
)
from getiickets.domain.usecases.payment_inbox import WebhookOutcome, WebhookReceipt
from getiickets.entrypoints.http.bodies import too_deep
from tests.unit.world import World

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# JSON as the outside writes it: every scalar kind, nested a little.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
# Paystack's metadata: "" (verify sample), 0 (charge.success sample), null, or an object.
paystack_metadata = st.sampled_from(["", 0, None, "{}", "null"]) | st.dictionaries(
    st.sampled_from(["orderId", "eventId", "custom_fields", "referrer", ""]),
    json_values,
    max_size=4,
)


BAD_BYTES = st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xc3", b"\x80", b"\xf4\x90\x80\x80"])
"""Not UTF-8: a stray byte, an encoded surrogate, a cut sequence, past U+10FFFF."""


def with_bad_bytes(documents: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """JSON documents with bytes that are not UTF-8 slipped in after one of their quotes,
    inside a string, where a JSON parser only finds them while decoding text."""

    @st.composite
    def mangle(draw: st.DrawFn) -> bytes:
        document = draw(documents)
        quotes = [index for index, byte in enumerate(document) if byte == ord('"')]
        if not quotes:
            return document
        at = draw(st.sampled_from(quotes)) + 1
        return document[:at] + draw(BAD_BYTES) + document[at:]

    return mangle()


def outside_bytes(documents: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """What arrives: the documents, the same with bytes that are not UTF-8, or noise."""
    return documents | with_bad_bytes(documents) | st.binary(max_size=200)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# ---------------------------------------------------------------------- money


@PROPERTY
@given(value=json_values | st.text(alphabet="0123456789.-+eE_ ,\u0660\u00b2", max_size=25))
def test_money_parse_reads_a_valid_amount_or_raises_invalid_money(value: object) -> None:
    try:
        money = Money.parse(value)
    except InvalidMoneyError:
        return
    assert type(money.amount) is int
    assert 0 <= money.amount <= MAX_AMOUNT
    assert Money.parse(money.major) == money


@PROPERTY
@given(amount=st.integers(min_value=0, max_value=MAX_AMOUNT))
def test_money_round_trips_through_its_decimal_string(amount: int) -> None:
    money = Money(amount=amount)
    assert Money.parse(money.major) == money


# ---------------------------------------------------------------------- phone numbers


@PROPERTY
@given(
    phone=st.none()
    | st.text(max_size=30)
    | st.text(alphabet="+0123456789 ().-\u0660\u0661\u00b2\u2007", max_size=20)
)
def test_phone_numbers_normalize_to_e164_or_raise_validation_error(phone: str | None) -> None:
    try:
        normalized = normalize_phone(phone)
    except ValidationError as error:
        refused: ValidationError | None = error
    else:
        refused = None
    if refused is not None:
        assert refused.field == "phone"
        return
    assert normalized is None or re.fullmatch(r"\+[1-9][0-9]{7,14}", normalized), normalized


# ---------------------------------------------------------------------- QR payloads


@PROPERTY
@given(
    payload=st.text(max_size=200) | st.from_regex(r"GT1\.[A-Za-z0-9_\-=+/.]{0,60}", fullmatch=True)
)
def test_qr_payloads_parse_or_are_invalid_tickets(payload: str) -> None:
    try:
        signed = parse_qr_payload(payload)
    except InvalidTicketError:
        return
    assert isinstance(signed, SignedQr)
    assert qr_payload(signed.message, signed.signature) == payload.strip()


@PROPERTY
@given(ticket=st.text(max_size=40), event=st.text(max_size=40), signature=st.binary(max_size=64))
def test_a_genuine_qr_payload_reads_back_its_claims(
    ticket: str, event: str, signature: bytes
) -> None:
    assume(signature)
    claims = QrClaims(t=ticket, e=event)
    signed = parse_qr_payload(qr_payload(qr_message(claims), signature))
    assert signed.claims == claims
    assert signed.signature == signature


@PROPERTY
@given(message=st.binary(max_size=80), signature=st.binary(min_size=1, max_size=64))
def test_qr_payloads_with_any_claim_bytes_parse_or_are_invalid(
    message: bytes, signature: bytes
) -> None:
    assume(message)
    try:
        signed = parse_qr_payload(qr_payload(message, signature))
    except InvalidTicketError:
        return
    assert signed.message == message


# ---------------------------------------------------------------------- Paystack webhooks

PAYSTACK_EVENTS = st.sampled_from(
    ["charge.success", "charge.failed", "refund.processed", "transfer.success", "", "ch\u00e4rge"]
)


@st.composite
def paystack_bodies(draw: st.DrawFn) -> bytes:
    data: dict[str, Any] = {
        "reference": draw(st.none() | st.text(max_size=40) | st.integers() | st.just("")),
        "status": draw(st.sampled_from(["success", "failed", "abandoned", "", None, 0])),
        "amount": draw(st.integers() | st.text(max_size=8) | st.none()),
        "currency": draw(st.sampled_from(["NGN", "", None, 0, "ngn"])),
        "metadata": draw(paystack_metadata),
        "customer": {
            "metadata": draw(paystack_metadata),
            "phone": draw(st.none() | st.text(max_size=15)),
        },
    }
    if draw(st.booleans()):
        data["transaction_reference"] = draw(st.none() | st.text(max_size=40) | st.just(0))
    extra = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3))
    envelope: dict[str, Any] = {"event": draw(PAYSTACK_EVENTS | json_scalars), "data": data | extra}
    if draw(st.booleans()):
        envelope["data"] = draw(json_values)
    return json.dumps(envelope).encode()


@PROPERTY
@given(body=outside_bytes(paystack_bodies()))
@example(body=b'{"event": "charge.success", "data": {"reference": "\xff"}}')
def test_signed_paystack_webhooks_are_received_or_ignored(body: bytes) -> None:
    world = World()
    receipt = run(world.payment_inbox.receive_webhook(body, world.gateway.sign(body)))
    assert isinstance(receipt, WebhookReceipt)
    if receipt.outcome is WebhookOutcome.ACCEPTED:
        assert receipt.key


@PROPERTY
@given(body=outside_bytes(paystack_bodies()), signature=st.text(max_size=140))
def test_unsigned_paystack_webhooks_are_invalid_signatures(body: bytes, signature: str) -> None:
    world = World()
    assume(signature != world.gateway.sign(body))
    with pytest.raises(InvalidSignatureError):
        run(world.payment_inbox.receive_webhook(body, signature))


REFERENCE = "TKT-1764600000000-0b9e7c1e-2f7a-4a0e-9d55-1d3c5b6f7a80"


@st.composite
def verify_answers(draw: st.DrawFn) -> bytes:
    data: dict[str, Any] = {
        "id": draw(st.integers(min_value=1, max_value=2**40) | st.none() | st.text(max_size=5)),
        "reference": draw(st.just(REFERENCE) | st.text(max_size=10) | st.none()),
        "status": draw(
            st.sampled_from(["success", "failed", "abandoned", "ongoing", "reversed"])
            | json_scalars
        ),
        "amount": draw(
            st.integers(min_value=-5, max_value=10**16)
            | st.text(alphabet="0123456789\u00b2\u0660", max_size=6)
            | json_scalars
        ),
        "currency": draw(st.sampled_from(["NGN", "GHS", "", "ngn"]) | json_scalars),
        "paid_at": draw(st.none() | st.just("2026-12-01T10:00:00.000Z") | st.text(max_size=25)),
        "gateway_response": draw(json_scalars),
        "metadata": draw(paystack_metadata),
    }
    if draw(st.booleans()):
        data["requested_amount"] = draw(st.integers(min_value=0, max_value=10**9) | json_scalars)
    answer: dict[str, Any] = {"status": True, "message": "Verification successful", "data": data}
    if draw(st.booleans()):
        answer = draw(
            st.dictionaries(st.sampled_from(["status", "message", "data"]), json_values, max_size=3)
        )
    return json.dumps(answer).encode()


async def _verify_with_answer(answer: bytes) -> PaymentVerification:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=answer, headers={"content-type": "application/json"}
        )
    )
    async with httpx.AsyncClient(transport=transport) as client:

        async def no_wait(_: float) -> None:
            return None

        gateway = PaystackGateway(
            client,
            "sk_test_property",
            base_url="https://paystack.invalid",
            retry=RetryPolicy(attempts=1),
            sleep=no_wait,
        )
        return await gateway.verify(REFERENCE)


def _answer(amount: object) -> bytes:
    data = {
        "id": 1,
        "reference": REFERENCE,
        "status": "success",
        "amount": amount,
        "currency": "NGN",
    }
    return json.dumps({"status": True, "data": data}).encode()


@PROPERTY
@given(answer=outside_bytes(verify_answers()))
@example(answer=_answer("\u00b2"))  # "²".isdigit() is true; int("²") raised ValueError
@example(answer=b'{"status": true, "data": "\xff"}')  # msgspec: UnicodeDecodeError
def test_paystack_verify_answers_parse_or_raise_provider_errors(answer: bytes) -> None:
    try:
        verification = run(_verify_with_answer(answer))
    except (PaymentProviderError, PaymentProviderUnavailableError, NotFoundError):
        return
    assert verification.reference == REFERENCE
    assert isinstance(verification.amount, Money)


# ---------------------------------------------------------------------- Brevo and Twilio

BREVO_EVENTS = st.sampled_from(["delivered", "hard_bounce", "soft_bounce", "request", "opened", ""])


@st.composite
def brevo_events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event": draw(BREVO_EVENTS | json_scalars),
        "message-id": draw(st.none() | st.text(max_size=40) | st.integers() | st.just("")),
        "email": draw(st.text(max_size=20)),
    }
    if draw(st.booleans()):
        event["reason"] = draw(st.none() | st.text(max_size=20) | st.integers())
    event |= draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3))
    return event


@PROPERTY
@given(
    body=outside_bytes(
        brevo_events().map(lambda event: json.dumps(event).encode())
        | st.lists(brevo_events(), max_size=4).map(lambda events: json.dumps(events).encode())
        | json_values.map(lambda value: json.dumps(value).encode())
    )
)
@example(body=b'[{"event": "delivered", "message-id": "\xed\xa0\x80"}]')
def test_brevo_webhooks_parse_to_reports_or_are_invalid(body: bytes) -> None:
    try:
        reports = parse_brevo_webhook(body)
    except InvalidWebhookError:
        return
    for report in reports:
        assert isinstance(report, DeliveryStatusReport)
        assert report.provider_message_id
        assert isinstance(report.status, str)


TWILIO_FIELDS = st.sampled_from(
    ["MessageSid", "SmsSid", "MessageStatus", "SmsStatus", "ErrorCode", "AccountSid", "To", ""]
)


@PROPERTY
@given(
    params=st.dictionaries(TWILIO_FIELDS | st.text(max_size=10), st.text(max_size=40), max_size=8)
)
def test_twilio_status_callbacks_parse_or_are_invalid(params: dict[str, str]) -> None:
    try:
        report = parse_status_callback(params)
    except InvalidStatusCallbackError:
        return
    assert isinstance(report, TwilioStatusReport)
    assert report.provider_message_id
    assert report.status


@PROPERTY
@given(
    params=st.dictionaries(TWILIO_FIELDS | st.text(max_size=10), st.text(max_size=40), max_size=8),
    url=st.text(max_size=60),
    signature=st.none() | st.text(max_size=60),
    token=st.text(max_size=40),
)
def test_twilio_signatures_are_checked_without_raising(
    params: dict[str, str], url: str, signature: str | None, token: str
) -> None:
    assert verify_status_callback(token, url, params, signature) in {True, False}


@PROPERTY
@given(params=st.dictionaries(st.text(max_size=10), st.text(max_size=40), max_size=6))
def test_a_genuine_twilio_signature_is_accepted(params: dict[str, str]) -> None:
    url = "https://tickets.example.com/api/v1/webhooks/twilio"
    token = "twilio-auth-token"
    # Twilio's algorithm (docs/providers.md §3.3): URL, then each field name and value sorted by name.
    signed = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()
    import base64  # noqa: PLC0415 - only this test needs it

    signature = base64.b64encode(digest).decode()
    assert verify_status_callback(token, url, params, signature)


# ---------------------------------------------------------------------- the edge's nesting check


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    return 0


_TRICKY_TEXT = st.text(alphabet='[]{}"\\ab', max_size=6)
"""Strings full of brackets, quotes and backslashes: the check must not count those."""


@st.composite
def nested_json(draw: st.DrawFn) -> object:
    """A document nested 0 to 40 levels deep along one branch, with shallow siblings."""
    document: object = draw(st.none() | st.integers() | _TRICKY_TEXT)
    for _ in range(draw(st.integers(min_value=0, max_value=40))):
        siblings = draw(st.lists(json_scalars | _TRICKY_TEXT, max_size=2))
        if draw(st.booleans()):
            document = [*siblings, document]
        else:
            document = {
                draw(_TRICKY_TEXT): document,
                **{f"s{i}": v for i, v in enumerate(siblings)},
            }
    return document


@PROPERTY
@given(document=nested_json(), limit=st.integers(min_value=0, max_value=40))
def test_the_nesting_check_measures_json_exactly(document: object, limit: int) -> None:
    body = msgspec.json.encode(document)
    assert too_deep(body, limit) == (_depth(document) > limit)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" + b"[]," * 349_000 + b"[]]", id="a-megabyte-of-shallow-pairs"),
        pytest.param(b"[" * 524_000 + b"]" * 524_000, id="a-megabyte-chain"),
        pytest.param(b"[[]" * 200_000 + b"]" * 200_000, id="a-megabyte-staircase"),
    ],
)
def test_the_nesting_check_of_a_hostile_megabyte_is_cheap(body: bytes) -> None:
    # A Python loop over these took 0.1-0.2 s each (five times msgspec's parse of them);
    # the best of five runs keeps a busy machine's noise out of the figure.
    best = min(timeit.repeat(lambda: too_deep(body), number=1, repeat=5))
    assert best < 0.04, best
