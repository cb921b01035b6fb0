"""The OpenAPI document at /schema/openapi.json is the contract clients generate code
from: the server must answer exactly as it says.

schemathesis generates requests from the document (its examples, a coverage pass over
every field's edges, then random ones) against the app served as in tests/e2e,
signed in as an organizer so the protected routes are reached too. The checks are the
ones about the document and the server agreeing: no 5xx, every status, content type,
header and body declared, and 405 with ``Allow`` for a method a path does not take.
Not checked: that every schema-valid body is accepted, because the domain's rules
(an email that really is one, a sales window that is open) go beyond a JSON schema.

Bounded (a fixed seed, few examples per operation, two workers) so it stays under
about two minutes on a 2-core CI machine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.story import Api, LiveApp

pytestmark = pytest.mark.e2e

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
)
MAX_EXAMPLES = 10
SEED = 20261201
RUN_TIMEOUT_SECONDS = 240


def openapi(app: LiveApp) -> dict[str, Any]:
    with httpx.Client(base_url=app.base_url) as client:
        document: dict[str, Any] = client.get("/schema/openapi.json").raise_for_status().json()
    return document


def test_request_bodies_declare_that_unknown_fields_are_refused(app_server: LiveApp) -> None:
    document = openapi(app_server)
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                name = media["schema"]["$ref"].rsplit("/", 1)[-1]
                assert schemas[name].get("additionalProperties") is False, (method, path, name)


def test_no_content_responses_declare_no_body(app_server: LiveApp) -> None:
    for path, item in openapi(app_server)["paths"].items():
        for method, operation in item.items():
            for status in ("204", "304"):
                if status in operation["responses"]:
                    assert "content" not in operation["responses"][status], (method, path)


def test_a_method_a_path_does_not_take_is_405_with_allow(api: Api) -> None:
    response = api.call("DELETE", "/api/v1/auth/login")
    assert response.status_code == 405, response.text
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert "POST" in allowed, response.headers
    assert "DELETE" not in allowed, response.headers
    assert response.json()["code"] == "method_not_allowed"


def schemathesis_run(app: LiveApp, workdir: Path, *options: str) -> None:
    """Run schemathesis's CLI in ``workdir``, where it keeps its caches and crash files."""
    command = [
        *(sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"),
        *("run", f"{app.base_url}/schema/openapi.json"),
        *("--checks", ",".join(CHECKS)),
        *("--phases", "examples,coverage,fuzzing"),
        *("--max-examples", str(MAX_EXAMPLES)),
        *("--seed", str(SEED)),
        "--generation-deterministic",
        *("--workers", "2"),
        "--no-color",
        *options,
    ]
    run = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        command,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
        cwd=workdir,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-25_000:]


def test_the_server_answers_strangers_as_its_openapi_document_says(
    app_server: LiveApp, tmp_path: Path
) -> None:
    schemathesis_run(app_server, tmp_path)


def test_the_server_answers_an_organizer_as_its_openapi_document_says(
    api: Api, app_server: LiveApp, tmp_path: Path
) -> None:
    organizer = api.register("organizer")
    # Logging out would end the session the rest of the run signs in with.
    schemathesis_run(
        app_server,
        tmp_path,
        *("--header", f"Authorization: Bearer {organizer.token}"),
        *("--exclude-operation-id", "logout"),
    )
