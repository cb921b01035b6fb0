"""The idempotency store's contract (the HTTP entrypoint's own storage): the same
tests for the fake and for SQLAlchemy, on the backend's database."""

from __future__ import annotations

import msgspec
import pytest

from getiickets.adapters.idempotency_records import IdempotencyRecord
from getiickets.domain.model.errors import DuplicateError, NotFoundError
from getiickets.entrypoints.http.idempotency import IdempotencyStore
from tests.contract import aggregates as make


async def keep(idempotency_store: IdempotencyStore, *records: IdempotencyRecord) -> None:
    async with idempotency_store() as unit:
        for record in records:
            await unit.add(record)
        await unit.commit()


async def look_up(
    idempotency_store: IdempotencyStore, at: tuple[str, str]
) -> IdempotencyRecord | None:
    async with idempotency_store() as unit:
        return await unit.get(*at)


async def test_idempotency_record_round_trips(idempotency_store: IdempotencyStore) -> None:
    record = make.idempotency_record()
    same_key_other_scope = make.idempotency_record(scope="payments.init", key=record.key)
    await keep(idempotency_store, record, same_key_other_scope)

    async with idempotency_store() as unit:
        assert await unit.get(record.scope, record.key) == record
        assert await unit.get("payments.init", record.key) == same_key_other_scope
        assert await unit.get(record.scope, "unknown") is None


async def test_an_in_progress_idempotency_key_is_completed(
    idempotency_store: IdempotencyStore,
) -> None:
    started = make.idempotency_record(status_code=0, body=b"")
    await keep(idempotency_store, started)
    assert (await look_up(idempotency_store, (started.scope, started.key))).in_progress

    done = msgspec.structs.replace(started, status_code=201, body=b'{"id":"order-9"}')
    async with idempotency_store() as unit:
        await unit.complete(done)
        with pytest.raises(NotFoundError):
            await unit.complete(make.idempotency_record())
        await unit.commit()

    assert await look_up(idempotency_store, (done.scope, done.key)) == done


async def test_a_key_recorded_and_completed_in_one_unit(
    idempotency_store: IdempotencyStore,
) -> None:
    started = make.idempotency_record(status_code=0, body=b"")
    done = msgspec.structs.replace(started, status_code=200, body=b"ok")
    async with idempotency_store() as unit:
        await unit.add(started)
        await unit.complete(done)
        assert await unit.get(done.scope, done.key) == done
        await unit.commit()

    assert await look_up(idempotency_store, (done.scope, done.key)) == done


async def test_a_recorded_key_is_refused_and_the_unit_stays_usable(
    idempotency_store: IdempotencyStore,
) -> None:
    record = make.idempotency_record()
    await keep(idempotency_store, record)
    afterwards = make.idempotency_record(key="another-key")

    async with idempotency_store() as unit:
        with pytest.raises(DuplicateError):
            await unit.add(make.idempotency_record(scope=record.scope, key=record.key))
        # The failure cost nothing else: the unit goes on and commits.
        await unit.add(afterwards)
        await unit.commit()

    assert await look_up(idempotency_store, (afterwards.scope, afterwards.key)) == afterwards
    assert await look_up(idempotency_store, (record.scope, record.key)) == record
