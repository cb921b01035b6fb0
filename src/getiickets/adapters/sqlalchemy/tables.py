"""The aggregates' tables, as SQLAlchemy Core (msgspec Structs cannot be ORM-mapped).

Conventions, matching the in-memory database the contract suites compare against:

* Money is two columns, BIGINT minor units and CHAR(3) currency; never a float.
* Every aggregate root has a ``version`` column for optimistic locking.
* Unique facts are constraints, so they hold under any concurrency: ``users.email_key``
  (the normalised email, so ``Ada@x.ng`` and ``ada@x.ng`` collide while each user's
  email reads back as it was given), ``events.slug``, ``ticket_types.id`` (ids are
  unique across events), ``orders.order_number``, ``orders.payment_reference``
  (nullable), ``tickets.ticket_number``, ``payment_inbox.key``, idempotency
  ``(scope, key)``.
* Children belong to their aggregate (``ticket_types`` to ``events``, ``order_lines`` to
  ``orders``: foreign key, cascade). Aggregates refer to each other by id only, with no
  foreign key, as in the in-memory database: an order line outlives a ticket type the
  organizer removed, and no write has to wait on another aggregate's row.
* ``category_key`` and ``city_key`` hold Python's ``str.lower()`` of the text, because
  SQLite's ``lower()`` folds ASCII only and listings must match ``Ọyọ`` like the fake.
* Identifiers we generate are ``String(64)``; free text is ``Text``, unbounded as in the
  domain, so PostgreSQL never refuses what the fake accepts. Keys that order listings
  sort by code point on PostgreSQL too (``ID``, ``KEY``).
"""

from __future__ import annotations

import sqlalchemy as sa

from getiickets.adapters.sqlalchemy.metadata import UtcDateTime, metadata

# Identifiers order ties in every listing ("then by id"). PostgreSQL would sort them by
# the database's locale (en_US puts "B" after "a" and skips punctuation); "C" sorts by
# code point, as SQLite and Python (the fakes) do, whatever locale the server has.
ID = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
KEY = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
STATUS = sa.String(32)
CURRENCY = sa.CHAR(3)


def _version() -> sa.Column[int]:
    return sa.Column("version", sa.Integer, nullable=False)


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("email_key", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", STATUS, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("phone", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False),
    _version(),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("slug", sa.Text, nullable=False, unique=True),
    sa.Column("organizer_id", ID, nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("category_key", sa.Text, nullable=False),
    sa.Column("city", sa.Text, nullable=False),
    sa.Column("city_key", sa.Text, nullable=False),
    sa.Column("venue", sa.Text, nullable=False),
    sa.Column("starts_at", UtcDateTime, nullable=False),
    sa.Column("ends_at", UtcDateTime),
    # Rows from before time zones were Lagos events: the default says so.
    sa.Column("timezone", sa.Text, nullable=False, server_default="Africa/Lagos"),
    sa.Column("currency", CURRENCY, nullable=False),
    sa.Column("status", STATUS, nullable=False),
    sa.Column("image_key", sa.Text),
    sa.Column("created_at", UtcDateTime),
    _version(),
    # list_published: published events in starts_at order, the filters narrow that range.
    sa.Index("ix_events_listing", "status", "starts_at", "id"),
)

ticket_types = sa.Table(
    "ticket_types",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column(
        "event_id", ID, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    # Where the type sits in the event's list: that order is part of the event.
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("price_amount", sa.BigInteger, nullable=False),
    sa.Column("price_currency", CURRENCY, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("max_per_order", sa.Integer, nullable=False),
    sa.Column("sales_start", UtcDateTime),
    sa.Column("sales_end", UtcDateTime),
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("order_number", ID, nullable=False, unique=True),
    sa.Column("event_id", ID, nullable=False),
    sa.Column("buyer_email", sa.Text, nullable=False),
    sa.Column("buyer_name", sa.Text, nullable=False),
    sa.Column("buyer_phone", sa.Text),
    sa.Column("buyer_user_id", ID, index=True),
    sa.Column("total_amount", sa.BigInteger, nullable=False),
    sa.Column("total_currency", CURRENCY, nullable=False),
    sa.Column("status", STATUS, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("access_token_digest", sa.Text, nullable=False),
    sa.Column("paid_at", UtcDateTime),
    sa.Column("payment_reference", sa.Text, unique=True),
    sa.Column("checkout_url", sa.Text),
    sa.Column("access_code", sa.Text),
    sa.Column("payment_issue", sa.Text),
    sa.Column("refunded_at", UtcDateTime),
    sa.Column("refund_due", sa.Boolean, nullable=False),
    # Earlier references (a checkout link lost with a provider answer); found by
    # order_past_references below.
    sa.Column("past_references", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
    _version(),
    # due_for_expiry: pending orders by expiry.
    sa.Index("ix_orders_expiry", "status", "expires_at", "id"),
    # The sales view: one event's orders by status.
    sa.Index("ix_orders_event_status", "event_id", "status"),
    # refunds_due: the few refunded orders still owing a refund request.
    sa.Index(
        "ix_orders_refunds_due",
        "refunded_at",
        "id",
        postgresql_where=sa.text("refund_due"),
        sqlite_where=sa.text("refund_due"),
    ),
)

order_past_references = sa.Table(
    "order_past_references",
    metadata,
    # get_by_reference: a late payment on an order's older reference finds the order.
    sa.Column("reference", sa.Text, primary_key=True),
    sa.Column(
        "order_id", ID, sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    ),
)

order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("order_id", ID, sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("ticket_type_id", ID, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price_amount", sa.BigInteger, nullable=False),
    sa.Column("unit_price_currency", CURRENCY, nullable=False),
    sa.Column("hold_id", ID, nullable=False),
    # stock_facts: every line of one ticket type.
    sa.Index("ix_order_lines_ticket_type_id", "ticket_type_id"),
)

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("ticket_number", ID, nullable=False, unique=True),
    sa.Column("order_id", ID, nullable=False, index=True),
    sa.Column("event_id", ID, nullable=False, index=True),
    sa.Column("ticket_type_id", ID, nullable=False),
    sa.Column("holder_name", sa.Text, nullable=False),
    sa.Column("qr_payload", sa.Text, nullable=False),
    sa.Column("issued_at", UtcDateTime, nullable=False),
    sa.Column("status", STATUS, nullable=False),
    sa.Column("checked_in_at", UtcDateTime),
    sa.Column("qr_key", sa.Text),
    sa.Column("pdf_key", sa.Text),
    _version(),
    # without_files: partial, so it holds only the few tickets still waiting for files.
    sa.Index(
        "ix_tickets_without_files",
        "issued_at",
        "id",
        postgresql_where=sa.text("qr_key IS NULL OR pdf_key IS NULL"),
        sqlite_where=sa.text("qr_key IS NULL OR pdf_key IS NULL"),
    ),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("channel", STATUS, nullable=False),
    sa.Column("template", STATUS, nullable=False),
    sa.Column("recipient", sa.Text, nullable=False),
    sa.Column("recipient_name", sa.Text, nullable=False),
    sa.Column("order_id", ID, nullable=False, index=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("status", STATUS, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("provider_message_id", sa.Text, index=True),
    sa.Column("delivery_status", sa.Text),
    sa.Column("sent_at", UtcDateTime),
    _version(),
    # claim_due: partial, so sent, skipped and dead messages (nearly all) stay out of it.
    sa.Index(
        "ix_outbox_due",
        "next_attempt_at",
        "id",
        postgresql_where=sa.text("status IN ('pending', 'failed')"),
        sqlite_where=sa.text("status IN ('pending', 'failed')"),
    ),
)

payment_inbox = sa.Table(
    "payment_inbox",
    metadata,
    sa.Column("key", KEY, primary_key=True),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("reference", sa.Text, nullable=False, index=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("processed_at", UtcDateTime),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime),
    sa.Column("last_error", sa.Text),
    _version(),
    # due_for_retry: partial, only the unprocessed events.
    sa.Index(
        "ix_payment_inbox_unprocessed",
        "next_attempt_at",
        "received_at",
        postgresql_where=sa.text("processed_at IS NULL"),
        sqlite_where=sa.text("processed_at IS NULL"),
    ),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    # Completing a key is a save like any other: two completions cannot both win.
    _version(),
)
