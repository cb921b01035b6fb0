"""Stories at the door: a genuine ticket gets in once, anything else is turned away."""

from __future__ import annotations

from datetime import timedelta

import pytest

from getiickets.adapters.memory import InMemoryTicketSigner
from getiickets.domain.model.errors import (
    ForbiddenError,
    InvalidTicketError,
    NotFoundError,
    WrongEventError,
)
from getiickets.domain.model.tickets import (
    CheckInOutcome,
    QrClaims,
    Ticket,
    TicketStatus,
    qr_message,
    qr_payload,
)
from tests.unit.world import EventOnSale, World


async def a_ticket(world: World, show: EventOnSale) -> Ticket:
    placed = await world.place_order(show, community=1)
    [ticket] = placed.tickets
    return ticket


def signed_by(signer: InMemoryTicketSigner, claims: QrClaims) -> str:
    message = qr_message(claims)
    return qr_payload(message, signer.sign(message))


async def stored(world: World, ticket: Ticket) -> Ticket:
    async with world.uow() as uow:
        found = await uow.tickets.get(ticket.id)
    assert found is not None
    return found


async def test_given_a_valid_ticket_when_scanned_twice_then_ok_then_already_checked_in(
    world: World,
) -> None:
    show = await world.a_published_event()
    ticket = await a_ticket(world, show)
    doors_open = world.advance(timedelta(days=30).total_seconds())

    first = await world.checkin.check_in(show.organizer, show.event_id, ticket.qr_payload)
    world.advance(60)
    second = await world.checkin.check_in(show.organizer, show.event_id, ticket.qr_payload)

    assert first.outcome is CheckInOutcome.OK
    assert (first.ticket.id, first.ticket.status, first.ticket.checked_in_at) == (
        ticket.id,
        TicketStatus.CHECKED_IN,
        doors_open,
    )
    assert second.outcome is CheckInOutcome.ALREADY_CHECKED_IN
    assert second.ticket.checked_in_at == doors_open
    saved = await stored(world, ticket)
    assert (saved.status, saved.checked_in_at) == (TicketStatus.CHECKED_IN, doors_open)


async def test_given_a_payload_signed_with_another_key_then_it_is_an_invalid_ticket(
    world: World,
) -> None:
    show = await world.a_published_event()
    ticket = await a_ticket(world, show)
    forged = signed_by(
        InMemoryTicketSigner(b"a-forgers-key"), QrClaims(t=ticket.id, e=show.event_id)
    )

    with pytest.raises(InvalidTicketError):
        await world.checkin.check_in(show.organizer, show.event_id, forged)

    assert (await stored(world, ticket)).status is TicketStatus.VALID


@pytest.mark.parametrize("payload", ["", "hello", "GT1.x.y"])
async def test_given_something_that_is_no_ticket_code_then_it_is_an_invalid_ticket(
    world: World, payload: str
) -> None:
    show = await world.a_published_event()

    with pytest.raises(InvalidTicketError):
        await world.checkin.check_in(show.organizer, show.event_id, payload)


async def test_given_a_genuine_code_for_a_ticket_that_does_not_exist_then_it_is_invalid(
    world: World,
) -> None:
    show = await world.a_published_event()
    made_up = signed_by(world.signer, QrClaims(t="no-such-ticket", e=show.event_id))

    with pytest.raises(InvalidTicketError):
        await world.checkin.check_in(show.organizer, show.event_id, made_up)


async def test_given_a_ticket_for_another_event_then_it_is_the_wrong_event(world: World) -> None:
    organizer = await world.an_organizer()
    tonight = await world.a_published_event(organizer, title="Tonight")
    next_week = await world.a_published_event(organizer, title="Next week")
    ticket = await a_ticket(world, next_week)

    with pytest.raises(WrongEventError):
        await world.checkin.check_in(organizer.actor, tonight.event_id, ticket.qr_payload)

    assert (await stored(world, ticket)).status is TicketStatus.VALID


async def test_given_an_organizer_who_does_not_own_the_event_then_it_is_forbidden(
    world: World,
) -> None:
    show = await world.a_published_event()
    ticket = await a_ticket(world, show)
    rival = await world.an_organizer()

    with pytest.raises(ForbiddenError):
        await world.checkin.check_in(rival.actor, show.event_id, ticket.qr_payload)

    assert (await stored(world, ticket)).status is TicketStatus.VALID


async def test_a_buyer_cannot_check_tickets_in_either(world: World) -> None:
    show = await world.a_published_event()
    buyer = await world.a_buyer()
    placed = await world.place_order(show, community=1, buyer=buyer)

    with pytest.raises(ForbiddenError):
        await world.checkin.check_in(buyer.actor, show.event_id, placed.tickets[0].qr_payload)


async def test_given_a_void_ticket_then_it_is_an_invalid_ticket(world: World) -> None:
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=1)
    applied = await world.pay(placed)
    assert applied.order.payment_reference is not None
    await world.gateway.refund(applied.order.payment_reference)
    receipt = await world.deliver_webhook("refund.processed", applied.order.payment_reference)
    assert receipt.key is not None
    await world.payment_inbox.process(receipt.key)
    [ticket] = await world.stored_tickets(placed.order.id)
    assert ticket.status is TicketStatus.VOID

    with pytest.raises(InvalidTicketError):
        await world.checkin.check_in(show.organizer, show.event_id, ticket.qr_payload)

    assert (await stored(world, ticket)).checked_in_at is None


async def test_given_an_unknown_event_then_it_is_not_found(world: World) -> None:
    show = await world.a_published_event()
    ticket = await a_ticket(world, show)

    with pytest.raises(NotFoundError):
        await world.checkin.check_in(show.organizer, "no-such-event", ticket.qr_payload)
