"""``rac demo``: realistic French demo data, each service seeding its own database.

The steps are the services' own (``DemoStep`` in each manifest); this module orders them by
what each needs from the others, runs them, and hands each the values the earlier ones
forwarded (ids, references — never a table). A step that needs another service calls it
through its RPC entrypoints, run in this process (``InProcess``): ``rac demo`` runs before any
service is up. Every step is idempotent, so a demo interrupted half-way resumes where it
stopped when run again.
"""

from __future__ import annotations

import inspect
from graphlib import TopologicalSorter

from nameko.events import EventHandler
from nameko.rpc import RpcProxy
from nameko.testing.services import worker_factory

from rac import registry
from rac_shared.db import SessionFactory
from rac_shared.manifest import DemoContext, DemoStep, resolve


class InProcess:
    """Calls a nameko service's entrypoints in this process, each call on a fresh worker
    made by nameko's ``worker_factory``: a session of the service's own database as its
    ``db``, the other services' ``InProcess`` stand-ins as its RPC proxies (its other
    dependencies — relay, scheduler — have nothing to do here and are nameko's mocks).

    ``client.method(...)`` calls an RPC method; ``client.deliver(body)`` hands an event
    envelope to the service's handlers of that event, as the bus would (none: nothing)."""

    def __init__(self, name: str, clients: Clients, url: str | None = None):
        manifest = registry.service(name)
        self._service_cls = manifest.load_class()
        self.sessions = SessionFactory(name, manifest.metadata, url=url)
        self._clients = clients
        self._proxies = {
            attribute: value.target_service
            for attribute, value in vars(self._service_cls).items()
            if isinstance(value, RpcProxy)
        }
        self._handlers: dict[tuple[str, str], list[str]] = {}
        for attribute, value in inspect.getmembers(self._service_cls):
            for entrypoint in getattr(value, "nameko_entrypoints", ()):
                if isinstance(entrypoint, EventHandler):
                    key = (entrypoint.source_service, entrypoint.event_type)
                    self._handlers.setdefault(key, []).append(attribute)

    def _run(self, method: str, *args, **kwargs):
        proxies = {attribute: self._clients(target) for attribute, target in self._proxies.items()}
        worker = worker_factory(self._service_cls, db=self.sessions(), **proxies)
        try:
            return getattr(worker, method)(*args, **kwargs)
        finally:
            worker.db.close()

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *args, **kwargs: self._run(method, *args, **kwargs)

    def deliver(self, body: dict) -> int:
        """The event ``body`` (an outbox envelope) to each of this service's handlers of its
        source and type; returns how many handled it. The handlers are idempotent by event
        id, so the same event relayed over the bus later changes nothing."""
        handlers = self._handlers.get((body["source"], body["event_type"]), [])
        for handler in handlers:
            self._run(handler, body)
        return len(handlers)


class Clients:
    """One ``InProcess`` per service, made when first asked for; on the databases of
    ``urls`` by service name (default: the settings')."""

    def __init__(self, urls: dict[str, str] | None = None):
        self._urls = urls or {}
        self._made: dict[str, InProcess] = {}

    def __call__(self, name: str) -> InProcess:
        if name not in self._made:
            self._made[name] = InProcess(name, self, self._urls.get(name))
        return self._made[name]


def demo_steps() -> list[DemoStep]:
    """Every service's demo steps, each after the steps it needs, in the registry's order
    otherwise (a need that no step provides, or a circle, is a ``graphlib.CycleError`` or a
    ``KeyError`` here rather than half a demo)."""
    declared = [step for m in registry.services().values() for step in m.demo]
    sorter = TopologicalSorter({step.name: step.needs for step in declared})
    sorter.prepare()
    position = {step.name: i for i, step in enumerate(declared)}
    ordered, ready = [], []
    while sorter.is_active():
        ready = sorted([*ready, *sorter.get_ready()], key=position.__getitem__)
        name = ready.pop(0)
        ordered.append(declared[position[name]])
        sorter.done(name)
    return ordered


def run_demo() -> str:
    forwarded: dict[str, dict] = {}
    context = DemoContext(forwarded, Clients())
    summaries = []
    for step in demo_steps():
        summary, forwarded[step.name] = resolve(step.seed)(context)
        summaries.append(summary)
    return "\n".join(summaries)
