"""Waiting for what happens elsewhere (another process, the broker) without sleeping blind."""

from __future__ import annotations

import time


def wait_until(predicate, timeout: float = 30.0, message: str = "", interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy, and return that; fail after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        time.sleep(interval)
