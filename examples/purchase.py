"""A purchase from start to finish, with getiickets embedded in another service.

Only ``getiickets.domain`` and the in-memory adapters are used: no web framework, no
database, no network. Swap the adapters for the real ones (SQLAlchemy, Redis,
Paystack) and the use cases stay exactly the same. Run it: ``python -m examples.purchase``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from getiickets.adapters.memory import (
    InMemoryCache,
    InMemoryClock,
    InMemoryDatabase,
    InMemoryFileStorage,
    InMemoryIdGenerator,
    InMemoryInventory,
    InMemoryPaymentGateway,
    InMemoryTicketSigner,
    InMemoryUnitOfWork,
)
from getiickets.domain.model.accounts import Actor, Role
from getiickets.domain.model.money import Money
from getiickets.domain.model.orders import Buyer
from getiickets.domain.usecases.access import OrderAccess
from getiickets.domain.usecases.catalog import Catalog, CreateEvent, NewTicketType
from getiickets.domain.usecases.checkin import CheckIn
from getiickets.domain.usecases.checkout import Checkout
from getiickets.domain.usecases.issuance import TicketIssuance
from getiickets.domain.usecases.ordering import Ordering, OrderItem, PlaceOrder
from getiickets.domain.usecases.payment_results import PaymentResults
from getiickets.domain.usecases.refunds import Refunds
from getiickets.domain.usecases.stock import StockLedger


async def purchase_story() -> dict[str, object]:
    # Wiring: what the app's composition root does, by hand.
    clock = InMemoryClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    ids = InMemoryIdGenerator(seed=1)
    database = InMemoryDatabase()

    def uow() -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(database)

    inventory = InMemoryInventory(StockLedger(uow), clock)
    signer = InMemoryTicketSigner(b"example-ticket-signing-key")
    issuance = TicketIssuance(signer=signer, ids=ids)
    gateway = InMemoryPaymentGateway("sk_test_example", clock, InMemoryIdGenerator(seed=2))
    files = InMemoryFileStorage(clock, b"example-files-key", "https://files.example")
    catalog = Catalog(
        uow=uow, inventory=inventory, files=files, cache=InMemoryCache(clock), clock=clock, ids=ids
    )
    ordering = Ordering(uow=uow, inventory=inventory, issuance=issuance, clock=clock, ids=ids)
    refunds = Refunds(uow=uow, gateway=gateway, inventory=inventory, clock=clock)
    payments = PaymentResults(
        uow=uow,
        gateway=gateway,
        inventory=inventory,
        issuance=issuance,
        refunds=refunds,
        clock=clock,
    )
    checkout = Checkout(
        uow=uow,
        gateway=gateway,
        results=payments,
        clock=clock,
        ids=ids,
        callback_url="https://shop.example/payments/callback",
    )
    checkin = CheckIn(uow=uow, signer=signer, clock=clock)

    # Your service authenticates its users; the domain only needs to know who acts.
    organizer = Actor(user_id="org-1", role=Role.ORGANIZER)
    draft = await catalog.create_event(
        organizer,
        CreateEvent(
            title="Lagos Jazz Night",
            starts_at=clock.now() + timedelta(days=30),
            ticket_types=(NewTicketType(name="Regular", price=Money.parse("5000"), capacity=100),),
        ),
    )
    event = (await catalog.publish_event(organizer, draft.event.id)).event
    regular = event.ticket_types[0]

    placed = await ordering.place_order(
        PlaceOrder(
            event_id=event.id,
            items=(OrderItem(ticket_type_id=regular.id, quantity=2),),
            buyer=Buyer(email="ada@example.com", name="Ada Obi"),
        )
    )
    guest = OrderAccess(access_token=placed.access_token)
    started = await checkout.initialize_payment(placed.order.id, guest)
    gateway.pay(started.reference)  # the buyer pays on Paystack's checkout page
    paid = await payments.verify_payment(started.reference)  # or the webhook does
    tickets = await ordering.tickets_of(placed.order.id, guest)
    at_the_door = await checkin.check_in(organizer, event.id, tickets[0].qr_payload)

    return {
        "order_status": paid.order.status.value,
        "total": f"{paid.order.total.major} {paid.order.total.currency}",
        "tickets": [ticket.ticket_number for ticket in tickets],
        "check_in": at_the_door.outcome.value,
        "stock": await inventory.level(regular.id),
    }


def main() -> None:
    print(asyncio.run(purchase_story()))  # noqa: T201 - a script shows its result


if __name__ == "__main__":
    main()
