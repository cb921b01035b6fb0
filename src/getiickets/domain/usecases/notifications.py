"""Delivering the outbox (email, SMS): the tickets reach their buyer.

Delivery never blocks or fails an order: each message is retried with backoff and
ends ``sent``, ``skipped`` (provider not configured: logged) or ``dead``.
Emails link each ticket's PDF (``ticket_files`` renders any still missing).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from getiickets.domain.model.errors import ConflictError
from getiickets.domain.model.local_time import DEFAULT_TIMEZONE
from getiickets.domain.model.money import Money
from getiickets.domain.model.notifications import Channel, OutboxMessage
from getiickets.domain.model.orders import OrderStatus
from getiickets.domain.usecases.ticket_files import pdf_key
from getiickets.ports.notifications import (
    Attachment,
    ConfirmedLine,
    ConfirmedTicket,
    DeliveryError,
    EmailMessage,
    ProviderNotConfiguredError,
    SmsMessage,
    TicketConfirmation,
)

if TYPE_CHECKING:
    from getiickets.domain.usecases.ticket_files import TicketFiles
    from getiickets.ports.clock import Clock, IdGenerator
    from getiickets.ports.files import FileStorage
    from getiickets.ports.notifications import Mailer, MessageComposer, SmsSender
    from getiickets.ports.unit_of_work import UnitOfWorkFactory

logger = logging.getLogger(__name__)

DELIVERY_LEASE = timedelta(minutes=5)
LINK_LIFETIME = timedelta(days=7)
"""Long enough to open the email days later; the app can always sign a new link."""


class Notifications:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        mailer: Mailer,
        sms: SmsSender,
        composer: MessageComposer,
        ticket_files: TicketFiles,
        files: FileStorage,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._mailer = mailer
        self._sms = sms
        self._composer = composer
        self._ticket_files = ticket_files
        self._files = files
        self._clock = clock
        self._ids = ids

    async def deliver_due(self, limit: int = 50) -> int:
        """Worker: claim due messages and try each once; returns how many were claimed."""
        async with self._uow() as uow:
            claimed = await uow.outbox.claim_due(self._clock.now(), limit, DELIVERY_LEASE)
            await uow.commit()
        for message in claimed:
            await self._deliver(message)
        return len(claimed)

    async def record_delivery_status(self, provider_message_id: str, status: str) -> bool:
        """A provider's later report (delivered, bounced...); False if the id is unknown."""
        async with self._uow() as uow:
            message = await uow.outbox.get_by_provider_message_id(provider_message_id)
            if message is None:
                return False
            message.record_delivery_status(status)
            await uow.outbox.save(message)
            await uow.commit()
            return True

    async def _deliver(self, message: OutboxMessage) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            order = await uow.orders.get(message.order_id)
        if order is None or order.status is not OrderStatus.PAID:
            # Refunded (or gone) before we got to it: "here are your tickets" would lie.
            message.record_skipped("the order is no longer paid")
            await self._record(message)
            return
        try:
            receipt = await (
                self._mailer.send(await self._email(message))
                if message.channel is Channel.EMAIL
                else self._sms.send(self._sms_message(message))
            )
        except ProviderNotConfiguredError as error:
            logger.warning("%s not configured: message %s skipped", message.channel, message.id)
            message.record_skipped(str(error) or "provider not configured")
        except DeliveryError as error:
            message.record_failure(
                str(error), now, permanent=error.permanent, jitter=self._ids.fraction()
            )
        except Exception as error:
            logger.warning("message %s failed", message.id, exc_info=True)
            message.record_failure(
                f"{type(error).__name__}: {error}",
                now,
                permanent=False,
                jitter=self._ids.fraction(),
            )
        else:
            message.record_sent(receipt.provider_message_id, now)
        await self._record(message)

    async def _record(self, message: OutboxMessage) -> None:
        try:
            async with self._uow() as uow:
                await uow.outbox.save(message)
                await uow.commit()
        except ConflictError:
            # Our lease ran out and another worker took the message: its result stands.
            logger.warning("message %s was re-claimed before we recorded it", message.id)

    async def _email(self, message: OutboxMessage) -> EmailMessage:
        tickets = await self._ticket_files.for_order(message.order_id)
        links = {
            ticket.ticket_number: await self._files.signed_url(pdf_key(ticket), LINK_LIFETIME)
            for ticket in tickets
        }
        email = self._composer.ticket_email(confirmation_of(message.data, links))
        return EmailMessage(
            to_email=message.recipient,
            to_name=message.recipient_name,
            subject=email.subject,
            html=email.html,
            text=email.text,
            idempotency_key=message.idempotency_key,
            attachments=tuple(
                Attachment(name=f"ticket-{number}.pdf", url=url) for number, url in links.items()
            ),
        )

    def _sms_message(self, message: OutboxMessage) -> SmsMessage:
        sms = self._composer.ticket_sms(confirmation_of(message.data, {}))
        if sms.segments > 1:
            # Said, not hidden: the buyer gets it in parts and the sender pays per part.
            logger.info(
                "SMS %s takes %d %s segments (%d characters)",
                message.id,
                sms.segments,
                sms.encoding,
                len(sms.body),
            )
        return SmsMessage(
            to=message.recipient, body=sms.body, idempotency_key=message.idempotency_key
        )


def confirmation_of(data: dict[str, Any], links: dict[str, str]) -> TicketConfirmation:
    """The outbox row's snapshot as typed facts. Rows written before time zones and
    order lines were recorded read as Lagos events with no line summary."""
    currency = data["currency"]
    return TicketConfirmation(
        buyer_name=data["buyer_name"],
        event_title=data["event_title"],
        starts_at=datetime.fromisoformat(data["starts_at"]),
        timezone=data.get("timezone") or DEFAULT_TIMEZONE,
        venue=data.get("venue") or "",
        city=data.get("city") or "",
        order_number=data["order_number"],
        total=Money.parse(data["total"], currency),
        lines=tuple(
            ConfirmedLine(
                name=line["name"],
                quantity=line["quantity"],
                unit_price=Money.parse(line["unit_price"], currency),
                subtotal=Money.parse(line["subtotal"], currency),
            )
            for line in data.get("lines", ())
        ),
        tickets=tuple(
            ConfirmedTicket(
                ticket_number=ticket["ticket_number"],
                ticket_type=ticket.get("ticket_type", ""),
                holder_name=ticket.get("holder_name") or data["buyer_name"],
                pdf_url=links.get(ticket["ticket_number"]),
            )
            for ticket in data["tickets"]
        ),
    )
