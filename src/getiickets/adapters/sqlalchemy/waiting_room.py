"""``SqlAlchemyQueueSettingsStore``: each event's queue settings, one row, written whole.

Each call is one short transaction of its own: the store is never used inside a unit
of work, so it never holds a connection while waiting for another.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from getiickets.adapters.sqlalchemy.waiting_room_tables import queue_settings
from getiickets.domain.model.waiting_room import QueueSettings

_COLUMNS = (
    "enabled",
    "admit_per_minute",
    "session_minutes",
    "max_active",
    "opens_at",
    "max_per_admission",
)


class SqlAlchemyQueueSettingsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, event_id: str) -> QueueSettings | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    sa.select(queue_settings).where(queue_settings.c.event_id == event_id)
                )
            ).first()
        if row is None:
            return None
        return QueueSettings(event_id=event_id, **{name: row._mapping[name] for name in _COLUMNS})

    async def put(self, settings: QueueSettings) -> None:
        values = {"event_id": settings.event_id} | {
            name: getattr(settings, name) for name in _COLUMNS
        }
        insert = (
            postgresql.insert(queue_settings)
            if self._engine.dialect.name == "postgresql"
            else sqlite.insert(queue_settings)
        )
        statement = insert.values(**values).on_conflict_do_update(
            index_elements=[queue_settings.c.event_id],
            set_={name: values[name] for name in _COLUMNS},
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)
