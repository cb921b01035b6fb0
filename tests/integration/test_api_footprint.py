"""An API process keeps resident only what it uses.

Each API process holds the whole app, and peaks at its idle size plus one Argon2id hash
(64 MiB): what it imports and never calls is memory lost in every process. Ticket
drawing (reportlab, zxing-cpp, Pillow), message wording (Babel), the SMS SDK (twilio's
client, requests) are the worker's; Pillow also checks an uploaded event image; boto3
only serves a deployment whose files are in S3; the provider sandbox only one that
uses it. Each is imported by the first call that needs it.

Checked in a fresh interpreter, as ``getiickets serve`` builds its app and services
(building does no I/O: nothing needs to be listening).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NOT_IN_AN_API_PROCESS = (
    "reportlab",
    "zxingcpp",
    "PIL",
    "babel",
    "twilio.rest",
    "requests",
    "boto3",
    "botocore",
    "uvicorn",
    "getiickets.sandbox.app",
)
BUILD_THE_API = """
import asyncio, json, sys
from getiickets.entrypoints.asgi import build_app
from getiickets.entrypoints.container import running_services
from getiickets.entrypoints.settings import load_settings

WATCHED = sys.argv[1:]


def loaded():
    return [name for name in WATCHED if name in sys.modules]


async def main():
    settings = load_settings()
    build_app(settings)
    async with running_services(settings):
        built = loaded()
    # The same watch sees them once a ticket is drawn.
    from getiickets.adapters.rendering import QrcodeReportlabRenderer

    await QrcodeReportlabRenderer().qr_png("GT1.footprint")
    print(json.dumps({"built": built, "after_drawing": loaded()}))


asyncio.run(main())
"""


def test_building_the_api_imports_none_of_the_workers_libraries(tmp_path: Path) -> None:
    # A production-shaped server: PostgreSQL, Redis, real Paystack, files on disk.
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql+asyncpg://getiickets@127.0.0.1:9/getiickets",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "TICKET_SIGNING_KEY": "a" * 64,
        "APP_BASE_URL": "https://tickets.example",
        "PAYSTACK_SECRET_KEY": "sk_live_footprint",
        "RUN_WORKER_IN_PROCESS": "false",
        "DATA_DIR": str(tmp_path),
    }
    for name in ("AWS_S3_BUCKET", "SANDBOX", "TWILIO_ACCOUNT_SID", "PAYSTACK_BASE_URL"):
        env.pop(name, None)
    result = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", BUILD_THE_API, *NOT_IN_AN_API_PROCESS],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.splitlines()[-1])

    assert outcome["built"] == []
    assert {"reportlab", "zxingcpp", "PIL"} <= set(outcome["after_drawing"])
