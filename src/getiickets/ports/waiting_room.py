"""The waiting room's ports: the organizer's settings (durable) and the line (hot).

The line keeps per event: entries ordered by score, the admitted frontier, the next
admission time, live admissions and their uses. Every call first moves the frontier
to what ``waiting_room.admit`` allows at ``pace.now_us`` (one atomic step), then acts,
so no process has to run a timer and any number of processes can share one line.

A line whose state is missing (never opened, lost in a restart, flushed) starts again
*closed*: nobody is admitted for ``pace.rebuild_us`` while holders of queue tokens
re-register their places (``look`` with the token's place).

Unreachable store: ``CacheUnavailableError``, never a guess.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

import msgspec

if TYPE_CHECKING:
    from getiickets.domain.model.waiting_room import Pace, QueuePlace, QueueSettings


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """What the step taken by a call did, for metrics."""

    waited_us: tuple[int, ...] = ()
    """For each buyer admitted by this step, how long they waited."""
    lapsed: int = 0
    """Admissions that ran out unused, noticed by this step."""


class Spot(msgspec.Struct, frozen=True, kw_only=True):
    """One entry's standing after the step."""

    entry_id: str
    score: int
    arrival_us: int
    ahead: int
    """Waiting buyers before this one; 0 once admitted."""
    admitted: bool
    admission_expires_us: int | None
    uses: int
    next_at_us: int
    waiting: int
    """Buyers in the line not yet admitted."""
    step: Step


class LineState(msgspec.Struct, frozen=True, kw_only=True):
    waiting: int
    admitted_active: int
    admitted_total: int
    next_at_us: int
    rebuilding: bool
    step: Step


class Claim(IntEnum):
    """The answer to claiming one use of an admission for an order."""

    CLAIMED = 1
    UNKNOWN = 0
    """No such admission in this line (forged entry, or admitted before a rebuild)."""
    EXPIRED = -1
    USED_UP = -2
    REBUILDING = -3
    """The line's state was lost and is being rebuilt: nothing is decided now."""


class JoinLimits(msgspec.Struct, frozen=True, kw_only=True):
    """How many joins one email and one client may make in one window of one line.

    Windows are fixed, aligned on ``window_us`` multiples of the caller's clock; the
    counts live beside the line, so one call counts them and joins atomically.
    """

    per_email: int
    per_client: int
    window_us: int


class JoinRefused(IntEnum):
    """A join the limits turned away; the buyer was not added."""

    EMAIL = 1
    """This email joined ``per_email`` times in the window already."""
    CLIENT = 2
    """This client joined ``per_client`` times in the window already."""


class WaitingLine(Protocol):
    async def open(self, event_id: str, pace: Pace) -> None:
        """Make the line ready (not closed for a rebuild) if it has no state yet."""
        ...

    async def join(
        self,
        event_id: str,
        *,
        entry_id: str,
        email_key: str,
        client_key: str,
        draw: int,
        limits: JoinLimits,
        pace: Pace,
    ) -> Spot | JoinRefused:
        """Count the join against its email, then (if that passed) its client, in the
        window holding ``pace.now_us``; past either limit, refuse it. Else add the buyer,
        or answer the live entry (waiting, or admitted and unused) that this email
        already has. ``draw`` (in [0, LATE)) orders the early joiners.

        Concurrent joins take their places in the order they were called: one line
        may answer several at once (one round trip), never reordering them."""
        ...

    async def look(self, event_id: str, place: QueuePlace, pace: Pace) -> Spot:
        """The entry's standing; an entry the line lost is put back at its place
        during a rebuild, and at the end of the line after it."""
        ...

    async def claim(self, event_id: str, entry_id: str, max_uses: int, now_us: int) -> Claim:
        """Count one use of a live admission, atomically (never more than ``max_uses``)."""
        ...

    async def give_back(self, event_id: str, entry_id: str, now_us: int) -> None:
        """Undo one claimed use whose order was certainly not placed."""
        ...

    async def state(self, event_id: str, pace: Pace) -> LineState: ...


class QueueSettingsStore(Protocol):
    """Durable: survives restarts of everything but the database."""

    async def get(self, event_id: str) -> QueueSettings | None: ...
    async def put(self, settings: QueueSettings) -> None: ...
