"""/payments and /webhooks/paystack."""

from __future__ import annotations

import html
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, SkipValidation

from getiickets.domain.model.accounts import Actor
from getiickets.domain.model.errors import DomainError, InvalidSignatureError
from getiickets.domain.model.orders import OrderStatus
from getiickets.domain.model.payments import PaymentStatus
from getiickets.domain.usecases.checkout import Checkout
from getiickets.domain.usecases.ordering import Ordering
from getiickets.domain.usecases.payment_inbox import PaymentInbox, WebhookOutcome
from getiickets.domain.usecases.payment_results import PaymentResults
from getiickets.entrypoints.background import BoundedJobs
from getiickets.entrypoints.http.dependencies import identifies_caller, order_access
from getiickets.entrypoints.http.errors import documented
from getiickets.entrypoints.http.idempotency import IdempotencyStore, idempotent, order_caller
from getiickets.entrypoints.http.schemas import (
    InitializePaymentBody,
    PaymentInitOut,
    VerifyPaymentBody,
    VerifyPaymentOut,
    WebhookAck,
    order_view,
)
from getiickets.entrypoints.metrics import Metrics
from getiickets.ports.clock import Clock

SIGNATURE_HEADER = "x-paystack-signature"
MAX_WEBHOOK_BYTES = 1024 * 1024
"""docs/http-api.md's limit, named here too: a larger body is refused (413), never checked in part."""
# docs/http-api.md names four statuses; a reversed transaction reads as failed to a buyer.
_VERIFY_STATUS = {
    PaymentStatus.SUCCESS: "success",
    PaymentStatus.FAILED: "failed",
    PaymentStatus.REVERSED: "failed",
    PaymentStatus.ABANDONED: "abandoned",
    PaymentStatus.PENDING: "pending",
}


class PaymentsController(Controller):
    path = "/payments"
    tags = ["payments"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/initialize",
        operation_id="initializePayment",
        status_code=200,
        responses=documented(400, 401, 404, 409, 422, 502),
        guards=[identifies_caller],
    )
    async def initialize(
        self,
        *,
        request: Request[Any, Any, Any],
        data: JSONBody[InitializePaymentBody],
        actor: NamedDependency[Actor | None],
        checkout: NamedDependency[Checkout],
        ordering: NamedDependency[Ordering],
        idempotency: NamedDependency[IdempotencyStore],
        clock: NamedDependency[SkipValidation[Clock]],
    ) -> Response[Any]:
        access = order_access(request, actor, request.query_params.get("token"))

        async def work() -> PaymentInitOut:
            started = await checkout.initialize_payment(data.order_id, access)
            return PaymentInitOut(
                authorization_url=started.authorization_url,
                access_code=started.access_code,
                reference=started.reference,
            )

        return await idempotent(
            store=idempotency,
            clock=clock,
            route=f"payments:{data.order_id}",
            caller=order_caller(access),
            key=request.headers.get("idempotency-key"),
            body=await request.body(),
            status_code=200,
            work=work,
            # The order is named in the body, so its access check cannot come earlier.
            authorize=lambda: ordering.get_order(data.order_id, access),
        )

    @post(
        "/verify",
        operation_id="verifyPayment",
        status_code=200,
        responses=documented(400, 404, 422, 502),
    )
    async def verify(
        self, data: JSONBody[VerifyPaymentBody], payment_results: NamedDependency[PaymentResults]
    ) -> VerifyPaymentOut:
        applied = await payment_results.verify_payment(data.reference)
        return VerifyPaymentOut(
            status=_VERIFY_STATUS[applied.verification.status],  # type: ignore[arg-type]
            order=order_view(applied.order),
        )


class WebhooksController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/paystack",
        operation_id="paystackWebhook",
        status_code=200,
        responses=documented(400, 401, 413),
        request_max_body_size=MAX_WEBHOOK_BYTES,
    )
    async def paystack(
        self,
        request: Request[Any, Any, Any],
        metrics: NamedDependency[Metrics],
        payment_inbox: NamedDependency[PaymentInbox],
        after_response: NamedDependency[BoundedJobs],
    ) -> Response[WebhookAck]:
        # The signature covers the exact bytes sent: read them once (all of them, within the
        # route's size limit), check, then parse.
        body = await request.body()
        counter = metrics.webhooks
        try:
            receipt = await payment_inbox.receive_webhook(
                body, request.headers.get(SIGNATURE_HEADER, "")
            )
        except InvalidSignatureError:
            counter.labels(provider="paystack", outcome="bad_signature").inc()
            raise
        counter.labels(provider="paystack", outcome=receipt.outcome.value).inc()
        if receipt.outcome is WebhookOutcome.ACCEPTED and receipt.key is not None:
            # Acknowledge at once (Paystack resends on anything slow); apply right after,
            # apart from this request. If applying fails, the event stays in the inbox
            # for the worker's retries.
            key, stored = receipt.key, receipt.stored
            after_response.submit(f"webhook {key}", lambda: payment_inbox.process(key, stored))
        return Response(WebhookAck(status=receipt.outcome.value))


@get("/payments/callback", operation_id="paymentCallback", include_in_schema=False)
async def payment_callback(
    payment_results: NamedDependency[PaymentResults],
    reference: FromQuery[str] = "",
) -> Response[str]:
    """Where the checkout sends the buyer back: verify, then say plainly how it went.

    A visit proves nothing by itself (Paystack's docs say so), which is why this page
    asks the provider before it says "paid".
    """
    try:
        applied = await payment_results.verify_payment(reference)
    except DomainError as error:
        return _page("We could not confirm this payment", error.detail, status_code=404)
    order = applied.order
    if order.status is OrderStatus.PAID:
        return _page(
            "Payment received",
            f"Order {order.order_number} is paid. Your tickets are on their way by email.",
        )
    return _page(
        "Payment not completed",
        f"Order {order.order_number} is {order.status.value}; no tickets were issued.",
    )


def _page(title: str, message: str, status_code: int = 200) -> Response[str]:
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body><main>"
        f"<h1>{html.escape(title)}</h1><p id='message'>{html.escape(message)}</p>"
        "</main></body></html>"
    )
    return Response(body, status_code=status_code, media_type="text/html")
