"""Prometheus metrics: payments, provider calls, stores, queues, the outbox, HTTP.

One ``Metrics`` per process, on its own registry (so tests can build many apps). The
domain knows nothing of it: outcomes are observed by wrapping ports and use cases
here (``observed_*``), pool and query figures come from SQLAlchemy's events, and the
worker reports the outbox backlog each round. With several server processes set
PROMETHEUS_MULTIPROC_DIR, and /metrics adds up every process's numbers.
"""

from __future__ import annotations

import functools
import inspect
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from getiickets.adapters.sqlalchemy.engine import pool_status
from getiickets.bootstrap import Observers
from getiickets.domain.model.errors import (
    CacheUnavailableError,
    NotFoundError,
    PaymentProviderError,
    PaymentProviderUnavailableError,
)
from getiickets.domain.model.payments import PaymentVerification
from getiickets.domain.usecases.payment_results import AppliedPayment, PaymentResults
from getiickets.ports.notifications import (
    DeliveryError,
    DeliveryReceipt,
    EmailMessage,
    ProviderNotConfiguredError,
    SmsMessage,
)
from getiickets.ports.waiting_room import Step

T = TypeVar("T")
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_MAX_REMEMBERED_SERIES = 1024
"""HTTP series kept at hand; routes x methods x statuses stay far below it."""


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.payments = Counter(
            "getiickets_payments",
            "Verified payment results applied, by outcome",
            ["outcome"],
            registry=r,
        )
        self.payment_seconds = Histogram(
            "getiickets_payment_processing_seconds",
            "Time to apply one verified payment result",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.paystack_calls = Counter(
            "getiickets_paystack_calls",
            "Calls to the payment provider, by operation and result "
            "(ok, refused, not_found, unavailable, error)",
            ["operation", "result"],
            registry=r,
        )
        self.webhooks = Counter(
            "getiickets_webhooks",
            "Webhooks received, by provider and outcome",
            ["provider", "outcome"],
            registry=r,
        )
        self.messages = Counter(
            "getiickets_messages",
            "Email and SMS delivery attempts, by channel and result",
            ["channel", "result"],
            registry=r,
        )
        self.uploads = Counter(
            "getiickets_file_uploads", "File uploads to storage, by result", ["result"], registry=r
        )
        self.upload_seconds = Histogram(
            "getiickets_file_upload_seconds",
            "File upload latency",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.store_seconds = Histogram(
            "getiickets_hot_store_seconds",
            "Latency of inventory, session, cache and rate-limit calls",
            ["store", "operation"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.store_errors = Counter(
            "getiickets_hot_store_errors",
            "Hot-store calls that failed (unavailable or timed out), by store",
            ["store", "operation"],
            registry=r,
        )
        self.cache = Counter(
            "getiickets_cache_requests",
            "Cache reads, by result (hit or miss)",
            ["result"],
            registry=r,
        )
        self.query_seconds = Histogram(
            "getiickets_db_query_seconds",
            "Database statement latency",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "getiickets_outbox_depth",
            "Messages waiting for delivery",
            registry=r,
            multiprocess_mode="max",
        )
        self.outbox_age = Gauge(
            "getiickets_outbox_oldest_age_seconds",
            "Age of the oldest message waiting for delivery",
            registry=r,
            multiprocess_mode="max",
        )
        self.dependency_up = Gauge(
            "getiickets_dependency_up",
            "Whether a dependency (database, cache) answered its readiness check at scrape",
            ["dependency"],
            registry=r,
            multiprocess_mode="livemin",
        )
        self.reservations_expired = Counter(
            "getiickets_reservations_expired", "Orders expired by the worker", registry=r
        )
        self.queue_waiting = Gauge(
            "getiickets_queue_waiting",
            "Buyers in an event's waiting room not yet admitted, as last seen",
            ["event_id"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self._queue_waiting_of: dict[str, Gauge] = {}
        self.queue_admitted = Counter(
            "getiickets_queue_admitted",
            "Buyers let through a waiting room (rate() per minute is the admission rate)",
            ["event_id"],
            registry=r,
        )
        self.queue_wait_seconds = Histogram(
            "getiickets_queue_wait_seconds",
            "Time from arriving in a waiting room to being admitted",
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
            registry=r,
        )
        self.queue_admissions_expired = Counter(
            "getiickets_queue_admissions_expired",
            "Admissions whose session ran out without an order",
            ["event_id"],
            registry=r,
        )
        self.requests = Histogram(
            "getiickets_http_request_seconds",
            "HTTP request latency, by method, route and status",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self._request_series: dict[tuple[str, str, int], Any] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request in ``requests``. The labelled series is looked up once per
        method, route template and status: ``labels()`` checks and locks on every call,
        a measurable part of a kept read's time."""
        key = (method, route, status)
        series = self._request_series.get(key)
        if series is None:
            series = self.requests.labels(method=method, route=route, status=str(status))
            if len(self._request_series) < _MAX_REMEMBERED_SERIES:
                self._request_series[key] = series
        series.observe(seconds)

    def render(self) -> tuple[bytes, str]:
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if directory:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=directory)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def record_backlog(self, count: int, oldest: datetime | None, now: datetime) -> None:
        self.outbox_depth.set(count)
        self.outbox_age.set((now - oldest).total_seconds() if oldest else 0)

    def observe_queue(self, event_id: str, step: Step, waiting: int | None) -> None:
        """What one step of a waiting line did (every process counts its own steps)."""
        if step.waited_us:
            self.queue_admitted.labels(event_id=event_id).inc(len(step.waited_us))
            for waited in step.waited_us:
                self.queue_wait_seconds.observe(waited / 1_000_000)
        if step.lapsed:
            self.queue_admissions_expired.labels(event_id=event_id).inc(step.lapsed)
        if waiting is not None:
            waiting_gauge = self._queue_waiting_of.get(event_id)
            if waiting_gauge is None:
                # labels() validates and locks on every call: ~2 us of every join and
                # poll in a rush. Its child for an event never changes (none is removed).
                waiting_gauge = self.queue_waiting.labels(event_id=event_id)
                self._queue_waiting_of[event_id] = waiting_gauge
            waiting_gauge.set(waiting)

    def watch_engine(self, engine: AsyncEngine) -> None:
        """Statement latency from SQLAlchemy's cursor events, pool use at scrape time."""
        sync_engine = engine.sync_engine
        histogram = self.query_seconds

        @event.listens_for(sync_engine, "before_cursor_execute")
        def started(conn: Any, cursor: Any, statement: Any, *args: Any) -> None:
            conn.info.setdefault("query_started", []).append(time.perf_counter())

        @event.listens_for(sync_engine, "after_cursor_execute")
        def finished(conn: Any, cursor: Any, statement: Any, *args: Any) -> None:
            histogram.observe(time.perf_counter() - conn.info["query_started"].pop())

        self.registry.register(_PoolCollector(engine))


class _PoolCollector(Collector):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def collect(self) -> Iterable[GaugeMetricFamily]:
        status = pool_status(self._engine)
        family = GaugeMetricFamily(
            "getiickets_db_pool_connections", "Database pool connections", labels=["state"]
        )
        family.add_metric(["size"], status.size)
        family.add_metric(["in_use"], status.checked_out)
        family.add_metric(["overflow"], status.overflow)
        yield family


# ---------------------------------------------------------------- observed ports


class ObservedPaymentResults(PaymentResults):
    """Counts and times every applied payment, whichever path applied it."""

    def __init__(self, *, metrics: Metrics, **ports: Any) -> None:
        super().__init__(**ports)
        self._metrics = metrics

    async def apply(
        self, verification: PaymentVerification, inbox: str | None = None
    ) -> AppliedPayment:
        started = time.perf_counter()
        try:
            applied = await super().apply(verification, inbox)
        except Exception:
            self._metrics.payments.labels(outcome="error").inc()
            raise
        finally:
            self._metrics.payment_seconds.observe(time.perf_counter() - started)
        self._metrics.payments.labels(outcome=applied.outcome.value).inc()
        return applied


class ObservedGateway:
    """Wraps the PaymentGateway: counts every provider call by operation and result.

    Anything else the port offers passes through uncounted.
    """

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self._inner = inner
        self._counter = metrics.paystack_calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def initialize(self, request: Any) -> Any:
        return await self._counted("initialize", self._inner.initialize(request))

    async def verify(self, reference: str) -> Any:
        return await self._counted("verify", self._inner.verify(reference))

    async def refund(self, reference: str, amount: Any = None) -> Any:
        return await self._counted("refund", self._inner.refund(reference, amount))

    async def _counted(self, operation: str, call: Awaitable[T]) -> T:
        try:
            result = await call
        except PaymentProviderUnavailableError:
            self._count(operation, "unavailable")
            raise
        except PaymentProviderError:
            self._count(operation, "refused")
            raise
        except NotFoundError:
            # An unknown reference is an answer, not a failure of the provider.
            self._count(operation, "not_found")
            raise
        except Exception:
            self._count(operation, "error")
            raise
        self._count(operation, "ok")
        return result

    def _count(self, operation: str, result: str) -> None:
        self._counter.labels(operation=operation, result=result).inc()


class ObservedSender:
    """Wraps a Mailer or SmsSender: counts sent, failed and skipped messages."""

    def __init__(self, inner: Any, channel: str, metrics: Metrics) -> None:
        self._inner = inner
        self._counter = metrics.messages
        self._channel = channel

    async def send(self, message: EmailMessage | SmsMessage) -> DeliveryReceipt:
        try:
            receipt: DeliveryReceipt = await self._inner.send(message)
        except ProviderNotConfiguredError:
            self._count("skipped")
            raise
        except DeliveryError as error:
            self._count("dead" if error.permanent else "failed")
            raise
        except Exception:
            self._count("failed")
            raise
        self._count("sent")
        return receipt

    def _count(self, result: str) -> None:
        self._counter.labels(channel=self._channel, result=result).inc()


def observed_store(inner: T, store: str, metrics: Metrics) -> T:
    """Wrap every coroutine method of a hot-store adapter with timing and error counts.

    The wrappers are made once here, not per call; plain attributes pass through.
    """
    proxy = _Proxy(inner)
    for name, member in inspect.getmembers(inner):
        if name.startswith("_") or not inspect.iscoroutinefunction(member):
            continue
        setattr(proxy, name, _timed(member, store, name, metrics))
    if store == "cache":
        setattr(proxy, "get", _counting_gets(proxy.get, metrics))  # noqa: B010
    return proxy  # type: ignore[return-value]


class _Proxy:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _timed(method: Callable[..., Any], store: str, operation: str, metrics: Metrics) -> Any:
    seconds = metrics.store_seconds.labels(store=store, operation=operation)
    errors = metrics.store_errors.labels(store=store, operation=operation)

    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        except CacheUnavailableError:
            errors.inc()
            raise
        finally:
            seconds.observe(time.perf_counter() - started)

    return timed


def _counting_gets(get: Callable[..., Any], metrics: Metrics) -> Any:
    hits = metrics.cache.labels(result="hit")
    misses = metrics.cache.labels(result="miss")

    async def counted(key: str) -> bytes | None:
        value: bytes | None = await get(key)
        (misses if value is None else hits).inc()
        return value

    return counted


def observers(metrics: Metrics) -> Observers:
    """What the use-case factory wraps, so every graph it builds reports to ``metrics``."""
    return Observers(
        gateway=lambda gateway: ObservedGateway(gateway, metrics),
        mailer=lambda mailer: ObservedSender(mailer, "email", metrics),
        sms=lambda sms: ObservedSender(sms, "sms", metrics),
        payment_results=functools.partial(ObservedPaymentResults, metrics=metrics),
        queue=metrics.observe_queue,
    )


def upload_observer(metrics: Metrics) -> Callable[[float, bool], None]:
    def observe(seconds: float, ok: bool) -> None:
        metrics.upload_seconds.observe(seconds)
        metrics.uploads.labels(result="ok" if ok else "error").inc()

    return observe
