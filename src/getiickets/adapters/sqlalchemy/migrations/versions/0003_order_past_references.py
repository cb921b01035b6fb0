"""An order's earlier payment references, so a late payment on one still finds it.

A checkout link lost with Paystack's answer cannot be had again (``duplicate_reference``);
the order then moves to a fresh reference and keeps the old ones: in ``orders`` (read
with the order) and in ``order_past_references`` (the index ``get_by_reference`` uses).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("past_references", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
    op.create_table(
        "order_past_references",
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("reference"),
    )
    op.create_index(
        op.f("ix_order_past_references_order_id"),
        "order_past_references",
        ["order_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_order_past_references_order_id"), table_name="order_past_references")
    op.drop_table("order_past_references")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("past_references")
