"""Reddition de comptes of the CERACs and special mandates: the pages.

- a CERAC's users (any institution role of the designated institution) see their reports
  and special mandates, write drafts (objectives, indicators, narrative, attachments per
  mandate part or deliverable), and submit; another institution's report is "not found";
- the ministry's analysts and admin see every report (filter by status, late ones), set the
  due date of each experimentation year, review the submitted version (accept, or ask for
  changes with a comment per section), and read the history of versions;
- the admin entrusts special mandates (object, deliverables, due date, amount).
The evaluator (evaluation committee) and employers have nothing here (403).

Handlers translate and delegate: each form is a contract model (``form=``), a refusal
re-renders the page it came from (``on_error=``) with what was typed and the errors.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field
from werkzeug.wrappers import Response

from gateway.web import lists
from gateway.web.forms import FormState, encode
from gateway.web.framework import Ctx, notices, post, route
from gateway.web.passthrough import Confirm, Download, Post, page_actions, passthrough
from rac_shared.actor import INSTITUTION_ROLES, Role
from rac_shared.contracts import network
from rac_shared.contracts.applications import MAX_ATTACHMENT_BYTES
from rac_shared.contracts.listing import MAX_LIMIT, Cursor
from rac_shared.errors import DomainError, invalid

STAFF = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
ADMIN = frozenset({Role.MINISTRY_ADMIN})
INSTITUTIONS = INSTITUTION_ROLES
REPORTING = STAFF | INSTITUTION_ROLES
EXTRA_INDICATOR_ROWS = 2

notices(
    **{
        "rapport-enregistre": "Le brouillon est enregistré.",
        "depose": "Le rapport est déposé. Le Ministère en fera l'analyse; cette version est "
        "conservée dans l'historique.",
        "piece": "La pièce jointe est ajoutée.",
        "piece-retiree": "La pièce jointe est retirée.",
        "rapport-accepte": "Le rapport est accepté.",
        "modifications-demandees": "Les modifications demandées sont transmises au CERAC.",
        "echeance": "L'échéance est enregistrée; les rapports de cette année la suivent.",
        "mandat": "Le mandat particulier est confié; son rapport est ouvert pour le CERAC.",
    }
)


class OverviewQuery(lists.PageQuery):
    """The overview's filters as its page names them (the API's are ``ReportQuery``); the
    exports take the same query."""

    statut: network.ReportStatus | None = Field(None, title="Statut")
    retard: bool = Field(False, title="En retard seulement")
    annee: Annotated[str | None, BeforeValidator(lambda v: v or None)] = Field(
        None, pattern=r"^\d{4}-\d{4}$", title="Année d'expérimentation"
    )
    tri: network.ReportSort = Field(network.ReportSort.TO_DO, title="Trier par")
    curseur: Cursor = Field(None, title="Page")

    CONTRACT = network.ReportQuery
    NAMES = {"statut": "status", "retard": "late", "annee": "year"}


def _report_columns(ctx: Ctx) -> list[lists.Column]:
    """The list's columns as the page shows them, for its exports."""
    staff = [lists.Column("CERAC", lambda r: r.organisation_name)]
    return [
        *(staff if ctx.actor.is_ministry else []),
        lists.Column("Rapport", lambda r: f"{r.kind_label} — {r.period_label}"),
        lists.Column("Échéance", lambda r: r.due_date),
        lists.Column("Jours de retard", lambda r: r.days_late or None),
        lists.Column(
            "Statut",
            lambda r: r.status_label + (" (déposé en retard)" if r.last_version_late else ""),
        ),
        lists.Column("Versions", lambda r: r.versions_count),
    ]


class ReportForm(network.ReportDraftIn):
    """The draft as the edit page posts it; ``submit`` when « Enregistrer et déposer »."""

    submit: bool = False


# -- the overview, due dates and special mandates ------------------------------------------


@route("/redditions", access=REPORTING, query=OverviewQuery, name="reporting_page")
def overview_view(ctx: Ctx) -> Response:
    if not isinstance(ctx.query, OverviewQuery):  # a refused form re-renders the overview
        ctx.query = OverviewQuery()
    overview = ctx.network.reporting_overview(query=ctx.query.contract())
    return ctx.render(
        "reporting/index.html.j2",
        overview=overview,
        pager=lists.pager(ctx, overview.reports),
        filters=ctx.form(ctx.query),
        deadline_form=ctx.form(endpoint="reporting_set_deadline"),
        statuses=network.ReportStatus.choices(),
        sorts=network.ReportSort.choices(),
    )


lists.exports(
    "/redditions/liste",
    name="reports",
    filename="redditions-de-comptes",
    access=REPORTING,
    query=OverviewQuery,
    sheet="Redditions de comptes",
    fetch=lambda ctx, query: ctx.network.list_reports(query=query),
    columns=_report_columns,
)


@route("/redditions/mandats/nouveau", access=ADMIN, name="special_mandate_form")
def mandate_view(ctx: Ctx) -> Response:
    ceracs = ctx.network.network_ceracs(query=network.NetworkQuery(limit=MAX_LIMIT)).ceracs.items
    return ctx.render(
        "reporting/mandate_new.html.j2",
        ceracs=[(c.id, f"{c.organisation_name} ({c.education_order_label})") for c in ceracs],
        form=ctx.form(),
    )


# -- a report --------------------------------------------------------------------------------


@route("/redditions/<int:report_id>", access=REPORTING, name="report_page")
def report_view(
    ctx: Ctx, report_id: int, report: network.ReportView | None = None, **_
) -> Response:
    report = report or ctx.network.get_report(report_id=report_id)
    return ctx.render(
        "reporting/report.html.j2",
        report=report,
        review=ctx.form(endpoint="report_review"),
        decisions=network.ReportDecision.choices(),
    )


def _draft_values(report: network.ReportView) -> dict:
    """The report's saved draft as the edit form's fields: the form's contract, as it was
    saved (unchecked), encoded as any form (measures as people write them)."""
    draft = network.ReportDraftIn.model_construct(
        sections={
            s.key: network.ReportSectionIn.model_construct(
                objectives=s.objectives, narrative=s.narrative, indicators=s.indicators
            )
            for s in report.sections
        }
    )
    return encode(draft)


@route("/redditions/<int:report_id>/modifier", access=INSTITUTIONS, name="report_edit_form")
def edit_view(ctx: Ctx, report_id: int, **_) -> Response:
    report = ctx.network.get_report(report_id=report_id)
    if not report.can_edit:
        message = f"Ce rapport ne peut pas être modifié : {report.status_label.lower()}."
        ctx.form_state = FormState(message=message)
        response = report_view(ctx, report_id, report)
        response.status_code = 409
        return response
    return ctx.render(
        "reporting/edit.html.j2",
        report=report,
        form=ctx.form(_draft_values(report), endpoint="report_save"),
        upload=ctx.form(endpoint="report_upload"),
        extra_rows=EXTRA_INDICATOR_ROWS,
        prefilled=network.IndicatorSource.labels(),
    )


@post("/redditions/<int:report_id>/modifier", ReportForm, edit_view, INSTITUTIONS)
def report_save(ctx: Ctx, report_id: int, form: ReportForm) -> Response:
    ctx.network.save_report(report_id=report_id, data=form.model_dump(exclude={"submit"}))
    if not form.submit:
        return ctx.done(f"/redditions/{report_id}/modifier", "rapport-enregistre")
    try:
        ctx.network.submit_report(report_id=report_id)
    except DomainError as exc:
        if exc.code != "invalid" or not isinstance(exc.details, dict):
            raise
        # The draft is saved; what is missing is shown on each section of the form.
        raise invalid(
            "Le brouillon est enregistré, mais " + exc.message[0].lower() + exc.message[1:],
            {f"sections.{key}": text for key, text in exc.details.items()},
        ) from None
    return ctx.done(f"/redditions/{report_id}", "depose")


passthrough(
    "network",
    Download("report_attachment", "/redditions/<int:report_id>/pieces/<int:attachment_id>",
             "get_report_attachment", REPORTING),
)  # fmt: skip


def _reviewed(form: network.ReportReviewIn, reply) -> str:
    """The review's notice: the report accepted, or the changes asked sent to the CERAC."""
    accepted = form.decision == network.ReportDecision.ACCEPTED
    return "rapport-accepte" if accepted else "modifications-demandees"


@route("/redditions/<int:report_id>/versions/<int:number>", access=REPORTING)
def report_version_page(ctx: Ctx, report_id: int, number: int) -> Response:
    version = ctx.network.get_report_version(report_id=report_id, number=number)
    return ctx.render("reporting/version.html.j2", version=version)


# -- forms that are one RPC, then a notice (``page_actions``) ------------------------------

# fmt: off
page_actions(
    "network", overview_view, STAFF,
    Post("reporting_set_deadline", "/redditions/echeances", "set_report_deadline", "/redditions",
         "echeance", network.DeadlineIn),
)
page_actions(
    "network", mandate_view, ADMIN,
    Post("special_mandate_assign", "/redditions/mandats", "assign_special_mandate",
         "/redditions/{reply.report_id}", "mandat", network.SpecialMandateIn),
)
page_actions(
    "network", report_view, INSTITUTIONS,
    Post("report_submit", "/redditions/<int:report_id>/soumettre", "submit_report",
         "/redditions/{report_id}", "depose"),
    Post("report_review", "/redditions/<int:report_id>/revue", "review_report",
         "/redditions/{report_id}", _reviewed, network.ReportReviewIn, access=STAFF),
)
page_actions(
    "network", edit_view, INSTITUTIONS,
    Post("report_upload", "/redditions/<int:report_id>/pieces", "upload_report_attachment",
         "/redditions/{report_id}/modifier", "piece", network.ReportAttachmentSection,
         upload=("fichier", MAX_ATTACHMENT_BYTES)),
    Post("report_delete_attachment",
         "/redditions/<int:report_id>/pieces/<int:attachment_id>/supprimer",
         "delete_report_attachment", "/redditions/{report_id}/modifier", "piece-retiree",
         confirm=Confirm("Retirer cette pièce jointe?",
                         "Le document sera retiré de la reddition de comptes en préparation.",
                         "Retirer la pièce jointe")),
)
# fmt: on
