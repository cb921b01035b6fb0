"""Inbox rows say what an event means in the domain's words, not the provider's.

Reading a webhook moved into the payment gateway, which names events by kind
(``charge_succeeded``...) instead of Paystack's names (``charge.success``...), and keys
inbox rows ``provider:kind:reference``. Rows written before keep the old names and
keys: an open ``charge.success`` row would otherwise never be matched by the next
delivery or poll of its payment. Events of other kinds now share one row per
reference: processed ones carry nothing more to do and are dropped, and of open ones
the earliest is kept.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RENAMED = {
    "charge.success": "charge_succeeded",
    "charge.failed": "charge_failed",
    "refund.processed": "refund_processed",
}
KINDS = (*RENAMED.values(), "other")
_KNOWN = ", ".join(f"'{name}'" for name in (*RENAMED, *KINDS))


def upgrade() -> None:
    for old, new in RENAMED.items():
        op.execute(
            sa.text(
                "UPDATE payment_inbox SET event_type = :new, "
                "key = provider || ':' || :new || ':' || reference WHERE event_type = :old"
            ).bindparams(old=old, new=new)
        )
    others = f"event_type NOT IN ({_KNOWN})"
    op.execute(f"DELETE FROM payment_inbox WHERE {others} AND processed_at IS NOT NULL")  # noqa: S608 - constant names
    op.execute(
        f"DELETE FROM payment_inbox WHERE {others} AND key NOT IN ("  # noqa: S608
        f"SELECT min(key) FROM payment_inbox WHERE {others} GROUP BY provider, reference)"
    )
    op.execute(
        f"UPDATE payment_inbox SET event_type = 'other', "  # noqa: S608
        f"key = provider || ':other:' || reference WHERE {others}"
    )


def downgrade() -> None:
    # Events of other kinds lost their provider's names; the three the app acts on
    # get theirs back.
    for old, new in RENAMED.items():
        op.execute(
            sa.text(
                "UPDATE payment_inbox SET event_type = :old, "
                "key = provider || ':' || :old || ':' || reference WHERE event_type = :new"
            ).bindparams(old=old, new=new)
        )
