"""The app as the server runs it: settings from the environment, resources in the lifespan.

``uvicorn --factory getiickets.entrypoints.asgi:create_app_from_environment`` (what
``getiickets serve`` runs). Building the app does no I/O; the lifespan opens the
database, Redis and HTTP clients, starts the in-process worker when configured, and
closes everything on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable

from litestar import Litestar

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
from getiickets.sandbox.app import sandbox_mount
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
