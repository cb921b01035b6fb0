"""``InMemoryClock``: time that moves only when a test (or a demo) moves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def _utc(moment: datetime) -> datetime:
    offset = moment.utcoffset()
    if offset is None or offset != timedelta(0):
        raise ValueError("the clock keeps aware UTC datetimes only")
    return moment.replace(tzinfo=UTC)


class InMemoryClock:
    def __init__(self, start: datetime) -> None:
        self._now = _utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> datetime:
        """Move forward (never back: use ``set`` for that); returns the new time."""
        if by < timedelta(0):
            raise ValueError("advance moves forward; use set() to go back")
        self._now += by
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = _utc(moment)
