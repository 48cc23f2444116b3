"""``rac demo``: realistic French demo data, each service seeding its own database.

The steps are the services' own (``DemoStep`` in each manifest); this module orders them by
what each needs from the others, runs them, and hands each the values the earlier ones
forwarded (ids, references — never a table). A step that needs another service calls it
through its RPC entrypoints, run in this process (``InProcess``): ``rac demo`` runs before any
service is up. Every step is idempotent, so a demo interrupted half-way resumes where it
stopped when run again.
"""

from __future__ import annotations

from graphlib import TopologicalSorter

from nameko.rpc import RpcProxy

from rac import registry
from rac_shared.db import SessionFactory
from rac_shared.manifest import DemoContext, DemoStep, resolve


class InProcess:
    """Calls a nameko service's entrypoints in this process, as a worker would: a fresh
    session of its own database per call, its RPC proxies answered by the other services'
    ``InProcess`` stand-ins."""

    def __init__(self, name: str, clients: Clients, url: str | None = None):
        manifest = registry.service(name)
        self._service_cls = manifest.load_class()
        self.sessions = SessionFactory(name, manifest.metadata, url=url)
        self._clients = clients

    def __getattr__(self, method: str):
        def call(*args, **kwargs):
            worker = self._service_cls()
            worker.db = self.sessions()
            for attribute, value in vars(self._service_cls).items():
                if isinstance(value, RpcProxy):
                    setattr(worker, attribute, self._clients(value.target_service))
            try:
                return getattr(worker, method)(*args, **kwargs)
            finally:
                worker.db.close()

        return call


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
