"""Start the real platform as separate processes, as production runs it, for tests.

Each ``Platform`` gets its own PostgreSQL databases (``rac_t<id>_<service>``), its own
RabbitMQ virtual host, its own SMTP catcher writing to a temporary maildir, and a free
port for the web gateway. ``stop()`` ends every process and drops what it created.
"""

from __future__ import annotations

import json
import mailbox
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url

from tests.support.two_factor import code_for

SERVICES = ("applications", "scoring", "plans", "billing", "notifications", "gateway")
BIN = Path(sys.executable).parent
RABBIT_API = "http://127.0.0.1:15672/api"
DEMO_PASSWORD = "rac-demo-2026"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rabbit_api(method: str, path: str, body: dict | None = None) -> None:
    request = urllib.request.Request(
        f"{RABBIT_API}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": "Basic " + b64encode(b"guest:guest").decode(),
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def rabbit_get(path: str):
    """GET on RabbitMQ's management API (JSON)."""
    request = urllib.request.Request(
        f"{RABBIT_API}{path}",
        headers={"Authorization": "Basic " + b64encode(b"guest:guest").decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


TEMPLATE_VARIABLE = "RAC_TEST_TEMPLATE"


def make_template(workdir: Path) -> str:
    """Migrated databases with the demo, once for a whole run (``rac_tpl<id>_<service>``):
    each platform copies them. Returns their prefix; drop them with ``drop_template``."""
    platform = Platform(workdir)
    prefix = f"rac_tpl{platform.id}"
    for service in SERVICES:
        platform.database_urls[service] = platform.server_url.set(
            database=f"{prefix}_{service}"
        ).render_as_string(hide_password=False)
        platform.env[f"DATABASE_URL_{service.upper()}"] = platform.database_urls[service]
    platform.env.pop(TEMPLATE_VARIABLE, None)
    try:
        platform.prepare()
    except BaseException:
        drop_template(prefix)
        raise
    finally:
        _rabbit_api("DELETE", f"/vhosts/{urllib.parse.quote(platform.vhost, safe='')}")
    return prefix


def drop_template(prefix: str) -> None:
    from tests.support.postgres import drop_database

    for service in SERVICES:
        drop_database(f"{prefix}_{service}")


# Platforms of this process by URL: a browser test's page finds the codes of its platform.
RUNNING: dict[str, Platform] = {}


class Platform:
    def __init__(
        self,
        workdir: Path,
        *,
        rpc_timeout: float = 10.0,
        extra_env: dict | None = None,
        web_workers: int = 1,
        amqp_port: int = 5672,
        separate_services: bool = False,
    ):
        """``separate_services``: one process per service, as production runs them, for a
        test that stops, kills or reads the log of one service; by default the services
        share one process (``rac serve`` with every name), which starts in a fifth of the
        CPU time — make test starts about forty platforms."""
        self.web_workers = web_workers
        self.separate_services = separate_services
        self.id = uuid.uuid4().hex[:8]
        self.workdir = workdir
        self.vhost = f"rac-test-{self.id}"
        self.web_port = free_port()
        self.smtp_port = free_port()
        from tests.support.postgres import server_url

        base = server_url()
        self.server_url = base
        self.database_urls = {
            s: base.set(database=f"rac_t{self.id}_{s}").render_as_string(hide_password=False)
            for s in SERVICES
        }
        vhost = urllib.parse.quote(self.vhost, safe="")
        # What the platform's processes use (``amqp_port`` may be a proxy in front of
        # RabbitMQ, see tests/support/tcp_proxy.py); the test's own tooling can always reach
        # the broker through ``direct_amqp_uri``.
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:{amqp_port}/{vhost}"
        self.direct_amqp_uri = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.totp_steps: dict[str, int] = {}  # the last TOTP step used per demo account
        RUNNING[self.url] = self
        self.env = {
            **os.environ,
            "RAC_ENV": "test",
            "AMQP_URI": self.amqp_uri,
            "VAR_DIR": str(workdir),
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp_port),
            "PUBLIC_URL": self.url,
            "RPC_TIMEOUT": str(rpc_timeout),
            # Tests check that every service answers the home page, on a machine that may
            # be busy with other work: not the production's 3 s.
            "HOME_SUMMARY_TIMEOUT": str(rpc_timeout),
            "OUTBOX_POLL_SECONDS": "0.5",
            "HANDLER_BACKOFF_SECONDS": "0.2",
            # Several platforms share one PostgreSQL server (max_connections 100) in make test.
            "DB_POOL_SIZE": "2",
            "DB_MAX_OVERFLOW": "6",
            # Every test connects from 127.0.0.1: the per-address login limit is tested on
            # its own (tests/integration/test_attacker_edges.py), not hit by every module.
            "LOGIN_MAX_FAILURES_PER_ADDRESS": "1000",
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            **{f"DATABASE_URL_{s.upper()}": url for s, url in self.database_urls.items()},
            **(extra_env or {}),
        }
        self.smtp_pace = 0.0  # seconds the SMTP catcher waits before accepting each message
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    # -- set-up ----------------------------------------------------------------------

    @contextmanager
    def running(self) -> Iterator[Platform]:
        """Prepared, started, and stopped on leaving: a module's platform fixture is
        ``with Platform(…).running() as platform: yield platform``."""
        self.prepare()
        try:
            self.start()
            yield self
        finally:
            self.stop()

    def prepare(self, demo: bool = True) -> Platform:
        """A vhost, migrated databases and the demo: copied from the run's template databases
        when ``tests/run_suites.py`` made them (``RAC_TEST_TEMPLATE``), else seeded here
        (``demo=False``: migrated databases only, for a test that runs ``rac demo`` itself)."""
        _rabbit_api("PUT", f"/vhosts/{urllib.parse.quote(self.vhost, safe='')}")
        _rabbit_api(
            "PUT",
            f"/permissions/{urllib.parse.quote(self.vhost, safe='')}/guest",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )
        copied = demo and self._copy_template()
        if not copied:  # a copy is already migrated; each service declares its queues at start
            self.rac("migrate")
        if demo and not copied:
            # The whole demo, every service's entrypoints in one process: minutes on a busy
            # machine (a limit for a stuck run, not a measure).
            self.rac("demo", "--quiet", timeout=900)
        return self

    def _copy_template(self) -> bool:
        """``CREATE DATABASE … TEMPLATE``: the demo seeded once per run instead of per module.
        Not for a platform whose clock or databases are its own (a clock file, databases
        already made by the test)."""
        prefix = os.environ.get(TEMPLATE_VARIABLE)
        if not prefix or "RAC_CLOCK_FILE" in self.env or "RAC_FROZEN_NOW" in self.env:
            return False
        admin = create_engine(
            self.server_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool
        )
        try:
            with admin.connect() as connection:
                names = {make_url(url).database for url in self.database_urls.values()}
                existing = set(
                    connection.execute(
                        text("SELECT datname FROM pg_database WHERE datname = ANY(:n)"),
                        {"n": list(names)},
                    ).scalars()
                )
                if existing:
                    return False
                for service, url in self.database_urls.items():
                    connection.execute(
                        text(
                            f'CREATE DATABASE "{make_url(url).database}" '
                            f'TEMPLATE "{prefix}_{service}"'
                        )
                    )
        finally:
            admin.dispose()
        return True

    def rac(
        self, *args: str, check: bool = True, timeout: float = 180
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "rac"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def start(self, *names: str) -> Platform:
        """Start the named processes: services, "web" and "smtp" (all when none named);
        "services" is every service in one process."""
        services = SERVICES if self.separate_services else ("services",)
        names = names or ("smtp", *services, "web")
        for name in names:
            self.start_process(name)
        if "web" in names:
            self.wait_ready()
        return self

    def command_for(self, name: str) -> list[str]:
        if name == "web":
            return [
                str(BIN / "rac"),
                "web",
                "--port",
                str(self.web_port),
                "--workers",
                str(self.web_workers),
            ]
        if name == "smtp":
            return [
                str(BIN / "rac"),
                "smtp-catcher",
                "--port",
                str(self.smtp_port),
                "--pace",
                str(self.smtp_pace),
            ]
        if name == "pgbouncer":  # settings from the environment (PGBOUNCER_PORT...)
            return [str(BIN / "rac"), "pgbouncer"]
        if name == "services":
            return [str(BIN / "rac"), "serve", *SERVICES]
        # "notifications#2": a second replica of a service, with its own process and log.
        return [str(BIN / "rac"), "serve", name.partition("#")[0]]

    def _check_separate(self, name: str) -> None:
        if name in SERVICES and not self.separate_services:
            raise RuntimeError(
                f"{name} shares the platform's services process: make the platform with "
                "separate_services=True to start or stop it on its own"
            )

    def through_pgbouncer(self, pool_size: int) -> int:
        """Start PgBouncer in front of the platform's databases (``rac pgbouncer``, as
        compose runs it, transaction pooling with ``pool_size`` server connections per
        database) and point every process started from now on at it; the session cache's
        listener (``DATABASE_DIRECT_URL_GATEWAY``) and this object's own queries still go to
        PostgreSQL. Its port."""
        port = free_port()
        self.bouncer_port = port
        self.start_process(
            "pgbouncer",
            env={
                "VAR_DIR": str(self.workdir / "bouncer"),
                "PGBOUNCER_PORT": str(port),
                "PGBOUNCER_POOL_SIZE": str(pool_size),
                "PGBOUNCER_ADMIN_USERS": self.server_url.username,
            },
        )
        self._wait_port(port)
        server = f"{self.server_url.host}:{self.server_url.port}"
        for service, url in self.database_urls.items():
            self.env[f"DATABASE_URL_{service.upper()}"] = url.replace(server, f"127.0.0.1:{port}")
        self.env["DATABASE_DIRECT_URL_GATEWAY"] = self.database_urls["gateway"]
        return port

    def start_process(self, name: str, env: dict | None = None) -> subprocess.Popen:
        self._check_separate(name)
        log_path = self.workdir / f"{name}.log"
        self.logs[name] = log_path
        log_file = open(log_path, "ab")  # noqa: SIM115 - owned by the process
        process = subprocess.Popen(
            self.command_for(name),
            env={**self.env, **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        if name == "smtp":
            self._wait_port(self.smtp_port)
        return process

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        self._check_separate(name)
        process = self.processes.pop(name, None)
        if process is None:
            return None
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            return process.wait(5)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                response = requests.get(f"{self.url}/readyz", timeout=5)
                if response.status_code == 200:
                    return
                last = response.text
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.3)
        raise RuntimeError(f"platform not ready after {timeout}s: {last}\n{self.tail_logs()}")

    def _wait_port(self, port: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"port {port} not open\n{self.tail_logs()}")

    def tail_logs(self, lines: int = 30) -> str:
        out = []
        for name, path in self.logs.items():
            if path.exists():
                content = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {name} ---\n" + "\n".join(content))
        return "\n".join(out)

    def stop_processes(
        self, *names: str, sig: int = signal.SIGTERM, timeout: float = 20
    ) -> dict[str, int | None]:
        """Signal the named processes (all when none named) at once, then wait for each."""
        for name in names:
            self._check_separate(name)
        names = names or tuple(self.processes)
        signalled = {}
        for name in names:
            process = self.processes.pop(name, None)
            if process is None:
                continue
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
            signalled[name] = process
        deadline = time.monotonic() + timeout
        codes = {}
        for name, process in signalled.items():
            try:
                codes[name] = process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                codes[name] = process.wait(5)
        return codes

    def stop(self) -> None:
        # Everything the processes hold is dropped next: no need for a graceful stop.
        self.stop_processes(sig=signal.SIGKILL)
        try:
            _rabbit_api("DELETE", f"/vhosts/{urllib.parse.quote(self.vhost, safe='')}")
        except Exception:
            pass
        admin = create_engine(
            self.server_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool
        )
        with admin.connect() as connection:
            for url in self.database_urls.values():
                name = make_url(url).database
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    # -- helpers for tests -----------------------------------------------------------

    def engine(self, service: str):
        from rac_shared.settings import with_driver

        return create_engine(with_driver(self.database_urls[service]), poolclass=pool.NullPool)

    def scalar(self, service: str, sql: str, **params):
        """The one value ``sql`` selects from ``service``'s database."""
        engine = self.engine(service)
        try:
            with engine.connect() as connection:
                return connection.execute(text(sql), params).scalar_one()
        finally:
            engine.dispose()

    def token(self, email: str, password: str = DEMO_PASSWORD) -> str:
        """An API token, through the second step for the ministry's accounts."""
        response = requests.post(
            f"{self.url}/api/auth/token", json={"email": email, "password": password}, timeout=10
        )
        response.raise_for_status()
        reply = response.json()
        if reply["second_factor_required"]:
            response = requests.post(
                f"{self.url}/api/auth/second-factor",
                json={"challenge_token": reply["challenge_token"], "code": code_for(self, email)},
                timeout=10,
            )
            response.raise_for_status()
            reply = response.json()
        return reply["access_token"]

    def session_cookie(self, email: str, password: str = DEMO_PASSWORD) -> str:
        """Log in through the page form (with its CSRF token) and return the session cookie."""
        import re

        browser = requests.Session()
        form = browser.get(f"{self.url}/connexion", timeout=10)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        response = browser.post(
            f"{self.url}/connexion",
            data={"csrf_token": csrf, "email": email, "password": password, "suite": "/"},
            allow_redirects=False,
            timeout=10,
        )
        response.raise_for_status()
        if response.headers["Location"].startswith("/connexion/verification"):
            response = browser.post(
                f"{self.url}/connexion/verification",
                data={"csrf_token": csrf, "code": code_for(self, email), "suite": "/"},
                allow_redirects=False,
                timeout=10,
            )
            assert response.status_code == 303, response.text
        return browser.cookies["rac_session"]

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def publish_event(self, payload, envelope=None):
        """Publish an event as its service's relay would (mandatory: it must reach a queue)."""
        import kombu

        from rac_shared.events import Envelope
        from rac_shared.outbox import event_exchange

        envelope = envelope or Envelope.wrap(payload)
        with kombu.Connection(
            self.direct_amqp_uri, transport_options={"confirm_publish": True}
        ) as c:
            kombu.Producer(c.default_channel).publish(
                envelope.model_dump(mode="json"),
                exchange=event_exchange(envelope.source),
                routing_key=envelope.event_type,
                serializer="json",
                delivery_mode=2,
                mandatory=True,
            )
        return envelope

    def queues(self) -> dict[str, dict]:
        """The vhost's queues as the management API reports them (messages, consumers,
        message_stats...), by name."""
        vhost = urllib.parse.quote(self.vhost, safe="")
        return {q["name"]: q for q in rabbit_get(f"/queues/{vhost}")}

    def mails_to(self, address: str) -> list:
        return [m for m in self.mails() if address in m["To"]]

    def mails(self) -> list:
        """Every e-mail the SMTP catcher received, parsed."""
        path = self.workdir / "mail"
        if not path.exists():
            return []
        box = mailbox.Maildir(path, create=False)
        return [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.keys()]

    def wait_for_mails(self, count: int, timeout: float = 20) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mails = self.mails()
            if len(mails) >= count:
                return mails
            time.sleep(0.2)
        raise AssertionError(
            f"expected {count} e-mail(s), got {len(self.mails())}\n{self.tail_logs()}"
        )


@pytest.fixture(scope="module")
def platform(tmp_path_factory, request):
    """The whole platform in real processes over RabbitMQ and PostgreSQL (the integration
    and browser suites' fixture, declared here once and imported by their conftest); one
    process per service where the module sets ``SEPARATE_SERVICES = True``."""
    with Platform(
        tmp_path_factory.mktemp("platform"),
        separate_services=getattr(request.module, "SEPARATE_SERVICES", False),
    ).running() as running:
        yield running
