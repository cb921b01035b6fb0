"""Settings: the only place that reads the environment.

Variable names are the seed's (PAYSTACK_SECRET_KEY, BREVO_API_KEY, TWILIO_*, AWS_*,
REDIS_URL, DATABASE_URL, DIRECT_URL) plus a few of ours. Nothing set at all gives
the embedded default: SQLite under ``var/``, in-memory hot state, local files and
the provider simulators mounted in the app.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec


class SettingsError(ValueError):
    """A variable is set to something unusable; the message names it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # Where we are reachable, for links in emails, callbacks and webhooks.
    app_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies whose X-Forwarded-For/-Proto are believed (comma-separated, CIDRs, or *):
    uvicorn's variable, kept when ``serve`` moved to granian."""

    database_url: str | None = None
    """Application connections (may go through a pooler: ?pgbouncer=true&connection_limit=N)."""
    direct_url: str | None = None
    """Migrations: a direct connection, prepared statements allowed."""
    db_statement_timeout_ms: int | None = 15_000
    db_pool_timeout_seconds: float = 10.0

    redis_url: str | None = None
    redis_key_prefix: str = "gt:"
    """Every key we write starts with it: several deployments can share one Redis."""

    paystack_secret_key: str | None = None
    paystack_public_key: str | None = None
    paystack_base_url: str | None = None

    brevo_api_key: str | None = None
    brevo_sender_email: str = "noreply@getiickets.com"
    brevo_sender_name: str = "getiickets"
    brevo_base_url: str | None = None
    brevo_webhook_secret: str | None = None

    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_phone_number: str | None = None
    twilio_base_url: str | None = None

    aws_region: str = "us-east-2"
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_s3_bucket: str | None = None
    aws_s3_endpoint_url: str | None = None
    aws_cloudfront_url: str | None = None
    aws_cloudfront_key_pair_id: str | None = None
    aws_cloudfront_private_key: str | None = None

    reservation_ttl_seconds: int = 900
    ticket_signing_key: str | None = None
    """Secret text from which the Ed25519 ticket key is derived; generated and kept
    under data_dir in the embedded default."""
    file_signing_key: str | None = None
    """HMAC key for local-file links; derived from the ticket key when unset."""

    queue_joins_per_client_per_minute: int = 20
    """Waiting-room joins one client address may make a minute (a load test on loopback
    raises it)."""

    log_level: str = "INFO"
    log_json: bool = False
    run_worker_in_process: bool = True
    """The embedded default runs the worker inside the API process."""

    @property
    def is_embedded(self) -> bool:
        return self.database_url is None

    @property
    def sqlite_url(self) -> str:
        return f"sqlite+aiosqlite:///{(self.data_dir / 'getiickets.db').as_posix()}"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_url

    @property
    def migration_url(self) -> str:
        return self.direct_url or self.effective_database_url

    @property
    def uses_sandbox_paystack(self) -> bool:
        return self.paystack_secret_key is None

    @property
    def uses_s3(self) -> bool:
        return self.aws_s3_bucket is not None

    @property
    def public_base_url(self) -> str:
        return self.app_base_url.rstrip("/")


_INT_FIELDS = {
    "port",
    "db_statement_timeout_ms",
    "reservation_ttl_seconds",
    "queue_joins_per_client_per_minute",
}
_FLOAT_FIELDS = {"db_pool_timeout_seconds"}
_BOOL_FIELDS = {"log_json", "run_worker_in_process"}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment (or the given mapping, for tests)."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for field in Settings.__struct_fields__:
        raw = environ.get(field.upper())
        if raw is None or raw.strip() == "":
            continue
        values[field] = _convert(field, raw.strip())
    try:
        settings = msgspec.convert(values, Settings)
    except msgspec.ValidationError as error:
        raise SettingsError(str(error)) from error
    if settings.reservation_ttl_seconds < 60:  # noqa: PLR2004 - a checkout needs a minute at least
        raise SettingsError("RESERVATION_TTL_SECONDS must be at least 60")
    return settings


def _convert(field: str, raw: str) -> object:
    name = field.upper()
    try:
        if field in _INT_FIELDS:
            return int(raw)
        if field in _FLOAT_FIELDS:
            return float(raw)
    except ValueError as error:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from error
    if field in _BOOL_FIELDS:
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    if field == "data_dir":
        return Path(raw)
    return raw
