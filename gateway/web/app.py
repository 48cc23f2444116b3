"""Builds the WSGI application and serves it with eventlet."""

from __future__ import annotations

from pathlib import Path

import gateway.web.audit  # noqa: F401  (the audit trail: journal and histories)
import gateway.web.calendars  # noqa: F401  (calendars: downloads and personal feeds)
import gateway.web.dashboard  # noqa: F401  (registers the ministry dashboard)
import gateway.web.funding  # noqa: F401  (registers the CERAC funding routes)
import gateway.web.plans  # noqa: F401  (registers the plans routes)
import gateway.web.reporting  # noqa: F401  (reports and special mandates of the CERACs)
import gateway.web.scoring  # noqa: F401  (registers the evaluation and designation routes)
import gateway.web.security  # noqa: F401  (second factor: sign-in step, enrolment, reset)
from gateway.models import Base
from gateway.rpc_client import RpcClient
from gateway.web import api, applications, billing, network, pages  # noqa: F401  (registers the routes)
from gateway.web.framework import GatewayApp
from rac_shared.db import SessionFactory
from rac_shared.settings import Settings, get_settings
from rac_shared.templating import make_environment

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def create_app(settings: Settings | None = None, rpc: RpcClient | None = None) -> GatewayApp:
    settings = settings or get_settings()
    rpc = rpc or RpcClient(
        settings.amqp_uri, timeout=settings.rpc_timeout, in_flight=settings.service_workers
    )
    return GatewayApp(
        settings, SessionFactory("gateway", Base.metadata), rpc, make_environment(TEMPLATES)
    )


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the gateway: ``workers`` processes, each binding the port with SO_REUSEPORT.

    Processes are forked before eventlet starts, so each has its own hub and RPC client.
    """
    import gc
    import os
    import socket

    for _ in range(max(workers, 1) - 1):
        if os.fork() == 0:
            break

    import eventlet

    eventlet.monkey_patch()
    from eventlet import wsgi

    from rac_shared.bus import green_kombu_sleep

    green_kombu_sleep()
    from psycogreen.eventlet import patch_psycopg

    patch_psycopg()
    from rac_shared.logs import configure_logging

    configure_logging()
    from rac_shared.db import set_process_role

    set_process_role("web")
    listener = eventlet.listen((host, port), backlog=1024, reuse_port=True)
    # No Nagle: the server writes a response larger than its 16 KB buffer in two sends, and
    # the second waited for the client's delayed ACK — 40 ms added to every list page of a
    # few dozen rows. Connections accepted on Linux inherit the option.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    app = create_app()
    app.rpc.start()
    app.sessions.start()
    app.inbox.start()
    # Everything loaded so far lives as long as the process: keep it out of the garbage
    # collector's full passes, which otherwise stall every request in flight (the p99).
    gc.collect()
    gc.freeze()
    wsgi.server(listener, app, log_output=False, max_size=2000, keepalive=True, socket_timeout=60)
