"""``getiickets demo``: a published sample event, and how to buy a ticket for it."""

from __future__ import annotations

from datetime import timedelta

from getiickets.domain.model.accounts import Actor, Role
from getiickets.domain.model.errors import EmailTakenError
from getiickets.domain.model.money import Money
from getiickets.domain.usecases.accounts import LogIn, Register
from getiickets.domain.usecases.catalog import CreateEvent, NewTicketType
from getiickets.entrypoints.container import running_services
from getiickets.entrypoints.settings import Settings

DEMO_EMAIL = "demo-organizer@getiickets.local"
DEMO_PASSWORD = "demo-organizer-password"  # noqa: S105 - a local demo account, printed below


async def create_demo(settings: Settings) -> str:
    async with running_services(settings) as services:
        try:
            signed = await services.accounts.register(
                Register(
                    email=DEMO_EMAIL,
                    password=DEMO_PASSWORD,
                    name="Demo Organizer",
                    role=Role.ORGANIZER,
                )
            )
        except EmailTakenError:
            signed = await services.accounts.log_in(LogIn(email=DEMO_EMAIL, password=DEMO_PASSWORD))
        organizer = Actor(user_id=signed.user.id, role=signed.user.role)
        starts_at = (services.clock.now() + timedelta(days=30)).replace(
            hour=19, minute=0, second=0, microsecond=0
        )
        created = await services.catalog.create_event(
            organizer,
            CreateEvent(
                title="Lagos Afrobeats Night",
                description="A sample event made by `getiickets demo`.",
                category="music",
                city="Lagos",
                venue="Eko Convention Centre",
                starts_at=starts_at,
                ticket_types=(
                    NewTicketType(name="Regular", price=Money.parse("5000.00"), capacity=200),
                    NewTicketType(name="Community (free)", price=Money.zero(), capacity=50),
                ),
            ),
        )
        view = await services.catalog.publish_event(organizer, created.event.id)
    event = view.event
    paid, free = event.ticket_types
    api = f"{settings.public_base_url}/api/v1"
    return f"""\
Published "{event.title}" (id {event.id}, slug {event.slug}).
Organizer: {DEMO_EMAIL} / {DEMO_PASSWORD}

Buy a paid ticket (with the API running: make run):

  curl -s -X POST {api}/orders -H 'content-type: application/json' -d '{{
    "event_id": "{event.id}",
    "items": [{{"ticket_type_id": "{paid.id}", "quantity": 2}}],
    "buyer": {{"email": "ada@example.com", "name": "Ada Obi", "phone": "+2348012345678"}}}}'

  # then, with the order's id and access_token from that answer:
  curl -s -X POST {api}/payments/initialize -H 'content-type: application/json' \\
    -H 'X-Order-Token: <access_token>' -d '{{"order_id": "<order id>"}}'

  # open the authorization_url in a browser and press Pay; then:
  curl -s {api}/orders/<order id>/tickets -H 'X-Order-Token: <access_token>'

A free ticket is issued at once: order ticket type {free.id} instead.
Sent email and SMS: {settings.public_base_url}/sandbox/outbox
API docs: {settings.public_base_url}/schema
"""
