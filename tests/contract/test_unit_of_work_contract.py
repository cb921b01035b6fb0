"""The unit of work's contract: one transaction, all or nothing, closed when done.

The same tests for ``InMemoryUnitOfWork`` and ``SqlAlchemyUnitOfWork`` (SQLite and
PostgreSQL); see ``conftest`` for the backends.
"""

from __future__ import annotations

import asyncio

import pytest

from getiickets.domain.model.errors import ConflictError
from getiickets.domain.usecases.retrying import retry_on_conflict
from getiickets.ports.unit_of_work import UnitOfWorkFactory
from tests.contract import aggregates as make
from tests.contract.stored_outbox import stored_message


class BoomError(Exception):
    pass


async def test_commit_keeps_the_writes_and_stamps_the_stored_version(
    uow_factory: UnitOfWorkFactory,
) -> None:
    show = make.event()
    async with uow_factory() as uow:
        await uow.events.add(show)
        # Until the commit the caller's object keeps its version (a rollback must not
        # leave it claiming a version that was never stored).
        assert show.version == 0
        await uow.commit()

    assert show.version == 1
    async with uow_factory() as uow:
        assert await uow.events.get(show.id) == show


async def test_leaving_without_commit_keeps_nothing(uow_factory: UnitOfWorkFactory) -> None:
    buyer = make.user()
    show = make.event()
    async with uow_factory() as uow:
        await uow.users.add(buyer)
        await uow.events.add(show)

    async with uow_factory() as uow:
        assert await uow.users.get(buyer.id) is None
        assert await uow.events.get(show.id) is None
    assert (buyer.version, show.version) == (0, 0)


async def test_an_error_inside_keeps_nothing(uow_factory: UnitOfWorkFactory) -> None:
    buyer = make.user()
    with pytest.raises(BoomError):  # noqa: PT012 - the error escapes the unit on purpose
        async with uow_factory() as uow:
            await uow.users.add(buyer)
            raise BoomError

    async with uow_factory() as uow:
        assert await uow.users.get(buyer.id) is None


async def test_rollback_keeps_nothing_and_undoes_saves(uow_factory: UnitOfWorkFactory) -> None:
    note = make.message()
    async with uow_factory() as uow:
        await uow.outbox.add(note)
        await uow.commit()

    changed = await stored_message(uow_factory, note.id)
    async with uow_factory() as uow:
        changed.record_sent("provider-1", make.T0)
        await uow.outbox.save(changed)
        await uow.outbox.add(extra := make.message())
        await uow.rollback()

    assert await stored_message(uow_factory, note.id) == note
    assert await stored_message(uow_factory, extra.id) is None
    assert changed.version == 1  # never stored, so never stamped


async def test_a_closed_unit_refuses_to_be_used(uow_factory: UnitOfWorkFactory) -> None:
    uow = uow_factory()
    with pytest.raises(RuntimeError):
        await uow.users.get("anyone")
    with pytest.raises(RuntimeError):
        await uow.commit()

    async with uow:
        await uow.commit()
        with pytest.raises(RuntimeError):
            await uow.users.get("anyone")
        with pytest.raises(RuntimeError):
            await uow.commit()

    async with uow:
        await uow.rollback()
        with pytest.raises(RuntimeError):
            await uow.users.add(make.user())

    # Opened again, the same object is a fresh unit.
    buyer = make.user()
    async with uow:
        await uow.users.add(buyer)
        await uow.commit()
    async with uow:
        assert await uow.users.get(buyer.id) == buyer


async def test_a_unit_does_not_nest_in_itself(uow_factory: UnitOfWorkFactory) -> None:
    uow = uow_factory()
    async with uow:
        with pytest.raises(RuntimeError):
            async with uow:
                pass


async def test_a_conflict_keeps_nothing_of_the_unit(uow_factory: UnitOfWorkFactory) -> None:
    show = make.event()
    async with uow_factory() as uow:
        await uow.events.add(show)
        await uow.commit()
    async with uow_factory() as uow:
        stale = await uow.events.get(show.id)
    async with uow_factory() as uow:
        fresh = await uow.events.get(show.id)
        fresh.title = "Winner"
        await uow.events.save(fresh)
        await uow.commit()

    bystander = make.user()
    stale.title = "Loser"
    # SQL refuses at save, the fake at commit if the winner committed in between:
    # either way the whole unit fails.
    with pytest.raises(ConflictError):  # noqa: PT012
        async with uow_factory() as uow:
            await uow.users.add(bystander)
            await uow.events.save(stale)
            await uow.commit()

    async with uow_factory() as uow:
        assert await uow.users.get(bystander.id) is None
        assert await uow.events.get(show.id) == fresh
    assert (fresh.version, stale.version, bystander.version) == (2, 1, 0)


async def test_a_unit_reads_its_own_writes_and_saves_repeatedly(
    uow_factory: UnitOfWorkFactory,
) -> None:
    show = make.event()
    async with uow_factory() as uow:
        await uow.events.add(show)
        again = await uow.events.get(show.id)
        assert again == show
        again.title = "Renamed before the first commit"
        await uow.events.save(again)
        assert (await uow.events.get(show.id)).title == "Renamed before the first commit"
        await uow.commit()
    assert show.version == again.version == 1

    async with uow_factory() as uow:
        first = await uow.events.get(show.id)
        first.title = "First change"
        await uow.events.save(first)
        second = await uow.events.get(show.id)
        assert second == first
        second.venue = "Second change"
        await uow.events.save(second)
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.events.get(show.id)
    # One unit, one new version, however many saves it made.
    assert stored == second
    assert (stored.title, stored.venue, stored.version) == ("First change", "Second change", 2)


async def test_a_unit_opened_inside_another_sees_only_committed_state(
    uow_factory: UnitOfWorkFactory,
) -> None:
    known = make.user()
    async with uow_factory() as uow:
        await uow.users.add(known)
        await uow.commit()

    pending = make.user()
    async with uow_factory() as outer:
        await outer.users.add(pending)
        async with uow_factory() as inner:
            assert await inner.users.get(pending.id) is None
            assert await inner.users.get(known.id) == known
        await outer.commit()

    async with uow_factory() as uow:
        assert await uow.users.get(pending.id) == pending


async def test_concurrent_units_commit_independently(uow_factory: UnitOfWorkFactory) -> None:
    buyers = [make.user() for _ in range(10)]

    async def register(index: int) -> None:
        async with uow_factory() as uow:
            await uow.users.add(buyers[index])
            await asyncio.sleep(0)  # let the others start theirs
            if index % 2:
                await uow.commit()

    await asyncio.gather(*(register(i) for i in range(10)))

    async with uow_factory() as uow:
        found = [await uow.users.get(buyer.id) for buyer in buyers]
    assert [user is not None for user in found] == [i % 2 == 1 for i in range(10)]


async def test_racing_read_modify_write_loses_no_update(uow_factory: UnitOfWorkFactory) -> None:
    webhook = make.inbox_event()
    async with uow_factory() as uow:
        await uow.payment_inbox.add(webhook)
        await uow.commit()

    async def record_one_failure() -> None:
        async with uow_factory() as uow:
            event = await uow.payment_inbox.get(webhook.key)
            await asyncio.sleep(0)  # the others read the same version meanwhile
            event.record_failure("gateway down", make.T0)
            await uow.payment_inbox.save(event)
            await uow.commit()

    await asyncio.gather(*(retry_on_conflict(record_one_failure) for _ in range(5)))

    async with uow_factory() as uow:
        stored = await uow.payment_inbox.get(webhook.key)
    assert stored.attempts == 5
    assert stored.version == 6
