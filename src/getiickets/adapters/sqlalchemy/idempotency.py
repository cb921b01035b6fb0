"""``SqlAlchemyIdempotencyUnit``: one short transaction on the idempotency table.

The HTTP entrypoint's own storage, apart from the domain's unit of work. It opens its
connection exactly as a ``SqlAlchemyUnitOfWork`` does (SQLite's writer queue, outages
as ``DatabaseUnavailableError``, unique and version conflicts as domain errors), by
using one, and reaches only the idempotency rows through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from getiickets.adapters.sqlalchemy.repositories import SqlAlchemyIdempotencyRepository
from getiickets.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork

if TYPE_CHECKING:
    from types import TracebackType

    from sqlalchemy.ext.asyncio import AsyncEngine

    from getiickets.adapters.idempotency_records import IdempotencyRecord


class SqlAlchemyIdempotencyUnit:
    def __init__(self, engine: AsyncEngine) -> None:
        self._unit = SqlAlchemyUnitOfWork(engine)
        self._records = SqlAlchemyIdempotencyRepository(self._unit.transaction)

    async def __aenter__(self) -> Self:
        await self._unit.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._unit.__aexit__(exc_type, exc, traceback)

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return await self._records.get(scope, key)

    async def add(self, record: IdempotencyRecord) -> None:
        await self._records.add(record)

    async def complete(self, record: IdempotencyRecord) -> None:
        await self._records.complete(record)

    async def commit(self) -> None:
        await self._unit.commit()
