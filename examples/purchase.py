"""A purchase from start to finish, with getiickets embedded in another service.

Only ``getiickets.domain`` and the in-memory wiring (``getiickets.bootstrap``) are used:
no web framework, no database, no network. The use cases come from the same factory
the app's server calls; give ``bootstrap`` the real adapters (SQLAlchemy, Redis,
Paystack) and the use cases stay exactly the same. Run it: ``python -m examples.purchase``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from getiickets.bootstrap import InMemoryGetiickets
from getiickets.domain.model.accounts import Actor, Role
from getiickets.domain.model.money import Money
from getiickets.domain.model.orders import Buyer
from getiickets.domain.usecases.access import OrderAccess
from getiickets.domain.usecases.catalog import CreateEvent, NewTicketType
from getiickets.domain.usecases.ordering import OrderItem, PlaceOrder


async def purchase_story() -> dict[str, object]:
    # Every use case, on in-memory adapters, wired as the app's composition root wires them.
    app = InMemoryGetiickets(start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), seed=1)

    # Your service authenticates its users; the domain only needs to know who acts.
    organizer = Actor(user_id="org-1", role=Role.ORGANIZER)
    draft = await app.catalog.create_event(
        organizer,
        CreateEvent(
            title="Lagos Jazz Night",
            starts_at=app.clock.now() + timedelta(days=30),
            ticket_types=(NewTicketType(name="Regular", price=Money.parse("5000"), capacity=100),),
        ),
    )
    event = (await app.catalog.publish_event(organizer, draft.event.id)).event
    regular = event.ticket_types[0]

    placed = await app.ordering.place_order(
        PlaceOrder(
            event_id=event.id,
            items=(OrderItem(ticket_type_id=regular.id, quantity=2),),
            buyer=Buyer(email="ada@example.com", name="Ada Obi"),
        )
    )
    guest = OrderAccess(access_token=placed.access_token)
    started = await app.checkout.initialize_payment(placed.order.id, guest)
    app.gateway.pay(started.reference)  # the buyer pays on Paystack's checkout page
    paid = await app.payment_results.verify_payment(started.reference)  # or the webhook does
    tickets = await app.ordering.tickets_of(placed.order.id, guest)
    at_the_door = await app.checkin.check_in(organizer, event.id, tickets[0].qr_payload)

    return {
        "order_status": paid.order.status.value,
        "total": f"{paid.order.total.major} {paid.order.total.currency}",
        "tickets": [ticket.ticket_number for ticket in tickets],
        "check_in": at_the_door.outcome.value,
        "stock": await app.inventory.level(regular.id),
    }


def main() -> None:
    print(asyncio.run(purchase_story()))  # noqa: T201 - a script shows its result


if __name__ == "__main__":
    main()
