"""Every list an analyst works from asks its database a fixed number of statements, whatever
its size: the statements each service runs for one page of the list are counted (a
SQLAlchemy ``before_cursor_execute`` listener on the service's engine) at 1 row and at 50
rows, and must be the same. The list is called as the gateway calls it: the service's own
entrypoint, arguments validated and reply serialised by its contract (``ServiceRpc``),
over the service's migrated database.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from rac_shared import reply_cache
from rac_shared.clock import clock
from services.applications.models import (
    Application,
    Call,
    CeracRecord,
    CeracReport,
    ReportVersion,
)
from services.applications.service import ApplicationsService
from services.applications.testing import ANALYST, CMV_DG
from services.applications.testing import LEVIS_RAC as APPLICATIONS_LEVIS
from services.billing.models import FundingCerac, FundingDisbursement, OperatingAllocation
from services.billing.service import BillingService
from services.billing.testing import LEVIS, LEVIS_RAC, listed_credit_note, listed_invoice
from services.billing.testing import MINISTRY as BILLING_MINISTRY
from services.plans.models import Plan, PlanVersion
from services.plans.service import PlansService
from tests.support.pages import ServiceRpc

NOW = datetime(2026, 9, 20, 14, 0, tzinfo=UTC)
TODAY = date(2026, 9, 20)
SIZES = (1, 50)

# The figures (README, Performance): each list's statements for one page, at any size.
EXPECTED = {
    "plans": 2,
    "invoices": 2,
    "invoices_page": 8,  # the list (2), installments to invoice, employers, cancelled plans
    "credit_notes": 2,
    "funding_allocations": 2,
    "applications": 3,
    "applications_table": 7,  # the call, counts, decisions, regions; the call, count, page
    "reports": 2,
    "calls": 2,
    "ceracs": 1,  # the network is short: read once, matched and paged in Python
}


@contextmanager
def counted(session):
    """The statements the session's engine runs inside the block, the generation's read
    (``@cached_reply``) included."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def read_generation(session):  # a statement on a driver's connection, not seen above
        generation = reading(session)
        if generation is not None:
            statements.append(reply_cache.GENERATION_SQL)
        return generation

    engine, reading = session.get_bind(), reply_cache.read_generation
    event.listen(engine, "before_cursor_execute", count)
    reply_cache.read_generation = read_generation
    try:
        yield statements
    finally:
        reply_cache.read_generation = reading
        event.remove(engine, "before_cursor_execute", count)


def statements_of(rpc: ServiceRpc, method: str, actor, **arguments) -> tuple[int, dict]:
    with counted(rpc.session) as statements:
        reply = rpc.call(rpc.service_cls.name, method, actor=actor.model_dump(mode="json"),
                         **arguments)  # fmt: skip
    return len(statements), reply


# -- seeding (the lists' rows, as their own service stores them) -------------------------------


def seed_plans(session, count: int) -> None:
    for n in range(count):
        issued = n % 2 == 0
        plan = Plan(
            reference=f"PLAN-CLV-2026-{n + 1:03d}",
            institution_id=LEVIS,
            institution_kind="cegep",
            institution_code="CLV",
            employer_id=5,
            employer_name="CISSS de Chaudière-Appalaches",
            program_code="JEE0K",
            program_title="Techniques d'éducation à l'enfance",
            status="issued" if issued else "draft",
            current_version=1,
            ever_issued=issued,
            created_by_user_id=6,
            created_at=NOW,
            updated_at=NOW + timedelta(minutes=n),
        )
        plan.versions.append(
            PlanVersion(
                number=1,
                status="issued" if issued else "draft",
                content={"competencies": [], "closure_dates": [], "candidates": []},
                created_at=NOW,
                updated_at=NOW,
                acceptance_deadline=NOW + timedelta(days=30 - n % 20) if issued else None,
                content_hash=f"{count}-{n}" if issued else None,  # set when issued
            )
        )
        session.add(plan)
    session.commit()


def seed_billing(session, count: int) -> None:
    for n in range(count):
        listed_invoice(
            session,
            f"CLV-2026-{n + 1:04d}",
            "100.00",
            TODAY + timedelta(days=n - 10),
            TODAY - timedelta(days=40 - n % 30),
            paid="100.00" if n % 3 == 0 else "0.00",
        )
        listed_credit_note(
            session,
            f"NC-CLV-2026-{n + 1:04d}",
            "50.00",
            TODAY - timedelta(days=n),
            applied="50.00" if n % 2 else "0.00",
        )
    cerac = FundingCerac(
        cerac_id=1,
        organisation_id=LEVIS,
        name="Cégep de Lévis",
        education_order="collégial",
        mandate_parts=["offer"],
        experimentation_years=["2013-2014"],
        designated_on=date(2013, 5, 31),
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(cerac)
    for n in range(count):
        allocation = OperatingAllocation(
            cerac_id=1,
            fiscal_year=f"{2000 + n}-{2001 + n}",
            amount=Decimal("1000.00"),
            recorded_by_user_id=1,
            recorded_on=date(2026, 4, 1),
            created_at=NOW,
        )
        allocation.disbursements.append(
            FundingDisbursement(
                cerac_id=1,
                fiscal_year=allocation.fiscal_year,
                position=1,
                due_on=TODAY + timedelta(days=n - 5),
                amount=Decimal("1000.00"),
            )
        )
        session.add(allocation)
    session.commit()


def seed_applications(session, count: int) -> int:
    call = Call(
        title="Appel d'intérêt 2026",
        education_orders=["collégial"],
        launch_date=date(2026, 1, 10),
        deadline_date=date(2026, 3, 31),
        experimentation_years=["2026-2027"],
        status="published",
        created_by_user_id=1,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(call)
    session.flush()
    for n in range(count):
        submitted = n % 2 == 0
        session.add(
            Application(
                call_id=call.id,
                organisation_id=100 + n,
                organisation_name=f"Établissement n° {n + 1}",
                organisation_kind="cegep",
                education_order="collégial",
                region="Montréal",
                status="submitted" if submitted else "draft",
                created_by_user_id=6,
                created_at=NOW,
                updated_at=NOW,
                submitted_at=NOW - timedelta(days=n) if submitted else None,
                reference=f"DR-2026-{n + 1:03d}" if submitted else None,
            )
        )
    for n in range(count):
        record = CeracRecord(
            id=n + 1,
            organisation_id=CMV_DG.organisation_id if n == 0 else 1000 + n,
            organisation_name=f"CERAC n° {n + 1}",
            education_order="collégial",
            mandate_parts=["offer"],
            experimentation_years=["2026-2027"],
            designated_on=date(2026, 5, 31),
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(record)
        report = CeracReport(
            cerac_id=record.id if n else 1,
            kind="yearly",
            period_key=f"annee:{n}",
            period_label="2026-2027",
            experimentation_year="2026-2027",
            due_date=date(2027, 9, 30) - timedelta(days=n),
            status="submitted" if n % 2 else "draft",
            versions_count=1 if n % 2 else 0,
            created_at=NOW,
            updated_at=NOW,
        )
        if n % 2:
            report.versions.append(
                ReportVersion(
                    number=1,
                    content={},
                    due_date=report.due_date,
                    submitted_at=NOW,
                    submitted_by_user_id=7,
                    submitted_by_name="Nathalie Ouellet",
                )
            )
        session.add(report)
    session.commit()
    return call.id


# -- the counts ---------------------------------------------------------------------------------


def check(rpc: ServiceRpc, size: int, key: str, method: str, actor, rows, **arguments) -> dict:
    """The list at ``size`` rows runs exactly ``EXPECTED[key]`` statements (so as many at 1
    row as at 50), and shows ``size`` rows."""
    with clock.frozen_at(NOW):
        statements, reply = statements_of(rpc, method, actor, **arguments)
    assert len(rows(reply)) == size, (key, size)
    assert statements == EXPECTED[key], (key, size, statements)
    return reply


@pytest.mark.parametrize("size", SIZES)
def test_the_plans_list_runs_the_same_statements_at_1_and_50_rows(service_database, size):
    session = service_database("plans")()
    seed_plans(session, size)
    rpc = ServiceRpc(PlansService, session, today=TODAY)
    page = check(rpc, size, "plans", "list_plans", LEVIS_RAC, lambda r: r["items"], query={})
    assert page["count"] == size and page["items"][0]["awaiting_acceptance"]  # work first
    # The calendar of every running plan (an institution's /calendrier), whatever their number.
    # The plans' versions and the abandonments, two statements; the first read computes each
    # issued version's periods from its plan and content (two more); then they are kept
    # under the version's hash.
    for expected in (4, 2):
        session.expunge_all()  # as a worker's own session: nothing loaded before
        with clock.frozen_at(NOW):
            statements, events = statements_of(rpc, "calendar", LEVIS_RAC, query={})
        assert statements == expected, (expected, statements)
        assert len(events) == (size + 1) // 2  # each offer's acceptance deadline
    session.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_billing_lists_run_the_same_statements_at_1_and_50_rows(service_database, size):
    session = service_database("billing")()
    seed_billing(session, size)
    rpc = ServiceRpc(BillingService, session, today=TODAY)
    items = lambda r: r["items"]  # noqa: E731
    check(rpc, size, "invoices", "list_invoices", LEVIS_RAC, items, query={})
    check(rpc, size, "invoices", "list_invoices", LEVIS_RAC, items, query={"sort": "solde"})
    check(rpc, size, "invoices_page", "invoices_page", LEVIS_RAC, lambda r: r["listing"]["items"])
    check(rpc, size, "credit_notes", "list_credit_notes", LEVIS_RAC, items, query={})
    for who in (LEVIS_RAC, BILLING_MINISTRY):
        check(rpc, size, "funding_allocations", "list_funding_allocations", who, items)
    session.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_applications_lists_run_the_same_statements_at_1_and_50_rows(service_database, size):
    session = service_database("applications")()
    call_id = seed_applications(session, size)
    rpc = ServiceRpc(ApplicationsService, session, today=TODAY)
    items = lambda r: r["items"]  # noqa: E731
    check(rpc, size, "applications", "list_applications", ANALYST, items, call_id=call_id)
    for sort in ("organisation", "-region", "-submitted_at"):
        check(rpc, size, "applications", "list_applications", ANALYST, items, call_id=call_id,
              query={"sort": sort})  # fmt: skip
    check(rpc, size, "applications_table", "applications_table", ANALYST,
          lambda r: r["listing"]["items"], call_id=call_id)  # fmt: skip
    check(rpc, size, "reports", "list_reports", ANALYST, items)
    # The calls: one page at a time, as many as an institution with years of applications.
    for n in range(1, size):
        session.add(
            Call(title=f"Appel d'intérêt {2026 - n}", education_orders=["collégial"],
                 launch_date=date(2026 - n, 1, 10), deadline_date=date(2026 - n, 3, 31),
                 experimentation_years=[f"{2026 - n}-{2027 - n}"], status="closed",
                 created_by_user_id=1, created_at=NOW, updated_at=NOW)
        )  # fmt: skip
    session.commit()
    shown = check(rpc, size, "calls", "list_calls", APPLICATIONS_LEVIS, items)
    assert [c["deadline_date"][:4] for c in shown["items"]][:2] == ["2026", "2025"][:size]
    if size > 1:  # the next page, from its cursor: the rest, nothing twice
        with clock.frozen_at(NOW):
            first = rpc.call("applications", "list_calls", actor=ANALYST.model_dump(mode="json"),
                             query={"limit": size - 1})  # fmt: skip
            rest = rpc.call("applications", "list_calls", actor=ANALYST.model_dump(mode="json"),
                            query={"limit": size - 1, "cursor": first["next_cursor"]})  # fmt: skip
        assert [c["id"] for c in first["items"] + rest["items"]] == [
            c["id"] for c in shown["items"]
        ]
        assert rest["next_cursor"] is None
    own = check(rpc, 1, "reports", "list_reports", CMV_DG, items)  # its CERAC's one report
    assert own["count"] == 1
    check(rpc, size, "ceracs", "network_ceracs", APPLICATIONS_LEVIS, lambda r: r["ceracs"]["items"])
    session.close()
