"""Helpers for tests and the demo: actors, directory entries, sample estimates, plan events
and an in-memory database."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.clock import MONTREAL
from rac_shared.events import (
    PlanAccepted,
    PlanCancelled,
    PlanCandidateAbandoned,
    PlanMilestoneReached,
)
from services.billing.models import Base, TaxRate
from services.billing.pricing import DEFAULT_RATES

LEVIS, CMV, CISSS, BOULANGERIE = 2, 3, 5, 6

ORGANISATIONS = {
    LEVIS: {
        "id": LEVIS,
        "kind": "cegep",
        "name": "Cégep de Lévis",
        "code": "CLV",
        "address": "205, route Monseigneur-Bourget, Lévis (Québec)  G6V 6Z9",
    },
    CMV: {
        "id": CMV,
        "kind": "cegep",
        "name": "Cégep Marie-Victorin",
        "code": "CMV",
        "address": "7000, rue Marie-Victorin, Montréal (Québec)  H1G 2J6",
    },
    CISSS: {
        "id": CISSS,
        "kind": "employer",
        "name": "CISSS de Chaudière-Appalaches",
        "code": "CCA",
        "address": "363, route Cameron, Sainte-Marie (Québec)  G6E 3E2",
    },
    BOULANGERIE: {
        "id": BOULANGERIE,
        "kind": "employer",
        "name": "Boulangerie Saint-Méthode inc.",
        "code": "BSM",
        "address": "14, rue Principale, Saint-Bernard (Québec)  G0S 2G0",
    },
}


def actor(role: Role, organisation_id: int, user_id: int = 100) -> Actor:
    kind = ORGANISATIONS.get(organisation_id, {}).get("kind")
    if role in (Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST, Role.MINISTRY_EVALUATOR):
        kind = "ministry"
    return Actor(
        user_id=user_id,
        role=role,
        organisation_id=organisation_id,
        organisation_kind=OrganisationKind(kind or "employer"),
        full_name="Personne de test",
    )


LEVIS_RAC = actor(Role.RAC_COORDINATOR, LEVIS, 6)
CMV_RAC = actor(Role.RAC_COORDINATOR, CMV, 9)
CISSS_HR = actor(Role.EMPLOYER_REPRESENTATIVE, CISSS, 13)
BAKERY = actor(Role.EMPLOYER_REPRESENTATIVE, BOULANGERIE, 14)
MINISTRY = actor(Role.MINISTRY_ANALYST, 1, 2)


def plan_ref(plan_id: int = 1, version: int = 1, **overrides) -> dict:
    return {
        "plan_id": plan_id,
        "version": version,
        "reference": f"PMO-CLV-2026-{plan_id:03d}",
        "institution_id": LEVIS,
        "employer_id": CISSS,
        "candidate_count": 3,
        "accepted_version": None,
        **overrides,
    }


def estimate_spec(**overrides) -> dict:
    """A realistic estimate for three candidate-workers (AEC in health care)."""
    return {
        "lines": [
            {
                "category": "advisory",
                "description": "Démarchage et élaboration du plan de mise en œuvre",
                "quantity": "12",
                "unit": "heures",
                "unit_price": "95.00",
                "tax": "taxable",
            },
            {
                "category": "administrative",
                "description": "Documents contextualisés, facturation et communications",
                "quantity": "1",
                "unit": "forfait",
                "unit_price": "750.00",
                "tax": "taxable",
            },
            {
                "category": "accompaniment",
                "description": "Accompagnement des candidats-travailleurs",
                "quantity": "30",
                "unit": "heures",
                "unit_price": "85.00",
                "tax": "taxable",
            },
            {
                "category": "evaluation",
                "description": "Évaluation des compétences de l'AEC",
                "quantity": "3",
                "unit": "candidat-travailleur",
                "unit_price": "1200.00",
                "tax": "exempt",
            },
            {
                "category": "abandonment",
                "description": "Frais d'abandon après l'entrevue de validation",
                "quantity": "1",
                "unit": "personne",
                "unit_price": "250.00",
                "tax": "taxable",
            },
        ],
        "installments": [
            {
                "label": "Acompte à l'acceptation",
                "percent": "30",
                "amount": None,
                "due": {"kind": "milestone", "milestone": "acceptance", "offset_days": 0},
            },
            {
                "label": "Rencontre d'accueil",
                "percent": "40",
                "amount": None,
                "due": {"kind": "milestone", "milestone": "welcome_meeting", "offset_days": 0},
            },
            {
                "label": "Fin des évaluations",
                "percent": "30",
                "amount": None,
                "due": {"kind": "milestone", "milestone": "end_of_evaluations", "offset_days": 0},
            },
        ],
        "payment_term_days": 30,
        "refund_conditions": (
            "En cas d'interruption, la part de l'accompagnement et des évaluations non réalisée "
            "est remboursée au prorata."
        ),
        "abandonment_fee": "250.00",
        **overrides,
    }


def accepted(plan_id: int = 1, version: int = 1, on: date = date(2026, 9, 1), **kw):
    return PlanAccepted(
        plan_id=plan_id,
        version=version,
        reference=kw.get("reference", f"PMO-CLV-2026-{plan_id:03d}"),
        institution_id=kw.get("institution_id", LEVIS),
        employer_id=kw.get("employer_id", CISSS),
        accepted_at=datetime.combine(on, time(14, 30), tzinfo=MONTREAL),
        accepted_by="Julie Morin",
    )


def milestone(plan_id: int, name: str, on: date, version: int = 1, **kw):
    return PlanMilestoneReached(
        plan_id=plan_id,
        version=version,
        institution_id=kw.get("institution_id", LEVIS),
        employer_id=kw.get("employer_id", CISSS),
        milestone=name,
        reached_on=on,
    )


def abandoned(plan_id: int, candidate_id: int, on: date, ratio: str, after: bool = True, **kw):
    return PlanCandidateAbandoned(
        plan_id=plan_id,
        version=kw.get("version", 1),
        institution_id=kw.get("institution_id", LEVIS),
        employer_id=kw.get("employer_id", CISSS),
        candidate_id=candidate_id,
        abandoned_on=on,
        after_validation_interview=after,
        work_done_ratio=ratio,
        full_name=kw.get("full_name", ""),
    )


def cancelled(plan_id: int, on: date, **kw):
    return PlanCancelled(
        plan_id=plan_id,
        version=kw.get("version", 1),
        reference=kw.get("reference", f"PMO-CLV-2026-{plan_id:03d}"),
        institution_id=kw.get("institution_id", LEVIS),
        employer_id=kw.get("employer_id", CISSS),
        cancelled_on=on,
        cancelled_by_party="employer",
        reason=kw.get("reason", "Réorganisation du service"),
        candidates=kw.get("candidates", []),
    )


def seed_rates(session: Session) -> None:
    for rate in DEFAULT_RATES:
        session.add(
            TaxRate(
                name=rate.name,
                rate=rate.rate,
                valid_from=rate.valid_from,
                valid_to=rate.valid_to,
                compounded=rate.compounded,
            )
        )
    session.flush()


def memory_session() -> Session:
    """A fresh in-memory SQLite database with billing's tables and Québec's tax rates."""
    engine = create_engine("sqlite://")

    @event.listens_for(engine, "connect")
    def _fk(dbapi_connection, _record):  # pragma: no cover - trivial
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    Base.metadata.create_all(engine)
    session = sessionmaker(bind=engine, expire_on_commit=False)()
    session.info["service"] = "billing"
    session.info["metadata"] = Base.metadata
    seed_rates(session)
    session.commit()
    return session


def money(text: str) -> Decimal:
    return Decimal(text)


def seed_due_installments(
    session: Session, *, institution_id: int, code: str, employer_id: int, count: int, due: date
) -> int:
    """``count`` installments of one institution due on ``due``, written straight into the
    database as ``count`` accepted single-installment plans would have left them (for the
    concurrency tests and the benchmark). Returns the estimate id they share."""
    from rac_shared.clock import clock
    from services.billing.models import Estimate, Installment, Organisation

    assert count < 1_000_000, "plan ids of the seeded installments would collide"
    now = clock.now()
    session.add(
        Organisation(
            id=institution_id,
            kind="cegep",
            code=code,
            name=f"Cégep d'essai {code}",
            address="",
            updated_at=now,
        )
    )
    taxes = [
        {"name": "TPS", "rate": "0.05", "base": "100.00", "amount": "5.00"},
        {"name": "TVQ", "rate": "0.09975", "base": "100.00", "amount": "9.98"},
    ]
    estimate = Estimate(
        plan_id=institution_id,
        version=1,
        reference=f"PMO-{code}",
        institution_id=institution_id,
        employer_id=employer_id,
        candidate_count=1,
        status="frozen",
        priced_on=due,
        subtotal=Decimal("100.00"),
        taxable_base=Decimal("100.00"),
        taxes=taxes,
        total=Decimal("114.98"),
        payment_term_days=30,
        refund_conditions="",
        abandonment_fee=Decimal("0.00"),
        abandonment_fee_taxable=True,
        revision=1,
        created_at=now,
        updated_at=now,
    )
    session.add(estimate)
    session.flush()
    chunk = 10000
    for start in range(0, count, chunk):
        session.execute(
            Installment.__table__.insert(),
            [
                {
                    "plan_id": 1_000_000_000 + (institution_id % 1000) * 1_000_000 + n,
                    "version": 1,
                    "estimate_id": estimate.id,
                    "position": 1,
                    "count": 1,
                    "label": f"Versement {n}",
                    "institution_id": institution_id,
                    "employer_id": employer_id,
                    "subtotal": Decimal("100.00"),
                    "taxable_base": Decimal("100.00"),
                    "taxes": taxes,
                    "amount": Decimal("114.98"),
                    "due_kind": "date",
                    "milestone": None,
                    "offset_days": 0,
                    "due_on": due,
                    "status": "scheduled",
                }
                for n in range(start, min(start + chunk, count))
            ],
        )
    return estimate.id


def listed_invoice(
    session: Session,
    number: str,
    total: str,
    due_on: date,
    issued_on: date,
    paid: str = "0.00",
    institution_id: int = LEVIS,
    employer_id: int = CISSS,
) -> None:
    """An invoice as the lists read it (no estimate, no schedule): for list tests."""
    from services.billing.models import Invoice

    sequence = int(number.rsplit("-", 1)[-1])
    parties = {"institution": ORGANISATIONS[institution_id], "employer": ORGANISATIONS[employer_id]}
    session.add(
        Invoice(
            number=number,
            kind="installment",
            institution_id=institution_id,
            employer_id=employer_id,
            plan_id=1,
            plan_reference="PLAN-CLV-2026-001",
            version=1,
            fiscal_year=issued_on.year,
            sequence=sequence,
            issued_on=issued_on,
            due_on=due_on,
            payment_term_days=30,
            lines=[{"description": "Versement"}],
            subtotal=Decimal(total),
            taxes=[],
            total=Decimal(total),
            parties=parties,
            created_at=datetime.combine(issued_on, time(9), MONTREAL),
            paid_total=Decimal(paid),
            credited_total=Decimal("0.00"),
        )
    )


def listed_credit_note(
    session: Session, number: str, total: str, issued_on: date, applied: str = "0.00"
) -> None:
    """A credit note of the Cégep de Lévis to the CISSS, as the lists read it."""
    from services.billing.models import CreditNote

    sequence = int(number.rsplit("-", 1)[-1])
    session.add(
        CreditNote(
            number=number,
            reason_kind="abandonment",
            reason="Abandon d'un candidat-travailleur",
            source_key=f"test:{number}",
            institution_id=LEVIS,
            employer_id=CISSS,
            plan_id=1,
            plan_reference="PLAN-CLV-2026-001",
            fiscal_year=issued_on.year,
            sequence=sequence,
            issued_on=issued_on,
            lines=[],
            subtotal=Decimal(total),
            taxes=[],
            total=Decimal(total),
            parties={"institution": ORGANISATIONS[LEVIS], "employer": ORGANISATIONS[CISSS]},
            created_at=datetime.combine(issued_on, time(9), MONTREAL),
            applied_total=Decimal(applied),
        )
    )
