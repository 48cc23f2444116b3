"""Retry backoff of the reliable event handler."""

from __future__ import annotations

import pytest

from rac_shared.consumer import DEAD_LETTER_QUEUE, dead_letter_queue, retry_delay_seconds


@pytest.mark.parametrize(
    ("attempt", "base", "expected"),
    [
        (1, 1.0, 1.0),
        (2, 1.0, 2.0),
        (3, 1.0, 4.0),
        (4, 1.0, 8.0),
        (1, 0.5, 0.5),
        (3, 0.5, 2.0),
        (4, 2.5, 20.0),
    ],
)
def test_retry_delay_is_exponential(attempt, base, expected):
    assert retry_delay_seconds(attempt, base) == expected


def test_retry_delay_doubles_until_the_cap():
    delays = [retry_delay_seconds(attempt, 1.0) for attempt in range(1, 15)]
    assert delays[:9] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert all(d == 300.0 for d in delays[9:])
    assert delays == sorted(delays)


@pytest.mark.parametrize(("attempt", "base"), [(10, 1.0), (50, 1.0), (2, 400.0), (1, 1000.0)])
def test_retry_delay_is_capped_at_five_minutes(attempt, base):
    assert retry_delay_seconds(attempt, base) == 300.0


def test_dead_letter_queue_is_durable_on_the_default_exchange():
    queue = dead_letter_queue()
    assert queue.name == DEAD_LETTER_QUEUE == "rac.dead-letters"
    assert queue.durable
    assert queue.exchange.name == ""
    assert queue.routing_key == DEAD_LETTER_QUEUE
