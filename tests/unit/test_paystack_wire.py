"""Paystack's transaction statuses, folded to the domain's (``adapters/paystack_wire.py``).

Webhook reading is proven on both gateways by ``tests/contract/test_payment_gateway_contract.py``.
"""

from __future__ import annotations

import pytest

from getiickets.adapters.paystack_wire import payment_status
from getiickets.domain.model.payments import PaymentStatus

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("raw", ["ongoing", "processing", "queued", "something-new"])
def test_provider_statuses_we_do_not_know_are_read_as_pending(raw: str) -> None:
    assert payment_status(raw) is PaymentStatus.PENDING


@pytest.mark.parametrize("status", PaymentStatus, ids=str)
def test_provider_statuses_we_know_are_read_as_themselves(status: PaymentStatus) -> None:
    assert payment_status(status.value) is status
