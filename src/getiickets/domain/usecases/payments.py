"""Payments: starting a checkout, and applying what the provider says, exactly once.

The webhook, ``/payments/verify`` and the expiry sweep all end in ``apply``: the
transaction is verified with the provider (a webhook body is never trusted), then
one unit of work decides and records the effects. Concurrent or repeated deliveries
race on the order's version; the losers re-read and find the work done.

Stock rules while applying a success:
- a pending order's own holds are confirmed (sold);
- an order that left pending (expired, failed) lost its holds to whoever moved it,
  so it takes fresh ones, stock permitting;
- without stock, or for a cancelled order, the money goes back: the order is marked
  refunded with ``refund_due`` and the provider is asked after the commit (retried by
  ``process_due_refunds`` if it cannot be reached). Never oversold to honour a payment.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from getiickets.domain.model.errors import (
    DuplicateError,
    InvalidSignatureError,
    InvalidStateError,
    NotFoundError,
    PaymentProviderError,
    PaymentProviderUnavailableError,
)
from getiickets.domain.model.inventory import Confirmation, Hold
from getiickets.domain.model.orders import Order, OrderLine, OrderStatus, payment_reference
from getiickets.domain.model.payments import (
    InboxEvent,
    PaymentDecision,
    PaymentInitialization,
    PaymentVerification,
    decide,
    inbox_key,
    mismatch_note,
)
from getiickets.domain.usecases.access import OrderAccess, load_visible_order
from getiickets.domain.usecases.ordering import DEFAULT_RESERVATION_TTL, confirm_sold
from getiickets.domain.usecases.retrying import retry_on_conflict
from getiickets.ports.payments import PaymentRequest

if TYPE_CHECKING:
    from datetime import datetime

    from getiickets.domain.usecases.issuance import TicketIssuance
    from getiickets.ports.clock import Clock, IdGenerator
    from getiickets.ports.inventory import Inventory
    from getiickets.ports.payments import PaymentGateway
    from getiickets.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger(__name__)

PROVIDER = "paystack"
CHARGE_EVENTS = frozenset({"charge.success", "charge.failed"})
REFUND_PROCESSED = "refund.processed"
INBOX_LEASE = timedelta(minutes=2)
INBOX_FIRST_RETRY = timedelta(seconds=30)
INBOX_LONGEST_RETRY = timedelta(hours=1)
_PROVIDER_TROUBLE = (PaymentProviderUnavailableError, PaymentProviderError)


HoldRef = tuple[str, str]
"""(ticket_type_id, hold_id) of a hold to give back."""


def late_hold_id(order: Order, line: OrderLine) -> str:
    """The one hold id a late payment uses to re-take a line's stock.

    Derived (a digest, so it stays as short as any other id) rather than random, so
    that every report of the payment names the same hold."""
    digest = hashlib.sha256(f"{order.id}\n{line.ticket_type_id}".encode()).hexdigest()
    return f"late-{digest[:40]}"


class PaymentOutcome(enum.StrEnum):
    PAID = "paid"
    ALREADY_APPLIED = "already_applied"
    MISMATCH = "mismatch"
    FAILED = "failed"
    PENDING = "pending"
    REFUNDED = "refunded"
    """Money arrived for an order that can no longer be honoured; it goes back."""


class AppliedPayment(msgspec.Struct, frozen=True, kw_only=True):
    outcome: PaymentOutcome
    order: Order
    verification: PaymentVerification


class WebhookOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    """Authentic but unusable (no reference, unreadable): acknowledged, nothing to do."""


class WebhookReceipt(msgspec.Struct, frozen=True, kw_only=True):
    outcome: WebhookOutcome
    key: str | None = None


class _Envelope(msgspec.Struct, kw_only=True):
    event: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class Payments:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        inventory: Inventory,
        issuance: TicketIssuance,
        clock: Clock,
        ids: IdGenerator,
        callback_url: str,
        reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL,
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._inventory = inventory
        self._issuance = issuance
        self._clock = clock
        self._ids = ids
        self._callback_url = callback_url
        self._reservation_ttl = reservation_ttl

    async def initialize_payment(self, order_id: str, access: OrderAccess) -> PaymentInitialization:
        """Start (or resume) the checkout of a pending order; one reference per order."""

        async def attempt() -> Order:
            async with self._uow() as uow:
                order = await load_visible_order(uow, order_id, access)
                if order.is_free:
                    raise InvalidStateError("a free order needs no payment")
                if order.payment_reference is None:
                    order.attach_payment_reference(
                        payment_reference(self._clock.now(), self._ids.new_uuid())
                    )
                    await uow.orders.save(order)
                    await uow.commit()
                elif order.status is not OrderStatus.PENDING:
                    raise InvalidStateError(f"a {order.status} order cannot be paid")
                return order

        order = await retry_on_conflict(attempt)
        reference = order.payment_reference
        assert reference is not None  # noqa: S101 - attached just above
        if order.checkout_url and order.access_code:
            return PaymentInitialization(
                authorization_url=order.checkout_url,
                access_code=order.access_code,
                reference=reference,
            )
        checkout = await self._gateway.initialize(
            PaymentRequest(
                reference=reference,
                email=order.buyer.email,
                amount=order.total,
                callback_url=f"{self._callback_url}?order_id={order.id}",
                metadata={"orderId": order.id, "eventId": order.event_id},
            )
        )
        await self._remember_checkout(order.id, checkout)
        return checkout

    async def _remember_checkout(self, order_id: str, checkout: PaymentInitialization) -> None:
        async def attempt() -> None:
            async with self._uow() as uow:
                order = await uow.orders.get(order_id)
                if order is None or order.checkout_url:
                    return
                order.remember_checkout(checkout.authorization_url, checkout.access_code)
                await uow.orders.save(order)
                await uow.commit()

        await retry_on_conflict(attempt)

    async def verify_payment(self, reference: str) -> AppliedPayment:
        """Ask the provider about a reference and apply the answer (like the webhook)."""
        if not reference.strip():
            raise NotFoundError("payment not found")
        return await self.apply(await self._gateway.verify(reference))

    async def apply(
        self, verification: PaymentVerification, inbox: str | None = None
    ) -> AppliedPayment:
        """Record what a verified transaction means for its order, exactly once.

        With ``inbox``, that webhook event is marked processed in the same transaction.
        """
        applied, release = await retry_on_conflict(lambda: self._apply_once(verification, inbox))
        for ticket_type_id, hold_id in release:
            await self._inventory.release(ticket_type_id, hold_id)
        if applied.outcome is PaymentOutcome.PAID:
            await confirm_sold(self._inventory, applied.order)
        if applied.outcome is PaymentOutcome.REFUNDED and applied.order.refund_due:
            await self._request_refund(applied.order.id)
        return applied

    async def settle_before_expiry(self, order: Order) -> bool:
        """Check a pending order's payment with the provider; True if that settled it."""
        assert order.payment_reference is not None  # noqa: S101 - callers check
        try:
            verification = await self._gateway.verify(order.payment_reference)
        except (*_PROVIDER_TROUBLE, NotFoundError):
            # Expire anyway: a success that shows up later takes the late-payment path.
            return False
        applied = await self.apply(verification)
        return applied.order.status is not OrderStatus.PENDING

    async def receive_webhook(self, body: bytes, signature: str) -> WebhookReceipt:
        """Check the signature, then store the event once. Effects come in ``process``."""
        if not signature or not self._gateway.is_authentic_webhook(body, signature):
            raise InvalidSignatureError
        try:
            envelope = msgspec.json.decode(body, type=_Envelope)
        # msgspec raises UnicodeDecodeError (not DecodeError) for text that is not UTF-8.
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
            logger.warning("authentic webhook with an unreadable body ignored")
            return WebhookReceipt(outcome=WebhookOutcome.IGNORED)
        reference = _reference_of(envelope)
        if reference is None:
            logger.info("webhook %s without a reference acknowledged", envelope.event)
            return WebhookReceipt(outcome=WebhookOutcome.IGNORED)
        now = self._clock.now()
        event = InboxEvent(
            key=inbox_key(PROVIDER, envelope.event, reference),
            provider=PROVIDER,
            event_type=envelope.event,
            reference=reference,
            payload=body,
            received_at=now,
            next_attempt_at=now,
        )
        try:
            async with self._uow() as uow:
                await uow.payment_inbox.add(event)
                await uow.commit()
        except DuplicateError:
            return WebhookReceipt(outcome=WebhookOutcome.DUPLICATE, key=event.key)
        return WebhookReceipt(outcome=WebhookOutcome.ACCEPTED, key=event.key)

    async def process(self, key: str) -> None:
        """Apply a stored webhook event. On failure it stays unprocessed, for a retry."""
        async with self._uow() as uow:
            event = await uow.payment_inbox.get(key)
        if event is None or event.is_processed:
            return
        try:
            if event.event_type in CHARGE_EVENTS:
                await self._process_charge(event)
            elif event.event_type == REFUND_PROCESSED:
                await self._process_refund(event)
            else:
                await self._mark_processed(event.key)
        except Exception as error:
            await self._record_inbox_failure(event.key, f"{type(error).__name__}: {error}")
            raise

    async def retry_inbox(self, limit: int = 50) -> int:
        """Worker: retry webhook events whose processing failed; returns how many succeeded."""
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

    async def process_due_refunds(self, limit: int = 50) -> int:
        """Worker: ask the provider for refunds that could not be requested before."""
        async with self._uow() as uow:
            due = await uow.orders.refunds_due(limit)
        requested = 0
        for order in due:
            if await self._request_refund(order.id):
                requested += 1
        return requested

    async def _apply_once(
        self, verification: PaymentVerification, inbox: str | None
    ) -> tuple[AppliedPayment, list[HoldRef]]:
        # Nothing is given back if this fails: the holds taken here are shared with any
        # concurrent report of the same payment (their ids are derived), so returning
        # them could unsell what the winner sold. Unconfirmed ones lapse by themselves.
        async with self._uow() as uow:
            order = await uow.orders.get_by_reference(verification.reference)
            if order is None:
                raise NotFoundError("no order has this payment reference")
            outcome, release = await self._effects(uow, order, verification)
            if outcome not in {PaymentOutcome.ALREADY_APPLIED, PaymentOutcome.PENDING}:
                await uow.orders.save(order)
            if inbox is not None:
                await self._mark_in(uow, inbox)
            await uow.commit()
        applied = AppliedPayment(outcome=outcome, order=order, verification=verification)
        return applied, release

    async def _effects(  # noqa: PLR0911 - one return per decision reads best
        self, uow: UnitOfWork, order: Order, verification: PaymentVerification
    ) -> tuple[PaymentOutcome, list[HoldRef]]:
        """Change ``order`` (not yet saved); returns the outcome and the holds to
        release once the change is committed."""
        now = self._clock.now()
        decision = decide(order, verification)
        if decision is PaymentDecision.ALREADY_APPLIED:
            return PaymentOutcome.ALREADY_APPLIED, []
        if decision is PaymentDecision.WAIT:
            return PaymentOutcome.PENDING, []
        if decision is PaymentDecision.MISMATCH:
            note = mismatch_note(order, verification)
            logger.warning("order %s: %s", order.id, note)
            order.record_payment_issue(note)
            return PaymentOutcome.MISMATCH, []
        if decision is PaymentDecision.FAIL:
            if order.status is not OrderStatus.PENDING:
                return PaymentOutcome.ALREADY_APPLIED, []
            order.mark_failed()
            return PaymentOutcome.FAILED, [
                (line.ticket_type_id, line.hold_id) for line in order.lines
            ]
        if order.status is OrderStatus.CANCELLED:
            order.mark_refunded(now, refund_due=True)
            return PaymentOutcome.REFUNDED, []
        return await self._take_payment(uow, order, now)

    async def _take_payment(
        self, uow: UnitOfWork, order: Order, now: datetime
    ) -> tuple[PaymentOutcome, list[HoldRef]]:
        kept: list[HoldRef] = []
        lapsed: list[OrderLine] = []
        for line in order.lines:
            # Only a pending order still owns its holds; anyone who moved it out of
            # pending has released (or will release) them.
            owned = order.status is OrderStatus.PENDING
            if (
                owned
                and await self._inventory.confirm(line.ticket_type_id, line.hold_id)
                is not Confirmation.LAPSED
            ):
                kept.append((line.ticket_type_id, line.hold_id))
            else:
                lapsed.append(line)
        retaken: dict[str, str] = {}
        for line in lapsed:
            if not await self._retake(order, line, now):
                break
            retaken[line.ticket_type_id] = late_hold_id(order, line)
        if len(retaken) < len(lapsed):
            logger.warning("order %s paid late and sold out: refunding", order.id)
            if order.status is OrderStatus.PENDING:
                # Its holds lapsed before the sweep got to it: the reservation is over,
                # so it expires first (pending cannot become refunded directly).
                order.expire(now)
            order.mark_refunded(now, refund_due=True)
            # Given back only once this refund is committed: a concurrent report of the
            # same payment may be about to sell the very same holds.
            return PaymentOutcome.REFUNDED, kept + list(retaken.items())
        order.rehold(
            [
                msgspec.structs.replace(line, hold_id=retaken[line.ticket_type_id])
                if line.ticket_type_id in retaken
                else line
                for line in order.lines
            ]
        )
        event = await uow.events.get(order.event_id)
        if event is None:
            raise NotFoundError("the order's event is gone")
        await self._issuance.complete_sale(uow, order, event, now)
        return PaymentOutcome.PAID, []

    async def _retake(self, order: Order, line: OrderLine, now: datetime) -> bool:
        """Take stock again for a line whose hold is gone, and sell it; False if none is left.

        The new hold's id is derived from the order and line, so every concurrent report
        of the same late payment works on one hold instead of racing each other for
        stock (and refunding a buyer whose tickets were there).
        """
        hold_id = late_hold_id(order, line)
        if await self._inventory.confirm(line.ticket_type_id, hold_id) is not Confirmation.LAPSED:
            return True  # another report of this payment took it already
        hold = Hold(
            hold_id=hold_id,
            ticket_type_id=line.ticket_type_id,
            quantity=line.quantity,
            expires_at=now + self._reservation_ttl,
        )
        if not await self._inventory.reserve(hold):
            return False
        await self._inventory.confirm(line.ticket_type_id, hold_id)
        return True

    async def _request_refund(self, order_id: str) -> bool:
        async with self._uow() as uow:
            order = await uow.orders.get(order_id)
        if order is None or not order.refund_due or order.payment_reference is None:
            return False
        try:
            await self._gateway.refund(order.payment_reference)
        except _PROVIDER_TROUBLE:
            logger.warning("refund of order %s not accepted yet; will retry", order_id)
            return False

        async def record() -> None:
            async with self._uow() as uow:
                current = await uow.orders.get(order_id)
                if current is not None and current.refund_due:
                    current.record_refund_requested()
                    await uow.orders.save(current)
                    await uow.commit()

        await retry_on_conflict(record)
        return True

    async def _process_charge(self, event: InboxEvent) -> None:
        try:
            verification = await self._gateway.verify(event.reference)
        except NotFoundError:
            logger.info("webhook for unknown reference %s acknowledged", event.reference)
            await self._mark_processed(event.key)
            return
        try:
            await self.apply(verification, inbox=event.key)
        except NotFoundError:
            await self._mark_processed(event.key)

    async def _process_refund(self, event: InboxEvent) -> None:
        async def attempt() -> list[OrderLine]:
            async with self._uow() as uow:
                order = await uow.orders.get_by_reference(event.reference)
                release: list[OrderLine] = []
                if order is not None and order.status is OrderStatus.PAID:
                    order.mark_refunded(self._clock.now())
                    for ticket in await uow.tickets.for_order(order.id):
                        ticket.void()
                        await uow.tickets.save(ticket)
                    release = list(order.lines)
                    await uow.orders.save(order)
                elif order is not None and order.refund_due:
                    order.record_refund_requested()
                    await uow.orders.save(order)
                await self._mark_in(uow, event.key)
                await uow.commit()
                return release

        for line in await retry_on_conflict(attempt):
            await self._inventory.release(line.ticket_type_id, line.hold_id)

    async def _mark_processed(self, key: str) -> None:
        async def attempt() -> None:
            async with self._uow() as uow:
                await self._mark_in(uow, key)
                await uow.commit()

        await retry_on_conflict(attempt)

    async def _mark_in(self, uow: UnitOfWork, key: str) -> None:
        event = await uow.payment_inbox.get(key)
        if event is not None and not event.is_processed:
            event.mark_processed(self._clock.now())
            await uow.payment_inbox.save(event)

    async def _record_inbox_failure(self, key: str, error: str) -> None:
        async def attempt() -> None:
            async with self._uow() as uow:
                event = await uow.payment_inbox.get(key)
                if event is None or event.is_processed:
                    return
                delay = min(INBOX_FIRST_RETRY * 2**event.attempts, INBOX_LONGEST_RETRY)
                event.record_failure(error, self._clock.now() + delay)
                await uow.payment_inbox.save(event)
                await uow.commit()

        await retry_on_conflict(attempt)


def _reference_of(envelope: _Envelope) -> str | None:
    # Charge events carry ``reference``; refund events ``transaction_reference``.
    for field in ("reference", "transaction_reference"):
        value = envelope.data.get(field)
        if isinstance(value, str) and value:
            return value
    return None
