"""What counts as "the database is unavailable", as opposed to a bug or a conflict.

A stopped, restarting or unreachable server, a dropped connection and a pool with no
connection to give within its timeout all become ``DatabaseUnavailableError``: the
caller answers 503 and tries again later. Any other error passes unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from getiickets.domain.model.errors import DatabaseUnavailableError

_UNAVAILABLE_STATES = frozenset(
    {
        "57P01",  # admin_shutdown: a fast or immediate stop ended the session
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: starting up, shutting down, in recovery
        "53300",  # too_many_connections
    }
)
_CONNECTION_EXCEPTION_CLASS = "08"


def is_unavailable(error: BaseException, *, connecting: bool = False) -> bool:
    """``connecting``: the error came from opening a connection, so any ``OSError``
    (refused, unreachable, no such socket file, connect timeout) is the network's.
    Elsewhere a bare ``OSError`` may be a file's, and is left alone.
    """
    if isinstance(error, DatabaseUnavailableError | PoolTimeoutError):
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        state = getattr(error.orig, "sqlstate", None) or ""
        return state in _UNAVAILABLE_STATES or state.startswith(_CONNECTION_EXCEPTION_CLASS)
    if isinstance(error, ConnectionError) or (connecting and isinstance(error, OSError)):
        return True
    # asyncpg raises some of its own (CannotConnectNowError while the server starts,
    # ConnectionDoesNotExistError mid-query) before SQLAlchemy wraps them.
    state = getattr(error, "sqlstate", None) or ""
    return state in _UNAVAILABLE_STATES or state.startswith(_CONNECTION_EXCEPTION_CLASS)


def unavailable(error: BaseException) -> DatabaseUnavailableError:
    # The detail names the driver's error for the log; clients get a fixed wording.
    found = DatabaseUnavailableError(f"the database is unavailable: {type(error).__name__}")
    found.__cause__ = error
    return found


@asynccontextmanager
async def database_call(*, connecting: bool = False) -> AsyncIterator[None]:
    """Turn an outage inside the block into ``DatabaseUnavailableError``."""
    try:
        yield
    except DatabaseUnavailableError:
        raise
    except Exception as error:
        if is_unavailable(error, connecting=connecting):
            raise unavailable(error) from error
        raise
