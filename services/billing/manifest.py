"""The billing service, as the composition root (``rac/``) knows it."""

from rac_shared.manifest import DemoStep, ServiceManifest

MANIFEST = ServiceManifest(
    name="billing",
    package="services.billing",
    service_class="services.billing.service:BillingService",
    jobs="services.billing.jobs",
    demo=(
        DemoStep(
            "billing",
            "services.billing.demo:seed_billing",
            needs=("directory", "plans", "designations"),
        ),
    ),
)
