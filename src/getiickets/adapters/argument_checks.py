"""Argument rules of the repository ports, checked alike by every implementation.

A bad ``limit`` or ``lease`` is a caller's bug (the use cases and the HTTP edge pass
sane values), so it raises ``ValueError`` the same way in memory and in SQL, and the
contract suite holds both to it. Stdlib only: the in-memory adapters use it in the
bare install.
"""

from __future__ import annotations

from datetime import timedelta


def check_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError("limit must not be negative")


def check_lease(lease: timedelta) -> None:
    if lease <= timedelta(0):
        raise ValueError("a lease must be positive")
