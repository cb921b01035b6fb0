"""The ``SmsSender`` contract: one suite over the in-memory fake and ``TwilioSmsSender``.

``TwilioSmsSender`` drives the official SDK against the Twilio simulator served by
uvicorn on a loopback port (real HTTP, the SDK's own requests session). Each backend
comes with a small driver: what it sent, an unconfigured twin, and a way to make the
next send fail transiently. After the shared suite come the Twilio adapter's own
checks (form body and Basic auth, error codes, retries, signed status callbacks) and
the simulator's answers.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import anyio
import httpx
import pytest

from getiickets.adapters.memory import InMemorySmsSender
from getiickets.adapters.twilio import (
    InvalidStatusCallbackError,
    TwilioSmsSender,
    TwilioStatusReport,
    parse_status_callback,
    verify_status_callback,
)
from getiickets.ports.notifications import (
    DeliveryError,
    DeliveryReceipt,
    ProviderNotConfiguredError,
    SmsMessage,
    SmsSender,
)
from getiickets.sandbox import twilio as twilio_simulator
from getiickets.sandbox.config import SandboxConfig
from getiickets.sandbox.state import FaultKind
from tests.contract.live_server import Received, eventually
from tests.contract.sandbox_server import SandboxServer

pytestmark = pytest.mark.contract

ACCOUNT_SID = "AC" + "c0ffee" * 5 + "00"
AUTH_TOKEN = "twilio-contract-test-token"
FROM = "+15005550006"
MAX_ATTEMPTS = 3
NIGERIAN_MOBILE = "+2348031234567"
LANDLINE = "+15005550009"  # Twilio's magic number for 21614
UNSUBSCRIBED = "+15005550004"  # Twilio's magic number for 21610
UNROUTABLE = "+15005550002"  # Twilio's magic number for 21612
UNDELIVERABLE = "+15005550030"  # the simulator's: callbacks end undelivered, 30003


def sms(key: str = "key-1", to: str = NIGERIAN_MOBILE, **changes: Any) -> SmsMessage:
    fields: dict[str, Any] = {
        "to": to,
        "body": "Your tickets are ready! Order: ORD-1. - getiickets",
        "idempotency_key": key,
    }
    return SmsMessage(**(fields | changes))


# ------------------------------------------------------------------ servers


class Sandbox(SandboxServer):
    @property
    def callback_url(self) -> str:
        return f"{self.hooks_url}/hooks/twilio"

    @property
    def twilio_base_url(self) -> str:
        return f"{self.url}/twilio"

    def forms(self) -> list[dict[str, list[str]]]:
        """Every request the simulator received, as parsed form bodies."""
        with self.state.lock:
            return [parse_qs(item.body.decode()) for item in self.state.twilio.received]

    def received_headers(self) -> list[dict[str, str]]:
        with self.state.lock:
            return [item.headers for item in self.state.twilio.received]

    def callbacks_about(self, sid: str | None) -> list[Received]:
        """Status callbacks about one message (a late one from an earlier test is not ours)."""
        return [
            post
            for post in self.receiver.received("twilio")
            if dict(parse_qsl(post.body.decode())).get("MessageSid") == sid
        ]


def sandbox_config(hooks_url: str) -> SandboxConfig:
    return SandboxConfig(
        twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, fault_delay_seconds=3.0
    )


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Iterator[Sandbox]:
    yield sandbox_server
    # Through the control route: it also stops status updates still running, which
    # only the sandbox's own event loop may cancel.
    httpx.post(f"{sandbox_server.url}/_control/reset").raise_for_status()
    sandbox_server.receiver.clear()


def twilio_sender(sandbox: Sandbox, **options: Any) -> TwilioSmsSender:
    settings: dict[str, Any] = {
        "base_url": sandbox.twilio_base_url,
        "max_attempts": MAX_ATTEMPTS,
        "retry_delay": 0.01,
        "timeout": 2.0,
    }
    return TwilioSmsSender(ACCOUNT_SID, AUTH_TOKEN, FROM, **(settings | options))


# ------------------------------------------------------------------ backends


@dataclass
class SmsBackend:
    sender: SmsSender
    sent: Callable[[], list[tuple[str, str]]]
    """(recipient, body) of every SMS that went out, in order."""
    unconfigured: Callable[[], SmsSender]
    fail_next_send_transiently: Callable[[], None]


@pytest.fixture
def memory_backend() -> SmsBackend:
    fake = InMemorySmsSender()
    return SmsBackend(
        sender=fake,
        sent=lambda: [(m.to, m.body) for m in fake.sent],
        unconfigured=lambda: InMemorySmsSender(configured=False),
        fail_next_send_transiently=lambda: fake.fail_next(
            1, DeliveryError("20429 too many requests", permanent=False)
        ),
    )


@pytest.fixture
def twilio_backend(sandbox: Sandbox) -> SmsBackend:
    return SmsBackend(
        sender=twilio_sender(sandbox),
        sent=lambda: [
            (item["to"], item["body"]) for item in twilio_simulator.sent_messages(sandbox.state)
        ],
        unconfigured=lambda: TwilioSmsSender(ACCOUNT_SID, AUTH_TOKEN, None),
        # Every attempt of the call fails, so the adapter's own retries run out too.
        fail_next_send_transiently=lambda: sandbox.state.twilio.fail_next(
            MAX_ATTEMPTS, FaultKind.RATE_LIMITED
        ),
    )


@pytest.fixture(params=["memory", "twilio-sandbox"])
def backend(request: pytest.FixtureRequest) -> SmsBackend:
    name = "memory_backend" if request.param == "memory" else "twilio_backend"
    result: SmsBackend = request.getfixturevalue(name)
    return result


# ------------------------------------------------------------------ the contract


async def test_send_returns_a_receipt_and_delivers(backend: SmsBackend) -> None:
    receipt = await backend.sender.send(sms())

    assert isinstance(receipt, DeliveryReceipt)
    assert receipt.provider_message_id
    assert backend.sent() == [(NIGERIAN_MOBILE, sms().body)]


async def test_distinct_keys_are_distinct_messages(backend: SmsBackend) -> None:
    first = await backend.sender.send(sms("key-1"))
    second = await backend.sender.send(sms("key-2", body="Second"))

    assert first.provider_message_id != second.provider_message_id
    assert [body for _, body in backend.sent()] == [sms().body, "Second"]


async def test_same_idempotency_key_is_sent_once(backend: SmsBackend) -> None:
    first = await backend.sender.send(sms("key-1"))
    again = await backend.sender.send(sms("key-1"))

    assert again == first
    assert len(backend.sent()) == 1


async def test_concurrent_sends_of_one_key_send_once(backend: SmsBackend) -> None:
    receipts: list[DeliveryReceipt] = []

    async def send() -> None:
        receipts.append(await backend.sender.send(sms("key-1")))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(send)

    assert len(backend.sent()) == 1
    assert len(set(receipts)) == 1


async def test_unconfigured_provider_raises_not_configured(backend: SmsBackend) -> None:
    with pytest.raises(ProviderNotConfiguredError):
        await backend.unconfigured().send(sms())

    assert backend.sent() == []


@pytest.mark.parametrize(
    "number", ["08031234567", "2348031234567", "+0348031234567", "+1234567", "+1234567890123456"]
)
async def test_number_that_is_not_e164_is_a_permanent_failure(
    backend: SmsBackend, number: str
) -> None:
    with pytest.raises(DeliveryError) as failure:
        await backend.sender.send(sms(to=number))

    assert failure.value.permanent is True
    assert backend.sent() == []


async def test_transient_fault_is_a_retryable_delivery_error(backend: SmsBackend) -> None:
    backend.fail_next_send_transiently()

    with pytest.raises(DeliveryError) as failure:
        await backend.sender.send(sms("key-1"))

    assert failure.value.permanent is False
    assert backend.sent() == []
    # The outbox tries the same message again later: it goes out, once.
    assert (await backend.sender.send(sms("key-1"))).provider_message_id
    assert len(backend.sent()) == 1


# ------------------------------------------------------------------ TwilioSmsSender itself


async def test_request_is_a_form_post_with_basic_auth(sandbox: Sandbox) -> None:
    sender = twilio_sender(sandbox, status_callback_url=sandbox.callback_url)

    await sender.send(sms())

    assert sandbox.forms() == [
        {
            "To": [NIGERIAN_MOBILE],
            "From": [FROM],
            "Body": [sms().body],
            "StatusCallback": [sandbox.callback_url],
        }
    ]
    headers = sandbox.received_headers()[0]
    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert headers["authorization"] == f"Basic {credentials}"
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    with sandbox.state.lock:
        path = sandbox.state.twilio.received[0].path
    assert path == f"/twilio/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


@pytest.mark.parametrize(
    ("number", "code"), [(LANDLINE, "21614"), (UNSUBSCRIBED, "21610"), (UNROUTABLE, "21612")]
)
async def test_undeliverable_numbers_are_permanent_and_not_retried(
    sandbox: Sandbox, number: str, code: str
) -> None:
    with pytest.raises(DeliveryError) as failure:
        await twilio_sender(sandbox).send(sms(to=number))

    assert failure.value.permanent is True
    assert code in str(failure.value)
    assert len(sandbox.forms()) == 1


async def test_too_many_requests_is_retried_within_the_call(sandbox: Sandbox) -> None:
    sandbox.state.twilio.fail_next(1, FaultKind.RATE_LIMITED)

    receipt = await twilio_sender(sandbox).send(sms())

    assert receipt.provider_message_id
    assert len(sandbox.forms()) == 2
    assert len(twilio_simulator.sent_messages(sandbox.state)) == 1


async def test_server_errors_are_retried_then_given_up(sandbox: Sandbox) -> None:
    sandbox.state.twilio.fail_next(MAX_ATTEMPTS, FaultKind.SERVER_ERROR)

    with pytest.raises(DeliveryError) as failure:
        await twilio_sender(sandbox).send(sms())

    assert failure.value.permanent is False
    assert "20500" in str(failure.value)
    assert len(sandbox.forms()) == MAX_ATTEMPTS


async def test_bad_credentials_are_permanent_not_retried_and_logged(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sender = TwilioSmsSender(
        ACCOUNT_SID, "wrong-token", FROM, base_url=sandbox.twilio_base_url, retry_delay=0.0
    )

    with (
        caplog.at_level(logging.ERROR, logger="getiickets.adapters.twilio"),
        pytest.raises(DeliveryError) as failure,
    ):
        await sender.send(sms())

    assert failure.value.permanent is True
    assert "20003" in str(failure.value)
    assert len(sandbox.forms()) == 1
    assert any("credentials" in record.getMessage() for record in caplog.records)


async def test_read_timeout_is_transient_and_not_resent(sandbox: Sandbox) -> None:
    # Twilio has no idempotency key: a request that may have been queued is left to
    # the outbox instead of being sent again at once.
    sandbox.state.twilio.fail_next(1, FaultKind.TIMEOUT)

    with pytest.raises(DeliveryError) as failure:
        await twilio_sender(sandbox, timeout=0.3).send(sms())

    assert failure.value.permanent is False
    assert len(sandbox.forms()) == 1


async def test_lost_response_is_transient_and_not_resent(sandbox: Sandbox) -> None:
    sandbox.state.twilio.fail_next(1, FaultKind.LOST_RESPONSE)

    with pytest.raises(DeliveryError) as failure:
        await twilio_sender(sandbox, timeout=0.3).send(sms())

    assert failure.value.permanent is False
    assert len(sandbox.forms()) == 1
    assert len(twilio_simulator.sent_messages(sandbox.state)) == 1


async def test_unreadable_success_body_is_transient_and_not_resent(sandbox: Sandbox) -> None:
    sandbox.state.twilio.fail_next(1, FaultKind.MALFORMED)

    with pytest.raises(DeliveryError) as failure:
        await twilio_sender(sandbox).send(sms())

    assert failure.value.permanent is False
    assert len(sandbox.forms()) == 1


async def test_unreachable_twilio_is_retried_then_transient(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    sender = TwilioSmsSender(ACCOUNT_SID, AUTH_TOKEN, FROM, base_url=closed, retry_delay=0.0)

    with (
        # The retry log is written by the shared loop (adapters.delivery_retries):
        # capture it at its parent, not only Twilio's own logger.
        caplog.at_level(logging.INFO, logger="getiickets.adapters"),
        pytest.raises(DeliveryError) as failure,
    ):
        await sender.send(sms())

    assert failure.value.permanent is False
    # A refused connection never reached Twilio, so resending is safe: every attempt ran.
    retries = [r for r in caplog.records if r.getMessage().startswith("Twilio attempt")]
    assert len(retries) == MAX_ATTEMPTS - 1


@pytest.mark.parametrize(
    ("sid", "token", "number"),
    [(None, AUTH_TOKEN, FROM), (ACCOUNT_SID, None, FROM), (ACCOUNT_SID, AUTH_TOKEN, "")],
)
async def test_any_missing_setting_is_not_configured(
    sid: str | None, token: str | None, number: str
) -> None:
    sender = TwilioSmsSender(sid, token, number)

    assert sender.configured is False
    with pytest.raises(ProviderNotConfiguredError):
        await sender.send(sms())


# ------------------------------------------------------------------ status callbacks


async def test_status_callbacks_are_signed_and_report_each_status(sandbox: Sandbox) -> None:
    sender = twilio_sender(sandbox, status_callback_url=sandbox.callback_url)

    receipt = await sender.send(sms())

    sid = receipt.provider_message_id
    await eventually(lambda: len(sandbox.callbacks_about(sid)) == 3)
    reports = []
    for post in sandbox.callbacks_about(sid):
        params = dict(parse_qsl(post.body.decode()))
        signature = post.headers["x-twilio-signature"]
        url = post.url  # the URL the simulator called, as the app's route rebuilds it
        assert url == sandbox.callback_url
        assert verify_status_callback(AUTH_TOKEN, url, params, signature)
        tampered = params | {"MessageStatus": "failed"}
        assert not verify_status_callback(AUTH_TOKEN, url, tampered, signature)
        assert not verify_status_callback(AUTH_TOKEN, url + "?x=1", params, signature)
        assert not verify_status_callback(AUTH_TOKEN, url, params, None)
        reports.append(parse_status_callback(params))
    assert reports == [
        TwilioStatusReport(provider_message_id=str(sid), status=status)
        for status in ("queued", "sent", "delivered")
    ]
    await eventually(lambda: all(d.delivered for d in sandbox.state.twilio.deliveries))
    assert [d.event for d in sandbox.state.twilio.deliveries] == ["queued", "sent", "delivered"]


async def test_undelivered_callback_carries_the_error_code(sandbox: Sandbox) -> None:
    sender = twilio_sender(sandbox, status_callback_url=sandbox.callback_url)

    receipt = await sender.send(sms(to=UNDELIVERABLE))

    sid = receipt.provider_message_id
    await eventually(lambda: len(sandbox.callbacks_about(sid)) == 3)
    last = dict(parse_qsl(sandbox.callbacks_about(sid)[-1].body.decode()))
    assert parse_status_callback(last) == TwilioStatusReport(
        provider_message_id=str(sid), status="undelivered", reason="30003"
    )
    assert twilio_simulator.sent_messages(sandbox.state)[0]["status"] == "undelivered"


def test_a_callback_from_another_account_is_rejected() -> None:
    url = "https://tickets.example.com/webhooks/twilio"
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered"}
    from twilio.request_validator import RequestValidator  # noqa: PLC0415

    signature = RequestValidator("their-token").compute_signature(url, params)

    assert verify_status_callback("their-token", url, params, signature)
    assert not verify_status_callback(AUTH_TOKEN, url, params, signature)
    assert not verify_status_callback("", url, params, signature)  # no auth token configured


def test_status_callback_parser_reads_legacy_names_and_refuses_garbage() -> None:
    legacy = {"SmsSid": "SM" + "b" * 32, "SmsStatus": "sent", "NewField": "x"}

    assert parse_status_callback(legacy) == TwilioStatusReport(
        provider_message_id="SM" + "b" * 32, status="sent"
    )
    with pytest.raises(InvalidStatusCallbackError):
        parse_status_callback({"MessageStatus": "sent"})


# ------------------------------------------------------------------ the simulator


async def post_raw(
    sandbox: Sandbox, form: dict[str, str], *, token: str = AUTH_TOKEN, sid: str = ACCOUNT_SID
) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{sandbox.twilio_base_url}/2010-04-01/Accounts/{sid}/Messages.json",
            data=form,
            auth=(ACCOUNT_SID, token),
        )


async def test_simulator_answers_201_with_a_queued_message(sandbox: Sandbox) -> None:
    response = await post_raw(sandbox, {"To": NIGERIAN_MOBILE, "From": FROM, "Body": "x" * 161})

    assert response.status_code == 201
    message = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["status"] == "queued"
    assert message["num_segments"] == "2"
    assert message["num_media"] == "0"
    assert message["direction"] == "outbound-api"
    assert parsedate_to_datetime(message["date_created"]).utcoffset() is not None
    assert message["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message['sid']}.json"


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"From": FROM, "Body": "hi"}, 21604),
        ({"To": NIGERIAN_MOBILE, "Body": "hi"}, 21603),
        ({"To": NIGERIAN_MOBILE, "From": FROM}, 21602),
        ({"To": NIGERIAN_MOBILE, "From": FROM, "Body": "x" * 1601}, 21617),
        ({"To": "08031234567", "From": FROM, "Body": "hi"}, 21211),
        ({"To": FROM, "From": FROM, "Body": "hi"}, 21211),
        ({"To": NIGERIAN_MOBILE, "From": "+15005550007", "Body": "hi"}, 21606),
        (
            {"To": NIGERIAN_MOBILE, "From": FROM, "Body": "hi", "StatusCallback": "http://a_b/"},
            21609,
        ),
    ],
)
async def test_simulator_refuses_what_twilio_refuses(
    sandbox: Sandbox, form: dict[str, str], code: int
) -> None:
    response = await post_raw(sandbox, form)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["status"] == 400
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert twilio_simulator.sent_messages(sandbox.state) == []


@pytest.mark.parametrize(("token", "sid"), [("wrong", ACCOUNT_SID), (AUTH_TOKEN, "AC" + "9" * 32)])
async def test_simulator_refuses_other_credentials(sandbox: Sandbox, token: str, sid: str) -> None:
    response = await post_raw(
        sandbox, {"To": NIGERIAN_MOBILE, "From": FROM, "Body": "hi"}, token=token, sid=sid
    )

    assert response.status_code == 401
    assert response.json()["code"] == 20003


async def test_simulator_rate_limit_is_20429(sandbox: Sandbox) -> None:
    sandbox.state.twilio.fail_next(1, FaultKind.RATE_LIMITED)

    response = await post_raw(sandbox, {"To": NIGERIAN_MOBILE, "From": FROM, "Body": "hi"})

    assert response.status_code == 429
    assert response.json()["code"] == 20429
