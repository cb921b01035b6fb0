"""The waiting room: organizers switch it on per event, buyers join and are let in at a set rate.

Who is admitted is decided by ``domain.model.waiting_room`` (pure sums); the line
(``WaitingLine``) keeps the counters and moves them atomically; this module signs what
buyers hold and gates the order path.

Admissions and orders. A use is claimed (one atomic call) before the order is placed,
so two orders racing on one admission can never both get through; it is given back
when the order was certainly not placed: a 409 ``sold_out``, ``sales_closed``, a
422, a 404, or an idempotent replay that placed nothing. So a buyer who meets
``sold_out`` on one ticket type can still try another with the same admission. Any
other failure (the database or inventory down, a lost answer) may have placed the
order, so the use stays spent: at worst a buyer rejoins, never a second order.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

import msgspec

from getiickets.domain.model.accounts import normalize_email
from getiickets.domain.model.errors import (
    CacheUnavailableError,
    DomainError,
    IdempotencyConflictError,
    InvalidAdmissionError,
    NotFoundError,
    QueueRequiredError,
    RateLimitedError,
    SalesClosedError,
    SoldOutError,
    TooManyTicketsError,
    ValidationError,
)
from getiickets.domain.model.waiting_room import (
    LATE,
    MICROSECOND,
    AdmissionPass,
    QueuePlace,
    QueueSettings,
    TokenSealer,
    email_key,
    estimated_wait_us,
    from_us,
    to_us,
)
from getiickets.domain.usecases.single_flight import SingleFlight
from getiickets.ports.waiting_room import Claim, JoinLimits, JoinRefused, Spot, Step

if TYPE_CHECKING:
    from getiickets.domain.model.accounts import Actor
    from getiickets.domain.model.catalog import Event
    from getiickets.ports.clock import Clock, IdGenerator
    from getiickets.ports.unit_of_work import UnitOfWorkFactory
    from getiickets.ports.waiting_room import QueueSettingsStore, WaitingLine

SETTINGS_TTL = timedelta(seconds=2)
"""How stale another process's view of an event's queue settings may be. The process
that changes them sees the change at once."""
JOIN_WINDOW = timedelta(minutes=1)
JOINS_PER_EMAIL = 5
DEFAULT_JOINS_PER_CLIENT = 20
_CACHED_EVENTS = 10_000

NOT_PLACED: tuple[type[DomainError], ...] = (
    SoldOutError,
    SalesClosedError,
    TooManyTicketsError,
    ValidationError,
    NotFoundError,
    IdempotencyConflictError,
)
"""Errors that prove no order was placed: the admission's use is given back."""


class ChangeQueue(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool
    admit_per_minute: int
    session_minutes: int
    max_active: int | None = None
    opens_at: datetime | None = None
    max_per_admission: int = 1


class QueueOverview(msgspec.Struct, frozen=True, kw_only=True):
    settings: QueueSettings
    waiting: int
    admitted_active: int
    admitted_total: int
    rebuilding: bool


class QueueStatus(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    queue_token: str
    position: int
    """1 for the next buyer in; 0 once admitted."""
    estimated_wait_seconds: int
    status: Literal["waiting", "admitted"]
    admission_token: str | None = None
    admission_expires_at: datetime | None = None


class AdmissionUse:
    """One claimed use of an admission, for the order being placed with it."""

    def __init__(self, event_id: str, entry_id: str) -> None:
        self.event_id = event_id
        self.entry_id = entry_id
        self.placed = False

    def order_placed(self) -> None:
        self.placed = True


class WaitingRoom:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        settings: QueueSettingsStore,
        line: WaitingLine,
        sealer: TokenSealer,
        clock: Clock,
        ids: IdGenerator,
        page_url: Callable[[str], str],
        joins_per_client: int = DEFAULT_JOINS_PER_CLIENT,
        observe: Callable[[str, Step, int | None], None] | None = None,
    ) -> None:
        self._uow = uow
        self._settings = settings
        self._line = line
        self._sealer = sealer
        self._clock = clock
        self._ids = ids
        self._page_url = page_url
        # Per email: one buyer cannot take several places; per client: one machine
        # cannot take places under many addresses. Counted per line, by the line, in
        # the same atomic step as the join (one round trip, not three).
        self._join_limits = JoinLimits(
            per_email=JOINS_PER_EMAIL,
            per_client=joins_per_client,
            window_us=JOIN_WINDOW // MICROSECOND,
        )
        self._observe = observe
        self._cached: dict[str, tuple[QueueSettings | None, datetime]] = {}
        self._reading: SingleFlight[QueueSettings | None] = SingleFlight()

    # ------------------------------------------------------------ organizer

    async def configure(self, actor: Actor, event_id: str, change: ChangeQueue) -> QueueOverview:
        event = await self._owned(actor, event_id)
        settings = QueueSettings(event_id=event.id, **msgspec.structs.asdict(change))
        await self._settings.put(settings)
        self._cached[event.id] = (settings, self._clock.now())
        if settings.enabled:
            await self._line.open(event.id, settings.pace(self._clock.now()))
        return await self._overview(settings)

    async def overview(self, actor: Actor, event_id: str) -> QueueOverview:
        event = await self._owned(actor, event_id)
        return await self._overview(await self._settings_of(event.id, fresh=True))

    async def sales_state(self, event_id: str) -> QueueOverview | None:
        """For the sales page, whose caller already checked ownership; None if never set."""
        settings = await self._settings.get(event_id)
        return None if settings is None else await self._overview(settings)

    # ------------------------------------------------------------ buyers

    async def join(self, event: Event, email: str, client: str) -> QueueStatus:
        settings = await self._settings_of(event.id)
        if not settings.enabled:
            raise NotFoundError("this event has no waiting room open")
        key = email_key(normalize_email(email, field="email"))
        pace = settings.pace(self._clock.now())
        # The draw places only those who join before opens_at (``is_early``); a join
        # at or after it is placed by its sequence whatever it draws, so it draws
        # nothing (a system call less per join in a rush).
        early = pace.now_us < pace.not_before_us
        joined = await self._line.join(
            event.id,
            entry_id=self._ids.new_id(),
            email_key=key,
            client_key=client,
            draw=math.floor(self._ids.fraction() * LATE) if early else 0,
            limits=self._join_limits,
            pace=pace,
        )
        if isinstance(joined, JoinRefused):
            raise RateLimitedError(_JOIN_REFUSED[joined])
        return self._status(settings, joined)

    async def status(self, queue_token: str) -> QueueStatus:
        place = self._sealer.open_place(queue_token)
        if place is None:
            raise NotFoundError("no such place in a queue")
        settings = await self._settings_of(place.event_id)
        if not settings.enabled:
            raise NotFoundError("this event's waiting room is closed")
        spot = await self._line.look(place.event_id, place, settings.pace(self._clock.now()))
        return self._status(settings, spot)

    # ------------------------------------------------------------ the order path

    @asynccontextmanager
    async def admission_for_order(
        self, event_id: str, admission_token: str | None
    ) -> AsyncIterator[AdmissionUse | None]:
        """Claim one use of the admission for the order placed inside the block.

        Queue off: yields None and costs one cached settings read. Queue on: the
        token's seal, event and expiry are checked here, one use is claimed from the
        line, and given back unless the block calls ``order_placed`` or fails in a way
        that may have placed the order (see the module's docstring).
        """
        settings = await self._settings_of(event_id)
        if not settings.enabled:
            yield None
            return
        use = await self._claim(settings, admission_token)
        try:
            yield use
        except NOT_PLACED:
            await self._give_back(use)
            raise
        else:
            if not use.placed:
                await self._give_back(use)

    async def _claim(self, settings: QueueSettings, token: str | None) -> AdmissionUse:
        if not token:
            event = await self._event(settings.event_id)
            raise QueueRequiredError(
                "this event sells through its waiting room: join it first",
                queue_url=self._page_url(event.slug if event else settings.event_id),
            )
        admission = self._sealer.open_admission(token)
        now_us = to_us(self._clock.now())
        if admission is None or admission.event_id != settings.event_id:
            raise InvalidAdmissionError("this admission token is not valid for this event")
        if admission.expires_us <= now_us:
            raise InvalidAdmissionError("this admission has expired: join the queue again")
        claim = await self._line.claim(
            settings.event_id, admission.entry_id, settings.max_per_admission, now_us
        )
        if claim is Claim.REBUILDING:
            raise CacheUnavailableError("the waiting room is being rebuilt; try again shortly")
        if claim is not Claim.CLAIMED:
            raise InvalidAdmissionError(_CLAIM_REFUSED[claim])
        return AdmissionUse(settings.event_id, admission.entry_id)

    async def _give_back(self, use: AdmissionUse) -> None:
        await self._line.give_back(use.event_id, use.entry_id, to_us(self._clock.now()))

    # ------------------------------------------------------------ helpers

    async def _overview(self, settings: QueueSettings) -> QueueOverview:
        state = await self._line.state(settings.event_id, settings.pace(self._clock.now()))
        self._report(settings.event_id, state.step, state.waiting)
        return QueueOverview(
            settings=settings,
            waiting=state.waiting,
            admitted_active=state.admitted_active,
            admitted_total=state.admitted_total,
            rebuilding=state.rebuilding,
        )

    def _status(self, settings: QueueSettings, spot: Spot) -> QueueStatus:
        self._report(settings.event_id, spot.step, spot.waiting)
        pace = settings.pace(self._clock.now())
        place = QueuePlace(
            event_id=settings.event_id,
            entry_id=spot.entry_id,
            score=spot.score,
            arrival_us=spot.arrival_us,
        )
        queue_token = self._sealer.seal_place(place)
        if spot.admitted and spot.admission_expires_us is not None:
            admission = AdmissionPass(
                event_id=settings.event_id,
                entry_id=spot.entry_id,
                expires_us=spot.admission_expires_us,
            )
            return QueueStatus(
                event_id=settings.event_id,
                queue_token=queue_token,
                position=0,
                estimated_wait_seconds=0,
                status="admitted",
                admission_token=self._sealer.seal_admission(admission),
                admission_expires_at=from_us(spot.admission_expires_us),
            )
        wait = estimated_wait_us(ahead=spot.ahead, next_at_us=spot.next_at_us, pace=pace)
        return QueueStatus(
            event_id=settings.event_id,
            queue_token=queue_token,
            position=spot.ahead + 1,
            estimated_wait_seconds=math.ceil(wait * MICROSECOND / timedelta(seconds=1)),
            status="waiting",
        )

    def _report(self, event_id: str, step: Step, waiting: int | None) -> None:
        if self._observe is not None:
            self._observe(event_id, step, waiting)

    async def _settings_of(self, event_id: str, *, fresh: bool = False) -> QueueSettings:
        """The event's settings (off if never set), from a short per-process cache."""
        now = self._clock.now()
        cached = self._cached.get(event_id)
        if cached is not None and not fresh and now - cached[1] < SETTINGS_TTL:
            settings = cached[0]
        elif fresh:
            settings = await self._read_settings(event_id, now)
        else:
            # In a rush every request in flight finds the entry stale at the same
            # moment: they share one read instead of each asking the database.
            settings = await self._reading.share(
                event_id, lambda: self._read_settings(event_id, now)
            )
        return settings or QueueSettings(event_id=event_id)

    async def _read_settings(self, event_id: str, now: datetime) -> QueueSettings | None:
        settings = await self._settings.get(event_id)
        if len(self._cached) >= _CACHED_EVENTS:
            self._cached.clear()
        self._cached[event_id] = (settings, now)
        return settings

    async def _event(self, event_id: str) -> Event | None:
        async with self._uow() as uow:
            return await uow.events.get(event_id)

    async def _owned(self, actor: Actor, event_id: str) -> Event:
        event = await self._event(event_id)
        if event is None:
            raise NotFoundError("event not found")
        event.check_owner(actor.user_id)
        return event


_JOIN_REFUSED = {
    JoinRefused.EMAIL: "too many joins with this email; wait a minute",
    JoinRefused.CLIENT: "too many joins from this client; wait a minute",
}

_CLAIM_REFUSED = {
    Claim.UNKNOWN: "this admission is not known to the queue: join it again",
    Claim.EXPIRED: "this admission has expired: join the queue again",
    Claim.USED_UP: "this admission has been used for as many orders as it allows",
}
