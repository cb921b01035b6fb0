"""Tables with unique indexes and optimistic versions: the in-memory database's engine.

They mirror a SQL database at read committed with optimistic locking, so that the
contract suites can hold it and the SQLAlchemy adapter to the same rules:

* **Rows are copied through JSON.** Staging a write and every read make a
  ``msgspec.json`` round trip, so nothing the caller holds shares memory with the
  store, and free-form data (``OutboxMessage.data``) comes back the way a JSON column
  gives it back: a tuple as a list, an object JSON cannot hold as an error at once.
* **Versions.** Inserting a row stores ``version = 1``. Updating a row requires the
  stored version to equal the caller's ``version`` and stores ``version + 1``; after a
  successful commit the caller's objects carry the stored version too, so the same
  object can be saved again by a later unit and equals what a fresh read returns.
  An update of a row that is gone, or whose version moved, is a ``ConflictError``.
* **Unique facts** (a primary key, a slug, an email...) are indexes. A unit checks them
  when it stages a write, against committed state plus its own staged writes, and
  again at commit, since another unit may have committed in between.
* **Commit is atomic.** It validates every staged write of every table, then applies
  them all, with no ``await`` anywhere: under asyncio nothing can interleave, so a
  failed commit applies nothing and a successful one is seen whole.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import msgspec

from getiickets.domain.model.errors import ConflictError, DomainError, DuplicateError


class Row(Protocol):
    """What a table stores: a msgspec Struct with an optimistic-locking version."""

    version: int


R = TypeVar("R", bound=Row)


def clone(row: R) -> R:
    """A copy that shares nothing with ``row``, shaped as a JSON column would return it."""
    return msgspec.json.decode(msgspec.json.encode(row), type=type(row))


@dataclass(frozen=True)
class UniqueIndex(Generic[R]):
    """A unique fact: no two rows may share any of the values ``values`` yields."""

    name: str
    values: Callable[[R], Iterable[Hashable]]
    """Several values for a row whose children are unique too (an event's ticket types)."""
    error: Callable[[Hashable], DomainError]


@dataclass
class Write(Generic[R]):
    """One row a unit means to write, and the caller objects to stamp with its version."""

    row: R
    expected_version: int | None
    """None for an insert; else the stored version the update was based on."""
    targets: list[R] = field(default_factory=list)


class Table(Generic[R]):
    def __init__(
        self,
        name: str,
        primary_key: Callable[[R], Hashable],
        indexes: Sequence[UniqueIndex[R]] = (),
    ) -> None:
        self.name = name
        self.primary_key = primary_key
        self.rows: dict[Hashable, R] = {}
        self._indexes = list(indexes)
        self._owners: dict[str, dict[Hashable, Hashable]] = {index.name: {} for index in indexes}

    def __len__(self) -> int:
        return len(self.rows)

    def find(self, index_name: str, value: Hashable) -> Hashable | None:
        """The primary key of the committed row holding ``value`` in that index."""
        return self._owners[index_name].get(value)

    def check(
        self, writes: Mapping[Hashable, Write[R]], only: Iterable[Hashable] | None = None
    ) -> None:
        """Raise if applying ``writes`` would break a version or a unique fact.

        ``only`` limits the check to the writes under those keys (the one being staged),
        so a unit learns about its own mistake where it made it.
        """
        checked = set(writes) if only is None else set(only)
        for pk in checked:
            self._check_version(pk, writes[pk])
        for index in self._indexes:
            self._check_unique(index, writes, checked)

    def _check_version(self, pk: Hashable, write: Write[R]) -> None:
        stored = self.rows.get(pk)
        if write.expected_version is None:
            if stored is not None:
                raise DuplicateError(f"{self.name} {pk} already exists")
        elif stored is None:
            raise ConflictError(f"{self.name} {pk} no longer exists")
        elif stored.version != write.expected_version:
            raise ConflictError(f"{self.name} {pk} was changed by someone else")

    def _check_unique(
        self, index: UniqueIndex[R], writes: Mapping[Hashable, Write[R]], checked: set[Hashable]
    ) -> None:
        claimed: dict[Hashable, set[Hashable]] = {}
        for pk, write in writes.items():
            values = list(index.values(write.row))
            if pk in checked and len(set(values)) != len(values):
                raise index.error(next(v for v in values if values.count(v) > 1))
            for value in values:
                claimed.setdefault(value, set()).add(pk)
        owners = self._owners[index.name]
        for pk in checked:
            for value in index.values(writes[pk].row):
                if len(claimed[value]) > 1:
                    raise index.error(value)
                owner = owners.get(value)
                # A committed owner that this batch rewrites has released the value
                # unless its new row claims it again, which ``claimed`` caught above.
                if owner is not None and owner != pk and owner not in writes:
                    raise index.error(value)

    def apply(self, writes: Mapping[Hashable, Write[R]]) -> None:
        """Store checked writes; stamp versions on the stored rows and the callers' objects."""
        for pk in writes:
            old = self.rows.get(pk)
            if old is not None:
                self._unindex(pk, old)
        for pk, write in writes.items():
            version = 1 if write.expected_version is None else write.expected_version + 1
            stored = write.row  # already a private copy, made when the write was staged
            stored.version = version
            self.rows[pk] = stored
            self._index(pk, stored)
            for target in write.targets:
                target.version = version

    def update_now(self, rows: Iterable[R]) -> list[R]:
        """Write rows read from this table as a transaction of their own; returns copies.

        For claims (``SELECT ... FOR UPDATE SKIP LOCKED`` then ``UPDATE``): the caller
        read the rows and changed them without awaiting, so the versions still match.
        """
        writes = {self.primary_key(row): Write(clone(row), row.version) for row in rows}
        self.check(writes)
        self.apply(writes)
        return [clone(self.rows[pk]) for pk in writes]

    def _index(self, pk: Hashable, row: R) -> None:
        for index in self._indexes:
            owners = self._owners[index.name]
            for value in index.values(row):
                owners[value] = pk

    def _unindex(self, pk: Hashable, row: R) -> None:
        for index in self._indexes:
            owners = self._owners[index.name]
            for value in index.values(row):
                if owners.get(value) == pk:
                    del owners[value]


class StagedWrites(Protocol):
    """What a unit of work needs from each table's staged writes, whatever the row type."""

    is_open: bool

    def check(self) -> None: ...
    def apply(self) -> None: ...
    def clear(self) -> None: ...


class Changes(Generic[R]):
    """One unit's staged writes to one table, and its reads through them.

    Usable only while its unit of work is open (inside ``async with``, before commit or
    rollback): touching a closed unit is a bug in the caller, so it raises.
    """

    def __init__(self, table: Table[R]) -> None:
        self.table = table
        self.writes: dict[Hashable, Write[R]] = {}
        self.is_open = False

    def ensure_open(self) -> None:
        if not self.is_open:
            raise RuntimeError(
                "the unit of work is not open: use it inside `async with uow:` before commit"
            )

    def add(self, row: R) -> None:
        self.ensure_open()
        pk = self.table.primary_key(row)
        if pk in self.writes:
            raise DuplicateError(f"{self.table.name} {pk} already exists")
        self._stage(pk, Write(clone(row), None, [row]))

    def save(self, row: R) -> None:
        self.ensure_open()
        pk = self.table.primary_key(row)
        staged = self.writes.get(pk)
        if staged is None:
            write = Write(clone(row), row.version, [row])
        else:
            # Saving again in the same unit replaces the staged row: an insert stays an
            # insert, and an update still checks the version the caller read.
            expected = None if staged.expected_version is None else row.version
            targets = [t for t in staged.targets if t is not row] + [row]
            write = Write(clone(row), expected, targets)
        self._stage(pk, write)

    def get(self, pk: Hashable) -> R | None:
        self.ensure_open()
        staged = self.writes.get(pk)
        row = staged.row if staged is not None else self.table.rows.get(pk)
        return None if row is None else clone(row)

    def find(self, index_name: str, value: Hashable, matches: Callable[[R], bool]) -> R | None:
        """The row holding a unique ``value``, seen through the staged writes.

        ``matches`` tells whether a staged row holds the value (it is not indexed yet).
        """
        self.ensure_open()
        for write in self.writes.values():
            if matches(write.row):
                return clone(write.row)
        pk = self.table.find(index_name, value)
        if pk is None or pk in self.writes:
            return None
        return clone(self.table.rows[pk])

    def rows(self) -> list[R]:
        """Every row as this unit sees it (not copied: callers copy what they return)."""
        self.ensure_open()
        rows = [row for pk, row in self.table.rows.items() if pk not in self.writes]
        rows.extend(write.row for write in self.writes.values())
        return rows

    def check(self) -> None:
        self.table.check(self.writes)

    def apply(self) -> None:
        self.table.apply(self.writes)

    def clear(self) -> None:
        self.writes.clear()

    def _stage(self, pk: Hashable, write: Write[R]) -> None:
        tentative = {**self.writes, pk: write}
        self.table.check(tentative, only=[pk])
        self.writes[pk] = write


def commit_all(changes: Sequence[StagedWrites]) -> None:
    """Apply every table's staged writes, or none of them."""
    # Validate everything before touching anything: a failed commit keeps nothing.
    for staged in changes:
        staged.check()
    for staged in changes:
        staged.apply()
