"""Settings read from the environment (pydantic-settings).

With nothing set, the platform runs embedded: one SQLite file per service under ``var/``
and the local RabbitMQ. ``DATABASE_URL`` (a PostgreSQL server URL) gives one database per
service named ``rac_<service>``; ``DATABASE_URL_<SERVICE>`` overrides a single service.
"""

from __future__ import annotations

import os
from datetime import time
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEMO_JWT_SECRET = "demo-secret-do-not-use-in-production-0123456789abcdef"
DEMO_TWO_FACTOR_KEY = "demo-two-factor-key-do-not-use-in-production-0123456789"
# User/password pairs that ship with RabbitMQ, the PostgreSQL image, or this project's old
# compose file: anyone can guess them, so production refuses them.
DEFAULT_CREDENTIALS = {("guest", "guest"), ("rac", "rac"), ("postgres", "postgres")}
SERVICE_NAMES = ("applications", "scoring", "plans", "billing", "notifications", "gateway")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def with_driver(url: str) -> str:
    """PostgreSQL goes through psycopg2 (made cooperative under eventlet by psycogreen)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def _parse_job_times(value: str) -> dict[str, time]:
    """``"invoicing=05:30,plan-deadlines=00:10"`` → {job: local time}."""
    overrides = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        job, _, moment = pair.partition("=")
        try:
            overrides[job.strip()] = time.fromisoformat(moment.strip())
        except ValueError:
            raise ValueError(f"JOB_TIMES: {pair!r} is not job=HH:MM") from None
    return overrides


class InsecureSettings(RuntimeError):
    """Production must never start with demo secrets."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    rac_env: str = Field("development", description="development | test | production")
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    database_url: str | None = None
    var_dir: Path = PROJECT_ROOT / "var"
    public_url: str = "http://127.0.0.1:8000"

    jwt_secret: str = DEMO_JWT_SECRET
    jwt_key_id: str = "k1"
    jwt_previous_keys: str = Field(
        "", description="kid=secret pairs, comma separated, for rotation"
    )
    # The key sealing the TOTP secrets in the gateway's database (gateway/secret_box.py);
    # older keys as kid=secret pairs while their values are re-sealed (README, rotation).
    two_factor_key: str = DEMO_TWO_FACTOR_KEY
    two_factor_key_id: str = "t1"
    two_factor_previous_keys: str = ""
    jwt_issuer: str = "rac-gateway"
    jwt_audience: str = "rac-platform"
    session_minutes: int = 480

    # The connection budget (README, "Connection budget"): each process's pool is derived
    # from what can use a connection at once, and never grows past it (no overflow).
    service_workers: int = Field(10, ge=1, description="nameko workers per service process")
    web_db_connections: int = Field(
        8, ge=1, description="database connections per web process (requests beyond wait)"
    )
    db_pool_size: int | None = None  # explicit overrides of the derived sizes (tests)
    db_max_overflow: int | None = None
    db_pool_timeout: float = 30.0

    # `rac pgbouncer` (rac_shared/pgbouncer.py): PgBouncer in front of PostgreSQL.
    pgbouncer_listen_addr: str = "127.0.0.1"
    pgbouncer_port: int = 6432
    pgbouncer_pool_size: int = Field(10, ge=1, description="server connections per database")
    pgbouncer_max_client_conn: int = 1000
    pgbouncer_admin_users: str = ""

    rpc_timeout: float = 10.0
    # How long the home page waits for each service's summary before naming it unavailable
    # (the page still answers): short, a home page is everyone's first page.
    home_summary_timeout: float = Field(3.0, gt=0)
    # Durable queues as quorum queues (replicated in a RabbitMQ cluster, rac_shared/queues.py).
    # Off by default: an existing classic queue cannot change type (README, "Quorum queues").
    quorum_queues: bool = False
    outbox_poll_seconds: float = 1.0
    # Published outbox rows are deleted this many days after publication (the broker and the
    # consumers' processed_events hold what they are still needed for).
    outbox_retention_days: int = Field(30, ge=1)
    handler_max_attempts: int = 5
    handler_backoff_seconds: float = 1.0

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "Plateforme RAC <ne-pas-repondre@rac.quebec>"

    # Scheduled jobs (rac_shared/scheduler.py): each service runs its own, once a day each.
    scheduler_enabled: bool = True
    job_tick_seconds: float = 30.0
    job_times: str = Field(
        "", description="job=HH:MM pairs, comma separated, overriding the jobs' local times"
    )
    job_catch_up_days: int = 31
    job_max_attempts: int = 5
    job_retry_seconds: float = 300.0
    job_lease_seconds: float = 600.0

    # The Québec government's signature (PIV) in the header: only a ministry's own deployment
    # may show it, so it is off unless the operator turns it on.
    government_signature: bool = False

    max_body_bytes: int = 12 * 1024 * 1024
    # Loi 25 (rac_shared/privacy.py): counts below this are withheld from whoever does not
    # see the names (an employer's follow-up of its candidate-workers).
    small_cell_threshold: int = 5
    # Login throttling (gateway/throttling.py): free failures per account and address, the
    # first wait after them (doubled at each further failure, up to the window), failures
    # per address across accounts, reset e-mails per account and hour.
    login_max_failures: int = 5
    login_window_minutes: int = 15
    login_backoff_seconds: int = 30
    login_max_failures_per_address: int = 20
    password_reset_per_hour: int = 3
    # The header a trusted reverse proxy writes the client's address in (X-Forwarded-For,
    # X-Real-IP), honoured only on connections from ``trusted_proxies``; empty: none.
    trusted_proxy_header: str = ""
    trusted_proxies: str = "127.0.0.1,::1"

    def trusted_proxy_addresses(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.trusted_proxies.split(",") if a.strip())

    def database_url_for(self, service: str) -> str:
        explicit = os.environ.get(f"DATABASE_URL_{service.upper()}")
        if explicit:
            return with_driver(explicit)
        if self.database_url:
            url = make_url(with_driver(self.database_url)).set(database=f"rac_{service}")
            return url.render_as_string(hide_password=False)
        self.var_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.var_dir / f'{service}.db'}"

    def direct_database_url_for(self, service: str) -> str | None:
        """``DATABASE_DIRECT_URL_<SERVICE>``: PostgreSQL itself, when ``DATABASE_URL_<SERVICE>``
        goes through PgBouncer, for what needs a session of its own (``LISTEN``)."""
        explicit = os.environ.get(f"DATABASE_DIRECT_URL_{service.upper()}")
        return with_driver(explicit) if explicit else None

    def db_pool_limits(self, role: str) -> tuple[int, int]:
        """(connections kept, overflow) per database for a process of ``role``.

        A service process: one per nameko worker, one for its outbox relay, one for its
        scheduler, and one spare for a session opened while another is held (so that the
        pool cannot deadlock). A web process: ``WEB_DB_CONNECTIONS``. A command
        (``rac migrate``, ``rac jobs run``…): two. ``DB_POOL_SIZE``/``DB_MAX_OVERFLOW``
        override them."""
        derived = {
            "service": self.service_workers + 3,
            "web": self.web_db_connections,
        }.get(role, 2)
        size = self.db_pool_size if self.db_pool_size is not None else derived
        overflow = self.db_max_overflow if self.db_max_overflow is not None else 0
        return size, overflow

    def jwt_keys(self) -> dict[str, str]:
        # An older pair never overrides the active key.
        return {**_key_pairs(self.jwt_previous_keys), self.jwt_key_id: self.jwt_secret}

    def previous_two_factor_keys(self) -> dict[str, str]:
        return _key_pairs(self.two_factor_previous_keys)

    @field_validator("job_times")
    @classmethod
    def _job_times_parse(cls, value: str) -> str:
        _parse_job_times(value)  # refuse a malformed JOB_TIMES at start, not at 5 a.m.
        return value

    def job_time_overrides(self) -> dict[str, time]:
        return _parse_job_times(self.job_times)

    def check_production_safety(self) -> None:
        """Production refuses to start with any secret one could guess: the demo JWT key,
        the broker's ``guest`` account, a database URL without a password or with a
        default pair such as ``rac``/``rac``. Every problem is named at once."""
        if self.rac_env != "production":
            return
        problems = []
        if self.jwt_secret == DEMO_JWT_SECRET or len(self.jwt_secret) < 32:
            problems.append(
                "JWT_SECRET must be set to a private value of at least 32 characters in production"
            )
        if self.two_factor_key == DEMO_TWO_FACTOR_KEY or len(self.two_factor_key) < 32:
            problems.append(
                "TWO_FACTOR_KEY must be set to a private value of at least 32 characters in "
                "production (it seals the two-factor secrets)"
            )
        amqp = urlsplit(self.amqp_uri)
        # kombu logs in as guest/guest when the URI names no user.
        amqp_user, amqp_password = unquote(amqp.username or "guest"), unquote(amqp.password or "")
        if amqp_user == "guest" or _guessable(amqp_user, amqp_password):
            problems.append(
                "AMQP_URI must name a RabbitMQ user of its own with a private password in "
                "production (not guest, not a default or empty password)"
            )
        for name, url in self._database_urls_set():
            parsed = make_url(url)
            if parsed.drivername.startswith("sqlite"):
                continue
            if _guessable(parsed.username or "", parsed.password or ""):
                problems.append(
                    f"{name} must carry a private password in production "
                    "(not empty, not a default such as rac/rac, not the user name)"
                )
        if os.environ.get("RAC_CLOCK_FILE"):
            problems.append(
                "RAC_CLOCK_FILE moves the platform's clock (rehearsals and tests): never in "
                "production"
            )
        if problems:
            raise InsecureSettings("; ".join(problems))

    def _database_urls_set(self) -> list[tuple[str, str]]:
        urls = [("DATABASE_URL", self.database_url)] if self.database_url else []
        for service in SERVICE_NAMES:
            for variable in (
                f"DATABASE_URL_{service.upper()}",
                f"DATABASE_DIRECT_URL_{service.upper()}",
            ):
                explicit = os.environ.get(variable)
                if explicit:
                    urls.append((variable, explicit))
        return urls

    def nameko_config(self) -> dict:
        return {
            "AMQP_URI": self.amqp_uri,
            "max_workers": self.service_workers,
            "parent_calls_tracked": 10,
            "LOGGING": {"version": 1, "disable_existing_loggers": False},
        }


def _guessable(user: str, password: str) -> bool:
    return not password or password == user or (user, password) in DEFAULT_CREDENTIALS


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    settings.check_production_safety()
    return settings


def reset_settings_cache() -> None:
    get_settings.cache_clear()


def _key_pairs(pairs: str) -> dict[str, str]:
    """``kid=secret,kid=secret`` as a dict (older keys kept for rotation)."""
    keys: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in pairs.split(","))):
        kid, _, secret = pair.partition("=")
        keys[kid.strip()] = secret.strip()
    return keys
