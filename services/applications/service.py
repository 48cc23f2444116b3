"""nameko entrypoints of the applications service (thin: domain logic lives beside it).

Every user-facing RPC takes the ``actor`` first and scopes data by its organisation (see
``access.py`` for who may do what). Files travel base64-encoded in the JSON messages.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import date

from nameko.rpc import RpcProxy
from nameko.timer import timer

from rac_shared.actor import Actor
from rac_shared.bus import OutboxRelayRunner
from rac_shared.clock import clock
from rac_shared.consumer import on_event
from rac_shared.contracts import ensure_ministry, health_report, optional_figures
from rac_shared.db import Database
from rac_shared.errors import DomainError, conflict, invalid, not_found
from rac_shared.events import CeracDesignated
from rac_shared.logs import CorrelationId
from rac_shared.outbox import already_processed, first_time
from rac_shared.pdf import PdfRenderingError
from rac_shared.rpc import rpc
from rac_shared.scheduler import JobScheduler
from services.applications import (
    access,
    calls,
    ceracs,
    dossiers,
    mandates,
    reporting,
    support,
    views,
)
from services.applications.files import MAX_ATTACHMENT_BYTES
from services.applications.jobs import JOBS
from services.applications.models import APP_SUBMITTED, CALL_DRAFT, Base, Call
from services.applications.receipt import render_receipt
from services.applications.schemas import (
    AmendmentIn,
    AnswersIn,
    AttachmentIn,
    CallIn,
    CompetencesIn,
    DeadlineIn,
    DecisionIn,
    GridIn,
    NetworkQuery,
    PaperReceiptIn,
    QuestionIn,
    ReportAttachmentIn,
    ReportDraftIn,
    ReportQuery,
    ReportReviewIn,
    ReviewIn,
    SectionIn,
    SpecialMandateIn,
    SupportAnswerIn,
    SupportRequestIn,
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
    scheduler = JobScheduler(name, Base.metadata, JOBS)
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
    def network_figures(self, actor: dict, as_of: str | None = None) -> dict:
        """The ministry dashboard's figures kept here (aggregates only, ministry only), with
        the reporting figures, so that the dashboard asks applications once per page."""
        from services.applications import figures

        ensure_ministry(Actor.model_validate(actor))
        result = figures.network_figures(self.db)
        self.db.rollback()  # end the read; reporting_figures opens its own transaction
        result["reporting"] = optional_figures(self, "reporting_figures", actor, as_of=as_of)
        return result

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

    # -- the network of CERACs (local record from cerac.designated) ---------------------

    def _contacts(self, organisation_id: int | None) -> list[dict] | None:
        """The organisation's coordinators and directors from the directory; None when the
        directory cannot answer (the last known contacts are kept)."""
        if organisation_id is None:
            return []
        try:
            users = self.gateway.users_of_organisation(organisation_id, ceracs.CONTACT_ROLES)
        except DomainError:
            return []
        except Exception:  # directory unreachable: keep the snapshot, refresh later
            log.warning("contacts of organisation %s not refreshed", organisation_id)
            return None
        return ceracs.contacts_from_users(users)

    @on_event(CeracDesignated)
    def on_cerac_designated(self, envelope, payload: CeracDesignated) -> None:
        """Record the designated CERAC (idempotent) and open its yearly reports."""
        handler = "applications.on_cerac_designated"
        if already_processed(self.db, envelope.event_id, handler):
            return
        self.db.rollback()  # no transaction held open across the directory look-up
        contacts = self._contacts(payload.organisation_id)
        with self.db.begin():
            if first_time(self.db, envelope.event_id, handler):
                record = ceracs.register_designation(self.db, payload, contacts)
                reporting.ensure_yearly_reports(self.db, record)

    @rpc
    def network_ceracs(self, actor: dict, query: dict | None = None) -> dict:
        user = Actor.model_validate(actor)
        filters = parse(NetworkQuery, {k: v for k, v in (query or {}).items() if v})
        found = ceracs.search(self.db, user, filters.q, filters.domaine)
        return {
            "ceracs": [ceracs.cerac_view(c, user) for c in found],
            "areas": ceracs.areas_vocabulary(),
            "query": filters.model_dump(),
        }

    @rpc
    def get_cerac(self, actor: dict, cerac_id: int) -> dict:
        user = Actor.model_validate(actor)
        record = ceracs.get(self.db, user, cerac_id)
        if ceracs.contacts_stale(record):
            organisation_id = record.organisation_id
            self.db.rollback()  # no transaction held open across the directory look-up
            contacts = self._contacts(organisation_id)
            if contacts is not None:
                with self.db.begin():
                    record = ceracs.get(self.db, user, cerac_id)
                    record.contacts = contacts
                    record.contacts_refreshed_at = clock.now()
        view = ceracs.cerac_view(record, user)
        view["can_request_support"] = user.is_institution and not view["mine"]
        view["areas"] = ceracs.areas_vocabulary()
        return view

    @rpc
    def update_cerac_competences(self, actor: dict, cerac_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(CompetencesIn, data)
        with self.db.begin():
            record = ceracs.update_competences(
                self.db, user, cerac_id, payload.areas, payload.programs
            )
            return ceracs.cerac_view(record, user)

    @rpc
    def request_support(self, actor: dict, cerac_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(SupportRequestIn, data)
        ceracs.get(self.db, user, cerac_id)  # 404 before the directory look-up
        self.db.rollback()
        organisation = self.gateway.get_organisation(user.organisation_id)
        with self.db.begin():
            request = support.request_support(
                self.db, user, cerac_id, payload, organisation["name"]
            )
            return support.request_view(request)

    @rpc
    def support_requests(self, actor: dict) -> dict:
        return support.requests_of(self.db, Actor.model_validate(actor))

    @rpc
    def answer_support(self, actor: dict, request_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        support.incoming(self.db, user, request_id)  # "not found" before bad input
        self.db.rollback()
        payload = parse(SupportAnswerIn, data)
        with self.db.begin():
            return support.request_view(support.answer(self.db, user, request_id, payload))

    # -- reddition de comptes and special mandates ---------------------------------------

    @rpc
    def reporting_overview(self, actor: dict, query: dict | None = None) -> dict:
        """The CERAC's reports and mandates, or (ministry) every report, filtered."""
        user = Actor.model_validate(actor)
        filters = parse(ReportQuery, {k: v for k, v in (query or {}).items() if v})
        reports = reporting.list_reports(self.db, user, filters.status, filters.late)
        staff = user.role in reporting.STAFF_ROLES
        mine = [] if staff else ceracs.ceracs_of_organisation(self.db, user.organisation_id)
        return {
            "reports": [reporting.report_summary(r) for r in reports],
            "mandates": [reporting.mandate_view(m) for m in mandates.list_mandates(self.db, user)],
            "ceracs": [
                ceracs.cerac_view(c, user)
                for c in (ceracs.search(self.db, user) if staff else mine)
            ],
            "is_cerac": bool(mine),
            "is_staff": staff,
            "deadlines": [
                {
                    "experimentation_year": d.experimentation_year,
                    "due_date": d.due_date.isoformat(),
                    "set_by": d.set_by_name,
                }
                for d in reporting.deadlines(self.db)
            ]
            if staff
            else [],
            "years": reporting.known_years(self.db) if staff else [],
            "status_labels": reporting.STATUS_LABELS,
            "query": filters.model_dump(),
        }

    @rpc
    def get_report(self, actor: dict, report_id: int) -> dict:
        user = Actor.model_validate(actor)
        report = reporting.visible_report(self.db, user, report_id)
        if report.status in reporting.EDITABLE:
            self.db.rollback()
            with self.db.begin():  # the support counts of the offer part, kept current
                report = reporting.visible_report(self.db, user, report_id)
                reporting.refresh_prefilled(self.db, report)
                return reporting.report_view(self.db, user, report)
        return reporting.report_view(self.db, user, report)

    @rpc
    def save_report(self, actor: dict, report_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(ReportDraftIn, data)
        with self.db.begin():
            report = reporting.save_draft(self.db, user, report_id, payload)
            return reporting.report_view(self.db, user, report)

    @rpc
    def upload_report_attachment(self, actor: dict, report_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(ReportAttachmentIn, data)
        content = _decode(payload.content_b64)
        with self.db.begin():
            attachment = reporting.add_attachment(
                self.db, user, report_id, payload.section, payload.filename, content
            )
            return reporting.attachment_view(attachment)

    @rpc
    def get_report_attachment(self, actor: dict, report_id: int, attachment_id: int) -> dict:
        user = Actor.model_validate(actor)
        attachment = reporting.get_attachment(self.db, user, report_id, attachment_id)
        return {
            **reporting.attachment_view(attachment),
            "content_b64": base64.b64encode(attachment.content).decode("ascii"),
        }

    @rpc
    def delete_report_attachment(self, actor: dict, report_id: int, attachment_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            reporting.delete_attachment(self.db, user, report_id, attachment_id)
        return {"deleted": attachment_id}

    @rpc
    def submit_report(self, actor: dict, report_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            version = reporting.submit(self.db, user, report_id)
            report = reporting.visible_report(self.db, user, report_id)
            return {
                **reporting.report_summary(report),
                "version": {
                    k: v for k, v in reporting.version_view(version).items() if k != "content"
                },
            }

    @rpc
    def review_report(self, actor: dict, report_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(ReportReviewIn, data)
        with self.db.begin():
            version = reporting.review(self.db, user, report_id, payload)
            report = reporting.visible_report(self.db, user, report_id)
            return {
                **reporting.report_summary(report),
                "version": {
                    k: v for k, v in reporting.version_view(version).items() if k != "content"
                },
            }

    @rpc
    def get_report_version(self, actor: dict, report_id: int, number: int) -> dict:
        user = Actor.model_validate(actor)
        version = reporting.get_version(self.db, user, report_id, number)
        report = reporting.visible_report(self.db, user, report_id)
        return {"report": reporting.report_summary(report), **reporting.version_view(version)}

    @rpc
    def set_report_deadline(self, actor: dict, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(DeadlineIn, data)
        with self.db.begin():
            deadline = reporting.set_deadline(
                self.db, user, payload.experimentation_year, payload.due_date
            )
            return {
                "experimentation_year": deadline.experimentation_year,
                "due_date": deadline.due_date.isoformat(),
                "set_by": deadline.set_by_name,
            }

    @rpc
    def assign_special_mandate(self, actor: dict, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(SpecialMandateIn, data)
        with self.db.begin():
            mandate = mandates.assign(self.db, user, payload)
            report = next(
                r
                for r in reporting.list_reports(self.db, user)
                if r.special_mandate_id == mandate.id
            )
            return {**reporting.mandate_view(mandate), "report_id": report.id}

    @rpc
    def reporting_figures(self, actor: dict, as_of: str | None = None) -> dict:
        """For the ministry's dashboard: reports by status, late reports (CERAC, due date),
        support requests received and answered per CERAC."""
        user = Actor.model_validate(actor)
        day = None
        if as_of:
            try:
                day = date.fromisoformat(str(as_of))
            except ValueError:
                raise invalid(
                    "Une date AAAA-MM-JJ est attendue.", {"as_of": "Date invalide."}
                ) from None
        return reporting.figures(self.db, user, day)
