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
from rac_shared.events import Envelope
from services.billing.models import Document, Installment, Invoice
from services.billing.service import BillingService
from services.billing.testing import (
    CISSS,
    CISSS_HR,
    CMV_RAC,
    LEVIS,
    LEVIS_RAC,
    ORGANISATIONS,
    accepted,
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
    preview = billing("preview_estimate", actor(LEVIS_RAC), estimate_spec(), 3)
    assert preview["total"] == "8704.89"
    assert [i["amount"] for i in preview["installments"]] == ["2611.47", "3481.96", "2611.46"]
    assert billing("get_estimate", actor(LEVIS_RAC), 1, 1) is None


# -- events from plans ---------------------------------------------------------------------------


def accepted_plan(billing):
    with clock.frozen_at(date(2026, 8, 20)):
        billing("save_estimate", actor(LEVIS_RAC), plan_ref(), estimate_spec())
        billing("freeze_estimate", actor(LEVIS_RAC), 1, 1)


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
    accepted_plan(billing)
    billing(
        "on_plan_accepted", Envelope.wrap(accepted(on=date(2026, 9, 1))).model_dump(mode="json")
    )
    with clock.frozen_at(date(2026, 9, 1)):
        assert billing("issue_due_invoices", actor(LEVIS_RAC)) == {
            "issued": 1,
            "numbers": ["CLV-2026-0001"],
        }
    assert count(billing.sessions, Document) == 0  # never rendered while issuing
    [summary] = billing("list_invoices", actor(CISSS_HR), {})["invoices"]
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
        "1 octobre 2026",
        "Modalités de paiement",
    ):
        assert expected in text.replace("\xa0", " ").replace("\u202f", " "), expected
    with pytest.raises(DomainError) as error:
        billing("invoice_pdf", actor(CMV_RAC), summary["id"])
    assert error.value.code == "not_found"


def test_payments_through_the_service(billing):
    accepted_plan(billing)
    billing(
        "on_plan_accepted", Envelope.wrap(accepted(on=date(2026, 9, 1))).model_dump(mode="json")
    )
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
