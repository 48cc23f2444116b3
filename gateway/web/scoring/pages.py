"""Evaluation of CERAC applications and the minister's designation: the pages.

Access per route mirrors the service's rules (``services/scoring/access.py``): evaluators
(and analysts sitting on a committee) score the applications assigned to them; the admin
runs the committee and records the minister's decision; analysts read the committee's work;
institutions read their own result once the minister has decided. An evaluator reads an
application's content only after the scoring service confirmed that it is assigned to them
and that they are not in conflict; the content itself comes from the applications service,
with the evaluator's own actor.

Handlers translate and delegate: each form is a contract model (``form=``), a refusal
re-renders the page it came from (``on_error=``) with what was typed and the errors.
"""

from __future__ import annotations

from datetime import date

from werkzeug.wrappers import Response

from gateway import directory
from gateway.web.framework import Ctx, notices, post, route
from gateway.web.passthrough import Confirm, Download, Post, page_actions, passthrough
from rac_shared.actor import INSTITUTION_ROLES, OrganisationKind, Role
from rac_shared.clock import clock
from rac_shared.contracts import scoring
from rac_shared.contracts.applications import ApplicationView
from rac_shared.contracts.base import OptionalInt, Strict
from rac_shared.errors import DomainError, invalid

ADMIN = frozenset({Role.MINISTRY_ADMIN})
STAFF = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
EVALUATORS = frozenset({Role.MINISTRY_EVALUATOR, Role.MINISTRY_ANALYST})
INSTITUTIONS = INSTITUTION_ROLES
LETTER_READERS = STAFF | INSTITUTIONS

notices(
    brouillon="Votre brouillon est enregistré. Vous pourrez le reprendre plus tard.",
    soumise="Votre évaluation est soumise. Elle est maintenant verrouillée.",
    conflit="Votre conflit d'intérêts est consigné : les demandes de cet établissement ne "
    "vous seront ni confiées ni montrées.",
    parametres="Les paramètres du comité sont enregistrés.",
    membre="Le comité d'évaluation est mis à jour.",
    **{
        "conflit-consigne": "Le conflit d'intérêts est consigné; les affectations concernées "
        "sont retirées."
    },
    affectation="Les affectations sont mises à jour.",
    lien="Le lien est déclaré : les demandes de cet établissement sont désormais des conflits "
    "d'intérêts.",
    **{
        "lien-retire": "Le lien déclaré est retiré.",
        "affectation-groupee": "L'affectation groupée est enregistrée; chaque affectation est "
        "inscrite au journal du comité et notifiée.",
    },
    rouverte="L'évaluation est rouverte; la réouverture est consignée au journal.",
    consensus="La note de consensus est consignée et le résultat recalculé.",
    recommandation="La recommandation du comité est consignée.",
    decision="La décision de la ou du ministre est consignée.",
    ministere="La période du ministère est consignée : les lettres et rapports produits "
    "désormais la suivent.",
    **{"ministere-retire": "La période consignée est retirée."},
)


class OwnConflictForm(scoring.ConflictIn):
    """The evaluator's declaration from a page: the institution is chosen among those of
    their committees (``call_id|organisation key``); ``retour`` is the scoring form it was
    sent from, if any."""

    retour: OptionalInt = None

    def target(self) -> tuple[int, str]:
        call_id, _, key = self.organisation_key.partition("|")
        if not call_id.isdigit() or not key:
            raise invalid(
                "Choisissez l'établissement avec lequel vous êtes en conflit d'intérêts.",
                {"organisation_key": "Choisissez un établissement."},
            )
        return int(call_id), key


class DecisionForm(scoring.DecisionIn):
    """The decision as the designation page posts it (one form per application): the
    evaluation's id goes to ``decide`` by name, the rest is its ``data``."""

    evaluation_id: int


# -- evaluators: workspace and scoring form ----------------------------------------------------


def network_institutions(ctx: Ctx) -> list[tuple[int, str]]:
    """The cégeps and school service centres of the directory (links are declared with them)."""
    kinds = [OrganisationKind.CEGEP, OrganisationKind.SCHOOL_SERVICE_CENTRE]
    with ctx.db() as session:
        return [(o["id"], o["name"]) for o in directory.list_organisations(session, kinds)]


@route("/evaluations", access=EVALUATORS, name="scoring_workspace")
def workspace_view(ctx: Ctx) -> Response:
    return ctx.render(
        "scoring/workspace.html.j2",
        ws=ctx.scoring.workspace(),
        form=ctx.form(endpoint="scoring_declare_conflict"),
        link_form=ctx.form(endpoint="scoring_declare_link"),
        institutions=network_institutions(ctx),
        link_kinds=scoring.LinkKind.choices(),
    )


def _conflict_refused(ctx: Ctx) -> Response:
    back = ctx.form_state.value("retour")
    if back.isdigit():
        return scoring_form(ctx, int(back))
    return workspace_view(ctx)


@post("/evaluations/conflits", OwnConflictForm, _conflict_refused, EVALUATORS)
def scoring_declare_conflict(ctx: Ctx, form: OwnConflictForm) -> Response:
    call_id, key = form.target()
    ctx.scoring.declare_conflict(
        call_id=call_id, data=scoring.ConflictIn(organisation_key=key, reason=form.reason)
    )
    return ctx.done("/evaluations", "conflit")


def _application_content(ctx: Ctx, application_id: int | None) -> ApplicationView | None:
    """The application's content, read from the applications service with the evaluator's
    own actor, once scoring confirmed the assignment."""
    if not application_id:
        return None
    try:
        return ctx.applications.get_application(application_id=application_id)
    except DomainError as exc:
        if exc.code in ("not_found", "forbidden"):
            return None
        raise


@route("/evaluations/<int:evaluation_id>", access=EVALUATORS)
def scoring_form(ctx: Ctx, evaluation_id: int) -> Response:
    assignment = ctx.scoring.get_assignment(evaluation_id=evaluation_id)
    saved = [
        {"criterion_id": c.id, "score": c.score_display, "comment": c.comment}
        for c in assignment.criteria
    ]
    return ctx.render(
        "scoring/form.html.j2",
        a=assignment,
        application=_application_content(ctx, assignment.application_id),
        form=ctx.form({"scores": saved}, endpoint="scoring_save"),
        conflict=ctx.form(endpoint="scoring_declare_conflict"),
    )


# -- the committee -------------------------------------------------------------------------------


@route("/comites", access=STAFF)
def scoring_committees(ctx: Ctx) -> Response:
    return ctx.render("scoring/committees.html.j2", committees=ctx.scoring.list_committees())


@route("/comites/<int:call_id>", access=STAFF)
def scoring_committee(ctx: Ctx, call_id: int, **_) -> Response:
    page = ctx.scoring.committee_page(call_id=call_id)
    return ctx.render(
        "scoring/committee.html.j2",
        v=page.committee,
        candidates=page.candidates,
        institutions=network_institutions(ctx) if page.committee.can_manage else [],
        link_kinds=scoring.LinkKind.choices(),
    )


@route("/comites/<int:call_id>/affectations", access=ADMIN, query=scoring.ProposalQuery)
def scoring_bulk_assignment(ctx: Ctx, call_id: int, **_) -> Response:
    """The bulk assignment's preview: N evaluators per application, balanced load, no
    conflict of interest; saved only when the administrator confirms it."""
    per_application = ctx.query.per_application if ctx.query is not None else None
    if ctx.form_state is not None:  # a refused save, shown again with what was posted
        posted = ctx.form_state.value("per_application")
        per_application = int(posted) if posted.isdigit() else None
    proposal = ctx.scoring.assignment_proposal(
        call_id=call_id, query=scoring.ProposalQuery(per_application=per_application)
    )
    return ctx.render(
        "scoring/bulk_assignment.html.j2",
        p=proposal,
        form=ctx.form(endpoint="scoring_assign_in_bulk"),
    )


E = "/comites/<int:call_id>/evaluations/<int:evaluation_id>"


# -- recommendation and designation --------------------------------------------------------------


@route("/comites/<int:call_id>/designation", access=STAFF)
def scoring_designation_page(ctx: Ctx, call_id: int, **_) -> Response:
    return ctx.render(
        "scoring/designation.html.j2",
        v=ctx.scoring.get_committee(call_id=call_id),
        today=clock.today(),
    )


# -- the ministry's names and ministers over time ------------------------------------------------


@route("/comites/ministeres", access=STAFF)
def scoring_ministries(ctx: Ctx) -> Response:
    return ctx.render(
        "scoring/ministries.html.j2",
        periods=ctx.scoring.list_ministries(),
        form=ctx.form(endpoint="scoring_save_ministry"),
        minister_titles=scoring.MinisterTitle.choices(),
    )


class MinistryRemovalForm(Strict):
    """The period to withdraw (``remove_ministry``'s ``since``): in the query string of its
    row's link, then posted by the confirmation step."""

    since: date


# -- institutions ----------------------------------------------------------------------------------


@route("/resultats", access=INSTITUTIONS)
def scoring_results(ctx: Ctx) -> Response:
    return ctx.render("scoring/results.html.j2", results=ctx.scoring.my_results())


# -- the committee's matrix and report, the letters: the service's documents ---------------------

passthrough(
    "scoring",
    Download("scoring_committee_csv", "/comites/<int:call_id>/matrice.csv", "committee_csv", STAFF),
    Download("scoring_committee_pdf", "/comites/<int:call_id>/rapport.pdf", "committee_pdf", STAFF),
    Download("scoring_letter", "/lettres/<int:evaluation_id>.pdf", "get_letter", LETTER_READERS),
)

# -- forms that are one RPC, then a notice (``page_actions``) ------------------------------

# fmt: off
page_actions(
    "scoring", scoring_committee, ADMIN,
    Post("scoring_parameters", "/comites/<int:call_id>/parametres", "set_parameters",
         "/comites/{call_id}", "parametres", scoring.ParametersIn),
    Post("scoring_add_member", "/comites/<int:call_id>/membres", "add_member", "/comites/{call_id}",
         "membre", scoring.UserIn),
    Post("scoring_remove_member", "/comites/<int:call_id>/membres/<int:user_id>/retirer",
         "remove_member", "/comites/{call_id}", "membre",
         confirm=Confirm("Retirer cette personne du comité?",
                         "Elle ne siégera plus au comité d'évaluation de cet appel d'intérêt. "
                         "Ce retrait est inscrit au journal du comité.", "Retirer du comité")),
    Post("scoring_record_conflict", "/comites/<int:call_id>/conflits", "record_conflict",
         "/comites/{call_id}", "conflit-consigne", scoring.ConflictIn),
    Post("scoring_record_link", "/comites/<int:call_id>/liens", "declare_link",
         "/comites/{call_id}", "lien", scoring.LinkIn),
    Post("scoring_remove_link", "/comites/<int:call_id>/liens/<int:link_id>/retirer",
         "remove_link", "/comites/{call_id}", "lien-retire",
         confirm=Confirm("Retirer ce lien déclaré?",
                         "Les demandes de cet établissement ne seront plus, à ce titre, des "
                         "conflits d'intérêts pour ce membre. Ce retrait est inscrit au journal "
                         "du comité.", "Retirer le lien")),
    Post("scoring_assign", f"{E}/affectations", "assign", "/comites/{call_id}", "affectation",
         scoring.UserIn),
    Post("scoring_unassign", f"{E}/affectations/<int:user_id>/retirer", "unassign",
         "/comites/{call_id}", "affectation",
         confirm=Confirm("Retirer cette affectation?",
                         "La personne n'évaluera plus cette demande : les notes qu'elle a commencé "
                         "à inscrire, s'il y en a, sont supprimées. Ce retrait est inscrit au "
                         "journal du comité.", "Retirer l'affectation")),
    Post("scoring_reopen", f"{E}/rouvrir", "reopen", "/comites/{call_id}", "rouverte",
         scoring.ReopenIn),
    Post("scoring_consensus", f"{E}/consensus", "record_consensus", "/comites/{call_id}",
         "consensus", scoring.ConsensusIn),
)
page_actions(
    "scoring", scoring_bulk_assignment, ADMIN,
    Post("scoring_assign_in_bulk", "/comites/<int:call_id>/affectations", "assign_in_bulk",
         "/comites/{call_id}", "affectation-groupee", scoring.BulkAssignmentIn),
)
page_actions(
    "scoring", scoring_designation_page, ADMIN,
    Post("scoring_recommend", "/comites/<int:call_id>/recommandation", "record_recommendation",
         "/comites/{call_id}/designation", "recommandation", scoring.RecommendationIn),
    Post("scoring_decide", "/comites/<int:call_id>/designation", "decide",
         "/comites/{call_id}/designation", "decision", DecisionForm),
)
page_actions(
    "scoring", workspace_view, EVALUATORS,
    Post("scoring_declare_link", "/evaluations/liens", "declare_link", "/evaluations", "lien",
         scoring.LinkIn),
    Post("scoring_remove_own_link", "/evaluations/liens/<int:link_id>/retirer", "remove_link",
         "/evaluations", "lien-retire",
         confirm=Confirm("Retirer ce lien déclaré?",
                         "Les demandes de cet établissement pourront de nouveau vous être "
                         "confiées, sauf autre conflit d'intérêts. Ce retrait est inscrit au "
                         "journal de vos comités.", "Retirer le lien")),
)
page_actions(
    "scoring", scoring_ministries, ADMIN,
    Post("scoring_save_ministry", "/comites/ministeres", "save_ministry", "/comites/ministeres",
         "ministere", scoring.MinistryPeriodIn),
    Post("scoring_remove_ministry", "/comites/ministeres/retirer", "remove_ministry",
         "/comites/ministeres", "ministere-retire", MinistryRemovalForm,
         confirm=Confirm("Retirer cette période du ministère?",
                         "La période consignée sera retirée : les décisions rendues à partir de "
                         "sa date porteront de nouveau le ministère et la ou le titulaire de la "
                         "période précédente (ou celle fournie avec la plateforme ce jour-là). "
                         "Les lettres déjà produites ne changent pas.", "Retirer la période")),
)
page_actions(
    "scoring", scoring_form, EVALUATORS,
    # A submitted evaluation is locked; a draft can be taken up again.
    Post("scoring_save", "/evaluations/<int:evaluation_id>", "save_scores",
         "/evaluations/{evaluation_id}", lambda form, _: "soumise" if form.submit else "brouillon",
         scoring.ScoresIn),
)
# fmt: on
