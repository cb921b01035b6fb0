"""The waiting room's durable part: each event's queue settings, one row per event.

The line itself lives in the hot store (Redis or memory); only what the organizer set
must survive a restart of it. No foreign key to ``events``, as between aggregates.
"""

from __future__ import annotations

import sqlalchemy as sa

from getiickets.adapters.sqlalchemy.metadata import UtcDateTime, metadata

queue_settings = sa.Table(
    "queue_settings",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("admit_per_minute", sa.Integer, nullable=False),
    sa.Column("session_minutes", sa.Integer, nullable=False),
    sa.Column("max_active", sa.Integer),
    sa.Column("opens_at", UtcDateTime),
    sa.Column("max_per_admission", sa.Integer, nullable=False),
)
