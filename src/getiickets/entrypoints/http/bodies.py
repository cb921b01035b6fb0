"""How every request body is read: the one place where outside bytes meet a parser.

The app's request class checks a JSON body once, as it is read, whoever reads it
(Litestar decoding it, a webhook route checking a signature over the raw bytes, the
idempotency store hashing it), and any body at all that is parsed as JSON whatever its
label says. A body nested deeper than any of our documents is
refused as malformed JSON: msgspec's decoder recurses per level, so about a thousand
levels raised RecursionError, a 500 and a traceback, before anything was authenticated.

A JSON body is then decoded strictly into the route's request struct, and Litestar
receives that struct, so a body that fits is parsed once. Litestar would convert
leniently (it must, for query strings), which took ``"quantity": "1"`` for 1 and
``"price": 1e9`` for an integer; docs/http-api.md's numbers are integers only, and its
money a decimal string or an integer. A body that does not fit raises msgspec's
ValidationError, whose path becomes the 422's ``errors[].field``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException

MAX_JSON_DEPTH = 32
"""Our deepest document is a Paystack webhook (data.metadata.custom_fields[0]: five
levels); 32 leaves room for whatever Paystack adds and stays far from the recursion limit."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
"""A JSON string; the unrolled form scans a long one in one step instead of backtracking."""
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_ONE_KIND = bytes.maketrans(b"{}", b"[]")


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON ``body`` nests arrays and objects more than ``limit`` levels deep.

    Text that is not JSON may be misjudged; it is refused by the parser right after.
    Every step is a bytes method running in C: a Python loop over a hostile megabyte of
    brackets took a tenth of a second, five times what parsing it takes.
    """
    # Fewer brackets than the limit cannot nest past it: the common case costs two scans.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    # Brackets inside strings do not count; then only the brackets matter, and for depth
    # their kind does not (mismatched kinds are the parser's to refuse).
    brackets = _STRING.sub(b"", body).translate(_ONE_KIND, delete=_NOT_BRACKETS)
    for removed in range(limit):
        if not brackets:
            return False
        # A run of openers as long as the depth still allowed is proof enough.
        if b"[" * (limit - removed + 1) in brackets:
            return True
        # Each "[]" is an innermost pair: removing them all removes exactly one level.
        brackets = brackets.replace(b"[]", b"")
    return bool(brackets)


def _says_json(content_type: str) -> bool:
    """JSON by its label (or no label): raw uploads and forms are read as what they say."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in {"", "application/json"} or media_type.endswith("+json")


def _check_json_bytes(body: bytes) -> None:
    # JSON is UTF-8 (RFC 8259); msgspec raises UnicodeDecodeError on anything else,
    # which no handler expects (it was a 500).
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SerializationException(f"the body is not UTF-8: {error.reason}") from error
    if too_deep(body):
        raise SerializationException(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")


class CheckedRequest(Request[Any, Any, Any]):
    """Litestar's request, whose body is refused when no JSON parser could take it safely."""

    _body_checked = False

    async def body(self) -> bytes:
        body = await super().body()
        if _says_json(self.headers.get("content-type", "")):
            self._check(body)
        return body

    async def json(self) -> Any:
        # Whatever the Content-Type claims, this is where bytes meet the JSON parser.
        body = await self.body()
        self._check(body)
        field = self.route_handler.parsed_data_field
        annotation = field.annotation if field is not None else None
        if body and isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
            try:
                # A body that fits is parsed once, into the struct itself, which Litestar
                # then takes as it is (converting a struct to its own type is a no-op).
                return _strict_decoder(annotation).decode(body)
            except msgspec.DecodeError:
                # Syntax first (a truncated body is malformed JSON, whatever fields it
                # started with): Litestar's parse raises that; then the strict misfit.
                await super().json()
                raise
        return await super().json()

    def _check(self, body: bytes) -> None:
        if not self._body_checked:
            _check_json_bytes(body)
            self._body_checked = True


@cache
def _strict_decoder(struct: type[msgspec.Struct]) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(struct, strict=True)
