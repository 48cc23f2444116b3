"""The bare stack for comparison: a trivial nameko service and a nameko ``@http`` entrypoint
that makes one RPC to it, as nameko's documentation would write them."""

from nameko.rpc import RpcProxy, rpc
from nameko.web.handlers import http


class EchoService:
    name = "bench_echo"

    @rpc
    def echo(self, value):
        return {"value": value}


class BareHttpService:
    name = "bench_http"

    echo = RpcProxy("bench_echo")
    lists = RpcProxy("bench_lists")

    @http("GET", "/echo")
    def get_echo(self, request):
        import json

        return json.dumps(self.echo.echo("x"))

    @http("GET", "/plans/<int:institution_id>")
    def get_plans(self, request, institution_id):
        import json

        return json.dumps(self.lists.list_plans(institution_id))

    @http("GET", "/calls/<int:call_id>/applications")
    def get_applications(self, request, call_id):
        import json

        return json.dumps(self.lists.list_applications(call_id))


# The rows of the platform's lists, as one straightforward SELECT each (what a bare nameko
# service would write): the plans of an institution with their current version's columns;
# the applications of a call.
PLANS_SELECT = """
SELECT p.id, p.reference, p.status, p.employer_id, p.employer_name, p.institution_id,
       p.program_title || ' (' || p.program_code || ')' AS program, p.current_version,
       v.status AS version_status, p.accepted_version, v.acceptance_deadline, p.updated_at
FROM plans AS p
JOIN plan_versions AS v ON v.plan_id = p.id AND v.number = p.current_version
WHERE p.institution_id = :institution
ORDER BY p.id DESC
"""
APPLICATIONS_SELECT = """
SELECT id, call_id, organisation_id, organisation_name, organisation_kind, education_order,
       region, status, reference, submitted_at, paper_received_on, paper_late, admissibility
FROM applications WHERE call_id = :call ORDER BY organisation_name, id
"""


class BareListsService:
    """The same data as ``GET /api/plans`` and a call's applications table, read by plain
    nameko ``@rpc`` with a SQLAlchemy engine (one connection per call) and returned as
    dicts (dates ISO): no validation, no authorisation, no labels."""

    name = "bench_lists"

    from nameko.dependency_providers import Config as _Config

    config = _Config()

    @rpc
    def list_plans(self, institution_id):
        return self._rows("BENCH_DATABASE_URL", PLANS_SELECT, {"institution": institution_id})

    @rpc
    def list_applications(self, call_id):
        return self._rows("BENCH_APPLICATIONS_DATABASE_URL", APPLICATIONS_SELECT, {"call": call_id})

    def _rows(self, setting, statement, parameters):
        from sqlalchemy import text

        with _engine(self.config[setting]).connect() as connection:
            rows = connection.execute(text(statement), parameters).mappings().all()
        return [
            {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
            for row in rows
        ]


class LightEchoService:
    """The same trivial service on the platform's ``rac_shared.rpc.rpc`` entrypoint."""

    name = "bench_light_echo"

    from rac_shared.rpc import rpc as _light_rpc

    @_light_rpc
    def echo(self, value):
        return {"value": value}


class BareHealthService:
    """The work of the platform services' ``health`` RPC (``SELECT 1``, then the count of
    the outbox's unpublished rows, on the plans database) in plain nameko and SQLAlchemy:
    an engine with a connection per nameko worker, a connection per call."""

    name = "bench_health"

    from nameko.dependency_providers import Config as _Config

    config = _Config()

    @rpc
    def health(self):
        from sqlalchemy import text

        with _engine(self.config["BENCH_DATABASE_URL"]).connect() as connection:
            connection.execute(text("SELECT 1"))
            pending = connection.execute(
                text("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
            ).scalar_one()
        return {"service": self.name, "database": "ok", "pending_events": pending}


_engines: dict = {}


def _engine(url: str):
    if url not in _engines:
        from sqlalchemy import create_engine

        # nameko runs at most 10 workers per service: a connection each, never more.
        _engines[url] = create_engine(url, pool_size=10, max_overflow=0)
    return _engines[url]
