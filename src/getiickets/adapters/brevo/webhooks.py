"""Brevo's transactional-email webhooks: what they report, and who may send them.

Payload facts from ``docs/providers.md`` §2.6: ``event`` is
snake_case (``request``, ``delivered``, ``hard_bounce``, ...), the Message-ID is under
the hyphenated ``message-id`` key (the same value the send call returned), bounces
carry a ``reason``, and a delivery holds one event object or, when batched, a list.
Brevo signs nothing: the webhook is registered with ``auth: {type: bearer, token}``
and the route compares that token.
"""

from __future__ import annotations

import hmac

import msgspec


class DeliveryStatusReport(msgspec.Struct, frozen=True, kw_only=True):
    """A provider's later word on one message: delivered, bounced, opened..."""

    provider_message_id: str
    status: str
    """The provider's own event name, kept verbatim (e.g. ``hard_bounce``)."""
    reason: str | None = None


class InvalidWebhookError(ValueError):
    """The body is not a Brevo webhook payload."""


class _Event(msgspec.Struct):
    event: str
    message_id: str | None = msgspec.field(name="message-id", default=None)
    reason: str | None = None


_decoder = msgspec.json.Decoder(list[_Event] | _Event)


def parse_brevo_webhook(body: bytes) -> list[DeliveryStatusReport]:
    """The reports in one webhook delivery; events without a Message-ID are left out.

    Unknown fields are ignored, since Brevo adds properties without notice.
    """
    try:
        decoded = _decoder.decode(body)
    # msgspec raises UnicodeDecodeError (not DecodeError) for text that is not UTF-8.
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise InvalidWebhookError(f"not a Brevo webhook payload: {error}") from error
    events = decoded if isinstance(decoded, list) else [decoded]
    # An event we cannot tie to a sent message (no message-id) has nothing to update.
    return [
        DeliveryStatusReport(
            provider_message_id=event.message_id, status=event.event, reason=event.reason or None
        )
        for event in events
        if event.message_id
    ]


def bearer_token_matches(authorization: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header carries the shared webhook token.

    No configured token means nobody is trusted: an empty secret must not match an
    empty header.
    """
    if not token or not authorization:
        return False
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())
