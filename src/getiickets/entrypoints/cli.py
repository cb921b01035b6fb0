"""The ``getiickets`` command: serve, worker, db upgrade, sandbox, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from getiickets.entrypoints.extras import missing_packages
from getiickets.entrypoints.logs import configure_logging
from getiickets.entrypoints.settings import (
    Settings,
    SettingsError,
    check_safe_to_serve,
    load_settings,
)

logger = logging.getLogger("getiickets")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    missing = missing_packages("server")
    if missing:
        print(
            f"getiickets: the app's packages are not installed ({', '.join(missing)}). "
            "`pip install getiickets` is the domain library only; to run the app: "
            "pip install 'getiickets[server]'",
            file=sys.stderr,
        )
        return 2
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"getiickets: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, as_json=settings.log_json)
    try:
        command: int = args.run(settings, args)
    except SettingsError as error:
        print(f"getiickets: {error}", file=sys.stderr)
        return 2
    return command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="getiickets", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default=None, help="default: HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: PORT or 8000")
    serve.add_argument("--workers", type=int, default=1, help="API processes (not embedded)")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="run the background worker")
    worker.set_defaults(run=_worker)

    database = commands.add_parser("db", help="database schema")
    database_commands = database.add_subparsers(required=True, metavar="ACTION")
    upgrade = database_commands.add_parser("upgrade", help="migrate to the newest schema")
    upgrade.add_argument("--revision", default="head")
    upgrade.set_defaults(run=_db_upgrade)

    sandbox = commands.add_parser("sandbox", help="run the Paystack/Brevo/Twilio simulators")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8025)
    sandbox.add_argument(
        "--webhook-url", default=None, help="where Paystack webhooks go (your app's URL)"
    )
    sandbox.set_defaults(run=_sandbox)

    demo = commands.add_parser(
        "demo", help="through the running app's API: a sample event, an order, its checkout link"
    )
    demo.add_argument("--url", help="the running app (default: APP_BASE_URL)")
    demo.set_defaults(run=_demo)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from getiickets.entrypoints.server import serve  # noqa: PLC0415 - only this command serves

    # Before any process starts: each server process checks again (create_app), but
    # only here is the number of processes known.
    check_safe_to_serve(settings, workers=args.workers)
    host = args.host or settings.host
    port = args.port or settings.port
    serve(settings, host=host, port=port, workers=args.workers)
    return 0


def _worker(settings: Settings, _: argparse.Namespace) -> int:
    from getiickets.entrypoints.container import running_services  # noqa: PLC0415
    from getiickets.entrypoints.worker import Worker  # noqa: PLC0415

    if settings.is_embedded:
        logger.error(
            "the embedded default runs its worker inside `getiickets serve`; "
            "a separate worker needs DATABASE_URL (and REDIS_URL)"
        )
        return 2
    check_safe_to_serve(settings)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with running_services(settings) as services:
            await Worker(services).run(stop)

    asyncio.run(run())
    return 0


def _db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from getiickets.adapters.sqlalchemy.migrate import upgrade  # noqa: PLC0415

    if settings.is_embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.migration_url, args.revision)
    logger.info("database at revision %s", args.revision)
    return 0


def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from getiickets.sandbox.app import SandboxConfig, run_standalone  # noqa: PLC0415

    base = f"http://{args.host}:{args.port}"
    config = SandboxConfig(public_base_url=base, paystack_webhook_url=args.webhook_url)
    logger.info("sandbox on %s (Paystack secret key: %s)", base, config.paystack_secret_key)
    run_standalone(args.port, host=args.host, config=config)
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from getiickets.entrypoints.demo import DemoError, run_demo  # noqa: PLC0415

    try:
        print(run_demo(args.url or settings.public_base_url))
    except DemoError as error:
        print(f"getiickets demo: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
