"""Stories of the outbox worker: tickets rendered, mail and SMS sent, failures retried."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from getiickets.domain.model.local_time import readable_time
from getiickets.domain.model.notifications import (
    MAX_ATTEMPTS,
    Channel,
    MessageStatus,
    OutboxMessage,
)
from getiickets.domain.model.orders import Buyer, Order, OrderStatus
from getiickets.domain.usecases.notifications import DELIVERY_LEASE
from getiickets.domain.usecases.ordering import PlacedOrder
from getiickets.ports.notifications import DeliveryError, DeliveryReceipt, EmailMessage
from tests.unit.world import FILES_BASE_URL, World

ADA = Buyer(email="ada@example.com", name="Ada", phone="+2348012345678")


async def a_paid_order(world: World, *, buyer: Buyer = ADA, tickets: int = 2) -> PlacedOrder:
    show = await world.a_published_event(title="Lagos Jazz Night")
    placed = await world.place_order(show, regular=tickets, buyer=buyer)
    await world.pay(placed)
    return placed


async def message_on(world: World, order_id: str, channel: Channel) -> OutboxMessage:
    [message] = [m for m in await world.outbox(order_id) if m.channel is channel]
    return message


async def order_event_starts(world: World, order: Order) -> datetime:
    async with world.uow() as uow:
        event = await uow.events.get(order.event_id)
    assert event is not None
    return event.starts_at


def link_is_genuine(world: World, url: str) -> bool:
    parts = urlsplit(url)
    key = parts.path.removeprefix("/")
    query = parse_qs(parts.query)
    return world.files.check_signature(key, int(query["expires"][0]), query["signature"][0])


async def test_given_a_paid_order_when_the_worker_runs_then_the_email_carries_every_ticket(
    world: World,
) -> None:
    placed = await a_paid_order(world)
    order = await world.stored_order(placed.order.id)
    tickets = await world.stored_tickets(order.id)

    assert await world.notifications.deliver_due() == 2

    [email] = world.mailer.sent
    assert (email.to_email, email.to_name) == ("ada@example.com", "Ada")
    when = readable_time(await order_event_starts(world, order), "Africa/Lagos")
    assert email.subject == f"Your tickets for Lagos Jazz Night, {when}"
    assert sorted(a.name for a in email.attachments) == sorted(
        f"ticket-{t.ticket_number}.pdf" for t in tickets
    )
    for ticket in tickets:
        [attachment] = [a for a in email.attachments if ticket.ticket_number in a.name]
        assert attachment.url is not None
        assert attachment.url.startswith(
            f"{FILES_BASE_URL}/tickets/{order.id}/{ticket.ticket_number}.pdf?"
        )
        assert link_is_genuine(world, attachment.url)
        assert attachment.url in email.text
        assert ticket.ticket_number in email.html
    assert order.order_number in email.text
    # Money and time as people read them, in both parts: the naira sign, grouped
    # thousands, and the event's local time (no more "10000.00 NGN" or ISO times).
    for part in (email.text, email.html):
        assert "₦10,000.00" in part
        assert when in part
        assert "10000.00 NGN" not in part
    assert email.html.lstrip().lower().startswith("<!doctype html")
    assert "<table" in email.html
    sent = await message_on(world, order.id, Channel.EMAIL)
    assert (sent.status, sent.attempts, sent.sent_at) == (MessageStatus.SENT, 1, world.clock.now())
    assert sent.provider_message_id is not None


async def test_given_a_buyer_with_a_phone_then_the_sms_says_exactly_where_the_tickets_are(
    world: World,
) -> None:
    placed = await a_paid_order(world)

    await world.notifications.deliver_due()

    [sms] = world.sms.sent
    assert sms.to == "+2348012345678"
    assert placed.order.order_number in sms.body
    assert "NGN 10,000.00" in sms.body  # GSM-7 has no naira sign
    order = await world.stored_order(placed.order.id)
    assert readable_time(await order_event_starts(world, order), "Africa/Lagos") in sms.body
    assert "email" in sms.body
    assert len(sms.body) <= 160
    assert all(char.isascii() for char in sms.body)
    assert (await message_on(world, placed.order.id, Channel.SMS)).status is MessageStatus.SENT


async def test_sending_the_email_renders_and_stores_each_tickets_qr_image_and_pdf(
    world: World,
) -> None:
    placed = await a_paid_order(world)

    await world.notifications.deliver_due()

    for ticket in await world.stored_tickets(placed.order.id):
        qr = f"tickets/{placed.order.id}/{ticket.ticket_number}-qr.png"
        pdf = f"tickets/{placed.order.id}/{ticket.ticket_number}.pdf"
        assert (ticket.qr_key, ticket.pdf_key) == (qr, pdf)
        assert (await world.files.get(qr)).startswith(b"\x89PNG")
        assert world.files.content_type(qr) == "image/png"
        assert (await world.files.get(pdf)).startswith(b"%PDF-")
        assert world.files.content_type(pdf) == "application/pdf"
        assert ticket.ticket_number.encode() in await world.files.get(pdf)


async def test_the_worker_renders_files_for_tickets_that_have_none_once(world: World) -> None:
    placed = await a_paid_order(world, tickets=3)

    assert await world.ticket_files.render_missing() == 3
    assert await world.ticket_files.render_missing() == 0

    for ticket in await world.stored_tickets(placed.order.id):
        assert ticket.qr_key is not None
        assert await world.files.exists(ticket.qr_key)


async def test_given_no_mail_provider_then_the_email_is_skipped_and_never_retried(
    world: World,
) -> None:
    placed = await a_paid_order(world, buyer=Buyer(email="ada@example.com", name="Ada"))
    world.mailer.configured = False

    assert await world.notifications.deliver_due() == 1

    skipped = await message_on(world, placed.order.id, Channel.EMAIL)
    assert skipped.status is MessageStatus.SKIPPED
    assert skipped.last_error == "no email provider is configured"
    assert world.mailer.sent == []
    world.advance(timedelta(days=1).total_seconds())
    assert await world.notifications.deliver_due() == 0


async def test_given_a_transient_failure_then_the_message_is_retried_after_a_backoff(
    world: World,
) -> None:
    placed = await a_paid_order(world, buyer=Buyer(email="ada@example.com", name="Ada"))
    world.mailer.fail_next(1, DeliveryError("503 service unavailable", permanent=False))

    assert await world.notifications.deliver_due() == 1

    failed = await message_on(world, placed.order.id, Channel.EMAIL)
    assert failed.status is MessageStatus.FAILED
    assert (failed.attempts, failed.last_error) == (1, "503 service unavailable")
    assert failed.next_attempt_at > world.clock.now()
    assert world.mailer.sent == []

    assert await world.notifications.deliver_due() == 0  # not due yet
    world.clock.set(failed.next_attempt_at)
    assert await world.notifications.deliver_due() == 1

    sent = await message_on(world, placed.order.id, Channel.EMAIL)
    assert (sent.status, sent.attempts, sent.last_error) == (MessageStatus.SENT, 2, None)
    assert len(world.mailer.sent) == 1


async def test_an_unexpected_error_from_a_provider_is_treated_as_transient(world: World) -> None:
    placed = await a_paid_order(world, buyer=Buyer(email="ada@example.com", name="Ada"))
    world.mailer.fail_next(1, ConnectionResetError("peer went away"))

    await world.notifications.deliver_due()

    failed = await message_on(world, placed.order.id, Channel.EMAIL)
    assert failed.status is MessageStatus.FAILED
    assert failed.last_error == "ConnectionResetError: peer went away"


async def test_given_a_permanent_failure_then_the_message_is_dead_at_once(world: World) -> None:
    placed = await a_paid_order(world, buyer=Buyer(email="ada@example.com", name="Ada"))
    world.mailer.fail_next(1, DeliveryError("mailbox does not exist", permanent=True))

    await world.notifications.deliver_due()

    dead = await message_on(world, placed.order.id, Channel.EMAIL)
    assert (dead.status, dead.attempts) == (MessageStatus.DEAD, 1)
    world.advance(timedelta(days=1).total_seconds())
    assert await world.notifications.deliver_due() == 0


async def test_given_a_provider_that_keeps_failing_then_the_message_dies_after_max_attempts(
    world: World,
) -> None:
    placed = await a_paid_order(world, buyer=Buyer(email="ada@example.com", name="Ada"))
    world.mailer.fail_next(MAX_ATTEMPTS, DeliveryError("timeout", permanent=False))

    for _ in range(MAX_ATTEMPTS):
        assert await world.notifications.deliver_due() == 1
        world.clock.set((await message_on(world, placed.order.id, Channel.EMAIL)).next_attempt_at)

    dead = await message_on(world, placed.order.id, Channel.EMAIL)
    assert (dead.status, dead.attempts) == (MessageStatus.DEAD, MAX_ATTEMPTS)
    assert await world.notifications.deliver_due() == 0
    assert world.mailer.sent == []


async def test_a_message_being_delivered_is_not_claimed_again_by_another_worker(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await a_paid_order(world, buyer=Buyer(email="ada@example.com", name="Ada"))
    sending, let_go = asyncio.Event(), asyncio.Event()
    send = world.mailer.send

    async def slow_send(message: EmailMessage) -> DeliveryReceipt:
        sending.set()
        await let_go.wait()
        return await send(message)

    monkeypatch.setattr(world.mailer, "send", slow_send)
    first_worker = asyncio.create_task(world.notifications.deliver_due())
    await sending.wait()

    assert await world.notifications.deliver_due() == 0

    let_go.set()
    assert await first_worker == 1
    assert len(world.mailer.sent) == 1


async def test_a_message_claimed_by_a_worker_that_died_is_taken_again_after_the_lease(
    world: World,
) -> None:
    placed = await a_paid_order(world, buyer=Buyer(email="ada@example.com", name="Ada"))
    async with world.uow() as uow:  # a worker claims the message, then crashes
        assert len(await uow.outbox.claim_due(world.clock.now(), 10, DELIVERY_LEASE)) == 1

    world.advance(DELIVERY_LEASE.total_seconds() - 1)
    assert await world.notifications.deliver_due() == 0
    world.advance(1)
    assert await world.notifications.deliver_due() == 1

    assert (await message_on(world, placed.order.id, Channel.EMAIL)).status is MessageStatus.SENT


async def test_a_providers_later_report_is_recorded_on_the_message(world: World) -> None:
    placed = await a_paid_order(world)
    await world.notifications.deliver_due()
    sms = await message_on(world, placed.order.id, Channel.SMS)
    assert sms.provider_message_id is not None

    assert await world.notifications.record_delivery_status(sms.provider_message_id, "delivered")
    assert not await world.notifications.record_delivery_status("unknown-id", "delivered")

    assert (await message_on(world, placed.order.id, Channel.SMS)).delivery_status == "delivered"
    assert (await message_on(world, placed.order.id, Channel.EMAIL)).delivery_status is None


async def test_a_failing_mailer_never_touches_the_order(world: World) -> None:
    placed = await a_paid_order(world)
    world.mailer.fail_next(1, DeliveryError("down", permanent=True))
    world.sms.fail_next(1, DeliveryError("down", permanent=True))

    await world.notifications.deliver_due()

    order = await world.stored_order(placed.order.id)
    assert order.status is OrderStatus.PAID
    assert len(await world.stored_tickets(order.id)) == 2


async def test_given_an_order_refunded_before_the_worker_ran_then_no_ticket_message_goes_out(
    world: World,
) -> None:
    placed = await a_paid_order(world)
    order = await world.stored_order(placed.order.id)
    assert order.payment_reference is not None
    receipt = await world.deliver_webhook("refund.processed", order.payment_reference)
    assert receipt.key is not None
    await world.payment_inbox.process(receipt.key)
    assert (await world.stored_order(order.id)).status is OrderStatus.REFUNDED

    assert await world.notifications.deliver_due() == 2

    assert world.mailer.sent == []
    assert world.sms.sent == []
    for channel in (Channel.EMAIL, Channel.SMS):
        message = await message_on(world, order.id, channel)
        assert message.status is MessageStatus.SKIPPED
        assert message.last_error == "the order is no longer paid"
