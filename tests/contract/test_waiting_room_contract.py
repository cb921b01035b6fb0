"""The WaitingLine port: the in-memory line and the Redis one answer alike, step for step.

Time is a number the tests move (microseconds), as the Clock port gives it to the use
case. "Losing the state" is what a Redis restart without persistence does: every key
gone (the fake: ``lose_state``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
import redis.asyncio as redis

from getiickets.adapters.memory.waiting_room import InMemoryWaitingLine
from getiickets.adapters.redis.waiting_room import RedisWaitingLine
from getiickets.domain.model.errors import CacheUnavailableError
from getiickets.domain.model.waiting_room import (
    LATE,
    MINUTE_US,
    Pace,
    QueuePlace,
    QueueSettings,
    admit,
    to_us,
)
from getiickets.ports.waiting_room import Claim, JoinLimits, JoinRefused, Spot, WaitingLine
from tests.contract.hot_state_backends import delete_prefixed, redis_client

START = to_us(datetime(2030, 1, 1, 12, 0, tzinfo=UTC))
SECOND = 1_000_000
EVENT = "evt-1"

Lose = Callable[[], Awaitable[None]]
AMPLE = JoinLimits(per_email=1000, per_client=1_000_000, window_us=60 * SECOND)


@pytest.fixture(params=["memory", "redis"])
async def line(request: pytest.FixtureRequest) -> AsyncIterator[tuple[WaitingLine, Lose]]:
    if request.param == "memory":
        fake = InMemoryWaitingLine()

        async def forget() -> None:
            fake.lose_state()

        yield fake, forget
        return
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    async with redis_client(url) as client:

        async def flush() -> None:
            await delete_prefixed(client, prefix)

        yield RedisWaitingLine(client, prefix=prefix), flush


def pace(
    now_us: int,
    *,
    per_minute: int = 60,
    session_minutes: int = 10,
    max_active: int | None = None,
    opens_at_us: int | None = None,
) -> Pace:
    settings = QueueSettings(
        event_id=EVENT,
        enabled=True,
        admit_per_minute=per_minute,
        session_minutes=session_minutes,
        max_active=max_active,
        opens_at=datetime.fromtimestamp(opens_at_us / SECOND, UTC) if opens_at_us else None,
    )
    return settings.pace(datetime.fromtimestamp(now_us / SECOND, UTC))


async def join(
    waiting_line: WaitingLine, n: int, now_us: int, *, draw: int = 0, **kw: object
) -> Spot:
    return await join_as(waiting_line, f"e{n:05d}", f"mail{n}", pace(now_us, **kw), draw=draw)  # type: ignore[arg-type]


async def join_as(
    waiting_line: WaitingLine,
    entry_id: str,
    email_key: str,
    at: Pace,
    *,
    client: str = "client",
    draw: int = 0,
    limits: JoinLimits = AMPLE,
) -> Spot:
    joined = await waiting_line.join(
        EVENT,
        entry_id=entry_id,
        email_key=email_key,
        client_key=client,
        draw=draw,
        limits=limits,
        pace=at,
    )
    assert isinstance(joined, Spot)
    return joined


def place(spot: Spot) -> QueuePlace:
    return QueuePlace(
        event_id=EVENT, entry_id=spot.entry_id, score=spot.score, arrival_us=spot.arrival_us
    )


async def test_the_first_buyer_of_an_open_line_is_let_in_at_once_and_the_next_waits(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    await waiting_line.open(EVENT, pace(START))
    first = await join(waiting_line, 1, START)
    second = await join(waiting_line, 2, START)
    assert first.admitted
    assert first.admission_expires_us == START + 10 * MINUTE_US
    assert first.step.waited_us == (0,)
    assert not second.admitted
    assert second.ahead == 0
    assert second.waiting == 1
    assert second.next_at_us == START + SECOND  # 60 a minute: one a second

    later = await waiting_line.look(EVENT, place(second), pace(START + SECOND))
    assert later.admitted
    assert later.step.waited_us == (SECOND,)


async def test_admission_moves_with_time_whoever_asks_and_however_often(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    await waiting_line.open(EVENT, pace(START))
    spots = [await join(waiting_line, n, START) for n in range(10)]
    state = await waiting_line.state(EVENT, pace(START + 4 * SECOND + 1))
    assert state.admitted_total == 5
    assert state.waiting == 5
    assert state.step.waited_us == (SECOND, 2 * SECOND, 3 * SECOND, 4 * SECOND)
    last = await waiting_line.look(EVENT, place(spots[-1]), pace(START + 4 * SECOND + 2))
    assert last.ahead == 4
    assert not last.step.waited_us  # nothing more was due


async def test_a_long_idle_spell_saves_up_no_burst(line: tuple[WaitingLine, Lose]) -> None:
    waiting_line, _ = line
    await waiting_line.open(EVENT, pace(START))
    later = START + 3600 * SECOND
    spots = [await join(waiting_line, n, later) for n in range(3)]
    assert [spot.admitted for spot in spots] == [True, False, False]


async def test_early_joiners_are_ordered_by_their_draws_and_wait_for_opens_at(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    opens = START + 60 * SECOND
    await waiting_line.open(EVENT, pace(START, opens_at_us=opens))
    draws = [30, 10, 20]
    early = [
        await join(waiting_line, n, START + n, draw=draw, opens_at_us=opens)
        for n, draw in enumerate(draws)
    ]
    assert not any(spot.admitted for spot in early)
    assert [spot.score for spot in early] == draws
    assert {spot.arrival_us for spot in early} == {opens}
    late = await join(waiting_line, 9, opens, opens_at_us=opens)
    assert late.score > LATE
    assert late.ahead == 2  # the first drawn went in at opens_at

    after = [
        await waiting_line.look(EVENT, place(spot), pace(opens + SECOND, opens_at_us=opens))
        for spot in early
    ]
    # Draw 10 first (at opens_at), then 20, then 30: one a second.
    assert [spot.admitted for spot in after] == [False, True, True]
    assert after[1].admission_expires_us == opens + 10 * MINUTE_US
    assert after[2].admission_expires_us == opens + SECOND + 10 * MINUTE_US


async def test_a_join_after_the_line_saw_opens_at_is_late_even_from_a_lagging_clock(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    opens = START + 60 * SECOND
    await waiting_line.open(EVENT, pace(START, opens_at_us=opens))
    await join(waiting_line, 1, opens, opens_at_us=opens)
    lagging = await join(waiting_line, 2, opens - SECOND, draw=0, opens_at_us=opens)
    assert lagging.score > LATE


async def test_the_same_email_keeps_its_place_until_its_admission_ends(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    await waiting_line.open(EVENT, pace(START))
    admitted = await join(waiting_line, 1, START, session_minutes=1)
    again = await join_as(waiting_line, "other", "mail1", pace(START, session_minutes=1))
    assert again.entry_id == admitted.entry_id
    after = START + MINUTE_US + 1
    rejoined = await join_as(waiting_line, "other", "mail1", pace(after, session_minutes=1))
    assert rejoined.entry_id == "other"


async def test_a_use_is_claimed_once_per_allowed_order_and_can_be_given_back(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    await waiting_line.open(EVENT, pace(START))
    spot = await join(waiting_line, 1, START)
    assert await waiting_line.claim(EVENT, spot.entry_id, 2, START) is Claim.CLAIMED
    assert await waiting_line.claim(EVENT, spot.entry_id, 2, START) is Claim.CLAIMED
    assert await waiting_line.claim(EVENT, spot.entry_id, 2, START) is Claim.USED_UP
    await waiting_line.give_back(EVENT, spot.entry_id, START)
    assert await waiting_line.claim(EVENT, spot.entry_id, 2, START) is Claim.CLAIMED
    assert await waiting_line.claim(EVENT, "nobody", 2, START) is Claim.UNKNOWN
    expired = START + 10 * MINUTE_US
    assert await waiting_line.claim(EVENT, spot.entry_id, 5, expired) is Claim.EXPIRED


async def test_max_active_holds_the_door_until_a_session_ends(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    capped = {"max_active": 1, "session_minutes": 1}
    await waiting_line.open(EVENT, pace(START, **capped))  # type: ignore[arg-type]
    first = await join(waiting_line, 1, START, **capped)
    second = await join(waiting_line, 2, START, **capped)
    blocked = await waiting_line.look(EVENT, place(second), pace(START + 30 * SECOND, **capped))  # type: ignore[arg-type]
    assert first.admitted
    assert not blocked.admitted
    # The first buyer orders: their session ends, and the room goes to the next.
    assert await waiting_line.claim(EVENT, first.entry_id, 1, START + 31 * SECOND) is Claim.CLAIMED
    freed = await waiting_line.look(EVENT, place(second), pace(START + 32 * SECOND, **capped))  # type: ignore[arg-type]
    assert freed.admitted
    state = await waiting_line.state(EVENT, pace(START + 33 * SECOND, **capped))  # type: ignore[arg-type]
    assert state.admitted_active == 1


async def test_an_admission_that_lapses_unused_is_counted_once(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    await waiting_line.open(EVENT, pace(START, session_minutes=1))
    await join(waiting_line, 1, START, session_minutes=1)
    state = await waiting_line.state(EVENT, pace(START + MINUTE_US, session_minutes=1))
    assert state.step.lapsed == 1
    assert state.admitted_active == 0
    again = await waiting_line.state(EVENT, pace(START + MINUTE_US + 1, session_minutes=1))
    assert again.step.lapsed == 0


async def test_a_lost_line_closes_its_door_and_rebuilds_from_the_tokens(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, lose = line
    await waiting_line.open(EVENT, pace(START))
    spots = [await join(waiting_line, n, START) for n in range(4)]
    assert spots[0].admitted
    await lose()

    # Everyone comes back within the window, last one first: the door stays shut...
    now = START + 2 * SECOND
    back = [await waiting_line.look(EVENT, place(spot), pace(now)) for spot in reversed(spots)]
    assert not any(spot.admitted for spot in back)
    # ...the admission from before the loss is unknown, and nothing is decided yet.
    assert await waiting_line.claim(EVENT, spots[0].entry_id, 1, now) is Claim.REBUILDING
    newcomer = await join(waiting_line, 9, now)
    state = await waiting_line.state(EVENT, pace(now))
    assert state.rebuilding
    assert state.admitted_total == 0

    # After the window, in the order they first joined, newcomer last, one a second.
    reopened = now + 30 * SECOND
    state = await waiting_line.state(EVENT, pace(reopened + 2 * SECOND))
    assert not state.rebuilding
    assert state.admitted_total == 3
    order = [
        await waiting_line.look(EVENT, place(spot), pace(reopened + 2 * SECOND)) for spot in spots
    ]
    assert [spot.admitted for spot in order] == [True, True, True, False]
    assert (await waiting_line.look(EVENT, place(newcomer), pace(reopened + 2 * SECOND))).ahead == 1
    assert await waiting_line.claim(EVENT, "never-admitted", 1, reopened) is Claim.UNKNOWN


async def test_an_entry_that_returns_after_the_rebuild_goes_to_the_back(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, lose = line
    await waiting_line.open(EVENT, pace(START))
    spots = [await join(waiting_line, n, START) for n in range(2)]
    await lose()
    late = START + 40 * SECOND
    newcomer = await join(waiting_line, 5, START + SECOND)
    returned = await waiting_line.look(EVENT, place(spots[0]), pace(late))
    assert returned.score > newcomer.score


async def test_unknown_line_state_is_rebuilt_closed_for_every_call(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    # Never opened (or lost before anyone came): the first join finds the door shut.
    spot = await join(waiting_line, 1, START)
    assert not spot.admitted
    assert spot.next_at_us == START + 30 * SECOND


async def test_the_line_follows_the_domain_rule_for_random_arrivals(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    rng = random.Random(12)
    await waiting_line.open(EVENT, pace(START, per_minute=120))
    now = START
    joined: list[Spot] = []
    for n in range(60):
        now += rng.randrange(0, 2 * SECOND)
        joined.append(await join(waiting_line, n, now, per_minute=120))
    final = now + 5 * SECOND
    state = await waiting_line.state(EVENT, pace(final, per_minute=120))
    expected = admit(
        next_at_us=START,
        arrivals_us=[spot.arrival_us for spot in joined],
        now_us=final,
        interval_us=MINUTE_US // 120,
    )
    assert state.admitted_total == len(expected.at_us)
    assert state.next_at_us == expected.next_at_us


async def test_joins_are_counted_per_email_then_per_client_within_a_window(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    await waiting_line.open(EVENT, pace(START))
    limits = JoinLimits(per_email=2, per_client=3, window_us=60 * SECOND)

    async def attempt(email: str, client: str, now_us: int = START) -> Spot | JoinRefused:
        return await waiting_line.join(
            EVENT,
            entry_id=f"{email}-{client}-{now_us}",
            email_key=email,
            client_key=client,
            draw=0,
            limits=limits,
            pace=pace(now_us),
        )

    assert isinstance(await attempt("a", "one"), Spot)
    assert isinstance(await attempt("a", "two"), Spot)  # the same place again
    assert await attempt("a", "three") is JoinRefused.EMAIL
    # The refused email was not counted against its client: "three" still has three.
    for email in ("b", "c", "d"):
        assert isinstance(await attempt(email, "three"), Spot)
    assert await attempt("e", "three") is JoinRefused.CLIENT
    state = await waiting_line.state(EVENT, pace(START))
    assert state.waiting + state.admitted_total == 4  # a, b, c, d: refusals added nobody
    # The next window counts afresh.
    later = START - START % (60 * SECOND) + 60 * SECOND
    assert isinstance(await attempt("a", "three", later), Spot)
    assert isinstance(await attempt("e", "three", later), Spot)


async def test_concurrent_joins_take_their_places_in_the_order_they_were_called(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    await waiting_line.open(EVENT, pace(START))
    limits = JoinLimits(per_email=1, per_client=1_000_000, window_us=60 * SECOND)

    async def attempt(n: int, email: str) -> Spot | JoinRefused:
        return await waiting_line.join(
            EVENT,
            entry_id=f"e{n:03d}",
            email_key=email,
            client_key="rush",
            draw=0,
            limits=limits,
            pace=pace(START),
        )

    # One email twice among them: the second is refused, wherever the calls are cut.
    emails = [f"m{n}" for n in range(200)]
    emails[150] = "m7"
    answers = await asyncio.gather(*(attempt(n, email) for n, email in enumerate(emails)))
    assert answers[150] is JoinRefused.EMAIL
    spots = [answer for answer in answers if isinstance(answer, Spot)]
    assert [spot.entry_id for spot in spots] == [f"e{n:03d}" for n in range(200) if n != 150]
    assert [spot.score for spot in spots] == sorted(spot.score for spot in spots)
    assert [spot.ahead for spot in spots[1:]] == list(range(len(spots) - 1))
    # The first was let in at once, and that admission is reported exactly once.
    assert spots[0].admitted
    assert [waited for spot in spots for waited in spot.step.waited_us] == [0]


async def test_concurrent_early_joins_are_placed_by_their_draws(
    line: tuple[WaitingLine, Lose],
) -> None:
    waiting_line, _ = line
    opens = START + 60 * SECOND
    await waiting_line.open(EVENT, pace(START, opens_at_us=opens))
    draws = random.Random(5).sample(range(1000), 40)
    spots = await asyncio.gather(
        *(
            join_as(waiting_line, f"e{n:03d}", f"m{n}", pace(START, opens_at_us=opens), draw=draw)
            for n, draw in enumerate(draws)
        )
    )
    assert [spot.score for spot in spots] == draws
    assert {spot.arrival_us for spot in spots} == {opens}
    # Everyone's place is the rank of their draw among all the draws.
    ranks = {draw: rank for rank, draw in enumerate(sorted(draws))}
    looked = [
        await waiting_line.look(EVENT, place(spot), pace(START, opens_at_us=opens))
        for spot in spots
    ]
    assert [spot.ahead for spot in looked] == [ranks[draw] for draw in draws]
    assert not any(spot.admitted for spot in looked)


async def test_an_unreachable_line_refuses_every_concurrent_join() -> None:
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    unreachable = RedisWaitingLine(client, timeout=1)
    try:
        answers = await asyncio.gather(
            *(
                unreachable.join(
                    EVENT,
                    entry_id=f"e{n}",
                    email_key=f"m{n}",
                    client_key="c",
                    draw=0,
                    limits=AMPLE,
                    pace=pace(START),
                )
                for n in range(5)
            ),
            return_exceptions=True,
        )
        assert all(isinstance(answer, CacheUnavailableError) for answer in answers)
    finally:
        await client.aclose()


async def test_an_unreachable_line_is_an_error_never_a_guess() -> None:
    fake = InMemoryWaitingLine()
    fake.available = False
    with pytest.raises(CacheUnavailableError):
        await fake.claim(EVENT, "e", 1, START)
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        with pytest.raises(CacheUnavailableError):
            await RedisWaitingLine(client, timeout=1).claim(EVENT, "e", 1, START)
    finally:
        await client.aclose()
