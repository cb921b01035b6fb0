"""Settings come from the environment with clear errors; nothing set is the embedded default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from getiickets.entrypoints.settings import (
    Settings,
    SettingsError,
    check_safe_to_serve,
    load_settings,
)


def test_nothing_set_is_the_embedded_default() -> None:
    settings = load_settings({})

    assert settings.is_embedded
    assert settings.uses_sandbox_paystack
    assert not settings.uses_s3
    assert settings.effective_database_url == "sqlite+aiosqlite:///var/getiickets.db"
    assert settings.migration_url == settings.effective_database_url
    assert settings.reservation_ttl_seconds == 900


def test_the_provider_variables_pick_the_real_services() -> None:
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


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "0"),
        ("PORT", "70000"),
        ("DB_POOL_TIMEOUT_SECONDS", "0"),
        ("DB_STATEMENT_TIMEOUT_MS", "0"),
        ("QUEUE_JOINS_PER_CLIENT_PER_MINUTE", "0"),
    ],
)
def test_a_value_out_of_its_range_is_refused_naming_variable_and_value(
    name: str, value: str
) -> None:
    with pytest.raises(SettingsError, match=rf"^{name} must be .*, got '{value}'$"):
        load_settings({name: value})


def test_the_refusal_names_the_value_as_given() -> None:
    with pytest.raises(SettingsError, match=r"^PORT must be a whole number, got 'eighty'$"):
        load_settings({"PORT": " eighty "})


@pytest.mark.parametrize(
    ("value", "expected"), [("on", True), ("OFF", False), ("1", True), ("No", False)]
)
def test_booleans_take_the_usual_spellings(value: str, expected: bool) -> None:
    assert load_settings({"LOG_JSON": value}).log_json is expected


def test_a_reservation_shorter_than_a_minute_is_refused() -> None:
    with pytest.raises(SettingsError, match="RESERVATION_TTL_SECONDS"):
        load_settings({"RESERVATION_TTL_SECONDS": "30"})


# ------------------------------------------------------------- safe to serve

SERVER = {
    "DATABASE_URL": "postgresql://app@db:5432/db",
    "REDIS_URL": "redis://cache:6379/0",
    "TICKET_SIGNING_KEY": "a-long-random-secret",
    "PAYSTACK_SECRET_KEY": "sk_live_x",
}


def test_a_complete_server_configuration_is_safe_to_serve_on_many_processes() -> None:
    settings = load_settings(SERVER)

    check_safe_to_serve(settings, workers=4)

    assert not settings.uses_sandbox_paystack


def test_the_embedded_default_is_safe_to_serve_on_one_process_with_the_sandbox() -> None:
    settings = load_settings({})

    check_safe_to_serve(settings)

    assert settings.uses_sandbox_paystack


def test_a_server_without_a_paystack_key_is_refused_unless_the_sandbox_is_asked_for() -> None:
    settings = load_settings(SERVER | {"PAYSTACK_SECRET_KEY": ""})

    with pytest.raises(SettingsError, match=r"PAYSTACK_SECRET_KEY.*SANDBOX=true") as refused:
        check_safe_to_serve(settings)

    assert "\n" not in str(refused.value)


def test_sandbox_true_on_a_server_sends_payments_to_the_simulator() -> None:
    settings = load_settings(SERVER | {"PAYSTACK_SECRET_KEY": "", "SANDBOX": "true"})

    check_safe_to_serve(settings)

    assert settings.sandbox
    assert settings.uses_sandbox_paystack


def test_sandbox_and_a_real_paystack_key_together_are_refused() -> None:
    settings = load_settings(SERVER | {"SANDBOX": "true"})

    with pytest.raises(SettingsError, match=r"SANDBOX.*PAYSTACK_SECRET_KEY"):
        check_safe_to_serve(settings)


def test_a_server_without_a_ticket_signing_key_is_refused() -> None:
    settings = load_settings(SERVER | {"TICKET_SIGNING_KEY": ""})

    with pytest.raises(SettingsError, match="TICKET_SIGNING_KEY"):
        check_safe_to_serve(settings)


def test_several_processes_without_redis_are_refused() -> None:
    settings = load_settings(SERVER | {"REDIS_URL": ""})

    check_safe_to_serve(settings, workers=1)
    with pytest.raises(SettingsError, match=r"--workers 2.*REDIS_URL"):
        check_safe_to_serve(settings, workers=2)


def test_several_processes_of_the_embedded_default_are_refused() -> None:
    with pytest.raises(SettingsError, match=r"--workers 3.*DATABASE_URL.*REDIS_URL"):
        check_safe_to_serve(load_settings({}), workers=3)


def test_every_unsafe_setting_is_named_in_one_line() -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://app@db:5432/db"})

    with pytest.raises(SettingsError) as refused:
        check_safe_to_serve(settings, workers=2)

    message = str(refused.value)
    assert "\n" not in message
    for name in ("PAYSTACK_SECRET_KEY", "TICKET_SIGNING_KEY", "REDIS_URL"):
        assert name in message


def test_sandbox_is_read_by_name_as_a_boolean() -> None:
    assert load_settings({"SANDBOX": "yes"}).sandbox is True
    assert load_settings({}).sandbox is False
    with pytest.raises(SettingsError, match="SANDBOX"):
        load_settings({"SANDBOX": "sometimes"})


# ------------------------------------------------------------- documented


README = Path(__file__).resolve().parents[2] / "README.md"
READ_BY_LIBRARIES = {"PROMETHEUS_MULTIPROC_DIR"}
"""Variables the README documents that a library reads, not ``Settings``."""


def _configuration_table() -> set[str]:
    """The variable names in the first column of the README's configuration table."""
    section = README.read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_every_setting_is_in_the_readme_configuration_table_and_nothing_else() -> None:
    documented = _configuration_table()
    settings = {field.upper() for field in Settings.__struct_fields__}

    assert settings - documented == set(), "settings the README does not document"
    assert documented - settings - READ_BY_LIBRARIES == set(), "documented, read by nothing"
