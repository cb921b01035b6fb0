"""Tables of the SQL inventory: one stock row per ticket type, one row per hold.

They belong to the inventory, not to the catalogue or the orders: the stock row is
what ``SqlAlchemyInventory`` locks to serialise the operations on one ticket type, and
it can be dropped and rebuilt from the order facts at any time. So there
is no foreign key to the ticket types: a rebuild must not depend on insert order.
"""

from __future__ import annotations

import sqlalchemy as sa

from getiickets.adapters.sqlalchemy.metadata import UtcDateTime, metadata

ID = sa.String(64)
"""Ticket type and hold ids are opaque strings from the IdGenerator port."""

inventory_stock = sa.Table(
    "inventory_stock",
    metadata,
    sa.Column("ticket_type_id", ID, primary_key=True),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("sold", sa.Integer, nullable=False),
    sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    # Not ``sold <= capacity``: the row is rebuilt from the order facts as they are, and a
    # rebuild that fails would leave the ticket type unreadable (the in-memory inventory
    # accepts such facts too). The operations themselves never sell past capacity.
    sa.CheckConstraint("sold >= 0", name="sold_not_negative"),
)

inventory_holds = sa.Table(
    "inventory_holds",
    metadata,
    sa.Column("hold_id", ID, primary_key=True),
    sa.Column("ticket_type_id", ID, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("confirmed", sa.Boolean, nullable=False, default=False),
    sa.CheckConstraint("quantity >= 1", name="quantity_positive"),
    # Every operation sums the live unconfirmed holds of one ticket type and deletes its
    # expired ones: with the ticket type first this index serves both, and keeps the
    # growing number of confirmed rows out of the range scanned.
    sa.Index(None, "ticket_type_id", "confirmed", "expires_at"),
)
