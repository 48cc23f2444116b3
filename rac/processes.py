"""Running the platform's processes: one nameko service, the queue declarations of all of
them, and a one-off relay of every service's outbox."""

from __future__ import annotations

import logging

from rac import registry
from rac_shared.bus import declare_topology
from rac_shared.db import SessionFactory, set_process_role
from rac_shared.outbox import OutboxRelay
from rac_shared.settings import get_settings

log = logging.getLogger(__name__)


def declare_queues(names: list[str] | None = None, amqp_uri: str | None = None) -> int:
    """Every publisher's exchange and the handler queues of ``names`` (default: all)."""
    manifests = registry.services()
    chosen = names or list(manifests)
    return declare_topology(
        amqp_uri or get_settings().amqp_uri,
        [manifests[name].load_class() for name in chosen],
        publishers=list(manifests),
    )


def serve(*names: str) -> None:
    """Run services under eventlet (what ``rac serve NAME…`` does): one per process in
    production, so that each scales and fails on its own; several in one process where
    memory and start-up time matter more (a small machine, the test platforms)."""
    import gc

    import eventlet

    eventlet.monkey_patch()
    from rac_shared.bus import green_kombu_sleep

    green_kombu_sleep()
    from psycogreen.eventlet import patch_psycopg

    patch_psycopg()
    from nameko.cli.run import run

    from rac_shared.logs import configure_logging

    configure_logging()
    set_process_role("service")
    settings = get_settings()
    classes = [registry.service(name).load_class() for name in names]
    declare_queues(list(names), settings.amqp_uri)
    for name in names:
        log.info("starting service %s", name, extra={"service": name})
    # What is loaded by now (modules, contracts, templates) lives as long as the process:
    # kept out of the collector's full passes, which otherwise stall every call in flight
    # (the gateway's web processes do the same).
    gc.collect()
    gc.freeze()
    run(classes, settings.nameko_config())


def relay_all_services() -> int:
    """Publish every service's pending outbox rows once (operators, tests)."""
    settings = get_settings()
    total = 0
    for name, manifest in registry.services().items():
        relay = OutboxRelay(SessionFactory(name, manifest.metadata), settings.amqp_uri)
        try:
            total += relay.relay_all()
        finally:
            relay.close()
    return total
