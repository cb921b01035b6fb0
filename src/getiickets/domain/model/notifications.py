"""Outgoing email and SMS, as rows of a transactional outbox.

A message is written in the same unit of work as the change that caused it, then a
worker delivers it: retries with exponential backoff, a ``dead`` state after
``MAX_ATTEMPTS``, and ``skipped`` when the provider is not configured (logged, so a
missing key never blocks an order).
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

import msgspec

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


class MessageStatus(enum.StrEnum):
    PENDING = "pending"
    """Waiting for its first attempt, or for a retry after a transient failure."""
    SENT = "sent"
    SKIPPED = "skipped"
    """The channel's provider is not configured: logged, not sent."""
    FAILED = "failed"
    """The last attempt failed; another is scheduled at ``next_attempt_at``."""
    DEAD = "dead"
    """Gave up: a permanent error, or ``MAX_ATTEMPTS`` transient ones."""


class Template(enum.StrEnum):
    TICKET_CONFIRMATION = "ticket_confirmation"


class OutboxMessage(msgspec.Struct, kw_only=True):
    id: str
    channel: Channel
    template: Template
    recipient: str
    recipient_name: str
    order_id: str
    data: dict[str, Any]
    """Everything the template needs, captured when the message was written."""
    created_at: datetime
    next_attempt_at: datetime
    status: MessageStatus = MessageStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    provider_message_id: str | None = None
    delivery_status: str | None = None
    """What the provider reported later (delivered, bounced, undelivered...)."""
    sent_at: datetime | None = None
    version: int = 0

    @property
    def idempotency_key(self) -> str:
        """Sent with every attempt so a provider that saw a timed-out try drops the repeat."""
        return f"outbox-{self.id}"

    @property
    def is_due(self) -> bool:
        return self.status in {MessageStatus.PENDING, MessageStatus.FAILED}

    def record_sent(self, provider_message_id: str | None, now: datetime) -> None:
        self.attempts += 1
        self.status = MessageStatus.SENT
        self.provider_message_id = provider_message_id
        self.sent_at = now
        self.last_error = None

    def record_skipped(self, reason: str) -> None:
        self.status = MessageStatus.SKIPPED
        self.last_error = reason

    def record_failure(
        self, error: str, now: datetime, *, permanent: bool, jitter: float = 0.0
    ) -> None:
        """``jitter`` in [0, 1) spreads retries so a provider outage does not end in a stampede."""
        self.attempts += 1
        self.last_error = error
        if permanent or self.attempts >= MAX_ATTEMPTS:
            self.status = MessageStatus.DEAD
            return
        self.status = MessageStatus.FAILED
        self.next_attempt_at = now + retry_delay(self.attempts, jitter)

    def record_delivery_status(self, status: str) -> None:
        self.delivery_status = status


def retry_delay(attempts: int, jitter: float = 0.0) -> timedelta:
    """Exponential: 30 s, 60 s, 120 s... capped at an hour, plus up to 50 % jitter."""
    base: timedelta = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)
    return base * (1 + min(max(jitter, 0.0), 0.999) / 2)
