"""Orders keep their checkout link; login sessions get a durable table.

``orders.checkout_url`` and ``orders.access_code``: the provider's checkout for the
order's payment reference. The mapping dropped them, so a repeated initialize after a
restart (or on another process) had no link to answer with, and Paystack refuses a
reused reference. Nullable: orders made before this had none stored.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
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
    op.add_column("orders", sa.Column("checkout_url", sa.Text(), nullable=True))
    op.add_column("orders", sa.Column("access_code", sa.Text(), nullable=True))


def downgrade() -> None:
    # Batch mode: SQLite drops a column by rebuilding the table.
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("access_code")
        batch.drop_column("checkout_url")
