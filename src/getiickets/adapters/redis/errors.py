"""What counts as "Redis is unavailable", and the deadline every Redis call gets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis import exceptions as redis_errors

from getiickets.domain.model.errors import CacheUnavailableError

UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,  # refused, reset, auth failed, still loading its data
    redis_errors.TimeoutError,  # connect or command timeout, after the client's retries
    redis_errors.ReadOnlyError,  # talking to a replica during a failover
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,  # cluster resharding the slot right now
    TimeoutError,  # our own deadline (asyncio.timeout)
    OSError,  # a socket error redis-py did not wrap
)


@asynccontextmanager
async def answer_within(what: str, deadline: float) -> AsyncIterator[None]:
    """Give up after ``deadline`` seconds, retries included; an outage becomes
    ``CacheUnavailableError``, any other error is a bug and passes unchanged.

    The client's own timeouts bound one attempt (connect 5 s, command 3 s), but it
    retries three times, so without this a silent server would hold a request for
    about four times as long. Cancelling a command is safe: redis-py drops the
    connection rather than reading a late reply as the answer to the next command.
    """
    try:
        async with asyncio.timeout(deadline):
            yield
    except UNAVAILABLE as error:
        raise CacheUnavailableError(f"{what} is unavailable: {error!r}") from error
