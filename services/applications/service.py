"""nameko entrypoints of the applications service (thin: domain logic lives beside it).

Every user-facing RPC takes the ``actor`` first and scopes data by its organisation (see
``access.py`` for who may do what). Files travel base64-encoded in the JSON messages.
"""

from __future__ import annotations

import base64
import binascii
import logging

from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from rac_shared.actor import Actor
from rac_shared.bus import OutboxRelayRunner
from rac_shared.contracts import health_report
from rac_shared.db import Database
from rac_shared.errors import conflict, invalid, not_found
from rac_shared.logs import CorrelationId
from rac_shared.pdf import PdfRenderingError
from services.applications import access, calls, dossiers, views
from services.applications.files import MAX_ATTACHMENT_BYTES
from services.applications.models import APP_SUBMITTED, CALL_DRAFT, Base, Call
from services.applications.receipt import render_receipt
from services.applications.schemas import (
    AmendmentIn,
    AnswersIn,
    AttachmentIn,
    CallIn,
    DecisionIn,
    GridIn,
    PaperReceiptIn,
    QuestionIn,
    ReviewIn,
    SectionIn,
    TableQuery,
    parse,
)

log = logging.getLogger(__name__)


def _decode(content_b64: str) -> bytes:
    if len(content_b64) > (MAX_ATTACHMENT_BYTES * 4) // 3 + 8:
        limit = MAX_ATTACHMENT_BYTES // (1024 * 1024)
        raise invalid(
            f"Le fichier dépasse la taille maximale de {limit} Mo.",
            {"fichier": f"Taille maximale : {limit} Mo."},
        )
    try:
        return base64.b64decode(content_b64, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("Le contenu du fichier est mal encodé.") from None


def _file(attachment) -> dict:
    return {
        **views.attachment_view(attachment),
        "content_b64": base64.b64encode(attachment.content).decode("ascii"),
    }


class ApplicationsService:
    name = "applications"

    db = Database(name, Base.metadata)
    relay = OutboxRelayRunner(name, Base.metadata)
    correlation_id = CorrelationId()
    gateway = RpcProxy("gateway")

    @timer(interval=1)
    def render_receipts(self) -> int:
        """Render the receipts of newly submitted applications, off the submit request
        (WeasyPrint takes a second or two). A failure is logged and retried next tick."""
        rendered = 0
        with self.db.begin():
            for application in dossiers.pending_receipts(self.db):
                try:
                    dossiers.attach_receipt(application, render_receipt)
                    rendered += 1
                except PdfRenderingError:
                    log.exception("receipt of application %s not rendered", application.id)
        return rendered

    @rpc
    def health(self) -> dict:
        return health_report(self.name, self.db)

    @rpc
    def home_summary(self, actor: dict) -> list[dict]:
        """Next actions on the user's home page (calls to apply to, signatures, reviews)."""
        return dossiers.home_summary(self.db, Actor.model_validate(actor))

    # -- calls ---------------------------------------------------------------------

    @rpc
    def list_calls(self, actor: dict) -> list[dict]:
        user = Actor.model_validate(actor)
        return [views.call_summary(c) for c in calls.visible_calls(self.db, user)]

    @rpc
    def get_call(self, actor: dict, call_id: int) -> dict:
        user = Actor.model_validate(actor)
        return views.call_view(self.db, user, calls.get_call(self.db, user, call_id))

    @rpc
    def create_call(self, actor: dict, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(CallIn, data)
        with self.db.begin():
            call = calls.create_call(self.db, user, payload)
            return views.call_view(self.db, user, call)

    @rpc
    def update_call(self, actor: dict, call_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(CallIn, data)
        with self.db.begin():
            call = calls.update_call(self.db, user, call_id, payload)
            return views.call_view(self.db, user, call)

    @rpc
    def add_section(self, actor: dict, call_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(SectionIn, data)
        with self.db.begin():
            section = calls.add_section(self.db, user, call_id, payload)
            return {"id": section.id, "title": section.title, "position": section.position}

    @rpc
    def delete_section(self, actor: dict, call_id: int, section_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            calls.delete_section(self.db, user, call_id, section_id)
        return {"deleted": section_id}

    @rpc
    def move_section(self, actor: dict, call_id: int, section_id: int, step: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            calls.move_section(self.db, user, call_id, section_id, int(step))
        return {"moved": section_id}

    @rpc
    def add_question(self, actor: dict, call_id: int, section_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(QuestionIn, data)
        with self.db.begin():
            question = calls.add_question(self.db, user, call_id, section_id, payload)
            return {"id": question.id, "label": question.label, "kind": question.kind}

    @rpc
    def delete_question(self, actor: dict, call_id: int, section_id: int, question_id: int):
        user = Actor.model_validate(actor)
        with self.db.begin():
            calls.delete_question(self.db, user, call_id, section_id, question_id)
        return {"deleted": question_id}

    @rpc
    def set_criteria(self, actor: dict, call_id: int, criteria: list) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(GridIn, {"criteria": criteria})
        with self.db.begin():
            call = calls.set_criteria(self.db, user, call_id, payload)
            return views.call_view(self.db, user, call)

    @rpc
    def upload_guide(self, actor: dict, call_id: int, filename: str, content_b64: str) -> dict:
        user = Actor.model_validate(actor)
        content = _decode(content_b64)
        with self.db.begin():
            return views.attachment_view(
                calls.upload_guide(self.db, user, call_id, filename, content)
            )

    @rpc
    def get_guide(self, actor: dict, call_id: int) -> dict:
        user = Actor.model_validate(actor)
        call = calls.get_call(self.db, user, call_id)
        guide = calls.guide_of(self.db, call.id)
        if guide is None:
            raise not_found("Cet appel n'a pas encore de guide de présentation.")
        return _file(guide)

    @rpc
    def publish_call(self, actor: dict, call_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            return views.call_summary(calls.publish_call(self.db, user, call_id))

    @rpc
    def close_call(self, actor: dict, call_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            return views.call_summary(calls.close_call(self.db, user, call_id))

    @rpc
    def amend_call(self, actor: dict, call_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(AmendmentIn, data)
        with self.db.begin():
            amendment = calls.amend_call(self.db, user, call_id, payload)
            return {
                "number": amendment.number,
                "changes": amendment.changes,
                "organisation_ids": amendment.organisation_ids,
            }

    # -- applications (institutions) -------------------------------------------------

    @rpc
    def open_application(self, actor: dict, call_id: int) -> dict:
        """Start the actor's institution's application on a call. The institution's
        facts come from the directory (gateway) by RPC, never from the caller."""
        user = Actor.model_validate(actor)
        access.ensure_institution(user)
        organisation = self.gateway.get_organisation(user.organisation_id)
        with self.db.begin():
            application = dossiers.open_application(self.db, user, call_id, organisation)
            return views.application_row(application)

    @rpc
    def get_application(self, actor: dict, application_id: int) -> dict:
        user = Actor.model_validate(actor)
        application = dossiers.load(self.db, user, application_id)
        return views.application_view(self.db, user, application)

    @rpc
    def save_answers(self, actor: dict, application_id: int, section_id: int, answers: dict):
        user = Actor.model_validate(actor)
        payload = parse(AnswersIn, {"answers": answers})
        with self.db.begin():
            application, voided = dossiers.save_answers(
                self.db, user, application_id, section_id, payload.answers
            )
            return {"id": application.id, "signatures_voided": voided}

    @rpc
    def upload_attachment(self, actor: dict, application_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(AttachmentIn, data)
        content = _decode(payload.content_b64)
        with self.db.begin():
            attachment, voided = dossiers.add_attachment(
                self.db,
                user,
                application_id,
                payload.kind,
                payload.filename,
                content,
                payload.question_id,
            )
            return {**views.attachment_view(attachment), "signatures_voided": voided}

    @rpc
    def delete_attachment(self, actor: dict, application_id: int, attachment_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            voided = dossiers.delete_attachment(self.db, user, application_id, attachment_id)
        return {"deleted": attachment_id, "signatures_voided": voided}

    @rpc
    def get_attachment(self, actor: dict, application_id: int, attachment_id: int) -> dict:
        user = Actor.model_validate(actor)
        return _file(dossiers.get_attachment(self.db, user, application_id, attachment_id))

    @rpc
    def sign(self, actor: dict, application_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            signature = dossiers.sign(self.db, user, application_id)
            return {
                "full_name": signature.full_name,
                "role": signature.role,
                "capacity": signature.capacity,
                "signed_at": signature.signed_at.isoformat(),
            }

    @rpc
    def submit(self, actor: dict, application_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            application = dossiers.submit(self.db, user, application_id)
            return views.application_row(application) | {
                "content_sha256": application.content_sha256
            }

    @rpc
    def withdraw(self, actor: dict, application_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            return views.application_row(dossiers.withdraw(self.db, user, application_id))

    @rpc
    def reopen(self, actor: dict, application_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            return views.application_row(dossiers.reopen(self.db, user, application_id))

    @rpc
    def get_receipt(self, actor: dict, application_id: int) -> dict:
        user = Actor.model_validate(actor)
        application = dossiers.load(self.db, user, application_id)
        if application.status != APP_SUBMITTED:
            raise not_found("Aucun accusé de réception : la demande n'est pas déposée.")
        if application.receipt_pdf is None:
            raise conflict(
                "L'accusé de réception est en préparation. Réessayez dans quelques secondes."
            )
        return {
            "filename": f"accuse-reception-{application.reference}.pdf",
            "mime": "application/pdf",
            "content_b64": base64.b64encode(application.receipt_pdf).decode("ascii"),
        }

    # -- ministry --------------------------------------------------------------------

    @rpc
    def record_paper_receipt(self, actor: dict, application_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(PaperReceiptIn, data)
        with self.db.begin():
            application = dossiers.record_paper_receipt(
                self.db, user, application_id, payload.received_on
            )
            return views.application_row(application)

    @rpc
    def review_rule(self, actor: dict, application_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(ReviewIn, data)
        with self.db.begin():
            review = dossiers.review_rule(
                self.db,
                user,
                application_id,
                payload.rule,
                payload.passed,
                payload.justification,
            )
            return {
                "rule": review.rule,
                "passed": review.passed,
                "computed_passed": review.computed_passed,
                "overridden": review.overridden,
            }

    @rpc
    def decide_admissibility(self, actor: dict, application_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(DecisionIn, data)
        with self.db.begin():
            application = dossiers.decide(
                self.db, user, application_id, payload.decision, payload.comment
            )
            return views.application_row(application)

    @rpc
    def applications_table(self, actor: dict, call_id: int, query: dict | None = None) -> dict:
        user = Actor.model_validate(actor)
        filters = parse(TableQuery, {k: v for k, v in (query or {}).items() if v})
        result = dossiers.table(self.db, user, call_id, filters)
        return {
            "call": views.call_summary(result["call"]),
            "rows": [views.application_row(a) for a in result["rows"]],
            "counts": result["counts"],
            "total": result["total"],
            "decisions": result["decisions"],
            "regions": result["regions"],
            "query": filters.model_dump(),
        }

    @rpc
    def applications_csv(self, actor: dict, call_id: int, query: dict | None = None) -> dict:
        user = Actor.model_validate(actor)
        filters = parse(TableQuery, {k: v for k, v in (query or {}).items() if v})
        result = dossiers.table(self.db, user, call_id, filters)
        return {
            "filename": f"demandes-appel-{call_id}.csv",
            "content": dossiers.table_csv(result),
        }

    # -- for other services (never exposed by the gateway) -----------------------------

    @rpc
    def grid_of_call(self, call_id: int) -> dict:
        """For services, not users (the gateway never exposes it): the call's evaluation
        grid, which the scoring service snapshots when it opens the call's first evaluation.
        """
        call = self.db.get(Call, int(call_id))
        if call is None or call.status == CALL_DRAFT:
            raise not_found("Appel d'intérêt introuvable.")
        return views.grid_view(call)
