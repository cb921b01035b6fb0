"""The sales read model's contract: the same report from the fake and from SQLAlchemy.

Orders are stored through the repositories; the report is read through ``uow.sales``.
"""

from __future__ import annotations

from datetime import timedelta

from getiickets.domain.model.orders import OrderStatus
from getiickets.ports.unit_of_work import UnitOfWorkFactory
from getiickets.ports.views import TicketTypeSales
from tests.contract import aggregates as make
from tests.contract.aggregates import T0
from tests.contract.test_repositories_contract import paid, store


async def test_orders_per_status_and_sales_per_ticket_type(uow_factory: UnitOfWorkFactory) -> None:
    show = make.event(ticket_types=3)
    regular, vip, unsold = show.ticket_types
    other_show = make.event()
    sold_a = paid(make.order(show, quantities=(2, 1)))
    sold_b = paid(make.order(show, quantities=(3,)))
    pending = make.order(show, quantities=(5, 5))
    refunded = paid(make.order(show, quantities=(4,)))
    refunded.mark_refunded(T0)
    expired = make.order(show)
    expired.expire(T0 + timedelta(hours=1))
    elsewhere = paid(make.order(other_show))
    await store(
        uow_factory, show, other_show, sold_a, sold_b, pending, refunded, expired, elsewhere
    )
    # The organizer removes VIP after selling one: its sale still counts, listed last.
    show.ticket_types.remove(vip)
    async with uow_factory() as uow:
        await uow.events.save(show)
        await uow.commit()

    async with uow_factory() as uow:
        report = await uow.sales.event_sales(show.id)
        no_report = await uow.sales.event_sales("no-such-event")
    counts, sales = report.orders, report.ticket_types
    nothing, no_sales = no_report.orders, no_report.ticket_types

    assert counts == {
        OrderStatus.PENDING: 1,
        OrderStatus.PAID: 2,
        OrderStatus.FAILED: 0,
        OrderStatus.EXPIRED: 1,
        OrderStatus.CANCELLED: 0,
        OrderStatus.REFUNDED: 1,
    }
    assert nothing == dict.fromkeys(OrderStatus, 0)
    price = regular.price.amount
    assert sales == [
        TicketTypeSales(ticket_type_id=regular.id, sold=5, revenue=5 * price),
        TicketTypeSales(ticket_type_id=unsold.id, sold=0, revenue=0),
        TicketTypeSales(ticket_type_id=vip.id, sold=1, revenue=vip.price.amount),
    ]
    assert no_sales == []
