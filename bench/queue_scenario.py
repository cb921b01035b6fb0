"""Waiting-room scenario: a burst of joins, polls at the page's rate, orders behind the door.

Against a running getiickets (loopback only), it:

1. registers an organizer, publishes an event with one ticket type large enough for
   everyone, and switches its queue on at ``admit_per_minute``;
2. the burst: ``joins`` joins, each with its own email, sent by wrk over
   ``connections`` connections as fast as the server answers. Every join is sent
   exactly once: each wrk thread reserves one of its bodies before each request
   (``delay()``), idles its connections once its share is out, and stops when it has
   every answer. Each answer's queue token is kept;
3. for ``follow_seconds``, wrk plays every buyer's waiting page: it polls each token
   when the page would (``poll_seconds`` of the last estimated wait, measured from the
   previous answer), and has each admitted buyer place one order with its admission
   token at once. Answers are matched to buyers by the ``X-Request-Id`` the server
   echoes;
4. reports join and poll throughput and latency (p50, p99; for polls also how late
   they left against the page's schedule), orders by status, the admission rate
   measured on the server's own counter against the setting, and Kendall's tau between
   the order the server recorded the joins in (the sequence sealed in each queue
   token) and the order they were admitted in (1.0: nobody overtook anyone).

The server must allow this many joins from one address:
``QUEUE_JOINS_PER_CLIENT_PER_MINUTE`` at least ``joins``.

    python -m bench.queue_scenario http://127.0.0.1:8000 --joins 10000

``run(base_url, ...)`` is what ``python -m bench`` calls; it answers a dict of figures.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.wrk import CLOCK_LUA, REPORT_LUA, LoadResult, run_wrk
from getiickets.domain.model.waiting_room import MAX_POLL_SECONDS, MIN_POLL_SECONDS, poll_seconds

API = "/api/v1"
PASSWORD = "bench password 123"  # noqa: S105 - a throwaway account on a test server
THREADS = 2
_NONE = "-"
IDLE_MS = 3_600_000
"""What ``delay()`` answers when a connection has nothing left to send: past any run."""


def run(
    base_url: str,
    *,
    joins: int = 10_000,
    admit_per_minute: int = 3000,
    follow_seconds: float = 45.0,
    connections: int = 64,
    follow_connections: int = 256,
) -> dict[str, Any]:
    """The scenario against ``base_url`` (loopback only); figures as a dict."""
    host = urlsplit(base_url).hostname
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("the queue scenario runs over loopback only")
    if joins < THREADS:
        raise ValueError(f"at least {THREADS} joins, one per wrk thread")
    stage = _queued_event(base_url, admit_per_minute)
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as folder:
        work = Path(folder)
        joined = burst(base_url, stage["event_id"], joins, connections, work)
        follow = _follow(
            base_url, stage, joined["buyers"], follow_seconds, follow_connections, work
        )
    return {
        "joins": joined["figures"],
        **follow,
        "admit_per_minute_set": admit_per_minute,
    }


# ---------------------------------------------------------------- the stage


def _queued_event(base_url: str, admit_per_minute: int) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        email = f"organizer-{uuid.uuid4().hex[:10]}@bench.test"
        registered = http.post(
            f"{API}/auth/register",
            json={"email": email, "password": PASSWORD, "name": "Bench", "role": "organizer"},
        )
        registered.raise_for_status()
        auth = {"Authorization": f"Bearer {registered.json()['token']}"}
        created = http.post(
            f"{API}/events",
            headers=auth,
            json={
                "title": f"Queue bench {uuid.uuid4().hex[:6]}",
                "description": "The bench's queued event.",
                "category": "music",
                "city": "Lagos",
                "venue": "Bench Arena",
                "starts_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
                # Paid: orders stay pending, so the worker renders nothing meanwhile.
                "ticket_types": [{"name": "Regular", "price": "5000.00", "capacity": 1_000_000}],
            },
        )
        created.raise_for_status()
        event = created.json()
        http.post(f"{API}/events/{event['id']}/publish", headers=auth).raise_for_status()
        queue = {"enabled": True, "admit_per_minute": admit_per_minute, "session_minutes": 10}
        http.put(f"{API}/events/{event['id']}/queue", headers=auth, json=queue).raise_for_status()
    return {"event_id": event["id"], "type_id": event["ticket_types"][0]["id"], "auth": auth}


# ---------------------------------------------------------------- the burst

_BURST_LUA = r"""
local bodies_path, answers_path, path = "{bodies}", "{answers}", "{path}"
local bodies = {{}}
local share, reserved, sent, answered = 0, 0, 0, 0
local join_headers = {{["Content-Type"] = "application/json"}}
answers = {{}}
first_us, last_us = 0, 0

function init(args)
  local stride, index = tonumber(args[1]), 0
  for line in io.lines(bodies_path) do
    if index % stride == thread_index then bodies[#bodies + 1] = line end
    index = index + 1
  end
  share = #bodies
end

-- Called before every request: a connection goes on only with a body reserved for it,
-- so each body is sent once and only once.
function delay()
  if reserved < share then
    reserved = reserved + 1
    return 0
  end
  return {idle}
end

-- wrk calls request() once before the run, in thread 0, to check that it parses:
-- that call has no reservation and must not use up a body.
function request()
  if sent == reserved then return wrk.format("POST", path, join_headers, bodies[1]) end
  sent = sent + 1
  if first_us == 0 then first_us = now_us() end
  return wrk.format("POST", path, join_headers, bodies[sent])
end

function on_response(status, headers, body)
  local now = now_us()
  answered = answered + 1
  answers[answered] = string.format("%d\t%d\t%s\t%s", now, status,
    body:match('"estimated_wait_seconds":(%d+)') or "-", body:match('"queue_token":"([^"]+)"') or "-")
  last_us = now
  if answered == share then thread_done() end
end

function on_done(threads)
  local out = assert(io.open(answers_path, "w"))
  for _, thread in ipairs(threads) do
    out:write(string.format("T\t%d\t%d\n", thread:get("first_us"), thread:get("last_us")))
    for _, line in ipairs(thread:get("answers")) do out:write(line, "\n") end
  end
  out:close()
end
"""


def burst(base_url: str, event_id: str, joins: int, connections: int, work: Path) -> dict[str, Any]:
    bodies, answers = work / "bodies.jsonl", work / "joined.tsv"
    run_id = uuid.uuid4().hex[:8]
    bodies.write_text(
        "".join(f'{{"email":"q{index}-{run_id}@bench.test"}}\n' for index in range(joins))
    )
    script = _BURST_LUA.format(
        bodies=bodies, answers=answers, path=f"{API}/events/{event_id}/queue", idle=IDLE_MS
    )
    # Upper bound only: the run ends when every thread has all its answers.
    bound = max(60.0, joins / 50)
    load = run_wrk(
        base_url,
        CLOCK_LUA + script + REPORT_LUA,
        seconds=bound,
        connections=connections,
        threads=THREADS,
        script_args=[str(THREADS)],
        timeout_s=30,
        until_done=True,
    )
    spans, buyers = [], []
    for line in answers.read_text().splitlines():
        fields = line.split("\t")
        if fields[0] == "T":
            spans.append((int(fields[1]), int(fields[2])))
            continue
        answered_us, status, wait, token = int(fields[0]), int(fields[1]), fields[2], fields[3]
        if status == 201 and token != _NONE:  # joined
            due = answered_us + poll_seconds(int(wait)) * 1_000_000
            buyers.append((due, token))
    started = min(first for first, _ in spans if first)
    seconds = (max(last for _, last in spans) - started) / 1e6
    figures = _load_figures(load, seconds)
    figures["sent"] = joins
    figures["answered"] = load.requests
    figures["tokens"] = len(buyers)
    return {"figures": figures, "buyers": buyers}


def _load_figures(load: LoadResult, seconds: float) -> dict[str, Any]:
    """wrk's figures, over the time from the first request to the last answer."""
    timed = LoadResult(**{**load.__dict__, "seconds": seconds})
    return timed.as_json()


# ---------------------------------------------------------------- the waiting pages

_FOLLOW_LUA = r"""
local buyers_path, log_path, api = "{buyers}", "{log}", "{api}"
local stop_us, min_poll, max_poll = {stop_us}, {min_poll}, {max_poll}
local order_body = '{order_body}'
local waiting, reserved, by_id = {{}}, {{}}, {{}}
log, unmatched = {{}}, 0

local function push(heap, buyer)
  heap[#heap + 1] = buyer
  local i = #heap
  while i > 1 do
    local parent = math.floor(i / 2)
    if heap[parent].due <= heap[i].due then break end
    heap[parent], heap[i] = heap[i], heap[parent]
    i = parent
  end
end

local function pop(heap)
  local top = heap[1]
  if top == nil then return nil end
  heap[1] = heap[#heap]
  heap[#heap] = nil
  local i, n = 1, #heap
  while true do
    local least, left, right = i, 2 * i, 2 * i + 1
    if left <= n and heap[left].due < heap[least].due then least = left end
    if right <= n and heap[right].due < heap[least].due then least = right end
    if least == i then break end
    heap[least], heap[i] = heap[i], heap[least]
    i = least
  end
  return top
end

function init(args)
  local stride, index = tonumber(args[1]), 0
  for line in io.lines(buyers_path) do
    if index % stride == thread_index then
      local due, token = line:match("^(%d+)\t(.+)$")
      local buyer = {{id = "b" .. index, index = index, token = token, due = tonumber(due)}}
      by_id[buyer.id] = buyer
      push(waiting, buyer)
    end
    index = index + 1
  end
end

-- Before every request: the connection takes the buyer whose page asks next and
-- waits until then; nothing left before the end of the run, it idles.
function delay()
  local buyer = pop(waiting)
  if buyer == nil then return {idle} end
  if buyer.due >= stop_us then
    push(waiting, buyer)
    return {idle}
  end
  push(reserved, buyer)
  local wait = buyer.due - now_us()
  if wait <= 0 then return 0 end
  return math.ceil(wait / 1000)
end

function request()
  local buyer = pop(reserved)
  if buyer == nil then  -- wrk's check before the run (see the burst's script)
    return wrk.format("GET", api .. "/queue/check", {{}})
  end
  local now = now_us()
  buyer.sent, buyer.late = now, math.max(0, now - buyer.due)
  if buyer.admission then
    buyer.kind = "O"
    return wrk.format("POST", api .. "/orders", {{
      ["Content-Type"] = "application/json",
      ["X-Request-Id"] = buyer.id,
      ["X-Admission-Token"] = buyer.admission,
    }}, string.format(order_body, buyer.id))
  end
  buyer.kind = "P"
  return wrk.format("GET", api .. "/queue/" .. buyer.token, {{["X-Request-Id"] = buyer.id}})
end

function on_response(status, headers, body)
  local now = now_us()
  local buyer = by_id[headers["x-request-id"] or headers["X-Request-Id"] or ""]
  if buyer == nil or buyer.sent == nil then
    unmatched = unmatched + 1
    return
  end
  log[#log + 1] = string.format("%s\t%d\t%d\t%d", buyer.kind, status, now - buyer.sent, buyer.late)
  buyer.sent = nil
  if buyer.kind == "O" then return end
  if status ~= 200 then
    buyer.due = now + max_poll * 1000000  -- as the page does when the queue is busy
  else
    local admission = body:match('"admission_token":"([^"]+)"')
    if admission then
      buyer.admission, buyer.due = admission, now
      log[#log + 1] = string.format("A\t%d\t%d\t%s", buyer.index, now,
        body:match('"admission_expires_at":"([^"]+)"') or "")
    else
      local wait = tonumber(body:match('"estimated_wait_seconds":(%d+)') or "0")
      buyer.due = now + math.max(min_poll, math.min(max_poll, math.floor(wait / 10))) * 1000000
    end
  end
  push(waiting, buyer)
end

function on_done(threads)
  local out = assert(io.open(log_path, "w"))
  for _, thread in ipairs(threads) do
    out:write(string.format("U\t%d\n", thread:get("unmatched")))
    for _, line in ipairs(thread:get("log")) do out:write(line, "\n") end
  end
  out:close()
end
"""


def _follow(  # noqa: PLR0917 - one phase's inputs
    base_url: str,
    stage: dict[str, Any],
    buyers: list[tuple[int, str]],
    seconds: float,
    connections: int,
    work: Path,
) -> dict[str, Any]:
    buyers_path, log = work / "buyers.tsv", work / "followed.tsv"
    buyers_path.write_text("".join(f"{due}\t{token}\n" for due, token in buyers))
    order_body = json.dumps(
        {
            "event_id": stage["event_id"],
            "items": [{"ticket_type_id": stage["type_id"], "quantity": 1}],
            "buyer": {"email": "buyer-%s@bench.test", "name": "Queue Buyer"},
        },
        separators=(",", ":"),
    )
    started_us = time.monotonic_ns() // 1000
    stop_us = started_us + int(seconds * 1e6)
    script = _FOLLOW_LUA.format(
        buyers=buyers_path,
        log=log,
        api=API,
        stop_us=stop_us,
        min_poll=MIN_POLL_SECONDS,
        max_poll=MAX_POLL_SECONDS,
        order_body=order_body,
        idle=IDLE_MS,
    )
    counter = AdmissionCounter(base_url, stage["event_id"], stage["auth"])
    with counter.sampling():
        load = run_wrk(
            base_url,
            CLOCK_LUA + script + REPORT_LUA,
            seconds=seconds,
            connections=connections,
            threads=THREADS,
            script_args=[str(THREADS)],
            timeout_s=30,
        )
    wall = time.monotonic_ns() // 1000 - started_us
    polls, orders, admitted, unmatched = _read_follow_log(log)
    tokens = [token for _, token in buyers]
    admitted.sort()  # by admission time (same session length for all: expiry orders them)
    return {
        "polls": polls.summary(wall / 1e6),
        "orders": orders.summary(wall / 1e6),
        "unmatched_answers": unmatched,
        "follow_seconds": round(wall / 1e6, 1),
        "follow_connections": connections,
        "all_requests_statuses": dict(sorted(load.statuses.items())),
        "admitted_seen": len(admitted),
        "admit_per_minute_measured": counter.per_minute(),
        "orders_per_minute": round(orders.count(201) / (wall / 1e6) * 60, 1) if wall else 0.0,
        "kendall_tau_join_vs_admission": kendall_tau(
            [_sequence(tokens[index]) for _, index in admitted]
        ),
    }


class Latencies:
    """One kind of request's outcomes, as the Lua log recorded them (microseconds)."""

    def __init__(self) -> None:
        self.latencies: list[int] = []
        self.lateness: list[int] = []
        self.statuses: dict[str, int] = {}

    def add(self, status: str, latency_us: int, late_us: int) -> None:
        self.latencies.append(latency_us)
        self.lateness.append(late_us)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def count(self, status: int) -> int:
        return self.statuses.get(str(status), 0)

    def summary(self, seconds: float) -> dict[str, Any]:
        latencies, lateness = sorted(self.latencies), sorted(self.lateness)
        return {
            "requests": len(latencies),
            "requests_per_second": round(len(latencies) / seconds, 1) if seconds else 0.0,
            "p50_ms": round(quantile(latencies, 0.50) / 1000, 2),
            "p99_ms": round(quantile(latencies, 0.99) / 1000, 2),
            "max_ms": round(latencies[-1] / 1000, 2) if latencies else 0.0,
            # How long after the page's schedule the request left: the load kept up
            # with the pages while this stays near zero.
            "late_p99_ms": round(quantile(lateness, 0.99) / 1000, 2),
            "statuses": dict(sorted(self.statuses.items())),
        }


def _read_follow_log(path: Path) -> tuple[Latencies, Latencies, list[tuple[datetime, int]], int]:
    polls, orders = Latencies(), Latencies()
    admitted: list[tuple[datetime, int]] = []
    unmatched = 0
    for line in path.read_text().splitlines():
        kind, *fields = line.split("\t")
        if kind == "P":
            polls.add(fields[0], int(fields[1]), int(fields[2]))
        elif kind == "O":
            orders.add(fields[0], int(fields[1]), int(fields[2]))
        elif kind == "A":
            admitted.append((datetime.fromisoformat(fields[2]), int(fields[0])))
        elif kind == "U":
            unmatched += int(fields[0])
    return polls, orders, admitted, unmatched


class AdmissionCounter:
    """Samples the queue's own ``admitted_total`` each second, as the organizer sees it.

    The measured rate is taken only over samples while buyers were still waiting: once
    the line is empty, nobody is there to admit and the rate says nothing.
    """

    def __init__(self, base_url: str, event_id: str, auth: dict[str, str]) -> None:
        self._url = f"{base_url}{API}/events/{event_id}/queue"
        self._auth = auth
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()

    def _run(self) -> None:
        with httpx.Client(timeout=10, headers=self._auth) as http:
            while True:
                try:
                    answer = http.get(self._url)
                    if answer.status_code == 200:
                        body = answer.json()
                        self.samples.append(
                            (time.monotonic(), body["admitted_total"], body["waiting"])
                        )
                except httpx.HTTPError:
                    pass  # a missed sample; the rate is taken between the ones that came
                if self._stop.wait(1.0):
                    return

    @contextlib.contextmanager
    def sampling(self) -> Iterator[AdmissionCounter]:
        sampler = threading.Thread(target=self._run, daemon=True)
        sampler.start()
        try:
            yield self
        finally:
            self._stop.set()
            sampler.join()

    def per_minute(self) -> float:
        backlogged = [sample for sample in self.samples if sample[2] > 0]
        if len(backlogged) < 2:
            return 0.0
        (t0, a0, _), (t1, a1, _) = backlogged[0], backlogged[-1]
        return round((a1 - a0) / (t1 - t0) * 60, 1) if t1 > t0 else 0.0


# ---------------------------------------------------------------- figures


def _sequence(queue_token: str) -> int:
    """The place the server sealed in the token (signed, not secret): its join order."""
    payload = queue_token.split(".", 1)[0]
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return int(fields[2])


def kendall_tau(values: list[int]) -> float:
    """Kendall's tau between list order and value order (1.0: already sorted)."""
    n = len(values)
    if n < 2:
        return 1.0
    # O(n log n) by counting inversions with a merge sort.
    inversions = _inversions(list(values))
    pairs = n * (n - 1) // 2
    return round(1 - 2 * inversions / pairs, 6)


def _inversions(values: list[int]) -> int:
    if len(values) <= 1:
        return 0
    middle = len(values) // 2
    left, right = values[:middle], values[middle:]
    count = _inversions(left) + _inversions(right)
    i = j = k = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            values[k] = left[i]
            i += 1
        else:
            values[k] = right[j]
            count += len(left) - i
            j += 1
        k += 1
    values[k:] = left[i:] + right[j:]
    return count


def quantile(ordered: list[int], q: float) -> float:
    """The ``q`` quantile of sorted values (nearest rank); 0 for none."""
    if not ordered:
        return 0.0
    return float(ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("--joins", type=int, default=10_000)
    parser.add_argument("--admit-per-minute", type=int, default=3000)
    parser.add_argument("--follow-seconds", type=float, default=45.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--follow-connections", type=int, default=256)
    args = parser.parse_args(argv)
    figures = run(
        args.base_url,
        joins=args.joins,
        admit_per_minute=args.admit_per_minute,
        follow_seconds=args.follow_seconds,
        connections=args.connections,
        follow_connections=args.follow_connections,
    )
    json.dump(figures, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
