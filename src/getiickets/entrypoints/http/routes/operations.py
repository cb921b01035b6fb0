"""/health, /ready, /metrics, and the signed-link route for locally stored files."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, SkipValidation

from getiickets.domain.model.errors import NotFoundError
from getiickets.entrypoints.http.schemas import HealthOut, ReadyOut
from getiickets.entrypoints.metrics import Metrics
from getiickets.entrypoints.services import Readiness, ServedFiles

READY_CHECK_TIMEOUT = 2.0


@get("/health", operation_id="health", tags=["operations"])
async def health() -> HealthOut:
    return HealthOut(status="ok")


@get("/ready", operation_id="ready", tags=["operations"])
async def ready(readiness: NamedDependency[Readiness]) -> Response[ReadyOut]:
    results = await _checked(readiness)
    checks = {name: "ok" if ok else "error" for name, ok in results.items()}
    healthy = all(results.values())
    return Response(
        ReadyOut(status="ok" if healthy else "error", checks=checks),
        status_code=200 if healthy else 503,
    )


async def _checked(readiness: Readiness) -> dict[str, bool]:
    names = list(readiness)
    results = await asyncio.gather(*(_check(readiness[name]) for name in names))
    return dict(zip(names, results, strict=True))


async def _check(check: Any) -> bool:
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT):
            return bool(await check())
    except Exception:
        return False


@get("/metrics", operation_id="metrics", tags=["operations"], include_in_schema=False)
async def metrics(
    metrics: NamedDependency[Metrics], readiness: NamedDependency[Readiness]
) -> Response[bytes]:
    # Checked at each scrape, so that an alert sees a dependency down even when no
    # request happens to need it.
    for name, ok in (await _checked(readiness)).items():
        metrics.dependency_up.labels(dependency=name).set(1 if ok else 0)
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


@get("/files/{key:path}", operation_id="getFile", tags=["operations"], include_in_schema=False)
async def serve_file(
    request: Request[Any, Any, Any],
    key: FromPath[str],
    served_files: NamedDependency[SkipValidation[ServedFiles | None]],
    expires: FromQuery[int] = 0,
    signature: FromQuery[str] = "",
) -> Response[bytes]:
    """Serve a locally stored file to whoever holds an unexpired signed link."""
    files = served_files
    key = key.lstrip("/")
    if files is None or not files.check_signature(key, expires, signature):
        raise NotFoundError("no such file, or the link has expired")
    data, content_type = await files.open_for_serving(key)
    return Response(
        data,
        media_type=content_type,
        headers={"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"},
    )
