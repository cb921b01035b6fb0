"""The served app's proxy handling reads the forwarded headers exactly as granian's
``wrap_asgi_with_proxy_headers`` does, only deciding trust once per address."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from granian.utils.proxies import wrap_asgi_with_proxy_headers

from getiickets.entrypoints.asgi import behind_proxies

HEADERS = [
    [],
    [(b"x-forwarded-for", b"203.0.113.7")],
    [(b"x-forwarded-for", b"198.51.100.2, 10.0.0.5"), (b"x-forwarded-proto", b"https")],
    [(b"x-forwarded-proto", b" "), (b"x-forwarded-proto", b"http"), (b"x-forwarded-for", b"a")],
    [(b"x-forwarded-for", b"  "), (b"x-forwarded-proto", b"gopher")],
    [(b"x-forwarded-for", b"10.0.0.9"), (b"x-forwarded-for", b"203.0.113.8")],
]
CLIENTS = [("127.0.0.1", 5000), ("10.0.0.5", 1), ("203.0.113.1", 2), ("::1", 3), None]


def _seen(wrap: Any, scope: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    coroutine = wrap(app)(scope, None, None)
    coroutine.close()  # the app is only called, never run: the scope it was given counts
    return seen


@pytest.mark.parametrize("trusted", ["127.0.0.1", "127.0.0.1, 10.0.0.0/8", "*", "::1", "proxy"])
@pytest.mark.parametrize("kind", ["http", "websocket"])
def test_the_scope_the_app_sees_is_granian_s(trusted: str, kind: str) -> None:
    for client in CLIENTS:
        for headers in HEADERS:
            scope: dict[str, Any] = {"type": kind, "scheme": "http", "headers": headers}
            if client is not None:
                scope["client"] = client
            ours = _seen(lambda app: behind_proxies(app, trusted), copy.deepcopy(scope))
            granian = _seen(
                lambda app: wrap_asgi_with_proxy_headers(app, trusted_hosts=trusted),
                copy.deepcopy(scope),
            )
            assert ours == granian, (client, headers)
