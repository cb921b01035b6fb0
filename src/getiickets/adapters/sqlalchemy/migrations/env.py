"""Alembic's environment: run by Alembic itself, never imported by the application.

``migrate.alembic_config`` builds the configuration in code (no alembic.ini): the
database URL travels in ``config.attributes["url"]``, or a caller that already holds a
synchronous connection (a test, inside ``run_sync``) passes it as
``config.attributes["connection"]``. Online mode only: migrations run against a live
database, through the same ``create_engine`` as the application, so SQLite gets the
same pragmas and real transactions (each upgrade is all or nothing, DDL included).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.adapters.sqlalchemy.metadata import UtcDateTime, all_tables

# Any constant will do, as long as nothing else in the database takes this advisory lock.
_MIGRATION_LOCK_KEY = 0x6765746969636B
"""Serialises concurrent ``db upgrade`` runs (several processes deploying at once)."""

config = context.config
target_metadata = all_tables()


def _render_item(kind: str, item: Any, autogen: AutogenContext) -> str | Literal[False]:
    # Migrations freeze the schema as it was: they spell the stored type, not a type of
    # the application that may change or move later.
    if kind == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite rebuilds to ALTER
        render_item=_render_item,
        compare_type=True,
        # The engine makes SQLite emit a real BEGIN, so its DDL is transactional too.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


async def _run_on_engine(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("getiickets migrations run online only (against a database)")
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    asyncio.run(_run_on_engine(config.attributes["url"]))


_main()
