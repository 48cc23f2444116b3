import pytest

from tests.support.platform import Platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory, request):
    """The whole platform in real processes over RabbitMQ and PostgreSQL (one process per
    service where the module sets ``SEPARATE_SERVICES = True``)."""
    running = Platform(
        tmp_path_factory.mktemp("platform"),
        separate_services=getattr(request.module, "SEPARATE_SERVICES", False),
    ).prepare()
    try:
        running.start()
        yield running
    finally:
        running.stop()
