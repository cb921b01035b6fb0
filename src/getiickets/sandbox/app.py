"""The sandbox app: the Paystack, Brevo and Twilio simulators, the outbox, test controls.

Routes, relative to ``SandboxConfig.path_prefix``:

- ``/paystack/...``, ``/brevo/...``, ``/twilio/...``: the simulators.
- ``GET /outbox``: the mail and SMS the simulators accepted, as JSON, or as an HTML
  page for a browser (``Accept: text/html``).
- ``POST /_control/{provider}/fail`` ``{"count": 2, "kind": "500"}``: the provider's
  next ``count`` API calls fail that way (kinds: ``500``, ``429``, ``timeout``,
  ``malformed``, ``lost_response``).
- ``GET /_control/{provider}/received``: every request the provider received.
- ``GET /_control/{provider}/deliveries``: every webhook it sent, with each try.
- ``POST /_control/reset``: forget all of it.

The outbox and ``/_control`` can be left out (``SandboxConfig.inspection_routes``) or
kept for the holder of a bearer token (``inspection_token``): they show every message
sent and steer the simulators, which only one's own machine may leave open.

Standalone: ``run_standalone(port)`` (what ``getiickets sandbox --port N`` runs).
Inside the main app: add ``sandbox_mount(config, state)`` to its route handlers (with
``public_base_url`` set to the mounted root, e.g. ``http://127.0.0.1:8000/sandbox``), and
``state.cancel_background`` to its ``on_shutdown``; a mounted app gets no lifespan of
its own. Or forward unchanged paths to an app made with ``path_prefix="/sandbox"``.
"""

from __future__ import annotations

import hmac
import html
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Any

import msgspec
import uvicorn
from litestar import Litestar, MediaType, Request, Response, Router, asgi, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.handlers import ASGIRouteHandler, BaseRouteHandler
from litestar.params import Body, FromPath
from litestar.types import Guard, Receive, Scope, Send

from getiickets.sandbox import brevo, paystack, twilio
from getiickets.sandbox.config import SandboxConfig
from getiickets.sandbox.state import (
    Delivery,
    FaultKind,
    ProviderState,
    ReceivedRequest,
    SandboxState,
)

__all__ = ["SandboxConfig", "create_sandbox_app", "run_standalone", "sandbox_mount"]


class FailRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    count: Annotated[int, msgspec.Meta(ge=0, le=1000)]
    kind: FaultKind


def _provider(state: SandboxState, name: str) -> ProviderState:
    try:
        return state.provider(name)
    except KeyError:
        raise NotFoundException(f"no simulator called {name!r}") from None


def _received_json(entry: ReceivedRequest) -> dict[str, Any]:
    return {
        "method": entry.method,
        "path": entry.path,
        "headers": entry.headers,
        "body": entry.body.decode("utf-8", "replace"),
        "received_at": entry.received_at.isoformat(),
    }


def _delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "event": delivery.event,
        "url": delivery.url,
        "headers": delivery.headers,
        "body": delivery.body.decode("utf-8", "replace"),
        "delivered": delivery.delivered,
        "abandoned": delivery.abandoned,
        "attempts": [
            {
                "at": attempt.at.isoformat(),
                "status_code": attempt.status_code,
                "error": attempt.error,
            }
            for attempt in delivery.attempts
        ],
    }


def _outbox(state: SandboxState) -> list[dict[str, Any]]:
    """Mail (Brevo) and SMS (Twilio) the simulators accepted, in one shape, oldest first."""
    entries = [_email_entry(email) for email in brevo.accepted_emails(state)]
    entries += [_sms_entry(message) for message in twilio.sent_messages(state)]
    return sorted(entries, key=_sent_at)


def _sent_at(entry: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(entry["sent_at"])
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _email_entry(email: dict[str, Any]) -> dict[str, Any]:
    sender = email.get("sender") or {}
    recipients = email.get("to") or []
    return {
        "channel": "email",
        "provider": "brevo",
        "id": email.get("messageId"),
        "from": sender.get("email") if isinstance(sender, dict) else None,
        "to": [item.get("email") for item in recipients if isinstance(item, dict)],
        "subject": email.get("subject"),
        "text": email.get("textContent"),
        "html": email.get("htmlContent"),
        "status": "accepted",
        "sent_at": str(email.get("acceptedAt") or ""),
    }


def _sms_entry(message: dict[str, Any]) -> dict[str, Any]:
    created = message.get("date_created")
    try:
        # Twilio's dates are RFC 2822; the outbox sorts on ISO 8601.
        sent_at = parsedate_to_datetime(created).isoformat() if created else ""
    except (TypeError, ValueError):
        sent_at = str(created)
    return {
        "channel": "sms",
        "provider": "twilio",
        "id": message.get("sid"),
        "from": message.get("from") or message.get("messaging_service_sid"),
        "to": [message.get("to")],
        "subject": None,
        "text": message.get("body"),
        "html": None,
        "status": message.get("status"),
        "sent_at": sent_at,
    }


def _outbox_html(entries: list[dict[str, Any]]) -> str:
    def cell(value: object) -> str:
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value or "")
        return f"<td>{html.escape(text)}</td>"

    columns = ("sent_at", "channel", "from", "to", "subject", "status")
    rows = "".join(
        "<tr>"
        + "".join(cell(entry[key]) for key in columns)
        + f"<td><pre>{html.escape(str(entry['text'] or ''))}</pre></td></tr>"
        for entry in reversed(entries)
    )
    empty = "" if entries else "<p>Nothing sent yet.</p>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Sandbox outbox</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.4rem;vertical-align:top;text-align:left}"
        "pre{white-space:pre-wrap;margin:0;max-width:40rem}"
        "</style></head><body><h1>Sandbox outbox</h1>"
        "<p>Mail and SMS that the sandbox accepted instead of sending, newest first.</p>"
        f"{empty}<table><thead><tr><th>Sent</th><th>Channel</th><th>From</th><th>To</th>"
        "<th>Subject</th><th>Status</th><th>Text</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></body></html>"
    )


def _control_router(state: SandboxState) -> Router:
    @post("/{provider:str}/fail", status_code=200, operation_id="sandboxPlanFaults")
    async def plan_faults(
        provider: FromPath[str], data: Annotated[FailRequest, Body()]
    ) -> dict[str, Any]:
        simulator = _provider(state, provider)
        with state.lock:
            simulator.fail_next(data.count, data.kind)
        return {"provider": provider, "count": data.count, "kind": str(data.kind)}

    @get("/{provider:str}/received", operation_id="sandboxReceived")
    async def received(provider: FromPath[str]) -> list[dict[str, Any]]:
        simulator = _provider(state, provider)
        with state.lock:
            return [_received_json(entry) for entry in simulator.received]

    @get("/{provider:str}/deliveries", operation_id="sandboxDeliveries")
    async def deliveries(provider: FromPath[str]) -> list[dict[str, Any]]:
        simulator = _provider(state, provider)
        with state.lock:
            return [_delivery_json(delivery) for delivery in simulator.deliveries]

    @post("/reset", status_code=204, operation_id="sandboxReset")
    async def reset() -> None:
        await state.cancel_background()
        state.reset()

    return Router(path="/_control", route_handlers=[plan_faults, received, deliveries, reset])


def _outbox_handler(state: SandboxState) -> Any:
    @get("/outbox", operation_id="sandboxOutbox")
    async def outbox(request: Request[Any, Any, Any]) -> Response[Any]:
        entries = _outbox(state)
        if request.accept.best_match(["application/json", "text/html"]) == "text/html":
            return Response(content=_outbox_html(entries), media_type=MediaType.HTML)
        return Response(content=entries)

    return outbox


def _bearer_guard(token: str) -> Guard:
    expected = token.encode()

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        scheme, _sep, given = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise NotAuthorizedException("send Authorization: Bearer <SANDBOX_OUTBOX_TOKEN>")

    return guard


def _simulator_routers(state: SandboxState, config: SandboxConfig) -> list[Router]:
    return [
        paystack.create_router(state, config),
        brevo.create_router(state, config),
        twilio.create_router(state, config),
    ]


def create_sandbox_app(
    config: SandboxConfig | None = None, state: SandboxState | None = None
) -> Litestar:
    """The simulators as one ASGI app. Pass ``state`` to watch or steer it from a test."""
    config = config or SandboxConfig()
    state = state or SandboxState()
    inspection = Router(
        path="/",
        route_handlers=[_outbox_handler(state), _control_router(state)],
        guards=[_bearer_guard(config.inspection_token)] if config.inspection_token else [],
    )
    root = Router(
        path=config.path_prefix or "/",
        route_handlers=[
            *_simulator_routers(state, config),
            *([inspection] if config.inspection_routes else []),
        ],
    )
    app = Litestar(
        route_handlers=[root],
        openapi_config=None,
        on_shutdown=[state.cancel_background],
        # Logging belongs to the process (the host app's, or uvicorn's standalone):
        # Litestar's default would replace the host's handlers and formats.
        logging_config=None,
    )
    app.state["sandbox"] = state
    return app


def sandbox_mount(
    config: SandboxConfig | None = None,
    state: SandboxState | None = None,
    path: str = "/sandbox",
) -> ASGIRouteHandler:
    """The sandbox as a route handler of another Litestar app, answering under ``path``."""
    sandbox = create_sandbox_app(config, state)

    # A copy of the scope: the host app's routing data must not leak into the sandbox's.
    @asgi(path, is_mount=True, copy_scope=True, include_in_schema=False)
    async def mounted_sandbox(scope: Scope, receive: Receive, send: Send) -> None:
        await sandbox(scope, receive, send)

    return mounted_sandbox


def run_standalone(port: int, host: str = "127.0.0.1", config: SandboxConfig | None = None) -> None:
    """Serve the sandbox on ``host:port`` until interrupted."""
    if config is None:
        # A wildcard bind address is no address for a browser to open.
        public_host = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
        config = SandboxConfig(public_base_url=f"http://{public_host}:{port}")
    uvicorn.run(create_sandbox_app(config), host=host, port=port)
