"""The network figures each service keeps for the ministry's dashboard, computed by the
database (GROUP BY) on real tables: applications per call and status, CERACs per order,
plan offers per month with the acceptance rate, candidate-workers per program, amounts
invoiced and paid per month. Only the ministry may read them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.clock import clock
from rac_shared.contracts import ensure_ministry, optional_figures
from rac_shared.errors import DomainError
from services.applications import figures as application_figures
from services.applications.models import Application, Call
from services.billing import figures as billing_figures
from services.billing.models import CreditNote, Invoice, Payment
from services.plans import figures as plan_figures
from services.plans.jobs import process_deadlines
from services.plans.models import PlanCandidate
from services.scoring import figures as scoring_figures
from services.scoring.models import Base as ScoringBase
from services.scoring.models import Cerac
from tests.unit.test_plans_domain import accept, at, fill, issue, new_plan
from tests.unit.test_plans_domain import session as plans_session  # noqa: F401

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
ANALYST = Actor(user_id=2, role=Role.MINISTRY_ANALYST, organisation_id=1,
                organisation_kind=OrganisationKind.MINISTRY)  # fmt: skip
COORDINATOR = Actor(user_id=6, role=Role.RAC_COORDINATOR, organisation_id=2,
                    organisation_kind=OrganisationKind.CEGEP)  # fmt: skip
EMPLOYER = Actor(user_id=13, role=Role.EMPLOYER_REPRESENTATIVE, organisation_id=5,
                 organisation_kind=OrganisationKind.EMPLOYER)  # fmt: skip


def memory(base):
    engine = create_engine("sqlite://")
    base.metadata.create_all(engine)
    session = sessionmaker(bind=engine, expire_on_commit=False)()
    session.info["metadata"] = base.metadata
    return session


def test_only_the_ministry_reads_the_network_figures():
    ensure_ministry(ANALYST)
    for outsider in (COORDINATOR, EMPLOYER):
        with pytest.raises(DomainError) as refused:
            ensure_ministry(outsider)
        assert refused.value.code == "forbidden"
        assert "réservés au Ministère" in refused.value.message


# -- applications -----------------------------------------------------------------------------


def test_applications_are_counted_per_call_and_status_with_the_admissibility_decision():
    from services.applications.models import Base

    session = memory(Base)

    def call(title, status):
        row = Call(title=title, education_orders=["collégial"], launch_date=date(2012, 9, 4),
                   deadline_date=date(2012, 12, 21), experimentation_years=["2013-2014"],
                   status=status, version=1, created_by_user_id=1, created_at=NOW,
                   updated_at=NOW)  # fmt: skip
        session.add(row)
        session.flush()
        return row

    first, second = call("Appel 2012-2013", "closed"), call("Appel 2026", "published")
    call("Appel en préparation", "draft")  # not shown: not published
    for index, (status, admissibility) in enumerate(
        [("draft", None), ("submitted", None), ("submitted", "recevable"),
         ("submitted", "recevable"), ("submitted", "non_recevable"), ("withdrawn", None)]
    ):  # fmt: skip
        session.add(Application(call_id=first.id, organisation_id=100 + index,
                                organisation_name=f"Cégep {index}", organisation_kind="cegep",
                                status=status, admissibility=admissibility,
                                created_by_user_id=1, created_at=NOW, updated_at=NOW))  # fmt: skip
    session.commit()

    figures = application_figures.network_figures(session)

    by_call = {c["call_title"]: c for c in figures["applications_per_call"]}
    assert set(by_call) == {"Appel 2012-2013", "Appel 2026"}
    assert by_call["Appel 2012-2013"]["counts"] == {
        "draft": 1, "submitted": 1, "complements": 0, "recevable": 2, "non_recevable": 1,
        "withdrawn": 1,
    }  # fmt: skip
    assert by_call["Appel 2012-2013"]["total"] == 6
    assert by_call["Appel 2026"]["total"] == 0  # published, no application yet
    assert figures["total"] == 6
    assert [s["label"] for s in figures["statuses"]][3:5] == ["Recevable", "Non recevable"]
    assert second.id == by_call["Appel 2026"]["call_id"]


# -- scoring ----------------------------------------------------------------------------------


def test_ceracs_are_counted_per_education_order_with_the_maximum_of_three():
    session = memory(ScoringBase)
    for index, order in enumerate(["collégial", "collégial", "secondaire"]):
        session.add(Cerac(evaluation_id=index + 1, call_id=1, organisation_id=10 + index,
                          organisation_name=f"Établissement {index}", education_order=order,
                          mandate_parts=["offer", "quality", "development"],
                          experimentation_years=["2013-2014"], designated_on=date(2013, 5, 31),
                          created_at=NOW))  # fmt: skip
    session.commit()

    figures = scoring_figures.network_figures(session)

    assert figures["ceracs_per_order"] == [
        {"education_order": "secondaire", "label": "Ordre secondaire", "count": 1},
        {"education_order": "collégial", "label": "Ordre collégial", "count": 2},
    ]
    assert figures["total"] == 3 and figures["max_per_order"] == 3


def test_no_cerac_yet_still_lists_both_orders():
    figures = scoring_figures.network_figures(memory(ScoringBase))
    assert [o["count"] for o in figures["ceracs_per_order"]] == [0, 0]


# -- plans ------------------------------------------------------------------------------------


def test_plan_offers_per_month_acceptance_rate_and_candidates_per_program(plans_session):  # noqa: F811
    session = plans_session
    accepted = fill(session, new_plan(session))
    issue(session, accepted, at(2026, 1, 10, 9, 0))
    accept(session, accepted, at(2026, 2, 2, 9, 0))
    lapsing = fill(session, new_plan(session, program_code="lca.5q", program_title="Soins"))
    issue(session, lapsing, at(2026, 1, 20, 9, 0))
    pending = fill(session, new_plan(session))
    issue(session, pending, at(2026, 3, 1, 9, 0))  # deadline not passed on March 15
    fill(session, new_plan(session))  # a draft: never an offer
    with clock.frozen_at(at(2026, 3, 15, 9, 0)):
        result = process_deadlines(session, date(2026, 3, 15), (7, 3))
        session.commit()
        assert result["lapsed"] == 1
        accepted.candidates[0].abandoned_on = date(2026, 3, 1)
        session.commit()
        figures = plan_figures.network_figures(session)

    assert figures["per_month"] == [
        {"month": "2026-01", "issued": 2, "accepted": 0, "lapsed": 0},
        {"month": "2026-02", "issued": 0, "accepted": 1, "lapsed": 1},
        {"month": "2026-03", "issued": 1, "accepted": 0, "lapsed": 0},
    ]
    # 1 accepted (its deadline has passed) ÷ (1 accepted + 1 lapsed); the pending offer waits.
    assert figures["acceptance"] == {"accepted": 1, "lapsed": 1, "declined": 0, "rate": 50.0}
    # Only plans that became contracts count their candidate-workers.
    assert figures["candidates_per_program"] == [
        {"program_code": "JEE.0K", "program_title": "Techniques d'éducation à l'enfance",
         "candidates": 2, "abandoned": 1, "plans": 1},
    ]  # fmt: skip
    assert figures["total"] == 4  # the plans page's figures are still in the same answer
    assert session.query(PlanCandidate).count() == 8


def test_an_offer_accepted_before_its_deadline_counts_once_the_deadline_has_passed(
    plans_session,  # noqa: F811
):
    session = plans_session
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 10, 9, 0))
    accept(session, plan, at(2026, 1, 12, 9, 0))
    with clock.frozen_at(at(2026, 1, 20, 9, 0)):
        assert plan_figures.network_figures(session)["acceptance"]["rate"] is None
    with clock.frozen_at(at(2026, 2, 20, 9, 0)):
        assert plan_figures.network_figures(session)["acceptance"]["rate"] == 100.0


# -- billing ----------------------------------------------------------------------------------


def _invoice(session, number, issued_on, total, paid="0.00"):
    invoice = Invoice(number=number, kind="installment", institution_id=2, employer_id=5,
                      plan_id=1, plan_reference="PMO-1", version=1, fiscal_year=2026,
                      sequence=int(number[-1]), issued_on=issued_on, due_on=issued_on,
                      payment_term_days=30, lines=[], subtotal=Decimal(total), taxes=[],
                      total=Decimal(total), parties={}, created_at=NOW,
                      paid_total=Decimal(paid))  # fmt: skip
    session.add(invoice)
    session.flush()
    return invoice


def test_amounts_invoiced_credited_and_paid_are_summed_per_month():
    from services.billing.models import Base

    session = memory(Base)
    first = _invoice(session, "F-1", date(2026, 1, 15), "1000.10", paid="1000.10")
    _invoice(session, "F-2", date(2026, 1, 31), "2000.25")
    _invoice(session, "F-3", date(2026, 4, 1), "500.00")
    session.add(Payment(invoice_id=first.id, institution_id=2, employer_id=5,
                        paid_on=date(2026, 2, 3), amount=Decimal("1000.10"),
                        method="transfer", source="manual", created_at=NOW))  # fmt: skip
    session.add(CreditNote(number="NC-1", reason_kind="abandonment", reason="Abandon",
                           source_key="abandonment:1", institution_id=2, employer_id=5,
                           plan_id=1, plan_reference="PMO-1", fiscal_year=2026, sequence=1,
                           issued_on=date(2026, 4, 2), lines=[], subtotal=Decimal("100.00"),
                           taxes=[], total=Decimal("100.00"), parties={},
                           created_at=NOW))  # fmt: skip
    session.commit()

    figures = billing_figures.network_figures(session)

    assert figures["per_month"] == [
        {"month": "2026-01", "invoiced": "3000.35", "credited": "0.00", "paid": "0.00"},
        {"month": "2026-02", "invoiced": "0.00", "credited": "0.00", "paid": "1000.10"},
        {"month": "2026-03", "invoiced": "0.00", "credited": "0.00", "paid": "0.00"},
        {"month": "2026-04", "invoiced": "500.00", "credited": "100.00", "paid": "0.00"},
    ]
    assert figures["totals"] == {"invoiced": "3500.35", "credited": "100.00", "paid": "1000.10"}
    assert figures["outstanding"] == "2500.25"


def test_billing_figures_without_any_invoice():
    from services.billing.models import Base

    figures = billing_figures.network_figures(memory(Base))
    assert figures["per_month"] == [] and figures["outstanding"] == "0.00"


class _Service:
    """Stands in for a nameko service instance (its other RPC methods, its session)."""

    class db:  # noqa: N801
        rolled_back = 0

        @classmethod
        def rollback(cls):
            cls.rolled_back += 1

    def funding_figures(self, actor, fiscal_year=None):
        if fiscal_year == "1999-2000":
            raise RuntimeError("boom")
        return {"fiscal_year": fiscal_year or "2025-2026"}


def test_a_missing_or_failing_part_of_the_figures_is_none_not_an_error():
    service = _Service()
    assert optional_figures(service, "funding_figures", {}) == {"fiscal_year": "2025-2026"}
    assert optional_figures(service, "funding_figures", {}, fiscal_year="2026-2027") == {
        "fiscal_year": "2026-2027"
    }
    assert optional_figures(service, "funding_figures", {}, fiscal_year="1999-2000") is None
    assert service.db.rolled_back == 1
    assert optional_figures(service, "reporting_figures", {}) is None
