"""SMS wording that fits one segment when it can, and says so when it cannot.

A single SMS holds 160 GSM-7 characters (the GSM 03.38 alphabet: no ₦, no Yoruba or
Igbo dotted letters), or 70 UCS-2 ones as soon as one character is outside it. The
builder tries wordings from the fullest to the leanest and keeps the first that fits
one segment in its own encoding. Typographic punctuation (curly quotes, dashes) is
transliterated to ASCII so it never forces UCS-2, but letters never are: a name with
ọ keeps its ọ, and the message is sent in UCS-2. When no wording fits, the leanest is sent and the segment
count is reported (``ComposedSms.segments``).
"""

from __future__ import annotations

import math
from typing import Literal

from getiickets.adapters.rendering.money import money_code_text
from getiickets.domain.model.local_time import readable_time
from getiickets.ports.notifications import ComposedSms, TicketConfirmation

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
# GSM 03.38 basic character set, and the extension table (each costs two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
_TYPOGRAPHY = str.maketrans(
    {
        "\N{LEFT SINGLE QUOTATION MARK}": "'",
        "\N{RIGHT SINGLE QUOTATION MARK}": "'",
        "\N{LEFT DOUBLE QUOTATION MARK}": '"',
        "\N{RIGHT DOUBLE QUOTATION MARK}": '"',
        "\N{EN DASH}": "-",
        "\N{EM DASH}": "-",
        "\N{HORIZONTAL ELLIPSIS}": "...",
        "\N{NO-BREAK SPACE}": " ",
        "\N{NARROW NO-BREAK SPACE}": " ",
    }
)


def encoding_of(body: str) -> Literal["GSM-7", "UCS-2"]:
    return "GSM-7" if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in body) else "UCS-2"


def segments(body: str) -> int:
    if encoding_of(body) == "GSM-7":
        units = len(body) + sum(char in GSM7_EXTENDED for char in body)
        single, part = GSM7_SINGLE, GSM7_PART
    else:
        units = len(body.encode("utf-16-le")) // 2  # astral characters take two units
        single, part = UCS2_SINGLE, UCS2_PART
    return 1 if units <= single else math.ceil(units / part)


def composed(body: str) -> ComposedSms:
    return ComposedSms(body=body, encoding=encoding_of(body), segments=segments(body))


def ticket_sms(confirmation: TicketConfirmation) -> ComposedSms:
    name = " ".join(confirmation.buyer_name.split())
    title = " ".join(confirmation.event_title.translate(_TYPOGRAPHY).split())
    when = readable_time(confirmation.starts_at, confirmation.timezone)
    count = len(confirmation.tickets) or sum(line.quantity for line in confirmation.lines)
    tickets = f"{count} ticket" if count == 1 else f"{count} tickets"
    paid = "free" if confirmation.total.is_zero else f"paid {money_code_text(confirmation.total)}"
    order = confirmation.order_number
    wordings = [
        f"{name}, your {tickets} for {title} on {when} are confirmed ({paid}). "
        f"Order {order}. Your PDF tickets are in your email. - getiickets",
        f"{name}: {tickets} for {title}, {when}, {paid}. Order {order}. See your email.",
        f"{name}: {tickets}, {when}, {paid}. Order {order}. See email.",
    ]
    candidates = [composed(body) for body in wordings]
    for candidate in candidates:
        if candidate.segments == 1:
            return candidate
    return candidates[-1]
