"""``InMemoryIdempotencyUnit``: one short transaction over the fake's idempotency table.

The HTTP entrypoint's own storage, apart from the domain's unit of work: it behaves as
``InMemoryUnitOfWork`` does (staged writes, all or nothing on ``commit``, closed after
commit or rollback) over the one table, so the contract suite can hold it and
``SqlAlchemyIdempotencyUnit`` to the same promises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from getiickets.adapters.memory.connections import unit_closed, unit_opened
from getiickets.adapters.memory.repositories import InMemoryIdempotencyRepository
from getiickets.adapters.memory.tables import Changes, commit_all

if TYPE_CHECKING:
    from types import TracebackType

    from getiickets.adapters.idempotency_records import IdempotencyRecord
    from getiickets.adapters.memory.database import InMemoryDatabase


class InMemoryIdempotencyUnit:
    def __init__(self, database: InMemoryDatabase) -> None:
        self._changes = Changes(database.idempotency)
        self._records = InMemoryIdempotencyRepository(self._changes)
        self._counted = False

    async def __aenter__(self) -> Self:
        if self._changes.is_open:
            raise RuntimeError("this unit is already open; units do not nest")
        self._changes.is_open = True
        # Counted as a held connection, like a unit of work's.
        unit_opened()
        self._counted = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close()

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return await self._records.get(scope, key)

    async def add(self, record: IdempotencyRecord) -> None:
        await self._records.add(record)

    async def complete(self, record: IdempotencyRecord) -> None:
        await self._records.complete(record)

    async def commit(self) -> None:
        if not self._changes.is_open:
            raise RuntimeError("commit outside `async with`, or after commit or rollback")
        try:
            commit_all([self._changes])
        finally:
            self._close()

    def _close(self) -> None:
        if self._counted:
            unit_closed()
            self._counted = False
        self._changes.clear()
        self._changes.is_open = False
