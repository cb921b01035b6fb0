"""The one-connection rule, enforced by the fakes so the unit suite catches a breach.

In production a unit of work holds a pooled connection until it commits or rolls back,
and the SQL inventory (and the stock facts an inventory rebuilds from) needs a
connection of its own. Through a pooler URL with ``connection_limit=1`` a use case
that calls the inventory while its unit is open waits forever for the connection it
holds itself. The rule is: decide in one unit, call the inventory or any provider
outside every unit, write in the next.

``InMemoryUnitOfWork`` counts the units open in the current task (a context variable:
tasks that run concurrently each have their own count), and ``InMemoryInventory`` and
``InMemoryPaymentGateway`` refuse to act while that count is above zero. So a use case
that breaks the rule fails every unit test that reaches it, instead of deadlocking only
in a deployment.
"""

from __future__ import annotations

from contextvars import ContextVar

_open_units: ContextVar[int] = ContextVar("getiickets_open_units", default=0)


class UnitOfWorkHeldError(RuntimeError):
    """A call that needs a connection of its own was made while a unit of work is open."""


def unit_opened() -> None:
    _open_units.set(_open_units.get() + 1)


def unit_closed() -> None:
    _open_units.set(max(0, _open_units.get() - 1))


def check_no_unit_open(call: str) -> None:
    if _open_units.get() > 0:
        raise UnitOfWorkHeldError(
            f"{call} was called while a unit of work is open: with one pooled connection "
            "that waits forever. Decide in one unit, call it outside, write in the next."
        )
