"""The QueueSettingsStore port: what is put comes back, field for field, on every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from getiickets.adapters.memory.waiting_room import InMemoryQueueSettingsStore
from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.adapters.sqlalchemy.waiting_room import SqlAlchemyQueueSettingsStore
from getiickets.domain.model.waiting_room import QueueSettings
from getiickets.ports.waiting_room import QueueSettingsStore

BACKENDS = [
    "memory",
    "sqlalchemy-sqlite",
    pytest.param("sqlalchemy-postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Resolved outside the event loop: migrating a database runs a loop of its own."""
    if request.param == "memory":
        return None
    fixture = {"sqlalchemy-sqlite": "sqlite_url", "sqlalchemy-postgres": "migrated_postgres_url"}
    return str(request.getfixturevalue(fixture[request.param]))


@pytest.fixture
async def store(database_url: str | None) -> AsyncIterator[QueueSettingsStore]:
    if database_url is None:
        yield InMemoryQueueSettingsStore()
        return
    engine = create_engine(database_url)
    try:
        yield SqlAlchemyQueueSettingsStore(engine)
    finally:
        await engine.dispose()


queue_settings = st.builds(
    QueueSettings,
    event_id=st.uuids().map(lambda u: u.hex),
    enabled=st.booleans(),
    admit_per_minute=st.integers(1, 100_000),
    session_minutes=st.integers(1, 1440),
    max_active=st.none() | st.integers(1, 10_000_000),
    opens_at=st.none()
    | st.datetimes(
        # Hypothesis takes naive bounds and adds the zone itself.
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    max_per_admission=st.integers(1, 100),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=queue_settings, second=queue_settings)
async def test_settings_round_trip_and_a_put_replaces_the_row(
    store: QueueSettingsStore, first: QueueSettings, second: QueueSettings
) -> None:
    await store.put(first)
    assert await store.get(first.event_id) == first
    replaced = QueueSettings(**{**_fields(second), "event_id": first.event_id})
    await store.put(replaced)
    assert await store.get(first.event_id) == replaced


async def test_an_event_without_settings_has_none(store: QueueSettingsStore) -> None:
    assert await store.get("no-such-event") is None


def _fields(settings: QueueSettings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in QueueSettings.__struct_fields__}
