"""The app as the server runs it: settings from the environment, resources in the lifespan.

``getiickets serve`` runs :func:`create_served_app` in each of its server processes;
``create_app_from_environment`` is the same app for any other ASGI server
(``uvicorn --factory getiickets.entrypoints.asgi:create_app_from_environment``).
Building the app does no I/O; the lifespan opens the database, Redis and HTTP
clients, starts the in-process worker when configured, and closes everything on
shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from litestar import Litestar
from litestar.types import ASGIApp

from getiickets.entrypoints.container import (
    SANDBOX_PATH,
    Container,
    running_services,
    sandbox_config,
)
from getiickets.entrypoints.http.app import create_app
from getiickets.entrypoints.logs import configure_logging
from getiickets.entrypoints.settings import (
    Settings,
    SettingsError,
    check_safe_to_serve,
    load_settings,
)
from getiickets.entrypoints.worker import Worker
from getiickets.sandbox.state import SandboxState

logger = logging.getLogger("getiickets")


def create_app_from_environment() -> Litestar:
    try:
        settings = load_settings()
        configure_logging(settings.log_level, as_json=settings.log_json)
        return build_app(settings)
    except SettingsError as error:
        # One line naming the variable and a failed exit, not the server's traceback
        # (which is all uvicorn shows for an exception from the factory).
        sys.stderr.write(f"getiickets: {error}\n")
        raise SystemExit(2) from None


def create_served_app() -> ASGIApp:
    """The app in one of ``getiickets serve``'s server processes.

    Behind a proxy the client's address is the one the proxy forwards, from the proxies
    trusted by FORWARDED_ALLOW_IPS (as uvicorn did for ``serve`` before).
    """
    _die_with_supervisor()
    settings = load_settings()
    configure_logging(settings.log_level, as_json=settings.log_json)
    app = with_proxy_headers(build_app(settings), settings.forwarded_allow_ips)
    # Everything imported and built so far lives as long as the process: out of the
    # cyclic collector's sight, its full collections no longer walk the whole
    # framework on every pass (perf: the collector was ~5% of a join in a burst).
    gc.freeze()
    return app


def with_proxy_headers(app: ASGIApp, trusted_hosts: str) -> ASGIApp:
    """granian's X-Forwarded-For/-Proto handling, for the requests that carry X-Forwarded-For.

    Without that header it changes nothing, yet it parses the client's address
    (``ipaddress``) on every request to see whether a trusted proxy sent it: ~3% of
    the API process's CPU on a kept event read (py-spy), gone for direct clients.
    """
    from granian.utils.proxies import wrap_asgi_with_proxy_headers  # noqa: PLC0415

    proxied: ASGIApp = wrap_asgi_with_proxy_headers(app, trusted_hosts=trusted_hosts)

    def served(scope: Any, receive: Any, send: Any) -> Awaitable[None]:
        for name, _ in scope.get("headers", ()):
            if name == b"x-forwarded-for":  # granian looks for this exact (lowercased) name
                return proxied(scope, receive, send)
        return app(scope, receive, send)

    return served


_PR_SET_PDEATHSIG = 1


def _die_with_supervisor() -> None:
    """A server process ends with the process that started it.

    granian's supervisor stops its server processes when it is stopped; killed
    outright (SIGKILL, the OOM killer) it cannot, and they would serve on as orphans,
    holding the port. Linux kills them with it instead: a killed server dies whole,
    as a single-process one would.
    """
    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent.pid:  # it died before the line above
        os.kill(os.getpid(), signal.SIGKILL)


def build_app(
    settings: Settings,
    *,
    configure: Callable[[Container], None] | None = None,
    sandbox_state: SandboxState | None = None,
) -> Litestar:
    """The whole product for these settings; ``configure`` lets tests override providers.

    Unsafe settings raise ``SettingsError`` here, before anything is served.
    """
    check_safe_to_serve(settings)
    extra_routes = []
    state = sandbox_state or SandboxState()
    if settings.uses_sandbox_paystack:
        # Imported only when mounted: the simulators (and uvicorn, Babel with them) have
        # no business in a process that talks to the real providers.
        from getiickets.sandbox.app import sandbox_mount  # noqa: PLC0415

        extra_routes.append(sandbox_mount(sandbox_config(settings), state, path=SANDBOX_PATH))

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with running_services(settings, configure) as services:
            app.state.services = services
            stop = asyncio.Event()
            worker_task = None
            if settings.run_worker_in_process:
                worker_task = asyncio.create_task(Worker(services).run(stop), name="worker")
            logger.info(
                "getiickets on %s (API docs at %s/schema)",
                settings.public_base_url,
                settings.public_base_url,
            )
            try:
                yield
            finally:
                stop.set()
                if worker_task is not None:
                    await worker_task
                await state.cancel_background()

    return create_app(lifespan=[lifespan], extra_routes=extra_routes)
