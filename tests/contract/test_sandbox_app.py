"""The sandbox app as a whole: mounted in another app or under a prefix, the outbox,
and the control routes that plan faults and show what the simulators received."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from getiickets.sandbox.app import SandboxConfig, create_sandbox_app, sandbox_mount
from getiickets.sandbox.state import SandboxState

pytestmark = pytest.mark.contract

PAYSTACK = {"Authorization": "Bearer sk_test_getiickets_sandbox"}
TWILIO_SID = SandboxConfig().twilio_account_sid
TWILIO_AUTH = base64.b64encode(f"{TWILIO_SID}:{SandboxConfig().twilio_auth_token}".encode())


def checkout_request(**fields: Any) -> dict[str, Any]:
    return {"email": "ada@example.com", "amount": 500_000, **fields}


@pytest.fixture
def state() -> SandboxState:
    return SandboxState()


@pytest.fixture
async def sandbox(state: SandboxState) -> AsyncIterator[httpx.AsyncClient]:
    app = create_sandbox_app(SandboxConfig(), state)
    async with AsyncTestClient(app=app, base_url="http://sandbox.test") as client:
        yield client


async def test_mounted_in_the_main_app_it_answers_under_sandbox(state: SandboxState) -> None:
    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    config = SandboxConfig(public_base_url="http://app.test/sandbox")
    main = Litestar(
        [health, sandbox_mount(config, state)],
        openapi_config=None,
        on_shutdown=[state.cancel_background],
    )
    async with AsyncTestClient(app=main, base_url="http://app.test") as browser:
        started = await browser.post(
            "/sandbox/paystack/transaction/initialize",
            json=checkout_request(callback_url="http://app.test/orders/1"),
            headers=PAYSTACK,
        )
        checkout = started.json()["data"]
        page = await browser.get(checkout["authorization_url"])
        paid = await browser.post(
            checkout["authorization_url"], data={"action": "pay"}, follow_redirects=False
        )
        verified = await browser.get(
            f"/sandbox/paystack/transaction/verify/{checkout['reference']}", headers=PAYSTACK
        )
        host = await browser.get("/health")

    assert checkout["authorization_url"].startswith("http://app.test/sandbox/paystack/checkout/")
    assert page.status_code == 200
    assert "Pay ₦5,000.00" in page.text
    assert paid.status_code == 303
    reference = checkout["reference"]
    assert paid.headers["location"] == (
        f"http://app.test/orders/1?reference={reference}&trxref={reference}"
    )
    assert verified.json()["data"]["status"] == "success"
    assert host.json() == {"status": "ok"}


async def test_with_a_path_prefix_every_route_and_link_starts_with_it(state: SandboxState) -> None:
    app = create_sandbox_app(SandboxConfig(path_prefix="/sandbox"), state)
    async with AsyncTestClient(app=app, base_url="http://host.test:8000") as client:
        started = await client.post(
            "/sandbox/paystack/transaction/initialize", json=checkout_request(), headers=PAYSTACK
        )
        link = started.json()["data"]["authorization_url"]
        page = await client.get(link)
        outbox = await client.get("/sandbox/outbox")
        unprefixed = await client.get("/outbox")

    assert link.startswith("http://host.test:8000/sandbox/paystack/checkout/")
    assert page.status_code == 200
    assert outbox.status_code == 200
    assert unprefixed.status_code == 404


async def test_planned_faults_hit_the_next_calls_then_stop(sandbox: httpx.AsyncClient) -> None:
    planned = await sandbox.post("/_control/paystack/fail", json={"count": 2, "kind": "500"})

    answers = [
        (await sandbox.get("/paystack/transaction", headers=PAYSTACK)).status_code for _ in range(3)
    ]

    assert planned.status_code == 200
    assert answers == [500, 500, 200]


async def test_a_fault_plan_is_validated(sandbox: httpx.AsyncClient) -> None:
    unknown_kind = await sandbox.post("/_control/paystack/fail", json={"count": 1, "kind": "bad"})
    unknown_provider = await sandbox.post("/_control/stripe/fail", json={"count": 1, "kind": "500"})

    assert unknown_kind.status_code == 400
    assert unknown_provider.status_code == 404


async def test_received_requests_are_listed_and_reset_forgets_them(
    sandbox: httpx.AsyncClient, state: SandboxState
) -> None:
    await sandbox.post(
        "/paystack/transaction/initialize", json=checkout_request(reference="r-1"), headers=PAYSTACK
    )
    await sandbox.post("/_control/paystack/fail", json={"count": 5, "kind": "429"})

    received = (await sandbox.get("/_control/paystack/received")).json()
    reset = await sandbox.post("/_control/reset")
    after = (await sandbox.get("/_control/paystack/received")).json()
    verify = await sandbox.get("/paystack/transaction/verify/r-1", headers=PAYSTACK)

    assert [(item["method"], item["path"]) for item in received] == [
        ("POST", "/paystack/transaction/initialize")
    ]
    assert '"reference":"r-1"' in received[0]["body"].replace(" ", "")
    assert reset.status_code == 204
    assert after == []
    # Faults and transactions went with the reset.
    assert verify.status_code == 404


async def test_the_outbox_lists_mail_and_sms_as_json_or_html(sandbox: httpx.AsyncClient) -> None:
    mailed = await sandbox.post(
        "/brevo/v3/smtp/email",
        headers={"api-key": SandboxConfig().brevo_api_key},
        json={
            "sender": {"email": "tickets@getiickets.example", "name": "getiickets"},
            "to": [{"email": "ada@example.com"}],
            "subject": "Your <tickets>",
            "htmlContent": "<p>Enjoy the show</p>",
            "textContent": "Enjoy the show",
        },
    )
    texted = await sandbox.post(
        f"/twilio/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
        headers={"Authorization": f"Basic {TWILIO_AUTH.decode()}"},
        data={"To": "+2348031234567", "From": "+15005550006", "Body": "Tickets ready"},
    )
    assert (mailed.status_code, texted.status_code) == (201, 201)

    listed = (await sandbox.get("/outbox")).json()
    page = await sandbox.get("/outbox", headers={"Accept": "text/html"})

    # Twilio dates have whole seconds: mail and SMS of one second have no knowable order.
    by_channel = sorted(listed, key=lambda item: item["channel"])
    assert [(item["channel"], item["to"], item["text"]) for item in by_channel] == [
        ("email", ["ada@example.com"], "Enjoy the show"),
        ("sms", ["+2348031234567"], "Tickets ready"),
    ]
    assert by_channel[0]["subject"] == "Your <tickets>"
    assert page.headers["content-type"].startswith("text/html")
    assert "Your &lt;tickets&gt;" in page.text
    assert "<tickets>" not in page.text


async def test_the_outbox_and_controls_can_be_left_out(state: SandboxState) -> None:
    app = create_sandbox_app(SandboxConfig(inspection_routes=False), state)
    async with AsyncTestClient(app=app, base_url="http://sandbox.test") as client:
        outbox = await client.get("/outbox")
        reset = await client.post("/_control/reset")
        paystack = await client.get("/paystack/transaction", headers=PAYSTACK)

    assert (outbox.status_code, reset.status_code) == (404, 404)
    assert paystack.status_code == 200


async def test_with_a_token_the_outbox_and_controls_answer_only_its_bearer(
    state: SandboxState,
) -> None:
    app = create_sandbox_app(SandboxConfig(inspection_token="s3cret-outbox"), state)
    async with AsyncTestClient(app=app, base_url="http://sandbox.test") as client:
        anonymous = await client.get("/outbox")
        wrong = await client.get("/outbox", headers={"Authorization": "Bearer s3cret"})
        basic = await client.get("/outbox", headers={"Authorization": "Basic s3cret-outbox"})
        reset = await client.post("/_control/reset")
        bearer = {"Authorization": "Bearer s3cret-outbox"}
        allowed = await client.get("/outbox", headers=bearer)
        received = await client.get("/_control/paystack/received", headers=bearer)

    assert [r.status_code for r in (anonymous, wrong, basic, reset)] == [401] * 4
    assert (allowed.status_code, allowed.json()) == (200, [])
    assert received.status_code == 200
