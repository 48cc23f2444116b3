"""The network of CERACs: the list (searchable by competence area and text, never by
territory: a CERAC has no region and no sector), a CERAC's page with its contacts, and
support requests between institutions and CERACs. The pages.

Who: every institution user and the ministry read the network; institutions send support
requests, and the CERAC's own users answer them and keep its competence areas up to date.
Employers are refused (403): the network is the education networks' mutual support
(seed 000: "un ajout, en terme d'appui et d'aide, aux réseaux de la FPT"); an employer's
partner is the cégep of its implementation plan, and the contacts listed here are the
institutions' staff. Tenant scoping is the applications service's (another CERAC's
incoming request is "not found").
"""

from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.web import lists
from gateway.web.framework import Ctx, HttpError, notices, route
from gateway.web.passthrough import Post, page_actions
from rac_shared.actor import INSTITUTION_ROLES, MINISTRY_ROLES
from rac_shared.contracts import network
from rac_shared.contracts.scoring import EducationOrder

AREA = MINISTRY_ROLES | INSTITUTION_ROLES
INSTITUTIONS = INSTITUTION_ROLES

notices(
    envoyee="Votre demande d'appui est envoyée au CERAC. Sa réponse paraîtra ci-dessous.",
    repondue="Votre réponse est envoyée à l'établissement.",
    domaines="Les domaines de compétence du CERAC sont enregistrés.",
)


def _cerac_columns(ctx: Ctx) -> list[lists.Column]:
    """The list's columns as the page shows them, for its exports."""
    return [
        lists.Column("Établissement", lambda c: c.organisation_name),
        lists.Column("Ordre d'enseignement", lambda c: c.education_order_label),
        lists.Column("Volets du mandat", lambda c: ", ".join(p.label for p in c.mandate_parts)),
        lists.Column(
            "Domaines de compétence", lambda c: ", ".join(a.label for a in c.competence_areas)
        ),
        lists.Column("Programmes", lambda c: ", ".join(c.programs)),
        lists.Column(
            "Contacts",
            lambda c: ", ".join(f"{p.full_name} <{p.email}>" for p in c.contacts[:2]),
        ),
    ]


@route("/reseau", access=AREA, query=network.NetworkQuery)
def network_page(ctx: Ctx) -> Response:
    result = ctx.network.network_ceracs(query=ctx.query)
    return ctx.render(
        "network/index.html.j2",
        result=result,
        pager=lists.pager(ctx, result.ceracs, cursor="cursor"),
        form=ctx.form(ctx.query),
        areas=network.CompetenceArea.choices(),
        orders=EducationOrder.choices(),
        sorts=network.NetworkSort.choices(),
    )


lists.exports(
    "/reseau/liste",
    name="network",
    filename="reseau-des-cerac",
    access=AREA,
    query=network.NetworkQuery,
    sheet="Réseau des CERAC",
    fetch=lambda ctx, query: ctx.network.network_ceracs(query=query).ceracs,
    columns=_cerac_columns,
)


@route("/reseau/<int:cerac_id>", access=AREA, name="cerac_page")
def cerac_view(ctx: Ctx, cerac_id: int) -> Response:
    cerac = ctx.network.get_cerac(cerac_id=cerac_id)
    competences = {"areas": [a.key for a in cerac.competence_areas], "programs": cerac.programs}
    return ctx.render(
        "network/cerac.html.j2",
        cerac=cerac,
        request_form=ctx.form(endpoint="send_support_request"),
        competences_form=ctx.form(
            network.CompetencesIn.model_construct(**competences), endpoint="save_competences"
        ),
        areas=network.CompetenceArea.choices(),
    )


@route("/reseau/demandes", access=INSTITUTIONS, name="support_requests_page")
def requests_view(ctx: Ctx, request_id: int | None = None) -> Response:
    requests = ctx.network.support_requests()
    if request_id is not None and requests.received_one(request_id) is None:
        raise HttpError(404, "Demande d'appui introuvable.")  # answering another's request
    return ctx.render("network/requests.html.j2", requests=requests)


# -- forms that are one RPC, then a notice (``page_actions``) ------------------------------

# fmt: off
page_actions(
    "network", cerac_view, INSTITUTIONS,
    Post("send_support_request", "/reseau/<int:cerac_id>/demandes", "request_support",
         "/reseau/demandes", "envoyee", network.SupportRequestIn),
    Post("save_competences", "/reseau/<int:cerac_id>/domaines", "update_cerac_competences",
         "/reseau/{cerac_id}", "domaines", network.CompetencesIn),
)
page_actions(
    "network", requests_view, INSTITUTIONS,
    Post("answer_support_request", "/reseau/demandes/<int:request_id>/reponse", "answer_support",
         "/reseau/demandes", "repondue", network.SupportAnswerIn),
)
# fmt: on
