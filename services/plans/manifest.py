"""The plans service, as the composition root (``rac/``) knows it."""

from rac_shared.manifest import DemoStep, ServiceManifest

MANIFEST = ServiceManifest(
    name="plans",
    package="services.plans",
    service_class="services.plans.service:PlansService",
    jobs="services.plans.jobs",
    demo=(DemoStep("plans", "services.plans.demo:seed_plans", needs=("directory",)),),
)
