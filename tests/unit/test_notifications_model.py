"""Outbox messages: exponential backoff, a dead end, and skips for missing providers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from getiickets.domain.model.notifications import (
    FIRST_RETRY,
    LONGEST_RETRY,
    MAX_ATTEMPTS,
    Channel,
    MessageStatus,
    OutboxMessage,
    Template,
    retry_delay,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def a_message() -> OutboxMessage:
    return OutboxMessage(
        id="message-1",
        channel=Channel.EMAIL,
        template=Template.TICKET_CONFIRMATION,
        recipient="ada@example.com",
        recipient_name="Ada",
        order_id="order-1",
        data={},
        created_at=NOW,
        next_attempt_at=NOW,
    )


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 960), (7, 1920), (8, 3600), (20, 3600)],
)
def test_retry_delay_doubles_from_thirty_seconds_and_caps_at_an_hour(
    attempts: int, seconds: int
) -> None:
    assert retry_delay(attempts) == timedelta(seconds=seconds)


def test_retry_delay_never_shrinks_as_attempts_grow() -> None:
    delays = [retry_delay(attempts) for attempts in range(1, 30)]

    assert delays == sorted(delays)
    assert delays[0] == FIRST_RETRY
    assert delays[-1] == LONGEST_RETRY


@pytest.mark.parametrize(("jitter", "factor"), [(0.0, 1.0), (0.5, 1.25), (-3.0, 1.0)])
def test_jitter_adds_up_to_half_the_delay(jitter: float, factor: float) -> None:
    assert retry_delay(3, jitter) == timedelta(seconds=120) * factor


def test_jitter_never_reaches_one_and_a_half_times_the_delay() -> None:
    for jitter in (0.999, 1.0, 7.0):
        assert retry_delay(1, jitter) < FIRST_RETRY * 1.5
        assert retry_delay(1, jitter) > FIRST_RETRY * 1.49


def test_given_a_transient_failure_then_the_message_is_failed_and_retried_later() -> None:
    message = a_message()

    message.record_failure("timeout", NOW, permanent=False)

    assert message.status is MessageStatus.FAILED
    assert message.attempts == 1
    assert message.last_error == "timeout"
    assert message.next_attempt_at == NOW + FIRST_RETRY
    assert message.is_due


def test_given_transient_failures_up_to_the_limit_then_the_message_is_dead() -> None:
    message = a_message()
    for attempt in range(1, MAX_ATTEMPTS):
        message.record_failure("timeout", NOW, permanent=False)
        assert message.status is MessageStatus.FAILED, attempt

    message.record_failure("timeout", NOW, permanent=False)

    assert message.attempts == MAX_ATTEMPTS
    assert message.status is MessageStatus.DEAD
    assert not message.is_due


def test_given_a_permanent_failure_then_the_message_is_dead_at_once() -> None:
    message = a_message()

    message.record_failure("21211: not a phone number", NOW, permanent=True)

    assert message.status is MessageStatus.DEAD
    assert message.attempts == 1
    assert not message.is_due


def test_given_a_send_after_a_failure_then_it_is_sent_and_the_error_cleared() -> None:
    message = a_message()
    message.record_failure("timeout", NOW, permanent=False)

    message.record_sent("provider-42", NOW + timedelta(minutes=1))

    assert message.status is MessageStatus.SENT
    assert message.attempts == 2
    assert message.provider_message_id == "provider-42"
    assert message.sent_at == NOW + timedelta(minutes=1)
    assert message.last_error is None
    assert not message.is_due


def test_given_no_provider_then_the_message_is_skipped_with_the_reason() -> None:
    message = a_message()

    message.record_skipped("no email provider is configured")

    assert message.status is MessageStatus.SKIPPED
    assert message.last_error == "no email provider is configured"
    assert not message.is_due


def test_the_idempotency_key_is_stable_per_message() -> None:
    assert a_message().idempotency_key == "outbox-message-1"


def test_a_providers_later_report_is_recorded() -> None:
    message = a_message()

    message.record_delivery_status("delivered")

    assert message.delivery_status == "delivered"
