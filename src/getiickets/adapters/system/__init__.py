"""The real clock and the real source of randomness."""

from getiickets.adapters.system.clock import SystemClock
from getiickets.adapters.system.ids import RandomIdGenerator

__all__ = ["RandomIdGenerator", "SystemClock"]
