"""The composition root: settings in, adapters and use cases out. Nothing else builds them.

Adapters are chosen by configuration:
- DATABASE_URL unset -> an SQLite file under DATA_DIR (the embedded default);
- REDIS_URL -> Redis inventory, cache, sessions and rate limits; unset -> in-process
  ones (single API process), or the SQL inventory when the database is PostgreSQL;
  login sessions always live in the database, Redis (when set) only caches them;
- AWS_S3_BUCKET -> S3 (with CloudFront URLs when AWS_CLOUDFRONT_URL is set); unset
  -> files under DATA_DIR, served by the app through signed links;
- the embedded default without PAYSTACK_SECRET_KEY, or SANDBOX=true -> the provider
  sandbox is mounted in the app at /sandbox and payments, and unconfigured mail and
  SMS, go to its simulators (a server without either is refused by the settings);
- BREVO_API_KEY / TWILIO_* unset outside the sandbox -> messages are skipped with a
  warning, and the message is marked skipped rather than failed.

Clients (database engine, Redis, HTTP, S3) are resources: opened once per process
in the app's lifespan or the worker's start, closed on shutdown.

Every API process holds what this module imports, and peaks at that plus one password
hash (64 MiB): S3's adapter (boto3, ~10 MB) is imported only when chosen, and the
adapters only the worker calls (ticket drawing, message wording, the SMS SDK) import
their libraries on first use (tests/integration/test_api_footprint.py).
"""

from __future__ import annotations

import hmac
import inspect
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from getiickets.adapters.abandoned_holds import RetriedAbandons
from getiickets.adapters.brevo.mailer import BrevoMailer
from getiickets.adapters.crypto.ed25519 import Ed25519TicketSigner
from getiickets.adapters.localfs.storage import LocalFileStorage
from getiickets.adapters.memory import (
    InMemoryCache,
    InMemoryInventory,
    InMemoryRateLimiter,
)
from getiickets.adapters.memory.waiting_room import InMemoryWaitingLine
from getiickets.adapters.passwords.argon2 import Argon2PasswordHasher
from getiickets.adapters.paystack.gateway import PaystackGateway, create_paystack_client
from getiickets.adapters.redis.cache import RedisCache
from getiickets.adapters.redis.client import create_redis
from getiickets.adapters.redis.client import ping as redis_ping
from getiickets.adapters.redis.inventory import RedisInventory
from getiickets.adapters.redis.rate_limiter import RedisRateLimiter
from getiickets.adapters.redis.sessions import RedisSessionStore
from getiickets.adapters.redis.waiting_room import RedisWaitingLine
from getiickets.adapters.rendering import BabelMessageComposer, QrcodeReportlabRenderer
from getiickets.adapters.sqlalchemy.engine import create_engine, is_sqlite, pool_status
from getiickets.adapters.sqlalchemy.engine import ping as database_ping
from getiickets.adapters.sqlalchemy.idempotency import SqlAlchemyIdempotencyUnit
from getiickets.adapters.sqlalchemy.inventory import SqlAlchemyInventory
from getiickets.adapters.sqlalchemy.order_book import SqlAlchemyOrderBook
from getiickets.adapters.sqlalchemy.sessions import SqlAlchemySessionStore
from getiickets.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from getiickets.adapters.sqlalchemy.waiting_room import SqlAlchemyQueueSettingsStore
from getiickets.adapters.system.clock import SystemClock
from getiickets.adapters.system.ids import RandomIdGenerator
from getiickets.adapters.twilio.sms import TwilioSmsSender
from getiickets.bootstrap import bootstrap
from getiickets.domain.model.waiting_room import TokenSealer
from getiickets.domain.usecases.stock import StockLedger
from getiickets.entrypoints.background import BoundedJobs, limit_for_pool
from getiickets.entrypoints.http.fresh import FreshResponses
from getiickets.entrypoints.http.idempotency import IdempotencyStore, IdempotencyUnit
from getiickets.entrypoints.metrics import Metrics, observed_store, observers, upload_observer
from getiickets.entrypoints.services import ReadinessCheck, ServedFiles, Services
from getiickets.entrypoints.settings import Settings, check_safe_to_serve
from getiickets.ports.clock import Clock
from getiickets.ports.files import FileStorage
from getiickets.ports.hot_state import Cache, RateLimiter, SessionStore
from getiickets.ports.inventory import Inventory
from getiickets.ports.payments import PaymentGateway
from getiickets.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory
from getiickets.ports.waiting_room import WaitingLine
from getiickets.sandbox.config import SandboxConfig

logger = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 2.0
SANDBOX_PATH = "/sandbox"
SANDBOX_TWILIO_FROM = "+15005550006"
"""Twilio's own 'valid sender' test number."""
SIGNING_KEY_FILE = "ticket-signing.key"


# ---------------------------------------------------------------- resources


async def _engine(settings: Settings, metrics: Metrics) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(
        settings.effective_database_url,
        pool_timeout=settings.db_pool_timeout_seconds,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    metrics.watch_engine(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _redis(settings: Settings) -> AsyncIterator[Any]:
    if settings.redis_url is None:
        yield None
        return
    client = create_redis(settings.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def _http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    # One pool for every provider call; plain HTTP to the mounted sandbox skips TLS.
    client = create_paystack_client(verify=not settings.uses_sandbox_paystack)
    try:
        yield client
    finally:
        await client.aclose()


# ---------------------------------------------------------------- choices


def sandbox_config(settings: Settings) -> SandboxConfig:
    base = settings.public_base_url
    return SandboxConfig(
        public_base_url=f"{base}{SANDBOX_PATH}",
        paystack_webhook_url=f"{base}/api/v1/webhooks/paystack",
        brevo_webhook_url=f"{base}/api/v1/webhooks/brevo",
        brevo_webhook_token=_brevo_webhook_token(settings),
        # Every ticket sent is in the outbox: open only on one's own machine.
        inspection_routes=settings.is_embedded or settings.sandbox_outbox_token is not None,
        inspection_token=settings.sandbox_outbox_token,
    )


def _brevo_webhook_token(settings: Settings) -> str | None:
    if settings.brevo_webhook_secret or not settings.uses_sandbox_paystack:
        return settings.brevo_webhook_secret
    # The sandbox and the app agree on a token without anyone having to set one.
    return f"sandbox-{_file_signing_key(settings).hex()[:32]}"


def _twilio_auth_token(settings: Settings) -> str | None:
    if settings.twilio_account_sid is None and settings.uses_sandbox_paystack:
        return sandbox_config(settings).twilio_auth_token
    return settings.twilio_auth_token


def _uow_factory(engine: AsyncEngine) -> UnitOfWorkFactory:
    def new_unit() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(engine)

    return new_unit


def _idempotency_store(engine: AsyncEngine) -> IdempotencyStore:
    def new_unit() -> IdempotencyUnit:
        return SqlAlchemyIdempotencyUnit(engine)

    return new_unit


def _inventory(
    *,
    settings: Settings,
    redis: Any,
    engine: AsyncEngine,
    ledger: StockLedger,
    clock: Clock,
    metrics: Metrics,
) -> Inventory:
    inventory: Inventory
    if redis is not None:
        inventory = RedisInventory(redis, ledger, clock, prefix=settings.redis_key_prefix)
    elif not is_sqlite(engine):
        inventory = SqlAlchemyInventory(engine, ledger, clock)
    else:
        inventory = InMemoryInventory(ledger, clock)
    return observed_store(RetriedAbandons(inventory, clock), "inventory", metrics)


def _cache(settings: Settings, redis: Any, clock: Clock, metrics: Metrics) -> Cache:
    cache: Cache = (
        RedisCache(redis, prefix=settings.redis_key_prefix)
        if redis is not None
        else InMemoryCache(clock)
    )
    return observed_store(cache, "cache", metrics)


def _sessions(
    settings: Settings, redis: Any, engine: AsyncEngine, clock: Clock, metrics: Metrics
) -> SessionStore:
    # In the database, so neither a restart nor a Redis restarted empty logs anyone out.
    sessions: SessionStore = SqlAlchemySessionStore(engine, clock)
    if redis is not None:
        sessions = RedisSessionStore(redis, sessions, clock, prefix=settings.redis_key_prefix)
    return observed_store(sessions, "sessions", metrics)


def _rate_limiter(settings: Settings, redis: Any, clock: Clock, metrics: Metrics) -> RateLimiter:
    limiter: RateLimiter
    if redis is not None:
        limiter = RedisRateLimiter(redis, prefix=settings.redis_key_prefix)
    else:
        limiter = InMemoryRateLimiter(clock)
    return observed_store(limiter, "rate_limiter", metrics)


def _waiting_line(settings: Settings, redis: Any, metrics: Metrics) -> WaitingLine:
    # Without Redis the line lives in this process: the embedded default, single process.
    line: WaitingLine = (
        RedisWaitingLine(redis, prefix=settings.redis_key_prefix)
        if redis is not None
        else InMemoryWaitingLine()
    )
    return observed_store(line, "waiting_line", metrics)


def _queue_sealer(settings: Settings) -> TokenSealer:
    """Queue and admission tokens are sealed with a key derived from the ticket key, so
    every process agrees on it and nobody has to set another secret."""
    secret = _ticket_secret(settings)
    return TokenSealer(hmac.digest(secret.encode(), b"getiickets waiting room", "sha256"))


def _ticket_secret(settings: Settings) -> str:
    """TICKET_SIGNING_KEY; in the embedded default, a secret kept under DATA_DIR. (A server
    without the key is refused by ``check_safe_to_serve`` before anything is built.)"""
    return settings.ticket_signing_key or _local_secret(settings.data_dir / SIGNING_KEY_FILE)


def _signer(settings: Settings) -> Ed25519TicketSigner:
    return Ed25519TicketSigner.from_seed_text(_ticket_secret(settings))


def _file_signing_key(settings: Settings) -> bytes:
    if settings.file_signing_key:
        return settings.file_signing_key.encode()
    return f"files:{_ticket_secret(settings)}".encode()


def _local_secret(path: Path) -> str:
    """A secret made once and kept beside the embedded database, so restarts keep it."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    path.write_text(secret)
    path.chmod(0o600)
    logger.info("made a new signing key at %s", path)
    return secret


def _files(settings: Settings, clock: Clock, metrics: Metrics) -> FileStorage:
    if settings.aws_s3_bucket:
        # Imported only when chosen: boto3 alone is ~10 MB resident in every process
        # that imports it, and a deployment that keeps its files on disk never calls it.
        from getiickets.adapters.s3.storage import (  # noqa: PLC0415
            CloudFrontUrls,
            S3FileStorage,
            create_s3_client,
        )

        cloudfront = (
            CloudFrontUrls(
                settings.aws_cloudfront_url,
                settings.aws_cloudfront_key_pair_id,
                settings.aws_cloudfront_private_key,
            )
            if settings.aws_cloudfront_url
            else None
        )
        client = create_s3_client(
            settings.aws_region,
            settings.aws_access_key_id,
            settings.aws_secret_access_key,
            settings.aws_s3_endpoint_url,
        )
        return S3FileStorage(
            client,
            settings.aws_s3_bucket,
            url_signer=cloudfront,
            on_upload=upload_observer(metrics),
        )
    return LocalFileStorage(
        settings.data_dir / "files",
        _file_signing_key(settings),
        f"{settings.public_base_url}/files",
        clock,
    )


def _served_files(files: FileStorage) -> ServedFiles | None:
    return files if isinstance(files, LocalFileStorage) else None


def _gateway(settings: Settings, http: httpx.AsyncClient, cache: Cache) -> PaymentGateway:
    if settings.uses_sandbox_paystack:
        config = sandbox_config(settings)
        return PaystackGateway(
            http,
            config.paystack_secret_key,
            base_url=f"{settings.public_base_url}{SANDBOX_PATH}/paystack",
            checkouts=cache,
        )
    # Not the sandbox, so the key is set (check_safe_to_serve refuses a server without
    # it); the gateway refuses an empty one all the same.
    return PaystackGateway(
        http,
        settings.paystack_secret_key or "",
        base_url=settings.paystack_base_url or "https://api.paystack.co",
        checkouts=cache,
    )


def _brevo(settings: Settings, http: httpx.AsyncClient) -> BrevoMailer:
    if settings.brevo_api_key is None and settings.uses_sandbox_paystack:
        return BrevoMailer(
            http,
            sandbox_config(settings).brevo_api_key,
            settings.brevo_sender_email,
            settings.brevo_sender_name,
            base_url=f"{settings.public_base_url}{SANDBOX_PATH}/brevo/v3",
        )
    return BrevoMailer(
        http,
        settings.brevo_api_key,
        settings.brevo_sender_email,
        settings.brevo_sender_name,
        base_url=settings.brevo_base_url or "https://api.brevo.com/v3",
    )


def _twilio(settings: Settings) -> TwilioSmsSender:
    callback = f"{settings.public_base_url}/api/v1/webhooks/twilio"
    if settings.twilio_account_sid is None and settings.uses_sandbox_paystack:
        config = sandbox_config(settings)
        return TwilioSmsSender(
            config.twilio_account_sid,
            config.twilio_auth_token,
            SANDBOX_TWILIO_FROM,
            base_url=f"{settings.public_base_url}{SANDBOX_PATH}/twilio",
            status_callback_url=callback,
        )
    return TwilioSmsSender(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        settings.twilio_phone_number,
        base_url=settings.twilio_base_url,
        status_callback_url=callback if settings.twilio_account_sid else None,
    )


def _readiness(settings: Settings, engine: AsyncEngine, redis: Any) -> dict[str, ReadinessCheck]:
    checks: dict[str, ReadinessCheck] = {
        "database": lambda: database_ping(engine, READY_TIMEOUT_SECONDS)
    }
    if redis is not None:
        checks["cache"] = lambda: redis_ping(redis, READY_TIMEOUT_SECONDS)
    return checks


def _after_response(engine: AsyncEngine) -> BoundedJobs:
    return BoundedJobs(limit=limit_for_pool(pool_status(engine).size))


def _reservation_ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.reservation_ttl_seconds)


# ---------------------------------------------------------------- the container


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    metrics = providers.Singleton(Metrics)

    engine = providers.Resource(_engine, settings, metrics)
    redis = providers.Resource(_redis, settings)
    http = providers.Resource(_http, settings)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(RandomIdGenerator)
    uow = providers.Singleton(_uow_factory, engine)
    ledger = providers.Singleton(StockLedger, uow)
    inventory = providers.Singleton(
        _inventory,
        settings=settings,
        redis=redis,
        engine=engine,
        ledger=ledger,
        clock=clock,
        metrics=metrics,
    )
    cache = providers.Singleton(_cache, settings, redis, clock, metrics)
    sessions = providers.Singleton(_sessions, settings, redis, engine, clock, metrics)
    rate_limiter = providers.Singleton(_rate_limiter, settings, redis, clock, metrics)
    signer = providers.Singleton(_signer, settings)
    hasher = providers.Singleton(Argon2PasswordHasher)
    files = providers.Singleton(_files, settings, clock, metrics)
    renderer = providers.Singleton(QrcodeReportlabRenderer)
    composer = providers.Singleton(BabelMessageComposer)
    gateway = providers.Singleton(_gateway, settings, http, cache)
    mailer = providers.Singleton(_brevo, settings, http)
    sms = providers.Singleton(_twilio, settings)

    # One per process: its writer gathers the orders of every request into shared commits.
    order_book = providers.Singleton(SqlAlchemyOrderBook, engine)
    # The use cases: the same factory the in-memory wiring uses, watched by the metrics.
    use_cases = providers.Singleton(
        bootstrap,
        uow=uow,
        inventory=inventory,
        orders=order_book,
        gateway=gateway,
        files=files,
        cache=cache,
        sessions=sessions,
        hasher=hasher,
        signer=signer,
        renderer=renderer,
        mailer=mailer,
        sms=sms,
        composer=composer,
        queue_settings=providers.Singleton(SqlAlchemyQueueSettingsStore, engine),
        waiting_line=providers.Singleton(_waiting_line, settings, redis, metrics),
        sealer=providers.Singleton(_queue_sealer, settings),
        clock=clock,
        ids=ids,
        callback_url=providers.Callable(
            lambda s: f"{s.public_base_url}/payments/callback", settings
        ),
        queue_page_url=providers.Callable(
            lambda s: lambda slug: f"{s.public_base_url}/queue/{slug}", settings
        ),
        joins_per_client=providers.Callable(
            lambda s: s.queue_joins_per_client_per_minute, settings
        ),
        reservation_ttl=providers.Callable(_reservation_ttl, settings),
        observers=providers.Singleton(observers, metrics),
    )
    services = providers.Singleton(
        Services,
        settings=settings,
        accounts=use_cases.provided.accounts,
        catalog=use_cases.provided.catalog,
        ordering=use_cases.provided.ordering,
        checkout=use_cases.provided.checkout,
        payment_results=use_cases.provided.payment_results,
        payment_inbox=use_cases.provided.payment_inbox,
        refunds=use_cases.provided.refunds,
        expiry=use_cases.provided.expiry,
        waiting_room=use_cases.provided.waiting_room,
        checkin=use_cases.provided.checkin,
        ticket_files=use_cases.provided.ticket_files,
        notifications=use_cases.provided.notifications,
        files=files,
        served_files=providers.Callable(_served_files, files),
        uow=uow,
        idempotency=providers.Singleton(_idempotency_store, engine),
        cache=cache,
        rate_limiter=rate_limiter,
        clock=clock,
        metrics=metrics,
        fresh_reads=providers.Singleton(FreshResponses),
        brevo_webhook_token=providers.Callable(_brevo_webhook_token, settings),
        twilio_auth_token=providers.Callable(_twilio_auth_token, settings),
        readiness=providers.Callable(_readiness, settings, engine, redis),
        after_response=providers.Singleton(_after_response, engine),
    )


async def _maybe_await(result: Awaitable[None] | None) -> None:
    # dependency-injector types these as "awaitable or None" (async resources make it
    # awaitable); checked once here instead of at every call site.
    if inspect.isawaitable(result):
        await result


async def _resolved(value: Any) -> Any:
    """A provider that depends on an async resource answers with an awaitable."""
    return await value if inspect.isawaitable(value) else value


@asynccontextmanager
async def running_services(
    settings: Settings, configure: Callable[[Container], None] | None = None
) -> AsyncIterator[Services]:
    """Open every resource, build the services, and close everything on the way out.

    ``configure`` may override providers (tests swap adapters here) before anything is
    built. Settings a server must not run with are refused first, whoever calls.
    """
    check_safe_to_serve(settings)
    container = Container(settings=settings)
    if configure is not None:
        configure(container)
    await _maybe_await(container.init_resources())
    try:
        services: Services = await _resolved(container.services())
        roles = ("inventory", "cache", "sessions", "files", "gateway", "mailer", "sms")
        _log_choices(
            settings, {role: await _resolved(getattr(container, role)()) for role in roles}
        )
        yield services
    finally:
        await _maybe_await(container.shutdown_resources())


def _innermost(adapter: object) -> str:
    # Observed adapters and retried abandons are wrappers: name what they wrap.
    while hasattr(adapter, "_inner"):
        adapter = getattr(adapter, "_inner")  # noqa: B009 - a private attribute, on purpose
    return type(adapter).__name__


def _log_choices(settings: Settings, adapters: dict[str, object]) -> None:
    chosen = " ".join(f"{role}={_innermost(adapter)}" for role, adapter in adapters.items())
    database = "SQLite (embedded)" if settings.is_embedded else "PostgreSQL"
    payments = "sandbox" if settings.uses_sandbox_paystack else "Paystack"
    logger.info("adapters: database=%s payments=%s %s", database, payments, chosen)
