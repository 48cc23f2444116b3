"""A real ``GatewayApp`` (routes, templates, navigation) over a fake RPC client, for unit
tests that render pages without RabbitMQ or a database."""

from __future__ import annotations

import types
from typing import Any

from sqlalchemy import create_engine

import gateway.web.app  # noqa: F401  (registers every route)
from gateway.web.app import TEMPLATES
from gateway.web.framework import GatewayApp
from rac_shared.settings import get_settings
from rac_shared.templating import make_environment


def gateway_app(rpc: Any) -> GatewayApp:
    """Nothing is started: no session cache listener, no read-model feed."""
    no_database = types.SimpleNamespace(engine=create_engine("sqlite://"))
    return GatewayApp(get_settings(), no_database, rpc, make_environment(TEMPLATES))
