"""Load over loopback with wrk: a Lua script per scenario, results as JSON.

Every script ends in the same reporting part: each wrk thread counts the statuses it
saw, and ``done`` prints one ``BENCHJSON`` line with the totals and latency
percentiles, which :func:`run_wrk` reads back. A script that needs more may define
``on_response(status, headers, body)`` (called after the count) and
``on_done(threads)`` (called before the line is printed, with every thread).

wrk itself always sleeps for its whole ``-d``; a script that sends a fixed number of
requests prints :data:`THREAD_DONE` (and stops its thread) once its thread has every
answer, and ``run_wrk(..., until_done=True)`` ends the run when all threads said so.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

REPORT_LUA = r"""
statuses = {}
local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_index", thread_count - 1)
  table.insert(threads, thread)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if on_response then on_response(status, headers, body) end
end

function done(summary, latency, requests)
  if on_done then on_done(threads) end
  local total = {}
  for _, thread in ipairs(threads) do
    local seen = thread:get("statuses")
    for status, count in pairs(seen) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%d":%d', status, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"socket_errors":%d,"timeouts":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max,
    errors.connect + errors.read + errors.write, errors.timeout, table.concat(parts, ",")))
end
"""


THREAD_DONE = "BENCHTHREADDONE"

CLOCK_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local bench_now = ffi.new("bench_timespec")
-- CLOCK_MONOTONIC in microseconds: the same clock as Python's time.monotonic_ns().
function now_us()
  ffi.C.clock_gettime(1, bench_now)
  return tonumber(bench_now.tv_sec) * 1000000 + math.floor(tonumber(bench_now.tv_nsec) / 1000)
end

function thread_done()
  io.write("THREAD_DONE\n")
  io.flush()
  wrk.thread:stop()
end
""".replace("THREAD_DONE", THREAD_DONE)
"""``now_us()`` for latencies a script measures itself, and ``thread_done()``."""


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int
    timeouts: int
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def count(self, *statuses: int) -> int:
        return sum(self.statuses.get(str(status), 0) for status in statuses)

    def as_json(self) -> dict[str, object]:
        return {
            "requests_per_second": round(self.per_second, 1),
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "p50_ms": round(self.p50_ms, 2),
            "p90_ms": round(self.p90_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "statuses": dict(sorted(self.statuses.items())),
            "socket_errors": self.socket_errors,
            "timeouts": self.timeouts,
        }


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    return path


def get_script(headers: dict[str, str] | None = None) -> str:
    return _headers(headers) + REPORT_LUA


def post_script(body: str, headers: dict[str, str] | None = None) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(body)}"]
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return "\n".join(lines) + "\n" + _headers(all_headers) + REPORT_LUA


def rotating_post_script(path: str, requests: list[tuple[str, dict[str, str]]]) -> str:
    """Each thread walks its own slice of ``requests`` (body, headers), once round."""
    entries = ",\n".join(
        "{"
        + _lua_string(body)
        + ", {"
        + ", ".join(
            f"[{_lua_string(name)}] = {_lua_string(value)}" for name, value in headers.items()
        )
        + "}}"
        for body, headers in requests
    )
    return (
        f"local requests = {{\n{entries}\n}}\n"
        "local position = nil\n"
        "local stride = 1\n"
        "local checked = false\n"
        "function init(args)\n"
        "  position = thread_index or 0\n"
        "  stride = tonumber(args[1] or '1')\n"
        "end\n"
        "function request()\n"
        "  local entry = requests[(position % #requests) + 1]\n"
        # wrk calls request() once in thread 0 before the run, to check that it parses:
        # that call must not use up a body (the first would be sent last, or never).
        "  if thread_index == 0 and not checked then checked = true else\n"
        "    position = position + stride\n"
        "  end\n"
        "  local headers = entry[2]\n"
        '  headers["Content-Type"] = "application/json"\n'
        f'  return wrk.format("POST", {_lua_string(path)}, headers, entry[1])\n'
        "end\n" + REPORT_LUA
    )


def run_wrk(
    url: str,
    script: str,
    *,
    seconds: float,
    connections: int = 64,
    threads: int = 2,
    script_args: list[str] | None = None,
    timeout_s: int = 10,
    until_done: bool = False,
) -> LoadResult:
    """wrk for ``seconds``; with ``until_done``, ``seconds`` is only the upper bound and
    the run ends as soon as each of the ``threads`` printed :data:`THREAD_DONE`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        script_path = Path(handle.name)
    command = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(script_path),
        url,
    ]
    if script_args:
        command += ["--", *script_args]
    try:
        stdout, stderr = _run(command, seconds + 60, threads if until_done else None)
    finally:
        script_path.unlink(missing_ok=True)
    for line in stdout.splitlines():
        if line.startswith("BENCHJSON "):
            data = json.loads(line.removeprefix("BENCHJSON "))
            return LoadResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p90_ms=data["p90_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                max_ms=data["max_us"] / 1000,
                socket_errors=data["socket_errors"],
                timeouts=data["timeouts"],
                statuses={str(k): v for k, v in data["statuses"].items()},
            )
    raise RuntimeError(f"wrk gave no result: {stdout}\n{stderr}")


def _run(command: list[str], timeout: float, threads: int | None) -> tuple[str, str]:
    """wrk's stdout and stderr; SIGINT (wrk's own early stop: it still reports) once
    ``threads`` threads printed THREAD_DONE."""
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as wrk:
        killer = threading.Timer(timeout, wrk.kill)
        killer.start()
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.append(wrk.stderr.read()))  # type: ignore[union-attr]
        reader.start()
        lines, finished = [], 0
        try:
            for line in wrk.stdout:  # type: ignore[union-attr]
                lines.append(line)
                if threads is not None and line.strip() == THREAD_DONE:
                    finished += 1
                    if finished == threads:
                        wrk.send_signal(signal.SIGINT)
            wrk.wait()
        finally:
            killer.cancel()
            reader.join()
    return "".join(lines), "".join(errors)


def _headers(headers: dict[str, str] | None) -> str:
    return "".join(
        f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}\n"
        for name, value in (headers or {}).items()
    )


def _lua_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
