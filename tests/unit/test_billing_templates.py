"""Every billing page and document template renders with realistic data from the domain:
French, escaped, tables with captions and header scopes, labelled form fields, CSRF tokens
in every POST form. (The platform tests then serve them for real.)"""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from html.parser import HTMLParser

import pytest

from gateway.web.billing.pages import InvoicesFilter, cost_rows
from gateway.web.forms import FormState, encode
from gateway.web.lists import Pager
from rac_shared.clock import clock
from rac_shared.contracts import billing as B
from rac_shared.contracts.billing import (
    CostsIncurredIn,
    EstimateSpec,
    InvoiceFilter,
    InvoiceQuery,
    PaymentIn,
    PaymentMethod,
    PlanRef,
)
from rac_shared.events import CancelledPlanCandidate
from services.billing import (
    cancellation,
    documents,
    invoicing,
    payments,
    reports,
    schedule,
    settlements,
    views,
)
from services.billing import estimates as E
from services.billing.models import Invoice
from services.billing.testing import (
    CISSS,
    CISSS_HR,
    LEVIS,
    LEVIS_RAC,
    ORGANISATIONS,
    abandoned,
    accepted,
    cancelled,
    estimate_spec,
    memory_session,
    plan_ref,
)
from tests.support.pages import render

HOSTILE = "<script>alert('x')</script>"
# A bank import done in the background, as its page shows it (the cases change its state).
TASK = {
    "id": 4,
    "kind": "bank_import",
    "kind_label": "Importation d'un relevé bancaire",
    "status": "done",
    "status_label": "Terminé",
    "attempts": 1,
    "max_attempts": 3,
    "message": "Importation terminée : 1 paiement enregistré.",
    "requested_at": "2026-09-20T14:00:00-04:00",
    "finished_at": None,
    "requested_by": HOSTILE,
    "filename": HOSTILE,
    "pending": False,
    "ready": False,
    "failed": False,
}


@pytest.fixture(scope="module")
def data():
    session = memory_session()
    spec = estimate_spec()
    spec["lines"][0]["description"] = f"Conseil {HOSTILE}"
    with clock.frozen_at(date(2026, 8, 20)):
        estimate = E.save_estimate(
            session,
            LEVIS_RAC,
            PlanRef(**plan_ref(reference=f"PMO {HOSTILE}")),
            EstimateSpec(**spec),
            {"institution": ORGANISATIONS[LEVIS], "employer": ORGANISATIONS[CISSS]},
        )
        E.freeze(estimate)
        session.commit()
    with clock.frozen_at(date(2026, 9, 1)):
        schedule.accept_plan(session, accepted(reference=f"PMO {HOSTILE}"))
        [invoice] = invoicing.issue_due_batch(session, date(2026, 9, 1))
        session.commit()
    with clock.frozen_at(date(2026, 9, 10)):
        payments.record_payment(
            session,
            LEVIS_RAC,
            invoice.id,
            PaymentIn(paid_on=date(2026, 9, 10), amount="100", method="cheque", reference=HOSTILE),
        )
        result = settlements.record_abandonment(session, abandoned(1, 9, date(2026, 9, 9), "0.25"))
        session.commit()
    costs = cancelled_plans_with_costs(session)
    with clock.frozen_at(date(2026, 11, 1)):
        yield {
            **costs,
            "cancelled_plans": cancellation.cancelled_plans(session, LEVIS_RAC),
            "session": session,
            "invoice": views.invoice_view(session, invoice),
            "credit": views.credit_note_view(session, result["credit_note"]),
            "listing": reports.list_invoices(session, LEVIS_RAC, InvoiceQuery()),
            "scheduled": reports.scheduled_installments(session, LEVIS_RAC),
            "employers": reports.statement_employers(session, LEVIS_RAC),
            "statement": reports.statement(session, CISSS_HR),
            "aging": reports.aging(session, LEVIS_RAC),
            "invoice_model": invoice,
            "credit_model": result["credit_note"],
        }
    session.close()


def cancelled_plans_with_costs(session) -> dict:
    """Plans 2 and 3, accepted then cancelled (a candidate-worker with a hostile name); the
    costs incurred of plan 2 are recorded, those of plan 3 are still to record."""
    people = [
        CancelledPlanCandidate(candidate_id=21, full_name=f"Émilie {HOSTILE}"),
        CancelledPlanCandidate(candidate_id=22, full_name="Louis Caron"),
    ]
    for plan_id in (2, 3):
        with clock.frozen_at(date(2026, 8, 20)):
            estimate = E.save_estimate(
                session,
                LEVIS_RAC,
                PlanRef(**plan_ref(plan_id, candidate_count=2)),
                EstimateSpec(**estimate_spec()),
                {"institution": ORGANISATIONS[LEVIS], "employer": ORGANISATIONS[CISSS]},
            )
            E.freeze(estimate)
        with clock.frozen_at(date(2026, 9, 1)):
            schedule.accept_plan(session, accepted(plan_id))
            invoicing.issue_due_batch(session, date(2026, 9, 1))
        with clock.frozen_at(date(2026, 10, 15)):
            settlements.cancel_plan(
                session, cancelled(plan_id, date(2026, 10, 15), candidates=people)
            )
        session.commit()
    with clock.frozen_at(date(2026, 10, 20)):
        record, _ = cancellation.record_costs(
            session,
            LEVIS_RAC,
            2,
            CostsIncurredIn.model_validate(
                {
                    "items": [
                        {"line": 3, "quantity": "4"},
                        {"line": 4, "candidate_id": 21, "quantity": "0.5"},
                    ]
                }
            ),
        )
        session.commit()
    with clock.frozen_at(date(2026, 11, 1)):
        return {
            "costs_recorded": cancellation.costs_view(session, LEVIS_RAC, 2),
            "costs_open": cancellation.costs_view(session, LEVIS_RAC, 3),
            "costs_invoice_model": session.get(Invoice, record.invoice_id),
        }


class Structure(HTMLParser):
    """Collects what the accessibility checks need."""

    def __init__(self):
        super().__init__()
        self.tables = 0
        self.captions = 0
        self.header_cells: list[dict] = []
        self.inputs: list[dict] = []
        self.labels: set[str] = set()
        self.forms: list[dict] = []
        self._form = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "th":
            self.header_cells.append(attrs)
        elif tag == "label":
            self.labels.add(attrs.get("for", ""))
        elif tag in ("input", "select", "textarea"):
            self.inputs.append(attrs)
            if self._form is not None and attrs.get("name") == "csrf_token":
                self._form["csrf"] = True
        elif tag == "form":
            self._form = {"method": attrs.get("method", "get"), "csrf": False}
            self.forms.append(self._form)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def refused(message: str, errors: dict, values: dict, model) -> FormState:
    """A form the service refused, as the framework keeps it for the page shown again."""
    return FormState(values=values, errors=errors, message=message, model=model)


def page_cases(data):
    """(template, refused form or None, query string, context) of each page."""
    blank = encode({"paid_on": date(2026, 11, 1), "method": PaymentMethod.TRANSFER})
    invoice = B.InvoiceView.model_validate(data["invoice"])
    costs_open = B.CostsView.model_validate(data["costs_open"])
    rows = cost_rows(costs_open)
    costs_form = encode({"items": rows})
    slots = {(r["line"], r["candidate_id"]): i for i, r in enumerate(rows)}
    person = slots[(4, 21)]
    return [
        (
            "billing/invoices.html.j2",
            None,
            "?fait=paiement-recu",
            dict(
                page=B.InvoicesPage.model_validate(
                    {
                        "listing": data["listing"],
                        "scheduled": data["scheduled"],
                        "employers": data["employers"],
                        "cancelled_plans": data["cancelled_plans"],
                    }
                ),
                filters=InvoicesFilter(statut=InvoiceFilter.OVERDUE),
                employer_id=None,
                statuses=InvoiceFilter.choices(),
                orders=B.InvoiceSort.choices(),
                pager=Pager(
                    count=1,
                    next_url="/facturation?curseur=x",
                    first_url=None,
                    export_query="?statut=overdue",
                ),
                form=FormState(),
            ),
        ),
        (
            "billing/invoice.html.j2",
            None,
            "",
            dict(invoice=invoice, methods=PaymentMethod.choices(), form=FormState(values=blank)),
        ),
        (
            "billing/invoice.html.j2",
            refused(
                "Le paiement dépasse le solde.",
                {"amount": "Le paiement dépasse le solde."},
                {**blank, "amount": HOSTILE},
                PaymentIn,
            ),
            "",
            dict(invoice=invoice, methods=PaymentMethod.choices()),
        ),
        (
            "billing/credit_note.html.j2",
            None,
            "",
            dict(credit=B.CreditNoteView.model_validate(data["credit"])),
        ),
        ("billing/import.html.j2", None, "", dict(max_megabytes=2)),
        (
            "billing/task.html.j2",
            None,
            "",
            dict(
                task=B.BillingTaskView.model_validate(
                    {**TASK, "status": "running", "status_label": "En cours", "pending": True}
                )
            ),
        ),
        (
            "billing/task.html.j2",
            None,
            "",
            dict(
                task=B.BillingTaskView.model_validate(
                    {
                        **TASK,
                        "status": "failed",
                        "status_label": "Échec",
                        "failed": True,
                        "message": "Le fichier contient 1 ligne invalide.",
                        "error_lines": {"ligne 2": HOSTILE},
                    }
                )
            ),
        ),
        ("billing/tasks.html.j2", None, "", dict(tasks=[B.BillingTaskView.model_validate(TASK)])),
        (
            "billing/task.html.j2",
            None,
            "",
            dict(
                task=B.BillingTaskView.model_validate(
                    {
                        **TASK,
                        "ready": True,
                        "report": {
                            "recorded": 1,
                            "skipped": 1,
                            "lines": [
                                {
                                    "line": 2,
                                    "number": "CLV-2026-0001",
                                    "amount": "5",
                                    "status": "recorded",
                                    "message": "",
                                },
                                {
                                    "line": 3,
                                    "number": HOSTILE,
                                    "amount": "5",
                                    "status": "skipped",
                                    "message": "Déjà importé.",
                                },
                            ],
                        },
                    }
                )
            ),  # fmt: skip
        ),
        (
            "billing/aging.html.j2",
            None,
            "",
            dict(report=B.AgingReport.model_validate(data["aging"])),
        ),
        (
            "billing/statement.html.j2",
            None,
            "",
            dict(
                statement=B.Statement.model_validate(data["statement"]),
                employers=[B.EmployerRef.model_validate(e) for e in data["employers"]],
                employer_id=None,
            ),
        ),
        (
            "billing/settings.html.j2",
            None,
            "",
            dict(
                form=FormState(
                    values={"gst_number": HOSTILE, "qst_number": "", "payment_instructions": ""}
                )
            ),
        ),
        (
            "billing/costs_incurred.html.j2",
            refused(
                "Deux quantités inscrites sont refusées.",
                {f"items.{person}.quantity": f"La quantité pour Émilie {HOSTILE} dépasse."},
                {
                    **costs_form,
                    f"items.{slots[(3, None)]}.quantity": HOSTILE,
                    f"items.{person}.quantity": "2",
                },
                CostsIncurredIn,
            ),
            "",
            dict(costs=costs_open, rows=slots),
        ),
        (
            "billing/costs_incurred.html.j2",
            None,
            "?fait=couts",
            dict(costs=B.CostsView.model_validate(data["costs_recorded"]), rows={}),
        ),
    ]


def render_case(data, index: int, actor) -> tuple[str, dict, FormState | None]:
    template, state, query, context = page_cases(data)[index]
    context.setdefault("form", state or FormState())
    html = render(template, actor, path=f"/{query}", state=state, **context)
    return html, context, state


@pytest.mark.parametrize("index", range(11))
@pytest.mark.parametrize("who", ["institution", "employer"])
def test_pages_render_escaped_and_accessible(data, index, who):
    actor = LEVIS_RAC if who == "institution" else CISSS_HR
    template = page_cases(data)[index][0]
    html, context, state = render_case(data, index, actor)
    assert "<script>alert" not in html
    assert '<html lang="fr-CA">' in html
    structure = Structure()
    structure.feed(html)
    assert structure.captions == structure.tables, template
    assert all(cell.get("scope") in ("col", "row") for cell in structure.header_cells), template
    for field in structure.inputs:
        if field.get("type") in ("hidden", "submit"):
            continue
        assert field.get("id") in structure.labels, (template, field)
    for form in structure.forms:
        if form["method"] == "post":
            assert form["csrf"], template
    if state is not None and actor.is_institution:  # employers never post these forms
        assert 'role="alert"' in html


def test_invoice_page_shows_the_payment_form_to_institutions_only(data):
    assert "Enregistrer un paiement" in render_case(data, 1, LEVIS_RAC)[0]
    assert "Enregistrer un paiement" not in render_case(data, 1, CISSS_HR)[0]


def test_invoice_and_credit_note_documents(data):
    session = data["session"]
    html = documents.invoice_html(session, data["invoice_model"])
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    for expected in (
        "Facture",
        "CLV-2026-0001",
        "Date d'échéance",
        "1er octobre 2026",
        "Cégep de Lévis",
        "CISSS de Chaudière-Appalaches",
        "TPS (5 %)",
        "TVQ (9,975 %)",
        "2 611,47 $",  # (non-breaking spaces folded by the whitespace clean-up)
        "Modalités de paiement",
        "N° d'inscription TPS",
    ):
        assert expected in text, expected
    assert "Payé" not in text  # the document is the invoice as issued, not its balance
    credit = documents.credit_note_html(session, data["credit_model"])
    assert "Note de crédit" in credit and "CLV-NC-2026-0001" in credit and "Motif" in credit


def test_costs_incurred_page_lists_each_line_and_person_with_a_labelled_field(data):
    html = render_case(data, 12, LEVIS_RAC)[0]
    # The fields are named by their path in the contract's CostsIncurredIn (items.N.…), each
    # row with its estimate line (and candidate-worker) in hidden fields: 3, 4-21 and 4-22.
    rows = dict(re.findall(r'name="items\.(\d+)\.line" value="(\d+)"', html))
    people = dict(re.findall(r'name="items\.(\d+)\.candidate_id" value="(\d*)"', html))
    by_line = {(rows[i], people[i]): i for i in rows}
    assert ("3", "") in by_line and ("4", "21") in by_line and ("4", "22") in by_line
    for key in (("3", ""), ("4", "21"), ("4", "22")):
        assert f'name="items.{by_line[key]}.quantity"' in html
    assert "5" not in rows.values()  # the conditional abandonment fee is not a cost
    assert "Émilie &lt;script&gt;" in html
    field = f"champ-items-{by_line[('4', '21')]}-quantity"
    assert f'aria-describedby="{field}-erreur" aria-invalid="true"' in html
    assert f'href="#{field}"' in html  # the error summary leads to the field
    # A field in a table row: its label is for screen readers (the row's headers show it).
    assert f'<label for="{field}" class="visually-hidden">Évaluation' in html
    assert "Émettre la facture finale" in html
    recorded = render_case(data, 13, LEVIS_RAC)[0]
    number = data["costs_recorded"]["record"]["invoice"]["number"]
    assert f">{number}</a>" in recorded
    assert 'action="/facturation/plans/2/couts-engages"' not in recorded  # recorded once
    assert "<td>candidat-travailleur</td><td>0,5</td>" in recorded


def test_invoices_page_leads_the_institution_to_the_costs_of_its_cancelled_plans(data):
    html = render_case(data, 0, LEVIS_RAC)[0]
    assert 'href="/facturation/plans/3/couts-engages">Inscrire les coûts engagés' in html
    number = data["costs_recorded"]["record"]["invoice"]["number"]
    assert f">{number}</a>" in html


def test_the_costs_incurred_invoice_says_what_it_bills(data):
    html = documents.invoice_html(data["session"], data["costs_invoice_model"])
    text = unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))
    assert "Facture finale" in text and "annexe A" in text
    assert "coûts engagés avant l'annulation" in text
    assert "Émilie" not in text  # the employer's invoice names no candidate-worker
