"""What an open unit of work shares with its repositories.

``Transaction`` holds the unit's connection while it is open (repositories raise
``RuntimeError`` when used outside ``async with``, as the fakes do) and the ledger of
rows the unit wrote, which keeps versions exactly as the in-memory database keeps them:

* An insert stores ``version = 1``; an update checks the caller's ``version`` and
  stores ``version + 1``. However many times a unit writes a row, it stores one new
  version, the one the fake stores when it commits the unit's single staged write.
* The caller's objects get the stored version when the unit commits, not before, so
  after a rollback they are as they were; after a commit they equal a fresh ``get``.
* Until then, reading a row the unit wrote shows the version its writer held, as a
  staged row in the fake does, so get-change-save can repeat inside one unit.

Unique violations never reach the caller as driver errors: single-row inserts use
``ON CONFLICT DO NOTHING`` and count the rows (no failed statement at all), other
writes that may collide run inside a savepoint (``unique_facts``), so PostgreSQL's
transaction stays usable after the domain error, as the fake's unit does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from getiickets.domain.model.errors import ConflictError, DomainError

_POSTGRES_UNIQUE_VIOLATION = "23505"
_SQLITE_UNIQUE_VIOLATIONS = {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}


def is_unique_violation(error: IntegrityError) -> bool:
    original = error.orig
    if getattr(original, "sqlstate", None) == _POSTGRES_UNIQUE_VIOLATION:
        return True
    return getattr(original, "sqlite_errorname", None) in _SQLITE_UNIQUE_VIOLATIONS


@dataclass
class _Written:
    """One row this unit wrote."""

    inserted: bool
    base: int
    """For an update: the stored version it was based on."""
    stored: int
    """The version stored in this transaction (1 for an insert, base + 1 for an update)."""
    visible: int
    """The version reads in this unit show: the writer's, as in the fake's staged row."""
    targets: list[Any] = field(default_factory=list)
    """The callers' objects that get ``stored`` as their version at commit."""


class Ledger:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, Hashable], _Written] = {}

    def inserted(self, table: Table, pk: Hashable, target: Any) -> None:
        self._rows[table.name, pk] = _Written(
            inserted=True, base=0, stored=1, visible=target.version, targets=[target]
        )

    def plan_update(self, table: Table, pk: Hashable, caller_version: int) -> tuple[int, int]:
        """The version the UPDATE must find, and the one it stores.

        Raises ``ConflictError`` where the fake's staging check would.
        """
        written = self._rows.get((table.name, pk))
        if written is None:
            return caller_version, caller_version + 1
        if not written.inserted and caller_version != written.base:
            raise ConflictError(f"{table.name} {pk} was changed by someone else")
        # A row inserted in this unit stays an insert whatever version the caller holds.
        return written.stored, written.stored

    def updated(self, table: Table, pk: Hashable, target: Any, stored: int) -> None:
        written = self._rows.get((table.name, pk))
        if written is None:
            self._rows[table.name, pk] = _Written(
                inserted=False,
                base=target.version,
                stored=stored,
                visible=target.version,
                targets=[target],
            )
            return
        written.visible = target.version
        written.targets = [t for t in written.targets if t is not target] + [target]

    def visible(self, table: Table, pk: Hashable, stored: int) -> int:
        written = self._rows.get((table.name, pk))
        return stored if written is None else written.visible

    def stamp(self) -> None:
        """The unit committed: its callers' objects now carry the stored versions."""
        for written in self._rows.values():
            for target in written.targets:
                target.version = written.stored

    def clear(self) -> None:
        self._rows.clear()


class Transaction:
    def __init__(self) -> None:
        self.ledger = Ledger()
        self._connection: AsyncConnection | None = None
        self._read_only = False

    @property
    def is_open(self) -> bool:
        return self._connection is not None

    def open(self, connection: AsyncConnection, *, read_only: bool) -> None:
        self._connection = connection
        self._read_only = read_only
        self.ledger.clear()

    def close(self) -> None:
        self._connection = None
        self.ledger.clear()

    @property
    def connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError(
                "the unit of work is not open: use it inside `async with uow:` before commit"
            )
        return self._connection

    def for_write(self) -> AsyncConnection:
        connection = self.connection
        if self._read_only:
            raise RuntimeError(
                "this unit of work is nested inside another one of the same task on SQLite, "
                "which holds the database's only write lock: it can read, not write"
            )
        return connection

    @property
    def dialect(self) -> str:
        return self.connection.dialect.name

    def insert_unless_taken(self, table: Table) -> Any:
        """``INSERT ... ON CONFLICT DO NOTHING``: a taken unique fact inserts no row."""
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return dialect_insert(table).on_conflict_do_nothing()

    @asynccontextmanager
    async def unique_facts(self, error: Callable[[], DomainError]) -> AsyncIterator[None]:
        """Run writes in a savepoint; a unique violation undoes them and raises ``error()``."""
        try:
            async with self.for_write().begin_nested():
                yield
        except IntegrityError as violation:
            if not is_unique_violation(violation):
                raise
            raise error() from violation
