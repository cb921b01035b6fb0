"""Requests the simulators send out: Paystack's and Brevo's webhooks, Twilio's status
callbacks. Each is recorded in its provider's ``deliveries`` before the first try (so a
test sees it at once), with every try after it; the providers differ only in what
acknowledges a delivery and which failures earn another try (``Retries``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
import httpx

from getiickets.sandbox.state import Delivery, DeliveryAttempt, ProviderState, SandboxState


def _is_2xx(status: int) -> bool:
    return 200 <= status < 300  # noqa: PLR2004


def _always(_: int | None) -> bool:
    return True


@dataclass(frozen=True, kw_only=True)
class Retries:
    delays: tuple[float, ...] = ()
    """Seconds before each try after the first; empty: one try only."""
    accepted: Callable[[int], bool] = _is_2xx
    """Whether the receiver's status acknowledges the delivery."""
    retried: Callable[[int | None], bool] = _always
    """Whether a try that was not acknowledged earns another (None: no answer came)."""


def recorded(
    state: SandboxState,
    provider: ProviderState,
    *,
    event: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
) -> Delivery:
    """A new delivery, already in ``provider.deliveries``."""
    delivery = Delivery(provider=provider.name, event=event, url=url, headers=headers, body=body)
    with state.lock:
        provider.deliveries.append(delivery)
    return delivery


async def deliver(
    state: SandboxState, client: httpx.AsyncClient, delivery: Delivery, retries: Retries
) -> None:
    """POST ``delivery`` until it is acknowledged or ``retries`` gives up on it."""
    tries = len(retries.delays) + 1
    for number, wait in enumerate((0.0, *retries.delays), start=1):
        if wait:
            await anyio.sleep(wait)
        attempt = await _try(client, delivery)
        status = attempt.status_code
        accepted = status is not None and retries.accepted(status)
        abandoned = not accepted and (number == tries or not retries.retried(status))
        with state.lock:
            delivery.attempts.append(attempt)
            delivery.delivered = accepted
            delivery.abandoned = abandoned
        if accepted or abandoned:
            return


async def _try(client: httpx.AsyncClient, delivery: Delivery) -> DeliveryAttempt:
    try:
        response = await client.post(delivery.url, content=delivery.body, headers=delivery.headers)
    except httpx.HTTPError as error:
        return DeliveryAttempt(at=datetime.now(UTC), status_code=None, error=repr(error))
    return DeliveryAttempt(at=datetime.now(UTC), status_code=response.status_code)
