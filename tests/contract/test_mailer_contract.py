"""The ``Mailer`` contract: one suite over the in-memory fake and ``BrevoMailer``.

``BrevoMailer`` runs against the Brevo simulator served by uvicorn on a loopback port,
so every request crosses real HTTP. Each backend comes with a small driver: what it
delivered, an unconfigured twin, and a way to make the next send fail transiently.
After the shared suite come the Brevo adapter's own checks (the exact request body,
429 and 401 handling, webhooks) and the simulator's validation.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest

from getiickets.adapters.brevo import (
    BrevoMailer,
    DeliveryStatusReport,
    InvalidWebhookError,
    bearer_token_matches,
    parse_brevo_webhook,
)
from getiickets.adapters.memory import InMemoryMailer
from getiickets.ports.notifications import (
    Attachment,
    DeliveryError,
    DeliveryReceipt,
    EmailMessage,
    Mailer,
    ProviderNotConfiguredError,
)
from getiickets.sandbox import brevo as brevo_simulator
from getiickets.sandbox.config import SandboxConfig
from getiickets.sandbox.state import FaultKind
from tests.contract.live_server import Received, eventually
from tests.contract.sandbox_server import SandboxServer

pytestmark = pytest.mark.contract

API_KEY = "xkeysib-contract-test"
WEBHOOK_TOKEN = "brevo-webhook-contract-token"
SENDER_EMAIL = "noreply@getiickets.test"
SENDER_NAME = "getiickets"
MAX_ATTEMPTS = 3
RATE_LIMIT_RESET = brevo_simulator.RATE_LIMIT_RESET_SECONDS


def email(key: str = "key-1", **changes: Any) -> EmailMessage:
    fields: dict[str, Any] = {
        "to_email": "ada@example.com",
        "to_name": "Ada Obi",
        "subject": "Your Tickets for Lagos Jazz Night",
        "html": "<p>Your tickets are ready.</p>",
        "text": "Your tickets are ready.",
        "idempotency_key": key,
    }
    return EmailMessage(**(fields | changes))


# ------------------------------------------------------------------ servers


class Sandbox(SandboxServer):
    @property
    def brevo_base_url(self) -> str:
        return f"{self.url}/brevo/v3"

    def requests(self) -> list[dict[str, Any]]:
        """Every send the simulator received, as parsed JSON bodies."""
        with self.state.lock:
            return [
                json.loads(item.body) for item in self.state.brevo.received if item.method == "POST"
            ]

    def received_headers(self) -> list[dict[str, str]]:
        with self.state.lock:
            return [item.headers for item in self.state.brevo.received if item.method == "POST"]

    def log_lookups(self) -> int:
        with self.state.lock:
            return sum(1 for item in self.state.brevo.received if item.method == "GET")

    def webhooks_about(self, message_id: str | None) -> list[Received]:
        """Webhook POSTs about one email (a late one from an earlier test is not ours)."""
        return [
            post
            for post in self.receiver.received("brevo")
            if json.loads(post.body).get("message-id") == message_id
        ]


def sandbox_config(hooks_url: str) -> SandboxConfig:
    return SandboxConfig(
        brevo_api_key=API_KEY,
        brevo_webhook_url=f"{hooks_url}/hooks/brevo",
        brevo_webhook_token=WEBHOOK_TOKEN,
        webhook_retry_delays=(0.1, 0.1),
        fault_delay_seconds=3.0,
    )


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Iterator[Sandbox]:
    yield sandbox_server
    # Through the control route: it also stops webhooks still being sent, which only
    # the sandbox's own event loop may cancel.
    httpx.post(f"{sandbox_server.url}/_control/reset").raise_for_status()
    sandbox_server.receiver.clear()
    sandbox_server.receiver.status = 200


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def brevo_mailer(client: httpx.AsyncClient, sandbox: Sandbox, **options: Any) -> BrevoMailer:
    settings: dict[str, Any] = {
        "base_url": sandbox.brevo_base_url,
        "max_attempts": MAX_ATTEMPTS,
        "retry_delay": 0.01,
        "timeout": 2.0,
    }
    return BrevoMailer(client, API_KEY, SENDER_EMAIL, SENDER_NAME, **(settings | options))


# ------------------------------------------------------------------ backends


@dataclass
class MailerBackend:
    mailer: Mailer
    delivered: Callable[[], list[tuple[str, str]]]
    """(recipient, subject) of every email that went out, in order."""
    unconfigured: Callable[[], Mailer]
    fail_next_send_transiently: Callable[[], None]
    lose_next_answer: Callable[[], None]
    """The next send goes out, but its caller only sees a transient failure."""
    message_ids: Callable[[], list[str]]
    """The provider's id of every email that went out, in order."""
    another_process: Callable[[], Mailer]
    """A mailer that shares nothing with ``mailer`` but the provider."""


@pytest.fixture
def memory_backend() -> MailerBackend:
    fake = InMemoryMailer()
    return MailerBackend(
        mailer=fake,
        delivered=lambda: [(m.to_email, m.subject) for m in fake.sent],
        unconfigured=lambda: InMemoryMailer(configured=False),
        fail_next_send_transiently=lambda: fake.fail_next(
            1, DeliveryError("connection reset", permanent=False)
        ),
        lose_next_answer=fake.lose_next_answer,
        message_ids=fake.message_ids,
        # The fake is the provider: what another process reaches is the same one.
        another_process=lambda: fake,
    )


@pytest.fixture
def brevo_backend(http: httpx.AsyncClient, sandbox: Sandbox) -> MailerBackend:
    def lose_next_answer() -> None:
        # Accepted, its answer held past the client's timeout; the call's retries then
        # fail too, so the caller never learns the email went out.
        sandbox.state.brevo.fail_next(1, FaultKind.LOST_RESPONSE)
        sandbox.state.brevo.fail_next(MAX_ATTEMPTS - 1, FaultKind.SERVER_ERROR)

    def delivered() -> list[tuple[str, str]]:
        return [
            (item["to"][0]["email"], item["subject"])
            for item in brevo_simulator.accepted_emails(sandbox.state)
        ]

    return MailerBackend(
        mailer=brevo_mailer(http, sandbox),
        delivered=delivered,
        unconfigured=lambda: BrevoMailer(http, None, SENDER_EMAIL, SENDER_NAME),
        # Every attempt of the call fails, so the adapter's own retries run out too.
        fail_next_send_transiently=lambda: sandbox.state.brevo.fail_next(
            MAX_ATTEMPTS, FaultKind.SERVER_ERROR
        ),
        lose_next_answer=lose_next_answer,
        message_ids=lambda: [
            item["messageId"] for item in brevo_simulator.accepted_emails(sandbox.state)
        ],
        another_process=lambda: brevo_mailer(http, sandbox),
    )


@pytest.fixture(params=["memory", "brevo-sandbox"])
def backend(request: pytest.FixtureRequest) -> MailerBackend:
    name = "memory_backend" if request.param == "memory" else "brevo_backend"
    result: MailerBackend = request.getfixturevalue(name)
    return result


# ------------------------------------------------------------------ the contract


async def test_send_returns_a_receipt_and_delivers(backend: MailerBackend) -> None:
    receipt = await backend.mailer.send(email())

    assert isinstance(receipt, DeliveryReceipt)
    assert receipt.provider_message_id
    assert backend.delivered() == [("ada@example.com", "Your Tickets for Lagos Jazz Night")]


async def test_distinct_keys_are_distinct_emails(backend: MailerBackend) -> None:
    first = await backend.mailer.send(email("key-1"))
    second = await backend.mailer.send(email("key-2", subject="Second"))

    assert first.provider_message_id != second.provider_message_id
    assert [subject for _, subject in backend.delivered()] == [
        "Your Tickets for Lagos Jazz Night",
        "Second",
    ]


async def test_same_idempotency_key_is_delivered_once(backend: MailerBackend) -> None:
    first = await backend.mailer.send(email("key-1"))
    again = await backend.mailer.send(email("key-1"))

    assert again == first
    assert len(backend.delivered()) == 1


async def test_concurrent_sends_of_one_key_deliver_once(backend: MailerBackend) -> None:
    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(backend.mailer.send, email("key-1"))

    assert len(backend.delivered()) == 1


async def test_unconfigured_provider_raises_not_configured(backend: MailerBackend) -> None:
    with pytest.raises(ProviderNotConfiguredError):
        await backend.unconfigured().send(email())

    assert backend.delivered() == []


async def test_transient_fault_is_a_retryable_delivery_error(backend: MailerBackend) -> None:
    backend.fail_next_send_transiently()

    with pytest.raises(DeliveryError) as failure:
        await backend.mailer.send(email("key-1"))

    assert failure.value.permanent is False
    assert backend.delivered() == []
    # The outbox retries with the same key: it goes out, once.
    assert (await backend.mailer.send(email("key-1"))).provider_message_id
    assert len(backend.delivered()) == 1


async def test_an_email_whose_answer_was_lost_gets_its_message_id_in_another_process(
    backend: MailerBackend,
) -> None:
    backend.lose_next_answer()
    with pytest.raises(DeliveryError) as failure:
        await backend.mailer.send(email("key-1"))
    assert failure.value.permanent is False
    assert len(backend.delivered()) == 1  # it went out all the same

    # The outbox retries it later, perhaps from another worker process.
    receipt = await backend.another_process().send(email("key-1"))

    assert receipt.provider_message_id == backend.message_ids()[0]
    assert len(backend.delivered()) == 1


# ------------------------------------------------------------------ BrevoMailer itself


async def test_request_is_exactly_the_documented_body(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    message = email(
        "key-1",
        attachments=(
            Attachment(name="ticket-TKT1.pdf", url="https://files.example.com/t/TKT1.pdf"),
            Attachment(name="ticket-TKT2.pdf", content=b"%PDF-1.4 ticket"),
        ),
    )

    await brevo_mailer(http, sandbox).send(message)

    assert sandbox.requests() == [
        {
            "sender": {"name": SENDER_NAME, "email": SENDER_EMAIL},
            "to": [{"email": "ada@example.com", "name": "Ada Obi"}],
            "subject": "Your Tickets for Lagos Jazz Night",
            "htmlContent": "<p>Your tickets are ready.</p>",
            "textContent": "Your tickets are ready.",
            "attachment": [
                {"url": "https://files.example.com/t/TKT1.pdf", "name": "ticket-TKT1.pdf"},
                {
                    "content": base64.b64encode(b"%PDF-1.4 ticket").decode(),
                    "name": "ticket-TKT2.pdf",
                },
            ],
            "headers": {"idempotencyKey": "key-1"},
            "tags": ["key-1"],
        }
    ]
    headers = sandbox.received_headers()[0]
    assert headers["api-key"] == API_KEY
    assert headers["content-type"] == "application/json"
    assert headers["accept"] == "application/json"


async def test_rate_limit_waits_for_the_reset_header_within_the_call(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.state.brevo.fail_next(1, FaultKind.RATE_LIMITED)
    started = time.monotonic()

    receipt = await brevo_mailer(http, sandbox, retry_delay=0.0).send(email())

    assert receipt.provider_message_id
    assert time.monotonic() - started >= RATE_LIMIT_RESET
    assert len(sandbox.requests()) == 2
    assert len(brevo_simulator.accepted_emails(sandbox.state)) == 1


async def test_rate_limit_with_a_long_reset_is_left_to_the_outbox(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.state.brevo.fail_next(1, FaultKind.RATE_LIMITED)
    mailer = brevo_mailer(http, sandbox, max_rate_limit_wait=RATE_LIMIT_RESET / 2)
    started = time.monotonic()

    with pytest.raises(DeliveryError) as failure:
        await mailer.send(email())

    assert failure.value.permanent is False
    assert time.monotonic() - started < RATE_LIMIT_RESET
    assert len(sandbox.requests()) == 1


async def test_bad_api_key_is_permanent_not_retried_and_logged(
    http: httpx.AsyncClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    mailer = BrevoMailer(
        http, "xkeysib-wrong", SENDER_EMAIL, SENDER_NAME, base_url=sandbox.brevo_base_url
    )

    with (
        caplog.at_level(logging.ERROR, logger="getiickets.adapters.brevo"),
        pytest.raises(DeliveryError) as failure,
    ):
        await mailer.send(email())

    assert failure.value.permanent is True
    assert "unauthorized" in str(failure.value)
    assert len(sandbox.requests()) == 1
    assert any("API key" in record.getMessage() for record in caplog.records)


async def test_server_errors_are_retried_within_the_call(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.state.brevo.fail_next(MAX_ATTEMPTS - 1, FaultKind.SERVER_ERROR)

    receipt = await brevo_mailer(http, sandbox).send(email())

    assert receipt.provider_message_id
    assert len(sandbox.requests()) == MAX_ATTEMPTS


async def test_timeout_is_retried_with_the_same_idempotency_key(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.state.brevo.fail_next(1, FaultKind.TIMEOUT)

    receipt = await brevo_mailer(http, sandbox, timeout=0.3).send(email("key-1"))

    assert receipt.provider_message_id
    keys = [body["headers"]["idempotencyKey"] for body in sandbox.requests()]
    assert keys == ["key-1", "key-1"]
    assert len(brevo_simulator.accepted_emails(sandbox.state)) == 1


async def test_lost_response_is_retried_and_brevo_refuses_the_duplicate(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.state.brevo.fail_next(1, FaultKind.LOST_RESPONSE)

    receipt = await brevo_mailer(http, sandbox, timeout=0.3).send(email("key-1"))

    # The first try went through; the retry got duplicate_parameter, which is success,
    # and the id comes from Brevo's log, since the first answer never arrived.
    [accepted] = brevo_simulator.accepted_emails(sandbox.state)
    assert receipt == DeliveryReceipt(provider_message_id=accepted["messageId"])
    assert len(sandbox.requests()) == 2


async def test_unreadable_success_body_is_retried(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.state.brevo.fail_next(1, FaultKind.MALFORMED)

    receipt = await brevo_mailer(http, sandbox).send(email())

    assert receipt.provider_message_id
    assert len(sandbox.requests()) == 2


async def test_duplicate_answer_from_brevo_counts_as_sent(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    first = await brevo_mailer(http, sandbox).send(email("key-1"))
    # Another worker (no memory of the first send) retries the same outbox message.
    receipt = await brevo_mailer(http, sandbox).send(email("key-1"))

    assert receipt == first
    assert len(sandbox.requests()) == 2
    assert len(brevo_simulator.accepted_emails(sandbox.state)) == 1


async def test_a_duplicate_brevo_log_cannot_place_is_sent_without_an_id(
    http: httpx.AsyncClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    await brevo_mailer(http, sandbox).send(email("key-1"))
    with sandbox.state.lock:  # Brevo's log has not caught up with the send yet
        sandbox.state.brevo.data["emails"].clear()

    with caplog.at_level(logging.WARNING, logger="getiickets.adapters.brevo"):
        receipt = await brevo_mailer(http, sandbox).send(email("key-1"))

    # Never a failure: the outbox would resend it once Brevo forgot the key.
    assert receipt == DeliveryReceipt(provider_message_id=None)
    assert any("key-1" in record.getMessage() for record in caplog.records)
    assert sandbox.log_lookups() == MAX_ATTEMPTS


async def test_unreachable_brevo_is_transient(http: httpx.AsyncClient) -> None:
    closed = "http://127.0.0.1:9/v3"  # the discard port: nothing listens there
    mailer = BrevoMailer(http, API_KEY, SENDER_EMAIL, SENDER_NAME, base_url=closed, retry_delay=0.0)

    with pytest.raises(DeliveryError) as failure:
        await mailer.send(email())

    assert failure.value.permanent is False


async def test_missing_sender_email_is_not_configured(http: httpx.AsyncClient) -> None:
    with pytest.raises(ProviderNotConfiguredError):
        await BrevoMailer(http, API_KEY, None, SENDER_NAME).send(email())


async def test_attachment_without_url_or_content_is_permanent(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    with pytest.raises(DeliveryError) as failure:
        await brevo_mailer(http, sandbox).send(email(attachments=(Attachment(name="x.pdf"),)))

    assert failure.value.permanent is True
    assert sandbox.requests() == []


async def test_mailer_without_a_client_opens_and_closes_its_own(sandbox: Sandbox) -> None:
    mailer = BrevoMailer(None, API_KEY, SENDER_EMAIL, SENDER_NAME, base_url=sandbox.brevo_base_url)
    try:
        assert (await mailer.send(email())).provider_message_id
    finally:
        await mailer.aclose()


# ------------------------------------------------------------------ webhooks


async def test_delivery_webhooks_report_request_then_delivered(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    receipt = await brevo_mailer(http, sandbox).send(email())

    await eventually(lambda: len(sandbox.webhooks_about(receipt.provider_message_id)) == 2)
    posts = sandbox.webhooks_about(receipt.provider_message_id)
    reports = [report for post in posts for report in parse_brevo_webhook(post.body)]
    assert reports == [
        DeliveryStatusReport(provider_message_id=str(receipt.provider_message_id), status=status)
        for status in ("request", "delivered")
    ]
    await eventually(lambda: all(d.delivered for d in sandbox.state.brevo.deliveries))
    assert [d.event for d in sandbox.state.brevo.deliveries] == ["request", "delivered"]
    for post in posts:
        assert bearer_token_matches(post.headers.get("authorization"), WEBHOOK_TOKEN)
        assert not bearer_token_matches(post.headers.get("authorization"), "another-token")
        assert json.loads(post.body)["email"] == "ada@example.com"


async def test_webhook_answered_429_is_retried_and_5xx_dropped(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.receiver.status = 429
    limited = await brevo_mailer(http, sandbox).send(email())
    # Two events, each tried once and then on both retry delays.
    await eventually(lambda: len(sandbox.webhooks_about(limited.provider_message_id)) == 6)
    await eventually(lambda: all(d.abandoned for d in sandbox.state.brevo.deliveries))
    assert [len(d.attempts) for d in sandbox.state.brevo.deliveries] == [3, 3]

    sandbox.receiver.status = 500
    failing = await brevo_mailer(http, sandbox).send(email("key-2"))
    await eventually(lambda: len(sandbox.webhooks_about(failing.provider_message_id)) == 2)
    await anyio.sleep(0.3)  # longer than the retry delays: nothing more may come
    assert len(sandbox.webhooks_about(failing.provider_message_id)) == 2
    dropped = sandbox.state.brevo.deliveries[2:]
    assert [(d.event, len(d.attempts), d.abandoned) for d in dropped] == [
        ("request", 1, True),
        ("delivered", 1, True),
    ]


def test_webhook_parser_takes_one_event_or_a_batch() -> None:
    one = b'{"event":"hard_bounce","message-id":"<a@relay>","reason":"no mailbox","ts":1}'
    batch = (
        b'[{"event":"delivered","message-id":"<a@relay>","new_field":true},'
        b'{"event":"unsubscribed","email":"ada@example.com"}]'
    )

    assert parse_brevo_webhook(one) == [
        DeliveryStatusReport(
            provider_message_id="<a@relay>", status="hard_bounce", reason="no mailbox"
        )
    ]
    # Events without a message-id cannot be tied to a sent email and are left out.
    assert parse_brevo_webhook(batch) == [
        DeliveryStatusReport(provider_message_id="<a@relay>", status="delivered")
    ]


@pytest.mark.parametrize("body", [b"", b"not json", b'{"message-id":"<a@relay>"}', b"[1]"])
def test_webhook_parser_refuses_what_is_not_a_brevo_event(body: bytes) -> None:
    with pytest.raises(InvalidWebhookError):
        parse_brevo_webhook(body)


@pytest.mark.parametrize(
    ("header", "token", "matches"),
    [
        ("Bearer s3cret", "s3cret", True),
        ("bearer s3cret", "s3cret", True),
        ("Bearer s3cre", "s3cret", False),
        ("Basic s3cret", "s3cret", False),
        (None, "s3cret", False),
        ("Bearer ", "", False),
        ("Bearer s3cret", None, False),
    ],
)
def test_bearer_token_check(header: str | None, token: str | None, matches: bool) -> None:
    assert bearer_token_matches(header, token) is matches


# ------------------------------------------------------------------ the simulator


async def post_raw(
    http: httpx.AsyncClient, sandbox: Sandbox, body: Any, *, key: str | None = API_KEY
) -> httpx.Response:
    headers = {"accept": "application/json"}
    if key is not None:
        headers["api-key"] = key
    return await http.post(f"{sandbox.brevo_base_url}/smtp/email", json=body, headers=headers)


VALID = {
    "sender": {"email": SENDER_EMAIL},
    "to": [{"email": "ada@example.com"}],
    "subject": "Hello",
    "htmlContent": "<p>Hi</p>",
}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"sender": None}, "missing_parameter"),
        ({"sender": {"email": "not-an-address"}}, "invalid_parameter"),
        ({"to": None}, "missing_parameter"),
        ({"to": []}, "invalid_parameter"),
        ({"to": [{"email": "nobody"}]}, "invalid_parameter"),
        ({"subject": None}, "missing_parameter"),
        ({"htmlContent": None}, "missing_parameter"),
        (
            {"attachment": [{"url": "https://x.test/a.pdf", "content": "QQ==", "name": "a.pdf"}]},
            "invalid_parameter",
        ),
        ({"attachment": [{"name": "a.pdf"}]}, "invalid_parameter"),
        ({"attachment": [{"content": "QQ=="}]}, "missing_parameter"),
        ({"attachment": [{"content": "%%%", "name": "a.pdf"}]}, "invalid_parameter"),
        ({"attachment": [{"content": "QQ==", "name": "a.exe"}]}, "invalid_parameter"),
    ],
)
async def test_simulator_refuses_what_brevo_refuses(
    http: httpx.AsyncClient, sandbox: Sandbox, change: dict[str, Any], code: str
) -> None:
    body = {k: v for k, v in (VALID | change).items() if v is not None}

    response = await post_raw(http, sandbox, body)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert brevo_simulator.accepted_emails(sandbox.state) == []


async def test_simulator_template_needs_neither_subject_nor_html(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    response = await post_raw(
        http, sandbox, {"templateId": 7, "to": [{"email": "ada@example.com"}], "params": {}}
    )

    assert response.status_code == 201


@pytest.mark.parametrize("key", [None, "xkeysib-wrong"])
async def test_simulator_unknown_key_is_401(
    http: httpx.AsyncClient, sandbox: Sandbox, key: str | None
) -> None:
    response = await post_raw(http, sandbox, VALID, key=key)

    assert response.status_code == 401
    assert response.json() == {"code": "unauthorized", "message": "Key not found"}


async def test_simulator_answers_like_brevo(http: httpx.AsyncClient, sandbox: Sandbox) -> None:
    first = await post_raw(http, sandbox, VALID | {"headers": {"idempotencyKey": "k"}})
    # Brevo rewrites custom header names to Title-Case: the key matches either way.
    again = await post_raw(http, sandbox, VALID | {"headers": {"Idempotency-Key": "k"}})

    assert first.status_code == 201
    message_id = first.json()["messageId"]
    assert re.fullmatch(r"<[^<>@]+@smtp-relay\.mailin\.fr>", message_id)
    assert again.status_code == 400
    assert again.json()["code"] == "duplicate_parameter"


async def test_simulator_log_lists_accepted_emails_newest_first(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await post_raw(http, sandbox, VALID | {"tags": ["first"]})
    await post_raw(http, sandbox, VALID | {"subject": "Second", "tags": ["second"]})
    await post_raw(http, sandbox, VALID | {"to": [{"email": "bola@example.com"}]})
    accepted = brevo_simulator.accepted_emails(sandbox.state)
    url = f"{sandbox.brevo_base_url}/smtp/emails"

    listed = await http.get(url, params={"email": "ada@example.com"}, headers={"api-key": API_KEY})
    nothing = await http.get(url, headers={"api-key": API_KEY})
    unknown_key = await http.get(url, params={"email": "ada@example.com"})

    assert listed.status_code == 200
    assert listed.json()["count"] == 2
    assert [
        (item["messageId"], item["subject"], item["tags"], item["from"])
        for item in listed.json()["transactionalEmails"]
    ] == [
        (accepted[1]["messageId"], "Second", ["second"], SENDER_EMAIL),
        (accepted[0]["messageId"], "Hello", ["first"], SENDER_EMAIL),
    ]
    assert (nothing.status_code, nothing.json()["code"]) == (400, "missing_parameter")
    assert unknown_key.status_code == 401


async def test_simulator_drop_header_validates_but_sends_nothing(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    dropped = await post_raw(http, sandbox, VALID | {"headers": {"X-Sib-Sandbox": "drop"}})
    invalid = await post_raw(
        http, sandbox, {"to": VALID["to"], "headers": {"X-Sib-Sandbox": "drop"}}
    )

    assert dropped.status_code == 201
    assert dropped.json()["messageId"]
    assert invalid.status_code == 400
    await anyio.sleep(0.1)
    assert brevo_simulator.accepted_emails(sandbox.state) == []
    assert sandbox.webhooks_about(dropped.json()["messageId"]) == []


async def test_simulator_rate_limit_headers(http: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.state.brevo.fail_next(1, FaultKind.RATE_LIMITED)

    response = await post_raw(http, sandbox, VALID)

    assert response.status_code == 429
    assert response.headers["x-sib-ratelimit-remaining"] == "0"
    assert int(response.headers["x-sib-ratelimit-limit"]) > 0
    assert float(response.headers["x-sib-ratelimit-reset"]) == RATE_LIMIT_RESET
