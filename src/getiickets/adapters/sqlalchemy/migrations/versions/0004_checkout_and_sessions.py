"""Orders keep their checkout link; login sessions get a durable table.

``orders.checkout_url`` and ``orders.access_code``: the provider's checkout for the
order's payment reference. The mapping dropped them, so a repeated initialize after a
restart (or on another process) had no link to answer with, and Paystack refuses a
reused reference. Nullable: orders made before this had none stored.

``login_sessions``: the durable copy of every login, so a Redis restarted empty (or
no Redis at all) logs nobody out; Redis only caches it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Session keys and user ids sort by code point on PostgreSQL too, as in 0001.
ID = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")


def upgrade() -> None:
    op.add_column("orders", sa.Column("checkout_url", sa.Text(), nullable=True))
    op.add_column("orders", sa.Column("access_code", sa.Text(), nullable=True))
    op.create_table(
        "login_sessions",
        sa.Column("key", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_sessions")),
    )
    op.create_index("ix_login_sessions_expires_at", "login_sessions", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("login_sessions")
    # Batch mode: SQLite drops a column by rebuilding the table.
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("access_code")
        batch.drop_column("checkout_url")
