"""Costs incurred on a cancelled plan (seed 004, annex A, 1 d) through billing's domain
functions on an in-memory database: what may be recorded against the estimate's lines (per
candidate-worker on the evaluation line), the refusals that change nothing, the final
invoice (gapless number, dated taxes, rounded once, credit left applied), and its
idempotence."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from rac_shared.clock import clock
from rac_shared.contracts.billing import CostsIncurredIn, EstimateSpec, PaymentIn, PlanRef
from rac_shared.errors import DomainError
from rac_shared.events import CancelledPlanCandidate, PlanCancelled
from services.billing import cancellation as C
from services.billing import estimates as E
from services.billing import invoicing, schedule, settlements
from services.billing import payments as PM
from services.billing.models import (
    CancellationCosts,
    CreditNote,
    Invoice,
    InvoiceCounter,
    TaxRate,
)
from services.billing.testing import (
    BAKERY,
    CISSS,
    CISSS_HR,
    CMV_RAC,
    LEVIS,
    LEVIS_RAC,
    ORGANISATIONS,
    abandoned,
    accepted,
    cancelled,
    estimate_spec,
    memory_session,
    milestone,
    plan_ref,
)

D = Decimal
PARTIES = {"institution": ORGANISATIONS[LEVIS], "employer": ORGANISATIONS[CISSS]}
PEOPLE = [(11, "Émilie Roy"), (12, "Louis Caron"), (13, "Anne Cloutier")]
CANCELLED_ON = date(2026, 11, 10)
RECORDED_ON = date(2026, 11, 15)


@pytest.fixture
def session():
    session = memory_session()
    yield session
    session.close()


def candidates(people=PEOPLE) -> list[CancelledPlanCandidate]:
    return [CancelledPlanCandidate(candidate_id=i, full_name=name) for i, name in people]


def plan_until_cancelled(session, *, people=PEOPLE, cancelled_on=CANCELLED_ON, before=None):
    """The sample estimate (3 candidate-workers, 8 040,00 $ before taxes) accepted on
    1 September 2026, its acceptance and welcome-meeting installments invoiced (30 % and
    40 %), then cancelled; ``before`` runs just before the cancellation."""
    with clock.frozen_at(date(2026, 8, 20)):
        estimate = E.save_estimate(
            session, LEVIS_RAC, PlanRef(**plan_ref()), EstimateSpec(**estimate_spec()), PARTIES
        )
        E.freeze(estimate)
        session.commit()
    with clock.frozen_at(date(2026, 9, 1)):
        schedule.accept_plan(session, accepted(1, 1, date(2026, 9, 1)))
        invoicing.issue_due_batch(session, date(2026, 9, 1))
        session.commit()
    with clock.frozen_at(date(2026, 10, 1)):
        schedule.milestone_reached(session, milestone(1, "welcome_meeting", date(2026, 10, 1)))
        invoicing.issue_due_batch(session, date(2026, 10, 1))
        session.commit()
    if before is not None:
        before()
    with clock.frozen_at(cancelled_on):
        settlements.cancel_plan(session, cancelled(1, cancelled_on, candidates=candidates(people)))
        session.commit()


def costs(*items) -> CostsIncurredIn:
    return CostsIncurredIn.model_validate({"items": list(items)})


def record(session, *items, actor=LEVIS_RAC, on=RECORDED_ON):
    with clock.frozen_at(on):
        result = C.record_costs(session, actor, 1, costs(*items))
        session.commit()
        return result


def refused(session, *items, actor=LEVIS_RAC, on=RECORDED_ON) -> DomainError:
    with clock.frozen_at(on), pytest.raises(DomainError) as error:
        C.record_costs(session, actor, 1, costs(*items))
    session.rollback()
    return error.value


def invoice_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Invoice))


def counters(session) -> dict:
    return {(c.kind, c.fiscal_year): c.last_number for c in session.scalars(select(InvoiceCounter))}


SAMPLE = (
    {"line": 3, "quantity": "6"},  # accompaniment hours since the welcome meeting
    {"line": 4, "candidate_id": 11, "quantity": "0.5"},
    {"line": 4, "candidate_id": 12, "quantity": "0.25"},
)


# -- what may be recorded ---------------------------------------------------------------------


def test_the_page_shows_the_installments_kept_and_each_line_with_its_maximum(session):
    plan_until_cancelled(session)
    with clock.frozen_at(RECORDED_ON):
        view = C.costs_view(session, LEVIS_RAC, 1)
    assert view["state"] == "open" and view["cancelled_on"] == "2026-11-10"
    assert [k["invoice_number"] for k in view["kept_installments"]] == [
        "CLV-2026-0001",
        "CLV-2026-0002",
    ]
    # 8 040,00 $ before taxes, of which 2 412,00 + 3 216,00 billed by the two installments.
    assert (view["estimate_subtotal"], view["covered"], view["room"]) == (
        "8040.00",
        "5628.00",
        "2412.00",
    )
    lines = {line["line"]: line for line in view["lines"]}
    assert sorted(lines) == [1, 2, 3, 4]  # the conditional abandonment fee is not a cost
    assert (lines[3]["quantity"], lines[3]["maximum"], lines[3]["per_candidate"]) == (
        "30",
        "30",
        False,
    )
    evaluation = lines[4]
    assert evaluation["per_candidate"] and evaluation["maximum"] == "1"  # one per person
    assert [p["full_name"] for p in evaluation["people"]] == [name for _, name in PEOPLE]
    assert view["record"] is None and not view["people_unknown"]


def test_allowances_split_a_per_candidate_line_and_skip_conditional_and_zero_lines():
    class Line:
        def __init__(self, position, category, quantity, amount):
            self.position, self.category = position, category
            self.description, self.unit, self.unit_price, self.tax = "x", "u", D("10"), "taxable"
            self.quantity, self.amount = D(quantity), D(amount)

    lines = [
        Line(1, "accompaniment", "30", "300"),
        Line(2, "evaluation", "4", "40"),
        Line(3, "abandonment", "1", "10"),
        Line(4, "other", "0", "0"),
    ]
    people = [C.Person(1, "A"), C.Person(2, "B", date(2026, 10, 1))]
    known = C.allowances(lines, 4, people, abandoned=1)
    assert [(a.position, a.maximum, a.per_candidate) for a in known] == [
        (1, D("30"), False),
        (2, D("1"), True),
    ]
    unknown = C.allowances(lines, 4, None, abandoned=1)
    assert unknown[1].maximum == D("3") and not unknown[1].per_candidate  # 4 less 1 abandoned


# -- refusals change nothing ------------------------------------------------------------------


def test_a_quantity_above_the_estimate_is_refused_line_by_line(session):
    plan_until_cancelled(session)
    before = (invoice_count(session), counters(session))
    error = refused(
        session,
        {"line": 3, "quantity": "31"},
        {"line": 4, "candidate_id": 11, "quantity": "1.5"},
    )
    assert error.code == "invalid"
    assert error.message == "2 quantités inscrites sont refusées : le motif suit chacune d'elles."
    assert error.details["items.0.quantity"] == (
        "La quantité inscrite à la ligne « Accompagnement des candidats-travailleurs » (31) "
        "dépasse la quantité prévue à l'estimation (30, unité : heures)."
    )
    assert "Émilie Roy" in error.details["items.1.quantity"]
    assert "(1,5)" in error.details["items.1.quantity"]
    assert (invoice_count(session), counters(session)) == before
    assert session.scalar(select(func.count()).select_from(CancellationCosts)) == 0


def test_lines_and_people_that_cannot_be_billed_are_refused(session):
    plan_until_cancelled(session)
    cases = [
        ({"line": 5, "quantity": "1"}, "frais d'abandon"),  # conditional line
        ({"line": 9, "quantity": "1"}, "n'existe pas"),
        ({"line": 4, "quantity": "1"}, "indiquez la quantité de chaque personne"),
        ({"line": 4, "candidate_id": 99, "quantity": "1"}, "ne fait pas partie du plan annulé"),
        ({"line": 3, "candidate_id": 11, "quantity": "1"}, "ne se facture pas par candidat"),
    ]
    for item, expected in cases:
        error = refused(session, item)
        assert expected in error.details["items.0.quantity"], (item, error.details)
    twice = refused(session, {"line": 3, "quantity": "1"}, {"line": 3, "quantity": "2"})
    assert "inscrite deux fois" in twice.details["items.1.quantity"]
    nothing = refused(session, {"line": 3, "quantity": "0"})
    assert nothing.message.startswith("Inscrivez au moins une quantité")
    assert invoice_count(session) == 2


def test_a_total_above_what_the_estimate_still_allows_is_refused(session):
    plan_until_cancelled(session)
    # 12 h × 95 + 750 + 10 h × 85 = 2 740,00 $, each line within the estimate, but only
    # 2 412,00 $ remain once the two installments are billed.
    error = refused(
        session,
        {"line": 1, "quantity": "12"},
        {"line": 2, "quantity": "1"},
        {"line": 3, "quantity": "10"},
    )
    assert error.message == (
        "Les coûts engagés inscrits (2\xa0740,00\xa0$ avant taxes) dépassent ce que "
        "l'estimation permet encore de facturer (2\xa0412,00\xa0$) : l'estimation s'élève à "
        "8\xa0040,00\xa0$ avant taxes, dont 5\xa0628,00\xa0$ déjà facturés par les versements "
        "exigibles avant l'annulation."
    )
    assert invoice_count(session) == 2


def test_a_candidate_worker_who_abandoned_is_settled_by_the_abandonment(session):
    def abandon():
        with clock.frozen_at(date(2026, 10, 20)):
            settlements.record_abandonment(session, abandoned(1, 13, date(2026, 10, 20), "0.5"))
            session.commit()

    plan_until_cancelled(session, before=abandon)
    with clock.frozen_at(RECORDED_ON):
        people = C.costs_view(session, LEVIS_RAC, 1)["lines"][3]["people"]
    assert [p["abandoned_on"] for p in people] == [None, None, "2026-10-20"]
    error = refused(session, {"line": 4, "candidate_id": 13, "quantity": "0.5"})
    assert "Anne Cloutier a abandonné la démarche le 20 octobre 2026" in error.message


def test_only_the_plans_institution_records_and_only_after_an_accepted_plan_is_cancelled(
    session,
):
    plan_until_cancelled(session)
    assert refused(session, *SAMPLE, actor=CMV_RAC).code == "not_found"
    assert refused(session, *SAMPLE, actor=CISSS_HR).code == "forbidden"
    assert refused(session, *SAMPLE, actor=BAKERY).code == "forbidden"
    with clock.frozen_at(RECORDED_ON), pytest.raises(DomainError) as error:
        C.costs_view(session, CMV_RAC, 1)
    assert error.value.code == "not_found"

    # Another plan, accepted but not cancelled; a third, cancelled before its acceptance.
    with clock.frozen_at(date(2026, 8, 20)):
        for plan_id in (2, 3):
            estimate = E.save_estimate(
                session,
                LEVIS_RAC,
                PlanRef(**plan_ref(plan_id)),
                EstimateSpec(**estimate_spec()),
                PARTIES,
            )
            E.freeze(estimate)
        session.commit()
    with clock.frozen_at(date(2026, 9, 1)):
        schedule.accept_plan(session, accepted(2, 1, date(2026, 9, 1)))
        settlements.cancel_plan(session, cancelled(3, date(2026, 9, 1)))
        session.commit()
    with clock.frozen_at(RECORDED_ON):
        for plan_id, expected in ((2, "n'est pas annulé"), (3, "avant d'être accepté")):
            view = C.costs_view(session, LEVIS_RAC, plan_id)
            assert view["state"] == "unavailable" and expected in view["unavailable"]
            with pytest.raises(DomainError) as error:
                C.record_costs(session, LEVIS_RAC, plan_id, costs(*SAMPLE))
            assert error.value.code == "conflict" and expected in error.value.message
            session.rollback()


# -- the final invoice ------------------------------------------------------------------------


def outbox(session, event_type: str) -> list[dict]:
    table = session.info["metadata"].tables["outbox"]
    rows = session.execute(select(table.c.body).where(table.c.event_type == event_type)).all()
    return [row.body["payload"] for row in rows]


def test_the_final_invoice_bills_the_quantities_at_the_estimates_prices(session):
    plan_until_cancelled(session)
    row, created = record(session, *SAMPLE)
    assert created
    invoice = session.get(Invoice, row.invoice_id)
    assert invoice.kind == "cancellation_costs"
    assert invoice.number == "CLV-2026-0003"  # the next number after the two installments
    assert invoice.issued_on == RECORDED_ON and invoice.due_on == date(2026, 12, 15)
    # 6 h × 85,00 (taxable) + 0,75 evaluation × 1 200,00 (exempt), each line rounded once.
    assert [(line["quantity"], line["amount"]) for line in invoice.lines] == [
        ("6", "510.00"),
        ("0.75", "900.00"),
    ]
    assert invoice.subtotal == D("1410.00")
    assert [(t["name"], t["base"], t["amount"]) for t in invoice.taxes] == [
        ("TPS", "510.00", "25.50"),
        ("TVQ", "510.00", "50.87"),  # 510 × 9,975 % = 50,8725
    ]
    assert invoice.total == D("1486.37")
    # The employer's invoice never names a candidate-worker; the record keeps the parts.
    assert not any(name in str(invoice.lines) for _, name in PEOPLE)
    assert row.items == [
        {"line": 3, "candidate_id": None, "quantity": "6"},
        {"line": 4, "candidate_id": 11, "quantity": "0.5"},
        {"line": 4, "candidate_id": 12, "quantity": "0.25"},
    ]
    [event] = [p for p in outbox(session, "invoice.issued") if p["invoice_id"] == invoice.id]
    assert event["number"] == "CLV-2026-0003" and event["total"] == "1486.37"
    with clock.frozen_at(RECORDED_ON):
        view = C.costs_view(session, LEVIS_RAC, 1)
    assert view["state"] == "recorded"
    assert view["record"]["invoice"]["number"] == "CLV-2026-0003"
    assert view["record"]["invoice"]["kind_label"] == "Coûts engagés avant l'annulation"
    recorded = {line["line"]: line for line in view["lines"]}
    assert recorded[3]["recorded"] == "6"
    assert [p["recorded"] for p in recorded[4]["people"]] == ["0,5", "0,25", None]


def test_recording_twice_bills_once(session):
    plan_until_cancelled(session)
    first, created = record(session, *SAMPLE)
    again, created_again = record(session, *reversed(SAMPLE))  # same quantities, other order
    assert created and not created_again and again.id == first.id
    assert invoice_count(session) == 3
    other = refused(session, {"line": 3, "quantity": "7"})
    assert other.code == "conflict"
    assert other.message == (
        "Les coûts engagés de ce plan ont déjà été facturés le 15 novembre 2026 (facture "
        "CLV-2026-0003). Une correction passe par une note de crédit."
    )
    assert invoice_count(session) == 3
    assert counters(session)[("invoice", 2026)] == 3  # no number taken by the refusals


def test_the_final_invoice_takes_the_taxes_in_force_on_its_date(session):
    plan_until_cancelled(session)
    session.add(TaxRate(name="TPS", rate=D("0.06"), valid_from=date(2026, 11, 12)))
    session.commit()
    row, _ = record(session, {"line": 3, "quantity": "6"})
    invoice = session.get(Invoice, row.invoice_id)
    assert [(t["name"], t["rate"], t["amount"]) for t in invoice.taxes] == [
        ("TPS", "0.06", "30.60"),
        ("TVQ", "0.09975", "50.87"),
    ]


def test_a_cancellation_learned_late_credits_the_installment_and_pays_the_final_invoice(
    session,
):
    """Cancelled on 15 September, learned once the welcome-meeting installment was invoiced
    (1 October) and both invoices paid: that installment was not incurred, so it is credited,
    the estimate allows more, and the credit owed back pays the final invoice first."""

    def pay_both():
        with clock.frozen_at(date(2026, 10, 20)):
            for invoice in session.scalars(select(Invoice)).all():
                PM.record_payment(
                    session,
                    LEVIS_RAC,
                    invoice.id,
                    PaymentIn(paid_on=date(2026, 10, 20), amount=invoice.total, method="cheque"),
                )
            session.commit()

    plan_until_cancelled(session, cancelled_on=date(2026, 9, 15), before=pay_both)
    [credit] = session.scalars(select(CreditNote)).all()
    assert credit.reason_kind == "cancellation" and credit.total == D("3481.96")
    assert credit.unapplied == D("3481.96")  # everything it could pay was paid
    with clock.frozen_at(RECORDED_ON):
        view = C.costs_view(session, LEVIS_RAC, 1)
    assert (view["covered"], view["room"]) == ("2412.00", "5628.00")
    assert [k["invoice_number"] for k in view["kept_installments"]] == ["CLV-2026-0001"]
    row, _ = record(session, {"line": 3, "quantity": "30"}, {"line": 1, "quantity": "12"})
    invoice = session.get(Invoice, row.invoice_id)
    assert invoice.subtotal == D("3690.00") and invoice.total == D("4242.58")
    assert invoice.credited_total == D("3481.96")
    assert invoice.balance == D("760.62")
    assert session.get(CreditNote, credit.id).unapplied == 0


def test_without_the_candidate_workers_the_evaluation_line_takes_one_quantity(session):
    plan_until_cancelled(session, people=[])  # a cancellation published before they were sent
    with clock.frozen_at(RECORDED_ON):
        view = C.costs_view(session, LEVIS_RAC, 1)
    assert view["people_unknown"]
    evaluation = view["lines"][3]
    assert not evaluation["per_candidate"] and evaluation["maximum"] == "3"
    row, _ = record(session, {"line": 4, "quantity": "1.5"})
    assert session.get(Invoice, row.invoice_id).subtotal == D("1800.00")


def test_an_old_cancellation_message_without_candidates_still_parses():
    payload = {
        "plan_id": 1,
        "version": 1,
        "reference": "PMO-CLV-2026-001",
        "institution_id": LEVIS,
        "employer_id": CISSS,
        "cancelled_on": "2026-11-10",
        "cancelled_by_party": "employer",
        "reason": "Réorganisation",
    }
    assert PlanCancelled.model_validate(payload).candidates == []
