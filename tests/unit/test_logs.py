"""Log lines never carry the secrets that travel in URLs: order access tokens and the
signatures of file links are replaced by *** wherever a URL is logged."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from getiickets.entrypoints.logs import configure_logging, redact_secrets


@pytest.mark.parametrize(
    ("logged", "kept"),
    [
        (
            "GET /api/v1/orders/o-1?token=SECRET HTTP/1.1",
            "GET /api/v1/orders/o-1?token=*** HTTP/1.1",
        ),
        (
            "/files/t/1.pdf?expires=1700000000&signature=SECRET",
            "/files/t/1.pdf?expires=***&signature=***",
        ),
        ("https://x.example/a?page=2&Token=SECRET#top", "https://x.example/a?page=2&Token=***#top"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=SECRET&X-Amz-Signature=SECRET",
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***",
        ),
        (
            "https://cdn.example/k?Policy=SECRET&Key-Pair-Id=SECRET",
            "https://cdn.example/k?Policy=***&Key-Pair-Id=***",
        ),
        ("/orders/1?reference=GT-1&trxref=GT-1", "/orders/1?reference=GT-1&trxref=GT-1"),
        ("a token=value outside a URL stays", "a token=value outside a URL stays"),
    ],
)
def test_secret_query_values_are_replaced(logged: str, kept: str) -> None:
    assert redact_secrets(logged) == kept


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Log lines from the root handler; uvicorn's access logger sends to it, as under
    `getiickets serve` (servers started by other tests may have rewired uvicorn's)."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    servers = [logging.getLogger(name) for name in ("uvicorn", "uvicorn.access")]
    saved = [(log.handlers[:], log.propagate, log.level, log.disabled) for log in servers]
    for log in servers:
        log.handlers[:], log.propagate, log.disabled = [], True, False
        log.setLevel(logging.INFO)
    yield stream
    root.handlers[:] = saved_root[0]
    root.setLevel(saved_root[1])
    for log, (handlers, propagate, level, disabled) in zip(servers, saved, strict=True):
        log.handlers[:], log.propagate, log.disabled = handlers, propagate, disabled
        log.setLevel(level)


@pytest.mark.parametrize("as_json", [False, True])
def test_no_log_line_carries_a_token_from_a_url(captured: io.StringIO, as_json: bool) -> None:
    configure_logging("INFO", as_json=as_json, stream=captured)
    access = logging.getLogger("uvicorn.access")

    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/o?token=SECRET", "1.1", 200)
    logging.getLogger("getiickets").warning("calling %s", "https://p.example/v?sig=SECRET")
    try:
        raise ValueError("refused https://files.example/k?signature=SECRET")
    except ValueError:
        logging.getLogger("getiickets").exception("upload of /k?token=SECRET failed")

    text = captured.getvalue()
    assert "SECRET" not in text
    for redacted in ("/o?token=***", "/v?sig=***", "/k?token=***", "/k?signature=***"):
        assert redacted in text
    if as_json:
        assert [json.loads(line)["level"] for line in text.splitlines()] == [
            "info",
            "warning",
            "error",
        ]
