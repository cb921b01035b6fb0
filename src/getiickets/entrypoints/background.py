"""Work that follows a response, run apart from the request and a few at a time.

A webhook is acknowledged as soon as its event is stored; applying it comes after.
Run as the request's own background task, that work kept the client's connection
waiting (the server serves the next request on it only when the task ends), and under
a burst every delivery applied at once, each wanting pooled connections: most of the
time went into waiting for the pool and opening connections beyond it. Here the jobs
queue in the process and at most ``limit`` run at once; the response goes at once.

A job lost with the process (a crash, a restart) is no loss: its event is stored, and
the worker's inbox retries apply it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 8
"""Jobs at once where the pool is not known: each holds at most one pooled connection
at a time, so eight stay well inside the smallest pool a server process gets by
default, and keep the CPU busy."""
REQUESTS_RESERVE = 4
"""Connections of the pool left to requests (a webhook's 200 waits for its store)."""


def limit_for_pool(pool_size: int) -> int:
    """Jobs at once for a process whose database pool keeps ``pool_size`` connections.

    A job (applying a webhook) is some twenty round trips to the database, Redis and
    the provider, most of its time waiting on them. With eight at once on a pool of
    twenty, a burst of deliveries was applied at eight round trips' pace while most
    connections sat idle, and more so the busier the machine (measured: 8 jobs paid
    18/s where 24 paid 38/s on the same loaded machine). So every connection but a
    reserve for requests takes a job, and a small pool keeps ``DEFAULT_LIMIT`` (jobs
    then take turns on the pool, as they always did).
    """
    return max(DEFAULT_LIMIT, pool_size - REQUESTS_RESERVE)


Job = Callable[[], Awaitable[None]]


class BoundedJobs:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._limit = limit
        self._queue: deque[tuple[str, Job]] = deque()
        self._runners: set[asyncio.Task[None]] = set()

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def submit(self, name: str, job: Job) -> None:
        """Run ``job`` soon; its failure is logged under ``name``, never raised."""
        self._queue.append((name, job))
        if len(self._runners) < self._limit:
            runner = asyncio.create_task(self._run(), name="bounded-jobs")
            # Kept referenced until done: asyncio holds tasks only weakly.
            self._runners.add(runner)
            runner.add_done_callback(self._runners.discard)

    async def _run(self) -> None:
        while self._queue:
            name, job = self._queue.popleft()
            try:
                await job()
            except Exception:
                logger.warning("%s failed; it will be retried", name, exc_info=True)
