"""Logging: readable lines on a terminal, JSON lines (with the request id) in production.

Secrets that travel in URLs (an order's access token, the signature of a file link,
presigned S3 and CloudFront parameters) are replaced by ``***`` in every line, the
server's access log included, so that logs can be shipped and read by anyone who
operates the service.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


_SECRET_QUERY = re.compile(
    r"(?i)([?&;](?:token|access_token|signature|sig|expires|x-amz-signature|"
    r"x-amz-credential|x-amz-security-token|policy|key-pair-id)=)"
    # Up to the next parameter, the end of the URL, or the quote around it (a JSON
    # line escapes quotes with a backslash, so that ends a value too).
    r"[^&;#\s\"'\\]*"
)
_REDACTED = r"\1***"


def redact_secrets(text: str) -> str:
    """``text`` with the value of every secret URL query parameter replaced by ***."""
    return _SECRET_QUERY.sub(_REDACTED, text)


def _redacted(value: Any) -> Any:
    return redact_secrets(value) if isinstance(value, str) else value


class _RedactSecretsFilter(logging.Filter):
    """Redacts the message and its string arguments in place, keeping their shape:
    uvicorn's access formatter reads the request path from ``args``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redacted(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redacted(arg) for key, arg in record.args.items()}
        return True


_REDACT_SECRETS = _RedactSecretsFilter()
ACCESS_LOGGERS = ("uvicorn.access", "uvicorn.error")
"""The server's own loggers: whichever handler the server gives them (its own when
run as ``uvicorn ...``), their records are redacted before any handler sees them."""


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

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        # An exception's text may quote a URL (an HTTP client's error does).
        return redact_secrets(super().formatException(ei))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return redact_secrets(super().formatException(ei))


def configure_logging(
    level: str = "INFO", *, as_json: bool = False, stream: TextIO | None = None
) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.addFilter(_REDACT_SECRETS)
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ACCESS_LOGGERS:
        server_logger = logging.getLogger(name)
        if _REDACT_SECRETS not in server_logger.filters:
            server_logger.addFilter(_REDACT_SECRETS)
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
