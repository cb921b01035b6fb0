"""``S3FileStorage`` beyond the shared contract: what moto does not check.

moto accepts ``ACL="public-read"`` on buckets where S3 refuses it, checks neither
presigned signatures nor expiry, and never fails on purpose (docs/providers.md §4.4). So
these tests watch the requests themselves: botocore's ``before-parameter-build`` and
``before-send`` events show what the client is about to send, and a ``before-send``
handler may answer in place of the network, which is how transient failures are
played. Nothing here opens a connection: the endpoint is a closed local port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ClientError, ConnectionClosedError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from getiickets.adapters.memory import InMemoryClock
from getiickets.adapters.s3 import CloudFrontUrls, S3FileStorage, create_s3_client
from getiickets.domain.model.errors import UnsupportedMediaTypeError

pytestmark = pytest.mark.contract

REGION = "us-east-2"
BUCKET = "getiickets-tickets"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CLOSED_PORT = "http://127.0.0.1:9"
"""The discard port, closed on any test machine: a request that escaped the handlers
below fails at once instead of reaching anything."""
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
KEY = "tickets/ord-1/TK-AAAA-BBBB-CCCC-DDDD-qr.png"


class _Body:
    """The raw stream an ``AWSResponse`` reads its body from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _answer(request: AWSPreparedRequest, status: int, body: bytes = b"") -> AWSResponse:
    headers = {"ETag": '"d41d8cd98f00b204e9800998ecf8427e"'} if status == 200 else {}
    return AWSResponse(request.url, status, headers, _Body(body))


def _sent_body(request: AWSPreparedRequest) -> bytes:
    """The bytes on the wire (botocore wraps a bytes body in a file to checksum it)."""
    body = request.body
    if hasattr(body, "read"):
        body.seek(0)
        return bytes(body.read())
    return bytes(body or b"")


def _headers(request: AWSPreparedRequest) -> dict[str, str]:
    return {
        name.lower(): value.decode() if isinstance(value, bytes) else value
        for name, value in request.headers.items()
    }


def _s3_error(code: str, message: str) -> bytes:
    return f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()


class Wire:
    """Stands in for the network: records every request and plays scripted answers.

    ``script`` items are an HTTP status, an exception to raise, or ``None`` for a 200.
    """

    def __init__(self, client: Any, operation: str, script: list[int | Exception | None]):
        self.requests: list[AWSPreparedRequest] = []
        self.threads: list[int] = []
        self.params: list[dict[str, Any]] = []
        self._script = script
        self._events = client.meta.events
        self._hooks = [
            (f"before-parameter-build.s3.{operation}", self._on_params),
            (f"before-send.s3.{operation}", self._on_send),
        ]
        for event, handler in self._hooks:
            self._events.register(event, handler)

    def unplug(self) -> None:
        for event, handler in self._hooks:
            self._events.unregister(event, handler)

    def _on_params(self, params: dict[str, Any], **_: Any) -> None:
        self.params.append(dict(params))

    def _on_send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        self.requests.append(request)
        self.threads.append(threading.get_ident())
        step = self._script[min(len(self.requests), len(self._script)) - 1]
        if isinstance(step, Exception):
            raise step
        if step is None or step == 200:
            return _answer(request, 200)
        code = {503: "SlowDown", 500: "InternalError", 403: "AccessDenied"}[step]
        return _answer(request, step, _s3_error(code, "scripted by the test"))


def _client(max_attempts: int = 3, endpoint_url: str | None = CLOSED_PORT) -> Any:
    return create_s3_client(
        REGION, ACCESS_KEY_ID, SECRET_ACCESS_KEY, endpoint_url, max_attempts=max_attempts
    )


@pytest.fixture(scope="module")
def client() -> Any:
    """One client for the module (building one takes a few tenths of a second); each
    test's ``Wire`` is unplugged from it afterwards."""
    return _client()


@pytest.fixture(scope="module")
def aws_client() -> Any:
    """A client with AWS's own endpoint, for presigning (which sends nothing)."""
    return _client(endpoint_url=None)


Plug = Callable[..., Wire]


@pytest.fixture
def plug(client: Any) -> Iterator[Plug]:
    wires: list[Wire] = []

    def plug_in(operation: str, script: list[int | Exception | None], into: Any = client) -> Wire:
        wires.append(Wire(into, operation, script))
        return wires[-1]

    yield plug_in
    for wire in wires:
        wire.unplug()


class Uploads:
    """An ``on_upload`` observer that keeps what it was told."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, bool]] = []

    def __call__(self, seconds: float, ok: bool) -> None:
        self.seen.append((seconds, ok))


# ------------------------------------------------------------------- uploads


async def test_an_upload_sends_exactly_bucket_key_body_and_type_and_no_acl(
    client: Any, plug: Plug
) -> None:
    wire = plug("PutObject", [None])
    storage = S3FileStorage(client, BUCKET)

    await storage.put(KEY, PNG, "image/png")

    assert wire.params == [{"Bucket": BUCKET, "Key": KEY, "Body": PNG, "ContentType": "image/png"}]
    (request,) = wire.requests
    headers = _headers(request)
    assert not [name for name in headers if name.startswith("x-amz-acl")]
    assert not [name for name in headers if name.startswith("x-amz-grant")]
    assert headers["content-type"] == "image/png"
    assert urlsplit(request.url).path == f"/{BUCKET}/{KEY}"
    assert _sent_body(request) == PNG


async def test_the_upload_runs_off_the_event_loop_thread(client: Any, plug: Plug) -> None:
    wire = plug("PutObject", [None])

    await S3FileStorage(client, BUCKET).put(KEY, PNG, "image/png")

    assert wire.threads
    assert threading.get_ident() not in wire.threads


async def test_a_refused_file_never_reaches_s3(client: Any, plug: Plug) -> None:
    wire = plug("PutObject", [None])
    uploads = Uploads()
    storage = S3FileStorage(client, BUCKET, on_upload=uploads)

    with pytest.raises(UnsupportedMediaTypeError):
        await storage.put(KEY, b"<script>", "image/png")

    assert wire.requests == []
    assert uploads.seen == []


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(503, id="slow-down"),
        pytest.param(500, id="internal-error"),
        pytest.param(ConnectionClosedError(endpoint_url=CLOSED_PORT), id="connection-dropped"),
    ],
)
async def test_a_transient_failure_is_retried_and_the_upload_succeeds(
    client: Any, plug: Plug, failure: int | Exception
) -> None:
    wire = plug("PutObject", [failure, None])
    uploads = Uploads()

    await S3FileStorage(client, BUCKET, on_upload=uploads).put(KEY, PNG, "image/png")

    assert len(wire.requests) == 2
    assert [_sent_body(request) for request in wire.requests] == [PNG, PNG]
    assert [ok for _, ok in uploads.seen] == [True]


async def test_an_upload_that_keeps_failing_gives_up_after_max_attempts(plug: Plug) -> None:
    client = _client(max_attempts=2)
    wire = plug("PutObject", [500], into=client)
    uploads = Uploads()
    storage = S3FileStorage(client, BUCKET, on_upload=uploads)

    with pytest.raises(ClientError, match="InternalError"):
        await storage.put(KEY, PNG, "image/png")

    assert len(wire.requests) == 2
    ((seconds, ok),) = uploads.seen
    assert not ok
    assert seconds > 0


async def test_an_access_error_is_not_retried(client: Any, plug: Plug) -> None:
    wire = plug("PutObject", [403])

    with pytest.raises(ClientError, match="AccessDenied"):
        await S3FileStorage(client, BUCKET).put(KEY, PNG, "image/png")

    assert len(wire.requests) == 1


async def test_the_upload_observer_hears_the_duration_of_a_success(client: Any, plug: Plug) -> None:
    plug("PutObject", [None])
    uploads = Uploads()

    await S3FileStorage(client, BUCKET, on_upload=uploads).put(KEY, PNG, "image/png")

    ((seconds, ok),) = uploads.seen
    assert ok
    assert 0 < seconds < 5


async def test_a_broken_upload_observer_does_not_fail_the_upload(
    client: Any, plug: Plug, caplog: pytest.LogCaptureFixture
) -> None:
    wire = plug("PutObject", [None])

    def broken(seconds: float, ok: bool) -> None:
        raise RuntimeError("metrics backend down")

    await S3FileStorage(client, BUCKET, on_upload=broken).put(KEY, PNG, "image/png")

    assert len(wire.requests) == 1
    assert "upload observer failed" in caplog.text


async def test_forbidden_is_not_taken_for_missing(client: Any, plug: Plug) -> None:
    """Without s3:ListBucket, S3 answers 403 for a missing key: that must surface."""
    plug("HeadObject", [403])

    with pytest.raises(ClientError):
        await S3FileStorage(client, BUCKET).exists(KEY)


# ------------------------------------------------------------------- presigned URLs


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def _sigv4_query_signature(url: str, secret: str) -> str:
    """The SigV4 signature of a presigned GET, computed from AWS's published algorithm
    (docs: "Authenticating requests: using query parameters"), independently of botocore."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query) if k != "X-Amz-Signature"]
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs)
    )
    canonical_request = "\n".join(
        ["GET", parts.path, canonical_query, f"host:{parts.netloc}", "", "host", "UNSIGNED-PAYLOAD"]
    )
    query = dict(pairs)
    scope = query["X-Amz-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            query["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret}".encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


async def test_a_presigned_url_carries_the_expiry_and_a_valid_sigv4_signature(
    aws_client: Any,
) -> None:
    storage = S3FileStorage(aws_client, BUCKET)

    url = await storage.signed_url("tickets/ord-1/TK-1.pdf", timedelta(hours=2))

    query = _query(url)
    assert url.startswith("https://")
    assert f"{BUCKET}" in urlsplit(url).netloc + urlsplit(url).path
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "7200"
    assert query["X-Amz-Credential"].startswith(f"{ACCESS_KEY_ID}/")
    assert query["X-Amz-Credential"].endswith(f"/{REGION}/s3/aws4_request")
    assert query["X-Amz-SignedHeaders"] == "host"
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - signed_at) < timedelta(minutes=5)
    assert query["X-Amz-Signature"] == _sigv4_query_signature(url, SECRET_ACCESS_KEY)
    assert not [name for name in query if "acl" in name.lower()]


async def test_the_sigv4_check_above_rejects_a_tampered_url(aws_client: Any) -> None:
    """Proves the hand-written verifier can fail: one changed parameter breaks it."""
    storage = S3FileStorage(aws_client, BUCKET)
    url = await storage.signed_url("tickets/ord-1/TK-1.pdf", timedelta(hours=2))

    tampered = url.replace("X-Amz-Expires=7200", "X-Amz-Expires=7201")

    assert _query(tampered)["X-Amz-Signature"] != _sigv4_query_signature(
        tampered, SECRET_ACCESS_KEY
    )


@pytest.mark.parametrize(
    ("expires_in", "expected"),
    [
        pytest.param(timedelta(days=30), "604800", id="capped"),
        pytest.param(timedelta(days=7), "604800", id="the-maximum"),
        pytest.param(timedelta(seconds=90.2), "91", id="rounded-up-not-early"),
        pytest.param(timedelta(seconds=1), "1", id="one-second"),
    ],
)
async def test_presigned_expiry_is_the_request_capped_at_seven_days(
    aws_client: Any, expires_in: timedelta, expected: str
) -> None:
    storage = S3FileStorage(aws_client, BUCKET)

    url = await storage.signed_url("tickets/ord-1/TK-1.pdf", expires_in)

    assert _query(url)["X-Amz-Expires"] == expected


@pytest.mark.parametrize(
    ("key", "served_as"),
    [
        ("tickets/ord-1/TK-1.pdf", "application/pdf"),
        ("tickets/ord-1/TK-1-qr.png", "image/png"),
        ("events/ev-1/image-k2v8.JPG", "image/jpeg"),
        ("events/ev-1/image-k2v8", None),
        ("exports/report.csv", None),  # not an allowed type: no override
    ],
)
async def test_a_presigned_url_pins_the_type_its_key_names(
    aws_client: Any, key: str, served_as: str | None
) -> None:
    storage = S3FileStorage(aws_client, BUCKET)

    url = await storage.signed_url(key, timedelta(minutes=5))

    assert _query(url).get("response-content-type") == served_as


async def test_a_link_to_a_key_put_would_refuse_cannot_be_made(aws_client: Any) -> None:
    with pytest.raises(ValueError, match="invalid file key"):
        await S3FileStorage(aws_client, BUCKET).signed_url("../x.pdf", timedelta(minutes=5))


# ------------------------------------------------------------------- CloudFront

CLOUDFRONT = "https://d111111abcdef8.cloudfront.net"


class _UnusedClient:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a CloudFront link must not call S3 ({name})")


_UNUSED_CLIENT: Any = _UnusedClient()
KEY_PAIR_ID = "K2JCJMDEHXQW5F"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cloudfront_b64decode(text: str) -> bytes:
    """CloudFront's URL-safe base64: ``+ = /`` are sent as ``- _ ~``."""
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def _canned_policy(resource: str, expires: int) -> bytes:
    """The policy CloudFront rebuilds from a canned URL and checks the signature over
    (CloudFront developer guide, "Create a signature for a signed URL that uses a canned
    policy"): exact JSON, no whitespace."""
    return (
        '{"Statement":[{"Resource":"%s","Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}'  # noqa: UP031
        % (resource, expires)
    ).encode()


def _storage_behind(urls: CloudFrontUrls) -> S3FileStorage:
    # A client that could only fail: CloudFront links must not involve S3 at all.
    return S3FileStorage(_UNUSED_CLIENT, BUCKET, url_signer=urls)


async def test_without_a_key_pair_a_cloudfront_url_is_the_plain_object_address() -> None:
    storage = _storage_behind(CloudFrontUrls(CLOUDFRONT + "/"))

    url = await storage.signed_url("tickets/ord 1/TK-1.pdf", timedelta(hours=1))

    assert url == f"{CLOUDFRONT}/tickets/ord%201/TK-1.pdf"


async def test_an_unset_key_pair_from_settings_means_unsigned_urls() -> None:
    storage = _storage_behind(CloudFrontUrls(CLOUDFRONT, key_pair_id="", private_key_pem=""))

    assert await storage.signed_url("a/b.pdf", timedelta(hours=1)) == f"{CLOUDFRONT}/a/b.pdf"


async def test_a_signed_cloudfront_url_verifies_with_the_public_key(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    clock = InMemoryClock(NOW)
    urls = CloudFrontUrls(CLOUDFRONT, KEY_PAIR_ID, _pem(rsa_key), clock=clock)

    url = await _storage_behind(urls).signed_url("tickets/ord-1/TK-1.pdf", timedelta(hours=1))

    resource, _, _ = url.partition("?")
    query = _query(url)
    assert resource == f"{CLOUDFRONT}/tickets/ord-1/TK-1.pdf"
    assert set(query) == {"Expires", "Signature", "Key-Pair-Id"}
    assert query["Key-Pair-Id"] == KEY_PAIR_ID
    expires = int(query["Expires"])
    assert expires == int((NOW + timedelta(hours=1)).timestamp())
    rsa_key.public_key().verify(
        _cloudfront_b64decode(query["Signature"]),
        _canned_policy(resource, expires),
        padding.PKCS1v15(),
        hashes.SHA1(),  # noqa: S303 - CloudFront's algorithm
    )
    with pytest.raises(InvalidSignature):  # the check can fail: a later expiry is not signed
        rsa_key.public_key().verify(
            _cloudfront_b64decode(query["Signature"]),
            _canned_policy(resource, expires + 1),
            padding.PKCS1v15(),
            hashes.SHA1(),  # noqa: S303
        )


async def test_a_cloudfront_url_may_outlive_the_sigv4_limit(rsa_key: rsa.RSAPrivateKey) -> None:
    urls = CloudFrontUrls(CLOUDFRONT, KEY_PAIR_ID, _pem(rsa_key), clock=InMemoryClock(NOW))

    url = await _storage_behind(urls).signed_url("tickets/ord-1/TK-1.pdf", timedelta(days=30))

    assert int(_query(url)["Expires"]) == int((NOW + timedelta(days=30)).timestamp())


async def test_a_cloudfront_expiry_is_rounded_up_not_early(rsa_key: rsa.RSAPrivateKey) -> None:
    urls = CloudFrontUrls(CLOUDFRONT, KEY_PAIR_ID, _pem(rsa_key), clock=InMemoryClock(NOW))

    url = urls.url("tickets/ord-1/TK-1.pdf", timedelta(seconds=10.5))

    assert int(_query(url)["Expires"]) == int(NOW.timestamp()) + 11


@pytest.mark.parametrize(
    "half_a_key_pair",
    [
        pytest.param(lambda pem: {"key_pair_id": KEY_PAIR_ID}, id="id-only"),
        pytest.param(lambda pem: {"private_key_pem": pem}, id="key-only"),
    ],
)
def test_half_a_key_pair_is_a_configuration_error(
    rsa_key: rsa.RSAPrivateKey, half_a_key_pair: Callable[[bytes], dict[str, Any]]
) -> None:
    with pytest.raises(ValueError, match="both its id and its private key"):
        CloudFrontUrls(CLOUDFRONT, **half_a_key_pair(_pem(rsa_key)))


def test_a_non_rsa_key_is_refused() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())

    with pytest.raises(TypeError, match="RSA"):
        CloudFrontUrls(CLOUDFRONT, KEY_PAIR_ID, _pem(ec_key))


def test_the_canned_policy_above_is_what_botocore_signs(rsa_key: rsa.RSAPrivateKey) -> None:
    """Ties the hand-built policy to a second source, so a typo in it cannot make the
    verification test pass or fail for the wrong reason."""
    expires = int(NOW.timestamp())
    signed_policies: list[bytes] = []

    def recorder(message: bytes) -> bytes:
        signed_policies.append(message)
        return b"signature"

    from botocore.signers import CloudFrontSigner  # noqa: PLC0415

    CloudFrontSigner(KEY_PAIR_ID, recorder).generate_presigned_url(
        f"{CLOUDFRONT}/x.pdf", date_less_than=datetime.fromtimestamp(expires, UTC)
    )

    assert [json.loads(p) for p in signed_policies] == [
        json.loads(_canned_policy(f"{CLOUDFRONT}/x.pdf", expires))
    ]
