"""Event times as the people at the event read them.

Times are stored and exchanged in UTC; an event also names its IANA time zone, and
every text for people shows the time there: ``Thu 31 Dec 2026, 7:00 pm WAT``. The
words are spelled out here rather than by ``strftime`` so the process locale cannot
change them, and the zone data comes from the standard library's ``zoneinfo`` (the
system's tz database, or the ``tzdata`` package where the system has none).
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import datetime

DEFAULT_TIMEZONE = "Africa/Lagos"
MAX_TIMEZONE_LENGTH = 64
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Names that exist on some machines only (links to the host's own setting).
_HOST_ONLY = frozenset({"localtime", "posixrules"})
# Zones without a customary abbreviation are named by their offset in the tz
# database ("+04", "-0330"): spelled "UTC+4", "UTC-3:30" for people.
_NUMERIC_ABBREVIATION = re.compile(r"(?P<sign>[+-])(?P<hours>\d\d)(?P<minutes>\d\d)?")


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _HOST_ONLY


def is_time_zone(name: str) -> bool:
    """An IANA zone name such as ``Africa/Lagos`` (exact spelling: names are case-sensitive)."""
    return len(name) <= MAX_TIMEZONE_LENGTH and name in _zone_names()


def local_time(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(zoneinfo.ZoneInfo(zone))


def readable_time(moment: datetime, zone: str) -> str:
    """``Thu 31 Dec 2026, 7:00 pm WAT``: the day, the date, a 12-hour clock and the zone."""
    local = local_time(moment, zone)
    hour = local.hour % 12 or 12
    half = "am" if local.hour < 12 else "pm"  # noqa: PLR2004 - noon
    day, month = _DAYS[local.weekday()], _MONTHS[local.month - 1]
    return (
        f"{day} {local.day} {month} {local.year}, {hour}:{local.minute:02d} {half} "
        f"{zone_abbreviation(local)}"
    )


def zone_abbreviation(local: datetime) -> str:
    name = local.tzname() or "UTC"
    numeric = _NUMERIC_ABBREVIATION.fullmatch(name)
    if numeric is None:
        return name
    minutes = f":{numeric['minutes']}" if numeric["minutes"] not in (None, "00") else ""
    return f"UTC{numeric['sign']}{int(numeric['hours'])}{minutes}"
