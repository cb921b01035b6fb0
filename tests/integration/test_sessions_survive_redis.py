"""Logins survive Redis losing its data, and a logout holds in every process at once.

The whole composition root is built, as the app builds it (``running_services``), on
an SQLite file and the test's Redis key prefix. Two "processes" are two sets of
services over the same database and Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from getiickets.adapters.sqlalchemy.migrate import upgrade
from getiickets.domain.model.errors import UnauthenticatedError
from getiickets.domain.usecases.accounts import Register
from getiickets.entrypoints.container import running_services
from getiickets.entrypoints.services import Services
from getiickets.entrypoints.settings import Settings
from tests.contract.hot_state_backends import delete_prefixed, redis_client

pytestmark = pytest.mark.redis


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, redis_prefix: str) -> Settings:
    settings = Settings(data_dir=tmp_path, redis_url=redis_url, redis_key_prefix=redis_prefix)
    upgrade(settings.migration_url)
    return settings


@pytest.fixture
async def processes(settings: Settings) -> AsyncIterator[tuple[Services, Services]]:
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_services(settings))
        second = await stack.enter_async_context(running_services(settings))
        yield first, second


def ada() -> Register:
    return Register(email="ada@example.ng", password="correct horse battery", name="Ada")


async def test_a_login_still_works_after_redis_restarted_empty(
    processes: tuple[Services, Services], settings: Settings
) -> None:
    api, _ = processes
    signed_in = await api.accounts.register(ada())
    async with redis_client(str(settings.redis_url)) as client:
        await delete_prefixed(client, settings.redis_key_prefix)  # FLUSHDB, for this test

    actor = await api.accounts.authenticate(signed_in.token)

    assert actor.user_id == signed_in.user.id


async def test_a_logout_ends_the_session_in_every_process_at_once(
    processes: tuple[Services, Services], settings: Settings
) -> None:
    first, second = processes
    signed_in = await first.accounts.register(ada())
    assert (await second.accounts.authenticate(signed_in.token)).user_id == signed_in.user.id

    await first.accounts.log_out(signed_in.token)

    with pytest.raises(UnauthenticatedError):
        await second.accounts.authenticate(signed_in.token)
    async with redis_client(str(settings.redis_url)) as client:
        await delete_prefixed(client, settings.redis_key_prefix)
    with pytest.raises(UnauthenticatedError):
        await second.accounts.authenticate(signed_in.token)


async def test_a_login_survives_a_restart_of_the_app(settings: Settings) -> None:
    async with running_services(settings) as before:
        signed_in = await before.accounts.register(ada())
    async with redis_client(str(settings.redis_url)) as client:
        await delete_prefixed(client, settings.redis_key_prefix)

    async with running_services(settings) as after:
        actor = await after.accounts.authenticate(signed_in.token)

    assert actor.user_id == signed_in.user.id
