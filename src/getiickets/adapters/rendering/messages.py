"""``BabelMessageComposer``: the words of emails and SMS, for people.

Lives among the adapters, not in the use cases, because money is written with Babel
(CLDR data) and the domain may import nothing but the standard library and msgspec.
Pure functions of the confirmation: no I/O, so it runs on the event loop.
"""

from __future__ import annotations

from getiickets.adapters.rendering.email import ticket_email
from getiickets.adapters.rendering.sms import ticket_sms
from getiickets.ports.notifications import ComposedEmail, ComposedSms, TicketConfirmation


class BabelMessageComposer:
    def ticket_email(self, confirmation: TicketConfirmation) -> ComposedEmail:
        return ticket_email(confirmation)

    def ticket_sms(self, confirmation: TicketConfirmation) -> ComposedSms:
        return ticket_sms(confirmation)
