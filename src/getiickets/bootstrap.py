"""Where the use cases are put together: one factory, and the whole app on in-memory adapters.

``bootstrap`` takes the ports and returns every use case, wired to each other. Whoever
chooses adapters calls it: the app's container (``entrypoints/container.py``, which picks
adapters from settings and owns the clients they use) and ``InMemoryGetiickets`` below
(the unit tests, the README example, another service embedding the domain). So the
graph the tests exercise is the graph the server runs, observers included: pass the
app's ``Observers`` and the tests count what the server counts.

Only the domain, the ports and the in-memory adapters are imported here: a bare
``pip install getiickets`` (msgspec, tzdata) runs all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from getiickets.adapters.memory import (
    InMemoryCache,
    InMemoryClock,
    InMemoryDatabase,
    InMemoryFileStorage,
    InMemoryIdGenerator,
    InMemoryInventory,
    InMemoryMailer,
    InMemoryOrderBook,
    InMemoryPasswordHasher,
    InMemoryPaymentGateway,
    InMemoryRateLimiter,
    InMemorySessionStore,
    InMemorySmsSender,
    InMemoryTicketRenderer,
    InMemoryTicketSigner,
    InMemoryUnitOfWork,
)
from getiickets.adapters.memory.security import DEFAULT_ITERATIONS
from getiickets.adapters.memory.waiting_room import InMemoryQueueSettingsStore, InMemoryWaitingLine
from getiickets.domain.model.orders import DEFAULT_RESERVATION_TTL
from getiickets.domain.model.waiting_room import TokenSealer
from getiickets.domain.usecases.accounts import Accounts
from getiickets.domain.usecases.catalog import Catalog
from getiickets.domain.usecases.checkin import CheckIn
from getiickets.domain.usecases.checkout import Checkout
from getiickets.domain.usecases.expiry import Expiry
from getiickets.domain.usecases.issuance import TicketIssuance
from getiickets.domain.usecases.notifications import Notifications
from getiickets.domain.usecases.ordering import Ordering
from getiickets.domain.usecases.payment_inbox import PaymentInbox
from getiickets.domain.usecases.payment_results import PaymentResults
from getiickets.domain.usecases.refunds import Refunds
from getiickets.domain.usecases.stock import StockLedger
from getiickets.domain.usecases.ticket_files import TicketFiles
from getiickets.domain.usecases.waiting_room import DEFAULT_JOINS_PER_CLIENT, WaitingRoom

if TYPE_CHECKING:
    from getiickets.ports.clock import Clock, IdGenerator
    from getiickets.ports.files import FileStorage, TicketRenderer
    from getiickets.ports.hot_state import Cache, SessionStore
    from getiickets.ports.inventory import Inventory
    from getiickets.ports.notifications import Mailer, MessageComposer, SmsSender
    from getiickets.ports.order_book import OrderBook
    from getiickets.ports.payments import PaymentGateway
    from getiickets.ports.security import PasswordHasher, TicketSigner
    from getiickets.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
    from getiickets.ports.waiting_room import QueueSettingsStore, Step, WaitingLine

Port = TypeVar("Port")
QueueObserver = Callable[[str, "Step", "int | None"], None]


def _unwatched(port: Port) -> Port:
    return port


@dataclass(frozen=True, kw_only=True)
class Observers:
    """What watches the use cases (the app's metrics); by default nothing does.

    Wrappers take a port and return one that behaves the same and reports what it did;
    ``payment_results`` builds the use case that applies payments (with the same keyword
    arguments as ``PaymentResults``), so every path that applies one is observed.
    """

    gateway: Callable[[PaymentGateway], PaymentGateway] = _unwatched
    mailer: Callable[[Mailer], Mailer] = _unwatched
    sms: Callable[[SmsSender], SmsSender] = _unwatched
    payment_results: Callable[..., PaymentResults] = PaymentResults
    queue: QueueObserver | None = None


@dataclass(frozen=True, kw_only=True)
class UseCases:
    accounts: Accounts
    catalog: Catalog
    ordering: Ordering
    checkout: Checkout
    payment_results: PaymentResults
    payment_inbox: PaymentInbox
    refunds: Refunds
    expiry: Expiry
    waiting_room: WaitingRoom
    checkin: CheckIn
    ticket_files: TicketFiles
    notifications: Notifications | None
    """None when no message composer was given: a service that sends no messages."""
    issuance: TicketIssuance


def bootstrap(
    *,
    uow: UnitOfWorkFactory,
    inventory: Inventory,
    orders: OrderBook,
    gateway: PaymentGateway,
    files: FileStorage,
    cache: Cache,
    sessions: SessionStore,
    hasher: PasswordHasher,
    signer: TicketSigner,
    renderer: TicketRenderer,
    mailer: Mailer,
    sms: SmsSender,
    composer: MessageComposer | None,
    queue_settings: QueueSettingsStore,
    waiting_line: WaitingLine,
    sealer: TokenSealer,
    clock: Clock,
    ids: IdGenerator,
    callback_url: str,
    queue_page_url: Callable[[str], str],
    joins_per_client: int = DEFAULT_JOINS_PER_CLIENT,
    reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL,
    observers: Observers = Observers(),
) -> UseCases:
    """Every use case, built from these ports and wired to each other."""
    gateway = observers.gateway(gateway)
    issuance = TicketIssuance(signer=signer, ids=ids)
    refunds = Refunds(uow=uow, gateway=gateway, inventory=inventory, clock=clock)
    payment_results = observers.payment_results(
        uow=uow,
        gateway=gateway,
        inventory=inventory,
        issuance=issuance,
        refunds=refunds,
        clock=clock,
        reservation_ttl=reservation_ttl,
        cache=cache,
    )
    ticket_files = TicketFiles(uow=uow, renderer=renderer, files=files)
    notifications = (
        Notifications(
            uow=uow,
            mailer=observers.mailer(mailer),
            sms=observers.sms(sms),
            composer=composer,
            ticket_files=ticket_files,
            files=files,
            clock=clock,
            ids=ids,
        )
        if composer is not None
        else None
    )
    return UseCases(
        accounts=Accounts(uow=uow, sessions=sessions, hasher=hasher, clock=clock, ids=ids),
        catalog=Catalog(
            uow=uow, inventory=inventory, files=files, cache=cache, clock=clock, ids=ids
        ),
        ordering=Ordering(
            uow=uow,
            inventory=inventory,
            issuance=issuance,
            clock=clock,
            ids=ids,
            reservation_ttl=reservation_ttl,
            orders=orders,
            cache=cache,
        ),
        checkout=Checkout(
            uow=uow,
            gateway=gateway,
            results=payment_results,
            clock=clock,
            ids=ids,
            callback_url=callback_url,
        ),
        payment_results=payment_results,
        payment_inbox=PaymentInbox(
            uow=uow, gateway=gateway, results=payment_results, refunds=refunds, clock=clock
        ),
        refunds=refunds,
        expiry=Expiry(uow=uow, inventory=inventory, results=payment_results, clock=clock),
        waiting_room=WaitingRoom(
            uow=uow,
            settings=queue_settings,
            line=waiting_line,
            sealer=sealer,
            clock=clock,
            ids=ids,
            page_url=queue_page_url,
            joins_per_client=joins_per_client,
            observe=observers.queue,
        ),
        checkin=CheckIn(uow=uow, signer=signer, clock=clock),
        ticket_files=ticket_files,
        notifications=notifications,
        issuance=issuance,
    )


# ---------------------------------------------------------------- the in-memory wiring

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class InMemoryGetiickets:
    """The whole of getiickets on the in-memory adapters, in this process.

    Each instance is its own universe: a database, a clock that moves only when told
    (``clock.advance``), seeded ids, a payment provider whose checkout page is
    ``gateway.pay(reference)``, and a mailer and SMS sender that keep what they were
    sent. The use cases are attributes (``ordering``, ``checkout``...); the fakes are
    there to act the outside world and to look at afterwards.
    """

    def __init__(
        self,
        *,
        start: datetime = START,
        seed: int = 7,
        reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL,
        composer: MessageComposer | None = None,
        observers: Observers = Observers(),
        base_url: str = "https://app.invalid",
        files_base_url: str = "https://files.invalid",
        paystack_secret_key: str = "sk_test_in_memory",  # noqa: S107 - the fake provider's
        ticket_signing_key: bytes = b"in-memory ticket signing key",
        file_signing_key: bytes = b"in-memory file signing key",
        queue_key: bytes = b"in-memory waiting room key......",
        password_iterations: int = DEFAULT_ITERATIONS,
    ) -> None:
        self.db = InMemoryDatabase()
        self.clock = InMemoryClock(start)
        self.ids = InMemoryIdGenerator(seed)
        self.signer = InMemoryTicketSigner(ticket_signing_key)
        self.hasher = InMemoryPasswordHasher(iterations=password_iterations)
        self.sessions = InMemorySessionStore(self.clock)
        self.cache = InMemoryCache(self.clock)
        self.limiter = InMemoryRateLimiter(self.clock)
        self.files = InMemoryFileStorage(self.clock, file_signing_key, files_base_url)
        self.renderer = InMemoryTicketRenderer()
        # The provider is another system: its own ids, so ours stay the same whatever it does.
        self.gateway = InMemoryPaymentGateway(
            paystack_secret_key, self.clock, InMemoryIdGenerator(seed + 1)
        )
        self.mailer = InMemoryMailer()
        self.sms = InMemorySmsSender()
        self.queue_settings = InMemoryQueueSettingsStore()
        self.waiting_line = InMemoryWaitingLine()
        self.sealer = TokenSealer(queue_key)
        self.ledger = StockLedger(self.uow)
        self.inventory = InMemoryInventory(self.ledger, self.clock)
        self.orders = InMemoryOrderBook(self.db)
        self._composer = composer
        self._observers = observers
        self._base_url = base_url
        self._reservation_ttl = reservation_ttl
        self.use_gateway(self.gateway)

    def uow(self) -> UnitOfWork:
        """The ``UnitOfWorkFactory``: a fresh unit over the one shared database."""
        return InMemoryUnitOfWork(self.db)

    def use_gateway(self, gateway: PaymentGateway) -> None:
        """(Re)build the use cases, with payments going to ``gateway``."""
        wired = bootstrap(
            uow=self.uow,
            inventory=self.inventory,
            orders=self.orders,
            gateway=gateway,
            files=self.files,
            cache=self.cache,
            sessions=self.sessions,
            hasher=self.hasher,
            signer=self.signer,
            renderer=self.renderer,
            mailer=self.mailer,
            sms=self.sms,
            composer=self._composer,
            queue_settings=self.queue_settings,
            waiting_line=self.waiting_line,
            sealer=self.sealer,
            clock=self.clock,
            ids=self.ids,
            callback_url=f"{self._base_url}/payments/callback",
            queue_page_url=lambda slug: f"{self._base_url}/queue/{slug}",
            reservation_ttl=self._reservation_ttl,
            observers=self._observers,
        )
        self.use_cases = wired
        self.issuance = wired.issuance
        self.accounts = wired.accounts
        self.catalog = wired.catalog
        self.ordering = wired.ordering
        self.refunds = wired.refunds
        self.payment_results = wired.payment_results
        self.checkout = wired.checkout
        self.payment_inbox = wired.payment_inbox
        self.expiry = wired.expiry
        self.waiting_room = wired.waiting_room
        self.checkin = wired.checkin
        self.ticket_files = wired.ticket_files
        self._notifications = wired.notifications

    @property
    def notifications(self) -> Notifications:
        if self._notifications is None:
            raise LookupError("notifications need a message composer: pass composer=...")
        return self._notifications
