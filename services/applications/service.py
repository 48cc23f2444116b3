"""nameko entrypoints of the applications service (thin: domain logic lives beside it).

Every user-facing RPC takes the ``actor`` first and scopes data by its organisation (see
``access.py`` for who may do what). Arguments and replies are the contract's
(``rac_shared/contracts/applications.py`` for calls and applications,
``rac_shared/contracts/network.py`` for the CERAC network and the reddition de comptes):
``@rpc`` validates them on the way in and out. Files travel base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import logging

from nameko.rpc import RpcProxy
from nameko.timer import timer

from rac_shared.actor import Actor
from rac_shared.bus import OutboxRelayRunner
from rac_shared.clock import aware, clock
from rac_shared.consumer import on_event
from rac_shared.contracts import (
    HealthReport,
    NextAction,
    ensure_ministry,
    health_report,
    optional_figures,
)
from rac_shared.contracts.applications import (
    AmendmentIn,
    AmendmentRecorded,
    Answers,
    AnswersSaved,
    ApplicationPage,
    ApplicationRow,
    ApplicationsFigures,
    ApplicationsTable,
    ApplicationView,
    AttachmentAdded,
    AttachmentDeleted,
    AttachmentFile,
    AttachmentIn,
    AttachmentView,
    BulkDecided,
    BulkDecisionIn,
    CallIn,
    CallPage,
    CallQuery,
    CallSummary,
    CallView,
    ComplementFileIn,
    ComplementProvided,
    ComplementsAnswerIn,
    ComplementsExtensionIn,
    ComplementsRequested,
    ComplementsRequestIn,
    ComplementTextIn,
    CriterionIn,
    DecisionIn,
    FileReply,
    Grid,
    GridIn,
    Moved,
    PaperReceiptIn,
    QuestionAdded,
    QuestionIn,
    ResumeIn,
    ReviewIn,
    RuleReviewed,
    SectionAdded,
    SectionIn,
    Signed,
    Submitted,
    TableQuery,
)
from rac_shared.contracts.base import OptionalDate
from rac_shared.contracts.calendar import CalendarEvent, CalendarQuery, window
from rac_shared.contracts.network import (
    CeracPage,
    CeracView,
    CompetencesIn,
    Deadline,
    DeadlineIn,
    Deleted,
    MandateAssigned,
    NetworkQuery,
    NetworkView,
    ReportAttachment,
    ReportAttachmentFile,
    ReportAttachmentIn,
    ReportDraftIn,
    ReportingFigures,
    ReportingOverview,
    ReportPage,
    ReportQuery,
    ReportReviewIn,
    ReportSubmitted,
    ReportView,
    SpecialMandateIn,
    SupportAnswerIn,
    SupportRequestIn,
    SupportRequests,
    SupportRequestView,
    VersionView,
)
from rac_shared.db import Database
from rac_shared.errors import DomainError, conflict, invalid, not_found
from rac_shared.events import CeracDesignated
from rac_shared.listing import reply
from rac_shared.logs import CorrelationId
from rac_shared.outbox import already_processed, first_time
from rac_shared.pdf import PdfRenderingError
from rac_shared.reply_cache import cached_reply
from rac_shared.rpc import rpc
from rac_shared.scheduler import JobScheduler
from services.applications import (
    access,
    agenda,
    calls,
    ceracs,
    complements,
    dossiers,
    home,
    mandates,
    reporting,
    review,
    staff_table,
    support,
    views,
)
from services.applications.files import MAX_ATTACHMENT_BYTES
from services.applications.jobs import JOBS
from services.applications.models import CALL_DRAFT, DEPOSITED, Base, Call
from services.applications.receipt import render_receipt

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


def _content(attachment) -> str:
    return base64.b64encode(attachment.content).decode("ascii")


def _on_answer_fields(exc: DomainError) -> DomainError:
    """The section's errors (``q<question id>``) on the fields of the answers sent
    (``answers.<question id>``), as forms name them."""
    if not isinstance(exc.details, dict):
        return exc
    details = {
        (f"answers.{key[1:]}" if str(key)[:1] == "q" and str(key)[1:].isdigit() else key): text
        for key, text in exc.details.items()
    }
    return DomainError(exc.message, details, exc.code)


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
    def health(self) -> HealthReport:
        return health_report(self.name, self.db)

    @rpc
    def network_figures(self, actor: Actor, as_of: OptionalDate = None) -> ApplicationsFigures:
        """The ministry dashboard's figures kept here (aggregates only, ministry only), with
        the reporting figures, so that the dashboard asks applications once per page."""
        from services.applications import figures

        ensure_ministry(actor)
        result = figures.network_figures(self.db)
        self.db.rollback()  # end the read; reporting_figures opens its own transaction
        result["reporting"] = optional_figures(self, "reporting_figures", actor, as_of=as_of)
        return result

    @rpc
    def home_summary(self, actor: Actor) -> list[NextAction]:
        """Next actions on the actor's home page (calls to apply to, signatures, reviews)."""
        return home.home_summary(self.db, actor)

    # -- calls ---------------------------------------------------------------------

    @rpc
    @cached_reply  # kept while the applications database is unchanged
    def list_calls(self, actor: Actor, query: CallQuery | None = None) -> CallPage:
        page = calls.calls_page(self.db, actor, query or CallQuery())
        return reply(page, [views.call_summary(call) for (call,) in page["rows"]])

    @rpc
    def calendar(self, actor: Actor, query: CalendarQuery) -> list[CalendarEvent]:
        return window(agenda.calendar_events(self.db, actor, query), query)

    @rpc
    def get_call(self, actor: Actor, call_id: int) -> CallView:
        return views.call_view(self.db, actor, calls.get_call(self.db, actor, call_id))

    @rpc
    def create_call(self, actor: Actor, data: CallIn) -> CallView:
        with self.db.begin():
            call = calls.create_call(self.db, actor, data)
            return views.call_view(self.db, actor, call)

    @rpc
    def update_call(self, actor: Actor, call_id: int, data: CallIn) -> CallView:
        with self.db.begin():
            call = calls.update_call(self.db, actor, call_id, data)
            return views.call_view(self.db, actor, call)

    @rpc
    def add_section(self, actor: Actor, call_id: int, data: SectionIn) -> SectionAdded:
        with self.db.begin():
            section = calls.add_section(self.db, actor, call_id, data)
            return {"id": section.id, "title": section.title, "position": section.position}

    @rpc
    def delete_section(self, actor: Actor, call_id: int, section_id: int) -> Deleted:
        with self.db.begin():
            calls.delete_section(self.db, actor, call_id, section_id)
        return {"deleted": section_id}

    @rpc
    def move_section(self, actor: Actor, call_id: int, section_id: int, step: int) -> Moved:
        with self.db.begin():
            calls.move_section(self.db, actor, call_id, section_id, step)
        return {"moved": section_id}

    @rpc
    def add_question(
        self, actor: Actor, call_id: int, section_id: int, data: QuestionIn
    ) -> QuestionAdded:
        with self.db.begin():
            question = calls.add_question(self.db, actor, call_id, section_id, data)
            return {"id": question.id, "label": question.label, "kind": question.kind}

    @rpc
    def delete_question(
        self, actor: Actor, call_id: int, section_id: int, question_id: int
    ) -> Deleted:
        with self.db.begin():
            calls.delete_question(self.db, actor, call_id, section_id, question_id)
        return {"deleted": question_id}

    @rpc
    def set_criteria(self, actor: Actor, call_id: int, criteria: list[CriterionIn]) -> CallView:
        with self.db.begin():
            call = calls.set_criteria(self.db, actor, call_id, GridIn(criteria=criteria))
            return views.call_view(self.db, actor, call)

    @rpc
    def upload_guide(
        self, actor: Actor, call_id: int, filename: str, content_b64: str
    ) -> AttachmentView:
        content = _decode(content_b64)
        with self.db.begin():
            return views.attachment_view(
                calls.upload_guide(self.db, actor, call_id, filename, content)
            )

    @rpc
    def get_guide(self, actor: Actor, call_id: int) -> AttachmentFile:
        call = calls.get_call(self.db, actor, call_id)
        guide = calls.guide_of(self.db, call.id)
        if guide is None:
            raise not_found("Cet appel n'a pas encore de guide de présentation.")
        return {**views.attachment_view(guide), "content_b64": _content(guide)}

    @rpc
    def publish_call(self, actor: Actor, call_id: int) -> CallSummary:
        with self.db.begin():
            return views.call_summary(calls.publish_call(self.db, actor, call_id))

    @rpc
    def close_call(self, actor: Actor, call_id: int) -> CallSummary:
        with self.db.begin():
            return views.call_summary(calls.close_call(self.db, actor, call_id))

    @rpc
    def amend_call(self, actor: Actor, call_id: int, data: AmendmentIn) -> AmendmentRecorded:
        with self.db.begin():
            amendment = calls.amend_call(self.db, actor, call_id, data)
            return {
                "number": amendment.number,
                "changes": amendment.changes,
                "organisation_ids": amendment.organisation_ids,
            }

    # -- applications (institutions) -------------------------------------------------

    @rpc
    def open_application(self, actor: Actor, call_id: int) -> ApplicationRow:
        """Start the actor's institution's application on a call. The institution's
        facts come from the directory (gateway) by RPC, never from the caller."""
        access.ensure_institution(actor)
        organisation = self.gateway.get_organisation(actor.organisation_id)
        with self.db.begin():
            application = dossiers.open_application(self.db, actor, call_id, organisation)
            return views.application_row(application)

    @rpc
    def get_application(self, actor: Actor, application_id: int) -> ApplicationView:
        application = access.load(self.db, actor, application_id)
        return views.application_view(self.db, actor, application)

    @rpc
    def save_answers(
        self, actor: Actor, application_id: int, section_id: int, answers: Answers
    ) -> AnswersSaved:
        try:
            with self.db.begin():
                application, voided = dossiers.save_answers(
                    self.db, actor, application_id, section_id, answers
                )
                return {"id": application.id, "signatures_voided": voided}
        except DomainError as exc:
            raise _on_answer_fields(exc) from None

    @rpc
    def upload_attachment(
        self, actor: Actor, application_id: int, data: AttachmentIn
    ) -> AttachmentAdded:
        content = _decode(data.content_b64)
        with self.db.begin():
            attachment, voided = dossiers.add_attachment(
                self.db,
                actor,
                application_id,
                data.kind,
                data.filename,
                content,
                data.question_id,
            )
            return {**views.attachment_view(attachment), "signatures_voided": voided}

    @rpc
    def delete_attachment(
        self, actor: Actor, application_id: int, attachment_id: int
    ) -> AttachmentDeleted:
        with self.db.begin():
            voided = dossiers.delete_attachment(self.db, actor, application_id, attachment_id)
        return {"deleted": attachment_id, "signatures_voided": voided}

    @rpc
    def get_attachment(
        self, actor: Actor, application_id: int, attachment_id: int
    ) -> AttachmentFile:
        attachment = dossiers.get_attachment(self.db, actor, application_id, attachment_id)
        return {**views.attachment_view(attachment), "content_b64": _content(attachment)}

    @rpc
    def sign(self, actor: Actor, application_id: int) -> Signed:
        with self.db.begin():
            signature = dossiers.sign(self.db, actor, application_id)
            return {
                "full_name": signature.full_name,
                "role": signature.role,
                "capacity": signature.capacity,
                "signed_at": aware(signature.signed_at),
            }

    @rpc
    def submit(self, actor: Actor, application_id: int) -> Submitted:
        with self.db.begin():
            application = dossiers.submit(self.db, actor, application_id)
            return views.application_row(application) | {
                "content_sha256": application.content_sha256
            }

    @rpc
    def withdraw(self, actor: Actor, application_id: int) -> ApplicationRow:
        with self.db.begin():
            return views.application_row(dossiers.withdraw(self.db, actor, application_id))

    @rpc
    def reopen(self, actor: Actor, application_id: int) -> ApplicationRow:
        with self.db.begin():
            return views.application_row(dossiers.reopen(self.db, actor, application_id))

    @rpc
    def get_receipt(self, actor: Actor, application_id: int) -> FileReply:
        application = access.load(self.db, actor, application_id)
        if application.status not in DEPOSITED:
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
    def record_paper_receipt(
        self, actor: Actor, application_id: int, data: PaperReceiptIn
    ) -> ApplicationRow:
        with self.db.begin():
            application = review.record_paper_receipt(
                self.db, actor, application_id, data.received_on
            )
            return views.application_row(application)

    @rpc
    def review_rule(self, actor: Actor, application_id: int, data: ReviewIn) -> RuleReviewed:
        with self.db.begin():
            reviewed = review.review_rule(
                self.db, actor, application_id, data.rule, data.passed, data.justification
            )
            return {
                "rule": reviewed.rule,
                "passed": reviewed.passed,
                "computed_passed": reviewed.computed_passed,
                "overridden": reviewed.overridden,
            }

    @rpc
    def decide_admissibility(
        self, actor: Actor, application_id: int, data: DecisionIn
    ) -> ApplicationRow:
        with self.db.begin():
            application = review.decide(self.db, actor, application_id, data.decision, data.comment)
            return views.application_row(application)

    # -- the « demande de compléments » (services/applications/complements.py) ---------

    @staticmethod
    def _requested(request) -> dict:
        return {
            "application_id": request.application_id,
            "request_id": request.id,
            "number": request.number,
            "due_date": request.due_date,
        }

    @staticmethod
    def _provided(item) -> dict:
        return {"item_id": item.id, "provided": complements.is_provided(item)}

    @rpc
    def request_complements(
        self, actor: Actor, application_id: int, data: ComplementsRequestIn
    ) -> ComplementsRequested:
        with self.db.begin():
            request = complements.request_complements(self.db, actor, application_id, data)
            return self._requested(request)

    @rpc
    def extend_complements_deadline(
        self, actor: Actor, application_id: int, data: ComplementsExtensionIn
    ) -> ComplementsRequested:
        with self.db.begin():
            request = complements.extend_deadline(self.db, actor, application_id, data.due_date)
            return self._requested(request)

    @rpc
    def resume_admissibility(
        self, actor: Actor, application_id: int, data: ResumeIn
    ) -> ApplicationRow:
        with self.db.begin():
            application = complements.resume(self.db, actor, application_id, data.note)
            return views.application_row(application)

    @rpc
    def answer_complement_item(
        self, actor: Actor, application_id: int, item_id: int, data: ComplementTextIn
    ) -> ComplementProvided:
        with self.db.begin():
            item = complements.answer_item(self.db, actor, application_id, item_id, data.answer)
            return self._provided(item)

    @rpc
    def upload_complement_document(
        self, actor: Actor, application_id: int, item_id: int, data: ComplementFileIn
    ) -> ComplementProvided:
        content = _decode(data.content_b64)
        with self.db.begin():
            item = complements.upload_document(
                self.db, actor, application_id, item_id, data.filename, content
            )
            return self._provided(item)

    @rpc
    def sign_complement_item(
        self, actor: Actor, application_id: int, item_id: int
    ) -> ComplementProvided:
        with self.db.begin():
            item = complements.sign_item(self.db, actor, application_id, item_id)
            return self._provided(item)

    @rpc
    def answer_complements(
        self, actor: Actor, application_id: int, data: ComplementsAnswerIn
    ) -> ApplicationRow:
        with self.db.begin():
            application = complements.transmit_answer(self.db, actor, application_id, data.comment)
            return views.application_row(application)

    @rpc
    def decide_admissibility_in_bulk(
        self, actor: Actor, call_id: int, data: BulkDecisionIn
    ) -> BulkDecided:
        with self.db.begin():
            outcomes = review.decide_in_bulk(
                self.db, actor, call_id, data.application_ids, data.decision, data.comment
            )
        decided = sum(1 for o in outcomes if o["decided"])
        return {
            "decision": data.decision,
            "decision_label": data.decision.label,
            "decided": decided,
            "refused": len(outcomes) - decided,
            "outcomes": outcomes,
        }

    @rpc
    @cached_reply  # kept while the applications database is unchanged
    def applications_table(
        self, actor: Actor, call_id: int, query: TableQuery | None = None
    ) -> ApplicationsTable:
        filters = query or TableQuery()
        result = staff_table.table(self.db, actor, call_id, filters)
        return {
            "call": views.call_summary(result["call"]),
            "listing": _application_page(result["listing"]),
            "counts": result["counts"],
            "total": result["total"],
            "decisions": result["decisions"],
            "regions": result["regions"],
            "query": filters,
        }

    @rpc
    @cached_reply  # kept while the applications database is unchanged
    def list_applications(
        self, actor: Actor, call_id: int, query: TableQuery | None = None
    ) -> ApplicationPage:
        page = staff_table.applications_page(self.db, actor, call_id, query or TableQuery())
        return _application_page(page)

    # -- for other services (never exposed by the gateway) -----------------------------

    @rpc
    def grid_of_call(self, call_id: int) -> Grid:
        """For services, not users (the gateway never exposes it): the call's evaluation
        grid, which the scoring service snapshots when it opens the call's first evaluation.
        """
        call = self.db.get(Call, call_id)
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
    def network_ceracs(self, actor: Actor, query: NetworkQuery | None = None) -> NetworkView:
        filters = query or NetworkQuery()
        page = ceracs.network_page(self.db, actor, filters)
        return {
            "ceracs": reply(page, [ceracs.cerac_view(c, actor) for c in page["rows"]]),
            "areas": ceracs.areas_vocabulary(),
            "query": filters,
        }

    @rpc
    def get_cerac(self, actor: Actor, cerac_id: int) -> CeracPage:
        record = ceracs.get(self.db, actor, cerac_id)
        if ceracs.contacts_stale(record):
            organisation_id = record.organisation_id
            self.db.rollback()  # no transaction held open across the directory look-up
            contacts = self._contacts(organisation_id)
            if contacts is not None:
                with self.db.begin():
                    record = ceracs.get(self.db, actor, cerac_id)
                    record.contacts = contacts
                    record.contacts_refreshed_at = clock.now()
        view = ceracs.cerac_view(record, actor)
        view["can_request_support"] = actor.is_institution and not view["mine"]
        view["areas"] = ceracs.areas_vocabulary()
        return view

    @rpc
    def update_cerac_competences(
        self, actor: Actor, cerac_id: int, data: CompetencesIn
    ) -> CeracView:
        with self.db.begin():
            record = ceracs.update_competences(self.db, actor, cerac_id, data.areas, data.programs)
            return ceracs.cerac_view(record, actor)

    @rpc
    def request_support(
        self, actor: Actor, cerac_id: int, data: SupportRequestIn
    ) -> SupportRequestView:
        ceracs.get(self.db, actor, cerac_id)  # 404 before the directory look-up
        self.db.rollback()
        organisation = self.gateway.get_organisation(actor.organisation_id)
        with self.db.begin():
            request = support.request_support(self.db, actor, cerac_id, data, organisation["name"])
            return support.request_view(request)

    @rpc
    def support_requests(self, actor: Actor) -> SupportRequests:
        return support.requests_of(self.db, actor)

    @rpc
    def answer_support(
        self, actor: Actor, request_id: int, data: SupportAnswerIn
    ) -> SupportRequestView:
        with self.db.begin():
            return support.request_view(support.answer(self.db, actor, request_id, data))

    # -- reddition de comptes and special mandates ---------------------------------------

    @rpc
    @cached_reply  # kept while the applications database is unchanged
    def list_reports(self, actor: Actor, query: ReportQuery | None = None) -> ReportPage:
        return reporting.reports_page(self.db, actor, query or ReportQuery())

    @rpc
    @cached_reply  # kept while the applications database is unchanged
    def reporting_overview(
        self, actor: Actor, query: ReportQuery | None = None
    ) -> ReportingOverview:
        """The CERAC's reports and mandates, or (ministry) every report, filtered."""
        filters = query or ReportQuery()
        reports = reporting.reports_page(self.db, actor, filters)
        staff = actor.role in reporting.STAFF_ROLES
        mine = [] if staff else ceracs.ceracs_of_organisation(self.db, actor.organisation_id)
        return {
            "reports": reports,
            "mandates": [reporting.mandate_view(m) for m in mandates.list_mandates(self.db, actor)],
            "ceracs": [
                ceracs.cerac_view(c, actor)
                for c in (ceracs.search(self.db, actor) if staff else mine)
            ],
            "is_cerac": bool(mine),
            "is_staff": staff,
            "deadlines": [reporting.deadline_view(d) for d in reporting.deadlines(self.db)]
            if staff
            else [],
            "years": reporting.known_years(self.db) if staff else [],
            "status_labels": reporting.STATUS_LABELS,
            "query": filters,
        }

    @rpc
    def get_report(self, actor: Actor, report_id: int) -> ReportView:
        report = reporting.visible_report(self.db, actor, report_id)
        if report.status in reporting.EDITABLE:
            self.db.rollback()
            with self.db.begin():  # the support counts of the offer part, kept current
                report = reporting.visible_report(self.db, actor, report_id)
                reporting.refresh_prefilled(self.db, report)
                return reporting.report_view(self.db, actor, report)
        return reporting.report_view(self.db, actor, report)

    @rpc
    def save_report(self, actor: Actor, report_id: int, data: ReportDraftIn) -> ReportView:
        with self.db.begin():
            report = reporting.save_draft(self.db, actor, report_id, data)
            return reporting.report_view(self.db, actor, report)

    @rpc
    def upload_report_attachment(
        self, actor: Actor, report_id: int, data: ReportAttachmentIn
    ) -> ReportAttachment:
        content = _decode(data.content_b64)
        with self.db.begin():
            attachment = reporting.add_attachment(
                self.db, actor, report_id, data.section, data.filename, content
            )
            return reporting.attachment_view(attachment)

    @rpc
    def get_report_attachment(
        self, actor: Actor, report_id: int, attachment_id: int
    ) -> ReportAttachmentFile:
        attachment = reporting.get_attachment(self.db, actor, report_id, attachment_id)
        return {**reporting.attachment_view(attachment), "content_b64": _content(attachment)}

    @rpc
    def delete_report_attachment(self, actor: Actor, report_id: int, attachment_id: int) -> Deleted:
        with self.db.begin():
            reporting.delete_attachment(self.db, actor, report_id, attachment_id)
        return {"deleted": attachment_id}

    @rpc
    def submit_report(self, actor: Actor, report_id: int) -> ReportSubmitted:
        with self.db.begin():
            version = reporting.submit(self.db, actor, report_id)
            report = reporting.visible_report(self.db, actor, report_id)
            return {**reporting.report_summary(report), "version": reporting.version_view(version)}

    @rpc
    def review_report(self, actor: Actor, report_id: int, data: ReportReviewIn) -> ReportSubmitted:
        with self.db.begin():
            version = reporting.review(self.db, actor, report_id, data)
            report = reporting.visible_report(self.db, actor, report_id)
            return {**reporting.report_summary(report), "version": reporting.version_view(version)}

    @rpc
    def get_report_version(self, actor: Actor, report_id: int, number: int) -> VersionView:
        version = reporting.get_version(self.db, actor, report_id, number)
        report = reporting.visible_report(self.db, actor, report_id)
        return {
            "report": reporting.report_summary(report),
            **reporting.version_view(version),
            "content": version.content,
        }

    @rpc
    def set_report_deadline(self, actor: Actor, data: DeadlineIn) -> Deadline:
        with self.db.begin():
            deadline = reporting.set_deadline(
                self.db, actor, data.experimentation_year, data.due_date
            )
            return reporting.deadline_view(deadline)

    @rpc
    def assign_special_mandate(self, actor: Actor, data: SpecialMandateIn) -> MandateAssigned:
        with self.db.begin():
            mandate = mandates.assign(self.db, actor, data)
            report = next(
                r
                for r in reporting.list_reports(self.db, actor)
                if r.special_mandate_id == mandate.id
            )
            return {**reporting.mandate_view(mandate), "report_id": report.id}

    @rpc
    def reporting_figures(self, actor: Actor, as_of: OptionalDate = None) -> ReportingFigures:
        """For the ministry's dashboard: reports by status, late reports (CERAC, due date),
        support requests received and answered per CERAC."""
        return reporting.figures(self.db, actor, as_of)


def _application_page(page: dict) -> dict:
    return reply(page, [views.application_row(application) for (application,) in page["rows"]])
