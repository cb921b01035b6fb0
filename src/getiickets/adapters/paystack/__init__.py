"""Paystack over HTTP (httpx): the production ``PaymentGateway``."""

from getiickets.adapters.paystack.gateway import (
    PaystackGateway,
    RetryPolicy,
    create_paystack_client,
)

__all__ = [
    "PaystackGateway",
    "RetryPolicy",
    "create_paystack_client",
]
