"""The Litestar application: routes, dependencies, errors, OpenAPI. Built, never configured here.

``create_app`` takes services that the composition root already built, plus the
lifespan hooks that start and stop what the process owns; it builds nothing itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.types import ControllerRouterHandler

from getiickets import __doc__ as package_doc
from getiickets.entrypoints.http.bodies import CheckedRequest
from getiickets.entrypoints.http.dependencies import DEPENDENCIES
from getiickets.entrypoints.http.errors import EXCEPTION_HANDLERS
from getiickets.entrypoints.http.fast_join import answer_joins_first
from getiickets.entrypoints.http.middleware import observe_requests
from getiickets.entrypoints.http.openapi import ClosedStructSchemaPlugin, document_edge_responses
from getiickets.entrypoints.http.routes.auth import AuthController
from getiickets.entrypoints.http.routes.checkin import CheckInController
from getiickets.entrypoints.http.routes.deliveries import DeliveryReportsController
from getiickets.entrypoints.http.routes.events import EventsController
from getiickets.entrypoints.http.routes.operations import health, metrics, ready, serve_file
from getiickets.entrypoints.http.routes.orders import OrdersController, TicketsController
from getiickets.entrypoints.http.routes.payments import (
    PaymentsController,
    WebhooksController,
    payment_callback,
)
from getiickets.entrypoints.http.routes.waiting_room import (
    EventQueueController,
    QueueController,
    queue_page,
)

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 1024 * 1024
"""docs/http-api.md: JSON bodies (and the webhook) over 1 MiB are 413 ``payload_too_large``. Routes
that take more (event images) say so on their handler."""
API_VERSION = "1.0.0"

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def create_app(
    *,
    lifespan: Sequence[Lifespan] = (),
    extra_routes: Sequence[ControllerRouterHandler] = (),
    debug: bool = False,
) -> Litestar:
    """The HTTP API. A ``lifespan`` puts the ``Services`` in ``app.state.services`` before
    the first request (``entrypoints.asgi.build_app`` does)."""
    api = Router(
        path=API_PREFIX,
        route_handlers=[
            AuthController,
            EventsController,
            OrdersController,
            TicketsController,
            PaymentsController,
            WebhooksController,
            DeliveryReportsController,
            CheckInController,
            EventQueueController,
            QueueController,
        ],
    )
    app = Litestar(
        route_handlers=[
            api,
            health,
            ready,
            metrics,
            serve_file,
            payment_callback,
            queue_page,
            *extra_routes,
        ],
        middleware=[observe_requests],
        dependencies=DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        request_class=CheckedRequest,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="getiickets",
            version=API_VERSION,
            description=(package_doc or "").strip(),
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            use_handler_docstrings=True,
        ),
        lifespan=list(lifespan),
        debug=debug,
        # Our own logging is configured by the CLI; Litestar's would log every error twice.
        logging_config=None,
        plugins=[ClosedStructSchemaPlugin()],
    )
    document_edge_responses(app)
    # The rush's route: plain JSON joins are answered before routing, exactly as there.
    answer_joins_first(app)
    return app
