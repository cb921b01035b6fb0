"""Settings come from the environment with clear errors; nothing set is the embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest

from getiickets.entrypoints.settings import SettingsError, load_settings


def test_nothing_set_is_the_embedded_default() -> None:
    settings = load_settings({})

    assert settings.is_embedded
    assert settings.uses_sandbox_paystack
    assert not settings.uses_s3
    assert settings.effective_database_url == "sqlite+aiosqlite:///var/getiickets.db"
    assert settings.migration_url == settings.effective_database_url
    assert settings.reservation_ttl_seconds == 900


def test_the_seeds_names_pick_the_real_services() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://app@pooler:6543/db?pgbouncer=true&connection_limit=1",
            "DIRECT_URL": "postgresql://app@db:5432/db",
            "REDIS_URL": "redis://cache:6379/0",
            "PAYSTACK_SECRET_KEY": "sk_live_x",
            "AWS_S3_BUCKET": "tickets",
            "RESERVATION_TTL_SECONDS": "600",
            "LOG_JSON": "true",
            "DATA_DIR": "/srv/getiickets",
            "APP_BASE_URL": "https://tickets.example/",
        }
    )

    assert not settings.is_embedded
    assert not settings.uses_sandbox_paystack
    assert settings.uses_s3
    assert settings.migration_url == "postgresql://app@db:5432/db"
    assert settings.reservation_ttl_seconds == 600
    assert settings.log_json is True
    assert settings.data_dir == Path("/srv/getiickets")
    assert settings.public_base_url == "https://tickets.example"


def test_blank_values_count_as_unset() -> None:
    assert load_settings({"DATABASE_URL": "  ", "PAYSTACK_SECRET_KEY": ""}).is_embedded


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "eighty"),
        ("RESERVATION_TTL_SECONDS", "15m"),
        ("DB_POOL_TIMEOUT_SECONDS", "soon"),
        ("LOG_JSON", "maybe"),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_a_reservation_shorter_than_a_minute_is_refused() -> None:
    with pytest.raises(SettingsError, match="RESERVATION_TTL_SECONDS"):
        load_settings({"RESERVATION_TTL_SECONDS": "30"})
