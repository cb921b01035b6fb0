"""Paystack over HTTP (httpx): the production ``PaymentGateway``."""

from getiickets.adapters.paystack.gateway import (
    PaystackGateway,
    PaystackTransaction,
    RetryPolicy,
    TransactionPage,
    create_paystack_client,
)

__all__ = [
    "PaystackGateway",
    "PaystackTransaction",
    "RetryPolicy",
    "TransactionPage",
    "create_paystack_client",
]
