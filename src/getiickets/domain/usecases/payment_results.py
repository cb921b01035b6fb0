"""Applying what the provider says about a payment to its order, exactly once.

The webhook inbox, ``/payments/verify``, the worker's payment checks, the expiry sweep
and a lost checkout all end in ``apply``: the transaction is verified with the provider
(a webhook body is never trusted), then one unit of work decides; when stock has to be
sold, the inventory is called outside any unit and the next unit records the effects
(never a second connection while holding one). Concurrent or repeated reports race on
the order's version; the losers re-read and find the work done.

Stock rules while applying a success (``paid_stock``):
- a pending order's own holds are confirmed (sold);
- an order that left pending (expired, failed) lost its holds to whoever moved it,
  so it takes fresh ones, stock permitting;
- without stock, or for a cancelled order, the money goes back: the order is marked
  refunded with ``refund_due`` and the provider is asked after the commit (``refunds``
  asks again if it cannot be reached). Never oversold to honour a payment.
"""

from __future__ import annotations

import enum
import logging
from typing import TYPE_CHECKING

import msgspec

from getiickets.domain.model.errors import (
    PAYMENT_PROVIDER_TROUBLE,
    NotFoundError,
)
from getiickets.domain.model.orders import DEFAULT_RESERVATION_TTL, Order, OrderStatus
from getiickets.domain.model.payments import (
    PaymentDecision,
    PaymentStatus,
    PaymentVerification,
    decide,
    mismatch_note,
)
from getiickets.domain.usecases import inbox_rows
from getiickets.domain.usecases.event_cache import EventCache
from getiickets.domain.usecases.holds import confirm_sold
from getiickets.domain.usecases.paid_stock import HoldRef, PaidStock, TakenStock
from getiickets.domain.usecases.retrying import retry_on_conflict

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from getiickets.domain.model.catalog import Event
    from getiickets.domain.usecases.issuance import TicketIssuance
    from getiickets.domain.usecases.refunds import Refunds
    from getiickets.ports.clock import Clock
    from getiickets.ports.hot_state import Cache
    from getiickets.ports.inventory import Inventory
    from getiickets.ports.payments import PaymentGateway
    from getiickets.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

logger = logging.getLogger(__name__)


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


class PaymentResults:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        inventory: Inventory,
        issuance: TicketIssuance,
        refunds: Refunds,
        clock: Clock,
        reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL,
        cache: Cache | None = None,
    ) -> None:
        """Without ``cache``, a paid order's event is read from the database."""
        self._uow = uow
        self._gateway = gateway
        self._inventory = inventory
        self._stock = PaidStock(inventory, reservation_ttl)
        self._issuance = issuance
        self._refunds = refunds
        self._clock = clock
        self._events = EventCache(uow=uow, cache=cache) if cache is not None else None

    async def verify_payment(self, reference: str) -> AppliedPayment:
        """Ask the provider about a reference and apply the answer (like the webhook)."""
        if not reference.strip():
            raise NotFoundError("payment not found")
        return await self.apply(await self._gateway.verify(reference))

    async def settle_before_expiry(self, order: Order) -> bool:
        """Check a pending order's payment with the provider; True if that settled it."""
        assert order.payment_reference is not None  # noqa: S101 - callers check
        try:
            verification = await self._gateway.verify(order.payment_reference)
        except (*PAYMENT_PROVIDER_TROUBLE, NotFoundError):
            # Expire anyway: a success that shows up later takes the late-payment path.
            return False
        applied = await self.apply(verification)
        return applied.order.status is not OrderStatus.PENDING

    async def apply(
        self, verification: PaymentVerification, inbox: str | None = None
    ) -> AppliedPayment:
        """Record what a verified transaction means for its order, exactly once.

        The event row ``inbox`` (the delivery or poll that asked) is closed in the same
        transaction once something was applied; while the provider reports nothing to
        apply it stays open, polled on a backoff.
        """
        applied, release = await retry_on_conflict(lambda: self._apply_once(verification, inbox))
        for ticket_type_id, hold_id in release:
            await self._inventory.release(ticket_type_id, hold_id)
        if applied.outcome is PaymentOutcome.PAID:
            await confirm_sold(self._inventory, applied.order)
        if applied.outcome is PaymentOutcome.REFUNDED and applied.order.refund_due:
            await self._refunds.request(applied.order.id)
        if applied.outcome is PaymentOutcome.DOUBLE_CHARGE_REFUNDED:
            # Raises if the provider cannot take it now: the event row stays open and
            # the next delivery or retry refunds it (refunds are idempotent there).
            await self._gateway.refund(verification.reference)
            logger.warning(
                "order %s: second charge %s refunded", applied.order.id, verification.reference
            )
            if inbox is not None:
                await inbox_rows.close_now(self._uow, inbox, self._clock)
        return applied

    async def _apply_once(
        self, verification: PaymentVerification, inbox: str | None
    ) -> tuple[AppliedPayment, list[HoldRef]]:
        """Decide in one unit of work, take stock outside any unit, write in the next.

        The inventory is never called while a unit is open: with one pooled connection
        (a pooler URL with ``connection_limit=1``) that call would wait for the connection its own unit
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
        stock = await self._stock.take(order, now)
        # What the confirmation says of the event, through the cache and outside any
        # unit (a miss reads it in a unit of its own): it spares the unit below two
        # reads per payment.
        event = (
            await self._events.get(order.event_id)
            if self._events is not None and not stock.sold_out
            else None
        )
        async with self._uow() as uow:
            # Not read again: saving checks the version it was read at, so an order
            # that changed while its stock was taken fails the save (ConflictError) and
            # the whole attempt goes round again, as a fresh read would have had it.
            order.paid_through(verification.reference)
            outcome, release = await self._take_payment(uow, order, stock, now, event)
            await uow.orders.save(order)
            await self._settle_inbox(uow, inbox, order, outcome)
            await uow.commit()
        return AppliedPayment(outcome=outcome, order=order, verification=verification), release

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

    async def _take_payment(
        self,
        uow: UnitOfWork,
        order: Order,
        stock: TakenStock,
        now: datetime,
        event: Event | None,
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
            return PaymentOutcome.REFUNDED, stock.holds
        order.rehold(
            [
                msgspec.structs.replace(line, hold_id=stock.retaken[line.ticket_type_id])
                if line.ticket_type_id in stock.retaken
                else line
                for line in order.lines
            ]
        )
        if event is None:
            event = await uow.events.get(order.event_id)
        if event is None:
            raise NotFoundError("the order's event is gone")
        await self._issuance.complete_sale(uow, order, event, now)
        return PaymentOutcome.PAID, []

    async def _settle_inbox(
        self, uow: UnitOfWork, inbox: str | None, order: Order, outcome: PaymentOutcome
    ) -> None:
        if inbox is None or outcome is PaymentOutcome.DOUBLE_CHARGE_REFUNDED:
            # Closed once the money is back (see ``apply``). The payment's own row is
            # left to its next poll (or delivery), which finds the work done and closes
            # it: a first delivery is then still "accepted".
            return
        if outcome is PaymentOutcome.PENDING:
            await inbox_rows.keep_open(uow, inbox, order, self._clock.now())
        else:
            await inbox_rows.close(uow, inbox, self._clock.now())
