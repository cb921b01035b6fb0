"""``pip install getiickets`` without extras is the domain library another service imports.

The project is installed, without extras, into a fresh venv (the normal wheel build, the
versions from constraints.txt), and there: nothing but getiickets, msgspec and tzdata is
installed, no framework or driver can be imported, every module of the domain, the ports,
the in-memory adapters and the in-memory wiring imports, the README example runs (also on a machine without a
system time-zone database), and the ``getiickets`` command says which extra runs the app.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import service_missing

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[2]
BARE = {"getiickets", "msgspec", "tzdata"}
# What the README's second user must not be made to install.
NOT_IMPORTABLE = (
    "litestar",
    "sqlalchemy",
    "boto3",
    "twilio",
    "reportlab",
    "redis",
    "httpx",
    "babel",
    "anyio",
    "uvicorn",
)
# Imports every module the bare install promises, and says where each package came from.
IMPORT_ALL = """
import importlib, importlib.util, json, pkgutil, sys
import getiickets.adapters.memory, getiickets.domain, getiickets.ports
failed = {}
try:
    importlib.import_module("getiickets.bootstrap")
except Exception as error:
    failed["getiickets.bootstrap"] = repr(error)
for package in (getiickets.domain, getiickets.ports, getiickets.adapters.memory):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        try:
            importlib.import_module(module.name)
        except Exception as error:
            failed[module.name] = repr(error)
print(json.dumps({
    "getiickets": getiickets.domain.__file__,
    "failed": failed,
    "importable": [name for name in sys.argv[1:] if importlib.util.find_spec(name)],
}))
"""
TIMEOUT = 120


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only ``pip install getiickets`` (no pip of its own: the
    suite's pip installs into it with ``--python``, which keeps the list exact)."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    python = venv / "bin" / "python"
    install = [
        sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
        "-c", str(ROOT / "constraints.txt"), str(ROOT),
    ]  # fmt: skip
    for step, command in (
        ("python -m venv", [sys.executable, "-m", "venv", "--without-pip", str(venv)]),
        ("pip install getiickets", install),
    ):
        try:
            done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
                command, capture_output=True, text=True, timeout=TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            service_missing(step, repr(error))
        if done.returncode != 0:
            service_missing(step, f"exit {done.returncode}: {done.stderr.strip()[-2000:]}")
    return venv


def run_in(
    venv: Path, *argv: str, cwd: Path, **environment: str
) -> subprocess.CompletedProcess[str]:
    """Runs a program of the venv from outside the checkout, as another service would."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    }
    return subprocess.run(  # noqa: S603 - the venv's own programs
        [str(venv / "bin" / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=cwd,
        env=environ | environment,
    )


def test_only_msgspec_and_tzdata_come_with_it(bare_venv: Path) -> None:
    listed = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "pip", "--python", str(bare_venv / "bin" / "python"), "list",
         "--format=json"],
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    )  # fmt: skip
    assert {package["name"].lower() for package in json.loads(listed.stdout)} == BARE


def test_the_domain_ports_and_memory_adapters_import_without_any_framework(
    bare_venv: Path, tmp_path: Path
) -> None:
    done = run_in(bare_venv, "python", "-c", IMPORT_ALL, *NOT_IMPORTABLE, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert Path(found["getiickets"]).is_relative_to(bare_venv)  # not the checkout's src/
    assert found["failed"] == {}
    assert found["importable"] == []


def test_the_readme_example_runs_without_a_system_time_zone_database(
    bare_venv: Path, tmp_path: Path
) -> None:
    no_zones = tmp_path / "no-zoneinfo"
    no_zones.mkdir()
    # Event times need IANA zones: with the system's database hidden, only the tzdata
    # package can answer (as on Windows, Alpine or distroless).
    done = run_in(
        bare_venv,
        "python",
        str(ROOT / "examples" / "purchase.py"),
        cwd=tmp_path,
        PYTHONTZPATH=str(no_zones),
    )

    assert done.returncode == 0, done.stderr
    assert "'order_status': 'paid'" in done.stdout
    assert "'check_in': 'ok'" in done.stdout


def test_the_command_names_the_extra_that_runs_the_app(bare_venv: Path, tmp_path: Path) -> None:
    # `demo` at a closed port: were the app's packages there, it would end at once anyway.
    done = run_in(bare_venv, "getiickets", "demo", "--url", "http://127.0.0.1:9", cwd=tmp_path)

    assert done.returncode == 2
    assert "pip install 'getiickets[server]'" in done.stderr
    assert "litestar" in done.stderr
    assert "Traceback" not in done.stderr
