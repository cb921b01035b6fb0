"""Short in-call retries for message senders (Brevo, Twilio), shared so they read alike.

A sender raises ``TryAgain`` from an attempt only when resending is safe (the provider
surely did not take the message, or an idempotency key makes a repeat harmless). The
retries are few and quick: they ride out a blip; anything longer is the outbox's job,
whose jittered backoff spreads retries out over minutes.

The loop itself is tenacity's, as is the Paystack gateway's: what stays here is only
what is ours, which failures may be repeated and how long a provider asked us to wait.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from getiickets.ports.notifications import DeliveryError, DeliveryReceipt

logger = logging.getLogger(__name__)


class TryAgain(Exception):  # noqa: N818 - control flow between an attempt and its loop
    def __init__(self, error: DeliveryError, delay: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay = delay
        """Seconds to wait before the next attempt (a provider's reset hint); None:
        exponential from ``retry_delay``."""


def backoff(retry_delay: float) -> Callable[[RetryCallState], float]:
    """``retry_delay`` after the first failure, doubling after each one after it."""
    return wait_exponential(multiplier=retry_delay, min=0)


async def send_with_retries(
    attempt: Callable[[], Awaitable[DeliveryReceipt]],
    *,
    provider: str,
    max_attempts: int,
    retry_delay: float,
) -> DeliveryReceipt:
    """Run ``attempt`` up to ``max_attempts`` times; the last failure's error is raised."""
    exponential = backoff(retry_delay)

    def wait(state: RetryCallState) -> float:
        hint = _failure(state).delay
        return hint if hint is not None else exponential(state)

    def log(state: RetryCallState) -> None:
        logger.info(
            "%s attempt %d/%d failed (%s); again in %.2fs",
            provider,
            state.attempt_number,
            max_attempts,
            _failure(state).error,
            state.upcoming_sleep,
        )

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(TryAgain),
        stop=stop_after_attempt(max_attempts),
        wait=wait,
        before_sleep=log,
        sleep=anyio.sleep,
        reraise=True,
    )
    try:
        async for try_ in retrying:
            with try_:
                return await attempt()
    except TryAgain as again:
        raise again.error from again
    raise AssertionError("unreachable: tenacity returns, or raises the last failure")


def _failure(state: RetryCallState) -> TryAgain:
    error = state.outcome.exception() if state.outcome is not None else None
    if not isinstance(error, TryAgain):  # only TryAgain is retried, so never
        raise TypeError(f"expected a TryAgain failure, got {error!r}")
    return error
