"""``python -m bench``: every scenario, the machine's limits beside them, one table."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import limits, scenarios
from bench.services import ensure_services, redis_prefix, temporary_database
from bench.wrk import LoadResult

RESULTS = Path("bench/results")
PRETIX_ORDERS_PER_SECOND = 13.9
"""pretix 2026.8.0 on this machine class (PostgreSQL, 2 gunicorn workers, REST orders)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--quick", action="store_true", help="a short smoke run (2 s, small counts)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        default=None,
        metavar="PART[,PART]",
        help=f"run only these scenarios (of {', '.join(PARTS)}) beside the limits, "
        "and write them to --output (default bench/results/partial.json)",
    )
    args = parser.parse_args(argv)
    if args.only is not None:
        unknown = args.only - set(PARTS)
        if unknown:
            parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
        if args.output == RESULTS / "latest.json":
            args.output = RESULTS / "partial.json"
        return partial(args)
    seconds = 2.0 if args.quick else args.seconds
    webhooks = 200 if args.quick else 1000
    seats, attempts = (100, 400) if args.quick else (500, 2000)
    rendered = 50 if args.quick else 300
    joins, follow_seconds = (1000, 10.0) if args.quick else (10_000, 40.0)

    os.environ.setdefault("BENCH_LOG_DIR", str(RESULTS / "logs"))
    started = time.monotonic()
    ensure_services()
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {"seconds": seconds, "connections": args.connections},
    }
    say("machine limits: C (bare Litestar, constant JSON)")
    ceiling = limits.ceiling(seconds, args.connections)
    with temporary_database("kernels") as dsn, redis_prefix("kernels") as prefix:
        say("machine limits: K1 and Kb (order kernels)")
        kernels = limits.order_kernels(dsn, prefix, seconds, args.connections)
    c = max(result.per_second for result in ceiling.values())
    k1 = kernels["K1"].per_second
    kb = kernels["Kb"].per_second
    report["limits"] = {
        "C": {name: result.as_json() for name, result in ceiling.items()},
        "C_requests_per_second": round(c, 1),
        "K1": kernels["K1"].as_json(),
        "Kb": kernels["Kb"].as_json(),
    }
    with temporary_database("app") as dsn, redis_prefix("app") as prefix:
        say("getiickets: event list, event detail, orders, webhooks (1 API process, 1 worker)")
        single = scenarios.single_process(dsn, prefix, seconds, args.connections, webhooks)
    with temporary_database("sellout") as dsn, redis_prefix("sellout") as prefix:
        say(
            f"getiickets: sell-out, {attempts} attempts on {seats} seats (2 API processes, 2 workers)"
        )
        sellout = scenarios.sell_out(dsn, prefix, seats, attempts, args.connections)
    with temporary_database("queue") as dsn, redis_prefix("queue") as prefix:
        say(
            f"getiickets: waiting room, {joins} joins in a burst, then {follow_seconds:.0f} s "
            "of waiting pages and orders (1 API process, 1 worker)"
        )
        queue = scenarios.queue(dsn, prefix, joins, follow_seconds, args.connections)
    queue["joins"]["ratio_to_C"] = _ratio(queue["joins"]["requests_per_second"], c)
    say("ticket rendering (QR PNG + PDF, one process)")
    render = scenarios.rendering(rendered)

    report["scenarios"] = {
        "event_list": _scenario(single["event_list"], c=c),
        "event_detail": _scenario(single["event_detail"], c=c),
        "orders": _scenario(single["orders"], k1=k1, kb=kb),
        "webhook_payments": {
            **single["webhooks"],
            "ratio_to_K1": _ratio(single["webhooks"]["paid_per_second"], k1),
        },
        "sell_out": sellout,
        "queue": queue,
        "rendering": render,
        "peak_rss_mb_per_api_process": single["peak_rss_mb"],
        "peak_rss_mb_by_process": single["peak_rss_mb_by_process"],
    }
    report["pretix_orders_per_second"] = PRETIX_ORDERS_PER_SECOND
    report["took_seconds"] = round(time.monotonic() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\nwritten to {args.output} in {report['took_seconds']} s")
    return 0 if sellout["ok"] else 1


PARTS = (*scenarios.SINGLE_PROCESS_PARTS, "sell_out", "queue", "rendering")


def partial(args: argparse.Namespace) -> int:
    """``--only``: the named scenarios and the limits they are measured against, for
    working on one of them; the full table comes from a run without ``--only``."""
    seconds = 2.0 if args.quick else args.seconds
    os.environ.setdefault("BENCH_LOG_DIR", str(RESULTS / "logs"))
    started = time.monotonic()
    ensure_services()
    report: dict[str, Any] = {"only": sorted(args.only), "limits": {}, "scenarios": {}}
    s = report["scenarios"]
    say("machine limits: C (bare Litestar, constant JSON)")
    ceiling = limits.ceiling(seconds, args.connections)
    c = max(result.per_second for result in ceiling.values())
    report["limits"]["C"] = {name: result.as_json() for name, result in ceiling.items()}
    k1 = kb = 0.0
    if args.only & {"orders", "webhooks"}:
        with temporary_database("kernels") as dsn, redis_prefix("kernels") as prefix:
            say("machine limits: K1 and Kb (order kernels)")
            kernels = limits.order_kernels(dsn, prefix, seconds, args.connections)
        k1, kb = kernels["K1"].per_second, kernels["Kb"].per_second
        report["limits"]["K1"] = kernels["K1"].as_json()
        report["limits"]["Kb"] = kernels["Kb"].as_json()
    single_parts = [part for part in scenarios.SINGLE_PROCESS_PARTS if part in args.only]
    if single_parts:
        with temporary_database("app") as dsn, redis_prefix("app") as prefix:
            say(f"getiickets: {', '.join(single_parts)} (1 API process, 1 worker)")
            single = scenarios.single_process(
                dsn,
                prefix,
                seconds,
                args.connections,
                200 if args.quick else 1000,
                parts=single_parts,
            )
        for part in ("event_list", "event_detail"):
            if part in single:
                s[part] = _scenario(single[part], c=c)
        if "orders" in single:
            s["orders"] = _scenario(single["orders"], k1=k1, kb=kb)
        if "webhooks" in single:
            s["webhook_payments"] = {
                **single["webhooks"],
                "ratio_to_K1": _ratio(single["webhooks"]["paid_per_second"], k1),
            }
        s["peak_rss_mb_per_api_process"] = single["peak_rss_mb"]
        s["peak_rss_mb_by_process"] = single["peak_rss_mb_by_process"]
    if "sell_out" in args.only:
        seats, attempts = (100, 400) if args.quick else (500, 2000)
        with temporary_database("sellout") as dsn, redis_prefix("sellout") as prefix:
            s["sell_out"] = scenarios.sell_out(dsn, prefix, seats, attempts, args.connections)
    if "queue" in args.only:
        joins, follow_seconds = (1000, 10.0) if args.quick else (10_000, 40.0)
        with temporary_database("queue") as dsn, redis_prefix("queue") as prefix:
            s["queue"] = scenarios.queue(dsn, prefix, joins, follow_seconds, args.connections)
        s["queue"]["joins"]["ratio_to_C"] = _ratio(s["queue"]["joins"]["requests_per_second"], c)
    if "rendering" in args.only:
        s["rendering"] = scenarios.rendering(50 if args.quick else 300)
    report["took_seconds"] = round(time.monotonic() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["scenarios"], indent=2))
    print(f"C = {c:.0f} req/s, K1 = {k1:.0f}, Kb = {kb:.0f}; written to {args.output}")
    return 0


def _scenario(result: LoadResult, **limits_: float) -> dict[str, Any]:
    data = result.as_json()
    for name, value in limits_.items():
        data[f"ratio_to_{name.upper() if name != 'kb' else 'Kb'}"] = _ratio(
            result.per_second, value
        )
    return data


def _ratio(value: float, limit: float) -> float:
    return round(value / limit, 3) if limit else 0.0


def table(report: dict[str, Any]) -> str:
    limits_ = report["limits"]
    s = report["scenarios"]
    rows = [("scenario", "req/s", "p50 ms", "p99 ms", "statuses", "vs limits")]
    for name, data in limits_["C"].items():
        rows.append((f"C: bare Litestar on {name}", *_cells(data), ""))
    rows.append(("K1: one-commit order kernel", *_cells(limits_["K1"]), ""))
    rows.append(("Kb: group-commit order kernel", *_cells(limits_["Kb"]), ""))
    rows.append(
        ("GET /events (cached)", *_cells(s["event_list"]), f"{s['event_list']['ratio_to_C']} x C")
    )
    rows.append(
        ("GET /events/{id}", *_cells(s["event_detail"]), f"{s['event_detail']['ratio_to_C']} x C")
    )
    rows.append(
        (
            "POST /orders (one hot type)",
            *_cells(s["orders"]),
            f"{s['orders']['ratio_to_Kb']} x Kb, {s['orders']['ratio_to_K1']} x K1",
        )
    )
    w = s["webhook_payments"]
    rows.append(
        (
            "paid orders from webhooks",
            f"{w['paid_per_second']}",
            "",
            "",
            f"{w['paid']}/{w['orders']} paid",
            f"{w['ratio_to_K1']} x K1",
        )
    )
    so = s["sell_out"]
    rows.append(
        (
            f"sell-out {so['attempts']} on {so['seats']} (2+2 procs)",
            f"{so['orders_per_second']}",
            "",
            "",
            _statuses(so["statuses"]),
            f"held {so['seats_held_in_database']}, back to {so['available_after_expiry']}",
        )
    )
    q = s["queue"]
    rows.append(
        (
            f"queue: {q['joins']['sent']} joins in a burst",
            *_cells(q["joins"]),
            f"{q['joins']['ratio_to_C']} x C",
        )
    )
    rows.append(
        (
            "queue: polls at the page's rate",
            *_cells(q["polls"]),
            f"left late p99 {q['polls']['late_p99_ms']:.0f} ms",
        )
    )
    rows.append(
        (
            "queue: orders behind the door",
            *_cells(q["orders"]),
            f"admitted {q['admit_per_minute_measured']:.0f}/min (set "
            f"{q['admit_per_minute_set']}), tau {q['kendall_tau_join_vs_admission']}",
        )
    )
    r = s["rendering"]
    rows.append(
        ("ticket rendering (QR + PDF)", f"{r['tickets_per_second']}", "", "", "", "per process")
    )
    rows.append(
        ("peak RSS per API process", f"{s['peak_rss_mb_per_api_process']} MB", "", "", "", "")
    )
    rows.append(
        (
            "pretix 2026.8.0, REST orders",
            f"{report['pretix_orders_per_second']}",
            "",
            "2660",
            "",
            "same machine class",
        )
    )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append(
            " | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        )
        if index == 0:
            lines.append("-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def _cells(data: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        f"{data['requests_per_second']:.0f}",
        f"{data['p50_ms']:.1f}",
        f"{data['p99_ms']:.1f}",
        _statuses(data["statuses"])
        + (f" +{data['socket_errors']} socket errors" if data.get("socket_errors") else ""),
    )


def _statuses(statuses: dict[str, int]) -> str:
    return ", ".join(f"{count} x {status}" for status, count in statuses.items())


def say(text: str) -> None:
    print(f"==> {text}", file=sys.stderr, flush=True)
