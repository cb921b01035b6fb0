"""``RedisInventory``: stock counters and expiring holds in Redis, atomic across processes.

Per ticket type five keys share the hash tag ``{tt:<id>}``, so every Lua script
touches one cluster slot and runs on Redis Cluster too:

- ``meta``: hash of ``capacity``, ``sold`` and ``available``;
- ``holds``: sorted set of live hold ids scored by expiry;
- ``quantities``: hash of hold id -> quantity for those holds;
- ``confirmed``: hash of sold hold id -> quantity;
- ``abandoned``: sorted set of hold ids given up by ``abandon``, scored by the expiry
  their hold would have had. A reserve that timed out on our side may still reach
  Redis later (it sat in a socket buffer of a frozen server, or the client retried it
  on another connection), after its release, in any order: ``reserve`` refuses an
  abandoned id, so the late copy holds nothing. Entries go at that expiry, when a
  reserve of the id would be refused anyway.

Every script first moves the holds whose expiry ``<= now`` back into ``available``
(a hold kept as a key of its own with SETEX would lose that stock when it expired: here
an expired hold is just a score below ``now``, reclaimed by whichever call comes next),
then acts. Redis runs a script alone, so ``available + held + sold == capacity`` holds
at every instant and nothing is oversold however many processes call at once.

``now`` is the injected Clock's, passed to each script (scripts never read Redis's
time), so tests move time as they do for the in-memory inventory. Scores are
microseconds since the epoch: exact as doubles until the year 2255, so a hold lapses
at exactly ``expires_at <= now`` like ``Hold.is_live`` says, not a millisecond off.

State missing (a ticket type never seen, its keys deleted, a flush or a restart without
persistence) makes a script answer ``NEEDS_REBUILD``; the caller loads the
``StockFacts`` and runs ``INIT``, which writes them only if ``meta`` is still absent,
so concurrent rebuilders (in any process) cannot initialise twice. Then it retries.

Every script that touches a ticket type leaves its keys to expire after ``IDLE_TTL`` of
no use: a finished event's state (one entry per sale) does not stay in memory forever,
and a ticket type used again after that is rebuilt from the facts like after a flush.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as redis

from getiickets.adapters.redis.client import COMMAND_TIMEOUT_SECONDS
from getiickets.adapters.redis.errors import answer_within
from getiickets.domain.model.errors import CacheUnavailableError, NotFoundError
from getiickets.domain.model.inventory import Confirmation, Hold, StockFacts, StockLevel
from getiickets.ports.clock import Clock
from getiickets.ports.inventory import StockFactsSource

NEEDS_REBUILD = -1
IDLE_TTL = timedelta(days=30)
MAX_REBUILDS = 3
MAX_GATHERED = 200
"""Reserves per script call at most: one call of that size keeps Redis busy well under
a millisecond, so other clients' commands wait no longer than that behind it."""
_GATHERED_TYPES = 10_000
"""Rebuilds one call may do; more means the keys keep vanishing (a flush loop, eviction)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# KEYS: meta, holds, quantities, confirmed, abandoned. ARGV[1]: now in microseconds.
_PRELUDE = """
local meta, holds, quantities, confirmed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local abandoned = KEYS[5]
if redis.call('EXISTS', meta) == 0 then return -1 end
local now = ARGV[1]
redis.call('ZREMRANGEBYSCORE', abandoned, '-inf', now)
local expired = redis.call('ZRANGEBYSCORE', holds, '-inf', now)
if #expired > 0 then
  local back = 0
  for i = 1, #expired do
    back = back + (tonumber(redis.call('HGET', quantities, expired[i])) or 0)
    redis.call('HDEL', quantities, expired[i])
  end
  redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
  redis.call('HINCRBY', meta, 'available', back)
end
"""


def _script(body: str) -> str:
    """The prelude, then ``body`` as a function, then every key's idle expiry renewed
    (whichever way the body returned, keys it created included)."""
    idle_ms = IDLE_TTL // timedelta(milliseconds=1)
    return (
        f"{_PRELUDE}\nlocal function act()\n{body}\nend\nlocal result = act()\n"
        f"for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], {idle_ms}) end\nreturn result\n"
    )


# ARGV: now, then (hold id, quantity, expiry) per hold. One answer per hold, in order,
# each as if reserved alone: 1 held (or already held), 0 nothing held.
_RESERVE = _script(
    """
local function reserve(id, quantity, expiry)
  if redis.call('ZSCORE', abandoned, id) then return 0 end
  if redis.call('ZSCORE', holds, id) then return 1 end
  if redis.call('HEXISTS', confirmed, id) == 1 then return 0 end
  if expiry <= tonumber(now) then return 0 end
  if tonumber(redis.call('HGET', meta, 'available')) < quantity then return 0 end
  redis.call('ZADD', holds, expiry, id)
  redis.call('HSET', quantities, id, quantity)
  redis.call('HINCRBY', meta, 'available', -quantity)
  return 1
end
local answers = {}
for i = 2, #ARGV, 3 do
  answers[#answers + 1] = reserve(ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]))
end
return answers
"""
)

# ARGV: now, hold id. 1: live hold released, 2: sale undone, 0: nothing to do.
_RELEASE_BODY = """
local id = ARGV[2]
if redis.call('ZSCORE', holds, id) then
  local quantity = tonumber(redis.call('HGET', quantities, id))
  redis.call('ZREM', holds, id)
  redis.call('HDEL', quantities, id)
  redis.call('HINCRBY', meta, 'available', quantity)
  return 1
end
local sold = redis.call('HGET', confirmed, id)
if not sold then return 0 end
local quantity = tonumber(sold)
redis.call('HDEL', confirmed, id)
redis.call('HINCRBY', meta, 'sold', -quantity)
redis.call('HINCRBY', meta, 'available', quantity)
return 2
"""
_RELEASE = _script(_RELEASE_BODY)

# ARGV: now, hold id, expiry. As release, after marking the id abandoned until its expiry.
_ABANDON = _script(
    """
if tonumber(ARGV[3]) > tonumber(now) then redis.call('ZADD', abandoned, ARGV[3], ARGV[2]) end
"""
    + _RELEASE_BODY
)

# ARGV: now, hold id. 1: confirmed now, 2: confirmed before, 0: lapsed or unknown.
_CONFIRM = _script(
    """
local id = ARGV[2]
if redis.call('ZSCORE', holds, id) then
  local quantity = tonumber(redis.call('HGET', quantities, id))
  redis.call('ZREM', holds, id)
  redis.call('HDEL', quantities, id)
  redis.call('HSET', confirmed, id, quantity)
  redis.call('HINCRBY', meta, 'sold', quantity)
  return 1
end
if redis.call('HEXISTS', confirmed, id) == 1 then return 2 end
return 0
"""
)

# ARGV: now. {capacity, sold, available}.
_LEVEL = _script(
    """
return redis.call('HMGET', meta, 'capacity', 'sold', 'available')
"""
)

# ARGV: capacity, sold, number of live holds, then (id, quantity, expiry) per live hold,
# then (id, quantity) per sold hold, then the idle TTL in ms. 1: written, 0: someone
# else initialised first.
_INIT = """
local meta, holds, quantities, confirmed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('EXISTS', meta) == 1 then return 0 end
redis.call('DEL', holds, quantities, confirmed)
local capacity, sold, live = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local held, i = 0, 4
for _ = 1, live do
  redis.call('ZADD', holds, ARGV[i + 2], ARGV[i])
  redis.call('HSET', quantities, ARGV[i], ARGV[i + 1])
  held = held + tonumber(ARGV[i + 1])
  i = i + 3
end
while i < #ARGV - 1 do
  redis.call('HSET', confirmed, ARGV[i], ARGV[i + 1])
  i = i + 2
end
redis.call('HSET', meta, 'capacity', capacity, 'sold', sold, 'available', capacity - sold - held)
for k = 1, #KEYS do redis.call('PEXPIRE', KEYS[k], ARGV[#ARGV]) end
return 1
"""


def _stock_level(meta: Sequence[Any]) -> StockLevel:
    capacity, sold, available = (int(value) for value in meta)
    return StockLevel(capacity=capacity, held=capacity - sold - available, sold=sold)


def _microseconds(moment: datetime) -> int:
    """Exact integer microseconds since the epoch (``timestamp()`` is a float: it rounds)."""
    return (moment - _EPOCH) // _MICROSECOND


def _init_args(facts: StockFacts, now: datetime) -> list[int | str]:
    """The facts as ``INIT`` arguments, keeping only holds still live and not sold."""
    live = {
        hold.hold_id: hold
        for hold in facts.holds
        if hold.is_live(now) and hold.hold_id not in facts.sold_holds
    }
    args: list[int | str] = [facts.capacity, facts.sold, len(live)]
    for hold in live.values():
        args += [hold.hold_id, hold.quantity, _microseconds(hold.expires_at)]
    for hold_id, quantity in facts.sold_holds.items():
        args += [hold_id, quantity]
    return [*args, IDLE_TTL // timedelta(milliseconds=1)]


class RedisInventory:
    """Implements ``Inventory``.

    Raises ``CacheUnavailableError`` when Redis does not answer a call within
    ``timeout`` seconds, retries included.
    """

    def __init__(
        self,
        client: redis.Redis,
        facts: StockFactsSource,
        clock: Clock,
        prefix: str = "",
        timeout: float = COMMAND_TIMEOUT_SECONDS,
    ) -> None:
        self._client = client
        self._timeout = timeout
        self._facts = facts
        self._clock = clock
        self._prefix = prefix
        self._reserve = client.register_script(_RESERVE)
        self._release = client.register_script(_RELEASE)
        self._abandon = client.register_script(_ABANDON)
        self._confirm = client.register_script(_CONFIRM)
        self._level = client.register_script(_LEVEL)
        self._init = client.register_script(_INIT)
        self._loading: dict[str, asyncio.Lock] = {}
        self._reserves: dict[str, _Reserves] = {}

    async def reserve(self, hold: Hold) -> bool:
        """Gathered with the other reserves of its ticket type (see ``_Reserves``)."""
        reserves = self._reserves.get(hold.ticket_type_id)
        if reserves is None:
            if len(self._reserves) >= _GATHERED_TYPES:
                self._reserves = {tt: r for tt, r in self._reserves.items() if r.busy}
            reserves = self._reserves[hold.ticket_type_id] = _Reserves(self, hold.ticket_type_id)
        return await reserves.reserve(hold)

    async def release(self, ticket_type_id: str, hold_id: str) -> None:
        await self._run(self._release, ticket_type_id, hold_id)

    async def abandon(self, hold: Hold) -> None:
        await self._run(
            self._abandon, hold.ticket_type_id, hold.hold_id, _microseconds(hold.expires_at)
        )

    async def confirm(self, ticket_type_id: str, hold_id: str) -> Confirmation:
        outcome = await self._run(self._confirm, ticket_type_id, hold_id)
        if outcome == 1:
            return Confirmation.CONFIRMED
        if outcome == 2:  # noqa: PLR2004 - the script's answer codes, listed above it
            return Confirmation.ALREADY_CONFIRMED
        return Confirmation.LAPSED

    async def level(self, ticket_type_id: str) -> StockLevel:
        return _stock_level(await self._run(self._level, ticket_type_id))

    async def levels(self, ticket_type_ids: Sequence[str]) -> dict[str, StockLevel]:
        """One pipeline of ``LEVEL`` scripts (each reclaims its type's lapsed holds);
        a type whose state is missing is then rebuilt and read like ``level``."""
        wanted = list(dict.fromkeys(ticket_type_ids))
        if not wanted:
            return {}
        now = _microseconds(self._clock.now())
        async with (
            answer_within("the inventory store", self._timeout),
            self._client.pipeline(transaction=False) as pipeline,
        ):
            for ticket_type_id in wanted:
                await self._level(keys=self._keys(ticket_type_id), args=[now], client=pipeline)
            results = await pipeline.execute()
        return {
            ticket_type_id: (
                await self.level(ticket_type_id)
                if result == NEEDS_REBUILD
                else _stock_level(result)
            )
            for ticket_type_id, result in zip(wanted, results, strict=True)
        }

    @property
    def timeout(self) -> float:
        return self._timeout

    async def run_reserves(
        self, ticket_type_id: str, args: list[int | str], within: float
    ) -> list[int]:
        """``_RESERVE`` for (hold id, quantity, expiry) triples of one ticket type,
        answered within ``within`` seconds, rebuilds included."""
        async with answer_within("the inventory store", within):
            answers: list[int] = await self._run(self._reserve, ticket_type_id, *args)
        return answers

    def _keys(self, ticket_type_id: str) -> list[str]:
        base = f"{self._prefix}inv:{{tt:{ticket_type_id}}}:"
        return [
            f"{base}meta",
            f"{base}holds",
            f"{base}quantities",
            f"{base}confirmed",
            f"{base}abandoned",
        ]

    async def _run(self, script: Any, ticket_type_id: str, *args: int | str) -> Any:
        """Run ``script`` for the ticket type, rebuilding its state first if it is missing."""
        keys = self._keys(ticket_type_id)
        for _ in range(MAX_REBUILDS + 1):
            now = _microseconds(self._clock.now())
            async with answer_within("the inventory store", self._timeout):
                result = await script(keys=keys, args=[now, *args])
            if result != NEEDS_REBUILD:
                return result
            await self._rebuild(ticket_type_id, keys)
        raise CacheUnavailableError(
            f"the inventory state of ticket type {ticket_type_id} keeps disappearing"
        )

    async def _rebuild(self, ticket_type_id: str, keys: Sequence[str]) -> None:
        """Write the facts unless someone already did; facts load once per process.

        Tasks of this process queue on one lock, and the first to get it loads the
        facts; the others find ``meta`` there and go back to their operation. Other
        processes are kept out by ``INIT`` writing only where ``meta`` is absent.
        """
        lock = self._loading.setdefault(ticket_type_id, asyncio.Lock())
        async with lock:
            async with answer_within("the inventory store", self._timeout):
                if await self._client.exists(keys[0]):
                    return
            facts = await self._facts.stock_facts(ticket_type_id)
            if facts is None:
                raise NotFoundError(f"ticket type {ticket_type_id} not found")
            args = _init_args(facts, self._clock.now())
            async with answer_within("the inventory store", self._timeout):
                await self._init(keys=keys, args=args)


@dataclass(eq=False)
class _Ask:
    hold: Hold
    answer: asyncio.Future[bool]
    deadline: float
    """The loop's time by which its caller must have an answer."""


class _Reserves:
    """The reserves of one ticket type, gathered: while one script call is on its way,
    the reserves that arrive wait, and the next call carries them all (``_RESERVE``
    takes many holds, each answered as if alone). Under a rush that is one round trip
    and one reclaim of lapsed holds per batch instead of per order, as the order book
    gathers commits; alone, a reserve goes at once.

    * A sender task exists only while there is something to send: the first reserve of
      a quiet spell starts it, and it ends when nothing waits.
    * Each caller has an answer within the inventory's timeout from its own call, as a
      lone reserve would, without a timer of its own: a batch is given until the
      earliest deadline among its callers, and a caller whose deadline passed while it
      waited behind a slow call fails without being sent. A failed or cancelled caller
      whose hold was not sent is taken out; once sent, it may be held, which the
      caller treats as any lost answer (``Ordering`` abandons it).
    * A batch's failure (Redis unavailable, the ticket type unknown) is every one of its
      callers' failure: they asked the same store about the same ticket type.
    """

    def __init__(self, inventory: RedisInventory, ticket_type_id: str) -> None:
        self._inventory = inventory
        self._ticket_type_id = ticket_type_id
        self._waiting: list[_Ask] = []
        self._sender: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self._sender is not None

    async def reserve(self, hold: Hold) -> bool:
        loop = asyncio.get_running_loop()
        ask = _Ask(hold, loop.create_future(), loop.time() + self._inventory.timeout)
        self._waiting.append(ask)
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_waiting(), name="inventory-reserves")
        try:
            # Not shielded: a cancelled caller cancels only its own answer, which the
            # sender then leaves alone.
            return await ask.answer
        except BaseException:
            if ask in self._waiting:
                self._waiting.remove(ask)  # never sent: nothing can be held for it
            raise

    async def _send_waiting(self) -> None:
        batch: list[_Ask] = []
        try:
            # No await between the emptiness check and the end of the task, so a reserve
            # that arrives meanwhile either is seen here or starts a new sender.
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_GATHERED], self._waiting[MAX_GATHERED:]
                await self._send(batch)
        except BaseException:
            # Only the loop shutting down cancels the sender: the holds may have been
            # sent, so their callers get what a lost answer gives, never silence.
            for ask in [*batch, *self._waiting]:
                _answer_failed(ask, CacheUnavailableError("the inventory sender stopped"))
            self._waiting = []
            raise
        finally:
            self._sender = None

    async def _send(self, batch: list[_Ask]) -> None:
        now = asyncio.get_running_loop().time()
        sending: list[_Ask] = []
        for ask in batch:
            if ask.answer.done():
                continue  # its caller was cancelled
            if ask.deadline <= now:
                _answer_failed(ask, CacheUnavailableError(_NO_ANSWER_IN_TIME))
            else:
                sending.append(ask)
        if not sending:
            return
        args: list[int | str] = []
        for ask in sending:
            hold = ask.hold
            args += [hold.hold_id, hold.quantity, _microseconds(hold.expires_at)]
        within = min(ask.deadline for ask in sending) - now
        try:
            answers = await self._inventory.run_reserves(self._ticket_type_id, args, within)
        except Exception as error:
            for ask in sending:
                _answer_failed(ask, error)
            return
        for ask, held in zip(sending, answers, strict=True):
            if not ask.answer.done():
                ask.answer.set_result(held == 1)


_NO_ANSWER_IN_TIME = "the inventory store is unavailable: no answer within the timeout"


def _answer_failed(ask: _Ask, error: BaseException) -> None:
    if not ask.answer.done():
        ask.answer.set_exception(error)
