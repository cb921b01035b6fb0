"""Delivery reports from Brevo (email) and Twilio (SMS), recorded on the outbox message.

Brevo signs nothing: its webhook carries a shared secret as a bearer token. Twilio
signs every callback (X-Twilio-Signature over our public URL and the form fields).
Unknown message ids are acknowledged: the provider must not retry what we cannot use.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency

from getiickets.adapters.brevo.webhooks import (
    InvalidWebhookError,
    bearer_token_matches,
    parse_brevo_webhook,
)
from getiickets.adapters.twilio.status_callbacks import (
    InvalidStatusCallbackError,
    parse_status_callback,
    verify_status_callback,
)
from getiickets.domain.model.errors import InvalidSignatureError, ValidationError
from getiickets.domain.usecases.notifications import Notifications
from getiickets.entrypoints.http.errors import documented
from getiickets.entrypoints.http.schemas import WebhookAck
from getiickets.entrypoints.settings import Settings

logger = logging.getLogger(__name__)

TWILIO_CALLBACK_PATH = "/api/v1/webhooks/twilio"


class DeliveryReportsController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/brevo",
        operation_id="brevoWebhook",
        status_code=200,
        responses=documented(400, 401, 413, 422),
    )
    async def brevo(
        self,
        request: Request[Any, Any, Any],
        brevo_webhook_token: NamedDependency[str | None],
        notifications: NamedDependency[Notifications],
    ) -> WebhookAck:
        if not bearer_token_matches(request.headers.get("authorization"), brevo_webhook_token):
            raise InvalidSignatureError("the webhook's token is not ours")
        try:
            reports = parse_brevo_webhook(await request.body())
        except InvalidWebhookError as error:
            raise ValidationError(str(error), field="body") from error
        for report in reports:
            known = await notifications.record_delivery_status(
                report.provider_message_id, report.status
            )
            if not known:
                logger.info("Brevo report for unknown message %s", report.provider_message_id)
        return WebhookAck(status="accepted")

    @post(
        "/twilio",
        operation_id="twilioStatusCallback",
        status_code=200,
        responses=documented(400, 401, 413, 422),
    )
    async def twilio(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        twilio_auth_token: NamedDependency[str | None],
        notifications: NamedDependency[Notifications],
    ) -> WebhookAck:
        form = await request.form()
        params = {key: str(value) for key, value in form.items()}
        url = f"{settings.public_base_url}{TWILIO_CALLBACK_PATH}"
        token = twilio_auth_token
        signature = request.headers.get("x-twilio-signature")
        if token is None or not verify_status_callback(token, url, params, signature):
            raise InvalidSignatureError("the callback's signature is not Twilio's")
        try:
            report = parse_status_callback(params)
        except InvalidStatusCallbackError as error:
            raise ValidationError(str(error), field="body") from error
        await notifications.record_delivery_status(report.provider_message_id, report.status)
        return WebhookAck(status="accepted")
