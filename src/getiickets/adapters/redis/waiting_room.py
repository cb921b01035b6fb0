"""``RedisWaitingLine``: one event's waiting line in Redis, moved by Lua, shared by every process.

Per event seven keys share the hash tag ``{wr:<event id>}`` (one cluster slot):

- ``meta``: hash of ``next_at``, ``frontier``, ``sequence``, ``opened``,
  ``rebuilding_until``, ``admitted_total``;
- ``line``: sorted set of entry ids by score (``waiting_room.score``);
- ``arrivals``: hash entry -> arrival (microseconds);
- ``admitted``: hash entry -> admission expiry, for everyone admitted;
- ``active``: sorted set of live admissions by when their session ends;
- ``uses``: hash entry -> orders claimed;
- ``emails``: hash email digest -> entry.

Every script but ``claim`` and ``give_back`` takes the same step first: sweep the
sessions that ended, then let in whoever ``waiting_room.admit`` allows at ``now`` (the
same sums, in Lua), then act. So admission advances with time whoever asks: a poll, a
join, the organizer's page; no process runs a timer.

A missing ``meta`` (a restart without persistence, a flush, keys idle for
``IDLE_TTL``) makes the step start the line again *closed* until ``now +
rebuild_us``: entries come back at their places from the tokens the waiting pages
hold, and nobody is admitted meanwhile. Admissions from before the loss are unknown to
the new line: claiming one answers ``REBUILDING`` during the window and ``UNKNOWN``
after it (the page then waits for its re-admission).

Times are the injected Clock's (scripts never read Redis's), in microseconds; every
number written goes through ``%.0f`` since Lua's default formatting would round.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis.asyncio as redis

from getiickets.adapters.redis.client import COMMAND_TIMEOUT_SECONDS
from getiickets.adapters.redis.errors import answer_within
from getiickets.domain.model.waiting_room import LATE, Pace, QueuePlace
from getiickets.ports.waiting_room import Claim, JoinLimits, JoinRefused, LineState, Spot, Step

IDLE_TTL = timedelta(days=7)
"""A line nobody touched for this long is forgotten; using it again starts a rebuild."""
MAX_JOINS_PER_CALL = 256
"""Joins answered by one script call at most: Redis runs nothing else meanwhile, so a
call stays a few milliseconds however big the rush."""

_KEYS = "local meta, line, arrivals, admitted, active, uses, emails = " + ", ".join(
    f"KEYS[{i}]" for i in range(1, 8)
)

# ARGV: now, interval, session, max_active (-1: none), not_before, rebuild, idle ms.
_STEP = f"""
{_KEYS}
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local session = tonumber(ARGV[3])
local max_active = tonumber(ARGV[4])
local not_before = tonumber(ARGV[5])
local rebuild = tonumber(ARGV[6])
local LATE = {LATE}
local function n(x) return string.format('%.0f', x) end

local function prepare()
  if redis.call('EXISTS', meta) == 0 then
    local until_ = now + rebuild
    redis.call('HSET', meta, 'next_at', n(until_), 'sequence', n(now),
      'rebuilding_until', n(until_), 'frontier', 0, 'opened', 0, 'admitted_total', 0)
  end
  local lapsed = 0
  local ended = redis.call('ZRANGEBYSCORE', active, '-inf', n(now))
  for i = 1, #ended do
    if (tonumber(redis.call('HGET', uses, ended[i])) or 0) == 0 then lapsed = lapsed + 1 end
  end
  if #ended > 0 then redis.call('ZREMRANGEBYSCORE', active, '-inf', n(now)) end
  if now >= not_before then redis.call('HSET', meta, 'opened', 1) end
  return lapsed
end

local function admit_step()
  local next_at = tonumber(redis.call('HGET', meta, 'next_at'))
  local frontier = tonumber(redis.call('HGET', meta, 'frontier'))
  local room = -1
  if max_active >= 0 then room = math.max(0, max_active - redis.call('ZCARD', active)) end
  local waited, count = {{}}, 0
  while true do
    local ids = redis.call('ZRANGE', line, frontier, frontier)
    if #ids == 0 then break end
    local id = ids[1]
    local arrival = tonumber(redis.call('HGET', arrivals, id))
    local at = math.max(next_at, arrival, not_before)
    if at > now then break end
    if room >= 0 and count >= room then
      next_at = math.max(next_at, now)
      break
    end
    redis.call('HSET', admitted, id, n(at + session))
    redis.call('ZADD', active, n(at + session), id)
    frontier = frontier + 1
    count = count + 1
    waited[count] = n(at - arrival)
    next_at = at + interval
  end
  redis.call('HSET', meta, 'next_at', n(next_at), 'frontier', frontier)
  if count > 0 then redis.call('HINCRBY', meta, 'admitted_total', count) end
  return waited
end

local function append(id)
  local sequence = redis.call('HINCRBY', meta, 'sequence', 1)
  redis.call('ZADD', line, n(LATE + sequence), id)
  redis.call('HSET', arrivals, id, n(now))
end

local function live(id)
  local rank = redis.call('ZRANK', line, id)
  if not rank then return false end
  if rank >= tonumber(redis.call('HGET', meta, 'frontier')) then return true end
  local ends = redis.call('ZSCORE', active, id)
  return ends ~= false and tonumber(ends) > now
end

local function finish(result)
  for i = 1, 7 do redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
  return result
end

local function standing(id, frontier, waiting)
  local rank = redis.call('ZRANK', line, id)
  local result = {{id, redis.call('ZSCORE', line, id), redis.call('HGET', arrivals, id)}}
  if rank < frontier then
    result[4], result[5], result[6] = '0', '1', redis.call('HGET', admitted, id)
  else
    result[4], result[5], result[6] = n(rank - frontier), '0', ''
  end
  result[7] = redis.call('HGET', uses, id) or '0'
  result[8] = redis.call('HGET', meta, 'next_at')
  result[9] = '0'
  result[10] = waiting
  return result
end

local function spot(id, waited, lapsed)
  local frontier = tonumber(redis.call('HGET', meta, 'frontier'))
  local result = standing(id, frontier, n(redis.call('ZCARD', line) - frontier))
  result[9] = n(lapsed)
  for i = 1, #waited do result[10 + i] = waited[i] end
  return finish(result)
end
"""

# KEYS[8]: the join counts of the current window (a hash: ``e:<email digest>``,
# ``c:<client>``). ARGV[8]: the window in ms; then per join, in the order they came:
# entry id, email digest, client, draw, per-email limit, per-client limit.
# Answers {the step: {lapsed, waited...}, then per join: {refusal} or its standing}.
_JOIN_ARGS = 6
_JOIN = (
    _STEP
    + f"""
local counts, window_ms = KEYS[8], ARGV[8]
local joins = (#ARGV - 8) / {_JOIN_ARGS}
local refused, any = {{}}, false
for j = 1, joins do
  local at = 8 + (j - 1) * {_JOIN_ARGS}
  if redis.call('HINCRBY', counts, 'e:' .. ARGV[at + 2], 1) > tonumber(ARGV[at + 5]) then
    refused[j] = {JoinRefused.EMAIL.value}
  elseif redis.call('HINCRBY', counts, 'c:' .. ARGV[at + 3], 1) > tonumber(ARGV[at + 6]) then
    refused[j] = {JoinRefused.CLIENT.value}
  else
    refused[j] = 0
    any = true
  end
end
redis.call('PEXPIRE', counts, window_ms)
local answers = {{{{0}}}}
if not any then
  for j = 1, joins do answers[j + 1] = {{refused[j]}} end
  return answers
end
local lapsed = prepare()
-- One call's joins share one ``now``: early or not is the same for all of them, and
-- their writes go in one command per key, after the loop.
local early = redis.call('HGET', meta, 'opened') ~= '1' and now < not_before
local sequence = tonumber(redis.call('HGET', meta, 'sequence'))
local ids, added, by_email = {{}}, {{}}, {{}}
local scored, arrived, emailed = {{}}, {{}}, {{}}
for j = 1, joins do
  if refused[j] == 0 then
    local at = 8 + (j - 1) * {_JOIN_ARGS}
    local id, email = ARGV[at + 1], ARGV[at + 2]
    -- Added earlier in this call: still waiting, so live.
    local existing = by_email[email]
    if not existing then
      existing = redis.call('HGET', emails, email)
      if existing and not live(existing) then existing = nil end
    end
    if existing then
      id = existing
    else
      local score, arrival = ARGV[at + 4], n(not_before)
      if not early then
        sequence = sequence + 1
        score, arrival = n(LATE + sequence), n(now)
      end
      scored[#scored + 1], scored[#scored + 2] = score, id
      arrived[#arrived + 1], arrived[#arrived + 2] = id, arrival
      emailed[#emailed + 1], emailed[#emailed + 2] = email, id
      by_email[email], added[j] = id, {{score, arrival}}
    end
    ids[j] = id
  end
end
if #scored > 0 then
  redis.call('ZADD', line, unpack(scored))
  redis.call('HSET', arrivals, unpack(arrived))
  redis.call('HSET', emails, unpack(emailed))
  redis.call('HSET', meta, 'sequence', n(sequence))
end
local waited = admit_step()
local step = {{n(lapsed)}}
for i = 1, #waited do step[i + 1] = waited[i] end
answers[1] = step
local frontier = tonumber(redis.call('HGET', meta, 'frontier'))
local waiting = n(redis.call('ZCARD', line) - frontier)
local next_at = redis.call('HGET', meta, 'next_at')
for j = 1, joins do
  if refused[j] ~= 0 then
    answers[j + 1] = {{refused[j]}}
  elseif added[j] then
    -- Just added: its score and arrival are known and nothing used it yet.
    local id = ids[j]
    local rank = redis.call('ZRANK', line, id)
    local answer = {{id, added[j][1], added[j][2], n(rank - frontier), '0', '', '0', next_at,
      '0', waiting}}
    if rank < frontier then
      answer[4], answer[5], answer[6] = '0', '1', redis.call('HGET', admitted, id)
    end
    answers[j + 1] = answer
  else
    answers[j + 1] = standing(ids[j], frontier, waiting)
  end
end
return finish(answers)
"""
)

# ARGV[8..]: entry id, its score, its arrival (from the signed token).
_LOOK = (
    _STEP
    + """
local lapsed = prepare()
local id = ARGV[8]
if not redis.call('ZSCORE', line, id) then
  if now < tonumber(redis.call('HGET', meta, 'rebuilding_until')) then
    redis.call('ZADD', line, ARGV[9], id)
    redis.call('HSET', arrivals, id, ARGV[10])
  else
    append(id)
  end
end
return spot(id, admit_step(), lapsed)
"""
)

_STATE = (
    _STEP
    + """
local lapsed = prepare()
local waited = admit_step()
local frontier = tonumber(redis.call('HGET', meta, 'frontier'))
local result = {
  n(redis.call('ZCARD', line) - frontier),
  n(redis.call('ZCOUNT', active, '(' .. n(now), '+inf')),
  redis.call('HGET', meta, 'admitted_total'),
  redis.call('HGET', meta, 'next_at'),
  now < tonumber(redis.call('HGET', meta, 'rebuilding_until')) and '1' or '0',
  n(lapsed),
}
for i = 1, #waited do result[6 + i] = waited[i] end
return finish(result)
"""
)

# ARGV: now, not_before, idle ms.
_OPEN = f"""
{_KEYS}
if redis.call('EXISTS', meta) == 0 then
  local now, not_before = tonumber(ARGV[1]), tonumber(ARGV[2])
  redis.call('HSET', meta, 'next_at', string.format('%.0f', math.max(now, not_before)),
    'sequence', ARGV[1], 'rebuilding_until', 0, 'frontier', 0, 'opened', 0,
    'admitted_total', 0)
end
for i = 1, 7 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
return 1
"""

# ARGV: now, entry id, max uses. Answers a ``Claim``.
_CLAIM = f"""
{_KEYS}
local now, id, most = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
if redis.call('EXISTS', meta) == 0 then return {Claim.REBUILDING.value} end
local expires = redis.call('HGET', admitted, id)
if not expires then
  if now < tonumber(redis.call('HGET', meta, 'rebuilding_until')) then
    return {Claim.REBUILDING.value}
  end
  return {Claim.UNKNOWN.value}
end
if tonumber(expires) <= now then return {Claim.EXPIRED.value} end
local used = tonumber(redis.call('HGET', uses, id)) or 0
if used >= most then return {Claim.USED_UP.value} end
redis.call('HINCRBY', uses, id, 1)
if used + 1 >= most and redis.call('ZSCORE', active, id) then
  redis.call('ZADD', active, ARGV[1], id)
end
return {Claim.CLAIMED.value}
"""

# ARGV: now, entry id.
_GIVE_BACK = f"""
{_KEYS}
local now, id = tonumber(ARGV[1]), ARGV[2]
if redis.call('EXISTS', meta) == 0 then return 0 end
if (tonumber(redis.call('HGET', uses, id)) or 0) <= 0 then return 0 end
redis.call('HINCRBY', uses, id, -1)
local expires = tonumber(redis.call('HGET', admitted, id)) or 0
if expires > now then redis.call('ZADD', active, string.format('%.0f', expires), id) end
return 1
"""


class RedisWaitingLine:
    """Implements ``WaitingLine``; ``CacheUnavailableError`` when Redis does not answer."""

    def __init__(
        self, client: redis.Redis, prefix: str = "", timeout: float = COMMAND_TIMEOUT_SECONDS
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._timeout = timeout
        self._join = client.register_script(_JOIN)
        self._gathered: dict[str, list[_Join]] = {}
        """Per event, the joins waiting for the call in flight to end."""
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._look = client.register_script(_LOOK)
        self._state = client.register_script(_STATE)
        self._open = client.register_script(_OPEN)
        self._claim = client.register_script(_CLAIM)
        self._give_back = client.register_script(_GIVE_BACK)

    async def open(self, event_id: str, pace: Pace) -> None:
        await self._run(self._open, event_id, [pace.now_us, pace.not_before_us, _idle_ms()])

    async def join(
        self,
        event_id: str,
        *,
        entry_id: str,
        email_key: str,
        client_key: str,
        draw: int,
        limits: JoinLimits,
        pace: Pace,
    ) -> Spot | JoinRefused:
        """Joins to one line that arrive while a call for it is in flight go together in
        the next call (a group commit): one round trip and one script run for many
        joins in a rush, each answered on its own, in the order they came."""
        join = _Join(
            args=(entry_id, email_key, client_key, draw, limits.per_email, limits.per_client),
            limits=limits,
            pace=pace,
            answer=asyncio.get_running_loop().create_future(),
        )
        self._gathered.setdefault(event_id, []).append(join)
        if event_id not in self._senders:
            # A task of its own, not the first caller's: a caller that goes away (a
            # client hung up) must not cancel the calls of the others waiting.
            self._senders[event_id] = asyncio.create_task(self._send_joins(event_id))
        return await join.answer

    async def _send_joins(self, event_id: str) -> None:
        try:
            while gathered := self._gathered.pop(event_id, None):
                for start in range(0, len(gathered), MAX_JOINS_PER_CALL):
                    await self._join_together(
                        event_id, gathered[start : start + MAX_JOINS_PER_CALL]
                    )
        finally:
            del self._senders[event_id]
            for join in self._gathered.pop(event_id, ()):  # only left if we were cancelled
                join.answer.cancel()

    async def _join_together(self, event_id: str, batch: list[_Join]) -> None:
        # The latest pace for the whole call: the joins came within one round trip.
        last = batch[-1]
        window = last.pace.now_us // last.limits.window_us
        keys = [*self._keys(event_id), f"{self._base(event_id)}joins:{window}"]
        args: list[int | str] = [*_pace_args(last.pace), _ms(last.limits.window_us)]
        for join in batch:
            args.extend(join.args)
        try:
            async with answer_within("the waiting line", self._timeout):
                answers = await self._join(keys=keys, args=args)
        except Exception as error:
            for join in batch:
                if not join.answer.done():
                    join.answer.set_exception(error)
            return
        except BaseException:
            for join in batch:
                join.answer.cancel()
            raise
        lapsed, *waited = (int(value) for value in answers[0])
        step = Step(waited_us=tuple(waited), lapsed=lapsed)
        for join, answer in zip(batch, answers[1:], strict=True):
            if join.answer.done():
                continue  # its caller went away; the join stands, as a lost answer's may
            if len(answer) == 1:
                join.answer.set_result(JoinRefused(int(answer[0])))
            else:
                # The step's admissions are reported once, with the first spot.
                join.answer.set_result(_spot(answer, step))
                step = Step()

    async def look(self, event_id: str, place: QueuePlace, pace: Pace) -> Spot:
        args = [*_pace_args(pace), place.entry_id, place.score, place.arrival_us]
        return _spot(await self._run(self._look, event_id, args))

    async def claim(self, event_id: str, entry_id: str, max_uses: int, now_us: int) -> Claim:
        return Claim(int(await self._run(self._claim, event_id, [now_us, entry_id, max_uses])))

    async def give_back(self, event_id: str, entry_id: str, now_us: int) -> None:
        await self._run(self._give_back, event_id, [now_us, entry_id])

    async def state(self, event_id: str, pace: Pace) -> LineState:
        result = await self._run(self._state, event_id, _pace_args(pace))
        waiting, active, total, next_at, rebuilding, lapsed = (int(value) for value in result[:6])
        return LineState(
            waiting=waiting,
            admitted_active=active,
            admitted_total=total,
            next_at_us=next_at,
            rebuilding=bool(rebuilding),
            step=Step(waited_us=tuple(int(value) for value in result[6:]), lapsed=lapsed),
        )

    def _base(self, event_id: str) -> str:
        return f"{self._prefix}wr:{{wr:{event_id}}}:"

    def _keys(self, event_id: str) -> list[str]:
        base = self._base(event_id)
        names = ("meta", "line", "arrivals", "admitted", "active", "uses", "emails")
        return [f"{base}{name}" for name in names]

    async def _run(self, script: Any, event_id: str, args: list[int | str]) -> Any:
        async with answer_within("the waiting line", self._timeout):
            return await script(keys=self._keys(event_id), args=args)


@dataclass(slots=True)
class _Join:
    args: tuple[str, str, str, int, int, int]
    limits: JoinLimits
    pace: Pace
    answer: asyncio.Future[Spot | JoinRefused]


def _ms(micros: int) -> int:
    return max(1, -(-micros // 1000))


def _idle_ms() -> int:
    return IDLE_TTL // timedelta(milliseconds=1)


def _pace_args(pace: Pace) -> list[int | str]:
    return [
        pace.now_us,
        pace.interval_us,
        pace.session_us,
        -1 if pace.max_active is None else pace.max_active,
        pace.not_before_us,
        pace.rebuild_us,
        _idle_ms(),
    ]


def _spot(result: list[Any], step: Step | None = None) -> Spot:
    entry_id, entry_score, arrival, ahead, admitted, expires, uses, next_at, lapsed, waiting = (
        result[:10]
    )
    if step is None:
        step = Step(waited_us=tuple(int(value) for value in result[10:]), lapsed=int(lapsed))
    return Spot(
        entry_id=entry_id.decode(),
        score=int(entry_score),
        arrival_us=int(arrival),
        ahead=int(ahead),
        admitted=admitted == b"1",
        admission_expires_us=int(expires) if expires else None,
        uses=int(uses),
        next_at_us=int(next_at),
        waiting=int(waiting),
        step=step,
    )
