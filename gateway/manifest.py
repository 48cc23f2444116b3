"""The gateway's directory service, as the composition root (``rac/``) knows it."""

from rac_shared.manifest import DemoStep, ServiceManifest

MANIFEST = ServiceManifest(
    name="gateway",
    package="gateway",
    service_class="gateway.service:GatewayService",
    jobs="gateway.jobs",
    demo=(DemoStep("directory", "gateway.demo:seed_directory"),),
)
