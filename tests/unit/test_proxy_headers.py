"""Who the client is, behind a proxy (FORWARDED_ALLOW_IPS): X-Forwarded-For and -Proto
are believed from trusted proxies only, and a request without them is left as it came."""

from __future__ import annotations

from typing import Any

from getiickets.entrypoints.asgi import with_proxy_headers


async def _seen(scope: dict[str, Any], trusted: str = "127.0.0.1,10.0.0.0/8") -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(scope))

    await with_proxy_headers(app, trusted)(scope, None, None)
    [inner] = seen
    return inner


def _request(client: str, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "http",
        "client": (client, 5000),
        "headers": [(b"host", b"tickets.test"), *headers],
    }


async def test_a_trusted_proxy_names_the_client_and_the_scheme() -> None:
    forwarded = (b"x-forwarded-for", b"203.0.113.7, 10.1.2.3")
    for proxy in ("127.0.0.1", "10.9.9.9"):
        seen = await _seen(_request(proxy, forwarded, (b"x-forwarded-proto", b"https")))
        assert (seen["client"], seen["scheme"]) == (("203.0.113.7", 0), "https")


async def test_forwarded_headers_from_anyone_else_are_ignored() -> None:
    request = _request("198.51.100.4", (b"x-forwarded-for", b"203.0.113.7"))
    seen = await _seen(request)
    assert (seen["client"], seen["scheme"]) == (("198.51.100.4", 5000), "http")


async def test_a_request_without_x_forwarded_for_is_left_as_it_came() -> None:
    request = _request("127.0.0.1", (b"x-forwarded-proto", b"https"))
    assert await _seen(request) == request
    assert await _seen({"type": "lifespan"}) == {"type": "lifespan"}
