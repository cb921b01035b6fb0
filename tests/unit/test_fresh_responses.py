"""The public reads each API process keeps for half a second: served while young,
built once for everyone asking at the same time, forgotten after a write."""

from __future__ import annotations

import asyncio

import pytest

from getiickets.entrypoints.http.fresh import FreshResponses


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Builder:
    """Builds ``b"1"``, ``b"2"``...; may be held until released, or fail."""

    def __init__(self) -> None:
        self.builds = 0
        self.release = asyncio.Event()
        self.release.set()
        self.fail_with: Exception | None = None

    async def __call__(self) -> bytes:
        self.builds += 1
        number = self.builds
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return str(number).encode()


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_a_body_is_served_while_younger_than_max_age_then_built_again(
    clock: Clock,
) -> None:
    fresh, build = FreshResponses(0.5, clock=clock), Builder()

    assert await fresh.get("list", build) == b"1"
    clock.now += 0.49
    assert await fresh.get("list", build) == b"1"
    clock.now += 0.01
    assert await fresh.get("list", build) == b"2"
    assert build.builds == 2


async def test_the_age_counts_from_before_the_build_read_anything(clock: Clock) -> None:
    fresh, build = FreshResponses(0.5, clock=clock), Builder()
    build.release.clear()
    first = asyncio.ensure_future(fresh.get("list", build))
    await asyncio.sleep(0)
    clock.now += 0.3  # a slow build: what it read is already 0.3 s old when it ends
    build.release.set()
    assert await first == b"1"

    clock.now += 0.2
    assert await fresh.get("list", build) == b"2"


async def test_callers_asking_during_a_build_share_it(clock: Clock) -> None:
    fresh, build = FreshResponses(0.5, clock=clock), Builder()
    build.release.clear()
    readers = [asyncio.ensure_future(fresh.get("event", build)) for _ in range(50)]
    await asyncio.sleep(0)
    build.release.set()

    assert await asyncio.gather(*readers) == [b"1"] * 50
    assert build.builds == 1


async def test_a_reader_that_goes_away_does_not_cancel_the_others_build(clock: Clock) -> None:
    fresh, build = FreshResponses(0.5, clock=clock), Builder()
    build.release.clear()
    leaving = asyncio.ensure_future(fresh.get("event", build))
    staying = asyncio.ensure_future(fresh.get("event", build))
    await asyncio.sleep(0)
    leaving.cancel()
    build.release.set()

    assert await staying == b"1"


async def test_a_failed_build_fails_every_reader_and_is_not_kept(clock: Clock) -> None:
    fresh, build = FreshResponses(0.5, clock=clock), Builder()
    build.release.clear()
    build.fail_with = LookupError("event not found")
    readers = [asyncio.ensure_future(fresh.get("event", build)) for _ in range(3)]
    await asyncio.sleep(0)
    build.release.set()
    outcomes = await asyncio.gather(*readers, return_exceptions=True)
    assert [type(outcome) for outcome in outcomes] == [LookupError] * 3

    build.fail_with = None
    assert await fresh.get("event", build) == b"2"


async def test_keys_are_kept_apart(clock: Clock) -> None:
    fresh, build = FreshResponses(0.5, clock=clock), Builder()

    assert await fresh.get(("list", 1), build) == b"1"
    assert await fresh.get(("list", 2), build) == b"2"
    assert await fresh.get(("list", 1), build) == b"1"


async def test_clear_forgets_what_was_kept_and_what_is_being_built(clock: Clock) -> None:
    fresh, build = FreshResponses(0.5, clock=clock), Builder()
    assert await fresh.get("list", build) == b"1"
    fresh.clear()
    assert await fresh.get("list", build) == b"2"

    clock.now += 1
    build.release.clear()
    before_the_write = asyncio.ensure_future(fresh.get("list", build))
    await asyncio.sleep(0)
    fresh.clear()  # a write lands while that build still reads
    build.release.set()
    assert await before_the_write == b"3"
    assert await fresh.get("list", build) == b"4"  # what it built was not kept
    assert build.builds == 4


async def test_no_more_than_max_entries_are_kept(clock: Clock) -> None:
    fresh, build = FreshResponses(0.5, max_entries=2, clock=clock), Builder()
    for page in (1, 2, 3):
        await fresh.get(page, build)
    assert await fresh.get(3, build) == b"4"  # the third was not kept
    clock.now += 1  # the first two expire and make room
    assert await fresh.get(3, build) == b"5"
    assert await fresh.get(3, build) == b"5"


async def test_peek_shows_only_a_young_kept_body_and_builds_nothing(clock: Clock) -> None:
    fresh, build = FreshResponses(0.5, clock=clock), Builder()
    assert fresh.peek("event") is None

    build.release.clear()
    building = asyncio.ensure_future(fresh.get("event", build))
    await asyncio.sleep(0)
    assert fresh.peek("event") is None  # being built is not kept yet
    build.release.set()
    assert await building == b"1"

    clock.now += 0.49
    assert fresh.peek("event") == b"1"
    clock.now += 0.01
    assert fresh.peek("event") is None
    assert await fresh.get("event", build) == b"2"
    fresh.clear()
    assert fresh.peek("event") is None
    assert build.builds == 2
