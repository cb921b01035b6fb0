"""The OpenAPI document says what the server does, including what the edge does.

Two things Litestar's generator cannot know on its own:

- our request structs refuse unknown fields (``forbid_unknown_fields``), so their
  schemas say ``additionalProperties: false``, or clients and schema-driven tools take
  any extra field to be allowed;
- some answers come from the app's plumbing rather than from a handler: a JSON body
  can be malformed (400), too large (413) or not fit its schema (422); a control
  character in any query is 422 and in a path 404 (middleware); a route that reads the
  caller's credentials answers 401 to a token that is no longer valid. Each route gets
  those documented here, once, instead of in every decorator.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import Reference, Schema
from litestar.routes import HTTPRoute

from getiickets.entrypoints.http.errors import documented

BODY_ERRORS = (400, 413, 422)
QUERY_ERRORS = (422,)
PATH_ERRORS = (404,)
CREDENTIAL_ERRORS = (401,)
CREDENTIALS_PARAMETER = "actor"
"""The dependency that reads a bearer token or session cookie (401 when it is stale)."""


class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """Litestar's struct schemas, plus ``additionalProperties: false`` where msgspec
    refuses unknown fields. Registered as an app plugin, it comes before the built-in one."""

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if isinstance(info, msgspec.inspect.StructType) and info.forbid_unknown_fields:
            target = (
                schema_creator.schema_registry.from_reference(schema).schema
                if isinstance(schema, Reference)
                else schema
            )
            target.additional_properties = False
        return schema


def document_edge_responses(app: Litestar) -> None:
    """Add the plumbing's answers to every API operation that can give them."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.include_in_schema is False:
                continue
            _document(handler, has_path_parameters="{" in route.path_format)


def _document(handler: HTTPRouteHandler, *, has_path_parameters: bool) -> None:
    parameters = handler.parsed_fn_signature.parameters
    statuses = set(QUERY_ERRORS)
    if "data" in parameters:
        statuses.update(BODY_ERRORS)
    if has_path_parameters:
        statuses.update(PATH_ERRORS)
    if CREDENTIALS_PARAMETER in parameters:
        statuses.update(CREDENTIAL_ERRORS)
    declared = dict(handler.responses or {})
    missing = sorted(status for status in statuses if status not in declared)
    handler.responses = {**declared, **documented(*missing)}
