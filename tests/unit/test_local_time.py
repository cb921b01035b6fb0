"""Event times as people read them: the event's own zone, words no locale can change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from getiickets.domain.model.local_time import readable_time


@pytest.mark.parametrize(
    ("moment", "zone", "printed"),
    [
        (datetime(2026, 12, 31, 18, 0, tzinfo=UTC), "Africa/Lagos", "Thu 31 Dec 2026, 7:00 pm WAT"),
        (
            datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
            "Africa/Lagos",
            "Fri 1 Jan 2027, 12:30 am WAT",
        ),
        (datetime(2026, 6, 1, 11, 5, tzinfo=UTC), "Africa/Lagos", "Mon 1 Jun 2026, 12:05 pm WAT"),
        (datetime(2026, 12, 12, 19, 0, tzinfo=UTC), "Africa/Accra", "Sat 12 Dec 2026, 7:00 pm GMT"),
        (
            datetime(2026, 12, 12, 16, 0, tzinfo=UTC),
            "Africa/Nairobi",
            "Sat 12 Dec 2026, 7:00 pm EAT",
        ),
        (
            datetime(2026, 12, 12, 17, 0, tzinfo=UTC),
            "Africa/Johannesburg",
            "Sat 12 Dec 2026, 7:00 pm SAST",
        ),
        # Daylight saving is the zone's business: summer and winter differ by the hour.
        (
            datetime(2026, 7, 4, 23, 0, tzinfo=UTC),
            "America/New_York",
            "Sat 4 Jul 2026, 7:00 pm EDT",
        ),
        (
            datetime(2026, 12, 4, 23, 0, tzinfo=UTC),
            "America/New_York",
            "Fri 4 Dec 2026, 6:00 pm EST",
        ),
        # Zones without an abbreviation say their offset.
        (datetime(2026, 12, 12, 15, 0, tzinfo=UTC), "Asia/Dubai", "Sat 12 Dec 2026, 7:00 pm UTC+4"),
        (
            datetime(2026, 12, 12, 15, 30, tzinfo=UTC),
            "America/St_Johns",
            "Sat 12 Dec 2026, 12:00 pm NST",
        ),
        (
            datetime(2026, 12, 12, 12, 0, tzinfo=UTC),
            "Asia/Kathmandu",
            "Sat 12 Dec 2026, 5:45 pm UTC+5:45",
        ),
    ],
)
def test_a_time_reads_in_the_events_zone(moment: datetime, zone: str, printed: str) -> None:
    assert readable_time(moment, zone) == printed


def test_the_same_instant_reads_the_same_whatever_offset_it_came_with() -> None:
    utc = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
    elsewhere = utc.astimezone(timezone(timedelta(hours=-5)))

    assert readable_time(elsewhere, "Africa/Lagos") == readable_time(utc, "Africa/Lagos")
