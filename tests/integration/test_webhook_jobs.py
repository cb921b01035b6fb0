"""How many webhooks a server process applies at once follows its database pool.

A job is mostly waiting on round trips; eight at once left most of a pool of twenty
idle while a burst of deliveries queued behind them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from getiickets.entrypoints.background import DEFAULT_LIMIT, REQUESTS_RESERVE
from getiickets.entrypoints.container import running_services
from getiickets.entrypoints.settings import Settings

pytestmark = pytest.mark.postgres

SIGNING_KEY = "webhook-jobs-test-signing-key-" + "k" * 34


def on_postgres(tmp_path: Path, postgres_url: str, pool: str = "") -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=postgres_url + pool,
        sandbox=True,
        ticket_signing_key=SIGNING_KEY,
    )


async def test_every_connection_but_a_reserve_for_requests_applies_webhooks(
    tmp_path: Path, postgres_url: str
) -> None:
    async with running_services(on_postgres(tmp_path, postgres_url, "?connection_limit=30")) as (
        services
    ):
        assert services.after_response.limit == 30 - REQUESTS_RESERVE


async def test_a_small_pool_keeps_the_default_and_its_jobs_take_turns(
    tmp_path: Path, postgres_url: str
) -> None:
    async with running_services(on_postgres(tmp_path, postgres_url, "?connection_limit=1")) as (
        services
    ):
        assert services.after_response.limit == DEFAULT_LIMIT
