"""nameko entrypoints of the billing service (thin: domain logic lives beside it).

Every entrypoint takes and returns what ``rac_shared/contracts/billing.py`` and
``rac_shared/contracts/funding.py`` declare: the arguments are validated before it runs
(``rac_shared.rpc``), the reply on its way out. User-facing RPCs take the ``actor`` first
and scope data by its organisation. The plans service calls the estimate RPCs
(``BillingEstimatesRpc`` and ``get_estimate``); plans' events drive invoicing (acceptance,
milestones, abandonments, cancellation); notifications fetches the PDFs it attaches
(``BillingDeliveryRpc``).
"""

from __future__ import annotations

import base64
import logging
from datetime import date

from nameko.rpc import RpcProxy
from nameko.timer import timer

from rac_shared.actor import Actor, OrganisationKind
from rac_shared.bus import OutboxRelayRunner
from rac_shared.clock import clock
from rac_shared.consumer import on_event
from rac_shared.contracts import (
    HealthReport,
    NextAction,
    ensure_ministry,
    health_report,
    optional_figures,
)
from rac_shared.contracts.billing import (
    AgingReport,
    BankFileIn,
    BillingFigures,
    BillingProfile,
    BillingTaskView,
    CostsIncurredIn,
    CostsRecorded,
    CostsView,
    CreditNotePage,
    CreditNoteQuery,
    CreditNoteView,
    DeliveredDocument,
    EmployerRef,
    EstimatePreview,
    EstimatePreviewIn,
    EstimateSnapshot,
    EstimateSpec,
    EstimateView,
    ImportReport,
    InvoicePage,
    InvoiceQuery,
    InvoicesPage,
    InvoiceView,
    IssuedInvoices,
    PaymentIn,
    PaymentRecorded,
    PlanBilling,
    PlanRef,
    ProfileIn,
    ScheduledInstallment,
    Statement,
    StatementPage,
)
from rac_shared.contracts.calendar import CalendarEvent, CalendarQuery, window
from rac_shared.contracts.funding import (
    AllocationIn,
    AllocationListPage,
    AllocationPage,
    AllocationQuery,
    AllocationView,
    DisbursementPaymentIn,
    DisbursementView,
    FiscalYear,
    FundingFigures,
    FundingOverview,
    FundingStatement,
    ProjectDecisionIn,
    ProjectIn,
    ProjectPage,
    ProjectView,
    ScheduleIn,
)
from rac_shared.contracts.scoring import CsvReply, FileReply
from rac_shared.db import Database
from rac_shared.errors import DomainError, invalid, not_found
from rac_shared.events import (
    CeracDesignated,
    CeracReportAccepted,
    PlanAccepted,
    PlanAnonymised,
    PlanCancelled,
    PlanCandidateAbandoned,
    PlanIssued,
    PlanMilestoneReached,
)
from rac_shared.logs import CorrelationId
from rac_shared.outbox import first_time
from rac_shared.reply_cache import cached_reply
from rac_shared.rpc import rpc
from rac_shared.scheduler import JobScheduler
from services.billing import (
    access,
    agenda,
    cancellation,
    documents,
    estimates,
    funding,
    invoicing,
    payments,
    privacy,
    reports,
    schedule,
    settlements,
    tasks,
    views,
)
from services.billing.funding import views as funding_views
from services.billing.jobs import JOBS
from services.billing.models import Base, CreditNote, Invoice, Organisation

log = logging.getLogger(__name__)

INSTITUTION_KINDS = {OrganisationKind.CEGEP.value, OrganisationKind.SCHOOL_SERVICE_CENTRE.value}
MAX_BATCHES_PER_REQUEST = 25


def _file(filename: str, content: bytes, mime: str = "application/pdf") -> dict:
    return {
        "filename": filename,
        "mime": mime,
        "content_b64": base64.b64encode(content).decode("ascii"),
    }


class BillingService:
    name = "billing"

    db = Database(name, Base.metadata)
    relay = OutboxRelayRunner(name, Base.metadata)
    scheduler = JobScheduler(name, Base.metadata, JOBS)
    correlation_id = CorrelationId()
    gateway = RpcProxy("gateway")

    @rpc
    def health(self) -> HealthReport:
        return health_report(self.name, self.db)

    @rpc
    def network_figures(
        self, actor: Actor, fiscal_year: FiscalYear | None = None
    ) -> BillingFigures:
        """The ministry dashboard's figures kept here (aggregates only, ministry only), with
        the funding figures, so that the dashboard asks billing once per page."""
        from services.billing import figures

        ensure_ministry(actor)
        result = figures.network_figures(self.db)
        self.db.rollback()  # end the read; funding_figures opens its own transaction
        result["funding"] = optional_figures(
            self, "funding_figures", actor, fiscal_year=fiscal_year
        )
        return result

    @rpc
    def calendar(self, actor: Actor, query: CalendarQuery) -> list[CalendarEvent]:
        with self.db.begin():
            return window(agenda.calendar_events(self.db, actor, query), query)

    @rpc
    def home_summary(self, actor: Actor) -> list[NextAction]:
        """Next actions: overdue invoices and installments to invoice (institutions),
        invoices to pay (employers)."""
        return reports.home_summary(self.db, actor)

    # -- estimates (called by the plans service) --------------------------------------

    def _parties(self, plan: PlanRef) -> dict:
        try:
            institution = self.gateway.get_organisation(plan.institution_id)
            employer = self.gateway.get_organisation(plan.employer_id)
        except DomainError as exc:
            if exc.code == "not_found":
                raise invalid("Une des organisations du plan est inconnue de l'annuaire.") from None
            raise
        if institution["kind"] not in INSTITUTION_KINDS:
            raise invalid("L'organisation qui propose le plan n'est pas un établissement.")
        if employer["kind"] != OrganisationKind.EMPLOYER.value:
            raise invalid(
                "L'organisation partenaire du plan n'est pas une organisation employeuse."
            )
        return {"institution": institution, "employer": employer}

    @rpc
    def save_estimate(self, actor: Actor, plan: PlanRef, estimate: EstimateSpec) -> EstimateView:
        estimates.ensure_can_edit(actor, plan.institution_id)
        parties = self._parties(plan)
        with self.db.begin():
            saved = estimates.save_estimate(self.db, actor, plan, estimate, parties)
            estimates.publish_saved(self.db, saved)
            return estimates.estimate_view(self.db, saved)

    @rpc
    def get_estimate(self, actor: Actor, plan_id: int, version: int) -> EstimateView | None:
        """None when there is none, or the actor may not read it (the plans service asks
        whether a draft has one)."""
        estimate = estimates.find(self.db, plan_id, version)
        if estimate is None or not estimates.can_read(
            actor, estimate.institution_id, estimate.employer_id
        ):
            return None
        return estimates.estimate_view(self.db, estimate)

    @rpc
    def freeze_estimate(self, actor: Actor, plan_id: int, version: int) -> EstimateView:
        with self.db.begin():
            estimate = estimates.freeze_estimate(self.db, actor, plan_id, version)
            return estimates.estimate_view(self.db, estimate)

    @rpc
    def estimate_html(self, actor: Actor, plan_id: int, version: int) -> str:
        estimate = estimates.visible_estimate(self.db, actor, plan_id, version)
        return estimates.estimate_html(self.db, estimate)

    @rpc
    def estimate_snapshot(self, actor: Actor, plan_id: int, version: int) -> EstimateSnapshot:
        """What ``estimate.saved`` carried: the plans service keeps it to issue the version."""
        estimate = estimates.visible_estimate(self.db, actor, plan_id, version)
        return estimates.snapshot(self.db, estimate)

    @rpc
    def preview_estimate(self, actor: Actor, data: EstimatePreviewIn) -> EstimatePreview:
        """Totals and installments of an estimate being edited, nothing saved."""
        return estimates.preview(self.db, data.estimate, data.candidate_count)

    @rpc
    def plan_billing(self, actor: Actor, plan_id: int) -> PlanBilling:
        """Installments and invoices of one plan (for the plan's pages)."""
        return reports.plan_billing(self.db, actor, plan_id)

    # -- events from plans -------------------------------------------------------------

    @on_event(PlanIssued)
    def on_plan_issued(self, envelope, payload: PlanIssued) -> None:
        """The version is issued with the estimate whose hash the event carries: frozen."""
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "billing.on_plan_issued"):
                estimates.freeze_issued(
                    self.db, payload.plan_id, payload.version, payload.estimate_hash
                )

    @on_event(PlanAccepted)
    def on_plan_accepted(self, envelope, payload: PlanAccepted) -> None:
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "billing.on_plan_accepted"):
                schedule.accept_plan(self.db, payload)

    @on_event(PlanMilestoneReached)
    def on_plan_milestone_reached(self, envelope, payload: PlanMilestoneReached) -> None:
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "billing.on_plan_milestone_reached"):
                schedule.milestone_reached(self.db, payload)

    @on_event(PlanCancelled)
    def on_plan_cancelled(self, envelope, payload: PlanCancelled) -> None:
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "billing.on_plan_cancelled"):
                settlements.cancel_plan(self.db, payload)

    @on_event(PlanAnonymised)
    def on_plan_anonymised(self, envelope, payload: PlanAnonymised) -> None:
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "billing.on_plan_anonymised"):
                privacy.anonymise_plan(self.db, payload)

    @on_event(PlanCandidateAbandoned)
    def on_candidate_abandoned(self, envelope, payload: PlanCandidateAbandoned) -> None:
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "billing.on_candidate_abandoned"):
                settlements.record_abandonment(self.db, payload)

    # -- invoices ------------------------------------------------------------------------

    @rpc
    @cached_reply  # kept while the billing database is unchanged
    def list_invoices(self, actor: Actor, query: InvoiceQuery | None = None) -> InvoicePage:
        return reports.list_invoices(self.db, actor, query or InvoiceQuery())

    @rpc
    @cached_reply  # kept while the billing database is unchanged
    def list_credit_notes(
        self, actor: Actor, query: CreditNoteQuery | None = None
    ) -> CreditNotePage:
        return reports.list_credit_notes(self.db, actor, query or CreditNoteQuery())

    @rpc
    def get_invoice(self, actor: Actor, invoice_id: int) -> InvoiceView:
        return views.invoice_view(self.db, access.visible_invoice(self.db, actor, invoice_id))

    @rpc
    def invoice_pdf(self, actor: Actor, invoice_id: int) -> FileReply:
        invoice = access.visible_invoice(self.db, actor, invoice_id)
        return _file(*documents.render(self.db, "invoice", invoice))

    @rpc
    def invoice_pdf_for_delivery(self, invoice_id: int) -> DeliveredDocument:
        """The PDF to attach to the ``invoice.issued`` e-mail (service to service)."""
        invoice = self.db.get(Invoice, invoice_id)
        if invoice is None:
            raise not_found("Facture introuvable.")
        return self._for_delivery("invoice", invoice)

    def _for_delivery(self, kind: str, document) -> dict:
        """The shape notifications reads for every attached document."""
        filename, content = documents.render(self.db, kind, document)
        return {
            "filename": filename,
            "mime": "application/pdf",
            "content_base64": base64.b64encode(content).decode("ascii"),
            "employer_id": document.employer_id,
            "institution_id": document.institution_id,
        }

    @rpc
    def get_credit_note(self, actor: Actor, credit_note_id: int) -> CreditNoteView:
        credit = access.visible_credit_note(self.db, actor, credit_note_id)
        return views.credit_note_view(self.db, credit)

    @rpc
    def credit_note_pdf(self, actor: Actor, credit_note_id: int) -> FileReply:
        credit = access.visible_credit_note(self.db, actor, credit_note_id)
        return _file(*documents.render(self.db, "credit_note", credit))

    @rpc
    def credit_note_pdf_for_delivery(self, credit_note_id: int) -> DeliveredDocument:
        """The PDF to attach to the ``credit_note.issued`` e-mail (service to service)."""
        credit = self.db.get(CreditNote, credit_note_id)
        if credit is None:
            raise not_found("Note de crédit introuvable.")
        return self._for_delivery("credit_note", credit)

    # -- costs incurred on a cancelled plan (annex A, 1 d) ---------------------------------

    @rpc
    def cancellation_costs(self, actor: Actor, plan_id: int) -> CostsView:
        """A cancelled plan's costs incurred: what may be recorded, or what was, with its
        invoice (the institution of the plan only)."""
        return cancellation.costs_view(self.db, actor, plan_id)

    @rpc
    def record_cancellation_costs(
        self, actor: Actor, plan_id: int, data: CostsIncurredIn
    ) -> CostsRecorded:
        """Record the costs incurred since the last billed installment and issue the final
        invoice; the same quantities again return it (``created`` false), never a second."""
        with self.db.begin():
            _, created = cancellation.record_costs(self.db, actor, plan_id, data)
        return {**cancellation.costs_view(self.db, actor, plan_id), "created": created}

    @rpc
    def issue_due_invoices(self, actor: Actor) -> IssuedInvoices:
        """The institution invoices its installments due today (same path as the job)."""
        access.ensure_institution(actor)
        today = clock.today()
        issued = []
        for _ in range(MAX_BATCHES_PER_REQUEST):
            with self.db.begin():
                batch = invoicing.issue_due_batch(
                    self.db, today, 200, institution_id=actor.organisation_id
                )
                issued += [invoice.number for invoice in batch]
            if not batch:
                break
        return {"issued": len(issued), "numbers": issued}

    @rpc
    def request_invoicing(self, actor: Actor) -> BillingTaskView:
        """The « facturer » button: the run is done in the background (``run_tasks``)."""
        with self.db.begin():
            return tasks.view(tasks.request(self.db, actor, tasks.INVOICING))

    @rpc
    def request_bank_import(
        self, actor: Actor, data: BankFileIn, filename: str = ""
    ) -> BillingTaskView:
        """A bank file imported in the background (``run_tasks``), all or nothing."""
        with self.db.begin():
            task = tasks.request(self.db, actor, tasks.BANK_IMPORT, data.content, filename[:255])
            return tasks.view(task)

    @rpc
    def billing_task(self, actor: Actor, task_id: int) -> BillingTaskView:
        with self.db.begin():
            return tasks.view(tasks.visible(self.db, actor, task_id))

    @rpc
    def billing_tasks(self, actor: Actor) -> list[BillingTaskView]:
        """The institution's recent invoicing runs and imports, the latest first."""
        with self.db.begin():
            return [tasks.view(task) for task in tasks.history(self.db, actor)]

    @timer(interval=1)
    def run_tasks(self) -> int:
        """The background work people asked for (invoicing runs, imports), a few per tick."""
        done = 0
        while done < 5 and tasks.run_one(self.db):
            done += 1
        return done

    @rpc
    def scheduled_installments(self, actor: Actor) -> list[ScheduledInstallment]:
        return reports.scheduled_installments(self.db, actor)

    # -- payments ------------------------------------------------------------------------

    @rpc
    def record_payment(self, actor: Actor, invoice_id: int, data: PaymentIn) -> PaymentRecorded:
        with self.db.begin():
            row = payments.record_payment(self.db, actor, invoice_id, data)
            invoice = access.visible_invoice(self.db, actor, row.invoice_id)
            return {"payment": views.payment_view(row), "invoice": views.invoice_summary(invoice)}

    @rpc
    def import_payments(self, actor: Actor, data: BankFileIn) -> ImportReport:
        with self.db.begin():
            return payments.import_payments(self.db, actor, data.content)

    # -- reports -------------------------------------------------------------------------

    @rpc
    def statement(self, actor: Actor, employer_id: int | None = None) -> Statement:
        return reports.statement(self.db, actor, employer_id)

    @rpc
    def statement_csv(self, actor: Actor, employer_id: int | None = None) -> CsvReply:
        report = reports.statement(self.db, actor, employer_id)
        return {
            "filename": f"releve-{employer_id or 'toutes-les-organisations'}.csv",
            "content": reports.statement_csv(report),
        }

    @rpc
    def statement_employers(self, actor: Actor) -> list[EmployerRef]:
        return reports.statement_employers(self.db, actor)

    # -- pages: what one page shows, in one call (one RPC per service per page) -------------

    @rpc
    @cached_reply  # kept while the billing database is unchanged
    def invoices_page(self, actor: Actor, query: InvoiceQuery | None = None) -> InvoicesPage:
        """The invoice list, and for institutions the installments to invoice, the
        employers to filter by and the cancelled plans."""
        page = {
            "listing": reports.list_invoices(self.db, actor, query or InvoiceQuery()),
            "scheduled": [],
            "employers": [],
            "cancelled_plans": [],
        }
        if actor.is_institution:
            page["scheduled"] = reports.scheduled_installments(self.db, actor)
            page["employers"] = reports.statement_employers(self.db, actor)
            page["cancelled_plans"] = cancellation.cancelled_plans(self.db, actor)
        return page

    @rpc
    def statement_page(self, actor: Actor, employer_id: int | None = None) -> StatementPage:
        return {
            "employers": reports.statement_employers(self.db, actor),
            "statement": reports.statement(self.db, actor, employer_id),
        }

    @rpc
    def aging(self, actor: Actor, as_of: date | None = None) -> AgingReport:
        return reports.aging(self.db, actor, as_of)

    @rpc
    def aging_csv(self, actor: Actor, as_of: date | None = None) -> CsvReply:
        report = reports.aging(self.db, actor, as_of)
        return {
            "filename": f"anciennete-des-comptes-{report['as_of']}.csv",
            "content": reports.aging_csv(report),
        }

    # -- the institution's billing profile --------------------------------------------------

    @rpc
    def get_profile(self, actor: Actor) -> BillingProfile:
        access.ensure_institution(actor)
        organisation = self.db.get(Organisation, actor.organisation_id)
        return reports.profile_view(organisation, actor.organisation_id)

    @rpc
    def update_profile(self, actor: Actor, data: ProfileIn) -> BillingProfile:
        access.ensure_institution(actor)
        with self.db.begin():
            organisation = self.db.get(Organisation, actor.organisation_id)
            if organisation is None:
                view = self.gateway.get_organisation(actor.organisation_id)
                organisation = estimates.upsert_organisation(self.db, view)
            organisation.gst_number = data.gst_number or None
            organisation.qst_number = data.qst_number or None
            organisation.payment_instructions = data.payment_instructions or None
            organisation.updated_at = clock.now()
            return reports.profile_view(organisation, actor.organisation_id)

    # -- funding of designated CERACs (rac_shared/contracts/funding.py) ----------------------

    @on_event(CeracDesignated)
    def on_cerac_designated(self, envelope, payload: CeracDesignated) -> None:
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "billing.on_cerac_designated"):
                funding.register_cerac(self.db, payload)

    @on_event(CeracReportAccepted)
    def on_cerac_report_accepted(self, envelope, payload: CeracReportAccepted) -> None:
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "billing.on_cerac_report_accepted"):
                funding.report_accepted(self.db, payload)

    @rpc
    def funding_overview(
        self, actor: Actor, fiscal_year: FiscalYear | None = None
    ) -> FundingOverview:
        """The CERACs the actor sees (all for the ministry, its own for a CERAC) with their
        funding of one fiscal year, and the projects to decide (ministry) or its projects."""
        return funding_views.overview(self.db, actor, fiscal_year)

    @rpc
    def list_funding_allocations(
        self, actor: Actor, query: AllocationQuery | None = None
    ) -> AllocationListPage:
        """A page of operating allocations (all for the ministry, its own for a CERAC)."""
        return funding_views.list_allocations(self.db, actor, query or AllocationQuery())

    @rpc
    def funding_figures(
        self, actor: Actor, fiscal_year: FiscalYear | None = None
    ) -> FundingFigures:
        """Ministry dashboard: cap, operating allocated, projects approved, paid, remaining,
        per CERAC and in total, for one fiscal year (the current one by default)."""
        return funding_views.figures(self.db, actor, fiscal_year)

    @rpc
    def funding_statement(
        self, actor: Actor, cerac_id: int, fiscal_year: FiscalYear | None = None
    ) -> FundingStatement:
        return funding_views.statement(self.db, actor, cerac_id, fiscal_year)

    @rpc
    def funding_statement_csv(
        self, actor: Actor, cerac_id: int, fiscal_year: FiscalYear | None = None
    ) -> CsvReply:
        report = funding_views.statement(self.db, actor, cerac_id, fiscal_year)
        return {
            "filename": f"financement-cerac-{cerac_id}-{fiscal_year or 'exercice-courant'}.csv",
            "content": funding_views.statement_csv(report),
        }

    @rpc
    def funding_statement_pdf(
        self, actor: Actor, cerac_id: int, fiscal_year: FiscalYear | None = None
    ) -> FileReply:
        report = funding_views.statement(self.db, actor, cerac_id, fiscal_year)
        self.db.rollback()  # end the read transaction before the slow part
        return _file(*funding_views.statement_pdf(report))

    @rpc
    def record_funding_allocation(
        self, actor: Actor, cerac_id: int, data: AllocationIn
    ) -> AllocationView:
        with self.db.begin():
            row = funding.record_allocation(self.db, actor, cerac_id, data)
            return funding_views.allocation_view(row)

    @rpc
    def get_funding_allocation(self, actor: Actor, allocation_id: int) -> AllocationPage:
        return funding_views.get_allocation(self.db, actor, allocation_id)

    @rpc
    def submit_funding_project(self, actor: Actor, data: ProjectIn) -> ProjectView:
        with self.db.begin():
            row = funding.submit_project(self.db, actor, data)
            return funding_views.project_view(row)

    @rpc
    def get_funding_project(self, actor: Actor, project_id: int) -> ProjectPage:
        return funding_views.get_project(self.db, actor, project_id)

    @rpc
    def decide_funding_project(
        self, actor: Actor, project_id: int, data: ProjectDecisionIn
    ) -> ProjectView:
        with self.db.begin():
            row = funding.decide_project(self.db, actor, project_id, data)
            return funding_views.project_view(row)

    @rpc
    def update_allocation_schedule(
        self, actor: Actor, allocation_id: int, data: ScheduleIn
    ) -> AllocationView:
        """Rewrite the unpaid installments of an allocation: with the paid ones they must
        add up to the allocated amount."""
        with self.db.begin():
            owner = funding.replace_schedule(self.db, actor, "allocation", allocation_id, data)
            return funding_views.allocation_view(owner)

    @rpc
    def update_project_schedule(
        self, actor: Actor, project_id: int, data: ScheduleIn
    ) -> ProjectView:
        """Rewrite the unpaid installments of an approved project (same rule)."""
        with self.db.begin():
            owner = funding.replace_schedule(self.db, actor, "project", project_id, data)
            return funding_views.project_view(owner)

    @rpc
    def pay_funding_disbursement(
        self, actor: Actor, disbursement_id: int, data: DisbursementPaymentIn
    ) -> DisbursementView:
        with self.db.begin():
            row = funding.pay_disbursement(self.db, actor, disbursement_id, data)
            return funding_views.disbursement_view(row, "")
