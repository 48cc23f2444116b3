"""A list's reply kept by ``@cached_reply`` (rac_shared/reply_cache.py) on PostgreSQL, where
the database's generation is bumped by its triggers: served again while nothing changed
(one statement), read afresh after any committed change by anyone (another connection's
raw SQL, a TRUNCATE), never after an uncommitted one, and never to another actor."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, pool, text
from sqlalchemy.orm import Session

from gateway.rpc_client import RpcClient, RpcRemoteError
from rac_shared.actor import Role
from rac_shared.clock import clock
from rac_shared.errors import DomainError, invalid
from rac_shared.reply_cache import KeptReply, Serialised, read_generation
from rac_shared.rpc import rpc as platform_rpc
from services.applications.service import ApplicationsService
from services.applications.testing import ANALYST
from services.billing.service import BillingService
from services.billing.testing import CISSS, LEVIS_RAC, actor
from services.plans.service import PlansService
from tests.service.test_list_queries import (
    NOW,
    TODAY,
    seed_applications,
    seed_billing,
    seed_plans,
    statements_of,
)
from tests.support.pages import ServiceRpc

CISSS_RH = actor(Role.EMPLOYER_REPRESENTATIVE, CISSS, 9)
# What a later migration must extend: the tables no list shows carry no trigger.
UNTRACKED = {"alembic_version", "data_generation", "outbox", "processed_events", "job_runs"}


@pytest.fixture
def plans(service_database):
    factory = service_database("plans", postgres=True)
    session = factory()
    other = create_engine(factory.url, poolclass=pool.NullPool)  # another writer
    try:
        yield ServiceRpc(PlansService, session, today=TODAY), session, other
    finally:
        session.close()
        other.dispose()


def listed(rpc, who=LEVIS_RAC) -> tuple[int, list[str]]:
    rpc.session.expunge_all()  # as a worker's own session: nothing loaded before
    with clock.frozen_at(NOW):
        statements, reply = statements_of(rpc, "list_plans", who, query={})
    return statements, [row["program"] for row in reply["items"]]


def test_a_list_is_served_again_until_a_committed_change_by_anyone(plans):
    rpc, session, other = plans
    seed_plans(session, 3)
    first, programs = listed(rpc)
    assert first == 1 + 2 and len(programs) == 3  # the generation, then the count and page
    again, same = listed(rpc)
    assert again == 1 and same == programs  # the generation only: the kept reply

    # Raw SQL from another connection, not the service: the trigger still bumps.
    with other.begin() as connection:
        connection.execute(text("UPDATE plans SET program_title = 'Soins infirmiers'"))
    changed, now_shown = listed(rpc)
    assert changed == 3 and all("Soins infirmiers" in p for p in now_shown), now_shown

    # An uncommitted change is not shown, nor kept as if it were.
    connection = other.connect()
    transaction = connection.begin()
    connection.execute(text("DELETE FROM plan_versions"))
    connection.execute(text("DELETE FROM plans"))
    during, still = listed(rpc)
    assert during == 1 and len(still) == 3
    transaction.commit()
    connection.close()
    after, gone = listed(rpc)
    assert after == 3 and gone == []

    seed_plans(session, 2)
    assert len(listed(rpc)[1]) == 2
    with other.begin() as connection:
        connection.execute(text("TRUNCATE plans CASCADE"))
    assert listed(rpc)[1] == []


def test_a_generation_read_on_a_lost_connection_is_made_again_on_a_new_one(plans):
    """The read runs on the driver's connection, out of SQLAlchemy's sight: a connection
    the server dropped is taken out of the pool and the read made again through
    SQLAlchemy (which maps a database that is really away to 503)."""
    _, session, other = plans
    engine = create_engine(session.get_bind().url, pool_size=1, max_overflow=0)
    try:
        reader = Session(engine)
        before = read_generation(reader)
        with other.begin() as connection:  # the server ends the pool's connection
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                    "current_database() AND pid <> pg_backend_pid() AND application_name = ''"
                    " AND backend_type = 'client backend'"
                )
            )
        assert read_generation(reader) == before
        assert read_generation(reader) == before  # the new connection is the pool's now
    finally:
        engine.dispose()


def test_a_kept_reply_is_only_for_the_actor_it_was_read_for(plans):
    rpc, session, _ = plans
    seed_plans(session, 4)  # half issued to the CISSS, half drafts
    assert len(listed(rpc, LEVIS_RAC)[1]) == 4
    statements, employers = listed(rpc, CISSS_RH)
    assert statements == 3 and len(employers) == 2  # read for the employer: issued ones only
    assert listed(rpc, CISSS_RH)[0] == 1 and listed(rpc, LEVIS_RAC)[0] == 1


def test_a_calls_applications_are_kept_too(service_database):
    session = service_database("applications", postgres=True)()
    try:
        call_id = seed_applications(session, 5)
        rpc = ServiceRpc(ApplicationsService, session, today=TODAY)
        for method in ("list_applications", "applications_table"):
            with clock.frozen_at(NOW):
                first, reply = statements_of(rpc, method, ANALYST, call_id=call_id)
                again, same = statements_of(rpc, method, ANALYST, call_id=call_id)
            assert first > 1 and again == 1 and same == reply, method
        session.execute(text("UPDATE applications SET region = 'Estrie'"))
        session.commit()
        session.expunge_all()
        with clock.frozen_at(NOW):
            changed, reply = statements_of(rpc, "list_applications", ANALYST, call_id=call_id)
        assert changed > 1 and {row["region"] for row in reply["items"]} == {"Estrie"}
    finally:
        session.close()


def tables_and_triggered(url: str) -> tuple[set[str], set[str]]:
    """The database's tables, and those carrying the generation's trigger."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            tables = connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
            triggered = connection.execute(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgname = 'data_generation_bump'"
                )
            ).scalars()
            return set(tables), set(triggered)
    finally:
        engine.dispose()


def test_every_data_table_bumps_the_generation(plans, service_database):
    """A table that lists may show must carry the trigger (a new table needs a migration
    adding it): the plans, applications and billing databases."""
    rpc, session, other = plans
    tables, triggered = tables_and_triggered(other.url.render_as_string(hide_password=False))
    assert "plan_versions" in triggered and triggered == tables - UNTRACKED - {"plan_tasks"}
    tables, triggered = tables_and_triggered(service_database("applications", postgres=True).url)
    assert "applications" in triggered and triggered == tables - UNTRACKED
    tables, triggered = tables_and_triggered(service_database("billing", postgres=True).url)
    assert "invoices" in triggered and triggered == tables - UNTRACKED - {"billing_tasks"}


def test_invoices_and_credit_notes_are_kept_too(service_database):
    session = service_database("billing", postgres=True)()
    try:
        seed_billing(session, 4)
        rpc = ServiceRpc(BillingService, session, today=TODAY)
        for method in ("list_invoices", "invoices_page", "list_credit_notes"):
            with clock.frozen_at(NOW):
                first, reply = statements_of(rpc, method, LEVIS_RAC)
                again, same = statements_of(rpc, method, LEVIS_RAC)
            assert first > 1 and again == 1 and same == reply, method
        session.execute(text("UPDATE invoices SET total = total + 1"))
        session.commit()
        session.expunge_all()
        with clock.frozen_at(NOW):
            changed, reply = statements_of(rpc, "list_invoices", LEVIS_RAC)
        assert changed > 1 and reply != same
    finally:
        session.close()


class Replying:
    """A service on the platform's ``@rpc`` (``rac_shared.rpc``): its responder serialises a
    reply once, and sends a kept reply's JSON text as it is."""

    name = "replying"

    @platform_rpc
    def kept(self) -> dict:
        return Serialised(KeptReply.of({"items": ["Cégep de Lévis", 2026], "count": 2}))

    @platform_rpc
    def plain(self) -> dict:
        return {"montant": "250 000,00 $"}

    @platform_rpc
    def unserialisable(self) -> dict:
        return Serialised(object())

    @platform_rpc
    def refused(self) -> dict:
        raise invalid("Montant supérieur au plafond.")


def test_replies_cross_the_bus_serialised_once(container_factory, rabbit_config):
    container = container_factory(Replying, rabbit_config)
    container.start()
    client = RpcClient(rabbit_config["AMQP_URI"], timeout=5.0)
    client.start()
    try:
        assert client.wait_ready(10)
        assert client.call("replying", "kept") == {"items": ["Cégep de Lévis", 2026], "count": 2}
        assert client.call("replying", "plain") == {"montant": "250 000,00 $"}
        with pytest.raises(DomainError) as refused:
            client.call("replying", "refused")
        assert refused.value.message == "Montant supérieur au plafond."
        with pytest.raises(RpcRemoteError):  # as nameko: the caller hears it, no hang
            client.call("replying", "unserialisable")
    finally:
        client.stop()
