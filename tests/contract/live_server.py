"""Real HTTP for contract tests: ASGI apps served by uvicorn on a free 127.0.0.1 port.

``serve(app)`` runs an app in a thread for the length of a ``with`` block, so adapters
talk to the simulators as they talk to the real providers: sockets, timeouts and
connection resets included, no mocked transport. ``Receiver`` plays the merchant's
webhook endpoints (``/hooks/<provider>``), recording every POST; ``eventually`` waits
for something the background senders will do.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import uvicorn

_STARTUP_SECONDS = 10.0


def free_socket() -> socket.socket:
    """A socket bound to a free 127.0.0.1 port, for ``serve``. Bind first when the app must
    know its own address before it is built (links and webhooks that point back at it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def base_url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def serve(
    app: Any,
    sock: socket.socket | None = None,
    *,
    lifespan: Literal["auto", "on", "off"] = "auto",
) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL (``http://127.0.0.1:<port>``).

    ``sock``: a socket from ``free_socket`` (a fresh one when None); it is closed at the
    end. ``lifespan="on"`` makes a failing startup fail here instead of being ignored.
    """
    sock = sock or free_socket()
    config = uvicorn.Config(
        app,
        lifespan=lifespan,
        log_level="warning",
        access_log=False,
        # A request held by an injected timeout must not hold up the end of the run.
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + _STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield base_url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


async def eventually(
    condition: Callable[[], bool], within: float = 5.0, interval: float = 0.01
) -> None:
    """Wait until ``condition()`` holds; fail the test if it does not ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition still false after {within} s")
        await anyio.sleep(interval)


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    method: str
    url: str
    """As the sender addressed it: scheme, host, port, path and query."""
    path: str
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes
    at: float
    """``time.monotonic()`` on arrival, to measure retry spacing."""


class Receiver:
    """Webhook endpoints: records each request, answers ``status`` (200 unless changed)."""

    def __init__(self) -> None:
        self.status = 200
        self._failures_left = 0
        self._failure_status = 500
        self._received: list[Received] = []
        self._lock = threading.Lock()

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` requests with ``status``, then ``self.status`` again."""
        with self._lock:
            self._failures_left = count
            self._failure_status = status

    def received(self, name: str | None = None) -> list[Received]:
        """Requests to ``/hooks/<name>`` (all requests when ``name`` is None), oldest first."""
        with self._lock:
            return [
                item
                for item in self._received
                if name is None or item.path.rstrip("/").rsplit("/", 1)[-1] == name
            ]

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._failures_left = 0

    def app(self) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return  # no lifespan support: uvicorn's "auto" carries on without it
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
            query = scope.get("query_string", b"").decode()
            host = headers.get("host", "")
            url = f"{scope['scheme']}://{host}{scope['path']}" + (f"?{query}" if query else "")
            with self._lock:
                self._received.append(
                    Received(
                        method=scope["method"],
                        url=url,
                        path=scope["path"],
                        headers=headers,
                        body=b"".join(chunks),
                        at=time.monotonic(),
                    )
                )
                status = self.status
                if self._failures_left > 0:
                    self._failures_left -= 1
                    status = self._failure_status
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        return app
