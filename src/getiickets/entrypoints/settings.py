"""Settings: the only place that reads the environment.

Variable names are the providers' usual ones (PAYSTACK_SECRET_KEY, BREVO_API_KEY,
TWILIO_*, AWS_*, REDIS_URL, DATABASE_URL, DIRECT_URL) plus a few of ours, each the
field's name in capitals; the README's configuration table lists them all. Nothing set at all gives
the embedded default: SQLite under ``var/``, in-memory hot state, local files and
the provider simulators mounted in the app. Anywhere else the simulators run only
when ``SANDBOX=true`` asks for them by name, and ``check_safe_to_serve`` is the one
place that refuses settings a server must not run with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec


class SettingsError(ValueError):
    """A variable is set to something unusable; the message names it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # Where we are reachable, for links in emails, callbacks and webhooks.
    app_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65_535)] = 8000
    data_dir: Path = Path("var")
    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies whose X-Forwarded-For/-Proto are believed (comma-separated, CIDRs, or *):
    uvicorn's variable, kept when ``serve`` moved to granian."""

    database_url: str | None = None
    """Application connections (may go through a pooler: ?pgbouncer=true&connection_limit=N)."""
    direct_url: str | None = None
    """Migrations: a direct connection, prepared statements allowed."""
    db_statement_timeout_ms: Annotated[int, msgspec.Meta(ge=1)] | None = 15_000
    db_pool_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 10.0

    redis_url: str | None = None
    redis_key_prefix: str = "gt:"
    """Every key we write starts with it: several deployments can share one Redis."""

    paystack_secret_key: str | None = None
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

    reservation_ttl_seconds: Annotated[int, msgspec.Meta(ge=60)] = 900
    """A checkout needs a minute at least."""
    ticket_signing_key: str | None = None
    """Secret text from which the Ed25519 ticket key is derived; generated and kept
    under data_dir in the embedded default."""
    file_signing_key: str | None = None
    """HMAC key for local-file links; derived from the ticket key when unset."""

    queue_joins_per_client_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 20
    """Waiting-room joins one client address may make a minute (a load test on loopback
    raises it)."""
    sandbox: bool = False
    """Send payments, and unconfigured mail and SMS, to the simulators mounted at
    /sandbox. Implied by the embedded default; a server (DATABASE_URL set) runs them
    only when this says so, since a simulated payment there issues real tickets."""
    sandbox_outbox_token: str | None = None
    """On a server, the outbox and control routes of the sandbox (every ticket email
    and SMS it accepted) answer only ``Authorization: Bearer <this>``, and are not
    served at all without it. The embedded default serves them to anyone unless set."""

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
        """Whether payments go to the mounted simulator instead of Paystack."""
        if self.sandbox:
            return True
        return self.is_embedded and self.paystack_secret_key is None

    @property
    def uses_s3(self) -> bool:
        return self.aws_s3_bucket is not None

    @property
    def public_base_url(self) -> str:
        return self.app_base_url.rstrip("/")


_MEANS_TRUE = {"yes": "true", "on": "true", "no": "false", "off": "false"}
"""Spellings of a boolean that people write in environments; msgspec itself reads
true/false/1/0 in any case."""
_SETTINGS_TYPE = msgspec.inspect.type_info(Settings)
assert isinstance(_SETTINGS_TYPE, msgspec.inspect.StructType)  # noqa: S101 - Settings is a Struct
_BOOL_FIELDS = frozenset(
    field.name
    for field in _SETTINGS_TYPE.fields
    if isinstance(field.type, msgspec.inspect.BoolType)
)
_EXPECTED = re.compile(r"Expected `(?P<type>[^`]+)`(?P<bound>[^-,]*)")
_KINDS = {"int": "a whole number", "float": "a number", "bool": "true or false"}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment (or the given mapping, for tests).

    msgspec reads the text as the field's type (``strict=False``) and checks the
    bounds declared on ``Settings``; an error names the variable and its value.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for field in Settings.__struct_fields__:
        raw = environ.get(field.upper())
        if raw is None or raw.strip() == "":
            continue
        raw = raw.strip()
        if field in _BOOL_FIELDS:
            raw = _MEANS_TRUE.get(raw.lower(), raw)
        values[field] = raw
    try:
        return msgspec.convert(values, Settings, strict=False, dec_hook=_decode)
    except msgspec.ValidationError as error:
        raise _refusal(error, environ) from error


def _decode(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(kind)


def _refusal(error: msgspec.ValidationError, environ: Mapping[str, str]) -> SettingsError:
    """``PORT must be a whole number, got 'eighty'`` from msgspec's error."""
    message = str(error)
    field = message.rpartition("`$.")[2].rstrip("`")
    if field not in Settings.__struct_fields__:
        return SettingsError(message)
    name = field.upper()
    expected = _EXPECTED.match(message)
    if expected is None:
        return SettingsError(f"{name}: {message}")
    kind = expected["type"].removesuffix(" | null")
    wanted = f"{_KINDS.get(kind, kind)}{expected['bound'].rstrip()}"
    return SettingsError(f"{name} must be {wanted}, got {environ[name].strip()!r}")


def check_safe_to_serve(settings: Settings, *, workers: int = 1) -> None:
    """Refuse settings that an API or worker process must not run with.

    Every refusal names the variable to set; all of them come in one line, so that
    an operator fixes everything in one go. The embedded default is a single
    process on one machine by design and is only held to the process count.
    """
    problems: list[str] = []
    if settings.sandbox and settings.paystack_secret_key is not None:
        problems.append(
            "SANDBOX=true sends payments to the simulator, yet PAYSTACK_SECRET_KEY is set: "
            "unset one of them"
        )
    if settings.is_embedded:
        if workers > 1:
            problems.append(
                f"--workers {workers}: the embedded default keeps stock and sessions in "
                "one process; set DATABASE_URL and REDIS_URL to run several"
            )
    else:
        problems += _server_problems(settings, workers)
    if problems:
        raise SettingsError("; ".join(problems))


def _server_problems(settings: Settings, workers: int) -> list[str]:
    problems = []
    if settings.paystack_secret_key is None and not settings.sandbox:
        problems.append(
            "PAYSTACK_SECRET_KEY is not set: with DATABASE_URL the simulated checkout would "
            "issue real tickets for no money; set it, or SANDBOX=true for a staging server"
        )
    if not settings.ticket_signing_key:
        problems.append(
            "TICKET_SIGNING_KEY is required with DATABASE_URL: every process must sign and "
            "check tickets with the same key"
        )
    if workers > 1 and settings.redis_url is None:
        problems.append(
            f"--workers {workers} needs REDIS_URL: without it sessions and rate limits "
            "would live in each process apart"
        )
    return problems
