"""The billing service in a nameko container over a real RabbitMQ (SQLite database): the
estimate RPCs of the contract with plans, plan events consumed once, invoice PDFs rendered
by WeasyPrint on first download and kept.

The gateway's directory (``gateway.get_organisation``) is replaced by the demo directory:
it is a collaborator here, not the subject.
"""

from __future__ import annotations

import base64
import io
from datetime import date

import pytest
from nameko.testing.services import entrypoint_hook, replace_dependencies
from pypdf import PdfReader
from sqlalchemy import func, select

from rac_shared.clock import clock
from rac_shared.errors import DomainError
from rac_shared.events import CancelledPlanCandidate, Envelope
from services.billing.models import CreditNote, Document, Installment, Invoice
from services.billing.service import BillingService
from services.billing.testing import (
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
    milestone,
    plan_ref,
)
from tests.service.helpers import publish_envelope, wait_until


class Directory:
    """Stands in for the gateway's ``get_organisation`` RPC."""

    def __init__(self):
        self.calls: list[int] = []

    def get_organisation(self, organisation_id: int) -> dict:
        self.calls.append(organisation_id)
        if organisation_id not in ORGANISATIONS:
            raise DomainError("Organisation introuvable.", None, "not_found")
        return {**ORGANISATIONS[organisation_id], "education_order": None, "region": None}


@pytest.fixture
def billing(service_database, container_factory, rabbit_config):
    sessions = service_database("billing")
    container = container_factory(BillingService, rabbit_config)
    directory = Directory()
    gateway = replace_dependencies(container, "gateway")
    gateway.get_organisation.side_effect = directory.get_organisation
    container.start()

    def call(method: str, *args, **kwargs):
        with entrypoint_hook(container, method) as hook:
            return hook(*args, **kwargs)

    call.container = container
    call.sessions = sessions
    call.amqp_uri = rabbit_config["AMQP_URI"]
    return call


def actor(who) -> dict:
    return who.model_dump(mode="json")


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


# -- estimates: the contract with plans -------------------------------------------------------


def test_save_get_freeze_and_render_an_estimate(billing):
    with clock.frozen_at(date(2026, 8, 20)):
        view = billing("save_estimate", actor(LEVIS_RAC), plan_ref(), estimate_spec())
    assert view["status"] == "draft" and view["total"] == "8704.89"
    assert [t["amount"] for t in view["taxes"]] == ["222.00", "442.89"]
    assert billing("get_estimate", actor(CISSS_HR), 1, 1)["total"] == "8704.89"
    assert billing("get_estimate", actor(CMV_RAC), 1, 1) is None  # another tenant
    assert billing("get_estimate", actor(LEVIS_RAC), 1, 2) is None  # no such version
    frozen = billing("freeze_estimate", actor(LEVIS_RAC), 1, 1)
    assert frozen["status"] == "frozen"
    assert billing("freeze_estimate", actor(LEVIS_RAC), 1, 1)["status"] == "frozen"
    with pytest.raises(DomainError) as error:
        billing("save_estimate", actor(LEVIS_RAC), plan_ref(), estimate_spec())
    assert error.value.code == "conflict"
    html = billing("estimate_html", actor(LEVIS_RAC), 1, 1)
    assert "<section" in html and "8\xa0704,89\xa0$" in html and "estimation figée" in html
    with pytest.raises(DomainError) as error:
        billing("estimate_html", actor(CMV_RAC), 1, 1)
    assert error.value.code == "not_found"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s["lines"][0].update(unit_price="-95"), "lines.0.unit_price"),
        (lambda s: s["lines"][0].update(quantity="douze"), "lines.0.quantity"),
        (lambda s: s.update(abandonment_fee="beaucoup"), "abandonment_fee"),
        (lambda s: s["installments"][0].update(percent="50"), "installments"),
        (lambda s: s["installments"][0].update(due={"kind": "jamais"}), "installments.0.due"),
    ],
)
def test_bad_estimates_are_refused_and_nothing_is_saved(billing, change, field):
    spec = estimate_spec()
    change(spec)
    with pytest.raises(DomainError) as error:
        billing("save_estimate", actor(LEVIS_RAC), plan_ref(), spec)
    assert error.value.code == "invalid"
    assert any(key.startswith(field) for key in error.value.details), error.value.details
    assert billing("get_estimate", actor(LEVIS_RAC), 1, 1) is None


def test_parties_come_from_the_directory_not_from_the_caller(billing):
    with pytest.raises(DomainError) as error:
        billing("save_estimate", actor(LEVIS_RAC), plan_ref(employer_id=LEVIS), estimate_spec())
    assert "n'est pas une organisation employeuse" in error.value.message
    with pytest.raises(DomainError) as error:
        billing("save_estimate", actor(LEVIS_RAC), plan_ref(employer_id=999), estimate_spec())
    assert "inconnue de l'annuaire" in error.value.message
    with pytest.raises(DomainError) as error:  # the caller's own organisation must propose it
        billing("save_estimate", actor(CMV_RAC), plan_ref(), estimate_spec())
    assert error.value.code == "forbidden"


def test_preview_computes_without_saving(billing):
    # The estimate and its candidate count in one body (the contract's EstimatePreviewIn).
    preview = billing(
        "preview_estimate", actor(LEVIS_RAC), {"estimate": estimate_spec(), "candidate_count": 3}
    )
    assert preview["total"] == "8704.89"
    assert [i["amount"] for i in preview["installments"]] == ["2611.47", "3481.96", "2611.46"]
    assert billing("get_estimate", actor(LEVIS_RAC), 1, 1) is None


# -- events from plans ---------------------------------------------------------------------------


def accepted_plan(billing):
    with clock.frozen_at(date(2026, 8, 20)):
        billing("save_estimate", actor(LEVIS_RAC), plan_ref(), estimate_spec())
        billing("freeze_estimate", actor(LEVIS_RAC), 1, 1)


def accepted_schedule(billing):
    """The estimate saved and frozen, then ``plan.accepted`` on 1 September 2026."""
    accepted_plan(billing)
    billing(
        "on_plan_accepted", Envelope.wrap(accepted(on=date(2026, 9, 1))).model_dump(mode="json")
    )


def test_a_redelivered_plan_accepted_event_creates_the_schedule_once(billing):
    accepted_plan(billing)
    body = Envelope.wrap(accepted(on=date(2026, 9, 1))).model_dump(mode="json")
    billing("on_plan_accepted", body)
    billing("on_plan_accepted", body)
    assert count(billing.sessions, Installment) == 3
    body = Envelope.wrap(milestone(1, "welcome_meeting", date(2026, 10, 5))).model_dump(mode="json")
    billing("on_plan_milestone_reached", body)
    with billing.sessions() as session:
        dates = session.scalars(select(Installment.due_on).order_by(Installment.position)).all()
    assert dates == [date(2026, 9, 1), date(2026, 10, 5), None]


def test_plan_accepted_over_rabbitmq(billing):
    accepted_plan(billing)
    envelope = Envelope.wrap(accepted(on=date(2026, 9, 1)))
    publish_envelope(billing.amqp_uri, envelope)
    publish_envelope(billing.amqp_uri, envelope)  # redelivered: still once
    wait_until(lambda: count(billing.sessions, Installment) == 3, message="no installments")
    wait_until(
        lambda: _processed(billing.sessions, envelope.event_id) == 1, message="not processed"
    )
    assert count(billing.sessions, Installment) == 3


def _processed(sessions, event_id) -> int:
    from services.billing.models import Base

    table = Base.metadata.tables["processed_events"]
    with sessions() as session:
        return session.scalar(
            select(func.count()).select_from(table).where(table.c.event_id == str(event_id))
        )


# -- invoices, PDF, payments -------------------------------------------------------------------


def test_invoice_pdf_is_rendered_once_in_french_and_kept(billing):
    accepted_schedule(billing)
    with clock.frozen_at(date(2026, 9, 1)):
        assert billing("issue_due_invoices", actor(LEVIS_RAC)) == {
            "issued": 1,
            "numbers": ["CLV-2026-0001"],
        }
    assert count(billing.sessions, Document) == 0  # never rendered while issuing
    [summary] = billing("list_invoices", actor(CISSS_HR), {})["items"]
    first = billing("invoice_pdf", actor(CISSS_HR), summary["id"])
    second = billing("invoice_pdf", actor(LEVIS_RAC), summary["id"])
    assert first == second and count(billing.sessions, Document) == 1
    assert first["filename"] == "facture-CLV-2026-0001.pdf"
    pdf = base64.b64decode(first["content_b64"])
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in (
        "Facture",
        "CLV-2026-0001",
        "Cégep de Lévis",
        "CISSS de Chaudière-Appalaches",
        "PMO-CLV-2026-001",
        "2 611,47",
        "TPS (5 %)",
        "TVQ (9,975 %)",
        "1er octobre 2026",
        "Modalités de paiement",
    ):
        assert expected in text.replace("\xa0", " ").replace("\u202f", " "), expected
    with pytest.raises(DomainError) as error:
        billing("invoice_pdf", actor(CMV_RAC), summary["id"])
    assert error.value.code == "not_found"


def test_payments_through_the_service(billing):
    accepted_schedule(billing)
    with clock.frozen_at(date(2026, 9, 1)):
        billing("issue_due_invoices", actor(LEVIS_RAC))
    with billing.sessions() as session:
        invoice_id = session.scalar(select(Invoice.id))
    with clock.frozen_at(date(2026, 9, 20)):
        result = billing(
            "record_payment",
            actor(LEVIS_RAC),
            invoice_id,
            {"paid_on": "2026-09-20", "amount": "611,47", "method": "cheque", "reference": "123"},
        )
        assert result["invoice"]["balance"] == "2000.00"
        assert result["invoice"]["status"] == "partly_paid"
        for who, amount, code in (
            (LEVIS_RAC, "2000.01", "invalid"),
            (LEVIS_RAC, "-5", "invalid"),
            (LEVIS_RAC, "cinq", "invalid"),
            (CMV_RAC, "10", "not_found"),
            (CISSS_HR, "10", "forbidden"),
        ):
            with pytest.raises(DomainError) as error:
                billing(
                    "record_payment",
                    actor(who),
                    invoice_id,
                    {"paid_on": "2026-09-20", "amount": amount, "method": "cheque"},
                )
            assert error.value.code == code, (who, amount)
    assert billing("get_invoice", actor(CISSS_HR), invoice_id)["balance"] == "2000.00"
    assert billing("home_summary", actor(CISSS_HR))[0]["count"] == 1
    profile = billing(
        "update_profile",
        actor(LEVIS_RAC),
        {"gst_number": "123456789 RT0001", "qst_number": "1234567890 TQ0001"},
    )
    assert profile["gst_number"] == "123456789 RT0001"
    assert billing("get_profile", actor(LEVIS_RAC))["qst_number"] == "1234567890 TQ0001"
    assert CISSS in {e["id"] for e in billing("statement_employers", actor(LEVIS_RAC))}


# -- invoicing runs and bank imports in the background (rac_shared.tasks) -----------------------


def finished_task(billing, who, task_id: int) -> dict:
    """The task once the service's worker (``run_tasks``) is done with it."""
    return wait_until(
        lambda: (t := billing("billing_task", actor(who), task_id)) and not t["pending"] and t,
        timeout=60,
        message=f"billing task {task_id} did not finish",
    )


def test_an_invoicing_run_and_a_bank_import_are_done_in_the_background(billing):
    accepted_schedule(billing)
    with clock.frozen_at(date(2026, 9, 1)):
        asked = billing("request_invoicing", actor(LEVIS_RAC))
        assert asked["pending"] and asked["kind"] == "invoicing" and asked["max_attempts"] == 3
        assert asked["requested_by"] == LEVIS_RAC.full_name
        twice = billing("request_invoicing", actor(LEVIS_RAC))  # a second click: one run
        assert twice["id"] == asked["id"] or not twice["pending"]
        run = finished_task(billing, LEVIS_RAC, asked["id"])
    assert run["ready"] and run["status_label"] == "Terminé", run
    assert run["invoiced"]["issued"] == 1 == count(billing.sessions, Invoice)
    assert run["message"] == "Facturation terminée : 1 facture émise."
    with billing.sessions() as session:
        invoice_id, number = session.execute(select(Invoice.id, Invoice.number)).one()
    assert run["invoiced"]["numbers"] == [number]
    for who, code in ((CMV_RAC, "not_found"), (CISSS_HR, "forbidden")):  # the institution's
        with pytest.raises(DomainError) as error:
            billing("billing_task", actor(who), asked["id"])
        assert error.value.code == code

    with clock.frozen_at(date(2026, 9, 20)):
        # A refused file: failed at once, the page says why, line by line; nothing recorded.
        bad = f"date;montant;facture\n2026-09-20;cinq;{number}\n"
        refused = billing("request_bank_import", actor(LEVIS_RAC), {"content": bad}, "mauvais.csv")
        refused = finished_task(billing, LEVIS_RAC, refused["id"])
        assert refused["failed"] and refused["status"] == "failed" and refused["attempts"] == 1
        assert refused["message"] and refused["error_lines"], refused
        assert refused["filename"] == "mauvais.csv"
        good = f"date;montant;facture;reference\n2026-09-20;611,47;{number};VIR-1\n"
        asked = billing("request_bank_import", actor(LEVIS_RAC), {"content": good}, "releve.csv")
        done = finished_task(billing, LEVIS_RAC, asked["id"])
        assert done["ready"] and done["report"]["recorded"] == 1, done
        assert done["message"] == "Importation terminée : 1 paiement enregistré."
        # The same file again is a new task (the first one ended) that records nothing more.
        again = billing("request_bank_import", actor(LEVIS_RAC), {"content": good}, "releve.csv")
        again = finished_task(billing, LEVIS_RAC, again["id"])
        assert again["report"] == {**again["report"], "recorded": 0, "skipped": 1}
    assert billing("get_invoice", actor(LEVIS_RAC), invoice_id)["balance"] == "2000.00"
    history = billing("billing_tasks", actor(LEVIS_RAC))  # the latest first
    assert [t["kind"] for t in history] == ["bank_import"] * 3 + ["invoicing"]
    assert [t["status"] for t in history] == ["done", "done", "failed", "done"]
    assert billing("billing_tasks", actor(CMV_RAC)) == []


def test_a_task_left_running_by_a_killed_worker_is_taken_over_then_given_up(service_database):
    """No worker here: the test is the worker, and kills it between claim and work."""
    from datetime import datetime, timedelta

    from rac_shared import tasks as shared
    from services.billing import tasks
    from services.billing.models import BillingTask

    sessions = service_database("billing")
    start = datetime(2026, 9, 1, 14, 0, tzinfo=clock.now().tzinfo)
    with clock.frozen_at(start), sessions() as session:
        with session.begin():
            task_id = tasks.request(session, LEVIS_RAC, tasks.INVOICING).id
        with session.begin():
            again = tasks.request(session, LEVIS_RAC, tasks.INVOICING)  # two clicks: one task
            assert again.id == task_id
        with session.begin():
            first = shared.claim(session, BillingTask)  # this worker is then killed
            claimed_at = first.started_at
        assert tasks.run_one(session) is False  # running under its lease: nobody takes it
    later = start + timedelta(seconds=shared.LEASE_SECONDS + 1)
    with clock.frozen_at(later), sessions() as session:
        assert tasks.run_one(session) is True  # the lease ran out: taken over and done
        with session.begin():
            task = session.get(BillingTask, task_id)
            assert task.status == "done" and task.attempts == 2 and task.pending_key is None
            assert task.result == {"issued": 0, "numbers": []}
            # The killed claim's late answer changes nothing.
            assert shared.finish(session, BillingTask, task_id, claimed_at) is None
            assert (
                shared.fail(session, BillingTask, task_id, claimed_at, RuntimeError(), "") is None
            )
        assert tasks.view(task)["message"] == "Aucun versement n'était à facturer."

    # A task whose every worker is killed is given up, with a French message, not retried.
    with clock.frozen_at(later), sessions() as session:
        with session.begin():
            task_id = tasks.request(session, LEVIS_RAC, tasks.INVOICING).id
    for round_ in range(1, shared.MAX_ATTEMPTS + 1):
        at = later + round_ * timedelta(seconds=shared.LEASE_SECONDS + 1)
        with clock.frozen_at(at), sessions() as session, session.begin():
            assert shared.claim(session, BillingTask).id == task_id  # killed again
    at = later + (shared.MAX_ATTEMPTS + 1) * timedelta(seconds=shared.LEASE_SECONDS + 1)
    with clock.frozen_at(at), sessions() as session:
        assert tasks.run_one(session) is True
        with session.begin():
            task = session.get(BillingTask, task_id)
            shown = tasks.view(task)
        assert shown["failed"] and shown["status_label"] == "Échec"
        assert shown["message"].startswith(
            "Une erreur technique a interrompu la facturation après 3 essais."
        )
        with session.begin():  # asked again: a new task (the failed one keeps its history)
            assert tasks.request(session, LEVIS_RAC, tasks.INVOICING).id != task_id


# -- cancellation: costs incurred, credit note delivered ------------------------------------


def test_a_cancelled_plans_costs_incurred_are_billed_once_through_the_service(billing):
    accepted_schedule(billing)
    with clock.frozen_at(date(2026, 9, 1)):
        billing("issue_due_invoices", actor(LEVIS_RAC))
    people = [
        CancelledPlanCandidate(candidate_id=31, full_name="Émilie Roy"),
        CancelledPlanCandidate(candidate_id=32, full_name="Louis Caron"),
    ]
    body = Envelope.wrap(cancelled(1, date(2026, 10, 1), candidates=people)).model_dump(mode="json")
    billing("on_plan_cancelled", body)
    billing("on_plan_cancelled", body)  # redelivered: cancelled once
    with clock.frozen_at(date(2026, 10, 5)):
        view = billing("cancellation_costs", actor(LEVIS_RAC), 1)
        assert view["state"] == "open" and view["room"] == "5628.00"  # 8 040 less 30 %
        assert [p["full_name"] for p in view["lines"][3]["people"]] == ["Émilie Roy", "Louis Caron"]
        items = {
            "items": [
                {"line": 3, "quantity": "8,5"},  # a French decimal comma is accepted
                {"line": 4, "candidate_id": 31, "quantity": "1"},
            ]
        }
        with pytest.raises(DomainError) as error:
            billing(
                "record_cancellation_costs",
                actor(LEVIS_RAC),
                1,
                {"items": [{"line": 3, "quantity": "31"}]},
            )
        assert error.value.code == "invalid" and "(30, unité : heures)" in error.value.message
        with pytest.raises(DomainError) as error:
            billing("record_cancellation_costs", actor(CISSS_HR), 1, items)
        assert error.value.code == "forbidden"
        first = billing("record_cancellation_costs", actor(LEVIS_RAC), 1, items)
        again = billing("record_cancellation_costs", actor(LEVIS_RAC), 1, items)
    assert first["created"] and not again["created"]
    assert first["record"]["invoice"]["number"] == "CLV-2026-0002"
    assert again["record"]["invoice"] == first["record"]["invoice"]
    # 8,5 h × 85,00 = 722,50 $ + TPS 36,13 $ + TVQ 72,07 $, and one evaluation (exempt).
    assert first["record"]["invoice"]["total"] == "2030.70"
    assert count(billing.sessions, Invoice) == 2


def test_the_credit_note_pdf_is_delivered_to_notifications(billing):
    accepted_schedule(billing)
    with clock.frozen_at(date(2026, 9, 10)):
        body = Envelope.wrap(abandoned(1, 42, date(2026, 9, 9), "0.5")).model_dump(mode="json")
        billing("on_candidate_abandoned", body)
    with billing.sessions() as session:
        credit = session.scalar(select(CreditNote))
    document = billing("credit_note_pdf_for_delivery", credit.id)
    assert document["filename"] == f"note-de-credit-{credit.number}.pdf"
    assert document["mime"] == "application/pdf" and document["employer_id"] == CISSS
    pdf = base64.b64decode(document["content_base64"])
    assert "Note de crédit" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert billing("credit_note_pdf_for_delivery", credit.id) == document  # rendered once
    with pytest.raises(DomainError) as error:
        billing("credit_note_pdf_for_delivery", 987654)
    assert error.value.code == "not_found"


# -- the invoicing job's bulk path on PostgreSQL ------------------------------------------------
# Its writers (``COPY``, and one multi-row INSERT where a coroutine wait callback forbids
# ``COPY``) exist only on PostgreSQL: the same due installments, with text that ``COPY``'s
# format reserves, must give the same invoices and events as the portable path on SQLite.

HOSTILE = "Tab\there, line\nbreak\r, back\\slash \\N \\t '\" {{ 7*7 }} <b>é œ</b>"
DUE = date(2026, 9, 1)


@pytest.fixture(scope="module")
def postgres_billing():
    """A fresh PostgreSQL database migrated with billing's schema (tests/support/postgres)."""
    from sqlalchemy import create_engine, pool
    from sqlalchemy.orm import sessionmaker

    from services.billing.models import Base
    from tests.support.postgres import fresh_database

    with fresh_database("billing", "rac_tbill_") as url:
        # A fresh connection per session: the writer mode (wait callback) is per test.
        engine = create_engine(url, poolclass=pool.NullPool)
        factory = sessionmaker(bind=engine, expire_on_commit=False)

        def session():
            s = factory()
            s.info["service"] = "billing"
            s.info["metadata"] = Base.metadata
            return s

        try:
            yield session
        finally:
            engine.dispose()


@pytest.fixture(params=["copy", "insert"])
def writer_mode(request):
    """``copy``: no wait callback (the ``rac jobs run`` process); ``insert``: a coroutine
    wait callback installed, as in the eventlet-patched services."""
    from psycopg2 import extensions, extras

    saved = extensions.get_wait_callback()
    extensions.set_wait_callback(None if request.param == "copy" else (saved or extras.wait_select))
    yield request.param
    extensions.set_wait_callback(saved)


def seed_hostile(session, institution_id: int, code: str, count: int) -> None:
    from sqlalchemy import update

    from services.billing.models import Estimate, Organisation
    from services.billing.testing import seed_due_installments

    employer_id = institution_id + 1
    session.add(
        Organisation(
            id=employer_id,
            kind="employer",
            code=f"E{code}",
            name=f"Employeur {HOSTILE}",
            address=HOSTILE,
            updated_at=clock.now(),
        )
    )
    estimate_id = seed_due_installments(
        session,
        institution_id=institution_id,
        code=code,
        employer_id=employer_id,
        count=count,
        due=DUE,
    )
    session.execute(
        update(Organisation)
        .where(Organisation.id == institution_id)
        .values(name=f"Cégep {HOSTILE}", payment_instructions=f"Virement\t{HOSTILE}")
    )
    session.execute(
        update(Estimate).where(Estimate.id == estimate_id).values(reference=f"PMO {HOSTILE}")
    )
    session.execute(
        update(Installment)
        .where(Installment.institution_id == institution_id, Installment.plan_id % 2 == 0)
        .values(label=HOSTILE)
    )


def issue_all(sessions, batch_size: int) -> list:
    from services.billing.invoicing import InvoicingRun, issue_due_invoices

    issued, run = [], InvoicingRun(DUE)
    while True:
        with sessions() as session, session.begin():
            batch = issue_due_invoices(session, DUE, batch_size, run=run)
        if not batch:
            return issued
        issued += batch


def end_state(session, institution_id: int) -> tuple[list[dict], list[dict]]:
    """The institution's invoices (by number) and their ``invoice.issued`` payloads, with
    what differs between two databases (ids) replaced by what identifies them."""
    from rac_shared.events import InvoiceIssued

    invoices = session.scalars(
        select(Invoice).where(Invoice.institution_id == institution_id).order_by(Invoice.sequence)
    ).all()
    installments = {
        i.id: i
        for i in session.scalars(
            select(Installment).where(Installment.institution_id == institution_id)
        )
    }
    assert {i.status for i in installments.values()} == {"invoiced"}
    assert sorted(i.invoice_id for i in installments.values()) == sorted(i.id for i in invoices)
    by_id = {i.id: i for i in invoices}
    table = session.info["metadata"].tables["outbox"]
    bodies = session.scalars(
        select(table.c.body).where(table.c.event_type == "invoice.issued").order_by(table.c.id)
    ).all()
    events = []
    for body in bodies:
        event = Envelope.model_validate(body).payload_as(InvoiceIssued)
        if event.institution_id == institution_id:
            assert by_id[event.invoice_id].number == event.number
            events.append({**event.model_dump(mode="json"), "invoice_id": None})
    rows = [
        {
            "plan_id": installments[i.installment_id].plan_id,
            **{
                column: getattr(i, column)
                for column in (
                    "number kind employer_id plan_id plan_reference version fiscal_year "
                    "sequence issued_on due_on payment_term_days lines subtotal taxes total "
                    "parties payment_instructions paid_total credited_total"
                ).split()
            },
        }
        for i in invoices
    ]
    return rows, sorted(events, key=lambda e: e["number"])


def test_bulk_invoicing_on_postgresql_gives_what_the_portable_path_gives(
    postgres_billing, writer_mode
):
    from services.billing.testing import memory_session

    institution_id = 8101 if writer_mode == "copy" else 8201
    code = f"PGH{writer_mode[0].upper()}"
    with clock.frozen_at(DUE):
        with postgres_billing() as session, session.begin():
            seed_hostile(session, institution_id, code, 11)
        issued = issue_all(postgres_billing, batch_size=4)
        assert issue_all(postgres_billing, batch_size=4) == []  # nothing twice
        expected_session = memory_session()
        seed_hostile(expected_session, institution_id, code, 11)
        expected_session.commit()
        issue_all(lambda: expected_session, batch_size=4)
    assert len(issued) == 11 and len({i.installment_id for i in issued}) == 11
    with postgres_billing() as session:
        rows, events = end_state(session, institution_id)
    expected_rows, expected_events = end_state(expected_session, institution_id)
    expected_session.close()
    assert [r["number"] for r in rows] == [f"{code}-2026-{n:04d}" for n in range(1, 12)]
    assert any(HOSTILE in line["description"] for r in rows for line in r["lines"])
    assert rows[0]["parties"]["institution"]["name"] == f"Cégep {HOSTILE}"
    assert rows == expected_rows
    assert events == expected_events


def test_replicas_skip_each_others_rows_and_a_rolled_back_batch_returns_its_numbers(
    postgres_billing, writer_mode
):
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from services.billing.invoicing import _claim_query, issue_due_invoices

    institution_id = 8301 if writer_mode == "copy" else 8401
    code = f"PGR{writer_mode[0].upper()}"
    with clock.frozen_at(DUE):
        with postgres_billing() as session, session.begin():
            seed_hostile(session, institution_id, code, 10)
        first, second = postgres_billing(), postgres_billing()
        try:
            taken = issue_due_invoices(first, DUE, 4, institution_id)  # not committed yet
            others = second.execute(_claim_query(DUE, 10, institution_id)).all()
            assert len(others) == 6
            assert not {r.id for r in others} & {i.installment_id for i in taken}
            second.rollback()
            # The second replica claims rows of its own, then waits for the counter the
            # first one holds: it gives up (a crash would do the same) and rolls back.
            second.execute(text("SET LOCAL lock_timeout = '300ms'"))
            with pytest.raises(OperationalError):
                issue_due_invoices(second, DUE, 4, institution_id)
            second.rollback()
            first.commit()
            rest = issue_due_invoices(second, DUE, 10, institution_id)
            second.commit()
        finally:
            first.close()
            second.close()
    assert [i.number for i in taken + rest] == [f"{code}-2026-{n:04d}" for n in range(1, 11)]
    with postgres_billing() as session:
        rows, events = end_state(session, institution_id)
    assert len(rows) == len(events) == 10


def test_credit_left_on_a_plan_pays_its_new_invoice_on_postgresql(postgres_billing, writer_mode):
    from decimal import Decimal

    from services.billing.models import CreditAllocation, CreditNote

    institution_id = 8501 if writer_mode == "copy" else 8601
    code = f"PGC{writer_mode[0].upper()}"
    with clock.frozen_at(DUE):
        with postgres_billing() as session, session.begin():
            seed_hostile(session, institution_id, code, 3)
            plan_id = session.scalar(
                select(func.min(Installment.plan_id)).where(
                    Installment.institution_id == institution_id
                )
            )
            session.add(
                CreditNote(
                    number=f"{code}-NC-2026-0001",
                    reason_kind="abandonment",
                    reason="Abandon",
                    source_key=f"test:{institution_id}",
                    institution_id=institution_id,
                    employer_id=institution_id + 1,
                    plan_id=plan_id,
                    plan_reference="PMO",
                    fiscal_year=2026,
                    sequence=1,
                    issued_on=DUE,
                    lines=[],
                    subtotal=Decimal("50.00"),
                    taxes=[],
                    total=Decimal("50.00"),
                    parties={},
                    created_at=clock.now(),
                    applied_total=Decimal("0.00"),
                )
            )
        issue_all(postgres_billing, batch_size=10)
    with postgres_billing() as session:
        credited = {
            i.plan_id: i.credited_total
            for i in session.scalars(
                select(Invoice).where(Invoice.institution_id == institution_id)
            )
        }
        credit = session.scalar(select(CreditNote).where(CreditNote.plan_id == plan_id))
        allocations = session.scalars(
            select(CreditAllocation).where(CreditAllocation.credit_note_id == credit.id)
        ).all()
    assert credited.pop(plan_id) == Decimal("50.00")
    assert set(credited.values()) == {Decimal("0.00")}
    assert credit.applied_total == Decimal("50.00") and len(allocations) == 1
