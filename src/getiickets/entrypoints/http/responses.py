"""``EncodedJson``: a response whose JSON body a handler has encoded already.

Litestar turns every ``Response`` into an ``ASGIResponse``, merging the route's and the
app's headers and cookies into mutable header objects and encoding them: about 12 us of
an order's ~250. When there is nothing to merge (no headers, cookies or background task
from the route, the app or the response itself), this one sends its two messages as
they are; otherwise it is Litestar's own ``Response``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import MediaType, Response

if TYPE_CHECKING:
    from litestar.types import Receive, Scope, Send

_JSON_TYPE = (b"content-type", MediaType.JSON.value.encode("latin-1"))


class EncodedJson(Response[bytes]):
    def __init__(self, body: bytes, *, status_code: int) -> None:
        # What Response.__init__ sets for these arguments, without its generic
        # ``isinstance(..., Mapping)`` checks (typing's are slow: a tenth of this class).
        self.content = body
        self.status_code = self._status = status_code
        self.media_type = MediaType.JSON
        self.background = None
        self.cookies = []
        self.headers = {}
        self.encoding = "utf-8"
        self.response_type_encoders = {**(self.type_encoders or {})}

    def to_asgi_response(  # type: ignore[override]
        self, app: Any, request: Any, **options: Any
    ) -> Any:
        merged = (
            options.get("headers"),
            options.get("cookies"),
            options.get("background"),
            options.get("encoded_headers"),
            options.get("is_head_response"),
            self.headers,
            self.cookies,
            self.background,
        )
        if any(merged):
            return super().to_asgi_response(app, request, **options)
        return _Sent(self._status, self.content)


class _Sent:
    __slots__ = ("_body", "_status")

    def __init__(self, status: int, body: bytes) -> None:
        self._status = status
        self._body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [_JSON_TYPE, (b"content-length", str(len(self._body)).encode("latin-1"))]
        await send({"type": "http.response.start", "status": self._status, "headers": headers})
        await send({"type": "http.response.body", "body": self._body, "more_body": False})
