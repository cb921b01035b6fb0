"""The ticket confirmation email: an HTML part that renders in common mail clients,
and a plain-text part that says the same.

Mail clients (Outlook's Word engine, Gmail) drop ``<style>`` blocks, flexbox and
most of CSS, so the HTML is tables for layout with inline styles only, 600 pixels
wide at most and fluid below that; links are real ``<a>`` elements, and nothing
depends on images (many clients block them). Every value is escaped.
"""

from __future__ import annotations

from html import escape

from getiickets.adapters.rendering.money import money_text
from getiickets.domain.model.local_time import readable_time
from getiickets.ports.notifications import ComposedEmail, ConfirmedTicket, TicketConfirmation

_INK, _MUTED, _LINE, _PAPER, _BRAND = "#1f2933", "#52606d", "#e4e7eb", "#f5f7fa", "#0b6e4f"
_FONT = "font-family:Arial,Helvetica,sans-serif;"


def ticket_email(confirmation: TicketConfirmation) -> ComposedEmail:
    when = readable_time(confirmation.starts_at, confirmation.timezone)
    subject = f"Your tickets for {_one_line(confirmation.event_title)}, {when}"
    return ComposedEmail(
        subject=subject, html=_html(confirmation, when), text=_text(confirmation, when)
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _place(confirmation: TicketConfirmation) -> str:
    return ", ".join(part for part in (confirmation.venue, confirmation.city) if part.strip())


# ------------------------------------------------------------------ plain text


def _text(confirmation: TicketConfirmation, when: str) -> str:
    lines = [
        f"Hello {confirmation.buyer_name},",
        "",
        f"Your tickets for {confirmation.event_title} are ready.",
        "",
        f"When:  {when}",
        f"Where: {_place(confirmation) or 'see the event page'}",
        f"Order: {confirmation.order_number}",
        "",
        "Tickets (each PDF is attached to this email):",
    ]
    for ticket in confirmation.tickets:
        lines.append(f"- {ticket.ticket_type} ticket {ticket.ticket_number}, {ticket.holder_name}")
        if ticket.pdf_url:
            lines.append(f"  PDF: {ticket.pdf_url}")
    lines += ["", "Order summary:"]
    for line in confirmation.lines:
        lines.append(
            f"- {line.name} x {line.quantity} at {money_text(line.unit_price)}: "
            f"{money_text(line.subtotal)}"
        )
    lines += [
        f"Total: {money_text(confirmation.total)}",
        "",
        "Show the QR code on each ticket at the door; each ticket admits one person once.",
        "",
        "- getiickets",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ HTML


def _html(confirmation: TicketConfirmation, when: str) -> str:
    title = escape(confirmation.event_title)
    place = escape(_place(confirmation))
    preheader = escape(f"{confirmation.event_title}, {when}. Order {confirmation.order_number}.")
    tickets = "".join(_ticket_row(ticket) for ticket in confirmation.tickets)
    summary = "".join(
        _summary_row(
            f"{escape(line.name)} &times; {line.quantity}"
            f'<br><span style="color:{_MUTED};font-size:13px;">'
            f"{escape(money_text(line.unit_price))} each</span>",
            escape(money_text(line.subtotal)),
        )
        for line in confirmation.lines
    )
    total = escape(money_text(confirmation.total))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="x-apple-disable-message-reformatting">
<title>Your tickets for {title}</title>
</head>
<body style="margin:0;padding:0;background:{_PAPER};">
<div style="display:none;max-height:0;overflow:hidden;">{preheader}</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:{_PAPER};">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:600px;background:#ffffff;border:1px solid {_LINE};border-radius:8px;{_FONT}color:{_INK};">
<tr><td style="background:{_BRAND};color:#ffffff;padding:16px 24px;border-radius:8px 8px 0 0;font-size:18px;font-weight:bold;letter-spacing:1px;">getiickets</td></tr>
<tr><td style="padding:24px 24px 8px;font-size:16px;line-height:24px;">
<p style="margin:0 0 12px;">Hello {escape(confirmation.buyer_name)},</p>
<p style="margin:0;">Your tickets for <strong>{title}</strong> are ready.</p>
</td></tr>
<tr><td style="padding:8px 24px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:{_PAPER};border-radius:6px;font-size:15px;line-height:22px;">
<tr><td style="padding:12px 16px 4px;color:{_MUTED};font-size:12px;text-transform:uppercase;">When</td></tr>
<tr><td style="padding:0 16px 8px;font-weight:bold;">{escape(when)}</td></tr>
<tr><td style="padding:4px 16px;color:{_MUTED};font-size:12px;text-transform:uppercase;">Where</td></tr>
<tr><td style="padding:0 16px 8px;">{place or "See the event page"}</td></tr>
<tr><td style="padding:4px 16px;color:{_MUTED};font-size:12px;text-transform:uppercase;">Order</td></tr>
<tr><td style="padding:0 16px 12px;font-family:'Courier New',Courier,monospace;">{escape(confirmation.order_number)}</td></tr>
</table>
</td></tr>
<tr><td style="padding:16px 24px 4px;font-size:17px;font-weight:bold;">Your tickets</td></tr>
<tr><td style="padding:0 24px;font-size:13px;color:{_MUTED};">Each ticket's PDF is attached to this email, and linked below.</td></tr>
<tr><td style="padding:8px 24px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="font-size:15px;line-height:22px;">
{tickets}
</table>
</td></tr>
<tr><td style="padding:16px 24px 4px;font-size:17px;font-weight:bold;">Order summary</td></tr>
<tr><td style="padding:8px 24px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="font-size:15px;line-height:22px;">
{summary}
<tr><td style="padding:10px 0;font-weight:bold;">Total</td><td align="right" style="padding:10px 0;font-weight:bold;white-space:nowrap;">{total}</td></tr>
</table>
</td></tr>
<tr><td style="padding:16px 24px 24px;font-size:14px;line-height:21px;color:{_MUTED};">Show the QR code on each ticket at the door. Each ticket admits one person once.</td></tr>
</table>
<p style="{_FONT}font-size:12px;color:{_MUTED};margin:16px 0 0;">Sent by getiickets because you bought tickets.</p>
</td></tr>
</table>
</body>
</html>
"""


def _ticket_row(ticket: ConfirmedTicket) -> str:
    link = (
        f'<a href="{escape(ticket.pdf_url, quote=True)}" style="display:inline-block;'
        f"background:{_BRAND};color:#ffffff;text-decoration:none;padding:8px 14px;"
        f'border-radius:4px;font-size:14px;font-weight:bold;">Download PDF</a>'
        if ticket.pdf_url
        else ""
    )
    return (
        f'<tr><td style="padding:10px 0;border-top:1px solid {_LINE};">'
        f"<strong>{escape(ticket.holder_name)}</strong><br>"
        f'<span style="color:{_MUTED};">{escape(ticket.ticket_type)} ticket</span><br>'
        f"<span style=\"font-family:'Courier New',Courier,monospace;font-size:14px;\">"
        f"{escape(ticket.ticket_number)}</span></td>"
        f'<td align="right" valign="middle" style="padding:10px 0;border-top:1px solid {_LINE};">'
        f"{link}</td></tr>\n"
    )


def _summary_row(label: str, amount: str) -> str:
    return (
        f'<tr><td style="padding:8px 0;border-top:1px solid {_LINE};">{label}</td>'
        f'<td align="right" valign="top" style="padding:8px 0;border-top:1px solid {_LINE};'
        f'white-space:nowrap;">{amount}</td></tr>\n'
    )
