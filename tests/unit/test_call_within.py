"""A call to another service bounded in time fails with an ordinary exception: eventlet's
``Timeout`` (a ``BaseException``) escaping a nameko worker left an event's message neither
retried nor acknowledged until the process restarted."""

from __future__ import annotations

import eventlet
import pytest

from rac_shared.rpc import ServiceTimeout, call_within


def slow(seconds: float) -> str:
    eventlet.sleep(seconds)
    return "réponse"


def test_an_answer_in_time_is_returned():
    assert call_within(1.0, slow, 0.0) == "réponse"


def test_no_answer_in_time_is_an_ordinary_exception():
    with pytest.raises(ServiceTimeout, match="slow did not answer within 0.05 s"):
        call_within(0.05, slow, 5)
    assert issubclass(ServiceTimeout, Exception)


def test_an_outer_time_limit_is_not_taken_for_the_call_s_own():
    with pytest.raises(eventlet.Timeout):
        with eventlet.Timeout(0.05):
            call_within(10, slow, 5)
