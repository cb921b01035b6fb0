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
import functools
import gc
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

from litestar import Litestar
from litestar.types import ASGIApp, Receive, Scope, Send

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
    app = behind_proxies(build_app(settings), settings.forwarded_allow_ips)
    # Everything imported and built so far lives as long as the process: out of the
    # cyclic collector's sight, its full collections no longer walk the whole
    # framework on every pass (perf: the collector was ~5% of a join in a burst).
    gc.freeze()
    return app


def behind_proxies(app: ASGIApp, trusted_hosts: str) -> ASGIApp:
    """granian's ``wrap_asgi_with_proxy_headers``, deciding once per client address.

    granian's wrapper parses the client's address (``ipaddress.ip_address``) on every
    request to ask whether it is a trusted proxy: ~3% of the API process in a burst of
    joins, for the same few addresses over and over. The answer for an address never
    changes, so it is remembered (a bounded cache); the headers are read as granian
    reads them, with its own trust rules (``_Forwarders``: addresses, CIDRs, ``*``).
    """
    from granian.utils.proxies import _Forwarders  # noqa: PLC0415

    forwarders = _Forwarders(trusted_hosts)
    trusted = functools.lru_cache(maxsize=4096)(forwarders.__contains__)

    def served(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "lifespan":
            return app(scope, receive, send)
        client = scope.get("client")
        if not trusted(client[0] if client else None):
            return app(scope, receive, send)
        proto: str | None = None
        forwarded_for: list[str] = []
        for key, value in scope["headers"]:
            if key == b"x-forwarded-proto" and not proto:
                if stripped := value.decode("latin1").strip():
                    proto = stripped
                continue
            if key == b"x-forwarded-for" and (stripped := value.decode("latin1").strip()):
                forwarded_for.append(stripped)
        if forwarded_for and (host := forwarders.get_client_host(", ".join(forwarded_for))):
            scope["client"] = (host, 0)
            if proto in {"http", "https", "ws", "wss"}:
                scheme = proto.replace("http", "ws") if scope["type"] == "websocket" else proto
                scope["scheme"] = scheme
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
