"""Checking tickets in at the door: genuine, for this event, and only once."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from getiickets.domain.model.errors import InvalidTicketError, NotFoundError, WrongEventError
from getiickets.domain.model.tickets import CheckInOutcome, Ticket, parse_qr_payload
from getiickets.domain.usecases.retrying import retry_on_conflict

if TYPE_CHECKING:
    from getiickets.domain.model.accounts import Actor
    from getiickets.ports.clock import Clock
    from getiickets.ports.security import TicketSigner
    from getiickets.ports.unit_of_work import UnitOfWorkFactory


class CheckInResult(msgspec.Struct, frozen=True, kw_only=True):
    outcome: CheckInOutcome
    ticket: Ticket


class CheckIn:
    def __init__(self, *, uow: UnitOfWorkFactory, signer: TicketSigner, clock: Clock) -> None:
        self._uow = uow
        self._signer = signer
        self._clock = clock

    async def check_in(self, actor: Actor, event_id: str, payload: str) -> CheckInResult:
        # The signature is checked before anything is looked up: a forged code learns
        # nothing about which tickets exist.
        signed = parse_qr_payload(payload)
        if not self._signer.verify(signed.message, signed.signature):
            raise InvalidTicketError("the ticket code's signature is not ours")

        async def attempt() -> CheckInResult:
            async with self._uow() as uow:
                event = await uow.events.get(event_id)
                if event is None:
                    raise NotFoundError("event not found")
                event.check_owner(actor.user_id)
                if signed.claims.e != event_id:
                    raise WrongEventError("this ticket is for another event")
                ticket = await uow.tickets.get(signed.claims.t)
                if ticket is None or ticket.event_id != signed.claims.e:
                    raise InvalidTicketError("unknown ticket")
                outcome = ticket.check_in(event_id, self._clock.now())
                if outcome is CheckInOutcome.OK:
                    await uow.tickets.save(ticket)
                    await uow.commit()
                return CheckInResult(outcome=outcome, ticket=ticket)

        # Two doors scanning one ticket at once: one wins, the other re-reads and
        # answers already_checked_in.
        return await retry_on_conflict(attempt)
