"""Typed clients of the services, made from their contracts' ``Protocol`` classes.

``ctx.plans.issue(plan_id=7)`` validates the arguments against ``PlansRpc.issue``'s
signature, calls ``plans.issue`` over the gateway's ``RpcClient`` (with the actor, the
correlation id and the method's timeout — ``@slow`` in the contract for the long ones) and
parses the reply into the contract's reply model: real dates and Decimals, no dicts. Who
calls ``plans.issue`` is one search for ``.issue(``.
"""

from __future__ import annotations

import importlib
import inspect
from functools import cache
from typing import Any

from rac_shared.rpc import Signature

# client → "module:Protocol" (the contract of each service the gateway calls, the client
# named after its service), or (service, "module:Protocol") for another part of a service's
# contract under its own name (``ctx.network`` is the applications service's NetworkRpc).
PROTOCOLS: dict[str, str | tuple[str, str]] = {
    "applications": "rac_shared.contracts.applications:ApplicationsRpc",
    "network": ("applications", "rac_shared.contracts.network:NetworkRpc"),
    "scoring": "rac_shared.contracts.scoring:ScoringRpc",
    "plans": "rac_shared.contracts.plans:PlansRpc",
    "billing": "rac_shared.contracts.billing:BillingRpc",
    "funding": ("billing", "rac_shared.contracts.funding:FundingRpc"),
    "notifications": "rac_shared.contracts.notifications:NotificationsRpc",
}


class ContractMethod:
    """One RPC of a Protocol: its signature (arguments and reply) and its timeout."""

    def __init__(self, name: str, function):
        self.name = name
        self.signature = Signature(function, skip=("self",))
        self.timeout = getattr(function, "rpc_timeout", None)

    def arguments(self, kwargs: dict) -> dict:
        """The arguments as JSON-ready values (models dumped, dates ISO, Decimals text)."""
        return self.signature.dump_arguments(kwargs)


@cache
def protocol_methods(protocol: type) -> dict[str, ContractMethod]:
    methods = {}
    for name, function in inspect.getmembers(protocol, inspect.isfunction):
        if not name.startswith("_"):
            methods[name] = ContractMethod(name, function)
    return methods


def target_of(client: str) -> tuple[str, str]:
    """(service, "module:Protocol") of a client name."""
    target = PROTOCOLS[client]
    return (client, target) if isinstance(target, str) else target


@cache
def protocol_of(client: str) -> type:
    module, _, name = target_of(client)[1].partition(":")
    return getattr(importlib.import_module(module), name)


class TypedClient:
    """A service's RPCs as methods; each call is counted by ``ctx.rpc`` (one per page)."""

    def __init__(self, ctx, service: str, protocol: type, call=None):
        self._service = service
        self._methods = protocol_methods(protocol)
        self._call = call or ctx.rpc  # ctx._call: off the page's count (background work)

    def __getattr__(self, name: str):
        method = self._methods.get(name)
        if method is None:
            raise AttributeError(f"{self._service} has no RPC {name!r} in its contract")

        def call(_timeout: float | None = None, _raw: bool = False, **kwargs: Any):
            """``_timeout``: this call's own limit (the home page waits 3 s for each
            service's summary, then names it as unavailable). ``_raw``: the reply as the
            service sent it, JSON already validated and serialised against the same
            contract by its ``@rpc`` (``rac_shared.rpc``), for an API that only passes it
            on: its JSON text (``RawJson``), not parsed into models here to be serialised
            back."""
            arguments = method.arguments(kwargs)
            timeout = _timeout or method.timeout
            options = {"timeout": timeout} if timeout else {}
            if _raw:
                options["raw"] = True
            reply = self._call(self._service, name, **arguments, **options)
            return reply if _raw else method.signature.parse_reply(reply)

        call.__name__ = name
        return call


def typed_client(ctx, client: str, counted: bool = True) -> TypedClient:
    """The typed client named ``client``: calls go to its service, counted per service
    (``counted=False``: background work off the page's count)."""
    return TypedClient(
        ctx, target_of(client)[0], protocol_of(client), None if counted else ctx._call
    )
