"""Logging: readable lines on a terminal, JSON lines (with the request id) in production."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str = "INFO", *, as_json: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party chatter that drowns our own lines at INFO.
    for noisy in ("httpx", "httpcore", "botocore", "boto3", "urllib3", "aiosqlite", "twilio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class FailureLog:
    """One log line per failure class, not one per failure.

    An outage fails every request and every worker round the same way: logging each
    (with a traceback) buries the one line that says what happened. The first failure
    of a class is logged, with a traceback when asked; the rest are counted, and the
    count is reported with the next line of that class after ``interval`` seconds.
    ``recovered`` logs once that a failing class works again.
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._last_logged: dict[str, float] = {}
        self._unreported: dict[str, int] = {}

    def failed(
        self,
        failure_class: str,
        message: str,
        *,
        level: int = logging.WARNING,
        exc_info: BaseException | None = None,
    ) -> None:
        now = self._clock()
        with self._lock:
            last = self._last_logged.get(failure_class)
            if last is not None and now - last < self._interval:
                self._unreported[failure_class] = self._unreported.get(failure_class, 0) + 1
                return
            self._last_logged[failure_class] = now
            unreported = self._unreported.pop(failure_class, 0)
        since = f" ({unreported} more since the last report)" if unreported else ""
        self._logger.log(level, "%s: %s%s", failure_class, message, since, exc_info=exc_info)

    def recovered(self, prefix: str, message: str) -> None:
        """Every failing class that starts with ``prefix`` works again: one line if any did."""
        with self._lock:
            ended = [name for name in self._last_logged if name.startswith(prefix)]
            unreported = 0
            for name in ended:
                del self._last_logged[name]
                unreported += self._unreported.pop(name, 0)
        if ended:
            self._logger.info(
                "%s: %s (after %d more failures)", " / ".join(ended), message, unreported
            )

    def failing(self) -> set[str]:
        with self._lock:
            return set(self._last_logged)
