"""``rac migrate``: every service's database provisioned and migrated, from the manifests."""

from __future__ import annotations

from rac import registry
from rac_shared import migrations
from rac_shared.settings import get_settings


def migrate(
    services: tuple[str, ...] | None = None,
    urls: dict[str, str] | None = None,
    progress: bool = False,
    admin_url: str | None = None,
) -> list[str]:
    """Provision and migrate ``services`` (default: all) on their configured databases or
    the ``urls`` given; returns what provisioning did, for the operator."""
    settings = get_settings()
    admin_url = admin_url or settings.database_url
    names = services or registry.service_names()
    if progress:
        from tqdm import tqdm

        names = tqdm(names, desc="Migrations", unit="service")
    done = []
    for name in names:
        url = (urls or {}).get(name) or settings.database_url_for(name)
        done += migrations.upgrade(name, registry.service(name).migrations, url, admin_url)
    return done


def schema_drift(service: str, url: str) -> list:
    """What differs between ``service``'s migrated database at ``url`` and its models."""
    return migrations.schema_drift(url, registry.service(service).metadata)
