"""The one ``MetaData`` every table module registers on, and column types they share.

Alembic compares its migrations against this metadata (the drift test), so every
table module must be imported by ``all_tables()`` before the comparison.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can name what they alter or drop.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

TABLE_MODULES = (
    "getiickets.adapters.sqlalchemy.tables",
    "getiickets.adapters.sqlalchemy.inventory_tables",
    "getiickets.adapters.sqlalchemy.session_tables",
    "getiickets.adapters.sqlalchemy.waiting_room_tables",
)


def all_tables() -> MetaData:
    """The metadata with every table module loaded."""
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return metadata


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on PostgreSQL and on SQLite alike.

    SQLite keeps no offset, so values are normalised to UTC on the way in and given
    their ``UTC`` tzinfo back on the way out; a naive datetime is refused, because
    guessing its zone is how times silently shift by an hour.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give them a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
