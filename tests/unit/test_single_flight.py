"""SingleFlight: everyone asking the same thing at once shares one call."""

from __future__ import annotations

import asyncio

import pytest

from getiickets.domain.usecases.single_flight import SingleFlight


class Reads:
    """A read that waits until released, counting how often it was started."""

    def __init__(self) -> None:
        self.started = 0
        self.release = asyncio.Event()

    async def read(self, answer: str = "answer") -> str:
        self.started += 1
        await self.release.wait()
        return answer


async def test_askers_in_flight_share_one_call() -> None:
    flights: SingleFlight[str] = SingleFlight()
    reads = Reads()
    askers = [asyncio.create_task(flights.share("event", reads.read)) for _ in range(8)]
    await asyncio.sleep(0)
    reads.release.set()
    assert await asyncio.gather(*askers) == ["answer"] * 8
    assert reads.started == 1


async def test_other_keys_and_later_askers_make_their_own_call() -> None:
    flights: SingleFlight[str] = SingleFlight()
    reads = Reads()
    reads.release.set()
    assert await flights.share("a", reads.read) == "answer"
    assert await flights.share("a", reads.read) == "answer"
    assert await flights.share("b", reads.read) == "answer"
    assert reads.started == 3


async def test_an_error_reaches_every_asker_and_is_not_kept() -> None:
    flights: SingleFlight[str] = SingleFlight()
    calls = 0

    async def failing() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise LookupError("down")

    askers = [asyncio.create_task(flights.share("event", failing)) for _ in range(3)]
    results = await asyncio.gather(*askers, return_exceptions=True)
    assert all(isinstance(result, LookupError) for result in results)
    assert calls == 1
    with pytest.raises(LookupError):
        await flights.share("event", failing)
    assert calls == 2


async def test_an_asker_giving_up_does_not_cancel_the_others() -> None:
    flights: SingleFlight[str] = SingleFlight()
    reads = Reads()
    leaving = asyncio.create_task(flights.share("event", reads.read))
    staying = asyncio.create_task(flights.share("event", reads.read))
    await asyncio.sleep(0)
    leaving.cancel()
    await asyncio.sleep(0)
    reads.release.set()
    assert await staying == "answer"
    assert leaving.cancelled()


async def test_forget_starts_a_new_call_that_the_old_ones_landing_does_not_drop() -> None:
    flights: SingleFlight[str] = SingleFlight()
    old, new = Reads(), Reads()
    first = asyncio.create_task(flights.share("event", lambda: old.read("old")))
    await asyncio.sleep(0)
    flights.forget()
    second = asyncio.create_task(flights.share("event", lambda: new.read("new")))
    await asyncio.sleep(0)
    old.release.set()
    assert await first == "old"
    # The old call has landed; a third asker still joins the new call in flight.
    third = asyncio.create_task(flights.share("event", lambda: new.read("other")))
    await asyncio.sleep(0)
    new.release.set()
    assert await asyncio.gather(second, third) == ["new", "new"]
    assert (old.started, new.started) == (1, 1)
