"""``BabelMessageComposer``: the words of emails and SMS, for people.

Lives among the adapters, not in the use cases, because money is written with Babel
(CLDR data) and the domain may import nothing but the standard library and msgspec.
Pure functions of the confirmation: no I/O, so it runs on the event loop.

Babel is imported with the first message written, not with this module: every API
process builds the composer, only the worker writes messages (see the package).
"""

from __future__ import annotations

from getiickets.ports.notifications import ComposedEmail, ComposedSms, TicketConfirmation


class BabelMessageComposer:
    def ticket_email(self, confirmation: TicketConfirmation) -> ComposedEmail:
        from getiickets.adapters.rendering.email import ticket_email  # noqa: PLC0415 - on first use

        return ticket_email(confirmation)

    def ticket_sms(self, confirmation: TicketConfirmation) -> ComposedSms:
        from getiickets.adapters.rendering.sms import ticket_sms  # noqa: PLC0415 - on first use

        return ticket_sms(confirmation)
