"""``SandboxConfig``: what the simulators need to know, in one frozen value.

It lives in its own module so that every simulator (``paystack``, ``brevo``, ``twilio``)
and the app that composes them can import it without importing each other;
``getiickets.sandbox.app`` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PAYSTACK_SECRET_KEY = "sk_test_getiickets_sandbox"  # noqa: S105 - public (docs/http-api.md)

# Paystack's own webhook retry schedules (docs/providers.md §1.9, Paystack "Webhooks" doc), as
# delays in seconds between tries. Live: every 3 minutes for the first 4 tries, then
# hourly for 72 hours. Test: hourly for 10 hours, each try with a 30 second timeout.
PAYSTACK_LIVE_WEBHOOK_RETRIES: tuple[float, ...] = (180.0,) * 3 + (3600.0,) * 72
PAYSTACK_TEST_WEBHOOK_RETRIES: tuple[float, ...] = (3600.0,) * 10
PAYSTACK_WEBHOOK_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, kw_only=True)
class SandboxConfig:
    path_prefix: str = ""
    """Where the sandbox's own routes start, e.g. ``/sandbox`` when a host forwards
    unchanged paths to it. Empty when mounted with Litestar's ``asgi(is_mount=True)``,
    which strips the mount path before the sandbox sees it."""
    public_base_url: str | None = None
    """The sandbox's root as a browser reaches it (``http://127.0.0.1:8000/sandbox``),
    used to build checkout links. None: taken from each request's own base URL plus
    ``path_prefix`` (right standalone; behind a mount that strips the path, set it)."""

    inspection_routes: bool = True
    """Serve the outbox and the ``/_control`` routes. They show every email and SMS
    accepted (tickets included) and reset or fault the simulators: fine on one's own
    machine, never open on a shared server."""
    inspection_token: str | None = None
    """When set, those routes answer only ``Authorization: Bearer <token>``."""

    # ---- Paystack
    paystack_secret_key: str = DEFAULT_PAYSTACK_SECRET_KEY
    paystack_webhook_url: str | None = None
    """Where Paystack events are POSTed (the app's /api/v1/webhooks/paystack); None: none."""
    paystack_callback_url: str | None = None
    """The dashboard's default callback, used when initialize sends none."""
    paystack_unknown_reference_status: int = 404
    """The spec says 404 for an unknown reference, field reports say 400 (docs/providers.md
    §1.3): switchable so that adapters are tested against both."""
    paystack_pass_fees_to_customer: bool = False
    """When True, ``amount`` includes the fees and ``requested_amount`` is what was asked."""
    paystack_refund_settle_seconds: float = 2.0
    """How long a refund stays ``pending`` before it is processed (or fails)."""
    paystack_retry_after_seconds: int | None = 1
    """``Retry-After`` on an injected 429. Paystack's own header names are unverified
    (docs/providers.md §7); None sends no such header."""

    # ---- every simulator's outgoing webhooks and injected faults
    webhook_retry_delays: tuple[float, ...] = (1.0, 2.0, 5.0)
    """Seconds between tries of an unacknowledged webhook: Paystack's real schedule
    (``PAYSTACK_LIVE_WEBHOOK_RETRIES``) scaled down so that a demo or a test sees it."""
    webhook_timeout_seconds: float = PAYSTACK_WEBHOOK_TIMEOUT_SECONDS
    fault_delay_seconds: float = 35.0
    """How long an injected timeout holds a request: longer than clients wait."""

    # ---- Twilio and Brevo
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: str = "sandbox_twilio_auth_token"  # noqa: S105 - public sandbox value
    brevo_api_key: str = "xkeysib-sandbox"
    brevo_webhook_url: str | None = None
    brevo_webhook_token: str | None = None
