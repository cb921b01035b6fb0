"""Optimistic concurrency: when two writers race, the loser reads again and retries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from getiickets.domain.model.errors import ConflictError

T = TypeVar("T")

# Each retry re-reads state that the winner has just committed, so a handful is
# plenty; past that something is hammering one row and the caller should hear it.
MAX_ATTEMPTS = 8


async def retry_on_conflict(operation: Callable[[], Awaitable[T]]) -> T:
    for _ in range(MAX_ATTEMPTS - 1):
        try:
            return await operation()
        except ConflictError:
            continue
    return await operation()
