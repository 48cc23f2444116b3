"""Funding of designated CERACs: the pages under ``/financement``.

Thin handlers over the billing service's funding contract (``ctx.funding``), which scopes
everything: the ministry sees every CERAC, a CERAC (the institution designated) only its own
statement and projects; another CERAC's statement or project is "not found". The ministry's
administrators and analysts record allocations, decide projects, edit schedules and record
payments; institutions submit development projects (the service refuses an institution that
is not a CERAC); employers have no access.

Each form is a contract model (``form=``); a refusal re-renders the page it came from
(``on_error=``) with what was typed and the errors.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qs

from pydantic import AfterValidator, Field
from werkzeug.wrappers import Response

from gateway.web import lists
from gateway.web.framework import Ctx, notices, route
from gateway.web.passthrough import Download, Post, page_actions, passthrough
from rac_shared.actor import INSTITUTION_ROLES, MINISTRY_ROLES, Role
from rac_shared.clock import clock
from rac_shared.contracts import funding
from rac_shared.contracts.base import OptionalInt, Strict
from rac_shared.contracts.listing import Cursor
from rac_shared.contracts.scoring import EducationOrder
from rac_shared.errors import DomainError

READERS = MINISTRY_ROLES | INSTITUTION_ROLES
MANAGERS = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
INSTITUTIONS = INSTITUTION_ROLES

notices(
    allocation="L'allocation de fonctionnement est enregistrée et son échéancier créé.",
    projet="Le projet de développement est soumis au Ministère.",
    echeancier="L'échéancier des versements est enregistré.",
    paiement="Le versement est enregistré comme payé.",
    **{"decision-projet": "La décision sur le projet de développement est enregistrée."},
)


class YearFilter(Strict):
    """``?exercice=2025-2026``: the fiscal year, the RPCs' ``fiscal_year``."""

    fiscal_year: funding.OptionalFiscalYear = Field(
        None, alias="exercice", title="Exercice financier"
    )


def back_to(back: str) -> str:
    """The funding page a form came from: never a redirection elsewhere."""
    return back if back.startswith("/financement/") and "//" not in back else "/financement"


class PaymentForm(funding.DisbursementPaymentIn):
    """A disbursement's payment as a page posts it, with the page to go back to. The RPC
    gets the contract's fields only: pydantic sends a subclass as the declared model."""

    back: Annotated[str, AfterValidator(back_to)] = Field("/financement", max_length=300)


def _view(ctx: Ctx, template: str, **context) -> Response:
    return ctx.render(
        template,
        can_manage=ctx.actor.role in MANAGERS,
        today=clock.today(),
        payable=(funding.DisbursementStatus.PAYABLE, funding.DisbursementStatus.SCHEDULED),
        **context,
    )


# -- overview and statements -----------------------------------------------------------------------


@route("/financement", access=READERS, query=YearFilter)
def funding_page(ctx: Ctx) -> Response:
    year = ctx.query.fiscal_year if isinstance(ctx.query, YearFilter) else None
    overview = ctx.funding.funding_overview(fiscal_year=year)
    return _view(ctx, "funding/index.html.j2", overview=overview, statement=overview.statement)


def cerac_view(ctx: Ctx, cerac_id: int, year: str | None) -> Response:
    statement = ctx.funding.funding_statement(cerac_id=cerac_id, fiscal_year=year)
    form = ctx.form({"fiscal_year": statement.fiscal_year}, endpoint="funding_allocate")
    return _view(ctx, "funding/statement.html.j2", statement=statement, form=form)


class AllocationsFilter(lists.PageQuery):
    """``/financement/allocations?exercice=2025-2026&ordre=collégial&tri=montant``; the exports
    take the same query. (A filter left blank is no filter, a blank sort the default: the
    form decoder's rule for an empty choice.)"""

    exercice: funding.OptionalFiscalYear = Field(None, title="Exercice financier")
    cerac: OptionalInt = Field(None, title="CERAC")
    ordre: EducationOrder | None = Field(None, title="Ordre d'enseignement")
    tri: funding.AllocationSort = Field(funding.AllocationSort.TO_PAY, title="Trier par")
    curseur: Cursor = Field(None, title="Page")

    CONTRACT = funding.AllocationQuery
    NAMES = {"exercice": "fiscal_year", "cerac": "cerac_id", "ordre": "education_order"}


def _allocation_columns(ctx: Ctx) -> list[lists.Column]:
    """The list's columns as the page shows them, for its exports."""
    return [
        lists.Column("CERAC", lambda a: a.cerac_name),
        lists.Column("Ordre d'enseignement", lambda a: a.education_order_label),
        lists.Column("Exercice", lambda a: a.fiscal_year),
        lists.Column("Montant alloué", lambda a: a.amount),
        lists.Column("Versé", lambda a: a.paid),
        lists.Column("Reste à verser", lambda a: a.remaining),
        lists.Column("Versements exigibles", lambda a: a.payable),
        lists.Column("Prochaine échéance", lambda a: a.next_due_on),
    ]


@route("/financement/allocations", access=READERS, query=AllocationsFilter)
def funding_allocations_page(ctx: Ctx) -> Response:
    page = ctx.funding.list_funding_allocations(query=ctx.query.contract())
    return _view(
        ctx,
        "funding/allocations.html.j2",
        page=page,
        pager=lists.pager(ctx, page),
        filter_form=ctx.form(ctx.query),
        orders=EducationOrder.choices(),
        sorts=funding.AllocationSort.choices(),
    )


lists.exports(
    "/financement/allocations/liste",
    name="funding_allocations",
    filename="allocations-de-fonctionnement",
    access=READERS,
    query=AllocationsFilter,
    sheet="Allocations",
    fetch=lambda ctx, query: ctx.funding.list_funding_allocations(query=query),
    columns=_allocation_columns,
)


@route("/financement/ceracs/<int:cerac_id>", access=READERS, query=YearFilter)
def funding_cerac_page(ctx: Ctx, cerac_id: int) -> Response:
    return cerac_view(ctx, cerac_id, ctx.query.fiscal_year)


S = "/financement/ceracs/<int:cerac_id>/releve"
passthrough(
    "funding",
    Download("funding_statement_csv", f"{S}.csv", "funding_statement_csv", READERS, YearFilter),
    Download("funding_statement_pdf", f"{S}.pdf", "funding_statement_pdf", READERS, YearFilter),
)


def _allocation_refused(ctx: Ctx, cerac_id: int) -> Response:
    """The statement of the fiscal year typed, when it is one (else the current one)."""
    try:
        return cerac_view(ctx, cerac_id, ctx.form_state.value("fiscal_year") or None)
    except DomainError as exc:
        if exc.code != "invalid":  # not a fiscal year: refused before any call
            raise
        return cerac_view(ctx, cerac_id, None)


# -- development projects --------------------------------------------------------------------------


@route("/financement/projets/nouveau", access=INSTITUTIONS)
def funding_project_form(ctx: Ctx) -> Response:
    overview = ctx.funding.funding_overview()
    return _view(
        ctx,
        "funding/project_form.html.j2",
        is_cerac=overview.is_cerac,
        mandate_parts=funding.MandatePart.choices(),
        form=ctx.form(endpoint="funding_submit_project"),
    )


def _unpaid(disbursements) -> dict:
    """The schedule form's rows: the installments not paid yet."""
    fields = set(funding.ScheduleItemIn.model_fields)
    unpaid = [d for d in disbursements if d.status != funding.DisbursementStatus.PAID]
    return {"items": [d.model_dump(include=fields) for d in unpaid]}


@route("/financement/projets/<int:project_id>", access=READERS)
def funding_project_page(ctx: Ctx, project_id: int) -> Response:
    project = ctx.funding.get_funding_project(project_id=project_id)
    return _view(
        ctx,
        "funding/project.html.j2",
        project=project,
        decisions=funding.ProjectDecision.choices(),
        form=ctx.form(endpoint="funding_decide"),
        schedule=ctx.form(_unpaid(project.disbursements), endpoint="funding_project_schedule"),
    )


# -- schedules and payments ------------------------------------------------------------------------


@route("/financement/allocations/<int:allocation_id>", access=READERS)
def funding_allocation_page(ctx: Ctx, allocation_id: int) -> Response:
    allocation = ctx.funding.get_funding_allocation(allocation_id=allocation_id)
    return _view(
        ctx,
        "funding/allocation.html.j2",
        allocation=allocation,
        schedule=ctx.form(
            _unpaid(allocation.disbursements), endpoint="funding_allocation_schedule"
        ),
    )


FUNDING_PAGE = re.compile(r"/financement/(ceracs|allocations|projets)/(\d+)")


def _payment_refused(ctx: Ctx, disbursement_id: int) -> Response:
    """The page the payment form was on, again, with the refusal at its top."""
    path, _, query = back_to(ctx.form_state.value("back")).partition("?")
    page = FUNDING_PAGE.fullmatch(path)
    if page is None:
        return funding_page(ctx)
    kind, number = page.group(1), int(page.group(2))
    if kind == "allocations":
        return funding_allocation_page(ctx, number)
    if kind == "projets":
        return funding_project_page(ctx, number)
    return cerac_view(ctx, number, parse_qs(query).get("exercice", [None])[0])


# -- forms that are one RPC, then a notice (``page_actions``) ------------------------------

# fmt: off
page_actions(
    "funding", _payment_refused, MANAGERS,
    Post("funding_pay", "/financement/versements/<int:disbursement_id>/paiement",
         "pay_funding_disbursement", "{form.back}", "paiement", PaymentForm),
)
page_actions(
    "funding", _allocation_refused, MANAGERS,
    Post("funding_allocate", "/financement/ceracs/<int:cerac_id>/allocations",
         "record_funding_allocation", "/financement/ceracs/{cerac_id}?exercice={form.fiscal_year}",
         "allocation", funding.AllocationIn),
)
page_actions(
    "funding", funding_project_form, INSTITUTIONS,
    Post("funding_submit_project", "/financement/projets", "submit_funding_project",
         "/financement/projets/{reply.id}", "projet", funding.ProjectIn),
)
page_actions(
    "funding", funding_project_page, MANAGERS,
    Post("funding_decide", "/financement/projets/<int:project_id>/decision",
         "decide_funding_project", "/financement/projets/{project_id}", "decision-projet",
         funding.ProjectDecisionIn),
    Post("funding_project_schedule", "/financement/projets/<int:project_id>/echeancier",
         "update_project_schedule", "/financement/projets/{project_id}", "echeancier",
         funding.ScheduleIn),
)
page_actions(
    "funding", funding_allocation_page, MANAGERS,
    Post("funding_allocation_schedule", "/financement/allocations/<int:allocation_id>/echeancier",
         "update_allocation_schedule", "/financement/allocations/{allocation_id}", "echeancier",
         funding.ScheduleIn),
)
# fmt: on
