"""The waiting room: fair, measured, safe. Pure rules by hypothesis, the use case on fakes."""

from __future__ import annotations

import asyncio
import base64
import hmac
import itertools
import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from getiickets.adapters.memory import InMemoryClock, InMemoryIdGenerator
from getiickets.adapters.memory.waiting_room import (
    InMemoryQueueSettingsStore,
    InMemoryWaitingLine,
)
from getiickets.domain.model.errors import (
    CacheUnavailableError,
    InvalidAdmissionError,
    QueueRequiredError,
    RateLimitedError,
    SoldOutError,
)
from getiickets.domain.model.waiting_room import (
    LATE,
    REBUILD_WINDOW,
    AdmissionPass,
    QueuePlace,
    QueueSettings,
    TokenSealer,
    admit,
    score,
)
from getiickets.domain.usecases.waiting_room import QueueStatus, WaitingRoom
from getiickets.ports.waiting_room import Step

START = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
KEY = b"unit-waiting-room-key-0123456789"


class Room:
    """A waiting room on the in-memory line, with its clock and its fakes at hand."""

    def __init__(self, seed: int = 0, joins_per_client: int = 1_000_000, store: Any = None) -> None:
        self.clock = InMemoryClock(START)
        self.line = InMemoryWaitingLine()
        self.store = store or InMemoryQueueSettingsStore()
        self.observed: list[tuple[str, Step, int | None]] = []
        self.room = WaitingRoom(
            uow=_no_database,  # type: ignore[arg-type]
            settings=self.store,
            line=self.line,
            sealer=TokenSealer(KEY),
            clock=self.clock,
            ids=InMemoryIdGenerator(seed),
            page_url=lambda slug: f"https://example.test/queue/{slug}",
            joins_per_client=joins_per_client,
            observe=lambda *args: self.observed.append(args),
        )
        self._joined = 0

    async def open(self, event_id: str = "evt", **fields: Any) -> None:
        queue = QueueSettings(event_id=event_id, enabled=True, **fields)
        await self.store.put(queue)
        await self.line.open(event_id, queue.pace(self.clock.now()))

    async def join(self, event_id: str = "evt", client: str = "c") -> QueueStatus:
        self._joined += 1
        event: Any = SimpleNamespace(id=event_id)
        return await self.room.join(event, f"buyer{self._joined}@example.com", client)

    async def poll(self, status: QueueStatus) -> QueueStatus:
        return await self.room.status(status.queue_token)

    def advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))


@asynccontextmanager
async def _no_database() -> AsyncIterator[Any]:
    yield SimpleNamespace(events=SimpleNamespace(get=_no_event))
    # These tests never read events; queue_required still builds its URL from the id.


async def _no_event(event_id: str) -> None:
    return None


# ---------------------------------------------------------------- the pure rule

arrival_gaps = st.lists(st.integers(0, 5_000_000), min_size=1, max_size=40)
step_gaps = st.lists(st.integers(1, 4_000_000), min_size=1, max_size=30)


def _run(arrivals: list[int], steps: list[int], interval: int) -> list[int]:
    """Admission times when the line is stepped at ``steps``; everyone joined already."""
    next_at, admitted = 0, []
    for now in steps:
        done = admit(
            next_at_us=next_at,
            arrivals_us=arrivals[len(admitted) :],
            now_us=now,
            interval_us=interval,
        )
        admitted += done.at_us
        next_at = done.next_at_us
    return admitted


@settings(max_examples=200, deadline=None)
@given(gaps=arrival_gaps, steps=step_gaps, per_minute=st.integers(1, 6000))
def test_admission_depends_on_time_alone_not_on_how_often_anyone_asks(
    gaps: list[int], steps: list[int], per_minute: int
) -> None:
    arrivals = list(itertools.accumulate(gaps))
    interval = 60_000_000 // per_minute
    times = list(itertools.accumulate(steps))
    stepped = _run(arrivals, times, interval)
    once = _run(arrivals, [times[-1]], interval)
    assert stepped == once
    # Each buyer enters after arriving, in line order, spaced at least an interval.
    assert all(at >= arrival for at, arrival in zip(stepped, arrivals, strict=False))
    assert all(b - a >= interval for a, b in itertools.pairwise(stepped))


@settings(max_examples=200, deadline=None)
@given(
    joins=st.lists(st.tuples(st.booleans(), st.integers(0, LATE - 1)), min_size=1, max_size=30),
)
def test_early_joiners_always_rank_before_late_ones_and_late_ones_by_join_order(
    joins: list[tuple[bool, int]],
) -> None:
    scores = [score(early=early, sequence=n, draw=draw) for n, (early, draw) in enumerate(joins)]
    late = [s for s, (early, _) in zip(scores, joins, strict=True) if not early]
    early = [s for s, (was_early, _) in zip(scores, joins, strict=True) if was_early]
    assert late == sorted(late)
    assert all(e < min(late, default=LATE + 1) for e in early)


# ---------------------------------------------------------------- fairness


@settings(max_examples=30, deadline=None)
@given(moves=st.lists(st.tuples(st.sampled_from(["join", "poll"]), st.floats(0, 3)), max_size=40))
async def test_after_opening_nobody_is_admitted_before_an_earlier_joiner_still_waiting(
    moves: list[tuple[str, float]],
) -> None:
    room = Room()
    await room.open(admit_per_minute=30)
    joined: list[QueueStatus] = []
    for move, seconds in moves:
        room.advance(seconds)
        if move == "join" or not joined:
            joined.append(await room.join())
        else:
            await room.poll(random.Random(seconds).choice(joined))
        now = [await room.poll(status) for status in joined]
        flags = [status.status == "admitted" for status in now]
        # Admitted buyers are exactly the first ones to join: a prefix of join order.
        assert flags == sorted(flags, reverse=True)


async def test_the_pre_queue_shuffle_at_opens_at_is_uniform() -> None:
    """Chi-square over 2,400 shuffles of four early joiners (24 orders, 100 expected each).

    Seeded, so it cannot flake; 49.73 is the 0.999 quantile of chi-square with 23
    degrees of freedom: a biased shuffle lands far above it.
    """
    room = Room(seed=20301)
    orders: Counter[tuple[int, ...]] = Counter()
    opens_at = START + timedelta(minutes=1)
    for trial in range(2400):
        event_id = f"evt{trial}"
        await room.open(event_id, admit_per_minute=100_000, opens_at=opens_at)
        early = [await room.join(event_id) for _ in range(4)]
        place = {status.queue_token: n for n, status in enumerate(early)}
        room.clock.set(opens_at + timedelta(seconds=1))
        admitted = [await room.poll(status) for status in early]
        assert all(status.status == "admitted" for status in admitted)
        # Admitted 600 µs apart, in line order: the admission expiries tell the order.
        by_entry = sorted(admitted, key=lambda status: status.admission_expires_at or START)
        orders[tuple(place[status.queue_token] for status in by_entry)] += 1
        room.clock.set(START)
    expected = 2400 / 24
    assert len(orders) == 24
    chi_square = sum((count - expected) ** 2 / expected for count in orders.values())
    assert chi_square < 49.73, (chi_square, orders)


# ---------------------------------------------------------------- rate


@pytest.mark.parametrize("per_minute", [7, 120, 1000])
async def test_admitted_per_minute_is_within_5_percent_of_the_setting_over_two_minutes(
    per_minute: int,
) -> None:
    room = Room()
    await room.open(admit_per_minute=per_minute, session_minutes=60)
    crowd = [await room.join() for _ in range(3 * per_minute)]
    start_total = sum(1 for status in crowd if status.status == "admitted")
    jitter = random.Random(7)
    elapsed = 0.0
    while elapsed < 120:
        step = min(jitter.uniform(0.05, 4.0), 120 - elapsed)
        room.advance(step)
        elapsed += step
        await room.poll(jitter.choice(crowd))
    overview = await room.room.sales_state("evt")
    assert overview is not None
    admitted = overview.admitted_total - start_total
    assert abs(admitted / 2 - per_minute) <= 0.05 * per_minute, admitted


# ---------------------------------------------------------------- safety


async def test_an_order_needs_a_genuine_live_unused_admission_for_its_own_event() -> None:
    room = Room()
    await room.open(session_minutes=2)
    await room.open("other")
    first = await room.join()
    assert first.admission_token is not None

    with pytest.raises(QueueRequiredError) as required:
        async with room.room.admission_for_order("evt", None):
            pass
    assert required.value.queue_url == "https://example.test/queue/evt"

    forged = TokenSealer(b"someone-elses-key-0123456789abcd").seal_admission(
        AdmissionPass(event_id="evt", entry_id="x", expires_us=2**60)
    )
    for token in (forged, "garbage", first.queue_token):
        with pytest.raises(InvalidAdmissionError):
            async with room.room.admission_for_order("evt", token):
                pass
    with pytest.raises(InvalidAdmissionError):
        async with room.room.admission_for_order("other", first.admission_token):
            pass

    async with room.room.admission_for_order("evt", first.admission_token) as use:
        assert use is not None
        use.order_placed()
    with pytest.raises(InvalidAdmissionError, match="used"):
        async with room.room.admission_for_order("evt", first.admission_token):
            pass

    second = await room.poll(await room.join())
    room.advance(5)
    second = await room.poll(second)
    assert second.admission_token is not None
    room.advance(2 * 60 + 5)
    with pytest.raises(InvalidAdmissionError, match="expired"):
        async with room.room.admission_for_order("evt", second.admission_token):
            pass


async def test_a_use_comes_back_only_when_the_order_was_certainly_not_placed() -> None:
    room = Room()
    await room.open()
    token = (await room.join()).admission_token
    with pytest.raises(SoldOutError):
        async with room.room.admission_for_order("evt", token):
            raise SoldOutError
    async with room.room.admission_for_order("evt", token):
        pass  # an idempotent replay: nothing placed, the use comes back
    with pytest.raises(RuntimeError):
        async with room.room.admission_for_order("evt", token):
            raise RuntimeError("the database did not answer: maybe placed")
    with pytest.raises(InvalidAdmissionError):
        async with room.room.admission_for_order("evt", token):
            pass


async def test_queue_off_costs_nothing_but_a_settings_read() -> None:
    room = Room()
    async with room.room.admission_for_order("evt", None) as use:
        assert use is None
    room.line.available = False  # the line is never asked
    async with room.room.admission_for_order("evt", None) as use:
        assert use is None


async def test_joins_are_limited_per_client_and_per_email() -> None:
    room = Room(joins_per_client=3)
    await room.open()
    for _ in range(3):
        await room.join(client="one-machine")
    with pytest.raises(RateLimitedError):
        await room.join(client="one-machine")
    event: Any = SimpleNamespace(id="evt")
    for _ in range(5):
        await room.room.join(event, "same@example.com", f"client{_}")
    with pytest.raises(RateLimitedError):
        await room.room.join(event, "same@example.com", "client9")


@settings(max_examples=60, deadline=None)
@given(
    joins=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 150)),
        min_size=1,
        max_size=40,
    )
)
def test_a_join_is_refused_exactly_when_its_email_or_then_its_client_is_over_its_window(
    joins: list[tuple[int, int, int]],
) -> None:
    """Against a plain model of the rule: counts per fixed one-minute window, the email
    counted first and the client only when the email passed, refusals added nobody."""

    async def run() -> None:
        room = Room(joins_per_client=4)
        await room.open()
        event: Any = SimpleNamespace(id="evt")
        counts: Counter[tuple[int, str]] = Counter()
        for email, client, gap in joins:
            room.advance(gap)
            window = int(room.clock.now().timestamp()) // 60
            counts[window, f"e{email}"] += 1
            expect_email = counts[window, f"e{email}"] > 5
            if not expect_email:
                counts[window, f"c{client}"] += 1
            expect_refused = expect_email or counts[window, f"c{client}"] > 4
            try:
                await room.room.join(event, f"b{email}@example.com", f"c{client}")
            except RateLimitedError:
                assert expect_refused
            else:
                assert not expect_refused

    asyncio.run(run())


class SlowCountingStore(InMemoryQueueSettingsStore):
    """Settings that take a moment to read, as from the database, and count the reads."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def get(self, event_id: str) -> QueueSettings | None:
        self.reads += 1
        await asyncio.sleep(0.01)
        return await super().get(event_id)


async def test_a_rush_that_finds_the_settings_stale_reads_them_once() -> None:
    # Every 2 s the cached settings go stale; in a rush, every join in flight used to
    # read them from the database at once (64 reads, where one does).
    store = SlowCountingStore()
    room = Room(store=store)
    await room.open()
    await room.join()
    assert store.reads == 1
    room.advance(3)
    joined = await asyncio.gather(*(room.join() for _ in range(50)))
    assert store.reads == 2  # the first read and one refresh
    assert all(status.status in {"waiting", "admitted"} for status in joined)


# ---------------------------------------------------------------- a lost line


async def test_a_lost_line_shuts_the_door_until_rebuilt_and_never_lets_everyone_in() -> None:
    room = Room()
    await room.open(admit_per_minute=60)
    crowd = [await room.join() for _ in range(20)]
    admitted = crowd[0]
    room.line.lose_state()  # a Redis restart without persistence

    with pytest.raises(CacheUnavailableError):
        async with room.room.admission_for_order("evt", admitted.admission_token):
            pass
    room.advance(5)
    back = [await room.poll(status) for status in crowd]
    assert all(status.status == "waiting" for status in back)
    assert back[0].estimated_wait_seconds >= REBUILD_WINDOW.total_seconds() - 5
    overview = await room.room.sales_state("evt")
    assert overview is not None
    assert overview.rebuilding

    room.advance(REBUILD_WINDOW.total_seconds() + 2)
    after = [await room.poll(status) for status in crowd]
    # The same order as before the loss, at the set rate: three seconds, three buyers.
    assert [status.status for status in after[:4]] == ["admitted"] * 3 + ["waiting"]
    assert sum(status.status == "admitted" for status in after) == 3


async def test_every_step_is_reported_for_the_metrics() -> None:
    room = Room()
    await room.open(session_minutes=1)
    await room.join()
    room.advance(61)
    await room.room.sales_state("evt")
    steps = [step for _, step, _ in room.observed]
    assert sum(len(step.waited_us) for step in steps) == 1
    assert sum(step.lapsed for step in steps) == 1


def test_tokens_are_hmac_sha256_seals_under_a_key_per_kind() -> None:
    """The seal's format, computed independently: tokens sealed before keep opening."""
    sealer = TokenSealer(KEY)
    place = QueuePlace(event_id="evt", entry_id="e1", score=7, arrival_us=11)
    payload = msgspec.json.encode(place)
    mac = hmac.digest(hmac.digest(KEY, b"queue-token:v1", "sha256"), payload, "sha256")
    expected = f"{_b64(payload)}.{_b64(mac)}"
    assert sealer.seal_place(place) == expected
    assert sealer.open_place(expected) == place
    # The same payload under the other kind's key, or one byte off, opens nothing.
    assert sealer.open_admission(expected) is None
    body, _, seal = expected.partition(".")
    assert sealer.open_place(f"{body}.{_b64(bytes([mac[0] ^ 1]) + mac[1:])}") is None
    assert sealer.open_place(seal + "." + body) is None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
