"""Calls for interest and CERAC applications: the pages.

Access per route mirrors the service's rules (``services/applications/access.py``):
employers are refused everywhere here, calls are managed by the ministry admin, the table,
paper receipts and admissibility are for analysts and the admin, applications are filled
by institutions. Tenant scoping is done by the service (another institution's application
is "not found"). An evaluator reads an application only once the scoring service, which
owns assignments, confirmed that it is theirs and free of conflict of interest.

Handlers translate and delegate: each form is a contract model (``form=``), a refusal
re-renders the page it came from (``on_error=``) with what was typed and the errors.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field
from werkzeug.wrappers import Response

from gateway.web import lists, responses
from gateway.web.forms import NoFields
from gateway.web.framework import Ctx, HttpError, json_response, notices, post, route
from gateway.web.passthrough import Confirm, Download, Post, page_actions, passthrough
from rac_shared.actor import INSTITUTION_ROLES, KIND_LABELS, MINISTRY_ROLES, Role
from rac_shared.clock import MONTREAL
from rac_shared.contracts import applications
from rac_shared.contracts.base import OptionalDate, OptionalInt, Strict, parse, text
from rac_shared.contracts.listing import MAX_LIMIT, Cursor
from rac_shared.errors import DomainError

AREA = MINISTRY_ROLES | INSTITUTION_ROLES
ADMIN = frozenset({Role.MINISTRY_ADMIN})
STAFF = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
INSTITUTIONS = INSTITUTION_ROLES

VOIDED = " Le contenu de la demande a changé : les signatures sont retirées et chaque "
VOIDED += "signataire doit signer de nouveau."
notices(
    **{
        "appel-cree": "L'appel d'intérêt est créé. Complétez le formulaire, la grille "
        "d'évaluation et le guide, puis publiez-le.",
        "appel-enregistre": "Les modifications sont enregistrées.",
        "appel-publie": "L'appel d'intérêt est publié.",
        "appel-ferme": "L'appel d'intérêt est fermé.",
        "modificatif": "L'avis de modification est consigné; il sera annoncé aux "
        "établissements qui ont commencé une demande.",
        "ouverte": "Votre demande est ouverte. Remplissez chaque section, joignez les "
        "documents, puis faites signer la demande.",
        "section": "Les réponses de la section sont enregistrées.",
        "section-signatures": "Les réponses de la section sont enregistrées." + VOIDED,
        "piece": "La pièce jointe est ajoutée.",
        "piece-signatures": "La pièce jointe est ajoutée." + VOIDED,
        "piece-retiree": "La pièce jointe est retirée.",
        "piece-retiree-signatures": "La pièce jointe est retirée." + VOIDED,
        "signee": "Votre signature est enregistrée.",
        "deposee": "La demande est déposée. L'accusé de réception s'affiche ci-dessous dès "
        "qu'il est prêt.",
        "retiree": "La demande est retirée.",
        "demande-rouverte": "La demande est rouverte en préparation; elle doit être signée "
        "de nouveau.",
        "papier": "La réception de la copie papier est consignée.",
        "regle": "Votre revue de la règle est consignée.",
        "recevabilite": "La décision de recevabilité est consignée.",
        "complements-demandes": "La demande de compléments est transmise à l'établissement.",
        "complements-delai": "Le délai de réponse est prolongé; l'établissement en est informé.",
        "analyse-reprise": "L'analyse de la recevabilité reprend.",
        "element-fourni": "L'élément demandé est fourni. Transmettez la réponse lorsque chaque "
        "élément est fourni.",
        "complements-transmis": "Votre réponse est transmise au Ministère.",
    }
)


class MoveForm(Strict):
    sens: Literal["monter", "descendre"] = Field(title="Sens")


class GridRow(Strict):
    """One of the grid form's six rows; a row left without label, weight or threshold is no
    criterion (its group is always posted)."""

    group: applications.CriterionGroup = Field(title="Groupe")
    label: text(1000) = Field("", title="Libellé")
    weight: OptionalInt = Field(None, title="Pondération")
    threshold: OptionalInt = Field(None, title="Seuil de réussite")

    @property
    def blank(self) -> bool:
        return not self.label and self.weight is None and self.threshold is None


class GridForm(Strict):
    criteria: list[GridRow] = Field(
        default_factory=list, max_length=applications.GRID_ROWS, title="Critères"
    )


class AmendmentForm(Strict):
    reason: str = Field("", title="Motif de la modification")
    deadline_date: OptionalDate = Field(None, title="Nouvelle date limite de dépôt")
    analysis_date: OptionalDate = Field(None, title="Nouvelle date prévue de l'analyse")
    designation_date: OptionalDate = Field(None, title="Nouvelle date prévue de la désignation")
    change_grid: bool = Field(False, title="Modifier aussi la grille")
    criteria: list[GridRow] = Field(
        default_factory=list, max_length=applications.GRID_ROWS, title="Critères"
    )


class UploadForm(Strict):
    """The file's own fields (the file itself is read by ``responses.uploaded``)."""

    kind: applications.AttachmentKind | None = Field(None, title="Type de pièce")
    question_id: OptionalInt = None
    retour: str | None = None


class ComplementRow(Strict):
    """One of the request form's rows; a row left without a label is no item."""

    label: text(300) = Field("", title="Élément demandé")
    kind: applications.ComplementKind = Field(
        applications.ComplementKind.DOCUMENT, title="Nature de l'élément"
    )
    piece_kind: Annotated[
        applications.AttachmentKind | None, BeforeValidator(lambda v: v or None)
    ] = Field(None, title="Type de pièce attendue")
    question_id: OptionalInt = Field(None, title="Question du formulaire visée")

    @property
    def blank(self) -> bool:
        return not self.label


class ComplementsForm(Strict):
    items: list[ComplementRow] = Field(
        default_factory=list, max_length=applications.MAX_COMPLEMENT_ITEMS, title="Éléments"
    )
    due_date: OptionalDate = Field(None, title="Date limite de réponse")
    message: str = Field("", title="Message à l'établissement")


def _guard_evaluator(ctx: Ctx, application_id: int, **_) -> None:
    """An evaluator reads only the applications assigned to them and free of conflict of
    interest: scoring, which owns assignments, answers "not found" otherwise."""
    if ctx.actor is not None and ctx.actor.role == Role.MINISTRY_EVALUATOR:
        ctx.scoring.ensure_may_read_application(application_id=application_id)


def _filled(rows: list[GridRow] | list[ComplementRow]) -> tuple[list[dict], list[int]]:
    """The rows not left blank (the criteria, the items asked for), and their row numbers
    (to show errors on their rows)."""
    kept = [index for index, row in enumerate(rows) if not row.blank]
    return [rows[i].model_dump() for i in kept], kept


def _on_rows(exc: DomainError, kept: list[int], rows: str = "criteria") -> DomainError:
    """The service's ``<rows>.<n>.<field>`` errors on the form's own row numbers."""
    if not isinstance(exc.details, dict):
        return exc
    details = {}
    for key, message in exc.details.items():
        head, _, rest = str(key).partition(".")
        index, _, field = rest.partition(".")
        if head == rows and index.isdigit() and int(index) < len(kept):
            key = ".".join(filter(None, (head, str(kept[int(index)]), field)))
        details[key] = message
    return DomainError(exc.message, details, exc.code)


def _grid_rows(call: applications.CallView) -> list[dict]:
    """Six rows for a grid form: the call's criteria, then blank rows in the groups the
    grid needs (four « qualité », two « pertinence »)."""
    rows = [c.model_dump(include={"group", "label", "weight", "threshold"}) for c in call.criteria]
    group = applications.CriterionGroup
    groups = [group.QUALITE] * 4 + [group.PERTINENCE] * 2
    rows += [{"group": blank} for blank in groups[len(rows) :]]
    return rows[: applications.GRID_ROWS]


FILE = ("fichier", applications.MAX_ATTACHMENT_BYTES)  # a page's file field and its limit


def _voided(notice: str):
    """``notice``, or its variant saying that the signatures are withdrawn when the change
    voided them (a ``Post`` row's notice, of the form and the reply)."""
    return lambda form, reply: f"{notice}-signatures" if reply.signatures_voided else notice


# -- calls ---------------------------------------------------------------------------------


class CallListPage(lists.PageQuery):
    """``/appels?curseur=…``: the calls one page at a time, the latest deadline first."""

    curseur: Cursor = Field(None, title="Page")

    CONTRACT = applications.CallQuery


@route("/appels", access=AREA, query=CallListPage)
def calls_page(ctx: Ctx) -> Response:
    page = ctx.applications.list_calls(query=ctx.query.contract())
    return ctx.render("applications/calls.html.j2", calls=page.items, pager=lists.pager(ctx, page))


@route("/appels/nouveau", access=ADMIN, name="call_new_form")
def new_call_view(ctx: Ctx) -> Response:
    defaults = {"education_orders": ["secondaire", "collégial"]}
    return ctx.render(
        "applications/call_new.html.j2",
        form=ctx.form(defaults),
        orders=applications.EducationOrder.choices(),
    )


@route("/appels/<int:call_id>", access=AREA, name="call_page")
def call_view(ctx: Ctx, call_id: int, **_) -> Response:
    call = ctx.applications.get_call(call_id=call_id)
    fields = set(applications.CallIn.model_fields)
    return ctx.render(
        "applications/call.html.j2",
        call=call,
        call_form=ctx.form(
            applications.CallIn.model_construct(**call.model_dump(include=fields)),
            endpoint="call_update",
        ),
        grid_form=ctx.form({"criteria": _grid_rows(call)}, endpoint="call_set_grid"),
        amendment_form=ctx.form({"criteria": _grid_rows(call)}, endpoint="call_amend"),
        groups=applications.CriterionGroup.choices(),
        orders=applications.EducationOrder.choices(),
        question_kinds=applications.QuestionKind.choices(),
    )


@post("/appels/<int:call_id>/sections/<int:section_id>/deplacer", MoveForm, call_view, ADMIN)
def call_move_section(ctx: Ctx, call_id: int, section_id: int, form: MoveForm) -> Response:
    step = -1 if form.sens == "monter" else 1
    ctx.applications.move_section(call_id=call_id, section_id=section_id, step=step)
    return ctx.done(f"/appels/{call_id}", "appel-enregistre")


@post("/appels/<int:call_id>/grille", GridForm, call_view, ADMIN)
def call_set_grid(ctx: Ctx, call_id: int, form: GridForm) -> Response:
    criteria, kept = _filled(form.criteria)
    try:
        grid = parse(applications.GridIn, {"criteria": criteria})
        ctx.applications.set_criteria(call_id=call_id, criteria=grid.criteria)
    except DomainError as exc:
        raise _on_rows(exc, kept) from None
    return ctx.done(f"/appels/{call_id}", "appel-enregistre")


passthrough(
    "applications",
    Download("call_guide_download", "/appels/<int:call_id>/guide", "get_guide", AREA),
)


@post("/appels/<int:call_id>/modificatifs", AmendmentForm, call_view, ADMIN)
def call_amend(ctx: Ctx, call_id: int, form: AmendmentForm) -> Response:
    criteria, kept = _filled(form.criteria) if form.change_grid else (None, [])
    data = form.model_dump(exclude={"change_grid", "criteria"}) | {"criteria": criteria}
    try:
        ctx.applications.amend_call(call_id=call_id, data=parse(applications.AmendmentIn, data))
    except DomainError as exc:
        raise _on_rows(exc, kept) from None
    return ctx.done(f"/appels/{call_id}", "modificatif")


def _application_columns(ctx: Ctx) -> list[lists.Column]:
    """The table's columns as the page shows them, for its exports."""
    return [
        lists.Column("Établissement", lambda a: a.organisation_name),
        lists.Column("Type", lambda a: KIND_LABELS.get(a.organisation_kind, "")),
        lists.Column("Ordre d'enseignement", lambda a: a.education_order),
        lists.Column("Région", lambda a: a.region),
        lists.Column("Statut", lambda a: a.status_label),
        lists.Column("Référence", lambda a: a.reference),
        lists.Column(
            "Dépôt électronique",
            lambda a: (
                a.submitted_at.astimezone(MONTREAL).strftime("%Y-%m-%d %H:%M")
                if a.submitted_at
                else None
            ),
        ),
        lists.Column("Copie papier reçue le", lambda a: a.paper_received_on),
        lists.Column(
            "Copie papier en retard",
            lambda a: ("oui" if a.paper_late else "non") if a.paper_received_on else None,
        ),
        lists.Column("Recevabilité", lambda a: a.admissibility_label),
    ]


@route("/appels/<int:call_id>/demandes", access=STAFF, query=applications.TableQuery)
def call_applications_page(ctx: Ctx, call_id: int) -> Response:
    table = ctx.applications.applications_table(call_id=call_id, query=ctx.query)
    return ctx.render(
        "applications/table.html.j2",
        table=table,
        pager=lists.pager(ctx, table.listing, cursor="cursor"),
        form=ctx.form(ctx.query),
        orders=applications.EducationOrder.choices(),
        statuses=applications.ApplicationStatus.choices(),
        admissibilities=applications.AdmissibilityFilter.choices(),
        sorts=applications.TableSort.choices(),
        decisions=applications.Admissibility.choices(),
    )


BULK = "/appels/<int:call_id>/demandes/recevabilite"


@route(BULK, access=STAFF, query=applications.BulkDecisionQuery)
def bulk_admissibility_confirm(ctx: Ctx, call_id: int, **_) -> Response:
    """The step before a bulk admissibility decision: the applications selected in the
    table, the decision and its reason, and what will happen; nothing is decided yet."""
    if ctx.form_state is not None:  # a refused confirmation, shown again as posted
        ids = [int(v) for v in ctx.form_state.selected("application_ids") if str(v).isdigit()]
        decision = ctx.form_state.value("decision") or None
        comment = ctx.form_state.value("comment")
    else:
        ids, decision, comment = ctx.query.application_ids, ctx.query.decision, ctx.query.comment
    # The selection is made on one page of the table (at most MAX_LIMIT rows; a call counts
    # one application per cégep or school service centre at most, fewer than that).
    table = ctx.applications.applications_table(
        call_id=call_id, query=applications.TableQuery(limit=MAX_LIMIT)
    )
    chosen = [row for row in table.listing.items if row.id in set(ids)]
    return ctx.render(
        "applications/bulk_admissibility.html.j2",
        call=table.call,
        rows=chosen,
        decision=applications.Admissibility(decision) if decision else None,
        comment=comment,
        form=ctx.form(endpoint="bulk_admissibility_decide"),
    )


@post(BULK, applications.BulkDecisionIn, bulk_admissibility_confirm, STAFF)
def bulk_admissibility_decide(
    ctx: Ctx, call_id: int, form: applications.BulkDecisionIn
) -> Response:
    """Decide each selected application, one at a time; the page reports each outcome."""
    result = ctx.applications.decide_admissibility_in_bulk(call_id=call_id, data=form)
    table = ctx.applications.applications_table(call_id=call_id)
    return ctx.render("applications/bulk_admissibility_done.html.j2", call=table.call, r=result)


lists.exports(
    "/appels/<int:call_id>/demandes",
    name="call_applications",
    filename="demandes",
    access=STAFF,
    query=applications.TableQuery,
    sheet="Demandes",
    fetch=lambda ctx, query, call_id: ctx.applications.list_applications(
        call_id=call_id, query=query
    ),
    columns=_application_columns,
    api="/api/calls/<int:call_id>/applications",
)


# -- applications --------------------------------------------------------------------------


@post("/appels/<int:call_id>/demande", NoFields, call_view, INSTITUTIONS)
def application_open(ctx: Ctx, call_id: int, form: NoFields) -> Response:
    try:
        application = ctx.applications.open_application(call_id=call_id)
    except DomainError as exc:
        existing = exc.details.get("application_id") if isinstance(exc.details, dict) else None
        if exc.code == "conflict" and existing:
            return ctx.redirect(f"/demandes/{existing}")
        raise
    return ctx.done(f"/demandes/{application.id}", "ouverte")


@route("/demandes/<int:application_id>", access=AREA, name="application_page")
def application_view(ctx: Ctx, application_id: int, **_) -> Response:
    _guard_evaluator(ctx, application_id)
    application = ctx.applications.get_application(application_id=application_id)
    return ctx.render(
        "applications/application.html.j2",
        app=application,
        call=application.call,
        upload_form=ctx.form({"kind": applications.PIECE_KINDS[0]}, endpoint="application_upload"),
        paper_form=ctx.form(
            {"received_on": application.paper_received_on}, endpoint="application_paper"
        ),
        decision_form=ctx.form(endpoint="application_decide"),
        piece_kinds=[(kind.value, kind.label) for kind in applications.PIECE_KINDS],
        complements_form=ctx.form(
            {"items": [{"kind": "document"}] * applications.COMPLEMENT_ROWS},
            endpoint="application_request_complements",
        ),
        extension_form=ctx.form(endpoint="application_extend_complements"),
        resume_form=ctx.form(endpoint="application_resume"),
        answer_form=ctx.form(endpoint="application_answer_complements"),
        complement_kinds=applications.ComplementKind.choices(),
        text_questions=[
            (q.id, f"{section.position}. {q.label}")
            for section in application.call.sections
            for q in section.questions
            if q.kind != "file"
        ],
    )


SECTION = "/demandes/<int:application_id>/sections/<int:section_id>"


@route(SECTION, access=INSTITUTIONS, name="application_section_form")
def section_view(ctx: Ctx, application_id: int, section_id: int) -> Response:
    application = ctx.applications.get_application(application_id=application_id)
    section = application.call.section(section_id)
    if section is None:
        raise HttpError(404, "Section introuvable dans ce formulaire.")
    answers = {f"answers.{key}": value for key, value in application.answers.items()}
    return ctx.render(
        "applications/section.html.j2",
        app=application,
        call=application.call,
        section=section,
        form=ctx.form(answers, endpoint="application_section_save"),
    )


def _section_of(back: str | None, application_id: int) -> int | None:
    """The section whose page a file question's upload was sent from (``retour``), if any."""
    rest = (back or "").removeprefix(f"/demandes/{application_id}/sections/")
    return int(rest) if rest != back and rest.isdigit() else None


def _upload_refused(ctx: Ctx, application_id: int) -> Response:
    """A refused file is shown again on the page it was sent from (a file question's
    section, or the application's page)."""
    section_id = _section_of(ctx.form_state.value("retour"), application_id)
    if ctx.form_state.value("question_id").isdigit() and section_id is not None:
        return section_view(ctx, application_id, section_id)
    return application_view(ctx, application_id)


@post("/demandes/<int:application_id>/pieces", UploadForm, _upload_refused, INSTITUTIONS)
def application_upload(ctx: Ctx, application_id: int, form: UploadForm) -> Response:
    answer = form.question_id is not None
    kind = applications.AttachmentKind.ANSWER if answer else form.kind
    added = ctx.applications.upload_attachment(
        application_id=application_id,
        data={"kind": kind, "question_id": form.question_id, **responses.uploaded_file(ctx, *FILE)},
    )
    back = f"/demandes/{application_id}"
    if answer and (section_id := _section_of(form.retour, application_id)) is not None:
        back += f"/sections/{section_id}"
    return ctx.done(back, _voided("piece")(form, added))


passthrough(
    "applications",
    Download("application_attachment", "/demandes/<int:application_id>/pieces/<int:attachment_id>",
             "get_attachment", AREA, guard=_guard_evaluator),
    Download("application_receipt", "/demandes/<int:application_id>/accuse-reception.pdf",
             "get_receipt", AREA, guard=_guard_evaluator),
)  # fmt: skip


class ReceiptState(BaseModel):
    """Whether the receipt of a submitted application is ready (rendered after the deposit,
    in the background): the application page asks until it is, then offers ``url``."""

    ready: bool
    pending: bool
    url: str | None = None


@route("/demandes/<int:application_id>/accuse-reception/etat", access=AREA)
def application_receipt_state(ctx: Ctx, application_id: int) -> Response:
    _guard_evaluator(ctx, application_id)
    application = ctx.applications.get_application(application_id=application_id)
    ready = application.has_receipt
    url = f"/demandes/{application_id}/accuse-reception.pdf" if ready else None
    state = ReceiptState(ready=ready, pending=application.receipt_pending, url=url)
    response = json_response(state)
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the « demande de compléments » ---------------------------------------------------------

COMPLEMENTS = "/demandes/<int:application_id>/complements"


@post(COMPLEMENTS, ComplementsForm, application_view, STAFF)
def application_request_complements(
    ctx: Ctx, application_id: int, form: ComplementsForm
) -> Response:
    items, kept = _filled(form.items)
    data = form.model_dump(exclude={"items"}) | {"items": items}
    try:
        request = parse(applications.ComplementsRequestIn, data)
        ctx.applications.request_complements(application_id=application_id, data=request)
    except DomainError as exc:
        raise _on_rows(exc, kept, "items") from None
    return ctx.done(f"/demandes/{application_id}#complements", "complements-demandes")


# -- forms that are one RPC, then a notice (``page_actions``) ------------------------------

# fmt: off
page_actions(
    "applications", new_call_view, ADMIN,
    Post("call_create", "/appels/nouveau", "create_call", "/appels/{reply.id}", "appel-cree",
         applications.CallIn),
)
page_actions(
    "applications", call_view, ADMIN,
    Post("call_update", "/appels/<int:call_id>/modifier", "update_call", "/appels/{call_id}",
         "appel-enregistre", applications.CallIn),
    Post("call_add_section", "/appels/<int:call_id>/sections", "add_section", "/appels/{call_id}",
         "appel-enregistre", applications.SectionIn),
    Post("call_delete_section", "/appels/<int:call_id>/sections/<int:section_id>/supprimer",
         "delete_section", "/appels/{call_id}", "appel-enregistre",
         confirm=Confirm("Retirer cette section du formulaire?",
                         "La section et toutes ses questions seront retirées du formulaire de "
                         "l'appel d'intérêt.", "Retirer la section")),
    Post("call_add_question", "/appels/<int:call_id>/sections/<int:section_id>/questions",
         "add_question", "/appels/{call_id}", "appel-enregistre", applications.QuestionIn),
    Post("call_delete_question",
         "/appels/<int:call_id>/sections/<int:section_id>/questions/<int:question_id>/supprimer",
         "delete_question", "/appels/{call_id}", "appel-enregistre",
         confirm=Confirm("Retirer cette question du formulaire?",
                         "La question sera retirée du formulaire de l'appel d'intérêt.",
                         "Retirer la question")),
    Post("call_publish", "/appels/<int:call_id>/publier", "publish_call", "/appels/{call_id}",
         "appel-publie"),
    Post("call_upload_guide", "/appels/<int:call_id>/guide", "upload_guide", "/appels/{call_id}",
         "appel-enregistre", upload=FILE),
    Post("call_close", "/appels/<int:call_id>/fermer", "close_call", "/appels/{call_id}",
         "appel-ferme",
         confirm=Confirm("Fermer l'appel d'intérêt?",
                         "L'appel ne recevra plus de demande : les établissements qui n'ont "
                         "pas déposé la leur ne pourront plus le faire. Un appel fermé ne peut "
                         "pas être rouvert.", "Fermer l'appel")),
)
page_actions(
    "applications", application_view, INSTITUTIONS,
    Post("application_sign", "/demandes/<int:application_id>/signer", "sign",
         "/demandes/{application_id}", "signee"),
    Post("application_submit", "/demandes/<int:application_id>/deposer", "submit",
         "/demandes/{application_id}", "deposee"),
    Post("application_withdraw", "/demandes/<int:application_id>/retirer", "withdraw",
         "/demandes/{application_id}", "retiree",
         confirm=Confirm("Retirer la demande?",
                         "La demande ne sera plus examinée par le Ministère. Avant la date "
                         "limite, vous pourrez la rouvrir; elle redeviendra alors un brouillon "
                         "à signer et à déposer de nouveau.", "Retirer la demande")),
    Post("application_reopen", "/demandes/<int:application_id>/rouvrir", "reopen",
         "/demandes/{application_id}", "demande-rouverte"),
    Post("application_delete_attachment",
         "/demandes/<int:application_id>/pieces/<int:attachment_id>/supprimer",
         "delete_attachment", "/demandes/{application_id}", _voided("piece-retiree"),
         confirm=Confirm("Retirer cette pièce jointe?",
                         "Le document sera retiré de la demande. Si la demande était signée, les "
                         "signatures seront annulées et devront être données de nouveau avant le "
                         "dépôt.", "Retirer la pièce jointe")),
    Post("application_paper", "/demandes/<int:application_id>/copie-papier", "record_paper_receipt",
         "/demandes/{application_id}", "papier", form=applications.PaperReceiptIn, access=STAFF),
    Post("application_decide", "/demandes/<int:application_id>/recevabilite",
         "decide_admissibility", "/demandes/{application_id}", "recevabilite",
         form=applications.DecisionIn, access=STAFF),
    Post("application_review_rule", "/demandes/<int:application_id>/recevabilite/<rule>",
         "review_rule", "/demandes/{application_id}", "regle", form=applications.RuleReviewIn,
         access=STAFF),
    Post("application_extend_complements", f"{COMPLEMENTS}/delai",
         "extend_complements_deadline", "/demandes/{application_id}#complements",
         "complements-delai", form=applications.ComplementsExtensionIn, access=STAFF),
    Post("application_resume", f"{COMPLEMENTS}/reprendre", "resume_admissibility",
         "/demandes/{application_id}#recevabilite", "analyse-reprise",
         form=applications.ResumeIn, access=STAFF),
    Post("application_complement_answer", f"{COMPLEMENTS}/elements/<int:item_id>",
         "answer_complement_item", "/demandes/{application_id}#complements", "element-fourni",
         form=applications.ComplementTextIn),
    Post("application_complement_document", f"{COMPLEMENTS}/elements/<int:item_id>/fichier",
         "upload_complement_document", "/demandes/{application_id}#complements",
         "element-fourni", upload=FILE),
    Post("application_complement_sign", f"{COMPLEMENTS}/elements/<int:item_id>/signer",
         "sign_complement_item", "/demandes/{application_id}#complements", "element-fourni"),
    Post("application_answer_complements", f"{COMPLEMENTS}/reponse", "answer_complements",
         "/demandes/{application_id}#complements", "complements-transmis",
         form=applications.ComplementsAnswerIn),
)
page_actions(
    "applications", section_view, INSTITUTIONS,
    Post("application_section_save", SECTION, "save_answers", "/demandes/{application_id}",
         _voided("section"), applications.AnswersIn),
)
# fmt: on
