"""``S3FileStorage``: private ticket files in an S3 bucket, shared through signed URLs.

Objects are private. No ACL is ever sent: buckets made since April 2023 have ACLs
disabled (Object Ownership "bucket owner enforced"), where a ``public-read`` ACL
fails with ``AccessControlListNotSupported``. Readers get a presigned GET URL, or a
CloudFront URL when ``AWS_CLOUDFRONT_URL`` is configured.

Transient failures (5xx, ``SlowDown``, throttling, dropped or timed-out connections)
are retried by botocore's "standard" retry mode, configured in ``create_s3_client``:
it backs off exponentially with jitter and stops after ``max_attempts``. A retry loop
of our own on top would multiply the attempts, so there is none.

The IAM policy needs ``s3:ListBucket`` on the bucket besides ``s3:GetObject`` and
``s3:PutObject``: without it S3 answers 403 instead of 404 for a missing key, and
``get``/``exists`` cannot tell "missing" from "forbidden" (they raise).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import PurePosixPath
from typing import Any, Protocol, cast
from urllib.parse import quote

import boto3
from anyio import to_thread
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from getiickets.adapters import signed_urls
from getiickets.adapters.upload_checks import (
    DEFAULT_ALLOWED_TYPES,
    DEFAULT_MAX_BYTES,
    check_key,
    check_upload,
)
from getiickets.domain.model.errors import NotFoundError
from getiickets.ports.clock import Clock

logger = logging.getLogger(__name__)

MAX_PRESIGN_SECONDS = 604_800
"""SigV4 presigned URLs live at most 7 days; S3 refuses longer ``X-Amz-Expires``."""
_MISSING_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
# Not the mimetypes module: it reads the host's /etc/mime.types, which differs by machine.
_TYPE_BY_EXTENSION = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
}

UploadObserver = Callable[[float, bool], None]
"""Called once per ``put`` that reached S3, with its duration in seconds (retries
included) and whether it succeeded: the metrics adapter's hook for upload latency."""


class S3Client(Protocol):
    """The part of boto3's S3 client this adapter uses (boto3 ships no S3 types here)."""

    def put_object(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_object(self, **kwargs: Any) -> dict[str, Any]: ...
    def head_object(self, **kwargs: Any) -> dict[str, Any]: ...
    def generate_presigned_url(self, *args: Any, **kwargs: Any) -> str: ...


def create_s3_client(
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
    endpoint_url: str | None = None,
    *,
    max_attempts: int = 4,
    connect_timeout: float = 3.0,
    read_timeout: float = 20.0,
) -> S3Client:
    """A client for the composition root to build once and share (clients are thread-safe).

    ``max_attempts`` counts every attempt, the first included. Without keys, boto3's own
    credential chain applies (instance or task role).
    ``endpoint_url`` points at an S3-compatible server (moto in tests, MinIO).
    """
    config = Config(
        signature_version="s3v4",
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    # A session of its own: boto3's default session is module-level state.
    session = boto3.session.Session()
    client = session.client(
        "s3",
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        endpoint_url=endpoint_url,
        config=config,
    )
    return cast("S3Client", client)


class CloudFrontUrls:
    """Links through a CloudFront distribution in front of the bucket.

    Without a key pair the link is plain ``{base_url}/{key}`` (the distribution decides
    who may read). With one, it is a canned-policy signed URL (``Expires``,
    ``Signature``, ``Key-Pair-Id``), signed RSA-SHA1 as CloudFront requires.
    """

    def __init__(
        self,
        base_url: str,
        key_pair_id: str | None = None,
        private_key_pem: bytes | str | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        # Settings hand over unset variables as empty strings: the same as absent.
        key_pair_id, private_key_pem = key_pair_id or None, private_key_pem or None
        if (key_pair_id is None) != (private_key_pem is None):
            raise ValueError("a CloudFront key pair needs both its id and its private key")
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._signer: CloudFrontSigner | None = None
        if key_pair_id is not None and private_key_pem is not None:
            pem = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
            key = serialization.load_pem_private_key(pem, password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise TypeError("CloudFront canned-policy signing needs an RSA private key")

            def rsa_sha1(message: bytes) -> bytes:
                return key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's algorithm

            self._signer = CloudFrontSigner(key_pair_id, rsa_sha1)

    def url(self, key: str, expires_in: timedelta) -> str:
        url = f"{self._base_url}/{quote(key, safe='/')}"
        if self._signer is None:
            return url
        now = self._clock.now() if self._clock is not None else datetime.now(UTC)
        expires = signed_urls.expiry(now, expires_in)
        return self._signer.generate_presigned_url(
            url, date_less_than=datetime.fromtimestamp(expires, UTC)
        )


class S3FileStorage:
    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        allowed_types: frozenset[str] = DEFAULT_ALLOWED_TYPES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        url_signer: CloudFrontUrls | None = None,
        on_upload: UploadObserver | None = None,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._allowed_types = allowed_types
        self._max_bytes = max_bytes
        self._url_signer = url_signer
        self._on_upload = on_upload

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        kind = check_upload(
            data, content_type, allowed_types=self._allowed_types, max_bytes=self._max_bytes
        )
        # Exactly these parameters: in particular no ACL (see the module docstring).
        upload = partial(
            self._client.put_object, Bucket=self._bucket, Key=key, Body=data, ContentType=kind
        )
        started = time.perf_counter()
        ok = False
        try:
            await to_thread.run_sync(upload)
            ok = True
        finally:
            self._observe_upload(time.perf_counter() - started, ok)

    async def get(self, key: str) -> bytes:
        return await to_thread.run_sync(self._read, key)

    async def exists(self, key: str) -> bool:
        try:
            await to_thread.run_sync(
                partial(self._client.head_object, Bucket=self._bucket, Key=key)
            )
        except ClientError as error:
            if _is_missing(error):
                return False
            raise
        return True

    async def signed_url(self, key: str, expires_in: timedelta) -> str:
        check_key(key)  # refuse what put refuses: such a link could never lead to a file
        if expires_in <= timedelta(0):
            raise ValueError("a signed URL must expire in the future")
        if self._url_signer is not None:
            # RSA signing is CPU work; keep it off the event loop too.
            return await to_thread.run_sync(self._url_signer.url, key, expires_in)
        params = {"Bucket": self._bucket, "Key": key}
        guessed = _TYPE_BY_EXTENSION.get(PurePosixPath(key).suffix.lower())
        if guessed in self._allowed_types:
            # Pins the served type to what the key says, whatever metadata the object has.
            params["ResponseContentType"] = guessed
        seconds = min(math.ceil(expires_in.total_seconds()), MAX_PRESIGN_SECONDS)
        # Presigning may resolve credentials (an instance-role lookup is an HTTP call).
        presign = partial(
            self._client.generate_presigned_url, "get_object", Params=params, ExpiresIn=seconds
        )
        return await to_thread.run_sync(presign)

    def _read(self, key: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if _is_missing(error):
                raise NotFoundError(f"file {key} not found") from None
            raise
        body = response["Body"]
        try:
            return cast("bytes", body.read())
        finally:
            body.close()

    def _observe_upload(self, seconds: float, ok: bool) -> None:
        if self._on_upload is None:
            return
        try:
            self._on_upload(seconds, ok)
        except Exception:
            # Metrics are a side channel: a broken observer must not fail (or mask the
            # error of) an upload.
            logger.exception("the S3 upload observer failed")


def _is_missing(error: ClientError) -> bool:
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in _MISSING_CODES or status == 404  # noqa: PLR2004 - HTTP Not Found
