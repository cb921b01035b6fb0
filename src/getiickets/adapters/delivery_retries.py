"""Short in-call retries for message senders (Brevo, Twilio), shared so they read alike.

A sender raises ``TryAgain`` from an attempt only when resending is safe (the provider
surely did not take the message, or an idempotency key makes a repeat harmless). The
retries are few and quick: they ride out a blip; anything longer is the outbox's job,
whose jittered backoff spreads retries out over minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio

from getiickets.ports.notifications import DeliveryError, DeliveryReceipt

logger = logging.getLogger(__name__)


class TryAgain(Exception):  # noqa: N818 - control flow between an attempt and its loop
    def __init__(self, error: DeliveryError, delay: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay = delay
        """Seconds to wait before the next attempt (a provider's reset hint); None:
        exponential from ``retry_delay``."""


async def send_with_retries(
    attempt: Callable[[], Awaitable[DeliveryReceipt]],
    *,
    provider: str,
    max_attempts: int,
    retry_delay: float,
) -> DeliveryReceipt:
    """Run ``attempt`` up to ``max_attempts`` times; the last failure's error is raised."""
    for number in range(1, max_attempts + 1):
        try:
            return await attempt()
        except TryAgain as again:
            if number == max_attempts:
                raise again.error from again
            delay = again.delay if again.delay is not None else retry_delay * 2 ** (number - 1)
            logger.info(
                "%s attempt %d/%d failed (%s); again in %.2fs",
                provider,
                number,
                max_attempts,
                again.error,
                delay,
            )
            await anyio.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")
