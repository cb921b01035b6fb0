"""Recording requests and showing planned faults, one way for every simulator.

Each simulator records every request it receives, and a call to its API may show the
next fault planned with ``ProviderState.fail_next``: an answer of its own instead of
the real one (500, 429, a 200 that is not the documented JSON, or a timeout: the
request held past any client's patience, then a gateway's answer), or a lost response
(the call takes effect, its real answer is held past the client's patience). What a
fault answer looks like is the simulator's; when and how it is given is here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from litestar import Request

from getiickets.sandbox.state import FaultKind, ProviderState, SandboxState

if TYPE_CHECKING:
    from getiickets.sandbox.config import SandboxConfig

Answer = TypeVar("Answer")

FaultAnswers = Mapping[FaultKind, Callable[[], Answer]]
"""A simulator's answer for each fault that replaces its real answer: SERVER_ERROR,
RATE_LIMITED, TIMEOUT (given once the request was held) and MALFORMED."""


def received(
    state: SandboxState,
    provider: ProviderState,
    *,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    faulty: bool = True,
) -> FaultKind | None:
    """Record a request; the fault it must show (``faulty=False``: never one)."""
    with state.lock:
        provider.record(method, path, headers, body)
        return provider.take_fault() if faulty else None


def request_received(
    state: SandboxState,
    provider: ProviderState,
    request: Request[Any, Any, Any],
    body: bytes,
    *,
    faulty: bool = True,
) -> FaultKind | None:
    """``received`` for a route handler's request (its path without the query)."""
    return received(
        state,
        provider,
        method=request.method,
        path=request.url.path,
        headers=dict(request.headers),
        body=body,
        faulty=faulty,
    )


async def fault_answer(
    fault: FaultKind | None, answers: FaultAnswers[Answer], config: SandboxConfig
) -> Answer | None:
    """The answer that replaces the real one; None when the request runs (no fault, or a
    lost response: see ``hold_lost_answer``)."""
    if fault is None or fault is FaultKind.LOST_RESPONSE:
        return None
    if fault is FaultKind.TIMEOUT:
        # Held past the client's patience; the request itself never runs.
        await anyio.sleep(config.fault_delay_seconds)
    return answers[fault]()


async def hold_lost_answer(fault: FaultKind | None, config: SandboxConfig) -> None:
    """Once the request has run: a lost response keeps its answer until the client gave
    up, so the effect happens and the client never hears of it."""
    if fault is FaultKind.LOST_RESPONSE:
        await anyio.sleep(config.fault_delay_seconds)
