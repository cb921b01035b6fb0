"""Outbox messages read back from what each backend stored, for tests.

The ``OutboxRepository`` port has no lookup by id or by order: the app never needs one.
Tests that check what was stored read the backend's own storage instead: the fake
database's table, or a SELECT mapped by the SQL adapter's own mapping function. Each
read is of committed state, on a connection of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from getiickets.adapters.memory.tables import clone
from getiickets.adapters.memory.unit_of_work import InMemoryUnitOfWork
from getiickets.adapters.sqlalchemy import mapping
from getiickets.adapters.sqlalchemy.tables import outbox
from getiickets.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork

if TYPE_CHECKING:
    from getiickets.domain.model.notifications import OutboxMessage
    from getiickets.ports.unit_of_work import UnitOfWorkFactory


async def stored_message(uow_factory: UnitOfWorkFactory, message_id: str) -> OutboxMessage | None:
    found = await _stored(uow_factory, "id", message_id)
    return found[0] if found else None


async def stored_messages_for_order(
    uow_factory: UnitOfWorkFactory, order_id: str
) -> list[OutboxMessage]:
    """By ``created_at`` then id."""
    return await _stored(uow_factory, "order_id", order_id)


async def _stored(uow_factory: UnitOfWorkFactory, column: str, value: str) -> list[OutboxMessage]:
    """The messages whose ``column`` is ``value``, by ``created_at`` then id."""
    unit = uow_factory()
    if isinstance(unit, SqlAlchemyUnitOfWork):
        query = (
            sa.select(outbox)
            .where(outbox.c[column] == value)
            .order_by(outbox.c.created_at, outbox.c.id)
        )
        async with unit.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [mapping.outbox_from(row, row.version) for row in rows]
    assert isinstance(unit, InMemoryUnitOfWork), f"no stored outbox for {type(unit).__name__}"
    found = [m for m in unit.database.outbox.rows.values() if getattr(m, column) == value]
    return [clone(m) for m in sorted(found, key=lambda m: (m.created_at, m.id))]
