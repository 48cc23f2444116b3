"""``rac demo`` at the clock of the 2012-2013 call, stopped half-way and run again.

The whole demo, in this process, on fresh SQLite databases: each service's steps on its own
database, the plans step calling billing and the directory through their entrypoints.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from rac import registry
from rac.demo import run_demo
from rac.migrate import migrate
from rac_shared import db as rac_db
from rac_shared.clock import MONTREAL, clock
from rac_shared.db import SessionFactory
from rac_shared.settings import reset_settings_cache

CALL_2012_CLOCK = datetime(2012, 12, 21, 10, 0, tzinfo=MONTREAL)


@pytest.fixture
def fresh_platform(tmp_path, monkeypatch):
    monkeypatch.setenv("RAC_ENV", "test")
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    for name in registry.service_names():
        monkeypatch.setenv(f"DATABASE_URL_{name.upper()}", f"sqlite:///{tmp_path / name}.db")
    reset_settings_cache()
    migrate()
    yield
    rac_db.dispose_engines()
    reset_settings_cache()


def plans_by_program() -> dict[str, list[str]]:
    from services.plans.models import Plan

    with SessionFactory("plans", registry.service("plans").metadata).transaction() as session:
        rows = session.execute(select(Plan.program_code, Plan.status)).all()
    found: dict[str, list[str]] = {}
    for code, status in rows:
        found.setdefault(code, []).append(status)
    return found


def counts() -> dict[str, int]:
    """Rows of what the demo makes, per service: a second run must not add any."""
    from gateway.models import AuditEntry
    from services.billing.models import CreditNote, Estimate, Installment, Invoice, Payment
    from services.plans.models import Plan, PlanVersion

    found = {}
    for service, models in {
        "plans": (Plan, PlanVersion),
        "billing": (Estimate, Installment, Invoice, CreditNote, Payment),
        "gateway": (AuditEntry,),
    }.items():
        with SessionFactory(service, registry.service(service).metadata).transaction() as session:
            for model in models:
                found[model.__name__] = session.scalar(select(func.count()).select_from(model))
    return found


def complement_requests() -> set[tuple[str, str, str]]:
    """The demo's « demandes de compléments »: (institution, application's status, request's)."""
    from services.applications.models import Application, ComplementRequest

    sessions = SessionFactory("applications", registry.service("applications").metadata)
    with sessions.transaction() as session:
        rows = session.execute(
            select(
                Application.organisation_name, Application.status, ComplementRequest.status
            ).join(ComplementRequest, ComplementRequest.application_id == Application.id)
        ).all()
    return {tuple(row) for row in rows}


def failing_once(monkeypatch, service_cls, method: str, message: str) -> None:
    """``service_cls.method`` raises once (a crash half-way through the demo), then works."""
    real = getattr(service_cls, method)
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(message)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(service_cls, method, failing)


def test_the_demo_at_the_2012_clock_resumes_after_failures_and_is_then_idempotent(
    fresh_platform, monkeypatch
):
    """Stopped in the middle of a plan's life (plans), then in the middle of billing's
    history of the plans (billing): each run completes what the last one left, nothing is
    made twice, and billing's invoices are those of the plans the plans step made."""
    from services.billing.models import CreditNote, Estimate, Invoice
    from services.billing.service import BillingService
    from services.plans.service import PlansService

    failing_once(monkeypatch, PlansService, "abandon_candidate", "panne simulée : plans")
    failing_once(
        monkeypatch, BillingService, "record_cancellation_costs", "panne simulée : facturation"
    )
    with clock.frozen_at(CALL_2012_CLOCK):
        with pytest.raises(RuntimeError, match="panne simulée : plans"):
            run_demo()
        half_made = plans_by_program()
        assert half_made["LCE.4P"] == ["accepted"]  # its candidate-worker not abandoned yet
        assert "LCE.4N" in half_made

        with pytest.raises(RuntimeError, match="panne simulée : facturation"):
            run_demo()  # the plans complete; billing stops before the costs incurred
        assert plans_by_program() == {
            "JEE.0K": ["issued"],
            "LCA.EJ": ["draft"],
            "LCE.4N": ["accepted"],
            "LCA.EM": ["declined"],
            "LCA.EN": ["declined"],  # and anonymised by the retention rule
            "LCE.4P": ["cancelled"],
        }

        summary = run_demo()
        assert "Plans de mise en œuvre : déjà présents." in summary
        assert "facture finale des coûts engagés" in summary
        assert "Financement : aucun CERAC désigné au 21 décembre 2012" in summary
        made = counts()
        from services.plans.models import Plan, PlanTask

        plans = SessionFactory("plans", registry.service("plans").metadata)
        with plans.transaction() as session:  # the draft's preview, rendered by the worker
            preview = session.execute(
                select(Plan.program_code, PlanTask.status, PlanTask.result)
                .join(PlanTask, PlanTask.plan_id == Plan.id)
                .where(PlanTask.kind == "preview")
            ).one()
        assert preview[:2] == ("LCA.EJ", "done") and preview[2].startswith(b"%PDF-")

        again = run_demo()
        demo_plan_has_its_courtesy_translation()
    assert "Plans de mise en œuvre : déjà présents." in again
    assert "Journal d'audit : 0 fait ajouté" in again
    assert counts() == made
    assert "Demandes de compléments : déjà présentes." in again
    assert complement_requests() == {
        ("Cégep Marie-Victorin", "submitted", "resumed"),
        ("Centre de services scolaire des Navigateurs", "complements", "pending"),
    }

    plan_ids = set(plans_ids())
    billing = SessionFactory("billing", registry.service("billing").metadata)
    with billing.transaction() as session:
        # Billing knows only the plans the plans service made.
        assert set(session.scalars(select(Estimate.plan_id))) <= plan_ids
        invoices = session.scalars(select(Invoice).order_by(Invoice.id)).all()
        assert {i.plan_id for i in invoices} <= plan_ids
        statuses = {(i.kind, i.paid_total == i.total) for i in invoices}
        assert ("cancellation_costs", False) in statuses and ("installment", True) in statuses
        assert any(i.due_on < CALL_2012_CLOCK.date() and not i.paid_total for i in invoices)
        # Issued once the Cégep's tax numbers were known (printed on every invoice).
        assert {i.parties["institution"]["gst_number"] for i in invoices} == {"123456789 RT0001"}
        [credit] = session.scalars(
            select(CreditNote).where(CreditNote.reason_kind == "abandonment")
        ).all()
        # Its notice waits in billing's outbox: the employer is told once the services run.
        outbox = registry.service("billing").metadata.tables["outbox"]
        notices = session.scalars(
            select(outbox.c.body).where(outbox.c.event_type == "credit_note.issued")
        ).all()
        [notice] = [n["payload"] for n in notices if n["payload"]["credit_note_id"] == credit.id]
        assert notice["reason_kind"] == "abandonment" and notice["applications"]
        # The 2012 estimates: TVQ 9,5 % on the price plus TPS.
        tps, tvq = session.scalars(select(Estimate.taxes)).first()
    assert tvq["rate"] == "0.095"
    assert tvq["base"] != tps["base"]


def plans_ids() -> list[int]:
    from services.plans.models import Plan

    with SessionFactory("plans", registry.service("plans").metadata).transaction() as session:
        return list(session.scalars(select(Plan.id)))


def demo_plan_has_its_courtesy_translation() -> None:
    """The demo's issued plan, in English for its employer (the document's HTML: the PDF
    and its download are the service's and the plans flow's tests)."""
    from rac_shared.actor import Actor, OrganisationKind, Role
    from services.plans import document, views
    from services.plans.models import Plan

    with SessionFactory("plans", registry.service("plans").metadata).transaction() as session:
        plan = session.scalar(select(Plan).where(Plan.program_code == "JEE.0K"))
        employer = Actor(user_id=1, role=Role.EMPLOYER_REPRESENTATIVE,
                         organisation_id=plan.employer_id,
                         organisation_kind=OrganisationKind.EMPLOYER)  # fmt: skip
        html = document.courtesy_translation_html(views.plan_view(session, plan, employer, 1))
    assert '<html lang="en-CA">' in html and "Cost estimate" in html
    assert "Traduction de courtoisie — seule la version française fait foi" in html
    assert "CISSS de Chaudière-Appalaches" in html


TODAY_CLOCK = datetime(2026, 12, 7, 10, 0, tzinfo=MONTREAL)


def network_and_funding() -> dict[str, object]:
    """What the applications (network), scoring and billing (funding) steps make."""
    from services.applications.models import (
        CeracRecord,
        CeracReport,
        ComplementRequest,
        SupportRequest,
    )
    from services.billing.models import FundingDisbursement, FundingProject
    from services.scoring.models import Assignment, Evaluation, Score

    found: dict[str, object] = {}
    for service, queries in {
        "applications": {
            "ceracs without account": select(func.count()).where(
                CeracRecord.organisation_id.is_(None)
            ),
            "reports": select(CeracReport.status, func.count()).group_by(CeracReport.status),
            "support": select(func.count()).select_from(SupportRequest),
            "complements": select(ComplementRequest.status, func.count()).group_by(
                ComplementRequest.status
            ),
        },
        "scoring": {
            "assignments": select(Assignment.status, func.count()).group_by(Assignment.status),
            "scores": select(func.count()).select_from(Score),
            "decisions": select(Evaluation.decision, func.count()).group_by(Evaluation.decision),
        },
        "billing": {
            "disbursements": select(FundingDisbursement.status, func.count()).group_by(
                FundingDisbursement.status
            ),
            "projects": select(FundingProject.status, func.count()).group_by(FundingProject.status),
        },
    }.items():
        metadata = registry.service(service).metadata
        with SessionFactory(service, metadata).transaction() as session:
            for name, query in queries.items():
                rows = session.execute(query).all()
                found[name] = dict(rows) if len(rows[0]) == 2 else rows[0][0]
            outbox = metadata.tables["outbox"]
            found[f"{service} events to publish"] = sorted(
                session.scalars(
                    select(outbox.c.event_type).where(outbox.c.published_at.is_(None))
                ).all()
            )
    return found


def test_calls_network_committee_and_funding_resume_through_the_services_entrypoints(
    fresh_platform, monkeypatch
):
    """Stopped while an institution answers a « demande de compléments » and while a
    CERAC's report is submitted (applications), while the committee scores (scoring) and
    while the ministry pays a disbursement (billing) — each step
    through its own service's RPC methods: each run completes what the last one left,
    nothing twice, and none of these past facts is left to be announced."""
    from services.applications.service import ApplicationsService
    from services.billing.service import BillingService
    from services.scoring.service import ScoringService

    failing_once(monkeypatch, ApplicationsService, "answer_complements", "panne simulée : appel")
    failing_once(monkeypatch, ScoringService, "save_scores", "panne simulée : évaluation")
    failing_once(monkeypatch, ApplicationsService, "submit_report", "panne simulée : réseau")
    failing_once(
        monkeypatch, BillingService, "pay_funding_disbursement", "panne simulée : financement"
    )
    with clock.frozen_at(TODAY_CLOCK):
        for message in ("appel", "évaluation", "réseau", "financement"):
            with pytest.raises(RuntimeError, match=f"panne simulée : {message}"):
                run_demo()
        summary = run_demo()
    assert "Financement 2026-2027 : 5 CERAC" in summary
    made = network_and_funding()
    # Billing's notices of the plans' invoices wait for the services; none of the funding.
    assert not [e for e in made.pop("billing events to publish") if e.startswith("funding.")]
    assert made == {
        "ceracs without account": 4,
        "reports": {"accepted": 9, "submitted": 1, "draft": 1},
        "support": 2,
        "complements": {"resumed": 1, "pending": 1},
        "assignments": {"submitted": 14},
        "scores": 84,
        "decisions": {"designated": 5, "not_designated": 2},
        "disbursements": {"paid": 17, "scheduled": 6},
        "projects": {"approved": 1, "submitted": 1},
        # The 2012-2015 facts are history: nobody is to be told of them now.
        "applications events to publish": [],
        "scoring events to publish": [],
    }
