"""Every page of calls, applications, the network and the reddition de comptes, rendered by
the real app from the service's own views parsed into the contract's replies: what people
typed is escaped, every field is named by its contract path, and a refused form shows what
was typed with its error next to the field."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

import rac_shared.contracts.applications as A
import rac_shared.contracts.network as N
from gateway.web.forms import FormState, encode
from gateway.web.framework import Ctx
from gateway.web.lists import Pager
from gateway.web.reporting.pages import _draft_values
from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.contracts.base import parse
from rac_shared.listing import reply
from services.applications import ceracs, dossiers, reporting, staff_table, support, views
from services.applications.testing import (
    ADMIN,
    ANALYST,
    CMV_FC,
    LEVIS_DG,
    LEVIS_RAC,
    LEVIS_STUDIES,
    memory_session,
)
from tests.support.applications_call import fill_application
from tests.support.gateway_app import gateway_app
from tests.support.typography import ordinary_spaces
from tests.unit.test_applications_domain import local, open_app, published_call
from tests.unit.test_reporting_domain import designation

HOSTILE = "<script>alert('x')</script> {{ 7*7 }}"


def render(template: str, actor: Actor, state: FormState | None = None, **context) -> str:
    """A page as the gateway renders it, optionally after a refused form (``state``)."""
    app = gateway_app(rpc=None)
    ctx = Ctx(app=app, request=Request(EnvironBuilder(path="/").get_environ()))
    ctx.actor, ctx.unread_messages, ctx.form_state = actor, 0, state
    ctx.csrf_token = lambda: "jeton"
    return ordinary_spaces(app.templates.get_template(template).render(ctx=ctx, **context))


def assert_escaped(html: str) -> None:
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "{{ 7*7 }}" in html  # shown, never evaluated


def names(html: str) -> set[str]:
    return set(re.findall(r'name="([^"]+)"', html))


@pytest.fixture
def session():
    session = memory_session()
    yield session
    session.close()


@pytest.fixture
def application(session):
    """Lévis's application, filled and signed, with a hostile answer, on 10 December 2012."""
    call = published_call(session)
    with clock.frozen_at(local(2012, 12, 10, 10, 0)):
        application = open_app(session, call)
        fill_application(session, LEVIS_RAC, application)
        question = next(q for s in call.sections for q in s.questions if q.kind == "text")
        dossiers.save_answers(session, LEVIS_RAC, application.id, question.section_id, {
            question.id: f"Réponse {HOSTILE}"})  # fmt: skip
        for signer in (LEVIS_DG, LEVIS_STUDIES):
            dossiers.sign(session, signer, application.id)
        session.flush()
        yield application


def test_the_call_pages_render_their_forms_by_contract_path(session, application):
    call = application.call
    summary = [A.CallSummary.model_validate(views.call_summary(call))]
    pager = Pager(count=1, next_url=None, first_url=None, export_query="")
    html = render("applications/calls.html.j2", ANALYST, calls=summary, pager=pager)
    assert str(escape(call.title)) in html and str(escape("1 appel d'intérêt")) in html
    # An institution with years of applications: one page, the count of all, the next one.
    pager = Pager(count=120, next_url="/appels?curseur=x", first_url=None, export_query="")
    html = render("applications/calls.html.j2", ANALYST, calls=summary, pager=pager)
    assert str(escape("120 appels d'intérêt")) in html
    assert 'href="/appels?curseur=x" rel="next"' in html
    view = A.CallView.model_validate(views.call_view(session, ADMIN, call))
    form = FormState(values=encode({"criteria": [{"group": "qualite"}]}))
    page = render(
        "applications/call.html.j2", ADMIN, call=view, call_form=form, grid_form=form,
        amendment_form=form, groups=A.CriterionGroup.choices(),
        orders=A.EducationOrder.choices(), question_kinds=A.QuestionKind.choices(),
    )  # fmt: skip
    assert {"reason", "deadline_date", "change_grid", "criteria.5.threshold"} <= names(page)
    new = render("applications/call_new.html.j2", ADMIN, form=FormState(),
                 orders=A.EducationOrder.choices())  # fmt: skip
    assert {"title", "education_orders", "experimentation_years", "launch_date"} <= names(new)


def application_context() -> dict:
    """The forms the application page's handler gives its template."""
    return {
        "upload_form": FormState(), "paper_form": FormState(), "decision_form": FormState(),
        "piece_kinds": [(k.value, k.label) for k in A.PIECE_KINDS],
        "complements_form": FormState(values=encode({"items": [{"kind": "document"}] * 3})),
        "extension_form": FormState(), "resume_form": FormState(), "answer_form": FormState(),
        "complement_kinds": A.ComplementKind.choices(), "text_questions": [(1, "Question")],
    }  # fmt: skip


def test_the_application_page_escapes_answers_and_shows_the_review_to_analysts(
    session, application
):
    with clock.frozen_at(local(2012, 12, 10, 11, 0)):
        dossiers.submit(session, LEVIS_RAC, application.id)
        session.flush()
        mine = A.ApplicationView.model_validate(
            views.application_view(session, LEVIS_RAC, application)
        )
        staff = A.ApplicationView.model_validate(
            views.application_view(session, ANALYST, application)
        )
    context = application_context()
    html = render("applications/application.html.j2", LEVIS_RAC, app=mine, call=mine.call,
                  **context)  # fmt: skip
    assert_escaped(html)
    reviewed = render("applications/application.html.j2", ANALYST, app=staff, call=staff.call,
                      **context)  # fmt: skip
    assert {"received_on", "passed", "justification", "decision", "comment", "_form"} <= names(
        reviewed
    )
    assert reviewed.count('name="_form"') == 4  # one review form per rule
    # The analyst may ask for complements; the institution sees no such form.
    assert {"items.2.label", "items.0.kind", "items.1.piece_kind", "due_date"} <= names(reviewed)
    assert "items.0.label" not in names(html) and "Compléments demandés" not in html
    section = mine.call.sections[-1]
    page = render("applications/section.html.j2", LEVIS_RAC, app=mine, call=mine.call,
                  section=section, form=FormState())  # fmt: skip
    assert "ne peut plus être modifiée" in page


def test_a_refused_answer_keeps_what_was_typed_next_to_its_field(session, application):
    view = A.ApplicationView.model_validate(views.application_view(session, LEVIS_RAC, application))
    section = next(s for s in view.call.sections if any(q.kind == "text" for q in s.questions))
    question = next(q for q in section.questions if q.kind == "text")
    path = f"answers.{question.id}"
    state = FormState(values={path: "x" * 5000}, errors={path: "Trop long."},
                      message="Certaines réponses sont invalides.", model=A.AnswersIn,
                      endpoint="application_section_save")  # fmt: skip
    html = render("applications/section.html.j2", LEVIS_RAC, state, app=view, call=view.call,
                  section=section, form=state)  # fmt: skip
    assert "x" * 5000 in html and 'aria-invalid="true"' in html and "Trop long." in html
    assert "Certaines réponses sont invalides." in html


def test_the_table_page_filters_by_the_query_model(session, application):
    with clock.frozen_at(local(2012, 12, 10, 11, 0)):
        dossiers.submit(session, LEVIS_RAC, application.id)
    query = A.TableQuery(status="submitted")
    result = staff_table.table(session, ANALYST, application.call_id, query)
    listing = reply(
        result["listing"], [views.application_row(a) for (a,) in result["listing"]["rows"]]
    )
    table = A.ApplicationsTable.model_validate({
        **result, "call": views.call_summary(result["call"]), "listing": listing, "query": query,
    })  # fmt: skip
    pager = Pager(count=1, next_url=None, first_url=None, export_query="?status=submitted")
    html = render(
        "applications/table.html.j2", ANALYST, table=table, form=FormState(values=encode(query)),
        pager=pager, orders=A.EducationOrder.choices(),
        statuses=A.ApplicationStatus.choices(), admissibilities=A.AdmissibilityFilter.choices(),
        sorts=A.TableSort.choices(), decisions=A.Admissibility.choices(),
    )  # fmt: skip
    assert 'value="submitted" selected' in html and "demandes.csv?status=submitted" in html
    assert "demandes.xlsx?status=submitted" in html and "1 demande selon ces critères" in html
    # The undecided application can be ticked for a bulk decision, checked before it is made.
    assert f'name="application_ids" value="{application.id}"' in html
    assert f'action="/appels/{application.call_id}/demandes/recevabilite"' in html
    row = table.listing.items[0]
    confirm = render(
        "applications/bulk_admissibility.html.j2", ANALYST, call=table.call, rows=[row],
        decision=A.Admissibility.NOT_ADMISSIBLE, comment=f"Motif {HOSTILE}", form=FormState(),
    )  # fmt: skip
    assert "1 demande sera déclarée <strong>non recevable</strong>" in confirm
    assert f'<input type="hidden" name="application_ids" value="{application.id}">' in confirm
    assert "<script>" not in confirm and "Confirmer les décisions" in confirm
    incomplete = render(
        "applications/bulk_admissibility.html.j2", ANALYST, call=table.call, rows=[],
        decision=None, comment="", form=FormState(),
    )  # fmt: skip
    assert "Cochez au moins une demande" in incomplete and "Confirmer" not in incomplete
    result = A.BulkDecided.model_validate({
        "decision": "recevable", "decision_label": "Recevable", "decided": 1, "refused": 1,
        "outcomes": [
            {"application_id": row.id, "reference": row.reference, "decided": True,
             "organisation_name": row.organisation_name, "message": "Déclarée recevable."},
            {"application_id": 99, "reference": None, "organisation_name": None,
             "decided": False, "message": f"Refus {HOSTILE}"},
        ],
    })  # fmt: skip
    done = render(
        "applications/bulk_admissibility_done.html.j2", ANALYST, call=table.call, r=result
    )
    assert "1 demande déclarée recevable ; 1 demande refusée" in done
    assert "<script>" not in done and "Demande 99" in done


@pytest.fixture
def network(session):
    """A CERAC of Marie-Victorin with a hostile name, a support request from Lévis."""
    with clock.frozen_at(local(2013, 6, 1, 9, 0)):
        record = ceracs.register_designation(
            session, designation().model_copy(update={"organisation_name": f"CMV {HOSTILE}"}), []
        )
        reporting.ensure_yearly_reports(session, record)
    request = parse(N.SupportRequestIn, {"object": f"Objet {HOSTILE}", "message": "Un message."})
    with clock.frozen_at(local(2013, 10, 1, 9, 0)):
        support.request_support(session, LEVIS_RAC, record.id, request, "Cégep de Lévis")
    session.flush()
    return record


def test_the_network_pages_escape_names_and_key_each_answer_form(session, network):
    page = ceracs.network_page(session, LEVIS_RAC, N.NetworkQuery())
    found = N.NetworkView.model_validate({
        "ceracs": reply(page, [ceracs.cerac_view(c, LEVIS_RAC) for c in page["rows"]]),
        "areas": ceracs.areas_vocabulary(), "query": N.NetworkQuery(),
    })  # fmt: skip
    pager = Pager(count=1, next_url=None, first_url=None, export_query="")
    html = render("network/index.html.j2", LEVIS_RAC, result=found, form=FormState(),
                  areas=N.CompetenceArea.choices(), pager=pager, orders=[],
                  sorts=N.NetworkSort.choices())  # fmt: skip
    assert_escaped(html)
    page = N.CeracPage.model_validate({**ceracs.cerac_view(network, CMV_FC),
                                       "can_request_support": False,
                                       "areas": ceracs.areas_vocabulary()})  # fmt: skip
    cerac = render("network/cerac.html.j2", CMV_FC, cerac=page, request_form=FormState(),
                   competences_form=FormState(), areas=N.CompetenceArea.choices())  # fmt: skip
    assert {"areas", "programs"} <= names(cerac)
    requests = N.SupportRequests.model_validate(support.requests_of(session, CMV_FC))
    listing = render("network/requests.html.j2", CMV_FC, requests=requests)
    assert_escaped(listing)
    assert f'name="_form" value="{requests.received[0].id}"' in listing


def test_the_report_pages_name_indicators_by_path_and_keep_a_refused_number(session, network):
    report = reporting.visible_report(session, CMV_FC, reporting.list_reports(session, ADMIN)[0].id)
    view = N.ReportView.model_validate(reporting.report_view(session, CMV_FC, report))
    values = _draft_values(view)
    assert values["sections.offer.indicators.0.source"] == "support_received"
    typed = {**values, "sections.quality.indicators.0.achieved": "douze"}
    state = FormState(values=typed, errors={
        "sections.quality.indicators.0.achieved": N.NUMBER_MESSAGE}, model=N.ReportDraftIn,
        message="Certains champs sont à corriger.", endpoint="report_save")  # fmt: skip
    html = render("reporting/edit.html.j2", CMV_FC, state, report=view, form=state,
                  upload=FormState(), extra_rows=2,
                  prefilled=N.IndicatorSource.labels())  # fmt: skip
    assert 'value="douze"' in html and N.NUMBER_MESSAGE in html
    assert "Indicateur 1 — Valeur atteinte" in html  # the summary names the field
    assert "sections.development.indicators.1.label" in names(html)  # two blank rows
    staff = N.ReportView.model_validate(reporting.report_view(session, ANALYST, report))
    page = render("reporting/report.html.j2", ANALYST, report=staff, review=FormState(),
                  decisions=N.ReportDecision.choices())  # fmt: skip
    assert_escaped(page)
    reports = reporting.reports_page(session, ANALYST, N.ReportQuery(limit=1))
    assert reports["items"][0] == reporting.report_summary(report)  # the list's own query
    overview = N.ReportingOverview.model_validate({
        "reports": reports, "mandates": [], "ceracs": [],
        "is_cerac": False, "is_staff": True, "deadlines": [], "years": ["2013-2014"],
        "status_labels": reporting.STATUS_LABELS, "query": N.ReportQuery(),
    })  # fmt: skip
    pager = Pager(count=1, next_url=None, first_url=None, export_query="")
    index = render("reporting/index.html.j2", ANALYST, overview=overview, filters=FormState(),
                   deadline_form=FormState(), statuses=N.ReportStatus.choices(), pager=pager,
                   sorts=N.ReportSort.choices())  # fmt: skip
    assert {"statut", "retard", "annee", "tri", "experimentation_year", "due_date"} <= names(index)
    assert "/redditions/liste.xlsx" in index
    mandate = render("reporting/mandate_new.html.j2", ADMIN, form=FormState(),
                     ceracs=[(network.id, "Cégep")])  # fmt: skip
    assert {"cerac_id", "object", "deliverables", "due_date", "amount"} <= names(mandate)


def test_during_a_request_the_institution_gets_a_form_per_item_and_the_analyst_waits(
    session, application
):
    from services.applications import complements

    with clock.frozen_at(local(2012, 12, 10, 11, 0)):
        dossiers.submit(session, LEVIS_RAC, application.id)
    question = next(q for s in application.call.sections for q in s.questions if q.kind == "text")
    items = [
        A.ComplementItemIn(label="Précision", kind="answer", question_id=question.id),
        A.ComplementItemIn(label="Résolution du conseil", kind="document"),
        A.ComplementItemIn(label="Signature de la direction générale", kind="signature"),
    ]
    with clock.frozen_at(local(2013, 1, 7, 9, 0)):
        complements.request_complements(
            session, ANALYST, application.id,
            A.ComplementsRequestIn(items=items, due_date="2013-01-18", message="Merci."),
        )  # fmt: skip
        session.flush()
        mine = A.ApplicationView.model_validate(
            views.application_view(session, LEVIS_RAC, application)
        )
        staff = A.ApplicationView.model_validate(
            views.application_view(session, ANALYST, application)
        )
    assert mine.status_label == "Compléments demandés"
    html = render("applications/application.html.j2", LEVIS_RAC, app=mine, call=mine.call,
                  **application_context())  # fmt: skip
    assert_escaped(html)
    assert {"answer", "fichier", "comment"} <= names(html)
    assert "Transmettre la réponse au Ministère" in html
    assert "À signer, avec son propre compte" in html  # the coordinator may not sign
    assert "Remplir la section" not in html and "Joindre la pièce" not in html
    waiting = render("applications/application.html.j2", ANALYST, app=staff, call=staff.call,
                     **application_context())  # fmt: skip
    assert "Prolonger le délai" in waiting and "Reprendre l'analyse" not in waiting
    assert "items.0.label" not in names(waiting)  # one request at a time
    assert "Consigner la décision" not in waiting


def test_closing_a_call_is_confirmed_on_a_step_that_says_what_will_happen(session, application):
    """The call page links to the step (a destructive-looking link, no form acting at once);
    the step's button posts the action; a minister's period and the calendar address are
    confirmed the same way (``passthrough.confirmation_step``)."""
    from services.applications.service import ApplicationsService
    from tests.support.pages import Browser, ServiceRpc

    call = application.call
    view = A.CallView.model_validate(views.call_view(session, ADMIN, call))
    form = FormState()
    page = render(
        "applications/call.html.j2", ADMIN, call=view, call_form=form, grid_form=form,
        amendment_form=form, groups=A.CriterionGroup.choices(),
        orders=A.EducationOrder.choices(), question_kinds=A.QuestionKind.choices(),
    )  # fmt: skip
    assert f'<a class="button danger" href="/appels/{call.id}/fermer">' in page
    assert f'action="/appels/{call.id}/fermer"' not in page
    session.commit()
    admin = Browser(ServiceRpc(ApplicationsService, session), ADMIN)
    step = admin.get(f"/appels/{call.id}/fermer")
    assert step.status_code == 200 and "Fermer l'appel d'intérêt ?" in step.html
    assert "ne pourront plus le faire" in step.html and "ne peut pas être rouvert" in step.html
    assert f'<form method="post" action="/appels/{call.id}/fermer"' in step.html
    assert '<button type="submit" class="danger">Fermer l\'appel</button>' in step.html
    assert f'<a href="/appels/{call.id}">Revenir sans rien changer</a>' in step.html
    assert session.get(type(call), call.id).status == "published"  # the step changed nothing
    closed = admin.post(f"/appels/{call.id}/fermer")
    assert closed.headers["Location"] == f"/appels/{call.id}?fait=appel-ferme"
    session.expire_all()
    assert session.get(type(call), call.id).status == "closed"

    # A step whose action names its row in the query string carries it as hidden fields.
    ministry = Browser(ServiceRpc(ApplicationsService, session), ADMIN).get(
        "/comites/ministeres/retirer?since=2025-03-14"
    )
    assert ministry.status_code == 200 and "Retirer cette période du ministère ?" in ministry.html
    assert '<input type="hidden" name="since" value="2025-03-14">' in ministry.html
    assert "Les lettres déjà produites ne changent pas." in ministry.html
    assert (
        Browser(ServiceRpc(ApplicationsService, session), ADMIN)
        .get("/comites/ministeres/retirer?since=hier")
        .status_code
        == 422
    )
