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
