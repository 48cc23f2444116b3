"""Billing through its domain functions on an in-memory database, the clock set to the dates
of a 2026-2027 workplace RAC project: estimates, due dates, invoices and their numbers,
payments and bank files, reminders, abandonment, cancellation, amendment, reports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from rac_shared.clock import clock
from rac_shared.contracts.billing import EstimateSpec, InvoiceQuery, PaymentIn, PlanRef
from rac_shared.copy import copy_column, copy_escape
from rac_shared.errors import DomainError
from services.billing import estimates as E
from services.billing import invoicing, numbering, schedule, settlements
from services.billing import payments as PM
from services.billing import reminders as RM
from services.billing import reports as R
from services.billing.models import (
    CreditNote,
    Estimate,
    ImmutableDocumentError,
    Installment,
    Invoice,
    Payment,
    TaxRate,
)
from services.billing.testing import (
    BAKERY,
    BOULANGERIE,
    CISSS,
    CISSS_HR,
    CMV,
    CMV_RAC,
    LEVIS,
    LEVIS_RAC,
    MINISTRY,
    ORGANISATIONS,
    abandoned,
    accepted,
    cancelled,
    estimate_spec,
    memory_session,
    milestone,
    plan_ref,
)
from services.billing.views import invoice_status

D = Decimal
PARTIES = {"institution": ORGANISATIONS[LEVIS], "employer": ORGANISATIONS[CISSS]}


@pytest.fixture
def session():
    session = memory_session()
    yield session
    session.close()


def save(session, plan_id=1, version=1, actor=LEVIS_RAC, spec=None, **plan):
    with clock.frozen_at(date(2026, 8, 20)):
        estimate = E.save_estimate(
            session,
            actor,
            PlanRef(**plan_ref(plan_id, version, **plan)),
            EstimateSpec(**(spec or estimate_spec())),
            PARTIES,
        )
        session.commit()
        return estimate


def accept(session, plan_id=1, version=1, on=date(2026, 9, 1)):
    estimate = E.find(session, plan_id, version)
    if estimate.status != "frozen":
        E.freeze(estimate)
    with clock.frozen_at(on):
        installments = schedule.accept_plan(session, accepted(plan_id, version, on))
        session.commit()
    return installments


def run(session, as_of: date) -> list[Invoice]:
    with clock.frozen_at(as_of):
        issued = []
        while batch := invoicing.issue_due_batch(session, as_of, batch_size=2):
            issued += batch
            session.commit()
        return issued


def pay(session, invoice, amount, on, actor=LEVIS_RAC, method="transfer"):
    with clock.frozen_at(on):
        payment = PM.record_payment(
            session,
            actor,
            invoice.id,
            PaymentIn(paid_on=on, amount=amount, method=method, reference="VIR-1"),
        )
        session.commit()
        return payment


def outbox(session, event_type: str) -> list[dict]:
    table = session.info["metadata"].tables["outbox"]
    rows = session.execute(select(table.c.body).where(table.c.event_type == event_type)).all()
    return [row.body["payload"] for row in rows]


# -- estimates --------------------------------------------------------------------------------


def test_saved_estimate_view_follows_the_contract(session):
    view = E.estimate_view(session, save(session))
    assert view["status"] == "draft"
    assert view["subtotal"] == "8040.00"  # abandonment line (250 $) is not in the total
    assert [(t["name"], t["amount"]) for t in view["taxes"]] == [
        ("TPS", "222.00"),
        ("TVQ", "442.89"),
    ]
    assert view["total"] == "8704.89"
    assert [i["amount"] for i in view["installments"]] == ["2611.47", "3481.96", "2611.46"]
    assert sum(D(i["amount"]) for i in view["installments"]) == D(view["total"])
    assert view["difference_with_accepted"] is None
    assert view["abandonment_fee"] == "250.00"
    evaluation = next(line for line in view["lines"] if line["category"] == "evaluation")
    assert evaluation["quantity"] == "3" and evaluation["amount"] == "3600.00"


def test_evaluation_quantity_is_the_candidate_count(session):
    spec = estimate_spec()
    spec["lines"][3]["quantity"] = "99"
    estimate = save(session, spec=spec, candidate_count=5)
    evaluation = next(line for line in estimate.lines if line.category == "evaluation")
    assert evaluation.quantity == 5 and evaluation.amount == D("6000.00")


def test_no_installments_means_one_payment_at_acceptance(session):
    view = E.estimate_view(session, save(session, spec=estimate_spec(installments=[])))
    [only] = view["installments"]
    assert only["amount"] == view["total"]
    assert only["due"] == {"kind": "milestone", "milestone": "acceptance", "offset_days": 0}


def test_schedule_over_100_percent_is_refused_and_the_draft_is_unchanged(session):
    save(session)
    spec = estimate_spec()
    spec["installments"][0]["percent"] = "40"  # 40 + 40 + 30 = 110 %
    spec["lines"][0]["unit_price"] = "1.00"
    with pytest.raises(DomainError) as error:
        save(session, spec=spec)
    session.rollback()
    assert "110 %" in error.value.message
    estimate = E.find(session, 1, 1)
    assert estimate.total == D("8704.89") and estimate.revision == 1
    assert estimate.lines[0].unit_price == D("95.00")


def test_frozen_estimate_never_changes(session):
    estimate = save(session)
    with clock.frozen_at(date(2026, 8, 21)):
        E.freeze_estimate(session, LEVIS_RAC, 1, 1)
        E.freeze_estimate(session, LEVIS_RAC, 1, 1)  # idempotent
        session.commit()
    with pytest.raises(DomainError) as error:
        save(session, spec=estimate_spec(payment_term_days=60))
    session.rollback()
    assert error.value.code == "conflict"
    assert "figée" in error.value.message
    assert E.find(session, 1, 1).payment_term_days == 30 and estimate.status == "frozen"


def test_only_the_plans_institution_edits_and_tenants_do_not_see_each_other(session):
    save(session)
    for intruder in (CMV_RAC, CISSS_HR, MINISTRY):
        with pytest.raises(DomainError) as error:
            save(session, actor=intruder)
        session.rollback()
        assert error.value.code == "forbidden"
    # Another institution claiming the plan for itself: the estimate stays invisible.
    with pytest.raises(DomainError) as error:
        save(session, actor=CMV_RAC, institution_id=CMV)
    session.rollback()
    assert error.value.code == "not_found"
    assert E.visible_estimate(session, CISSS_HR, 1, 1).id  # the employer reads it
    assert E.visible_estimate(session, MINISTRY, 1, 1).id
    for stranger in (CMV_RAC, BAKERY):
        with pytest.raises(DomainError):
            E.visible_estimate(session, stranger, 1, 1)


def test_revised_estimate_shows_the_difference_with_the_accepted_one(session):
    save(session)
    accept(session)
    spec = estimate_spec()
    spec["lines"][2]["quantity"] = "40"  # 10 more hours of accompaniment
    revised = save(session, version=2, spec=spec, accepted_version=1)
    difference = E.estimate_view(session, revised)["difference_with_accepted"]
    assert difference["accepted_version"] == 1
    assert difference["subtotal"] == "850.00"
    assert D(difference["total"]) == D(revised.total) - D("8704.89")
    lines = {line["category"]: line for line in difference["lines"]}
    assert lines["accompaniment"]["difference"] == "850.00"
    assert lines["advisory"]["difference"] == "0.00"
    html = E.estimate_html(session, revised)
    assert "Écart avec l'estimation acceptée (version 1)" in html
    assert "+850,00\xa0$" in html


def test_estimate_html_is_french_and_escaped(session):
    spec = estimate_spec()
    spec["lines"][0]["description"] = "<script>alert('x')</script> & conseil"
    html = E.estimate_html(session, save(session, spec=spec))
    assert html.startswith('<section class="estimate"')
    assert "<script>" not in html
    assert "&lt;script&gt;" in html and "&amp; conseil" in html
    assert "8\xa0704,89\xa0$" in html  # fr_CA money
    assert "TVQ (9,975 %)" in html
    assert "20 août 2026" in html


def test_the_abandonment_clause_states_a_fee_only_when_there_is_one(session):
    with_fee = E.estimate_html(
        session, save(session, spec={**estimate_spec(), "abandonment_fee": "250.00"})
    )
    assert "des frais d'abandon de\n    <strong>250,00\xa0$</strong>" in with_fee
    without = E.estimate_html(
        session, save(session, plan_id=2, spec={**estimate_spec(), "abandonment_fee": "0"})
    )
    assert "aucuns frais d'abandon ne sont facturés" in without
    assert "0,00\xa0$</strong>" not in without and "frais d'abandon de" not in without


def test_preview_computes_without_saving(session):
    view = E.preview(session, EstimateSpec(**estimate_spec()), 3)
    assert view["total"] == "8704.89"
    assert session.scalar(select(func.count()).select_from(Estimate)) == 0


# -- acceptance and due dates ---------------------------------------------------------------------


def test_acceptance_turns_the_schedule_into_due_dates_once(session):
    save(session)
    installments = accept(session)
    assert [(i.position, i.due_on) for i in installments] == [
        (1, date(2026, 9, 1)),
        (2, None),
        (3, None),
    ]
    assert accept(session) == []  # the same acceptance again: nothing new
    assert session.scalar(select(func.count()).select_from(Installment)) == 3
    with clock.frozen_at(date(2026, 10, 5)):
        assert schedule.milestone_reached(
            session, milestone(1, "welcome_meeting", date(2026, 10, 5))
        )
        session.commit()
    dates = session.scalars(select(Installment.due_on).order_by(Installment.position)).all()
    assert dates == [date(2026, 9, 1), date(2026, 10, 5), None]


def test_milestone_reached_before_acceptance_is_remembered(session):
    save(session)
    with clock.frozen_at(date(2026, 8, 25)):
        schedule.milestone_reached(session, milestone(1, "welcome_meeting", date(2026, 8, 25)))
        session.commit()
    installments = accept(session)
    assert installments[1].due_on == date(2026, 8, 25)


def test_offsets_and_fixed_dates(session):
    spec = estimate_spec(
        installments=[
            {
                "label": "30 jours après l'acceptation",
                "percent": "50",
                "due": {"kind": "milestone", "milestone": "acceptance", "offset_days": 30},
            },
            {"label": "Solde", "percent": "50", "due": {"kind": "date", "date": "2027-01-15"}},
        ]
    )
    save(session, spec=spec)
    assert [i.due_on for i in accept(session)] == [date(2026, 10, 1), date(2027, 1, 15)]


# -- invoicing ------------------------------------------------------------------------------------


def test_job_issues_each_due_installment_once_with_sequential_numbers(session):
    save(session)
    save(session, plan_id=2, employer_id=BOULANGERIE)
    accept(session, 1)
    accept(session, 2)
    assert run(session, date(2026, 8, 31)) == []  # nothing due yet
    first = run(session, date(2026, 9, 1))
    assert [i.number for i in first] == ["CLV-2026-0001", "CLV-2026-0002"]
    assert run(session, date(2026, 9, 1)) == []  # rerun: nothing twice
    for plan_id in (1, 2):
        with clock.frozen_at(date(2026, 10, 5)):
            schedule.milestone_reached(
                session, milestone(plan_id, "welcome_meeting", date(2026, 10, 5))
            )
            session.commit()
    second = run(session, date(2026, 10, 6))
    assert [i.number for i in second] == ["CLV-2026-0003", "CLV-2026-0004"]
    invoice = first[0]
    assert invoice.issued_on == date(2026, 9, 1) and invoice.due_on == date(2026, 10, 1)
    assert invoice.total == D("2611.47")
    assert invoice.subtotal + sum(D(t["amount"]) for t in invoice.taxes) == invoice.total
    assert invoice.parties["institution"]["code"] == "CLV"
    assert "versement 1 de 3" in invoice.lines[0]["description"]
    events = outbox(session, "invoice.issued")
    assert [e["number"] for e in events] == [f"CLV-2026-000{n}" for n in range(1, 5)]
    assert events[0]["total"] == "2611.47"


def test_numbers_restart_with_each_fiscal_year_per_institution(session):
    spec = estimate_spec(
        installments=[
            {"label": "Juin", "percent": "50", "due": {"kind": "date", "date": "2027-06-30"}},
            {"label": "Juillet", "percent": "50", "due": {"kind": "date", "date": "2027-07-01"}},
        ]
    )
    save(session, spec=spec)
    save(session, plan_id=2, spec=spec, institution_id=CMV, actor=CMV_RAC)
    E.upsert_organisation(session, ORGANISATIONS[CMV])
    accept(session, 1)
    with clock.frozen_at(date(2026, 9, 1)):
        schedule.accept_plan(session, accepted(2, 1, institution_id=CMV))
        session.commit()
    june = run(session, date(2027, 6, 30))
    july = run(session, date(2027, 7, 1))
    assert sorted(i.number for i in june) == ["CLV-2026-0001", "CMV-2026-0001"]
    assert sorted(i.number for i in july) == ["CLV-2027-0001", "CMV-2027-0001"]
    assert {i.fiscal_year for i in july} == {2027}


def test_issued_invoices_are_immutable(session):
    save(session)
    accept(session)
    [invoice] = run(session, date(2026, 9, 1))
    invoice.total = D("1.00")
    with pytest.raises(ImmutableDocumentError):
        session.flush()
    session.rollback()
    session.delete(session.get(Invoice, invoice.id))
    with pytest.raises(ImmutableDocumentError):
        session.flush()
    session.rollback()
    assert session.get(Invoice, invoice.id).total == D("2611.47")


def test_a_new_tax_rate_applies_to_invoices_issued_after_it(session):
    save(session)
    accept(session)
    session.add(TaxRate(name="TVQ", rate=D("0.10"), valid_from=date(2026, 9, 1)))
    session.commit()
    [invoice] = run(session, date(2026, 9, 1))
    taxes = {t["name"]: t for t in invoice.taxes}
    assert taxes["TVQ"]["rate"] == "0.10" and taxes["TVQ"]["amount"] == "133.20"  # 1332 × 10 %
    assert invoice.total == invoice.subtotal + D("66.60") + D("133.20")


# -- payments -------------------------------------------------------------------------------------


def issued_invoice(session):
    save(session)
    accept(session)
    [invoice] = run(session, date(2026, 9, 1))
    return invoice


def test_partial_payment_then_overdue_then_paid(session):
    invoice = issued_invoice(session)
    assert invoice_status(invoice, date(2026, 9, 2)) == "issued"
    pay(session, invoice, "1000.00", date(2026, 9, 15))
    assert invoice.balance == D("1611.47")
    assert invoice_status(invoice, date(2026, 10, 1)) == "partly_paid"  # due that day
    assert invoice_status(invoice, date(2026, 10, 2)) == "overdue"
    pay(session, invoice, "1611.47", date(2026, 10, 20))
    assert invoice_status(invoice, date(2026, 10, 21)) == "paid"
    events = outbox(session, "payment.recorded")
    assert [(e["amount"], e["balance"]) for e in events] == [
        ("1000.00", "1611.47"),
        ("1611.47", "0.00"),
    ]


def test_overpayment_and_bad_payments_are_refused_and_change_nothing(session):
    invoice = issued_invoice(session)
    cases = [
        (LEVIS_RAC, "2611.48", date(2026, 9, 15), "invalid", "trop-payés"),
        (LEVIS_RAC, "10.00", date(2026, 8, 31), "invalid", "précède la date d'émission"),
        (LEVIS_RAC, "10.00", date(2026, 9, 30), "invalid", "futur"),  # today is 15 Sept.
        (CMV_RAC, "10.00", date(2026, 9, 15), "not_found", "introuvable"),
        (CISSS_HR, "10.00", date(2026, 9, 15), "forbidden", "réservée aux établissements"),
    ]
    for who, amount, paid_on, code, message in cases:
        with clock.frozen_at(date(2026, 9, 15)), pytest.raises(DomainError) as error:
            PM.record_payment(
                session,
                who,
                invoice.id,
                PaymentIn(paid_on=paid_on, amount=amount, method="cheque"),
            )
        session.rollback()
        assert error.value.code == code, (who, amount)
        assert message in error.value.message
    assert session.scalar(select(func.count()).select_from(Payment)) == 0
    assert session.get(Invoice, invoice.id).paid_total == 0
    assert outbox(session, "payment.recorded") == []


def test_bank_file_import_all_or_nothing_and_idempotent(session):
    save(session)
    accept(session)
    with clock.frozen_at(date(2026, 10, 5)):
        schedule.milestone_reached(session, milestone(1, "welcome_meeting", date(2026, 10, 5)))
        session.commit()
    first, second = run(session, date(2026, 10, 5))
    good = (
        "Date;Montant;N° facture;Référence;Mode\n"
        f"2026-10-06;1 000,00;{first.number};VIR-889;virement\n"
        f"07/10/2026;1611,47;{first.number};VIR-890;dépôt\n"
        f"2026-10-07;500.00;{second.number};CHQ-12;chèque\n"
    )
    bad = good + "2026-10-07;abc;CLV-2026-0002;X;virement\n" + "2026-10-07;5;CMV-2026-0001;Y;\n"
    with clock.frozen_at(date(2026, 10, 8)):
        with pytest.raises(DomainError) as error:
            PM.import_payments(session, LEVIS_RAC, bad)
        session.rollback()
        assert "Aucun paiement n'a été enregistré" in error.value.message
        assert set(error.value.details) == {"ligne 5", "ligne 6"}
        assert "n'est pas un montant" in error.value.details["ligne 5"]
        assert "Aucune facture de votre établissement" in error.value.details["ligne 6"]
        assert session.scalar(select(func.count()).select_from(Payment)) == 0

        report = PM.import_payments(session, LEVIS_RAC, good)
        session.commit()
        assert (report["recorded"], report["skipped"]) == (3, 0)
        again = PM.import_payments(session, LEVIS_RAC, "\ufeff" + good)
        session.commit()
        assert (again["recorded"], again["skipped"]) == (0, 3)
    assert first.balance == 0 and second.balance == D("2981.96")
    methods = session.scalars(select(Payment.method).order_by(Payment.id)).all()
    assert methods == ["transfer", "deposit", "cheque"]


def test_bank_file_overpaying_across_lines_is_refused(session):
    invoice = issued_invoice(session)
    content = (
        "date,montant,facture\n"
        f"2026-09-10,2000.00,{invoice.number}\n"
        f"2026-09-11,700.00,{invoice.number}\n"
    )
    with clock.frozen_at(date(2026, 9, 15)), pytest.raises(DomainError) as error:
        PM.import_payments(session, LEVIS_RAC, content)
    assert "trop-payés" in error.value.details["ligne 3"]
    with pytest.raises(DomainError, match="colonnes"):
        PM.import_payments(session, LEVIS_RAC, "quand;combien\n2026-01-01;5\n")


# -- reminders ------------------------------------------------------------------------------------


def test_overdue_reminders_once_per_step(session):
    invoice = issued_invoice(session)  # due 2026-10-01
    steps = [7, 30]
    for as_of, expected in [
        (date(2026, 10, 7), 0),  # 6 days late
        (date(2026, 10, 8), 1),  # 7 days late: first reminder
        (date(2026, 10, 20), 0),
        (date(2026, 10, 31), 1),  # 30 days late: second reminder
        (date(2026, 12, 31), 0),
    ]:
        published, _ = RM.overdue_batch(session, as_of, steps)
        session.commit()
        assert published == expected, as_of
    reminders = outbox(session, "invoice.overdue")
    assert [(r["step"], r["days_late"], r["balance"]) for r in reminders] == [
        (7, 7, "2611.47"),
        (30, 30, "2611.47"),
    ]
    assert reminders[0]["number"] == invoice.number


def test_paid_invoices_get_no_reminder(session):
    invoice = issued_invoice(session)
    pay(session, invoice, "2611.47", date(2026, 9, 20))
    assert RM.overdue_batch(session, date(2026, 12, 1), [7, 30]) == (0, None)


# -- abandonment, cancellation, amendment ------------------------------------------------------


def test_abandonment_after_validation_interview(session):
    issued_invoice(session)
    with clock.frozen_at(date(2026, 10, 15)):
        result = settlements.record_abandonment(
            session, abandoned(1, 42, date(2026, 10, 14), "0.4", full_name="Nadia Fortin")
        )
        session.commit()
        assert (
            settlements.record_abandonment(session, abandoned(1, 42, date(2026, 10, 14), "0.4"))
            == {}
        )
        session.commit()
    fee, credit = result["invoice"], result["credit_note"]
    assert fee.kind == "abandonment_fee" and fee.number == "CLV-2026-0002"
    assert fee.subtotal == D("250.00") and fee.total == D("287.44")  # 250 + 12.50 + 24.94
    assert credit.number == "CLV-NC-2026-0001"
    assert credit.total == D("1306.37")  # 60 % of one third of accompaniment and evaluation
    assert "60 %" in credit.reason and "par Nadia Fortin le 14 octobre 2026" in credit.reason
    # Named as the plan names the candidate-worker, never by an internal number.
    [line] = fee.lines
    assert "(Nadia Fortin, le 14 octobre 2026)" in line["description"] and "42" not in str(line)
    # The credit pays what the plan owes first (the first invoice, then the fee).
    first = session.scalar(select(Invoice).where(Invoice.number == "CLV-2026-0001"))
    assert first.credited_total == D("1306.37") and credit.unapplied == 0
    assert session.scalar(select(func.count()).select_from(CreditNote)) == 1
    assert outbox(session, "credit_note.issued")[0]["total"] == "1306.37"


def test_abandonment_before_validation_interview_has_no_fee(session):
    issued_invoice(session)
    with clock.frozen_at(date(2026, 10, 15)):
        result = settlements.record_abandonment(
            session, abandoned(1, 43, date(2026, 9, 10), "0", after=False)
        )
        session.commit()
    assert "invoice" not in result
    assert result["credit_note"].subtotal == D("2050.00")  # (2550 + 3600) / 3


def test_unapplied_credit_pays_the_next_invoices(session):
    save(session)
    accept(session)  # nothing invoiced yet
    with clock.frozen_at(date(2026, 9, 2)):
        result = settlements.record_abandonment(
            session, abandoned(1, 44, date(2026, 9, 2), "0", after=False)
        )
        session.commit()
    credit = result["credit_note"]
    assert credit.applied_total == 0
    [invoice] = run(session, date(2026, 9, 3))
    assert invoice.credited_total == min(credit.total, invoice.total)
    assert session.get(CreditNote, credit.id).applied_total == invoice.credited_total


def test_cancellation_stops_the_schedule_and_credits_what_was_not_incurred(session):
    spec = estimate_spec(
        installments=[
            {"label": "Septembre", "percent": "50", "due": {"kind": "date", "date": "2026-09-01"}},
            {"label": "Novembre", "percent": "25", "due": {"kind": "date", "date": "2026-11-01"}},
            {
                "label": "Fin",
                "percent": "25",
                "due": {"kind": "milestone", "milestone": "end_of_evaluations"},
            },
        ]
    )
    save(session, spec=spec)
    accept(session)
    september, november = run(session, date(2026, 11, 1))
    pay(session, september, str(september.total), date(2026, 11, 2))
    pay(session, november, str(november.total), date(2026, 11, 2))
    # Cancelled on 15 October, learned later: the November installment was not incurred.
    with clock.frozen_at(date(2026, 11, 3)):
        result = settlements.cancel_plan(session, cancelled(1, date(2026, 10, 15)))
        session.commit()
        assert settlements.cancel_plan(session, cancelled(1, date(2026, 10, 15))) == {}
    assert result["cancelled_installments"] == 1  # the milestone one
    [credit] = result["credit_notes"]
    assert credit.total == november.total and credit.invoice_id == november.id
    assert credit.unapplied == november.total  # already paid: owed back to the employer
    statuses = session.scalars(select(Installment.status).order_by(Installment.position)).all()
    assert statuses == ["invoiced", "invoiced", "cancelled"]
    assert run(session, date(2027, 3, 1)) == []
    statement = R.statement(session, CISSS_HR)
    assert D(statement["balance"]) == -november.total


def test_cancellation_keeps_costs_incurred_to_be_invoiced(session):
    spec = estimate_spec(
        installments=[
            {"label": "Octobre", "percent": "50", "due": {"kind": "date", "date": "2026-10-01"}},
            {"label": "Décembre", "percent": "50", "due": {"kind": "date", "date": "2026-12-01"}},
        ]
    )
    save(session, spec=spec)
    accept(session)
    with clock.frozen_at(date(2026, 10, 20)):
        settlements.cancel_plan(session, cancelled(1, date(2026, 10, 20)))
        session.commit()
    issued = run(session, date(2026, 12, 31))
    assert [i.lines[0]["description"] for i in issued] == ["Octobre (versement 1 de 2)"]


def test_amendment_acceptance_replaces_the_schedule_and_credits_invoiced_amounts(session):
    save(session)
    accept(session)
    [first] = run(session, date(2026, 9, 1))
    spec = estimate_spec()
    spec["lines"][2]["quantity"] = "40"
    save(session, version=2, spec=spec, accepted_version=1)
    accept(session, version=2, on=date(2026, 11, 1))
    old = session.scalars(select(Installment).where(Installment.version == 1)).all()
    assert [i.status for i in old] == ["invoiced", "cancelled", "cancelled"]
    [credit] = session.scalars(select(CreditNote)).all()
    assert credit.reason_kind == "amendment" and credit.total == first.total
    [new_first] = run(session, date(2026, 11, 1))
    assert new_first.version == 2
    assert first.credited_total == first.total  # the credit settled the replaced invoice


# -- reports and scoping -----------------------------------------------------------------------


def test_aging_buckets(session):
    spec = estimate_spec(installments=[])
    due_days = [0, 1, 30, 31, 60, 61, 90, 91]
    for plan_id, _ in enumerate(due_days, start=1):
        save(session, plan_id=plan_id, spec=spec)
        accept(session, plan_id)
    invoices = run(session, date(2026, 9, 1))  # all due 2026-10-01
    as_of = date(2026, 10, 1)
    assert all(i.due_on == as_of for i in invoices)
    from datetime import timedelta

    with clock.frozen_at(date(2027, 3, 1)):
        for days in due_days:
            report = R.aging(session, LEVIS_RAC, as_of + timedelta(days=days))
            bucket = R.bucket_of(days)
            assert report["totals"][bucket] == report["totals"]["total"], days
    assert [R.bucket_of(d) for d in due_days] == [
        "current",
        "d1_30",
        "d1_30",
        "d31_60",
        "d31_60",
        "d61_90",
        "d61_90",
        "d90_plus",
    ]
    csv_text = R.aging_csv(R.aging(session, LEVIS_RAC, date(2026, 11, 15)))
    assert csv_text.startswith("\ufeffOrganisation;Factures;Courant (non échu);1 à 30 jours")
    assert "CISSS de Chaudière-Appalaches;8;0,00;0,00;69639,12;0,00;0,00;69639,12" in csv_text
    with pytest.raises(DomainError):
        R.aging(session, CISSS_HR)


def test_tenants_see_only_their_own_invoices(session):
    save(session)  # Lévis → CISSS
    save(session, plan_id=2, employer_id=BOULANGERIE)  # Lévis → bakery
    save(session, plan_id=3, institution_id=CMV, actor=CMV_RAC)  # CMV → CISSS
    E.upsert_organisation(session, ORGANISATIONS[CMV])
    for plan_id, institution in ((1, LEVIS), (2, LEVIS), (3, CMV)):
        employer = BOULANGERIE if plan_id == 2 else CISSS
        with clock.frozen_at(date(2026, 9, 1)):
            schedule.accept_plan(
                session,
                accepted(plan_id, 1, institution_id=institution, employer_id=employer),
            )
            session.commit()
    run(session, date(2026, 9, 1))

    def numbers(actor):
        return sorted(i["number"] for i in R.list_invoices(session, actor, InvoiceQuery())["items"])

    assert numbers(LEVIS_RAC) == ["CLV-2026-0001", "CLV-2026-0002"]
    assert numbers(CMV_RAC) == ["CMV-2026-0001"]
    assert len(numbers(CISSS_HR)) == 2 and "CMV-2026-0001" in numbers(CISSS_HR)
    assert len(numbers(BAKERY)) == 1
    assert len(numbers(MINISTRY)) == 3
    # Statements: the employer's covers every institution; an institution's only its own.
    assert len(R.statement(session, CISSS_HR)["lines"]) == 2
    assert len(R.statement(session, LEVIS_RAC, CISSS)["lines"]) == 1
    with pytest.raises(DomainError) as error:
        R.statement(session, BAKERY, CISSS)  # another employer's statement
    assert error.value.code == "not_found"
    with pytest.raises(DomainError):
        R.statement(session, CMV_RAC, BOULANGERIE)  # CMV bills nothing to the bakery


def test_home_summary_next_actions(session):
    save(session)
    accept(session)
    with clock.frozen_at(date(2026, 9, 1)):
        [action] = R.home_summary(session, LEVIS_RAC)
        assert (action["label"], action["count"]) == ("Versements échus à facturer", 1)
    [invoice] = run(session, date(2026, 9, 1))
    with clock.frozen_at(date(2026, 9, 2)):
        assert R.home_summary(session, LEVIS_RAC) == [
            {
                "label": "Consulter vos factures",
                "url": "/facturation",
                "count": None,
                "urgent": False,
            }
        ]
        [to_pay] = R.home_summary(session, CISSS_HR)
        assert (to_pay["label"], to_pay["count"], to_pay["urgent"]) == (
            "Factures à payer",
            1,
            False,
        )
    with clock.frozen_at(date(2026, 10, 2)):
        [late] = R.home_summary(session, LEVIS_RAC)
        assert late["urgent"] and late["url"] == "/facturation?statut=overdue"
        [to_pay] = R.home_summary(session, CISSS_HR)
        assert to_pay["label"] == "Factures à payer, dont 1 en retard" and to_pay["urgent"]
        assert R.home_summary(session, BAKERY) == [] and R.home_summary(session, CMV_RAC) == []
        assert R.home_summary(session, MINISTRY) == []


def test_reminder_steps_are_configurable(session, monkeypatch):
    from pydantic import ValidationError

    from services.billing.config import BillingSettings

    monkeypatch.setenv("BILLING_REMINDER_STEPS", "45, 3,3")
    assert BillingSettings().steps == [3, 45]
    monkeypatch.setenv("BILLING_REMINDER_STEPS", "0,7")
    with pytest.raises(ValidationError):
        BillingSettings()
    issued_invoice(session)  # due 2026-10-01
    assert RM.overdue_batch(session, date(2026, 10, 4), [3, 45])[0] == 1
    assert RM.overdue_batch(session, date(2026, 10, 4), [3, 45])[0] == 0
    assert [r["step"] for r in outbox(session, "invoice.overdue")] == [3]


# -- the invoicing job's bulk path ------------------------------------------------------------


def test_bulk_batch_numbers_links_and_publishes_each_invoice_once(session):
    from rac_shared.events import Envelope, InvoiceIssued

    save(session)
    save(session, plan_id=2, employer_id=BOULANGERIE)
    accept(session, 1)
    accept(session, 2)
    loaded = session.scalars(select(Installment).where(Installment.due_on.is_not(None))).all()
    with clock.frozen_at(date(2026, 9, 1)):
        run = invoicing.InvoicingRun(date(2026, 9, 1))
        first = invoicing.issue_due_invoices(session, date(2026, 9, 1), batch_size=1, run=run)
        second = invoicing.issue_due_invoices(session, date(2026, 9, 1), batch_size=5, run=run)
        assert invoicing.issue_due_invoices(session, date(2026, 9, 1), run=run) == []
        session.commit()
    issued = first + second
    assert [i.number for i in issued] == ["CLV-2026-0001", "CLV-2026-0002"]
    assert {i.plan_id for i in issued} == {1, 2}
    invoices = {i.id: i for i in session.scalars(select(Invoice))}
    for item in issued:
        invoice = invoices[item.id]
        assert (invoice.number, invoice.installment_id) == (item.number, item.installment_id)
        installment = session.get(Installment, item.installment_id)
        assert (installment.status, installment.invoice_id) == ("invoiced", invoice.id)
    # The session's copies of the claimed installments were not left stale.
    assert all(i.status == "invoiced" for i in loaded)
    table = session.info["metadata"].tables["outbox"]
    bodies = session.scalars(
        select(table.c.body).where(table.c.event_type == "invoice.issued")
    ).all()
    assert len(bodies) == 2 and len({b["event_id"] for b in bodies}) == 2
    for body in bodies:
        event = Envelope.model_validate(body).payload_as(InvoiceIssued)
        invoice = invoices[event.invoice_id]
        assert (event.number, event.total, event.due_on, event.plan_reference) == (
            invoice.number,
            invoice.total,
            invoice.due_on,
            invoice.plan_reference,
        )


def test_a_rolled_back_batch_gives_its_range_of_numbers_back(session):
    save(session)
    save(session, plan_id=2, employer_id=BOULANGERIE)
    accept(session, 1)
    accept(session, 2)
    with clock.frozen_at(date(2026, 9, 1)):
        assert len(invoicing.issue_due_invoices(session, date(2026, 9, 1))) == 2
        session.rollback()  # a crash before the commit
        assert session.scalar(select(func.count()).select_from(Invoice)) == 0
        again = invoicing.issue_due_invoices(session, date(2026, 9, 1))
        session.commit()
    assert [i.number for i in again] == ["CLV-2026-0001", "CLV-2026-0002"]
    key = (LEVIS, 2026, "invoice")
    assert numbering.reserve_numbers(session, {key: 3}) == {key: 5}  # 3, 4, 5 taken after 1, 2
    session.rollback()
    assert numbering.reserve_numbers(session, {key: 1}) == {key: 3}


def test_invoicing_job_on_sqlite_gives_the_same_result_run_twice(tmp_path):
    from rac_shared.db import SessionFactory, get_engine
    from services.billing import jobs
    from services.billing.models import Base
    from services.billing.testing import seed_due_installments, seed_rates

    url = f"sqlite:///{tmp_path / 'billing.db'}"
    factory = SessionFactory("billing", Base.metadata, url)
    Base.metadata.create_all(factory.engine)
    try:
        with factory() as session, session.begin():
            seed_rates(session)
            seed_due_installments(
                session,
                institution_id=801,
                code="SQL",
                employer_id=1,
                count=25,
                due=date(2026, 9, 1),
            )
        with clock.frozen_at(date(2026, 9, 2)):
            done = jobs.run_invoicing(date(2026, 9, 1), 7, progress=False, session_factory=factory)
            again = jobs.run_invoicing(date(2026, 9, 1), 7, progress=False, session_factory=factory)
        assert done == {"due": 25, "issued": 25} and again == {"due": 0, "issued": 0}
        with factory() as session:
            numbers = session.scalars(select(Invoice.number).order_by(Invoice.sequence)).all()
            assert numbers == [f"SQL-2026-{n:04d}" for n in range(1, 26)]
            assert set(session.scalars(select(Installment.status))) == {"invoiced"}
    finally:
        get_engine(url).dispose()


def test_copy_fields_escape_what_the_text_format_reserves():
    assert copy_escape("a\tb\nc\rd\\e \\N") == "a\\tb\\nc\\rd\\\\e \\\\N"
    assert copy_escape("Cégep « œ »") == "Cégep « œ »"
    shared = {"name": "Tab\there"}
    assert copy_column([shared, None, shared], is_json=True) == [
        '{"name": "Tab\\\\there"}',
        "\\N",
        '{"name": "Tab\\\\there"}',
    ]
    assert copy_column([D("1.50"), 7, None], is_json=False) == ["1.50", "7", "\\N"]
