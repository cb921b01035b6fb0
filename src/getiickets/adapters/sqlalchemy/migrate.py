"""Schema migrations, run from code (``getiickets db upgrade``), no alembic.ini needed.

The migration scripts ship inside the package (``migrations/``), so an installed
getiickets can migrate its database with nothing else on disk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration for our migrations; ``url`` is where ``upgrade`` connects."""
    config = Config()
    # Config options are interpolated, so a literal % in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    # Kept out of the options on purpose: a password may hold characters
    # configparser would interpolate, and attributes are never logged.
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``. Synchronous: call it from sync code,
    or ``await asyncio.to_thread(upgrade, url)`` from async code."""
    _refuse_running_loop()
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Step the database at ``url`` back to ``revision`` (``"base"``: drop everything)."""
    _refuse_running_loop()
    command.downgrade(alembic_config(url), revision)


def _refuse_running_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop in this thread: the migration can run its own
    raise RuntimeError(
        "migrations run their own event loop: call upgrade() from sync code, "
        "or `await asyncio.to_thread(upgrade, url)`"
    )
