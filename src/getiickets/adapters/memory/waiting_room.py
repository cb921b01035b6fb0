"""``InMemoryWaitingLine`` and ``InMemoryQueueSettingsStore``: the waiting room in dicts.

The line does what the Redis script does, step for step, with the domain's ``admit``
doing the sums; the contract suite holds both to the same answers. Single process
(the embedded default): each call runs without an ``await`` inside, so it is as
atomic as a Lua script is in Redis.

``lose_state()`` forgets every line, as a Redis restart without persistence does.
``available = False`` acts like an unreachable Redis.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field

from getiickets.domain.model.errors import CacheUnavailableError
from getiickets.domain.model.waiting_room import (
    Pace,
    QueuePlace,
    QueueSettings,
    admit,
    arrival_us,
    is_early,
    score,
)
from getiickets.ports.waiting_room import Claim, JoinLimits, JoinRefused, LineState, Spot, Step


@dataclass
class _Line:
    next_at: int
    sequence: int
    rebuilding_until: int = 0
    frontier: int = 0
    opened: bool = False
    admitted_total: int = 0
    order: list[tuple[int, str]] = field(default_factory=list)
    """(score, entry id), sorted: the line."""
    scores: dict[str, int] = field(default_factory=dict)
    arrivals: dict[str, int] = field(default_factory=dict)
    admitted: dict[str, int] = field(default_factory=dict)
    """Entry -> admission expiry, for everyone ever admitted."""
    active: dict[str, int] = field(default_factory=dict)
    """Entry -> when its session ends (expiry, or when its last use was claimed)."""
    uses: dict[str, int] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)

    def rank(self, entry_id: str) -> int:
        return bisect.bisect_left(self.order, (self.scores[entry_id], entry_id))

    def insert(self, entry_id: str, entry_score: int, arrival: int) -> None:
        bisect.insort(self.order, (entry_score, entry_id))
        self.scores[entry_id] = entry_score
        self.arrivals[entry_id] = arrival

    def waiting_arrivals(self) -> Iterator[int]:
        for index in range(self.frontier, len(self.order)):
            yield self.arrivals[self.order[index][1]]


class InMemoryWaitingLine:
    def __init__(self) -> None:
        self._lines: dict[str, _Line] = {}
        self._joins: dict[str, tuple[int, dict[str, int]]] = {}
        """Per event: the join-limit window and its counts (``e:<email>``, ``c:<client>``)."""
        self.available = True

    def lose_state(self) -> None:
        self._lines.clear()
        self._joins.clear()

    async def open(self, event_id: str, pace: Pace) -> None:
        self._check()
        if event_id not in self._lines:
            self._lines[event_id] = _Line(
                next_at=max(pace.now_us, pace.not_before_us), sequence=pace.now_us
            )

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
        self._check()
        refused = self._count_join(event_id, email_key, client_key, limits, pace.now_us)
        if refused is not None:
            return refused
        line, lapsed = self._prepare(event_id, pace)
        existing = line.emails.get(email_key)
        if existing is not None and self._live(line, existing, pace.now_us):
            entry_id = existing
        else:
            early = is_early(
                now_us=pace.now_us, not_before_us=pace.not_before_us, opened=line.opened
            )
            line.sequence += 1
            line.insert(
                entry_id,
                score(early=early, sequence=line.sequence, draw=draw),
                arrival_us(early=early, now_us=pace.now_us, not_before_us=pace.not_before_us),
            )
            line.emails[email_key] = entry_id
        step = self._admit(line, pace, lapsed)
        return self._spot(line, entry_id, step)

    async def look(self, event_id: str, place: QueuePlace, pace: Pace) -> Spot:
        line, lapsed = self._prepare(event_id, pace)
        if place.entry_id not in line.scores:
            if pace.now_us < line.rebuilding_until:
                line.insert(place.entry_id, place.score, place.arrival_us)
            else:
                # Came back after the rebuild: the places were settled without it.
                line.sequence += 1
                line.insert(
                    place.entry_id,
                    score(early=False, sequence=line.sequence, draw=0),
                    pace.now_us,
                )
        step = self._admit(line, pace, lapsed)
        return self._spot(line, place.entry_id, step)

    async def claim(self, event_id: str, entry_id: str, max_uses: int, now_us: int) -> Claim:
        self._check()
        line = self._lines.get(event_id)
        if line is None:
            return Claim.REBUILDING
        expires = line.admitted.get(entry_id)
        if expires is None:
            return Claim.REBUILDING if now_us < line.rebuilding_until else Claim.UNKNOWN
        if expires <= now_us:
            return Claim.EXPIRED
        used = line.uses.get(entry_id, 0)
        if used >= max_uses:
            return Claim.USED_UP
        line.uses[entry_id] = used + 1
        if used + 1 >= max_uses and entry_id in line.active:
            line.active[entry_id] = now_us  # the session ends: its room goes to the next
        return Claim.CLAIMED

    async def give_back(self, event_id: str, entry_id: str, now_us: int) -> None:
        self._check()
        line = self._lines.get(event_id)
        if line is None or line.uses.get(entry_id, 0) <= 0:
            return
        line.uses[entry_id] -= 1
        expires = line.admitted.get(entry_id, 0)
        if expires > now_us:
            line.active[entry_id] = expires

    async def state(self, event_id: str, pace: Pace) -> LineState:
        line, lapsed = self._prepare(event_id, pace)
        step = self._admit(line, pace, lapsed)
        return LineState(
            waiting=len(line.order) - line.frontier,
            admitted_active=sum(1 for end in line.active.values() if end > pace.now_us),
            admitted_total=line.admitted_total,
            next_at_us=line.next_at,
            rebuilding=pace.now_us < line.rebuilding_until,
            step=step,
        )

    # ------------------------------------------------------------ the step

    def _count_join(
        self, event_id: str, email_key: str, client_key: str, limits: JoinLimits, now_us: int
    ) -> JoinRefused | None:
        """The email's count first, the client's only if it passed (as the script)."""
        window = now_us // limits.window_us
        if self._joins.get(event_id, (None, {}))[0] != window:
            self._joins[event_id] = (window, {})  # a new window: the old counts are done
        counts = self._joins[event_id][1]
        for counted, limit, refusal in (
            (f"e:{email_key}", limits.per_email, JoinRefused.EMAIL),
            (f"c:{client_key}", limits.per_client, JoinRefused.CLIENT),
        ):
            counts[counted] = counts.get(counted, 0) + 1
            if counts[counted] > limit:
                return refusal
        return None

    def _prepare(self, event_id: str, pace: Pace) -> tuple[_Line, int]:
        """The line (rebuilt closed if lost), with lapsed sessions swept out."""
        self._check()
        line = self._lines.get(event_id)
        if line is None:
            until = pace.now_us + pace.rebuild_us
            line = _Line(next_at=until, sequence=pace.now_us, rebuilding_until=until)
            self._lines[event_id] = line
        lapsed = 0
        for entry_id, ends in list(line.active.items()):
            if ends <= pace.now_us:
                del line.active[entry_id]
                if line.uses.get(entry_id, 0) == 0:
                    lapsed += 1
        if pace.now_us >= pace.not_before_us:
            line.opened = True
        return line, lapsed

    def _admit(self, line: _Line, pace: Pace, lapsed: int) -> Step:
        room = None if pace.max_active is None else max(0, pace.max_active - len(line.active))
        admitted = admit(
            next_at_us=line.next_at,
            arrivals_us=line.waiting_arrivals(),
            now_us=pace.now_us,
            interval_us=pace.interval_us,
            not_before_us=pace.not_before_us,
            room=room,
        )
        waited = []
        for at in admitted.at_us:
            entry_id = line.order[line.frontier][1]
            line.admitted[entry_id] = at + pace.session_us
            line.active[entry_id] = at + pace.session_us
            line.frontier += 1
            line.admitted_total += 1
            waited.append(at - line.arrivals[entry_id])
        line.next_at = admitted.next_at_us
        return Step(waited_us=tuple(waited), lapsed=lapsed)

    def _spot(self, line: _Line, entry_id: str, step: Step) -> Spot:
        rank = line.rank(entry_id)
        admitted = rank < line.frontier
        return Spot(
            entry_id=entry_id,
            score=line.scores[entry_id],
            arrival_us=line.arrivals[entry_id],
            ahead=0 if admitted else rank - line.frontier,
            admitted=admitted,
            admission_expires_us=line.admitted.get(entry_id) if admitted else None,
            uses=line.uses.get(entry_id, 0),
            next_at_us=line.next_at,
            waiting=len(line.order) - line.frontier,
            step=step,
        )

    @staticmethod
    def _live(line: _Line, entry_id: str, now_us: int) -> bool:
        """Still waiting, or admitted with a session not yet ended."""
        if entry_id not in line.scores:
            return False
        if line.rank(entry_id) >= line.frontier:
            return True
        return line.active.get(entry_id, 0) > now_us

    def _check(self) -> None:
        if not self.available:
            raise CacheUnavailableError("the waiting line is unavailable")


class InMemoryQueueSettingsStore:
    def __init__(self) -> None:
        self._settings: dict[str, QueueSettings] = {}

    async def get(self, event_id: str) -> QueueSettings | None:
        return self._settings.get(event_id)

    async def put(self, settings: QueueSettings) -> None:
        self._settings[settings.event_id] = settings
