"""The HTTP server ``getiickets serve`` runs: granian, with uvloop as each process's loop.

Why granian: on the 2-core bench machine, bare Litestar returning constant JSON serves
~29,000 req/s on granian and ~18,000 on uvicorn with uvloop and httptools (uvicorn's
default, h11 on the plain asyncio loop, ~3,200 on a busier day); granian parses HTTP
and writes responses in Rust threads, so the one Python thread per process keeps
its time for the app. ``make bench`` measures both again in every run.

A granian process supervises ``workers`` server processes; each builds the app
itself (:func:`getiickets.entrypoints.asgi.create_served_app`) and runs its lifespan,
so the embedded default's in-process worker runs in its one server process.
"""

from __future__ import annotations

from getiickets.entrypoints.settings import Settings

SERVED_APP = "getiickets.entrypoints.asgi:create_served_app"

_LOGGERS = {
    # granian logs through "_granian" (its Rust side too) to its own stdout handler;
    # sending it to the root handler instead gives its lines our format, request ids
    # and redaction. Its own access log stays off: ours is written by the middleware.
    "loggers": {
        "_granian": {"handlers": [], "propagate": True},
        "granian.access": {"handlers": [], "propagate": True},
    }
}


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve until SIGINT or SIGTERM; returns once every server process has stopped."""
    from granian.constants import HTTPModes, Interfaces, Loops  # noqa: PLC0415
    from granian.log import LogLevels  # noqa: PLC0415
    from granian.server import Server  # noqa: PLC0415

    level = settings.log_level.lower()
    Server(
        SERVED_APP,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        log_enabled=True,
        log_level=LogLevels(level) if level in set(LogLevels) else LogLevels.info,
        log_dictconfig=_LOGGERS,
        log_access=False,
    ).serve()
