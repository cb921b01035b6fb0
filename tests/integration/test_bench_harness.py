"""The bench's own plumbing: wrk's Lua reporting is read back, statuses counted.

Speed is measured by ``make bench``, never asserted here (timed tests flake on shared
machines); this only proves the harness reads what wrk saw.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from bench import limits, queue_scenario
from bench.scenarios import PeakRss
from bench.wrk import get_script, post_script, rotating_post_script, run_wrk
from litestar import Litestar, get, post

from tests.conftest import IN_CI


@pytest.fixture
def wrk() -> None:
    if shutil.which("wrk") is None:
        if IN_CI:
            pytest.fail("wrk is not installed; CI=true requires it (apt-get install wrk)")
        pytest.skip("wrk is not installed (apt-get install wrk)")


def test_every_answer_is_counted_by_status(wrk: None) -> None:
    with limits.granian("bench.kernels:ceiling_app", name="test-ceiling") as base:
        ok = run_wrk(f"{base}/json", get_script(), seconds=1, connections=4, threads=1)
        missing = run_wrk(f"{base}/nowhere", get_script(), seconds=1, connections=4, threads=1)
        refused = run_wrk(f"{base}/json", post_script("{}"), seconds=1, connections=4, threads=1)

    assert ok.requests > 0
    assert ok.statuses == {"200": ok.requests}
    assert missing.statuses == {"404": missing.requests}
    assert refused.statuses == {"405": refused.requests}
    assert 0 < ok.p50_ms <= ok.p99_ms <= ok.max_ms


def join_echo_app() -> Litestar:
    """Stands in for the join route: counts every email it is sent, answers a token."""
    seen: Counter[str] = Counter()

    @post("/api/v1/events/{event_id:str}/queue", status_code=201)
    async def join(event_id: str, data: dict[str, str]) -> dict[str, object]:
        seen[data["email"]] += 1
        return {
            "queue_token": f"token-{data['email']}",
            "position": len(seen),
            "estimated_wait_seconds": 30,
            "status": "waiting",
        }

    @get("/seen")
    async def counts() -> dict[str, int]:
        return dict(seen)

    return Litestar([join, counts])


def test_the_queue_burst_sends_every_join_exactly_once(wrk: None, tmp_path: Path) -> None:
    # An odd count over more connections than one thread's share of bodies: the
    # reservation in delay() must still send each body once, none twice, and end the
    # run as soon as the last answer is in (not after wrk's upper bound).
    joins = 301
    with limits.granian(
        "tests.integration.test_bench_harness:join_echo_app", name="test-join-echo"
    ) as base:
        started = time.monotonic()
        outcome = queue_scenario.burst(base, "event-1", joins, connections=32, work=tmp_path)
        took = time.monotonic() - started
        seen = httpx.get(f"{base}/seen").json()

    assert len(seen) == joins
    assert set(seen.values()) == {1}
    figures = outcome["figures"]
    assert figures["sent"] == figures["answered"] == figures["tokens"] == joins
    assert figures["statuses"] == {"201": joins}
    assert sorted(token for _, token in outcome["buyers"]) == sorted(
        f"token-{email}" for email in seen
    )
    assert took < 30  # far under the 60 s bound wrk would otherwise sleep


def test_kendall_tau_counts_every_overtaking() -> None:
    assert queue_scenario.kendall_tau([1, 2, 3, 4]) == 1.0
    assert queue_scenario.kendall_tau([4, 3, 2, 1]) == -1.0
    # One swap among 4: 1 discordant pair of 6 -> (5 - 1) / 6.
    assert queue_scenario.kendall_tau([1, 3, 2, 4]) == round(4 / 6, 6)


def test_a_rotating_script_sends_its_first_body_first(wrk: None) -> None:
    # wrk calls request() once before the run to check it; that call used to advance
    # the walk, so the first body (a webhook, in the bench) went last or never.
    emails = [f"r{index}@bench.test" for index in range(5000)]
    requests = [(f'{{"email":"{email}"}}', {}) for email in emails]
    path = "/api/v1/events/event-1/queue"
    with limits.granian(
        "tests.integration.test_bench_harness:join_echo_app", name="test-rotating-echo"
    ) as base:
        run_wrk(
            f"{base}{path}",
            rotating_post_script(path, requests),
            seconds=1,
            connections=1,
            threads=1,
            script_args=["1"],
        )
        seen = list(httpx.get(f"{base}/seen").json())

    assert seen[:3] == emails[:3]


SPIKE = """
import sys
spike = bytearray(160 * 2**20)  # written, so resident: 160 MiB for a moment
del spike  # a block this size is unmapped at once, back to the system
print("freed", flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_peak_rss_includes_a_spike_gone_before_anyone_looked() -> None:
    # An Argon2id hash holds its 64 MiB for ~50 ms: a sampler polling every 0.2 s
    # missed it; the kernel's high-water mark cannot.
    child = subprocess.Popen(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", SPIKE], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"freed\n"
        rss = PeakRss([child.pid])
        with rss.sampling():
            time.sleep(0.3)
        resident_now = Path(f"/proc/{child.pid}/statm").read_text().split()[1]
    finally:
        child.communicate(b"")

    assert int(resident_now) * os.sysconf("SC_PAGE_SIZE") < 100 * 2**20  # the spike is gone...
    assert rss.peak_per_process_mb >= 160  # ...and still counted
    assert list(rss.peaks_mb) == [f"supervisor {child.pid}"]
