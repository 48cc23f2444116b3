"""The scoring service, as the composition root (``rac/``) knows it."""

from rac_shared.manifest import DemoStep, ServiceManifest

MANIFEST = ServiceManifest(
    name="scoring",
    package="services.scoring",
    service_class="services.scoring.service:ScoringService",
    jobs="services.scoring.jobs",
    demo=(
        DemoStep(
            "designations",
            "services.scoring.demo:seed_designations",
            needs=("directory", "calls"),
        ),
    ),
)
