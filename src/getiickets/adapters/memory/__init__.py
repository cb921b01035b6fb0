"""In-memory adapters for every port: the fakes the unit tests run on and the embedded
single-process runtime uses. The contract suites in ``tests/contract`` prove them
faithful to the real adapters, so they keep every rule the real ones keep (versions,
unique facts, expiry, concurrency), not just the happy path.
"""

from getiickets.adapters.memory.clock import InMemoryClock
from getiickets.adapters.memory.database import InMemoryDatabase
from getiickets.adapters.memory.files import InMemoryFileStorage
from getiickets.adapters.memory.hot_state import (
    InMemoryCache,
    InMemoryRateLimiter,
    InMemorySessionStore,
)
from getiickets.adapters.memory.ids import InMemoryIdGenerator
from getiickets.adapters.memory.inventory import InMemoryInventory
from getiickets.adapters.memory.notifications import InMemoryMailer, InMemorySmsSender
from getiickets.adapters.memory.order_book import InMemoryOrderBook
from getiickets.adapters.memory.payments import InMemoryPaymentGateway
from getiickets.adapters.memory.rendering import InMemoryTicketRenderer
from getiickets.adapters.memory.security import InMemoryPasswordHasher, InMemoryTicketSigner
from getiickets.adapters.memory.unit_of_work import InMemoryUnitOfWork

__all__ = [
    "InMemoryCache",
    "InMemoryClock",
    "InMemoryDatabase",
    "InMemoryFileStorage",
    "InMemoryIdGenerator",
    "InMemoryInventory",
    "InMemoryMailer",
    "InMemoryOrderBook",
    "InMemoryPasswordHasher",
    "InMemoryPaymentGateway",
    "InMemoryRateLimiter",
    "InMemorySessionStore",
    "InMemorySmsSender",
    "InMemoryTicketRenderer",
    "InMemoryTicketSigner",
    "InMemoryUnitOfWork",
]
