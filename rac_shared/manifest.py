"""How a service declares itself to the platform's composition root (``rac/``).

Each service (and the gateway's directory service) has a ``manifest.py`` holding one
``ServiceManifest``: its name, its nameko class, its package (``models.py`` and
``migrations/`` in it), its scheduled jobs and its demo steps. The root package ``rac``
lists the manifests and does everything that needs to know every service (migrate, serve,
relay, jobs, demo); this shared package only defines the shape, so it imports no service.

References are ``"module:attribute"`` strings, resolved on use: reading a manifest does not
import a nameko class, its models or its templates.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def resolve(reference: str) -> Any:
    """``"package.module:attribute"`` → the attribute (or the module without ``:``)."""
    module_name, _, attribute = reference.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


@dataclass(frozen=True)
class DemoStep:
    """One step of ``rac demo`` a service performs on its own data.

    ``seed`` (``"module:function"``) is called with a ``DemoContext``; it reads what the
    steps named in ``needs`` forwarded (``context.forwarded[...]``), calls the services it
    needs through ``context.client(name)`` (their entrypoints, never their tables), and
    returns ``(summary, forwarded)``: a French line for the operator and what later steps
    may use (ids, references), stored under the step's ``name``. A step must be idempotent
    and resume a half-done run: ``rac demo`` may be run again after any failure.
    """

    name: str
    seed: str
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceManifest:
    name: str
    package: str
    service_class: str
    jobs: str | None = None
    demo: tuple[DemoStep, ...] = field(default_factory=tuple)

    def load_class(self) -> type:
        return resolve(self.service_class)

    @property
    def models(self):
        return importlib.import_module(f"{self.package}.models")

    @property
    def metadata(self):
        return self.models.Base.metadata

    @property
    def migrations(self) -> Path:
        package = importlib.import_module(self.package)
        return Path(package.__file__).resolve().parent / "migrations"

    def scheduled_jobs(self) -> tuple:
        return tuple(resolve(self.jobs).JOBS) if self.jobs else ()


class DemoContext:
    """What a demo step gets: the values earlier steps forwarded, and clients that call each
    service's RPC entrypoints in this process (built by the root, ``rac.demo``)."""

    def __init__(self, forwarded: dict[str, dict], client: Callable[[str], Any]):
        self.forwarded = forwarded
        self.client = client


def demo_actor(person: dict, organisation: dict) -> dict:
    """A person of the directory's demo accounts (``person``, as the directory step forwards
    them) acting for ``organisation``: the ``actor`` a demo step passes to an RPC."""
    return {
        "user_id": person["id"],
        "role": person["role"],
        "organisation_id": organisation["id"],
        "organisation_kind": organisation["kind"],
        "full_name": person["full_name"],
    }
