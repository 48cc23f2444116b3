"""The client's address for throttling: a trusted proxy's header only."""

from __future__ import annotations

from gateway.throttling import source_address
from rac_shared.settings import Settings

FORWARDED = {"X-Forwarded-For": "6.6.6.6, 198.51.100.7"}


def test_without_a_configured_header_the_connection_is_the_address():
    assert source_address(Settings(), "127.0.0.1", FORWARDED) == "127.0.0.1"


def test_the_header_counts_only_from_a_trusted_proxy_and_its_last_value_only():
    settings = Settings(trusted_proxy_header="X-Forwarded-For", trusted_proxies="10.0.0.2")
    assert source_address(settings, "10.0.0.2", FORWARDED) == "198.51.100.7"
    assert source_address(settings, "203.0.113.9", FORWARDED) == "203.0.113.9"
    assert source_address(settings, "10.0.0.2", {}) == "10.0.0.2"
