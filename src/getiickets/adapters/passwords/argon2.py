"""``Argon2PasswordHasher``: Argon2id, the password hash OWASP recommends first.

Hashing is deliberately slow and memory-hungry, so it runs in a worker thread: on
the event loop it would stall every other request for tens of milliseconds per login.
One at a time per process: each hash takes ``memory_cost`` (64 MiB by default) while
it runs, so forty logins at once in forty threads would take 2.5 GiB; one after the
other they take 64 MiB, and finish no later, since each already keeps the cores busy
with its own lanes (``parallelism``).
"""

from __future__ import annotations

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    """Defaults are argon2-cffi's (RFC 9106 low-memory profile); tests pass tiny costs."""

    def __init__(
        self,
        *,
        time_cost: int | None = None,
        memory_cost: int | None = None,
        parallelism: int | None = None,
    ) -> None:
        defaults = PasswordHasher()
        self._hasher = PasswordHasher(
            time_cost=defaults.time_cost if time_cost is None else time_cost,
            memory_cost=defaults.memory_cost if memory_cost is None else memory_cost,
            parallelism=defaults.parallelism if parallelism is None else parallelism,
        )
        self._one_at_a_time = anyio.CapacityLimiter(1)

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(
            self._hasher.hash, password, limiter=self._one_at_a_time
        )

    async def verify(self, password_hash: str, password: str) -> bool:
        """False for a wrong password and for a string that is not an Argon2 hash."""
        try:
            return await anyio.to_thread.run_sync(
                self._hasher.verify, password_hash, password, limiter=self._one_at_a_time
            )
        except (VerificationError, InvalidHashError):
            return False
