"""The migrations build exactly the schema the code declares, and take it down again.

"No drift" is Alembic's own comparison (``compare_metadata``) between a database
migrated to head and ``all_tables()``: a column, index or constraint added to a table
module without a migration fails here, as does a migration the tables do not match.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.adapters.sqlalchemy.metadata import all_tables
from getiickets.adapters.sqlalchemy.migrate import alembic_config, downgrade, upgrade

EVERY_TABLE = sorted(table.name for table in all_tables().sorted_tables)
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
"""The newest migration, read from the scripts so a new one needs no edit here."""


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, all_tables()))


def _state(connection: Connection) -> tuple[list[str], str | None]:
    tables = sorted(set(inspect(connection).get_table_names()) - {"alembic_version"})
    return tables, MigrationContext.configure(connection).get_current_revision()


def inspect_database(url: str, look: Any) -> Any:
    async def run() -> Any:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def check_round_trip(url: str) -> None:
    upgrade(url)
    assert inspect_database(url, _state) == (EVERY_TABLE, HEAD)
    assert inspect_database(url, _drift) == []

    upgrade(url)  # already at head: nothing to do, nothing breaks
    assert inspect_database(url, _drift) == []

    downgrade(url, "base")
    assert inspect_database(url, _state) == ([], None)

    upgrade(url)  # and back up from nothing
    assert inspect_database(url, _drift) == []


def test_sqlite_migrates_to_head_without_drift_and_back(tmp_path: Path) -> None:
    check_round_trip(f"sqlite:///{tmp_path / 'getiickets.db'}")


@pytest.mark.postgres
def test_postgres_migrates_to_head_without_drift_and_back(fresh_postgres_dsn: str) -> None:
    check_round_trip(fresh_postgres_dsn)


@pytest.mark.postgres
@pytest.mark.slow
def test_concurrent_upgrades_of_postgres_take_turns(fresh_postgres_dsn: str) -> None:
    # Several processes deploying at once all run `db upgrade`: without the migration
    # lock the second would try to create tables the first is creating.
    script = "import sys; from getiickets.adapters.sqlalchemy.migrate import upgrade; upgrade(sys.argv[1])"
    runs = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed script
            [sys.executable, "-c", script, fresh_postgres_dsn],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outcomes = [(*run.communicate(timeout=60), run.returncode) for run in runs]

    assert [code for _, _, code in outcomes] == [0, 0], outcomes
    assert inspect_database(fresh_postgres_dsn, _drift) == []


def test_inbox_rows_from_before_take_the_domain_names_of_their_events(tmp_path: Path) -> None:
    """An open ``charge.success`` row written under Paystack's names must be the row the
    next delivery or poll of that payment finds (key ``provider:kind:reference``)."""
    url = f"sqlite:///{tmp_path / 'getiickets.db'}"
    upgrade(url, "0005")
    rows = [
        ("paystack:charge.success:TKT-1", "charge.success", "TKT-1", None),
        ("paystack:refund.processed:TKT-2", "refund.processed", "TKT-2", "2026-11-30"),
        ("paystack:charge.dispute.create:TKT-3", "charge.dispute.create", "TKT-3", "2026-11-30"),
        ("paystack:transfer.success:TKT-4", "transfer.success", "TKT-4", None),
        ("paystack:transfer.failed:TKT-4", "transfer.failed", "TKT-4", None),
    ]

    def insert(connection: Connection) -> None:
        for key, event_type, reference, processed_at in rows:
            connection.exec_driver_sql(
                "INSERT INTO payment_inbox (key, provider, event_type, reference, payload, "
                "received_at, processed_at, attempts, version) "
                "VALUES (?, 'paystack', ?, ?, x'', '2026-11-30', ?, 0, 1)",
                (key, event_type, reference, processed_at),
            )
        connection.commit()

    def read(connection: Connection) -> list[tuple[str, str]]:
        result = connection.exec_driver_sql(
            "SELECT key, event_type FROM payment_inbox ORDER BY key"
        )
        return [(row[0], row[1]) for row in result]

    inspect_database(url, insert)
    upgrade(url)

    assert inspect_database(url, read) == [
        ("paystack:charge_succeeded:TKT-1", "charge_succeeded"),
        ("paystack:other:TKT-4", "other"),
        ("paystack:refund_processed:TKT-2", "refund_processed"),
    ]
