"""Payments: starting a checkout, and applying what the provider says, exactly once.

The webhook, ``/payments/verify``, the worker's payment checks and the expiry sweep all
end in ``apply``: the transaction is verified with the provider (a webhook body is never
trusted), then one unit of work decides; when stock has to be sold, the inventory is
called outside any unit and the next unit records the effects (never a second
connection while holding one). Concurrent or repeated deliveries race on the order's
version; the losers re-read and find the work done.

Stock rules while applying a success:
- a pending order's own holds are confirmed (sold);
- an order that left pending (expired, failed) lost its holds to whoever moved it,
  so it takes fresh ones, stock permitting;
- without stock, or for a cancelled order, the money goes back: the order is marked
  refunded with ``refund_due`` and the provider is asked after the commit (retried by
  ``process_due_refunds`` if it cannot be reached). Never oversold to honour a payment.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from getiickets.domain.model.errors import (
    CheckoutUnavailableError,
    ConflictError,
    DuplicateError,
    InvalidSignatureError,
    InvalidStateError,
    NotFoundError,
    PaymentProviderError,
    PaymentProviderUnavailableError,
)
from getiickets.domain.model.inventory import Confirmation, Hold
from getiickets.domain.model.local_time import readable_time
from getiickets.domain.model.orders import (
    DEFAULT_RESERVATION_TTL,
    Order,
    OrderLine,
    OrderStatus,
    payment_reference,
)
from getiickets.domain.model.payments import (
    InboxEvent,
    PaymentDecision,
    PaymentInitialization,
    PaymentStatus,
    PaymentVerification,
    decide,
    inbox_key,
    mismatch_note,
)
from getiickets.domain.usecases.access import OrderAccess, load_visible_order
from getiickets.domain.usecases.holds import confirm_sold
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
CHARGE_SUCCESS = "charge.success"
PAYMENT_CHECK_BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
)
"""When the worker asks the provider about an initialized payment with nothing applied
yet: after each of these in turn, then every last one while the order is pending. Most
buyers pay within a minute or two; a missed webhook then costs them seconds, not the
whole reservation."""
DELIVERY_WINDOW = timedelta(hours=72)
"""How long Paystack keeps resending a webhook: an event row of an order that stopped
waiting stays open this long for a late delivery, without being polled."""
_PROVIDER_TROUBLE = (PaymentProviderUnavailableError, PaymentProviderError)
_NO_CHECKOUT = "the payment provider could not start a checkout; please try again shortly"
"""The one thing a buyer is told when initialize fails: provider wording stays in logs."""
_SETTLED = frozenset({PaymentStatus.SUCCESS, PaymentStatus.FAILED, PaymentStatus.REVERSED})


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
    DOUBLE_CHARGE_REFUNDED = "double_charge_refunded"
    """A second reference of an order already paid was paid too: that money goes back."""


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


@dataclasses.dataclass
class _Stock:
    """What taking a paid order's stock did, between the two units of work."""

    kept: list[HoldRef] = dataclasses.field(default_factory=list)
    """The order's own holds, now sold."""
    retaken: dict[str, str] = dataclasses.field(default_factory=dict)
    """Ticket type id -> the late hold sold in place of a lapsed one."""
    sold_out: bool = False
    """A lapsed line found no stock left: the payment goes back."""


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
                    # In the same transaction: a reference never exists unwatched.
                    await uow.payment_inbox.add(self._expected_charge(order))
                    await uow.commit()
                elif order.status is not OrderStatus.PENDING:
                    raise InvalidStateError(f"a {order.status} order cannot be paid")
                return order

        order = await retry_on_conflict(attempt)
        if order.checkout_url and order.access_code:
            return self._remembered(order)
        try:
            checkout = await self._start_checkout(order)
        except CheckoutUnavailableError:
            # Paystack has the reference but its link was lost with an answer, and it
            # never gives it again: settle what it knows, else pay with a fresh reference.
            order = await self._after_lost_checkout(order)
            if order.checkout_url and order.access_code:
                return self._remembered(order)
            try:
                checkout = await self._start_checkout(order)
            except CheckoutUnavailableError:
                raise PaymentProviderUnavailableError(_NO_CHECKOUT) from None
        await self._remember_checkout(order.id, checkout)
        return checkout

    @staticmethod
    def _remembered(order: Order) -> PaymentInitialization:
        # Callers checked all three.
        assert order.payment_reference is not None  # noqa: S101
        assert order.checkout_url is not None  # noqa: S101
        assert order.access_code is not None  # noqa: S101
        return PaymentInitialization(
            authorization_url=order.checkout_url,
            access_code=order.access_code,
            reference=order.payment_reference,
        )

    async def _start_checkout(self, order: Order) -> PaymentInitialization:
        """``gateway.initialize`` for the order's reference; any failure but a lost link
        is answered ``payment_provider_unavailable`` in plain words (details logged)."""
        reference = order.payment_reference
        assert reference is not None  # noqa: S101 - attached before
        metadata = {"orderId": order.id, "eventId": order.event_id}
        async with self._uow() as uow:  # closed before the gateway is called
            event = await uow.events.get(order.event_id)
        if event is not None:
            # Shown to the payer on the checkout page: what and when, in the event's time.
            metadata["event"] = event.title
            metadata["eventStarts"] = readable_time(event.starts_at, event.timezone)
        try:
            return await self._gateway.initialize(
                PaymentRequest(
                    reference=reference,
                    email=order.buyer.email,
                    amount=order.total,
                    callback_url=f"{self._callback_url}?order_id={order.id}",
                    metadata=metadata,
                )
            )
        except CheckoutUnavailableError:
            raise
        except _PROVIDER_TROUBLE as error:
            logger.warning("checkout of order %s not started: %s", order.id, error.detail)
            raise PaymentProviderUnavailableError(_NO_CHECKOUT) from None

    async def _after_lost_checkout(self, order: Order) -> Order:
        """Verify the reference whose link was lost: a settled transaction is applied (a
        paid or failed order needs no checkout: ``InvalidStateError``); otherwise the
        order moves to a fresh reference, keeping the old one (its late success is still
        this order's, and a second success is refunded)."""
        lost = order.payment_reference
        assert lost is not None  # noqa: S101 - attached before
        try:
            verification: PaymentVerification | None = await self._gateway.verify(lost)
        except NotFoundError:
            verification = None
        except _PROVIDER_TROUBLE as error:
            logger.warning("lost checkout %s not verified: %s", lost, error.detail)
            raise PaymentProviderUnavailableError(_NO_CHECKOUT) from None
        if verification is not None and verification.status in _SETTLED:
            applied = await self.apply(verification)
            if applied.order.status is not OrderStatus.PENDING:
                raise InvalidStateError(f"a {applied.order.status} order cannot be paid")

        async def rotate() -> Order:
            async with self._uow() as uow:
                current = await uow.orders.get(order.id)
                if current is None:
                    raise NotFoundError("order not found")
                if current.payment_reference != lost:
                    return current  # another request moved it on already
                current.move_to_fresh_reference(
                    payment_reference(self._clock.now(), self._ids.new_uuid())
                )
                await uow.orders.save(current)
                await uow.payment_inbox.add(self._expected_charge(current))
                await uow.commit()
                return current

        logger.warning("order %s: checkout of %s lost; moving to a fresh reference", order.id, lost)
        return await retry_on_conflict(rotate)

    def _expected_charge(self, order: Order) -> InboxEvent:
        """The open event row of a new payment: the worker polls the provider about it
        on ``PAYMENT_CHECK_BACKOFF`` until a delivery or a poll applies it."""
        assert order.payment_reference is not None  # noqa: S101 - just attached
        now = self._clock.now()
        return InboxEvent(
            key=inbox_key(PROVIDER, CHARGE_SUCCESS, order.payment_reference),
            provider=PROVIDER,
            event_type=CHARGE_SUCCESS,
            reference=order.payment_reference,
            payload=b"",
            received_at=now,
            next_attempt_at=now + PAYMENT_CHECK_BACKOFF[0],
        )

    async def _remember_checkout(self, order_id: str, checkout: PaymentInitialization) -> None:
        async def attempt() -> None:
            async with self._uow() as uow:
                order = await uow.orders.get(order_id)
                if (
                    order is None
                    or order.checkout_url
                    or order.payment_reference != checkout.reference
                ):
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

        The reference's event rows (``inbox``, and the ``charge.success`` row every
        payment opens) are closed in the same transaction once something was applied;
        while the provider reports nothing to apply they stay open, polled on a backoff.
        """
        applied, release = await retry_on_conflict(lambda: self._apply_once(verification, inbox))
        for ticket_type_id, hold_id in release:
            await self._inventory.release(ticket_type_id, hold_id)
        if applied.outcome is PaymentOutcome.PAID:
            await confirm_sold(self._inventory, applied.order)
        if applied.outcome is PaymentOutcome.REFUNDED and applied.order.refund_due:
            await self._request_refund(applied.order.id)
        if applied.outcome is PaymentOutcome.DOUBLE_CHARGE_REFUNDED:
            # Raises if the provider cannot take it now: the event row stays open and
            # the next delivery or retry refunds it (refunds are idempotent there).
            await self._gateway.refund(verification.reference)
            logger.warning(
                "order %s: second charge %s refunded", applied.order.id, verification.reference
            )
            if inbox is not None:
                await self._mark_processed(inbox)
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
        except (msgspec.DecodeError, msgspec.ValidationError):
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
            outcome = await retry_on_conflict(lambda: self._redeliver(event))
            return WebhookReceipt(outcome=outcome, key=event.key)
        return WebhookReceipt(outcome=WebhookOutcome.ACCEPTED, key=event.key)

    async def _redeliver(self, event: InboxEvent) -> WebhookOutcome:
        """A delivery of an event already stored: a duplicate only if that event was
        applied or a delivery being processed right now will apply it. An event whose
        verification found nothing to apply yet (or only polled so far) is processed
        again, now: an early ``charge.success`` must not swallow the real one."""
        async with self._uow() as uow:
            stored = await uow.payment_inbox.get(event.key)
            if stored is None or stored.is_processed or stored.is_in_flight:
                return WebhookOutcome.DUPLICATE
            stored.redeliver(event.payload, event.received_at)
            await uow.payment_inbox.save(stored)
            await uow.commit()
        return WebhookOutcome.ACCEPTED

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
        """Decide in one unit of work, take stock outside any unit, write in the next.

        The inventory is never called while a unit is open: with one pooled connection
        (the seed's pooler URL) that call would wait for the connection its own unit
        holds. If the order changed between the two units, ``ConflictError`` sends the
        whole attempt round again; the stock calls are idempotent (confirming a sold
        hold answers ``ALREADY_CONFIRMED``, late holds have derived ids).
        """
        # Nothing is given back if this fails: the holds taken here are shared with any
        # concurrent report of the same payment (their ids are derived), so returning
        # them could unsell what the winner sold. Unconfirmed ones lapse by themselves.
        async with self._uow() as uow:
            order = await uow.orders.get_by_reference(verification.reference)
            if order is None:
                raise NotFoundError("no order has this payment reference")
            settled = self._settle_without_stock(order, verification)
            if settled is not None:
                outcome, release = settled
                if outcome not in {PaymentOutcome.ALREADY_APPLIED, PaymentOutcome.PENDING}:
                    await uow.orders.save(order)
                await self._settle_inbox(uow, inbox, order, outcome)
                await uow.commit()
                applied = AppliedPayment(outcome=outcome, order=order, verification=verification)
                return applied, release
        now = self._clock.now()
        stock = await self._take_stock(order, now)
        async with self._uow() as uow:
            current = await uow.orders.get(order.id)
            if current is None or current.version != order.version:
                raise ConflictError("the order changed while its stock was taken")
            current.paid_through(verification.reference)
            outcome, release = await self._take_payment(uow, current, stock, now)
            await uow.orders.save(current)
            await self._settle_inbox(uow, inbox, current, outcome)
            await uow.commit()
        return AppliedPayment(outcome=outcome, order=current, verification=verification), release

    def _settle_without_stock(  # noqa: PLR0911 - one return per decision reads best
        self, order: Order, verification: PaymentVerification
    ) -> tuple[PaymentOutcome, list[HoldRef]] | None:
        """Change ``order`` (not yet saved) where no stock has to be taken; returns the
        outcome and the holds to release once the change is committed, or None when the
        payment is to be honoured (stock first)."""
        if verification.reference != order.payment_reference:
            # An older reference of this order (its checkout link was lost).
            if verification.status is not PaymentStatus.SUCCESS:
                # Only the current reference's failure can fail the order.
                waiting = decide(order, verification) is PaymentDecision.WAIT
                return (PaymentOutcome.PENDING if waiting else PaymentOutcome.ALREADY_APPLIED), []
            if order.status in {OrderStatus.PAID, OrderStatus.REFUNDED}:
                return PaymentOutcome.DOUBLE_CHARGE_REFUNDED, []
            if verification.amount == order.total:
                order.paid_through(verification.reference)
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
            order.mark_refunded(self._clock.now(), refund_due=True)
            return PaymentOutcome.REFUNDED, []
        return None

    async def _take_stock(self, order: Order, now: datetime) -> _Stock:
        """Sell the order's stock in the inventory: its own holds while it owns them,
        else fresh ones (a late payment), stopping at the first line without stock."""
        stock = _Stock()
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
                stock.kept.append((line.ticket_type_id, line.hold_id))
            else:
                lapsed.append(line)
        for line in lapsed:
            if not await self._retake(order, line, now):
                stock.sold_out = True
                break
            stock.retaken[line.ticket_type_id] = late_hold_id(order, line)
        return stock

    async def _take_payment(
        self, uow: UnitOfWork, order: Order, stock: _Stock, now: datetime
    ) -> tuple[PaymentOutcome, list[HoldRef]]:
        if stock.sold_out:
            logger.warning("order %s paid late and sold out: refunding", order.id)
            if order.status is OrderStatus.PENDING:
                # Its holds lapsed before the sweep got to it: the reservation is over,
                # so it expires first (pending cannot become refunded directly).
                order.expire(now)
            order.mark_refunded(now, refund_due=True)
            # Given back only once this refund is committed: a concurrent report of the
            # same payment may be about to sell the very same holds.
            return PaymentOutcome.REFUNDED, stock.kept + list(stock.retaken.items())
        order.rehold(
            [
                msgspec.structs.replace(line, hold_id=stock.retaken[line.ticket_type_id])
                if line.ticket_type_id in stock.retaken
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
            # Unknown to the provider: an initialize whose request never arrived, or
            # whose answer was lost. Keep looking while an order waits for it.
            logger.info("no transaction %s at the provider (yet)", event.reference)
            await self._unknown_to_provider(event.key, event.reference)
            return
        try:
            await self.apply(verification, inbox=event.key)
        except NotFoundError:
            await self._mark_processed(event.key)

    async def _unknown_to_provider(self, key: str, reference: str) -> None:
        async def attempt() -> None:
            async with self._uow() as uow:
                order = await uow.orders.get_by_reference(reference)
                if order is None:
                    await self._mark_in(uow, key)
                else:
                    await self._keep_open(uow, key, order)
                await uow.commit()

        await retry_on_conflict(attempt)

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

    async def _settle_inbox(
        self,
        uow: UnitOfWork,
        inbox: str | None,
        order: Order,
        outcome: PaymentOutcome,
    ) -> None:
        if inbox is None or outcome is PaymentOutcome.DOUBLE_CHARGE_REFUNDED:
            # Closed once the money is back (see ``apply``). The payment's own row is left to its next poll (or delivery), which finds
            # the work done and closes it: a first delivery is then still "accepted".
            return
        if outcome is PaymentOutcome.PENDING:
            await self._keep_open(uow, inbox, order)
        else:
            await self._mark_in(uow, inbox)

    async def _keep_open(self, uow: UnitOfWork, key: str, order: Order | None) -> None:
        """Nothing to apply yet: look again on the backoff while the order waits for its
        money; once it stopped waiting, only a late delivery reopens the row."""
        event = await uow.payment_inbox.get(key)
        if event is None or event.is_processed:
            return
        now = self._clock.now()
        if order is not None and order.status is OrderStatus.PENDING:
            # The first step was waited before this check (the row was opened with it).
            last = len(PAYMENT_CHECK_BACKOFF) - 1
            step = PAYMENT_CHECK_BACKOFF[min(event.attempts + 1, last)]
            event.keep_open("nothing to apply yet", now + step)
        elif now < event.received_at + DELIVERY_WINDOW:
            event.keep_open(
                "nothing to apply; open for a late delivery", event.received_at + DELIVERY_WINDOW
            )
        else:
            event.mark_processed(now)
        await uow.payment_inbox.save(event)

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
