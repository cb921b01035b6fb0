"""Argon2 takes 64 MiB per hash by design: an API process hashes one password at a
time, so a burst of logins costs 64 MiB of memory, not 64 MiB per login."""

from __future__ import annotations

import asyncio
import threading
import time

from getiickets.adapters.passwords.argon2 import Argon2PasswordHasher


class CountingHasher:
    """Stands in for argon2's PasswordHasher, recording how many run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def _enter(self) -> None:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self._lock:
            self.running -= 1

    def hash(self, password: str) -> str:
        self._enter()
        return f"hashed:{password}"

    def verify(self, password_hash: str, password: str) -> bool:
        self._enter()
        return password_hash == f"hashed:{password}"


async def test_a_burst_of_hashes_and_verifications_runs_one_at_a_time() -> None:
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    counting = CountingHasher()
    hasher._hasher = counting  # type: ignore[assignment]

    results = await asyncio.gather(
        *(hasher.hash(f"password {n}") for n in range(4)),
        *(hasher.verify(f"hashed:password {n}", f"password {n}") for n in range(4)),
    )

    assert results[:4] == [f"hashed:password {n}" for n in range(4)]
    assert results[4:] == [True] * 4
    assert counting.most == 1


async def test_real_hashes_still_verify() -> None:
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    hashed = await hasher.hash("correct horse")
    assert await hasher.verify(hashed, "correct horse")
    assert not await hasher.verify(hashed, "wrong horse")
