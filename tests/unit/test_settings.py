"""Settings: production safety, per-service database URLs, JWT key parsing."""

from __future__ import annotations

import pytest

from rac_shared.settings import (
    DEMO_JWT_SECRET,
    SERVICE_NAMES,
    InsecureSettings,
    Settings,
    get_settings,
    reset_settings_cache,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in (
        "DATABASE_URL",
        "JWT_SECRET",
        "JWT_KEY_ID",
        "JWT_PREVIOUS_KEYS",
        "TWO_FACTOR_KEY",
        "VAR_DIR",
        "AMQP_URI",
        "RAC_ENV",
    ):
        monkeypatch.delenv(name, raising=False)
    for service in SERVICE_NAMES:
        monkeypatch.delenv(f"DATABASE_URL_{service.upper()}", raising=False)
    yield
    reset_settings_cache()


PRIVATE_AMQP = "amqp://rac:Zt7-private-broker-password@rabbitmq:5672/"
PRIVATE_DB = "postgresql://rac_admin:Qw9-private-db-password@postgres:5432/postgres"


def production(**overrides) -> Settings:
    """Production settings with every secret private, but for ``overrides``."""
    values = {
        "rac_env": "production",
        "jwt_secret": "s" * 32,
        "two_factor_key": "t" * 32,
        "amqp_uri": PRIVATE_AMQP,
        "database_url": PRIVATE_DB,
    }
    return Settings(**{**values, **overrides})


def test_production_with_demo_secret_is_refused():
    with pytest.raises(InsecureSettings):
        Settings(rac_env="production").check_production_safety()
    with pytest.raises(InsecureSettings):
        Settings(rac_env="production", jwt_secret=DEMO_JWT_SECRET).check_production_safety()


def test_production_with_short_secret_is_refused():
    with pytest.raises(InsecureSettings):
        Settings(rac_env="production", jwt_secret="s" * 31).check_production_safety()


def test_production_with_private_secret_is_accepted():
    Settings(
        rac_env="production", jwt_secret="s" * 32, two_factor_key="t" * 32, amqp_uri=PRIVATE_AMQP
    ).check_production_safety()
    production().check_production_safety()


@pytest.mark.parametrize(
    "amqp_uri",
    [
        "amqp://guest:guest@127.0.0.1:5672/",  # the default
        "amqp://guest:other-password-123@rabbitmq:5672/",  # guest under any password
        "amqp://rabbitmq:5672/",  # no user: kombu logs in as guest
        "amqp://rac:@rabbitmq:5672/",  # empty password
        "amqp://rac:rac@rabbitmq:5672/",  # the old compose file's pair
        "amqp://broker:broker@rabbitmq:5672/",  # the user name as password
    ],
)
def test_production_refuses_default_broker_credentials(amqp_uri):
    with pytest.raises(InsecureSettings, match="AMQP_URI"):
        production(amqp_uri=amqp_uri).check_production_safety()


@pytest.mark.parametrize(
    "database_url",
    [
        "postgresql://rac:rac@postgres:5432/postgres",  # the old compose file's pair
        "postgresql://postgres:postgres@postgres:5432/postgres",
        "postgresql://rac@postgres:5432/postgres",  # no password (trust authentication)
        "postgresql://rac_plans:rac_plans@postgres:5432/rac_plans",  # the user name
    ],
)
def test_production_refuses_default_or_missing_database_passwords(database_url):
    with pytest.raises(InsecureSettings, match="DATABASE_URL must carry"):
        production(database_url=database_url).check_production_safety()


def test_production_checks_each_service_database_url(monkeypatch):
    monkeypatch.setenv("DATABASE_URL_BILLING", "postgresql://rac_billing@postgres/rac_billing")
    with pytest.raises(InsecureSettings, match="DATABASE_URL_BILLING"):
        production(database_url=None).check_production_safety()
    monkeypatch.setenv(
        "DATABASE_URL_BILLING", "postgresql://rac_billing:Kp3-billing-secret@postgres/rac_billing"
    )
    production(database_url=None).check_production_safety()


def test_production_names_every_problem_at_once():
    with pytest.raises(InsecureSettings) as refused:
        Settings(
            rac_env="production", database_url="postgresql://rac:rac@postgres/postgres"
        ).check_production_safety()
    message = str(refused.value)
    assert "JWT_SECRET" in message and "AMQP_URI" in message and "DATABASE_URL" in message


def test_default_credentials_are_fine_outside_production():
    Settings(
        rac_env="development", database_url="postgresql://rac:rac@127.0.0.1/postgres"
    ).check_production_safety()


def test_demo_secret_is_fine_outside_production():
    Settings(rac_env="development").check_production_safety()
    Settings(rac_env="test").check_production_safety()


def test_get_settings_refuses_production_environment_with_demo_secret(monkeypatch):
    monkeypatch.setenv("RAC_ENV", "production")
    reset_settings_cache()
    with pytest.raises(InsecureSettings):
        get_settings()
    monkeypatch.setenv("JWT_SECRET", "p" * 48)
    monkeypatch.setenv("TWO_FACTOR_KEY", "q" * 48)
    monkeypatch.setenv("AMQP_URI", PRIVATE_AMQP)
    reset_settings_cache()
    assert get_settings().jwt_secret == "p" * 48


def test_database_url_derivation_per_service(tmp_path):
    settings = Settings(
        database_url="postgresql://rac:s3cret@db.example:5433/postgres", var_dir=tmp_path
    )
    for service in SERVICE_NAMES:
        assert (
            settings.database_url_for(service)
            == f"postgresql+psycopg2://rac:s3cret@db.example:5433/rac_{service}"
        )


def test_database_url_keeps_an_explicit_driver(tmp_path):
    settings = Settings(
        database_url="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", var_dir=tmp_path
    )
    assert (
        settings.database_url_for("billing")
        == "postgresql+psycopg2://postgres@127.0.0.1:5432/rac_billing"
    )


def test_database_url_service_override(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL_SCORING", "postgresql://u:p@other:5432/scoring_db")
    settings = Settings(database_url="postgresql://u:p@main:5432/postgres", var_dir=tmp_path)
    assert settings.database_url_for("scoring") == "postgresql+psycopg2://u:p@other:5432/scoring_db"
    # Other services still derive from DATABASE_URL.
    assert settings.database_url_for("plans") == "postgresql+psycopg2://u:p@main:5432/rac_plans"


def test_database_url_service_override_may_be_sqlite(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'custom.db'}"
    monkeypatch.setenv("DATABASE_URL_PLANS", url)
    assert Settings(var_dir=tmp_path).database_url_for("plans") == url


def test_default_database_is_sqlite_under_var_dir(tmp_path):
    var_dir = tmp_path / "var"
    settings = Settings(var_dir=var_dir)
    assert settings.database_url_for("applications") == f"sqlite:///{var_dir / 'applications.db'}"
    assert var_dir.is_dir()


def test_jwt_keys_parsing():
    settings = Settings(
        jwt_secret="current",
        jwt_key_id="k3",
        jwt_previous_keys=" k2 = second ,k1=first=with=equals,, ",
    )
    assert settings.jwt_keys() == {"k3": "current", "k2": "second", "k1": "first=with=equals"}


def test_jwt_keys_without_rotation():
    assert Settings(jwt_secret="only", jwt_key_id="k1").jwt_keys() == {"k1": "only"}


def test_active_key_wins_over_a_previous_key_with_the_same_kid():
    settings = Settings(jwt_secret="current", jwt_key_id="k1", jwt_previous_keys="k1=old")
    # The active kid must resolve to the active secret, never to a retired one.
    assert settings.jwt_keys()["k1"] == "current"


def test_production_refuses_a_clock_moved_by_a_file(monkeypatch):
    monkeypatch.setenv("RAC_CLOCK_FILE", "/tmp/horloge")
    with pytest.raises(InsecureSettings, match="RAC_CLOCK_FILE"):
        production().check_production_safety()
    Settings(rac_env="development").check_production_safety()  # rehearsals and tests


def test_each_process_s_pool_is_derived_from_what_can_use_a_connection_at_once(monkeypatch):
    for name in ("DB_POOL_SIZE", "DB_MAX_OVERFLOW", "SERVICE_WORKERS", "WEB_DB_CONNECTIONS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    # workers + outbox relay + scheduler + a spare, never more (no overflow)
    assert settings.db_pool_limits("service") == (13, 0)
    assert settings.nameko_config()["max_workers"] == 10
    assert settings.db_pool_limits("web") == (8, 0)
    assert settings.db_pool_limits("command") == (2, 0)
    monkeypatch.setenv("SERVICE_WORKERS", "4")
    monkeypatch.setenv("WEB_DB_CONNECTIONS", "3")
    settings = Settings()
    assert settings.db_pool_limits("service") == (7, 0)
    assert settings.nameko_config()["max_workers"] == 4
    assert settings.db_pool_limits("web") == (3, 0)
    monkeypatch.setenv("DB_POOL_SIZE", "2")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "6")
    assert Settings().db_pool_limits("service") == (2, 6)  # explicit values win


def test_a_direct_url_for_what_needs_a_session_of_its_own(monkeypatch):
    monkeypatch.delenv("DATABASE_DIRECT_URL_GATEWAY", raising=False)
    assert Settings().direct_database_url_for("gateway") is None
    monkeypatch.setenv("DATABASE_DIRECT_URL_GATEWAY", "postgresql://rac_gateway:x@db:5432/g")
    assert Settings().direct_database_url_for("gateway") == (
        "postgresql+psycopg2://rac_gateway:x@db:5432/g"
    )
