"""The calls-and-applications JSON API: each operation, uploads and the evaluator's guarded
reads included, passes its ids and body to one RPC of the contract (summaries: the
contract's docstrings), but two ordinary routes: the opening of an application, which
refuses any field (the institution is the account's), and a rule's review, whose rule is
named by the URL."""

from __future__ import annotations

import json

from gateway.web.applications.pages import ADMIN, AREA, INSTITUTIONS, STAFF, _guard_evaluator
from gateway.web.framework import Ctx, HttpError, route
from gateway.web.passthrough import Api, passthrough
from rac_shared.contracts import applications

S = "/api/calls"
C = f"{S}/<int:call_id>"
A = "/api/applications/<int:application_id>"
FILE = ("file", applications.MAX_ATTACHMENT_BYTES)  # an upload's file field and its limit

# fmt: off
passthrough(
    "applications",
    Api("api_calls", f"GET {S}", "list_calls", AREA),
    Api("api_call_create", f"POST {S}", "create_call", ADMIN),
    Api("api_call", f"GET {C}", "get_call", AREA),
    Api("api_call_update", f"PUT {C}", "update_call", ADMIN),
    Api("api_call_add_section", f"POST {C}/sections", "add_section", ADMIN),
    Api("api_call_add_question", f"POST {C}/sections/<int:section_id>/questions", "add_question",
        ADMIN),
    Api("api_call_criteria", f"PUT {C}/criteria", "set_criteria", ADMIN,
        fields=applications.GridIn),
    Api("api_call_guide", f"GET {C}/guide", "get_guide", AREA, file=True),
    Api("api_call_guide_upload", f"POST {C}/guide", "upload_guide", ADMIN, upload=FILE),
    Api("api_call_publish", f"POST {C}/publish", "publish_call", ADMIN),
    Api("api_call_close", f"POST {C}/close", "close_call", ADMIN),
    Api("api_call_amend", f"POST {C}/amendments", "amend_call", ADMIN),
    Api("api_call_applications", f"GET {C}/applications", "list_applications", STAFF),
    Api("api_application", f"GET {A}", "get_application", AREA, guard=_guard_evaluator),
    Api("api_application_attachment", f"GET {A}/attachments/<int:attachment_id>",
        "get_attachment", AREA, file=True, guard=_guard_evaluator),
    Api("api_application_receipt", f"GET {A}/receipt", "get_receipt", AREA, file=True,
        guard=_guard_evaluator),
    Api("api_application_answers", f"PUT {A}/sections/<int:section_id>", "save_answers",
        INSTITUTIONS, fields=applications.AnswersIn),
    Api("api_application_upload", f"POST {A}/attachments", "upload_attachment", INSTITUTIONS,
        upload=FILE),
    Api("api_application_delete_attachment", f"DELETE {A}/attachments/<int:attachment_id>",
        "delete_attachment", INSTITUTIONS),
    Api("api_application_sign", f"POST {A}/sign", "sign", INSTITUTIONS),
    Api("api_application_submit", f"POST {A}/submit", "submit", INSTITUTIONS),
    Api("api_application_withdraw", f"POST {A}/withdraw", "withdraw", INSTITUTIONS),
    Api("api_application_reopen", f"POST {A}/reopen", "reopen", INSTITUTIONS),
    Api("api_application_paper", f"POST {A}/paper-receipt", "record_paper_receipt", STAFF),
    Api("api_applications_decide_in_bulk", f"POST {C}/admissibility-decisions",
        "decide_admissibility_in_bulk", STAFF),
    Api("api_application_decide", f"POST {A}/admissibility/decision", "decide_admissibility",
        STAFF),
    Api("api_application_request_complements", f"POST {A}/complements", "request_complements",
        STAFF),
    Api("api_application_extend_complements", f"POST {A}/complements/deadline",
        "extend_complements_deadline", STAFF),
    Api("api_application_resume", f"POST {A}/admissibility/resume", "resume_admissibility",
        STAFF),
    Api("api_application_complement_answer", f"PUT {A}/complements/items/<int:item_id>",
        "answer_complement_item", INSTITUTIONS),
    Api("api_application_complement_document", f"POST {A}/complements/items/<int:item_id>/file",
        "upload_complement_document", INSTITUTIONS, upload=FILE),
    Api("api_application_complement_sign", f"POST {A}/complements/items/<int:item_id>/sign",
        "sign_complement_item", INSTITUTIONS),
    Api("api_application_answer_complements", f"POST {A}/complements/answer",
        "answer_complements", INSTITUTIONS),
)
# fmt: on


@route(f"{C}/applications", methods=("POST",), access=INSTITUTIONS)
def api_application_open(ctx: Ctx, call_id: int) -> applications.ApplicationRow:
    """Ouvrir la demande de son établissement (aucun champ : celui du compte)"""
    raw = ctx.request.get_data(cache=True)
    if raw.strip():
        if ctx.request.mimetype != "application/json":
            raise HttpError(415)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise HttpError(400, "Le corps de la requête n'est pas du JSON valide.") from exc
        if not isinstance(data, dict):
            raise HttpError(422, details={"corps": "Un objet JSON est attendu."})
        if data:
            raise HttpError(
                422,
                "L'établissement est toujours celui de votre compte : aucun champ n'est permis.",
                {key: "Ce champ n'est pas permis." for key in list(data)[:20]},
            )
    return ctx.applications.open_application(call_id=call_id)


@route(
    f"{A}/admissibility/rules/<rule>",
    methods=("POST",),
    access=STAFF,
    body=applications.RuleReviewIn,
)
def api_application_review_rule(
    ctx: Ctx, application_id: int, rule: str
) -> applications.RuleReviewed:
    """Confirmer une règle de recevabilité ou y déroger avec justification"""
    if rule not in applications.AdmissibilityRule.labels():
        raise HttpError(404, "Règle de recevabilité inconnue.")
    return ctx.applications.review_rule(
        application_id=application_id, data={"rule": rule, **ctx.body.model_dump()}
    )
