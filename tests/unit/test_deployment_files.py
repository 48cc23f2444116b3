"""docker-compose.yml, infra/Dockerfile and the lock, checked without a Docker engine.

The compose file is parsed (PyYAML, merge keys included) and its ``${VAR}`` references are
interpolated as Compose does, so that what each container would receive can be checked:
every secret required from the environment, accepted by the platform's own production
check when private and refused by Compose when missing, nothing published but the web
gateway (and the development profile's tools on 127.0.0.1), a healthcheck per service.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from rac_shared.settings import SERVICE_NAMES, InsecureSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# The container of each platform service (the gateway's nameko part is gateway-service).
CONTAINER_OF = {name: name for name in SERVICE_NAMES} | {"gateway": "gateway-service"}
PLATFORM_CONTAINERS = [*CONTAINER_OF.values(), "web", "migrate"]
SECRETS = [
    "JWT_SECRET",
    "TWO_FACTOR_KEY",
    "RABBITMQ_USER",
    "RABBITMQ_PASSWORD",
    "RABBITMQ_ERLANG_COOKIE",
    "POSTGRES_PASSWORD",
    *(f"DB_PASSWORD_{s.upper()}" for s in SERVICE_NAMES),
]
PRIVATE_ENV = {
    "JWT_SECRET": "0f" * 32,
    "TWO_FACTOR_KEY": "1e" * 32,
    "RABBITMQ_USER": "rac",
    "RABBITMQ_PASSWORD": "a1" * 16,
    "RABBITMQ_ERLANG_COOKIE": "c3" * 16,
    "POSTGRES_PASSWORD": "b2" * 16,
    "PUBLIC_URL": "https://rac.example.quebec",
    "SMTP_HOST": "smtp.example.quebec",
    **{f"DB_PASSWORD_{s.upper()}": f"{s[:2]}" * 12 for s in SERVICE_NAMES},
}
VARIABLE = re.compile(r"\$\$|\$\{([A-Z0-9_]+)(?:(:\?|:-)([^}]*))?\}")


class MissingVariable(Exception):
    pass


def interpolate(value, env: dict):
    """Compose's interpolation: ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``, ``$$``."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match):
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        if env.get(name):
            return env[name]
        if operator == ":?":
            raise MissingVariable(f"{name}: {argument}")
        return argument if operator == ":-" else ""

    return VARIABLE.sub(substitute, value)


def environment_of(container: str, env: dict = PRIVATE_ENV) -> dict:
    return {k: str(v) for k, v in interpolate(SERVICES[container]["environment"], env).items()}


def test_every_image_is_pinned_to_a_patch_release():
    for name, service in SERVICES.items():
        image = service["image"]
        if "build" in service:  # the platform's own image, built from this tree
            continue
        # x.y.z, or PostgreSQL's x.y (its minor number is the patch release)
        pattern = r":\d+\.\d+-" if image.startswith("postgres:") else r":v?\d+\.\d+\.\d+"
        assert re.search(pattern, image), (name, image)
    dockerfile = (ROOT / "infra/Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm$", dockerfile, re.M)


@pytest.mark.parametrize("container", PLATFORM_CONTAINERS)
def test_private_values_pass_the_platforms_production_check(container, monkeypatch):
    environment = environment_of(container)
    assert environment["RAC_ENV"] == "production"
    for name in [*environment, "DATABASE_URL"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    Settings().check_production_safety()


@pytest.mark.parametrize("secret", SECRETS)
def test_compose_refuses_to_start_without_each_secret(secret):
    env = {k: v for k, v in PRIVATE_ENV.items() if k != secret}
    with pytest.raises(MissingVariable, match=secret):
        for container in [*PLATFORM_CONTAINERS, "postgres", "rabbitmq"]:
            interpolate(SERVICES[container], env)


def test_no_credential_is_written_in_the_file():
    text = (ROOT / "docker-compose.yml").read_text()
    assert "guest" not in text
    assert not re.search(r"://[^$/\s]+:[^$@\s]+@", text), "a password outside ${...}"


def test_guessable_values_in_the_environment_are_refused_by_the_platform(monkeypatch):
    environment = environment_of("plans", {**PRIVATE_ENV, "DB_PASSWORD_PLANS": "rac_plans"})
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InsecureSettings, match="DATABASE_URL_PLANS"):
        Settings().check_production_safety()


def test_each_service_gets_only_its_own_database_and_only_migrate_the_server_account():
    for service, container in CONTAINER_OF.items():
        environment = environment_of(container)
        urls = {k for k in environment if k.startswith("DATABASE_URL")}
        assert urls == {f"DATABASE_URL_{service.upper()}"}, container
        assert f"rac_{service}:" in environment[f"DATABASE_URL_{service.upper()}"]
    assert {k for k in environment_of("web") if k.startswith("DATABASE_URL")} == {
        "DATABASE_URL_GATEWAY"
    }
    migrate = environment_of("migrate")
    assert "rac_admin:" in migrate["DATABASE_URL"]
    assert all(f"DATABASE_URL_{s.upper()}" in migrate for s in SERVICE_NAMES)


def test_smtp_and_public_url_come_from_variables():
    environment = environment_of("notifications")
    assert environment["SMTP_HOST"] == "smtp.example.quebec"
    assert environment["PUBLIC_URL"] == "https://rac.example.quebec"
    for name in ("PUBLIC_URL", "SMTP_HOST"):
        with pytest.raises(MissingVariable, match=name):
            environment_of("notifications", {k: v for k, v in PRIVATE_ENV.items() if k != name})


def test_only_the_web_gateway_is_published_and_the_dev_tools_on_loopback_only():
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"web", "mailpit", "rabbitmq-ui"}
    assert interpolate(SERVICES["web"]["ports"], {}) == ["127.0.0.1:8000:8000"]
    for name in ("mailpit", "rabbitmq-ui"):
        assert SERVICES[name]["profiles"] == ["dev"], name
        assert all(port.startswith("127.0.0.1:") for port in SERVICES[name]["ports"]), name
    assert all("profiles" not in SERVICES[c] for c in [*PLATFORM_CONTAINERS, "postgres"])
    assert (ROOT / "infra/dev/rabbitmq-ui.conf").is_file()


def test_every_nameko_service_has_an_rpc_healthcheck_and_web_waits_for_them():
    for service, container in CONTAINER_OF.items():
        assert SERVICES[container]["command"] == ["rac", "serve", service]
        assert SERVICES[container]["healthcheck"]["test"] == ["CMD", "rac", "health", service]
    depends = SERVICES["web"]["depends_on"]
    for container in CONTAINER_OF.values():
        assert depends[container]["condition"] == "service_healthy", container
    assert SERVICES["notifications"]["depends_on"]["mailpit"]["required"] is False


def test_the_lock_pins_every_declared_dependency_including_tzdata():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = dict(
        line.split("==")
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line
    )
    lock = {name.lower().replace("_", "-"): version for name, version in lock.items()}
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    for requirement in declared:
        name, _, version = requirement.partition("==")
        assert lock.get(name.lower()) == version, requirement
    assert "tzdata" in {r.partition("==")[0] for r in project["dependencies"]}


def test_the_readme_explains_every_variable_the_deployment_reads():
    readme = (ROOT / "README.md").read_text()
    operating = readme[readme.index("## Operating") :]
    text = (ROOT / "docker-compose.yml").read_text()
    example = (ROOT / "infra/production.env.example").read_text()
    variables = {m.group(1) for m in VARIABLE.finditer(text) if m.group(1)}
    variables |= set(re.findall(r"^([A-Z0-9_]+)=", example, re.M))
    documented = {re.sub(r"^DB_PASSWORD_[A-Z]+$", "DB_PASSWORD_<SERVICE>", v) for v in variables}
    missing = sorted(v for v in documented if f"`{v}`" not in operating)
    assert missing == []


def test_services_reach_postgresql_through_pgbouncer_and_only_migrate_and_listeners_directly():
    for service, container in CONTAINER_OF.items():
        url = environment_of(container)[f"DATABASE_URL_{service.upper()}"]
        assert f"@pgbouncer:6432/rac_{service}" in url, container
    web = environment_of("web")
    assert "@pgbouncer:6432/rac_gateway" in web["DATABASE_URL_GATEWAY"]
    assert "@postgres:5432/rac_gateway" in web["DATABASE_DIRECT_URL_GATEWAY"]  # LISTEN
    migrate = environment_of("migrate")
    bouncer = environment_of("pgbouncer")
    for service in SERVICE_NAMES:
        variable = f"DATABASE_URL_{service.upper()}"
        assert f"@postgres:5432/rac_{service}" in migrate[variable]
        assert bouncer[variable] == migrate[variable]
    assert SERVICES["pgbouncer"]["command"] == ["rac", "pgbouncer"]
    for container in [*CONTAINER_OF.values(), "web"]:
        assert SERVICES[container]["depends_on"]["pgbouncer"]["condition"] == "service_healthy"
    assert "ports" not in SERVICES["pgbouncer"]
    assert "pgbouncer" in (ROOT / "infra/Dockerfile").read_text()


def test_pgbouncer_pools_transactions_and_checks_passwords_as_compose_configures_it(monkeypatch):
    from rac_shared.pgbouncer import configuration

    for name, value in environment_of("pgbouncer").items():
        monkeypatch.setenv(name, value)
    ini, userlist = configuration(Settings())
    assert "pool_mode = transaction" in ini
    assert "auth_type = scram-sha-256" in ini
    assert "default_pool_size = 10" in ini and "listen_addr = 0.0.0.0" in ini
    for service in SERVICE_NAMES:
        assert f"rac_{service} = host=postgres port=5432 dbname=rac_{service}" in ini
        assert f'"rac_{service}" "{PRIVATE_ENV[f"DB_PASSWORD_{service.upper()}"]}"' in userlist


def test_quorum_queues_in_production_and_a_cluster_profile_of_three_nodes():
    for container in PLATFORM_CONTAINERS:
        assert environment_of(container)["QUORUM_QUEUES"] == "true", container
    nodes = ["rabbitmq", "rabbitmq-2", "rabbitmq-3"]
    cookies = {environment_of(node)["RABBITMQ_ERLANG_COOKIE"] for node in nodes}
    assert cookies == {PRIVATE_ENV["RABBITMQ_ERLANG_COOKIE"]}
    assert {SERVICES[node]["hostname"] for node in nodes} == set(nodes)
    for node in nodes[1:]:
        assert SERVICES[node]["profiles"] == ["cluster"]
        assert SERVICES[node]["image"] == SERVICES["rabbitmq"]["image"]
        assert any("cluster.conf" in volume for volume in SERVICES[node]["volumes"])
        assert SERVICES["migrate"]["depends_on"][node]["required"] is False
    conf = (ROOT / "infra/rabbitmq/cluster.conf").read_text()
    assert "cluster_formation.classic_config.nodes.1 = rabbit@rabbitmq" in conf
    failover = ";amqp://rac:pw@rabbitmq-2:5672/;amqp://rac:pw@rabbitmq-3:5672/"
    uri = environment_of("plans", {**PRIVATE_ENV, "RABBITMQ_FAILOVER": failover})["AMQP_URI"]
    assert uri.endswith("@rabbitmq:5672/" + failover)


def test_pgbouncer_refuses_to_trust_its_clients_in_production(monkeypatch):
    from rac_shared.pgbouncer import configuration

    monkeypatch.setenv("DATABASE_URL", "postgresql://rac@postgres:5432/postgres")
    for service in SERVICE_NAMES:
        monkeypatch.delenv(f"DATABASE_URL_{service.upper()}", raising=False)
    monkeypatch.setenv("RAC_ENV", "development")
    assert "auth_type = trust" in configuration(Settings())[0]
    monkeypatch.setenv("RAC_ENV", "production")
    with pytest.raises(SystemExit, match="passwords"):
        configuration(Settings())


def test_rac_serve_refuses_an_unknown_service_among_several_before_starting_any(capsys):
    from rac.cli import main

    assert main(["serve", "plans", "facturation", "billing"]) == 2
    assert "Service inconnu : facturation." in capsys.readouterr().err
