"""The gateway's per-process copies: session users, verified tokens and inboxes.

Each copy must never outlive the change that makes it wrong; the listeners that deliver those
changes are exercised over PostgreSQL and RabbitMQ in ``test_gateway_security.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine

from gateway import auth
from gateway.read_models import InboxReadModel
from gateway.session_cache import SessionCache
from rac_shared.clock import clock
from rac_shared.events import InboxMessageAdded
from rac_shared.settings import Settings

NOW = datetime(2030, 5, 17, 14, 0, tzinfo=UTC)


@pytest.fixture
def cache() -> SessionCache:
    cache = SessionCache(create_engine("sqlite://"))
    cache.listening = True  # as if its LISTEN connection were up
    return cache


def test_session_rows_are_served_only_while_listening(cache):
    cache.rows.put(7, "row-7", cache.rows.generation)
    assert cache.get(7) == "row-7"
    cache.listening = False
    assert cache.get(7) is None
    cache.rows.put(8, "row-8", cache.rows.generation)
    cache.listening = True
    assert cache.get(8) is None


def test_a_row_read_before_an_invalidation_is_not_stored_after_it(cache):
    generation = cache.rows.generation
    cache.invalidate()  # a change was notified while the row was being read
    cache.rows.put(7, "stale", generation)
    assert cache.get(7) is None


def test_an_invalidation_drops_every_row(cache):
    cache.rows.put(7, "row-7", cache.rows.generation)
    cache.rows.put(8, "row-8", cache.rows.generation)
    cache.invalidate()
    assert cache.get(7) is None and cache.get(8) is None


def test_rows_expire_even_without_notices(cache):
    cache.rows.max_age = 0.0
    cache.rows.put(7, "row-7", cache.rows.generation)
    assert cache.get(7) is None


# -- verified tokens ----------------------------------------------------------------------------


@pytest.fixture
def settings() -> Settings:
    return Settings(
        rac_env="test",
        jwt_secret="unit-test-secret-0123456789abcdef-0123456789",
        jwt_key_id="k1",
        session_minutes=60,
    )


def test_a_remembered_token_still_expires(settings):
    with clock.frozen_at(NOW):
        token, _ = auth.issue_token(settings, user_id=42, session_version=1)
        assert auth.decode_token(settings, token).user_id == 42
    with clock.frozen_at(NOW + timedelta(minutes=61)):
        with pytest.raises(auth.InvalidToken):
            auth.decode_token(settings, token)


def test_a_remembered_token_is_not_accepted_under_other_keys(settings):
    with clock.frozen_at(NOW):
        token, _ = auth.issue_token(settings, user_id=42, session_version=1)
        auth.decode_token(settings, token)
        rotated = settings.model_copy(update={"jwt_secret": "another-secret-0123456789abcdef-01"})
        with pytest.raises(auth.InvalidToken):
            auth.decode_token(rotated, token)
        other_audience = settings.model_copy(update={"jwt_audience": "another-platform"})
        with pytest.raises(auth.InvalidToken):
            auth.decode_token(other_audience, token)


# -- inbox read model ---------------------------------------------------------------------------


class Fetches:
    def __init__(self, model: InboxReadModel | None = None, event_during_fetch=None):
        self.count = 0
        self.model = model
        self.event_during_fetch = event_during_fetch

    def __call__(self) -> dict:
        self.count += 1
        if self.event_during_fetch is not None:
            self.model._on_event(self.event_during_fetch)
        return {"unread": self.count, "messages": []}


@pytest.fixture
def inbox() -> InboxReadModel:
    model = InboxReadModel("memory://")
    model.feed.connected = True  # as if its event queue were consumed
    return model


def test_the_inbox_is_fetched_once_then_served_from_the_copy(inbox):
    fetch = Fetches()
    assert inbox.inbox(5, fetch)["unread"] == 1
    assert inbox.inbox(5, fetch)["unread"] == 1
    assert fetch.count == 1
    assert inbox.cached(5) == {"unread": 1, "messages": []}


def test_an_event_for_the_user_drops_the_copy(inbox):
    fetch = Fetches()
    inbox.inbox(5, fetch)
    inbox.inbox(6, fetch)
    inbox._on_event(InboxMessageAdded(user_id=5, notification_id=1))
    assert inbox.cached(5) is None
    assert inbox.cached(6) is not None
    assert inbox.inbox(5, fetch)["unread"] == 3


def test_an_answer_overtaken_by_an_event_is_not_kept(inbox):
    fetch = Fetches(inbox, InboxMessageAdded(user_id=5, notification_id=1))
    inbox.inbox(5, fetch)
    assert inbox.cached(5) is None


def test_without_the_event_feed_every_read_goes_to_the_service(inbox):
    inbox.feed._set_connected(False)
    fetch = Fetches()
    inbox.inbox(5, fetch)
    inbox.inbox(5, fetch)
    assert fetch.count == 2
    assert inbox.cached(5) is None


def test_losing_the_event_feed_drops_every_copy(inbox):
    inbox.inbox(5, Fetches())
    inbox.feed._set_connected(False)
    inbox.feed._set_connected(True)
    assert inbox.cached(5) is None
