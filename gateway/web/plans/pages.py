"""Workplace RAC implementation plans: the pages.

Thin handlers over the plans service (``ctx.plans``, the actor added by the typed client),
which scopes every plan to its parties: the institution that prepared it, the employer it
is addressed to (once issued). The ministry sees network figures only. Each form is a
contract model (``form=``) whose fields are named by their path in it; a refusal
re-renders the page it came from (``on_error=``) with what was typed and the errors.

Estimates are billing's: a page that shows one asks billing once (the frozen estimate of
an issued version comes with the plan). Billing's estimate editor is ``estimate.py``.
"""

from __future__ import annotations

import base64

from pydantic import Field
from werkzeug.wrappers import Response

from gateway import directory
from gateway.web import background, lists, responses
from gateway.web.framework import ALL_ROLES, Ctx, HttpError, notices, post, route
from gateway.web.passthrough import Confirm, Download, Post, page_actions, passthrough
from rac_shared.actor import EMPLOYER_ROLES, INSTITUTION_ROLES, MINISTRY_ROLES, OrganisationKind
from rac_shared.clock import clock
from rac_shared.contracts import plans
from rac_shared.contracts.base import OptionalInt, Strict, parse
from rac_shared.contracts.billing import EstimateView
from rac_shared.contracts.listing import Cursor
from rac_shared.errors import DomainError, invalid

INSTITUTIONS = INSTITUTION_ROLES
EMPLOYERS = EMPLOYER_ROLES
PARTIES = INSTITUTION_ROLES | EMPLOYER_ROLES

notices(
    **{
        "plan-cree": "Le plan est créé à partir du modèle de l'établissement. Complétez "
        "chaque section.",
        "plan-enregistre": "Les modifications sont enregistrées.",
        "plan-emis": "Le plan est émis : l'organisation a 30 jours pour l'accepter.",
        "plan-emission": "L'émission est demandée : cette page se met à jour d'elle-même "
        "quand le plan est émis.",
        "plan-apercu": "L'aperçu PDF est demandé : son lien paraît sur cette page dès qu'il "
        "est prêt.",
        "plan-accepte": "Le plan est accepté. Merci : l'établissement en est avisé.",
        "refuse": "L'offre est refusée : l'établissement en est avisé, avec le motif du refus.",
        "plan-acceptation": "L'acceptation reçue est enregistrée.",
        "plan-modification": "Une nouvelle version est en préparation : modifiez-la puis "
        "émettez-la.",
        "plan-annule": "Le plan est annulé.",
        "plan-termine": "Le projet est marqué comme terminé.",
        "plan-modele": "Le modèle d'annexes de l'établissement est enregistré.",
        "plan-suivi": "Le suivi est enregistré.",
    }
)


class PlanListPage(lists.PageQuery):
    """``/plans?statut=…&tri=…&curseur=…``: the list, filtered by the plan's status, sorted,
    one page at a time (its exports take the same query; the API's is ``PlanQuery``)."""

    statut: plans.PlanStatus | None = Field(None, title="Statut")
    tri: plans.PlanSort = Field(plans.PlanSort.TO_DO, title="Trier par")
    curseur: Cursor = Field(None, title="Page")

    CONTRACT = plans.PlanQuery
    NAMES = {"statut": "status"}


def _plan_columns(ctx: Ctx) -> list[lists.Column]:
    """The list's columns, as the page shows them (and its exports)."""
    party = [lists.Column("Organisation", lambda p: p.employer_name)]
    return [
        lists.Column("Plan", lambda p: p.reference),
        lists.Column("Programme", lambda p: p.program),
        *(party if ctx.actor.is_institution else []),
        lists.Column("Statut", lambda p: p.status_label),
        lists.Column(
            "Échéance d'acceptation",
            lambda p: p.acceptance_deadline.date() if p.acceptance_deadline else None,
        ),
        lists.Column("Jours restants", lambda p: p.days_left),
    ]


class ComparisonPage(Strict):
    """``/plans/<id>/comparaison?de=N&a=M`` (the API's ``?from=&to=``)."""

    de: OptionalInt = Field(None, ge=1, title="Version de départ")
    a: OptionalInt = Field(None, ge=1, title="Version comparée")


class AcceptForm(plans.OnlineAcceptanceIn):
    """The online acceptance as the page posts it, with the reading confirmed (the
    confirmation is the page's: not sent to the service)."""

    lu: bool = Field(False, exclude=True, title="Lecture du plan et de ses annexes")


class DeclineForm(plans.DeclineIn):
    """The employer's refusal as the page posts it, confirmed (the confirmation is the
    page's: not sent to the service)."""

    confirme: bool = Field(False, exclude=True, title="Confirmation du refus")


class AnnexTemplateForm(plans.AnnexTemplateIn):
    """The annex template as its page posts it: the texts; the logo is a file (``logo``),
    the current one kept unless replaced or removed."""

    remove_logo: bool = Field(False, exclude=True, title="Retirer le logo")


# -- lists ------------------------------------------------------------------------------------


@route("/plans", access=ALL_ROLES, query=PlanListPage)
def plans_page(ctx: Ctx) -> Response:
    if ctx.actor.role in MINISTRY_ROLES:
        return ctx.render("plans/figures.html.j2", figures=ctx.plans.network_figures())
    page = ctx.plans.list_plans(query=ctx.query.contract())
    return ctx.render(
        "plans/list.html.j2",
        plans=page.items,
        pager=lists.pager(ctx, page),
        selected=ctx.query.statut,
        filter_form=ctx.form(ctx.query),
        statuses=plans.PlanStatus.choices(),
        sorts=plans.PlanSort.choices(),
        institution=ctx.actor.is_institution,
    )


lists.exports(
    "/plans/liste",
    name="plans_list",
    filename="plans-de-mise-en-oeuvre",
    access=PARTIES,
    query=PlanListPage,
    sheet="Plans de mise en œuvre",
    fetch=lambda ctx, query: ctx.plans.list_plans(query=query),
    columns=_plan_columns,
)


@route("/plans/nouveau", access=INSTITUTIONS, name="plan_new_form")
def new_plan_view(ctx: Ctx) -> Response:
    with ctx.db() as session:  # the employers are the directory's (the gateway's own)
        employers = directory.list_organisations(session, [OrganisationKind.EMPLOYER])
    return ctx.render(
        "plans/new.html.j2",
        form=ctx.form({"program_kind": plans.ProgramKind.AEC}),
        employers=[(o["id"], o["name"]) for o in employers],
        kinds=plans.ProgramKind.choices(),
    )


# -- one plan -----------------------------------------------------------------------------------


def estimate_for(ctx: Ctx, view: plans.PlanView) -> EstimateView | dict | None:
    """The estimate of the version shown: frozen with it once issued, billing's current one
    for a draft (one RPC to billing; none without an employer on the platform)."""
    if view.version.estimate:
        return view.version.estimate
    if view.plan.employer_id is None:
        return None
    try:
        return ctx.billing.get_estimate(plan_id=view.plan.id, version=view.version.number)
    except DomainError:
        return None


@route("/plans/<int:plan_id>", access=PARTIES, query=plans.VersionQuery, name="plan_page")
def plan_view(ctx: Ctx, plan_id: int, **_) -> Response:
    """The plan page, with its forms (paper acceptance, amendment, cancellation)."""
    version = ctx.query.version if isinstance(ctx.query, plans.VersionQuery) else None
    view = ctx.plans.get_plan(plan_id=plan_id, version=version)
    return ctx.render(
        "plans/plan.html.j2",
        view=view,
        plan=view.plan,
        content=view.content,
        computed=view.computed,
        estimate=estimate_for(ctx, view),
        tasks={task.kind.value: task for task in view.tasks},
        acceptance_form=ctx.form(endpoint="plan_record_acceptance"),
        amend_form=ctx.form(endpoint="plan_amend"),
    )


# An issued version's PDF and its English courtesy translation (?version=N), the last preview
# rendered in the background (``/plans/<id>/apercu`` asks for one), a recorded acceptance's scan.
passthrough(
    "plans",
    Download("plan_pdf", "/plans/<int:plan_id>/pdf", "get_pdf", PARTIES, plans.VersionQuery),
    Download("plan_courtesy_translation", "/plans/<int:plan_id>/traduction-courtoisie.pdf",
             "courtesy_translation", PARTIES, plans.VersionQuery),
    Download("plan_preview_pdf", "/plans/<int:plan_id>/apercu.pdf", "preview_file", INSTITUTIONS),
    Download("plan_acceptance_scan", "/plans/<int:plan_id>/acceptation-recue/<int:version>",
             "get_acceptance_scan", PARTIES),
)  # fmt: skip


def _task_state(ctx: Ctx, plan_id: int, kind: plans.TaskKind, ready_url: str) -> Response:
    """What a plan page's status region polls (``gateway.web.background``)."""
    task = next((t for t in ctx.plans.plan_tasks(plan_id=plan_id) if t.kind == kind), None)
    return background.task_state(task, ready_url, f"/plans/{plan_id}")


@route("/plans/<int:plan_id>/emission/etat", access=INSTITUTIONS)
def plan_issue_state(ctx: Ctx, plan_id: int) -> Response:
    """The background issuing's state; once issued, the plan page with its notice."""
    return _task_state(ctx, plan_id, plans.TaskKind.ISSUE, f"/plans/{plan_id}?fait=plan-emis")


@route("/plans/<int:plan_id>/apercu/etat", access=INSTITUTIONS)
def plan_preview_state(ctx: Ctx, plan_id: int) -> Response:
    """The background preview's state; once rendered, the PDF's address."""
    return _task_state(ctx, plan_id, plans.TaskKind.PREVIEW, f"/plans/{plan_id}/apercu.pdf")


@route("/plans/<int:plan_id>/comparaison", access=PARTIES, query=ComparisonPage)
def plan_compare(ctx: Ctx, plan_id: int) -> Response:
    compared = ctx.plans.compare(plan_id=plan_id, left=ctx.query.de, right=ctx.query.a)
    try:
        estimate = ctx.billing.get_estimate(plan_id=plan_id, version=compared.right.number)
    except DomainError:
        estimate = None
    return ctx.render("plans/compare.html.j2", compared=compared, estimate=estimate)


# -- the employer's answer: accept or decline ---------------------------------------------------


@route("/plans/<int:plan_id>/accepter", access=EMPLOYERS, name="plan_accept_form")
def accept_view(ctx: Ctx, plan_id: int, **_) -> Response:
    view = ctx.plans.get_plan(plan_id=plan_id)
    return ctx.render(
        "plans/accept.html.j2",
        view=view,
        plan=view.plan,
        form=ctx.form({"full_name": ctx.actor.full_name}),
    )


@post("/plans/<int:plan_id>/accepter", AcceptForm, accept_view, EMPLOYERS)
def plan_accept(ctx: Ctx, plan_id: int, form: AcceptForm) -> Response:
    if not form.lu:
        raise invalid(
            "Confirmez avoir lu le plan et ses annexes A, B et C avant de l'accepter.",
            {"lu": "Cochez la case pour confirmer votre lecture."},
        )
    ctx.plans.accept_online(plan_id=plan_id, data=form, ip=ctx.client_ip())
    return ctx.done(f"/plans/{plan_id}", "plan-accepte")


@route("/plans/<int:plan_id>/refuser", access=EMPLOYERS, name="plan_decline_form")
def decline_view(ctx: Ctx, plan_id: int, **_) -> Response:
    view = ctx.plans.get_plan(plan_id=plan_id)
    return ctx.render("plans/decline.html.j2", view=view, plan=view.plan, form=ctx.form())


@post("/plans/<int:plan_id>/refuser", DeclineForm, decline_view, EMPLOYERS)
def plan_decline(ctx: Ctx, plan_id: int, form: DeclineForm) -> Response:
    """The employer's representative declines the offer, after confirming, with a reason."""
    if not form.confirme:
        raise invalid(
            "Confirmez que vous refusez l'offre au nom de l'organisation.",
            {"confirme": "Cochez la case pour confirmer le refus."},
        )
    ctx.plans.decline(plan_id=plan_id, data=form)
    return ctx.done(f"/plans/{plan_id}", "refuse")


# -- the editor ---------------------------------------------------------------------------------


@route("/plans/<int:plan_id>/modifier", access=INSTITUTIONS, name="plan_edit_form")
def editor_view(ctx: Ctx, plan_id: int, **_) -> Response:
    """The draft's editor: one form per part of the draft (``DraftPatch``), plus one to add
    a competency and one to add a candidate-worker."""
    view = ctx.plans.get_plan(plan_id=plan_id)
    if not view.permissions.edit and ctx.form_state is None:
        return ctx.redirect(f"/plans/{plan_id}")
    content = view.content
    by_kind = {step.kind: step for step in content.steps}
    steps = plans.DraftStepsIn.model_construct(
        steps=[by_kind.get(kind) or plans.Step(kind=kind) for kind in plans.StepKind],
        closure_dates=content.closure_dates,
    )

    def part(model) -> dict:  # the draft's values of one of its parts: its form's fields
        return {name: getattr(content, name) for name in model.model_fields}

    return ctx.render(
        "plans/edit.html.j2",
        view=view,
        plan=view.plan,
        content=content,
        computed=view.computed,
        sections_form=ctx.form(part(plans.DraftSectionsIn), endpoint="plan_save_sections"),
        steps_form=ctx.form(steps, endpoint="plan_save_steps"),
        aide_memoire_form=ctx.form(
            part(plans.DraftAideMemoireIn), endpoint="plan_save_aide_memoire"
        ),
        annexes_form=ctx.form(part(plans.DraftAnnexesIn), endpoint="plan_save_annexes"),
        competency_form=ctx.form(endpoint="plan_add_competency"),
        candidate_form=ctx.form(
            {"rhythm": 3, "modality": plans.Modality.IN_PERSON}, endpoint="plan_add_candidate"
        ),
        kinds=plans.ProgramKind.choices(),
        step_kinds=list(plans.StepKind),
        annex_b_categories=plans.AnnexBCategory.choices(),
        modalities=plans.Modality.choices(),
    )


# -- progress -----------------------------------------------------------------------------------


@route("/plans/<int:plan_id>/suivi", access=PARTIES, name="plan_progress_page")
def progress_view(ctx: Ctx, plan_id: int, **_) -> Response:
    """The follow-up: by name for the institution (one form per candidate-worker and
    competency), the aggregate only for the employer."""
    progress = ctx.plans.get_progress(plan_id=plan_id)
    return ctx.render(
        "plans/progress.html.j2",
        progress=progress,
        plan=progress.plan,
        stages=[(s.value, s.label) for s in plans.PROGRESS_STAGES],
        results=plans.Result.choices(),
    )


@route(
    "/plans/<int:plan_id>/suivi/<int:candidate_id>/abandon",
    access=INSTITUTIONS,
    name="plan_progress_abandon_confirm",
)
def abandon_view(ctx: Ctx, plan_id: int, candidate_id: int, **_) -> Response:
    """The separate step before recording an abandonment: what it entails, and its date."""
    progress = ctx.plans.get_progress(plan_id=plan_id)
    candidate = next(
        (c for c in progress.candidates or [] if c.id == candidate_id and c.step != "abandoned"),
        None,
    )
    if candidate is None or not progress.editable:
        raise HttpError(404, "Aucune démarche en cours pour cette personne dans ce plan.")
    return ctx.render(
        "plans/abandon.html.j2",
        plan=progress.plan,
        candidate=candidate,
        form=ctx.form({"abandoned_on": clock.today()}, endpoint="plan_progress_abandon"),
    )


# -- the institution's annex template -----------------------------------------------------------


@route("/plans/modele-annexes", access=INSTITUTIONS, name="annex_template_form")
def annex_template_view(ctx: Ctx) -> Response:
    template = ctx.plans.get_annex_template()
    texts = template.model_dump(include={"annex_a", "annex_b", "annex_c"})
    return ctx.render("plans/annexes.html.j2", annex_template=template, form=ctx.form(texts))


@post("/plans/modele-annexes", AnnexTemplateForm, annex_template_view, INSTITUTIONS)
def annex_template_save(ctx: Ctx, form: AnnexTemplateForm) -> Response:
    logo = "" if form.remove_logo else ctx.plans.get_annex_template().logo
    upload = responses.uploaded(ctx, "logo", plans.MAX_LOGO_BYTES, required=False)
    if upload is not None and not form.remove_logo:
        _, content = upload
        mime = "image/png" if content.startswith(b"\x89PNG") else "image/jpeg"
        logo = f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"
    data = parse(plans.AnnexTemplateIn, {**form.model_dump(), "logo": logo})
    ctx.plans.save_annex_template(data=data)
    return ctx.done("/plans/modele-annexes", "plan-modele")


@route("/plans/<int:plan_id>/annuler", access=PARTIES, name="plan_cancel_form")
def cancel_view(ctx: Ctx, plan_id: int, **_) -> Response:
    """The separate step before cancelling: what will happen, and the reason asked."""
    view = ctx.plans.get_plan(plan_id=plan_id)
    return ctx.render(
        "plans/cancel.html.j2", view=view, plan=view.plan, form=ctx.form(endpoint="plan_cancel")
    )


# -- forms that are one RPC, then a notice (``page_actions``) ------------------------------

# fmt: off
page_actions(
    "plans", new_plan_view, INSTITUTIONS,
    Post("plan_create", "/plans/nouveau", "create_plan", "/plans/{reply.id}/modifier", "plan-cree",
         plans.PlanCreateIn),
)
page_actions(
    "plans", plan_view, INSTITUTIONS,
    Post("plan_record_acceptance", "/plans/<int:plan_id>/acceptation-recue", "record_acceptance",
         "/plans/{plan_id}", "plan-acceptation", plans.RecordedAcceptance,
         upload=("fichier", plans.MAX_SCAN_BYTES)),
    Post("plan_issue", "/plans/<int:plan_id>/emettre", "request_issue", "/plans/{plan_id}",
         "plan-emission"),
    Post("plan_preview", "/plans/<int:plan_id>/apercu", "request_preview", "/plans/{plan_id}",
         "plan-apercu"),
    Post("plan_amend", "/plans/<int:plan_id>/modification", "amend", "/plans/{plan_id}/modifier",
         "plan-modification", plans.AmendmentIn),
    Post("plan_complete", "/plans/<int:plan_id>/terminer", "complete", "/plans/{plan_id}",
         "plan-termine"),
)
page_actions(
    "plans", cancel_view, PARTIES,
    Post("plan_cancel", "/plans/<int:plan_id>/annuler", "cancel", "/plans/{plan_id}", "plan-annule",
         form=plans.CancellationIn),
)
# The editor's forms: each a part of the draft (``DraftPatch``), or one more competency or
# candidate-worker; the editor opens again where the form was.
page_actions(
    "plans", editor_view, INSTITUTIONS,
    Post("plan_save_sections", "/plans/<int:plan_id>/sections", "update_draft",
         "/plans/{plan_id}/modifier#sections", "plan-enregistre", plans.DraftSectionsIn),
    Post("plan_save_steps", "/plans/<int:plan_id>/etapes", "update_draft",
         "/plans/{plan_id}/modifier#etapes", "plan-enregistre", plans.DraftStepsIn),
    Post("plan_save_aide_memoire", "/plans/<int:plan_id>/aide-memoire", "update_draft",
         "/plans/{plan_id}/modifier#aide-memoire", "plan-enregistre", plans.DraftAideMemoireIn),
    Post("plan_save_annexes", "/plans/<int:plan_id>/annexes", "update_draft",
         "/plans/{plan_id}/modifier#annexes", "plan-enregistre", plans.DraftAnnexesIn),
    Post("plan_add_competency", "/plans/<int:plan_id>/competences", "add_competency",
         "/plans/{plan_id}/modifier#competences", "plan-enregistre", plans.Competency),
    Post("plan_add_candidate", "/plans/<int:plan_id>/candidats", "add_candidate",
         "/plans/{plan_id}/modifier#candidats", "plan-enregistre", plans.CandidateIn),
    Post("plan_remove_competency", "/plans/<int:plan_id>/competences/<code>/retirer",
         "remove_competency", "/plans/{plan_id}/modifier#competences", "plan-enregistre",
         confirm=Confirm("Retirer cette compétence du plan?",
                         "La compétence sera retirée de la version en préparation : ses "
                         "semaines d'évaluation ne compteront plus dans la durée du plan ni "
                         "dans les calendriers des candidats-travailleurs.",
                         "Retirer la compétence")),
    Post("plan_remove_candidate", "/plans/<int:plan_id>/candidats/<int:candidate_id>/retirer",
         "remove_candidate", "/plans/{plan_id}/modifier#candidats", "plan-enregistre",
         confirm=Confirm("Retirer cette personne candidate du plan?",
                         "La personne sera retirée de la version en préparation, avec son "
                         "calendrier et ses coordonnées. L'estimation des coûts, qui compte une "
                         "évaluation par candidat-travailleur, devra être enregistrée de "
                         "nouveau avant l'émission.",
                         "Retirer la personne candidate")),
)
page_actions(
    "plans", progress_view, INSTITUTIONS,
    Post("plan_progress_step", "/plans/<int:plan_id>/suivi/<int:candidate_id>/etape",
         "set_candidate_step", "/plans/{plan_id}/suivi", "plan-suivi", plans.StepProgressIn),
    Post("plan_progress_result", "/plans/<int:plan_id>/suivi/<int:candidate_id>/resultat",
         "set_competency_result", "/plans/{plan_id}/suivi", "plan-suivi", plans.ResultIn),
)
page_actions(
    "plans", abandon_view, INSTITUTIONS,
    Post("plan_progress_abandon", "/plans/<int:plan_id>/suivi/<int:candidate_id>/abandon",
         "abandon_candidate", "/plans/{plan_id}/suivi", "plan-suivi", plans.AbandonIn),
)
# fmt: on
