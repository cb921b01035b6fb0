"""Redis replies are parsed by hiredis (C), not redis-py's pure-Python parser, which
was a quarter of the CPU of an event read in the rush profile."""

from __future__ import annotations

import pytest
from redis._parsers import _AsyncHiredisParser

from getiickets.adapters.redis.client import create_redis

pytestmark = pytest.mark.redis


async def test_the_redis_client_parses_replies_with_hiredis(redis_url: str) -> None:
    client = create_redis(redis_url)
    try:
        assert await client.ping()
        connection = await client.connection_pool.get_connection()
        try:
            assert isinstance(connection._parser, _AsyncHiredisParser)
        finally:
            await client.connection_pool.release(connection)
    finally:
        await client.aclose()
