"""An outage logs one line per failure class, then a count, then one line when it ends."""

from __future__ import annotations

import logging

import pytest

from getiickets.entrypoints.logs import FailureLog


class _Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_failure_class_is_logged_once_per_interval_then_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks = _Ticks()
    log = FailureLog(logging.getLogger("test.failures"), interval=60, clock=ticks)
    with caplog.at_level(logging.INFO, logger="test.failures"):
        for _ in range(379):
            log.failed("database_unavailable (ConnectionRefusedError)", "GET /events: down")
        log.failed("cache_unavailable (TimeoutError)", "POST /orders: down")
        ticks.now = 61
        log.failed("database_unavailable (ConnectionRefusedError)", "GET /events: down")
        log.recovered("database_unavailable", "works again")
        log.recovered("database_unavailable", "works again")

    assert [record.getMessage() for record in caplog.records] == [
        "database_unavailable (ConnectionRefusedError): GET /events: down",
        "cache_unavailable (TimeoutError): POST /orders: down",
        "database_unavailable (ConnectionRefusedError): GET /events: down"
        " (378 more since the last report)",
        "database_unavailable (ConnectionRefusedError): works again (after 0 more failures)",
    ]
    assert log.failing() == {"cache_unavailable (TimeoutError)"}
