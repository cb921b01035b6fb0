"""The bench's own plumbing: wrk's Lua reporting is read back, statuses counted.

Speed is measured by ``make bench``, never asserted here (timed tests flake on shared
machines); this only proves the harness reads what wrk saw.
"""

from __future__ import annotations

import shutil

import pytest
from bench import limits
from bench.wrk import get_script, post_script, run_wrk

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
