import pytest

from tests.support.platform import Platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """The whole platform in real processes over RabbitMQ and PostgreSQL."""
    running = Platform(tmp_path_factory.mktemp("platform")).prepare()
    try:
        running.start()
        yield running
    finally:
        running.stop()
