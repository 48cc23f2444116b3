"""Every service of the platform, as each declares itself in its ``manifest.py``."""

from __future__ import annotations

from functools import cache

from rac_shared.manifest import ServiceManifest, resolve

# The gateway's directory first: every other service looks organisations and people up in it.
MANIFESTS = (
    "gateway.manifest:MANIFEST",
    "services.applications.manifest:MANIFEST",
    "services.scoring.manifest:MANIFEST",
    "services.plans.manifest:MANIFEST",
    "services.billing.manifest:MANIFEST",
    "services.notifications.manifest:MANIFEST",
)


@cache
def services() -> dict[str, ServiceManifest]:
    """The manifests by service name, in the order above."""
    declared = [resolve(reference) for reference in MANIFESTS]
    return {manifest.name: manifest for manifest in declared}


def service(name: str) -> ServiceManifest:
    return services()[name]


def service_names() -> tuple[str, ...]:
    return tuple(services())
