"""Events name their IANA time zone; the ones already stored are Lagos events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A server default fills the existing rows, on SQLite too (ADD COLUMN with a
    # constant default needs no table rebuild there).
    op.add_column(
        "events",
        sa.Column("timezone", sa.Text(), nullable=False, server_default="Africa/Lagos"),
    )


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("timezone")
