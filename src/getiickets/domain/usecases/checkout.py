"""Starting (or resuming) the checkout of a pending order: one payment reference each.

The reference is attached and its inbox row opened in one transaction, so that a
reference never exists unwatched: the worker polls the provider about it on the model's
``PAYMENT_CHECK_BACKOFF`` until a delivery or a poll applies it. The provider is called
after that commit, and the checkout link it gives is remembered for the next ask.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from getiickets.domain.model.errors import (
    PAYMENT_PROVIDER_TROUBLE,
    CheckoutUnavailableError,
    InvalidStateError,
    NotFoundError,
    PaymentProviderUnavailableError,
)
from getiickets.domain.model.local_time import readable_time
from getiickets.domain.model.orders import Order, OrderStatus, payment_reference
from getiickets.domain.model.payments import (
    PaymentInitialization,
    PaymentStatus,
    PaymentVerification,
    expected_charge,
)
from getiickets.domain.usecases.access import OrderAccess, load_visible_order
from getiickets.domain.usecases.retrying import retry_on_conflict
from getiickets.ports.payments import PaymentRequest

if TYPE_CHECKING:
    from getiickets.domain.model.payments import InboxEvent
    from getiickets.domain.usecases.payment_results import PaymentResults
    from getiickets.ports.clock import Clock, IdGenerator
    from getiickets.ports.payments import PaymentGateway
    from getiickets.ports.unit_of_work import UnitOfWorkFactory

logger = logging.getLogger(__name__)

_NO_CHECKOUT = "the payment provider could not start a checkout; please try again shortly"
"""The one thing a buyer is told when initialize fails: provider wording stays in logs."""
_SETTLED = frozenset({PaymentStatus.SUCCESS, PaymentStatus.FAILED, PaymentStatus.REVERSED})


class Checkout:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        results: PaymentResults,
        clock: Clock,
        ids: IdGenerator,
        callback_url: str,
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._results = results
        self._clock = clock
        self._ids = ids
        self._callback_url = callback_url

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
                    await uow.payment_inbox.add(self._expected_charge(order.payment_reference))
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
            # The provider has the reference but its link was lost with an answer, and
            # will not give it again: settle what it knows, else pay with a fresh reference.
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
        except PAYMENT_PROVIDER_TROUBLE as error:
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
        except PAYMENT_PROVIDER_TROUBLE as error:
            logger.warning("lost checkout %s not verified: %s", lost, error.detail)
            raise PaymentProviderUnavailableError(_NO_CHECKOUT) from None
        if verification is not None and verification.status in _SETTLED:
            applied = await self._results.apply(verification)
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
                await uow.payment_inbox.add(self._expected_charge(current.payment_reference))
                await uow.commit()
                return current

        logger.warning("order %s: checkout of %s lost; moving to a fresh reference", order.id, lost)
        return await retry_on_conflict(rotate)

    def _expected_charge(self, reference: str | None) -> InboxEvent:
        assert reference is not None  # noqa: S101 - just attached
        return expected_charge(self._gateway.provider, reference, self._clock.now())

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
