"""The applications service, as the composition root (``rac/``) knows it."""

from rac_shared.manifest import DemoStep, ServiceManifest

MANIFEST = ServiceManifest(
    name="applications",
    package="services.applications",
    service_class="services.applications.service:ApplicationsService",
    jobs="services.applications.jobs",
    demo=(
        DemoStep("calls", "services.applications.demo:seed_calls", needs=("directory",)),
        DemoStep(
            "network",
            "services.applications.demo:seed_network",
            needs=("directory", "designations"),
        ),
    ),
)
