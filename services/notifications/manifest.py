"""The notifications service, as the composition root (``rac/``) knows it."""

from rac_shared.manifest import ServiceManifest

MANIFEST = ServiceManifest(
    name="notifications",
    package="services.notifications",
    service_class="services.notifications.service:NotificationsService",
    jobs="services.notifications.jobs",
)
