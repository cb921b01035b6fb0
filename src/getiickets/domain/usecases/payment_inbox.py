"""The payment inbox: what the provider tells us, stored once, applied until done.

The gateway checks a webhook's signature and reads it as a ``PaymentEvent``; the event
is stored in one short transaction and acknowledged, and its effects come after, in
``process`` (right after the delivery, or from the worker's retries). Rows are keyed by
what the event means (its kind and reference), not by delivery: a row
stays open until verification found something to apply, so a later delivery or the
worker's poll applies it, never dropped as a duplicate. The worker also polls the row
each checkout opens, so a missed webhook costs the buyer seconds, not the reservation.
"""

from __future__ import annotations

import enum
import logging
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from getiickets.domain.model.errors import DuplicateError, NotFoundError
from getiickets.domain.model.payments import (
    DELIVERY_CLAIM,
    InboxEvent,
    PaymentEventKind,
    delivered,
)
from getiickets.domain.usecases import inbox_rows
from getiickets.domain.usecases.payment_results import PaymentOutcome
from getiickets.domain.usecases.retrying import retry_on_conflict

if TYPE_CHECKING:
    from getiickets.domain.usecases.payment_results import PaymentResults
    from getiickets.domain.usecases.refunds import Refunds
    from getiickets.ports.clock import Clock
    from getiickets.ports.payments import PaymentGateway
    from getiickets.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger(__name__)

_CHARGES = frozenset({PaymentEventKind.CHARGE_SUCCEEDED, PaymentEventKind.CHARGE_FAILED})
INBOX_LEASE = timedelta(minutes=2)
"""How long one worker has a due row to itself before another may take it."""
KEYS_REMEMBERED = 16_384
"""Rows a process remembers as closed (some 2 MB), newest kept; as many in hand."""


class _KnownRows:
    """Rows whose next delivery this process can answer as a duplicate without the
    database. Providers resend what was acknowledged slowly, and under a burst most
    deliveries are such repeats: each cost a transaction to learn what the process
    knew already. The answer is the one the stored row would give:

    - closed rows: a closed row never opens again;
    - rows in hand: stored here by a delivery whose processing has not ended yet, so
      the row is in flight (that processing will apply it), for ``DELIVERY_CLAIM`` at
      most, as long as the process leaves the row to it. Processing ends the hand
      whatever happened: after a failure the next delivery is asked about again.

    An open row in nobody's hand (nothing to apply yet) is always asked about.
    """

    def __init__(self, size: int = KEYS_REMEMBERED) -> None:
        self._size = size
        self._closed: OrderedDict[str, None] = OrderedDict()
        self._in_hand: OrderedDict[str, datetime] = OrderedDict()

    def answered(self, key: str, now: datetime) -> bool:
        """True if a delivery of ``key`` is a duplicate, by what this process knows."""
        if key in self._closed:
            return True
        until = self._in_hand.get(key)
        return until is not None and now < until

    def closed(self, key: str) -> None:
        self._in_hand.pop(key, None)
        self._closed[key] = None
        self._closed.move_to_end(key)
        if len(self._closed) > self._size:
            self._closed.popitem(last=False)

    def taken(self, key: str, now: datetime) -> None:
        self._in_hand[key] = now + DELIVERY_CLAIM
        self._in_hand.move_to_end(key)
        if len(self._in_hand) > self._size:
            self._in_hand.popitem(last=False)  # forgotten: asked about again, no harm

    def released(self, key: str) -> None:
        self._in_hand.pop(key, None)


class WebhookOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    """Authentic but unusable (no reference, unreadable): acknowledged, nothing to do."""


class WebhookReceipt(msgspec.Struct, frozen=True, kw_only=True):
    outcome: WebhookOutcome
    key: str | None = None
    stored: InboxEvent | None = None
    """The row as this delivery left it, when accepted: ``process`` need not read it back."""


class PaymentInbox:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        results: PaymentResults,
        refunds: Refunds,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._results = results
        self._refunds = refunds
        self._clock = clock
        self._known = _KnownRows()

    async def receive_webhook(self, body: bytes, signature: str) -> WebhookReceipt:
        """Have the gateway check and read the delivery (``InvalidSignatureError`` for a
        forged one), then store the event once. Effects come in ``process``."""
        announced = self._gateway.read_webhook(body, signature)
        if announced is None:
            return WebhookReceipt(outcome=WebhookOutcome.IGNORED)
        event = delivered(self._gateway.provider, announced, body, self._clock.now())
        if self._known.answered(event.key, event.received_at):
            return WebhookReceipt(outcome=WebhookOutcome.DUPLICATE, key=event.key)
        try:
            stored = await retry_on_conflict(lambda: self._store(event))
        except DuplicateError:
            # Another delivery of the event committed it between our look and our commit.
            stored = await retry_on_conflict(lambda: self._redeliver(event))
        if stored is None:
            return WebhookReceipt(outcome=WebhookOutcome.DUPLICATE, key=event.key)
        # Accepted means processed right after, here (``process`` ends the hand).
        self._known.taken(event.key, event.received_at)
        return WebhookReceipt(outcome=WebhookOutcome.ACCEPTED, key=event.key, stored=stored)

    async def process(self, key: str, stored: InboxEvent | None = None) -> None:
        """Apply a stored event. On failure it stays unprocessed, for a retry.

        ``stored``: the row as a delivery just stored it (``WebhookReceipt.stored``),
        which spares reading it back. Applying is idempotent, so a row processed by
        someone else in the meantime is only found done again.
        """
        try:
            await self._process(key, stored)
        finally:
            # However it ended, the next delivery is judged by the row again (or, if
            # it closed, by what ``_known`` learnt).
            self._known.released(key)

    async def _process(self, key: str, stored: InboxEvent | None) -> None:
        event = stored
        if event is None or event.key != key:
            async with self._uow() as uow:
                event = await uow.payment_inbox.get(key)
        if event is None:
            return
        if event.is_processed:
            self._known.closed(key)
            return
        try:
            if event.event_type in _CHARGES:
                await self._process_charge(event)
            elif event.event_type == PaymentEventKind.REFUND_PROCESSED:
                await self._refunds.refund_processed(event.reference, event.key)
            else:
                await inbox_rows.close_now(self._uow, event.key, self._clock)
        except Exception as error:
            await self._record_failure(event.key, f"{type(error).__name__}: {error}")
            raise

    async def retry_inbox(self, limit: int = 50) -> int:
        """Worker: process the due open events, webhook retries and payment checks alike
        (each verifies with the provider, outside any unit); returns how many ran."""
        async with self._uow() as uow:
            due = await uow.payment_inbox.due_for_retry(self._clock.now(), limit, INBOX_LEASE)
            await uow.commit()
        done = 0
        for event in due:
            try:
                await self.process(event.key)
            except Exception:
                logger.warning("webhook event %s failed again", event.key, exc_info=True)
            else:
                done += 1
        return done

    async def _store(self, event: InboxEvent) -> InboxEvent | None:
        """Store a delivery's event in one unit: a new row, or the stored one redelivered
        (see ``_redeliver``) when it was stored before; None for a duplicate. One unit,
        not two, because under a burst of deliveries most are repeats."""
        async with self._uow() as uow:
            try:
                await uow.payment_inbox.add(event)
            except DuplicateError:
                # A refused insert leaves the unit usable (no failed statement).
                return await self._redeliver_in(uow, event)
            await uow.commit()
            return event

    async def _redeliver(self, event: InboxEvent) -> InboxEvent | None:
        """A delivery of an event already stored: a duplicate (None) only if that event
        was applied or a delivery being processed right now will apply it. An event
        whose verification found nothing to apply yet (or only polled so far) is
        processed again, now: an early success report must not swallow the real one.
        Returns the row as redelivered."""
        async with self._uow() as uow:
            return await self._redeliver_in(uow, event)

    async def _redeliver_in(self, uow: UnitOfWork, event: InboxEvent) -> InboxEvent | None:
        """``_redeliver``'s decision and write, in the caller's unit."""
        stored = await uow.payment_inbox.get(event.key)
        if stored is not None and stored.is_processed:
            self._known.closed(event.key)
        if stored is None or stored.is_processed or stored.is_in_flight:
            return None
        stored.redeliver(event.payload, event.received_at)
        await uow.payment_inbox.save(stored)
        await uow.commit()
        return stored

    async def _process_charge(self, event: InboxEvent) -> None:
        try:
            verification = await self._gateway.verify(event.reference)
        except NotFoundError:
            # Unknown to the provider: an initialize whose request never arrived, or
            # whose answer was lost. Keep looking while an order waits for it.
            logger.info("no transaction %s at the provider (yet)", event.reference)
            await self._unknown_to_provider(event.key, event.reference)
            return
        try:
            applied = await self._results.apply(verification, inbox=event.key)
        except NotFoundError:
            await inbox_rows.close_now(self._uow, event.key, self._clock)
            self._known.closed(event.key)
            return
        if applied.outcome is not PaymentOutcome.PENDING:
            # ``apply`` closed the row (committed) for every other outcome.
            self._known.closed(event.key)

    async def _unknown_to_provider(self, key: str, reference: str) -> None:
        async def attempt() -> None:
            async with self._uow() as uow:
                order = await uow.orders.get_by_reference(reference)
                if order is None:
                    await inbox_rows.close(uow, key, self._clock.now())
                else:
                    await inbox_rows.keep_open(uow, key, order, self._clock.now())
                await uow.commit()

        await retry_on_conflict(attempt)

    async def _record_failure(self, key: str, error: str) -> None:
        async def attempt() -> None:
            async with self._uow() as uow:
                event = await uow.payment_inbox.get(key)
                if event is None or event.is_processed:
                    return
                event.failed(error, self._clock.now())
                await uow.payment_inbox.save(event)
                await uow.commit()

        await retry_on_conflict(attempt)
