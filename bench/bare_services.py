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

    @http("GET", "/echo")
    def get_echo(self, request):
        import json

        return json.dumps(self.echo.echo("x"))


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
    an engine with a pool as large as the platform's, a connection per call."""

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

        _engines[url] = create_engine(url, pool_size=12, max_overflow=8)
    return _engines[url]
