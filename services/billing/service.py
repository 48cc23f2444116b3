"""nameko entrypoints of the billing service (thin: domain logic lives beside it).

Every user-facing RPC takes the ``actor`` first and scopes data by its organisation. The
plans service calls the estimate RPCs (contract in ``docs``: save, get, freeze, html);
plans' events drive invoicing (acceptance, milestones, abandonments, cancellation).
"""

from __future__ import annotations

import base64
import logging
from datetime import date

from nameko.rpc import RpcProxy

from rac_shared.actor import Actor, OrganisationKind
from rac_shared.bus import OutboxRelayRunner
from rac_shared.clock import clock
from rac_shared.consumer import on_event
from rac_shared.contracts import ensure_ministry, health_report, optional_figures
from rac_shared.db import Database
from rac_shared.errors import DomainError, invalid, not_found
from rac_shared.events import (
    CeracDesignated,
    CeracReportAccepted,
    PlanAccepted,
    PlanCancelled,
    PlanCandidateAbandoned,
    PlanMilestoneReached,
)
from rac_shared.logs import CorrelationId
from rac_shared.outbox import first_time
from rac_shared.rpc import rpc
from rac_shared.scheduler import JobScheduler
from services.billing import (
    access,
    cancellation,
    documents,
    estimates,
    funding,
    funding_views,
    invoicing,
    payments,
    reports,
    views,
)
from services.billing.jobs import JOBS
from services.billing.models import Base, CreditNote, Invoice, Organisation
from services.billing.schemas import (
    AllocationIn,
    CostsIncurredIn,
    DecisionIn,
    DisbursementPaymentIn,
    EstimateSpec,
    InvoiceQuery,
    PaymentIn,
    PlanRef,
    ProfileIn,
    ProjectIn,
    ScheduleIn,
    parse,
)

log = logging.getLogger(__name__)

INSTITUTION_KINDS = {OrganisationKind.CEGEP.value, OrganisationKind.SCHOOL_SERVICE_CENTRE.value}
MAX_BATCHES_PER_REQUEST = 25


def _as_of(value) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise invalid("Une date AAAA-MM-JJ est attendue.", {"as_of": "Date invalide."}) from None


class BillingService:
    name = "billing"

    db = Database(name, Base.metadata)
    relay = OutboxRelayRunner(name, Base.metadata)
    scheduler = JobScheduler(name, Base.metadata, JOBS)
    correlation_id = CorrelationId()
    gateway = RpcProxy("gateway")

    @rpc
    def health(self) -> dict:
        return health_report(self.name, self.db)

    @rpc
    def network_figures(self, actor: dict, fiscal_year: str | None = None) -> dict:
        """The ministry dashboard's figures kept here (aggregates only, ministry only), with
        the funding figures, so that the dashboard asks billing once per page."""
        from services.billing import figures

        ensure_ministry(Actor.model_validate(actor))
        result = figures.network_figures(self.db)
        self.db.rollback()  # end the read; funding_figures opens its own transaction
        result["funding"] = optional_figures(
            self, "funding_figures", actor, fiscal_year=fiscal_year
        )
        return result

    @rpc
    def home_summary(self, actor: dict) -> list[dict]:
        """Next actions: overdue invoices and installments to invoice (institutions),
        invoices to pay (employers)."""
        return reports.home_summary(self.db, Actor.model_validate(actor))

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
    def save_estimate(self, actor: dict, plan: dict, estimate: dict) -> dict:
        user = Actor.model_validate(actor)
        plan_ref = parse(PlanRef, plan)
        spec = parse(EstimateSpec, estimate)
        estimates.ensure_can_edit(user, plan_ref.institution_id)
        parties = self._parties(plan_ref)
        with self.db.begin():
            saved = estimates.save_estimate(self.db, user, plan_ref, spec, parties)
            return estimates.estimate_view(self.db, saved)

    @rpc
    def get_estimate(self, actor: dict, plan_id: int, version: int) -> dict | None:
        user = Actor.model_validate(actor)
        estimate = estimates.find(self.db, int(plan_id), int(version))
        if estimate is None or not estimates.can_read(
            user, estimate.institution_id, estimate.employer_id
        ):
            return None
        return estimates.estimate_view(self.db, estimate)

    @rpc
    def freeze_estimate(self, actor: dict, plan_id: int, version: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            estimate = estimates.freeze_estimate(self.db, user, int(plan_id), int(version))
            return estimates.estimate_view(self.db, estimate)

    @rpc
    def estimate_html(self, actor: dict, plan_id: int, version: int) -> str:
        user = Actor.model_validate(actor)
        estimate = estimates.visible_estimate(self.db, user, int(plan_id), int(version))
        return estimates.estimate_html(self.db, estimate)

    @rpc
    def preview_estimate(self, actor: dict, estimate: dict, candidate_count: int = 0) -> dict:
        """Totals and installments of an estimate being edited, nothing saved."""
        Actor.model_validate(actor)
        spec = parse(EstimateSpec, estimate)
        if not isinstance(candidate_count, int) or not 0 <= candidate_count <= 10000:
            raise invalid("Le nombre de candidats-travailleurs est invalide.")
        return estimates.preview(self.db, spec, candidate_count)

    @rpc
    def plan_billing(self, actor: dict, plan_id: int) -> dict:
        """Installments and invoices of one plan (for the plan's pages)."""
        user = Actor.model_validate(actor)
        return reports.plan_billing(self.db, user, int(plan_id))

    # -- events from plans -------------------------------------------------------------

    @on_event(PlanAccepted)
    def on_plan_accepted(self, envelope, payload: PlanAccepted) -> None:
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "billing.on_plan_accepted"):
                invoicing.accept_plan(self.db, payload)

    @on_event(PlanMilestoneReached)
    def on_plan_milestone_reached(self, envelope, payload: PlanMilestoneReached) -> None:
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "billing.on_plan_milestone_reached"):
                invoicing.milestone_reached(self.db, payload)

    @on_event(PlanCancelled)
    def on_plan_cancelled(self, envelope, payload: PlanCancelled) -> None:
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "billing.on_plan_cancelled"):
                invoicing.cancel_plan(self.db, payload)

    @on_event(PlanCandidateAbandoned)
    def on_candidate_abandoned(self, envelope, payload: PlanCandidateAbandoned) -> None:
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "billing.on_candidate_abandoned"):
                invoicing.record_abandonment(self.db, payload)

    # -- invoices ------------------------------------------------------------------------

    @rpc
    def list_invoices(self, actor: dict, query: dict | None = None) -> dict:
        user = Actor.model_validate(actor)
        return reports.list_invoices(self.db, user, parse(InvoiceQuery, query or {}))

    @rpc
    def get_invoice(self, actor: dict, invoice_id: int) -> dict:
        user = Actor.model_validate(actor)
        return views.invoice_view(self.db, access.visible_invoice(self.db, user, int(invoice_id)))

    @rpc
    def invoice_pdf(self, actor: dict, invoice_id: int) -> dict:
        user = Actor.model_validate(actor)
        invoice = access.visible_invoice(self.db, user, int(invoice_id))
        filename, content = documents.render(self.db, "invoice", invoice)
        return {"filename": filename, "content_b64": base64.b64encode(content).decode("ascii")}

    @rpc
    def invoice_pdf_for_delivery(self, invoice_id: int) -> dict:
        """The PDF to attach to the ``invoice.issued`` e-mail (service to service)."""
        invoice = self.db.get(Invoice, int(invoice_id))
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
    def get_credit_note(self, actor: dict, credit_note_id: int) -> dict:
        user = Actor.model_validate(actor)
        credit = access.visible_credit_note(self.db, user, int(credit_note_id))
        return views.credit_note_view(self.db, credit)

    @rpc
    def credit_note_pdf(self, actor: dict, credit_note_id: int) -> dict:
        user = Actor.model_validate(actor)
        credit = access.visible_credit_note(self.db, user, int(credit_note_id))
        filename, content = documents.render(self.db, "credit_note", credit)
        return {"filename": filename, "content_b64": base64.b64encode(content).decode("ascii")}

    @rpc
    def credit_note_pdf_for_delivery(self, credit_note_id: int) -> dict:
        """The PDF to attach to the ``credit_note.issued`` e-mail (service to service)."""
        credit = self.db.get(CreditNote, int(credit_note_id))
        if credit is None:
            raise not_found("Note de crédit introuvable.")
        return self._for_delivery("credit_note", credit)

    # -- costs incurred on a cancelled plan (annex A, 1 d) ---------------------------------

    @rpc
    def cancellation_costs(self, actor: dict, plan_id: int) -> dict:
        """A cancelled plan's costs incurred: what may be recorded, or what was, with its
        invoice (the institution of the plan only)."""
        user = Actor.model_validate(actor)
        return cancellation.costs_view(self.db, user, int(plan_id))

    @rpc
    def record_cancellation_costs(self, actor: dict, plan_id: int, costs: dict) -> dict:
        """Record the costs incurred since the last billed installment and issue the final
        invoice; the same quantities again return it (``created`` false), never a second."""
        user = Actor.model_validate(actor)
        data = parse(CostsIncurredIn, costs)
        with self.db.begin():
            _, created = cancellation.record_costs(self.db, user, int(plan_id), data)
        return {**cancellation.costs_view(self.db, user, int(plan_id)), "created": created}

    @rpc
    def issue_due_invoices(self, actor: dict) -> dict:
        """The institution invoices its installments due today (same path as the job)."""
        user = Actor.model_validate(actor)
        access.ensure_institution(user)
        today = clock.today()
        issued = []
        for _ in range(MAX_BATCHES_PER_REQUEST):
            with self.db.begin():
                batch = invoicing.issue_due_batch(
                    self.db, today, 200, institution_id=user.organisation_id
                )
                issued += [invoice.number for invoice in batch]
            if not batch:
                break
        return {"issued": len(issued), "numbers": issued}

    @rpc
    def scheduled_installments(self, actor: dict) -> list[dict]:
        return reports.scheduled_installments(self.db, Actor.model_validate(actor))

    # -- payments ------------------------------------------------------------------------

    @rpc
    def record_payment(self, actor: dict, invoice_id: int, payment: dict) -> dict:
        user = Actor.model_validate(actor)
        data = parse(PaymentIn, payment)
        with self.db.begin():
            row = payments.record_payment(self.db, user, int(invoice_id), data)
            invoice = access.visible_invoice(self.db, user, row.invoice_id)
            return {"payment": views.payment_view(row), "invoice": views.invoice_summary(invoice)}

    @rpc
    def import_payments(self, actor: dict, content: str) -> dict:
        user = Actor.model_validate(actor)
        if not isinstance(content, str):
            raise invalid("Le contenu du fichier est attendu en texte.")
        with self.db.begin():
            return payments.import_payments(self.db, user, content)

    # -- reports -------------------------------------------------------------------------

    @rpc
    def statement(self, actor: dict, employer_id: int | None = None) -> dict:
        user = Actor.model_validate(actor)
        return reports.statement(self.db, user, int(employer_id) if employer_id else None)

    @rpc
    def statement_csv(self, actor: dict, employer_id: int | None = None) -> str:
        user = Actor.model_validate(actor)
        report = reports.statement(self.db, user, int(employer_id) if employer_id else None)
        return reports.statement_csv(report)

    @rpc
    def statement_employers(self, actor: dict) -> list[dict]:
        return reports.statement_employers(self.db, Actor.model_validate(actor))

    # -- pages: what one page shows, in one call (one RPC per service per page) -------------

    @rpc
    def invoices_page(self, actor: dict, query: dict | None = None) -> dict:
        """The invoice list, and for institutions the installments to invoice and the
        employers to filter by."""
        user = Actor.model_validate(actor)
        page = {
            "list": reports.list_invoices(self.db, user, parse(InvoiceQuery, query or {})),
            "scheduled": [],
            "employers": [],
            "cancelled_plans": [],
        }
        if user.is_institution:
            page["scheduled"] = reports.scheduled_installments(self.db, user)
            page["employers"] = reports.statement_employers(self.db, user)
            page["cancelled_plans"] = cancellation.cancelled_plans(self.db, user)
        return page

    @rpc
    def statement_page(self, actor: dict, employer_id: int | None = None) -> dict:
        user = Actor.model_validate(actor)
        employer = int(employer_id) if employer_id else None
        return {
            "employers": reports.statement_employers(self.db, user),
            "statement": reports.statement(self.db, user, employer),
        }

    @rpc
    def aging(self, actor: dict, as_of: str | None = None) -> dict:
        return reports.aging(self.db, Actor.model_validate(actor), _as_of(as_of))

    @rpc
    def aging_csv(self, actor: dict, as_of: str | None = None) -> str:
        report = reports.aging(self.db, Actor.model_validate(actor), _as_of(as_of))
        return reports.aging_csv(report)

    # -- the institution's billing profile --------------------------------------------------

    @rpc
    def get_profile(self, actor: dict) -> dict:
        user = Actor.model_validate(actor)
        access.ensure_institution(user)
        organisation = self.db.get(Organisation, user.organisation_id)
        return reports.profile_view(organisation, user.organisation_id)

    @rpc
    def update_profile(self, actor: dict, data: dict) -> dict:
        user = Actor.model_validate(actor)
        access.ensure_institution(user)
        profile = parse(ProfileIn, data)
        with self.db.begin():
            organisation = self.db.get(Organisation, user.organisation_id)
            if organisation is None:
                view = self.gateway.get_organisation(user.organisation_id)
                organisation = estimates.upsert_organisation(self.db, view)
            organisation.gst_number = profile.gst_number or None
            organisation.qst_number = profile.qst_number or None
            organisation.payment_instructions = profile.payment_instructions or None
            organisation.updated_at = clock.now()
            return reports.profile_view(organisation, user.organisation_id)

    # -- funding of designated CERACs (issue 9) -----------------------------------------------

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
    def funding_overview(self, actor: dict, fiscal_year: str | None = None) -> dict:
        """The CERACs the actor sees (all for the ministry, its own for a CERAC) with their
        funding of one fiscal year, and the projects to decide (ministry) or its projects."""
        user = Actor.model_validate(actor)
        return funding_views.overview(self.db, user, _text(fiscal_year))

    @rpc
    def funding_figures(self, actor: dict, fiscal_year: str | None = None) -> dict:
        """Ministry dashboard: cap, operating allocated, projects approved, paid, remaining,
        per CERAC and in total, for one fiscal year (the current one by default)."""
        user = Actor.model_validate(actor)
        return funding_views.figures(self.db, user, _text(fiscal_year))

    @rpc
    def funding_statement(self, actor: dict, cerac_id: int, fiscal_year: str | None = None) -> dict:
        user = Actor.model_validate(actor)
        return funding_views.statement(self.db, user, int(cerac_id), _text(fiscal_year))

    @rpc
    def funding_statement_csv(
        self, actor: dict, cerac_id: int, fiscal_year: str | None = None
    ) -> str:
        user = Actor.model_validate(actor)
        report = funding_views.statement(self.db, user, int(cerac_id), _text(fiscal_year))
        return funding_views.statement_csv(report)

    @rpc
    def funding_statement_pdf(
        self, actor: dict, cerac_id: int, fiscal_year: str | None = None
    ) -> dict:
        user = Actor.model_validate(actor)
        report = funding_views.statement(self.db, user, int(cerac_id), _text(fiscal_year))
        self.db.rollback()  # end the read transaction before the slow part
        filename, content = funding_views.statement_pdf(report)
        return {"filename": filename, "content_b64": base64.b64encode(content).decode("ascii")}

    @rpc
    def record_funding_allocation(self, actor: dict, cerac_id: int, allocation: dict) -> dict:
        user = Actor.model_validate(actor)
        data = parse(AllocationIn, allocation)
        with self.db.begin():
            row = funding.record_allocation(self.db, user, int(cerac_id), data)
            return funding_views.allocation_view(row)

    @rpc
    def get_funding_allocation(self, actor: dict, allocation_id: int) -> dict:
        user = Actor.model_validate(actor)
        return funding_views.get_allocation(self.db, user, int(allocation_id))

    @rpc
    def submit_funding_project(self, actor: dict, project: dict) -> dict:
        user = Actor.model_validate(actor)
        data = parse(ProjectIn, project)
        with self.db.begin():
            row = funding.submit_project(self.db, user, data)
            return funding_views.project_view(row)

    @rpc
    def get_funding_project(self, actor: dict, project_id: int) -> dict:
        user = Actor.model_validate(actor)
        return funding_views.get_project(self.db, user, int(project_id))

    @rpc
    def decide_funding_project(self, actor: dict, project_id: int, decision: dict) -> dict:
        user = Actor.model_validate(actor)
        data = parse(DecisionIn, decision)
        with self.db.begin():
            row = funding.decide_project(self.db, user, int(project_id), data)
            return funding_views.project_view(row)

    @rpc
    def update_funding_schedule(
        self, actor: dict, kind: str, owner_id: int, schedule: dict
    ) -> dict:
        """Rewrite the unpaid installments of an allocation (``kind="allocation"``) or of an
        approved project (``kind="project"``): they must add up to the funded amount."""
        user = Actor.model_validate(actor)
        data = parse(ScheduleIn, schedule)
        with self.db.begin():
            owner = funding.replace_schedule(self.db, user, str(kind), int(owner_id), data)
            if kind == "allocation":
                return funding_views.allocation_view(owner)
            return funding_views.project_view(owner)

    @rpc
    def pay_funding_disbursement(self, actor: dict, disbursement_id: int, payment: dict) -> dict:
        user = Actor.model_validate(actor)
        data = parse(DisbursementPaymentIn, payment)
        with self.db.begin():
            row = funding.pay_disbursement(self.db, user, int(disbursement_id), data)
            return funding_views.disbursement_view(row, "")


def _text(value) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise invalid("Un exercice financier AAAA-AAAA est attendu.")
    return value.strip()
