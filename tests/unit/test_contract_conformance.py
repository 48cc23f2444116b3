"""Each service implements its contract's Protocol, method by method: the same names, the same
parameters (the service adds the ``actor`` the gateway sends), the same annotations and
defaults, the same reply type. And every RPC a service exposes is in a contract, so what the
gateway may call is declared once."""

from __future__ import annotations

import importlib
import inspect
import typing

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc

from gateway.clients import PROTOCOLS, protocol_methods

# (service class, the Protocols it serves)
SERVICES = {
    "services.scoring.service:ScoringService": (
        "rac_shared.contracts.scoring:ScoringRpc",
        "rac_shared.contracts.scoring:ScoringDeliveryRpc",
    ),
    "services.applications.service:ApplicationsService": (
        "rac_shared.contracts.applications:ApplicationsRpc",
        "rac_shared.contracts.applications:ApplicationsGridRpc",
        "rac_shared.contracts.network:NetworkRpc",
    ),
    "services.billing.service:BillingService": (
        "rac_shared.contracts.billing:BillingRpc",
        "rac_shared.contracts.billing:BillingEstimatesRpc",
        "rac_shared.contracts.billing:BillingDeliveryRpc",
        "rac_shared.contracts.funding:FundingRpc",
    ),
    "services.plans.service:PlansService": (
        "rac_shared.contracts.plans:PlansRpc",
        "rac_shared.contracts.plans:PlansDeliveryRpc",
    ),
    "gateway.service:GatewayService": ("rac_shared.contracts.directory:DirectoryRpc",),
    "services.notifications.service:NotificationsService": (
        "rac_shared.contracts.notifications:NotificationsRpc",
    ),
}


def load(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def rpc_methods(service_cls) -> dict[str, typing.Callable]:
    found = {}
    for name, member in inspect.getmembers(service_cls, inspect.isfunction):
        extensions = getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ()) or ()
        if any(isinstance(e, Rpc) for e in extensions):
            found[name] = member
    return found


def cases():
    for service, protocols in SERVICES.items():
        for protocol in protocols:
            for name in protocol_methods(load(protocol)):
                yield pytest.param(service, protocol, name, id=f"{protocol.split(':')[1]}.{name}")


def parameters(function, drop: tuple[str, ...]) -> list[tuple]:
    hints = typing.get_type_hints(function, include_extras=True)
    return [
        (p.name, hints.get(p.name), p.default)
        for p in inspect.signature(function).parameters.values()
        if p.name not in drop
    ]


@pytest.mark.parametrize("service, protocol, name", list(cases()))
def test_the_service_implements_the_contract_method(service, protocol, name):
    implemented = rpc_methods(load(service))
    assert name in implemented, f"{service} has no @rpc {name} (declared in {protocol})"
    entrypoint = implemented[name]
    actual = getattr(entrypoint, "__wrapped__", entrypoint)
    declared = getattr(load(protocol), name)
    assert parameters(actual, ("self", "actor")) == parameters(declared, ("self",))
    assert typing.get_type_hints(actual).get("return") == typing.get_type_hints(declared).get(
        "return"
    )


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_rpc_of_the_service_is_in_one_of_its_contracts(service):
    declared = {name for protocol in SERVICES[service] for name in protocol_methods(load(protocol))}
    assert set(rpc_methods(load(service))) <= declared


def test_every_typed_client_names_a_protocol_that_exists():
    for target in PROTOCOLS.values():
        path = target if isinstance(target, str) else target[1]
        module = path.partition(":")[0]
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            continue  # an area not on its contract yet
        assert inspect.isclass(load(path))


def test_each_typed_client_of_a_request_is_a_property_of_the_context():
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from gateway.clients import TypedClient
    from gateway.web.framework import Ctx
    from tests.support.gateway_app import gateway_app

    ctx = Ctx(app=gateway_app(rpc=None), request=Request(EnvironBuilder().get_environ()))
    for name in PROTOCOLS:
        assert isinstance(getattr(ctx, name), TypedClient), name
