"""The whole platform in real processes: ``tests/support/platform.py``'s fixture."""

from tests.support.platform import platform  # noqa: F401 (a pytest fixture)
