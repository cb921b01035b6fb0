"""ops/prometheus-alerts.yml is valid and watches metrics the app really exports.

promtool checks the file when it is installed (Debian's ``prometheus``; CI installs
it); the structure is checked here either way. Every metric an expression names, and
every label value it matches, must appear in /metrics once the app's own observers
have recorded each outcome, so renaming a metric or a label breaks this test.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from getiickets.adapters.redis.client import create_redis
from getiickets.adapters.sqlalchemy.engine import create_engine
from getiickets.domain.model.errors import (
    CacheUnavailableError,
    NotFoundError,
    PaymentProviderError,
    PaymentProviderUnavailableError,
)
from getiickets.entrypoints.container import _readiness
from getiickets.entrypoints.http.routes.operations import metrics as metrics_route
from getiickets.entrypoints.metrics import (
    Metrics,
    ObservedGateway,
    ObservedPaymentResults,
    ObservedSender,
    observed_store,
    upload_observer,
)
from getiickets.entrypoints.settings import load_settings
from getiickets.ports.notifications import DeliveryError

RULES = Path(__file__).parents[2] / "ops" / "prometheus-alerts.yml"
SEVERITIES = {"critical", "warning"}
_NOT_METRICS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or"}
_NOT_METRICS |= {"unless", "bool", "offset", "inf", "nan"}


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules() -> None:
    checked = subprocess.run(  # noqa: S603 - a fixed command on our own file
        ["promtool", "check", "rules", str(RULES)],  # noqa: S607 - found on PATH above
        capture_output=True,
        text=True,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_is_complete() -> None:
    rules = _rules()

    assert len({rule["alert"] for rule in rules}) == len(rules)
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["annotations"]["description"], rule["alert"]


def test_the_seeds_alerting_list_is_covered() -> None:
    watched = " ".join(rule["expr"] for rule in _rules())

    for metric in (
        "getiickets_paystack_calls_total",
        'getiickets_dependency_up{dependency="cache"}',
        "getiickets_hot_store_errors_total",
        'getiickets_dependency_up{dependency="database"}',
        'getiickets_file_uploads_total{result="error"}',
        'channel="email"',
        'channel="sms"',
        "getiickets_outbox_oldest_age_seconds",
    ):
        assert metric in watched


async def test_every_metric_and_label_value_in_the_rules_is_exported(tmp_path: Path) -> None:
    exported = _series(await _exercised_metrics(tmp_path))

    for rule in _rules():
        for metric, matchers in _selectors(rule["expr"]):
            assert metric in exported, f"{rule['alert']}: {metric} is not exported"
            for label, values in matchers:
                found = {labels.get(label) for labels in exported[metric]}
                missing = set(values) - found
                assert not missing, f"{rule['alert']}: {metric}{{{label}}} never is {missing}"


# ------------------------------------------------------------------ the app's metrics


class _Answers:
    """A port whose every call gives the next outcome (an exception is raised)."""

    def __init__(self, *outcomes: object) -> None:
        self._outcomes = list(outcomes)

    async def _next(self, *_: object) -> Any:
        outcome = self._outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    initialize = verify = refund = send = get = _next


async def _exercised_metrics(tmp_path: Path) -> str:
    """/metrics, as the route renders it, after every outcome the rules watch."""
    metrics = Metrics()
    failures: list[object] = [
        PaymentProviderUnavailableError("down"),
        PaymentProviderError("refused"),
        NotFoundError("unknown reference"),
        RuntimeError("unreadable"),
    ]
    gateway = ObservedGateway(_Answers("ok", *failures), metrics)
    await _each(gateway.verify, "ref", times=5)
    for channel in ("email", "sms"):
        sender = ObservedSender(
            _Answers(
                "receipt",
                DeliveryError("busy", permanent=False),
                DeliveryError("bad address", permanent=True),
            ),
            channel,
            metrics,
        )
        await _each(sender.send, "message", times=3)
    uploaded = upload_observer(metrics)
    uploaded(0.01, True)
    uploaded(0.01, False)
    cache = observed_store(_Answers(None, CacheUnavailableError("down")), "cache", metrics)
    await _each(cache.get, "key", times=2)
    await _each(_payments_without_a_database(metrics).apply, None, times=1)
    metrics.record_backlog(1, datetime(2026, 3, 2, 9, 0, tzinfo=UTC), datetime.now(UTC))

    settings = load_settings({"DATA_DIR": str(tmp_path)})
    engine = create_engine(settings.effective_database_url)
    redis = create_redis("redis://127.0.0.1:9/0")  # nothing listens: the check fails
    try:
        response = await metrics_route.fn(
            metrics=metrics, readiness=_readiness(settings, engine, redis)
        )
    finally:
        await redis.aclose()
        await engine.dispose()
    return bytes(response.content).decode()


async def _each(call: Any, argument: object, *, times: int) -> None:
    for _ in range(times):
        try:
            await call(argument)
        except Exception:  # noqa: S112 - every outcome is recorded by the wrapper
            continue


def _payments_without_a_database(metrics: Metrics) -> ObservedPaymentResults:
    def no_database() -> Any:
        raise RuntimeError("the database is down")

    unused: Any = None  # applying a payment fails before it needs any other port
    return ObservedPaymentResults(
        metrics=metrics,
        uow=no_database,
        gateway=unused,
        inventory=unused,
        issuance=unused,
        refunds=unused,
        clock=unused,
    )


# ------------------------------------------------------------------ reading PromQL and /metrics

_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?")
_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|=|!=|!~)\s*"([^"]*)"')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"')


def _selectors(expr: str) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """Each metric an expression selects, with the label values it must find (``=``
    and the alternatives of ``=~``)."""
    text = re.sub(r"\[[^\]]*\]", "", expr)  # range durations
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    found = []
    for match in _SELECTOR.finditer(text):
        name, braces = match.group(1), match.group(2) or ""
        following = text[match.end() :].lstrip()[:1]
        if name in _NOT_METRICS or (following == "(" and not braces):
            continue  # a keyword, or a function or aggregation
        matchers = [
            (label, value.split("|") if op == "=~" else [value])
            for label, op, value in _MATCHER.findall(braces)
            if op in {"=", "=~"}
        ]
        found.append((name, matchers))
    return found


def _series(exposition: str) -> dict[str, list[dict[str, str]]]:
    series: dict[str, list[dict[str, str]]] = {}
    for line in exposition.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition("{")
        labels = dict(_LABEL.findall(rest)) if rest else {}
        series.setdefault(name.split(" ")[0], []).append(labels)
    return series
