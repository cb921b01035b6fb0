"""A whole getiickets on the in-memory adapters, wired as the composition root wires it.

``World()`` is one independent universe: its own database, a frozen clock, seeded ids,
an inventory rebuilt from the database's facts, a Paystack account, a mailer and an
SMS sender that remember what they were sent. Use cases are reached through it
(``world.ordering``, ``world.checkout``...) and the fakes are there for the story's
"then" (``world.gateway.refunds``, ``world.mailer.sent``, ``world.clock.advance``).

The async helpers build the usual cast in one line each, always through the use cases
(never by writing rows), so a story starts from a state the app itself could reach::

    world = World()
    show = await world.a_published_event()
    placed = await world.place_order(show, regular=2)
    await world.pay(placed)

Other suites (stateful, concurrency, README example) import it from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
    InMemorySessionStore,
    InMemorySmsSender,
    InMemoryTicketRenderer,
    InMemoryTicketSigner,
    InMemoryUnitOfWork,
)
from getiickets.adapters.rendering.messages import BabelMessageComposer
from getiickets.domain.model.accounts import Actor, Role
from getiickets.domain.model.inventory import StockLevel
from getiickets.domain.model.money import Money
from getiickets.domain.model.notifications import OutboxMessage
from getiickets.domain.model.orders import DEFAULT_RESERVATION_TTL, Buyer, Order
from getiickets.domain.model.payments import InboxEvent
from getiickets.domain.model.tickets import Ticket
from getiickets.domain.usecases.access import OrderAccess
from getiickets.domain.usecases.accounts import Accounts, Register, SignedIn
from getiickets.domain.usecases.catalog import Catalog, CreateEvent, EventView, NewTicketType
from getiickets.domain.usecases.checkin import CheckIn
from getiickets.domain.usecases.checkout import Checkout
from getiickets.domain.usecases.expiry import Expiry
from getiickets.domain.usecases.issuance import TicketIssuance
from getiickets.domain.usecases.notifications import Notifications
from getiickets.domain.usecases.ordering import (
    Ordering,
    OrderItem,
    PlacedOrder,
    PlaceOrder,
)
from getiickets.domain.usecases.payment_inbox import PaymentInbox, WebhookReceipt
from getiickets.domain.usecases.payment_results import AppliedPayment, PaymentResults
from getiickets.domain.usecases.refunds import Refunds
from getiickets.domain.usecases.stock import StockLedger
from getiickets.domain.usecases.ticket_files import TicketFiles
from getiickets.ports.payments import PaymentGateway
from getiickets.ports.unit_of_work import UnitOfWork

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""A Monday morning, UTC: every World starts here unless told otherwise."""
PAYSTACK_SECRET_KEY = "sk_test_unit_world"
CALLBACK_URL = "https://app.test/payments/callback"
FILES_BASE_URL = "https://files.test"
PASSWORD = "correct horse battery"
REGULAR_PRICE = Money.parse("5000.00")

GUEST = Buyer(email="gina@example.com", name="Gina Guest")
"""A guest at checkout: no account, no phone (so no SMS)."""


@dataclass(frozen=True)
class EventOnSale:
    """A published event as its organizer set it up, with the ids a story needs."""

    organizer: Actor
    event_id: str
    slug: str
    regular_id: str
    """Paid: 5000.00 NGN."""
    community_id: str
    """Free."""


@dataclass(frozen=True)
class Account:
    """A registered user, signed in."""

    actor: Actor
    token: str
    email: str
    name: str
    phone: str | None

    @property
    def as_buyer(self) -> Buyer:
        return Buyer(email=self.email, name=self.name, phone=self.phone)


class World:
    def __init__(
        self,
        *,
        seed: int = 7,
        start: datetime = START,
        reservation_ttl: timedelta = DEFAULT_RESERVATION_TTL,
    ) -> None:
        self.db = InMemoryDatabase()
        self.clock = InMemoryClock(start)
        self.ids = InMemoryIdGenerator(seed)
        self.signer = InMemoryTicketSigner(b"unit-world-ticket-signing-key")
        # One round: the hasher's strength is not under test, and real rounds cost seconds.
        self.hasher = InMemoryPasswordHasher(iterations=1)
        self.sessions = InMemorySessionStore(self.clock)
        self.cache = InMemoryCache(self.clock)
        self.files = InMemoryFileStorage(self.clock, b"unit-world-files-key", FILES_BASE_URL)
        self.renderer = InMemoryTicketRenderer()
        # The provider is another system: its own ids, so ours stay the same whatever it does.
        self.gateway = InMemoryPaymentGateway(
            PAYSTACK_SECRET_KEY, self.clock, InMemoryIdGenerator(seed + 1)
        )
        self.mailer = InMemoryMailer()
        self.sms = InMemorySmsSender()

        self.orders = InMemoryOrderBook(self.db)
        self.ledger = StockLedger(self.uow)
        self.inventory = InMemoryInventory(self.ledger, self.clock)
        self.issuance = TicketIssuance(signer=self.signer, ids=self.ids)
        self.accounts = Accounts(
            uow=self.uow, sessions=self.sessions, hasher=self.hasher, clock=self.clock, ids=self.ids
        )
        self.catalog = Catalog(
            uow=self.uow,
            inventory=self.inventory,
            files=self.files,
            cache=self.cache,
            clock=self.clock,
            ids=self.ids,
        )
        self.ordering = Ordering(
            uow=self.uow,
            inventory=self.inventory,
            issuance=self.issuance,
            clock=self.clock,
            ids=self.ids,
            reservation_ttl=reservation_ttl,
            orders=self.orders,
            cache=self.cache,
        )
        self._reservation_ttl = reservation_ttl
        self.use_gateway(self.gateway)
        self.checkin = CheckIn(uow=self.uow, signer=self.signer, clock=self.clock)
        self.ticket_files = TicketFiles(uow=self.uow, renderer=self.renderer, files=self.files)
        self.notifications = Notifications(
            uow=self.uow,
            mailer=self.mailer,
            sms=self.sms,
            # Pure words, no I/O: the real composer, not a fake of it.
            composer=BabelMessageComposer(),
            ticket_files=self.ticket_files,
            files=self.files,
            clock=self.clock,
            ids=self.ids,
        )
        self._accounts_made = 0

    def use_gateway(self, gateway: PaymentGateway) -> None:
        """(Re)wire the payment use cases to talk to ``gateway``."""
        self.refunds = Refunds(
            uow=self.uow, gateway=gateway, inventory=self.inventory, clock=self.clock
        )
        self.payment_results = PaymentResults(
            uow=self.uow,
            gateway=gateway,
            inventory=self.inventory,
            issuance=self.issuance,
            refunds=self.refunds,
            clock=self.clock,
            reservation_ttl=self._reservation_ttl,
        )
        self.checkout = Checkout(
            uow=self.uow,
            gateway=gateway,
            results=self.payment_results,
            clock=self.clock,
            ids=self.ids,
            callback_url=CALLBACK_URL,
        )
        self.payment_inbox = PaymentInbox(
            uow=self.uow,
            gateway=gateway,
            results=self.payment_results,
            refunds=self.refunds,
            clock=self.clock,
        )
        self.expiry = Expiry(
            uow=self.uow, inventory=self.inventory, results=self.payment_results, clock=self.clock
        )

    def uow(self) -> UnitOfWork:
        """The ``UnitOfWorkFactory``: a fresh unit over the one shared database."""
        return InMemoryUnitOfWork(self.db)

    # ------------------------------------------------------------------ the cast

    async def register(
        self,
        *,
        role: Role = Role.BUYER,
        email: str | None = None,
        name: str | None = None,
        phone: str | None = None,
        password: str = PASSWORD,
    ) -> Account:
        self._accounts_made += 1
        name = name or f"{role.value.title()} {self._accounts_made}"
        email = email or f"{role.value}{self._accounts_made}@example.com"
        signed_in: SignedIn = await self.accounts.register(
            Register(email=email, password=password, name=name, phone=phone, role=role)
        )
        return Account(
            actor=await self.accounts.authenticate(signed_in.token),
            token=signed_in.token,
            email=signed_in.user.email,
            name=signed_in.user.name,
            phone=signed_in.user.phone,
        )

    async def an_organizer(self, **details: str) -> Account:
        return await self.register(role=Role.ORGANIZER, **details)

    async def a_buyer(self, **details: str) -> Account:
        return await self.register(role=Role.BUYER, **details)

    async def a_published_event(
        self,
        organizer: Account | None = None,
        *,
        title: str = "Lagos Jazz Night",
        regular_capacity: int = 50,
        community_capacity: int = 20,
        max_per_order: int = 10,
        starts_in: timedelta = timedelta(days=30),
        venue: str = "Muri Okunola Park",
        city: str = "Lagos",
        category: str = "music",
    ) -> EventOnSale:
        """An event on sale now: "Regular" at 5000.00 NGN and a free "Community" type."""
        organizer = organizer or await self.an_organizer()
        view = await self.catalog.create_event(
            organizer.actor,
            CreateEvent(
                title=title,
                starts_at=self.clock.now() + starts_in,
                venue=venue,
                city=city,
                category=category,
                ticket_types=(
                    NewTicketType(
                        name="Regular",
                        price=REGULAR_PRICE,
                        capacity=regular_capacity,
                        max_per_order=max_per_order,
                    ),
                    NewTicketType(
                        name="Community",
                        price=Money.zero(),
                        capacity=community_capacity,
                        max_per_order=max_per_order,
                    ),
                ),
            ),
        )
        view = await self.catalog.publish_event(organizer.actor, view.event.id)
        return event_on_sale(organizer.actor, view)

    # ------------------------------------------------------------------ buying

    async def place_order(
        self,
        event: EventOnSale,
        *,
        regular: int = 0,
        community: int = 0,
        buyer: Buyer | Account = GUEST,
    ) -> PlacedOrder:
        """Order ``regular`` paid and ``community`` free tickets, as a guest or an account."""
        quantities = {event.regular_id: regular, event.community_id: community}
        return await self.place_items(event.event_id, quantities, buyer=buyer)

    async def place_items(
        self, event_id: str, quantities: Mapping[str, int], *, buyer: Buyer | Account = GUEST
    ) -> PlacedOrder:
        items = tuple(
            OrderItem(ticket_type_id=ticket_type_id, quantity=quantity)
            for ticket_type_id, quantity in quantities.items()
            if quantity
        )
        if isinstance(buyer, Account):
            details, user_id = buyer.as_buyer, buyer.actor.user_id
        else:
            details, user_id = buyer, None
        return await self.ordering.place_order(
            PlaceOrder(event_id=event_id, items=items, buyer=details, buyer_user_id=user_id)
        )

    async def start_payment(self, placed: PlacedOrder) -> str:
        """The buyer goes to checkout; returns the payment reference."""
        started = await self.checkout.initialize_payment(placed.order.id, by_token(placed))
        return started.reference

    async def pay(self, placed: PlacedOrder, amount: Money | None = None) -> AppliedPayment:
        """Checkout, the customer pays (``amount`` to pay another sum), then /verify."""
        reference = await self.start_payment(placed)
        self.gateway.pay(reference, amount)
        return await self.payment_results.verify_payment(reference)

    async def deliver_webhook(self, event_type: str, reference: str) -> WebhookReceipt:
        """Paystack posts a correctly signed webhook about the transaction as it is now."""
        body = self.gateway.webhook_body(event_type, reference)
        return await self.payment_inbox.receive_webhook(body, self.gateway.sign(body))

    # ------------------------------------------------------------------ looking

    def advance(self, seconds: float) -> datetime:
        return self.clock.advance(timedelta(seconds=seconds))

    async def level(self, ticket_type_id: str) -> StockLevel:
        return await self.inventory.level(ticket_type_id)

    async def stored_order(self, order_id: str) -> Order:
        async with self.uow() as uow:
            order = await uow.orders.get(order_id)
        assert order is not None, f"order {order_id} is not stored"
        return order

    async def stored_tickets(self, order_id: str) -> list[Ticket]:
        async with self.uow() as uow:
            return await uow.tickets.for_order(order_id)

    async def outbox(self, order_id: str) -> list[OutboxMessage]:
        async with self.uow() as uow:
            return await uow.outbox.for_order(order_id)

    async def inbox_event(self, key: str) -> InboxEvent | None:
        async with self.uow() as uow:
            return await uow.payment_inbox.get(key)


def by_token(placed: PlacedOrder) -> OrderAccess:
    """How a guest reaches their order: the access token from the create response."""
    return OrderAccess(access_token=placed.access_token)


def event_on_sale(organizer: Actor, view: EventView) -> EventOnSale:
    by_name = {tt.ticket_type.name: tt.ticket_type.id for tt in view.ticket_types}
    return EventOnSale(
        organizer=organizer,
        event_id=view.event.id,
        slug=view.event.slug,
        regular_id=by_name["Regular"],
        community_id=by_name["Community"],
    )
