"""Brevo (transactional email): the ``Mailer`` adapter and its delivery webhooks."""

from getiickets.adapters.brevo.mailer import BrevoMailer
from getiickets.adapters.brevo.webhooks import (
    DeliveryStatusReport,
    InvalidWebhookError,
    bearer_token_matches,
    parse_brevo_webhook,
)

__all__ = [
    "BrevoMailer",
    "DeliveryStatusReport",
    "InvalidWebhookError",
    "bearer_token_matches",
    "parse_brevo_webhook",
]
