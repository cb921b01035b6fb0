"""The login sessions' table: the durable copy Redis only caches.

Apart from the aggregates' tables: a session is hot state with a deadline, read on
every authenticated request, written at login and deleted at logout, never part of a
unit of work. Rows are keyed by the digest of the session token (never the token).
"""

from __future__ import annotations

import sqlalchemy as sa

from getiickets.adapters.sqlalchemy.metadata import UtcDateTime, metadata

ID = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")

login_sessions = sa.Table(
    "login_sessions",
    metadata,
    sa.Column("key", ID, primary_key=True),
    sa.Column("user_id", ID, nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    # Ended sessions are purged oldest first, a few at every login.
    sa.Index("ix_login_sessions_expires_at", "expires_at"),
)
