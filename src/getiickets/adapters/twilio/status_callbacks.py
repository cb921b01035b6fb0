"""Twilio's message status callbacks: checking their signature and reading them.

Twilio POSTs form fields (``MessageSid``, ``MessageStatus``, ``ErrorCode`` on failure,
and more it may add without notice) to the ``StatusCallback`` URL, signed in
``X-Twilio-Signature`` with the account's auth token over the exact URL plus every
posted field (``docs/providers.md`` §3.3). The SDK's
``RequestValidator`` does the computing and the constant-time compare.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from twilio.request_validator import RequestValidator


class TwilioStatusReport(msgspec.Struct, frozen=True, kw_only=True):
    """Twilio's later word on one message (same shape as Brevo's report; the adapter
    packages stay independent, so each defines its own)."""

    provider_message_id: str
    status: str
    """Twilio's status verbatim: queued, sent, delivered, undelivered, failed..."""
    reason: str | None = None
    """The ``ErrorCode`` on failed or undelivered messages, e.g. ``30003``."""


class InvalidStatusCallbackError(ValueError):
    """The fields are not a message status callback."""


def verify_status_callback(
    auth_token: str, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    """Whether ``signature`` is Twilio's for this exact public URL and all posted fields."""
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))


def parse_status_callback(params: Mapping[str, str]) -> TwilioStatusReport:
    # The Sms* names are the legacy spelling Twilio still posts beside the new ones.
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus")
    if not sid or not status:
        raise InvalidStatusCallbackError("a status callback needs MessageSid and MessageStatus")
    return TwilioStatusReport(
        provider_message_id=sid, status=status, reason=params.get("ErrorCode") or None
    )
