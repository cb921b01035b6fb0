"""``SqlAlchemySessionStore``: login sessions in the database, so no restart loses them.

Each call is one short transaction on a connection of its own, never inside a unit
of work (``Accounts`` calls the store outside its units, so no request waits for a
second connection while holding one).

Time is the injected clock's, as in the in-memory store: ``get`` never answers a
session past its ``expires_at``, and a session stored already ended is removed instead
of kept. Ended rows are deleted at logins, a bounded batch each time (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, so two logins never wait on each other's purge): the
table holds about the sessions alive, with no sweeper to run.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from getiickets.adapters.sqlalchemy.session_tables import login_sessions
from getiickets.domain.model.accounts import Role, Session
from getiickets.ports.clock import Clock

PURGE_BATCH = 100
"""Ended sessions deleted per login: more than logins make, so the table cannot grow."""

_columns = login_sessions.c


class SqlAlchemySessionStore:
    """Implements ``SessionStore`` on the ``login_sessions`` table."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def put(self, session: Session) -> None:
        """Store until ``session.expires_at``; an already ended session is not kept."""
        now = self._clock.now()
        async with self._engine.begin() as connection:
            if not session.is_live(now):
                await connection.execute(
                    sa.delete(login_sessions).where(_columns.key == session.key)
                )
                return
            await connection.execute(self._upsert(connection, session))
            await self._purge_ended(connection, now)

    async def get(self, key: str) -> Session | None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(sa.select(login_sessions).where(_columns.key == key))
            ).one_or_none()
        if row is None:
            return None
        session = Session(
            key=row.key,
            user_id=row.user_id,
            role=Role(row.role),
            created_at=row.created_at,
            expires_at=row.expires_at,
        )
        return session if session.is_live(self._clock.now()) else None

    async def delete(self, key: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(sa.delete(login_sessions).where(_columns.key == key))

    @staticmethod
    def _upsert(connection: AsyncConnection, session: Session) -> sa.Executable:
        values: dict[str, Any] = {
            "key": session.key,
            "user_id": session.user_id,
            "role": session.role.value,
            "created_at": session.created_at,
            "expires_at": session.expires_at,
        }
        insert = (
            postgresql.insert(login_sessions)
            if connection.dialect.name == "postgresql"
            else sqlite.insert(login_sessions)
        )
        return insert.values(values).on_conflict_do_update(
            index_elements=[_columns.key],
            set_={name: value for name, value in values.items() if name != "key"},
        )

    @staticmethod
    async def _purge_ended(connection: AsyncConnection, now: Any) -> None:
        ended = (
            sa.select(_columns.key)
            .where(_columns.expires_at <= now)
            .order_by(_columns.expires_at)
            .limit(PURGE_BATCH)
            .with_for_update(skip_locked=True)
        )
        await connection.execute(sa.delete(login_sessions).where(_columns.key.in_(ended)))
