"""nameko entrypoints of the plans service (thin: domain logic lives beside it).

Every user-facing RPC takes the ``actor`` first; ``access.py`` scopes plans by organisation.
Arguments and replies are the contract's (``rac_shared/contracts/plans.py``), validated by
``@rpc``. Money is billing's: the estimate is saved, frozen and rendered by billing's RPCs,
never computed here. Organisation facts come from the gateway's directory.
``plan_pdf_for_delivery`` is for services (notifications), not users.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from decimal import Decimal, InvalidOperation

from nameko.rpc import RpcProxy
from nameko.timer import timer

from rac_shared.actor import Actor
from rac_shared.bus import OutboxRelayRunner
from rac_shared.consumer import on_event
from rac_shared.contracts import HealthReport, NextAction, ensure_ministry, health_report
from rac_shared.contracts.billing import EstimateSpec, EstimateView
from rac_shared.contracts.calendar import CalendarEvent, CalendarQuery, window
from rac_shared.contracts.plans import (
    AbandonIn,
    AmendmentIn,
    AnnexTemplate,
    AnnexTemplateIn,
    CancellationIn,
    CandidateIn,
    Comparison,
    Competency,
    CompetencyCode,
    DeclineIn,
    DraftPatch,
    OnlineAcceptanceIn,
    PersonalInformation,
    PersonalInformationQuery,
    PlanCreateIn,
    PlanDelivery,
    PlanFigures,
    PlanFile,
    PlanPage,
    PlanQuery,
    PlanRow,
    PlanTaskView,
    PlanView,
    PrivacyEntry,
    PrivacyKind,
    Progress,
    RecordedAcceptanceIn,
    ResultIn,
    StepProgressIn,
    VersionStatus,
)
from rac_shared.db import Database
from rac_shared.errors import DomainError, conflict, invalid, not_found
from rac_shared.events import EstimateSaved
from rac_shared.ical import MIME as ICAL_MIME
from rac_shared.ical import calendar_file
from rac_shared.logs import CorrelationId
from rac_shared.outbox import first_time
from rac_shared.reply_cache import cached_reply
from rac_shared.rpc import rpc
from rac_shared.scheduler import JobScheduler
from rac_shared.settings import get_settings
from services.plans import (
    access,
    agenda,
    document,
    drafts,
    estimates,
    lifecycle,
    progress,
    retention,
    tasks,
    views,
)
from services.plans.jobs import JOBS
from services.plans.models import Base, Plan

SIGNATORY_ROLES = ["director_general", "director_continuing_education", "director_of_studies"]


def _file(document_row) -> dict:
    return {
        "filename": document_row.filename,
        "mime": document_row.mime,
        "size": document_row.size,
        "sha256": document_row.sha256,
        "content_b64": base64.b64encode(document_row.content).decode("ascii"),
    }


def _preview_file(reference: str, number: int, pdf: bytes) -> dict:
    return {
        "filename": f"{reference}-v{number}-projet.pdf",
        "mime": "application/pdf",
        "size": len(pdf),
        "content_b64": base64.b64encode(pdf).decode("ascii"),
    }


class PlansService:
    name = "plans"

    db = Database(name, Base.metadata)
    relay = OutboxRelayRunner(name, Base.metadata)
    scheduler = JobScheduler(name, Base.metadata, JOBS)
    correlation_id = CorrelationId()
    gateway = RpcProxy("gateway")
    billing = RpcProxy("billing")

    @rpc
    def health(self) -> HealthReport:
        return health_report(self.name, self.db)

    @rpc
    def home_summary(self, actor: Actor) -> list[NextAction]:
        """Plans awaiting acceptance with the days left (urgent at 3 days or less)."""
        with self.db.begin():
            return views.home_summary(self.db, actor)

    # -- lists --------------------------------------------------------------------------

    @rpc
    @cached_reply  # kept while the plans database is unchanged (rac_shared/reply_cache.py)
    def list_plans(self, actor: Actor, query: PlanQuery | None = None) -> PlanPage:
        with self.db.begin():
            return views.list_plans(self.db, actor, query or PlanQuery())

    @rpc
    def network_figures(self, actor: Actor) -> PlanFigures:
        ensure_ministry(actor)
        from services.plans import figures  # per status, per month, per program

        with self.db.begin():
            return figures.network_figures(self.db)

    # -- building -----------------------------------------------------------------------

    @rpc
    def create_plan(self, actor: Actor, data: PlanCreateIn) -> PlanRow:
        access.ensure_institution(actor)
        institution = self.gateway.get_organisation(actor.organisation_id)
        employer, representatives = None, []
        if data.employer_id is not None:
            try:
                employer = self.gateway.get_organisation(data.employer_id)
            except DomainError:
                raise invalid(
                    "Cette organisation n'existe pas dans le répertoire.",
                    {"employer_id": "Organisation inconnue."},
                ) from None
            if employer.get("kind") == "employer":
                representatives = self.gateway.users_of_organisation(
                    data.employer_id, ["employer_representative"]
                )
        signatories = self.gateway.users_of_organisation(actor.organisation_id, SIGNATORY_ROLES)
        order = {role: i for i, role in enumerate(SIGNATORY_ROLES)}
        signatories.sort(key=lambda u: order.get(u["role"], 99))
        with self.db.begin():
            plan = drafts.create_plan(
                self.db,
                actor,
                data,
                institution=institution,
                employer=employer,
                representatives=representatives,
                signatory=signatories[0] if signatories else None,
            )
            return views.plan_row(plan)

    @rpc
    def get_plan(self, actor: Actor, plan_id: int, version: int | None = None) -> PlanView:
        with self.db.begin():
            plan = access.load(self.db, actor, plan_id)
            view = views.plan_view(self.db, plan, actor, version)
            if actor.is_institution:
                view["tasks"] = tasks.views_of(self.db, plan)
            return view

    @rpc
    def update_draft(self, actor: Actor, plan_id: int, data: DraftPatch) -> PlanRow:
        with self.db.begin():
            plan = drafts.update_draft(self.db, actor, plan_id, data)
            return views.plan_row(plan)

    @rpc
    def add_competency(self, actor: Actor, plan_id: int, competency: Competency) -> PlanRow:
        with self.db.begin():
            plan = drafts.add_item(
                self.db, actor, plan_id, "competencies", competency.model_dump(mode="json")
            )
            return views.plan_row(plan)

    @rpc
    def remove_competency(self, actor: Actor, plan_id: int, code: CompetencyCode) -> PlanRow:
        with self.db.begin():
            plan = drafts.remove_item(self.db, actor, plan_id, "competencies", code)
            return views.plan_row(plan)

    @rpc
    def add_candidate(self, actor: Actor, plan_id: int, candidate: CandidateIn) -> PlanRow:
        with self.db.begin():
            plan = drafts.add_item(
                self.db, actor, plan_id, "candidates", candidate.model_dump(mode="json")
            )
            return views.plan_row(plan)

    @rpc
    def remove_candidate(self, actor: Actor, plan_id: int, candidate_id: int) -> PlanRow:
        with self.db.begin():
            plan = drafts.remove_item(self.db, actor, plan_id, "candidates", str(candidate_id))
            return views.plan_row(plan)

    @rpc
    def get_annex_template(self, actor: Actor) -> AnnexTemplate:
        access.ensure_institution(actor)
        with self.db.begin():
            return drafts.annex_template(self.db, actor.organisation_id)

    @rpc
    def save_annex_template(self, actor: Actor, data: AnnexTemplateIn) -> AnnexTemplate:
        access.ensure_institution(actor)
        with self.db.begin():
            return drafts.save_annex_template(self.db, actor, data)

    # -- the estimate (billing's) ---------------------------------------------------------

    @rpc
    def save_estimate(self, actor: Actor, plan_id: int, estimate: EstimateSpec) -> EstimateView:
        """Send the draft version's estimate lines and installments to billing."""
        with self.db.begin():
            plan = access.load_for_institution(self.db, actor, plan_id)
            version = drafts.editable_version(plan)
            if plan.employer_id is None:
                raise invalid(
                    "L'organisation doit avoir un compte sur la plateforme pour qu'une "
                    "estimation soit établie.",
                    {"employer_id": "Organisation sans compte."},
                )
            plan_facts = lifecycle.billing_plan(plan, version)
        caller = actor.model_dump(mode="json")
        saved = self.billing.save_estimate(
            actor=caller, plan=plan_facts, estimate=estimate.model_dump(mode="json")
        )
        # Kept at once (``estimate.saved`` brings the same a moment later), so that the
        # version can be issued right after, from this service's own database.
        snapshot = self.billing.estimate_snapshot(
            actor=caller, plan_id=plan_id, version=plan_facts["version"]
        )
        with self.db.begin():
            estimates.keep(self.db, snapshot)
        return saved

    @on_event(EstimateSaved)
    def on_estimate_saved(self, envelope, payload: EstimateSaved) -> None:
        """The latest estimate of each plan version, kept to issue it without billing."""
        with self.db.begin():
            if first_time(self.db, envelope.event_id, "plans.on_estimate_saved"):
                estimates.keep(self.db, payload.snapshot)

    @rpc
    def preview_pdf(self, actor: Actor, plan_id: int) -> PlanFile:
        """The current draft as a PDF marked « projet non émis » (institution only), rendered
        while the caller waits; the pages ask for it in the background (``request_preview``)."""
        pdf, reference, number, _ = self._render_preview(actor, plan_id)
        return _preview_file(reference, number, pdf)

    def _render_preview(self, actor: Actor, plan_id: int) -> tuple[bytes, str, int, str]:
        with self.db.begin():
            plan = access.load_for_institution(self.db, actor, plan_id)
            view = views.plan_view(self.db, plan, actor)
            number, reference = plan.current_version, plan.reference
            draft_hash = drafts.canonical_hash(plan.current.content)
            employer_id = plan.employer_id
        estimate_html = None
        if employer_id is not None:
            caller = actor.model_dump(mode="json")
            if self.billing.get_estimate(actor=caller, plan_id=plan_id, version=number):
                estimate_html = self.billing.estimate_html(
                    actor=caller, plan_id=plan_id, version=number
                )
        pdf = document.render_preview_pdf(view, estimate_html)
        return pdf, reference, number, draft_hash

    @rpc
    def request_preview(self, actor: Actor, plan_id: int) -> PlanTaskView:
        """Ask for the draft's preview, rendered in the background (``run_tasks``)."""
        with self.db.begin():
            plan = access.load_for_institution(self.db, actor, plan_id)
            task = tasks.request(self.db, actor, plan, tasks.PREVIEW)
            return tasks.view(task, plan)

    @rpc
    def preview_file(self, actor: Actor, plan_id: int) -> PlanFile:
        with self.db.begin():
            plan, task = tasks.preview_of(self.db, actor, plan_id)
            return _preview_file(plan.reference, task.version, task.result)

    # -- issuing ------------------------------------------------------------------------

    @rpc
    def issue(self, actor: Actor, plan_id: int) -> PlanRow:
        """Issue the draft version from this service's own data alone: check it and the
        snapshot of billing's estimate, write the whole plan as its document's HTML, then in
        one transaction freeze the version (date of issue, 30-day deadline, content hash,
        the HTML) and record ``plan.issued`` with the estimate's hash — billing freezes that
        estimate when it consumes the event. A failure at any step leaves the draft as it
        was. The PDF (a second or more of CPU) is rendered after the commit, in the
        background or by its first reader (``lifecycle.render_pending``): the issue does
        not wait for it. The pages issue in the background (``request_issue``); the API
        and the demo here."""
        return self._issue(actor, plan_id)

    @rpc
    def request_issue(self, actor: Actor, plan_id: int) -> PlanTaskView:
        """Check the draft now (a refusal is the form's, as for ``issue``), then leave the
        rendering and the issuing transaction to the worker (``run_tasks``)."""
        with self.db.begin():
            self._ready_to_issue(actor, plan_id)
            plan = access.load_for_institution(self.db, actor, plan_id)
            task = tasks.request(self.db, actor, plan, tasks.ISSUE)
            return tasks.view(task, plan)

    @rpc
    def plan_tasks(self, actor: Actor, plan_id: int) -> list[PlanTaskView]:
        with self.db.begin():
            return tasks.plan_tasks(self.db, actor, plan_id)

    @timer(interval=1)
    def run_tasks(self) -> int:
        """The background work people asked for (issuing, previews), a few per tick."""
        done = 0
        while done < 5 and tasks.run_one(self.db, self._run_task):
            done += 1
        return done

    def _run_task(self, task: tasks.Claimed) -> None:
        actor = Actor.model_validate(task.actor)
        if task.kind == tasks.ISSUE:
            self._issue(actor, task.plan_id, task)
            return
        if task.kind == tasks.PDF:
            with self.db.begin():
                plan = access.load_for_institution(self.db, actor, task.plan_id)
                row = lifecycle.document_of(self.db, plan.version(task.version), "plan_pdf")
                if row is not None:
                    lifecycle.render_pending(self.db, row)
                task.done(self.db)
            return
        pdf, _, _, draft_hash = self._render_preview(actor, task.plan_id)
        with self.db.begin():
            task.done(self.db, pdf, draft_hash)

    def _ready_to_issue(self, actor: Actor, plan_id: int) -> tuple[dict, object]:
        """The checks before rendering: the draft, and the estimate's snapshot."""
        prep = lifecycle.prepare_issue(self.db, actor, plan_id)
        snapshot = estimates.find(self.db, plan_id, prep["version"])
        if snapshot is None:
            raise invalid(
                "Établissez l'estimation des coûts avant d'émettre le plan.",
                {"estimate": "Aucune estimation pour cette version."},
            )
        self._check_candidate_count(snapshot.estimate, prep["plan"]["candidate_count"])
        return prep, snapshot

    def _issue(self, actor: Actor, plan_id: int, task: tasks.Claimed | None = None) -> PlanRow:
        with self.db.begin():
            prep, snapshot = self._ready_to_issue(actor, plan_id)
            number = prep["version"]
            if task is not None and (task.version, task.draft_hash) != (
                number,
                prep["draft_hash"],
            ):
                raise conflict(
                    "Le plan a été modifié depuis la demande d'émission. Vérifiez-le et "
                    "émettez-le de nouveau."
                )
            estimate = {**snapshot.estimate, "status": "frozen"}
            estimate_html, estimate_hash = snapshot.document_html, snapshot.estimate_hash
            plan = access.load_for_institution(self.db, actor, plan_id)
            version = plan.current
            facts = lifecycle.issue_facts(plan, version, estimate)
            view = views.plan_view(self.db, plan, actor)
        view["version"].update(
            status=VersionStatus.ISSUED,
            issued_on=facts["issued_on"],
            acceptance_deadline=facts["acceptance_deadline"],
            content_hash=facts["content_hash"],
            estimate=estimate,
        )
        html = document.plan_html(view, estimate_html)
        with self.db.begin():
            plan = lifecycle.commit_issue(
                self.db,
                actor,
                plan_id,
                number,
                prep["draft_hash"],
                facts,
                estimate,
                html,
                estimate_hash,
            )
            if task is not None:
                task.done(self.db)
            # Its PDF, rendered by the worker (a failure is shown on the plan page, retried,
            # and its first reader renders it anyway: ``lifecycle.render_pending``).
            tasks.request(self.db, actor, plan, tasks.PDF)
            return views.plan_row(plan)

    @staticmethod
    def _check_candidate_count(estimate: dict, candidates: int) -> None:
        """Billing priced one evaluation per candidate-worker when the estimate was saved."""
        counted = estimate.get("candidate_count")
        if counted is None:
            quantities = [
                line.get("quantity")
                for line in estimate.get("lines", [])
                if line.get("category") == "evaluation"
            ]
            try:
                counted = int(Decimal(str(quantities[0]))) if quantities else candidates
            except (InvalidOperation, ValueError):
                counted = candidates
        if int(counted) != candidates:
            raise invalid(
                "L'estimation des coûts doit être enregistrée de nouveau : le nombre de "
                f"candidats-travailleurs est maintenant de {candidates}.",
                {"estimate": "Nombre de candidats-travailleurs modifié."},
            )

    @rpc
    def get_pdf(self, actor: Actor, plan_id: int, version: int | None = None) -> PlanFile:
        with self.db.begin():
            plan = access.load(self.db, actor, plan_id)
            _, row = self._issued_pdf(plan, actor, version)
            return _file(lifecycle.render_pending(self.db, row))

    @rpc
    def courtesy_translation(
        self, actor: Actor, plan_id: int, version: int | None = None
    ) -> PlanFile:
        """The English courtesy translation of an issued version, rendered from its data
        for whoever may download its French PDF (and only while that PDF is kept)."""
        with self.db.begin():
            plan = access.load(self.db, actor, plan_id)
            chosen, _ = self._issued_pdf(plan, actor, version)
            view = views.plan_view(self.db, plan, actor, number=chosen.number)
            reference, number = plan.reference, chosen.number
        pdf = document.render_courtesy_translation(view)
        return {
            "filename": f"{reference}-v{number}-traduction-courtoisie-en.pdf",
            "mime": "application/pdf",
            "size": len(pdf),
            "content_b64": base64.b64encode(pdf).decode("ascii"),
        }

    def _issued_pdf(self, plan: Plan, actor: Actor, version: int | None):
        """The version ``actor`` asks for (or sees by default) and its kept French PDF."""
        chosen = views.default_version(plan, actor) if version is None else None
        if version is not None:
            chosen = next(
                (v for v in views.visible_versions(plan, actor) if v.number == version), None
            )
        row = lifecycle.document_of(self.db, chosen, "plan_pdf") if chosen else None
        if row is None:
            raise not_found("Le PDF de cette version n'existe pas : elle n'a pas été émise.")
        retention.ensure_kept(row)
        return chosen, row

    @rpc
    def plan_pdf_for_delivery(self, plan_id: int, version: int) -> PlanDelivery:
        """The issued PDF to attach to the ``plan.issued`` e-mail (service to service, no
        actor: the gateway exposes no route to it)."""
        with self.db.begin():
            plan = self.db.get(Plan, plan_id)
            chosen = plan.version(version) if plan is not None else None
            row = lifecycle.document_of(self.db, chosen, "plan_pdf") if chosen else None
            if row is None:
                raise not_found("Le PDF de cette version n'existe pas : elle n'a pas été émise.")
            retention.ensure_kept(row)
            row = lifecycle.render_pending(self.db, row)
            return {
                "filename": row.filename,
                "mime": row.mime,
                "size": row.size,
                "sha256": row.sha256,
                "content_base64": base64.b64encode(row.content).decode("ascii"),
                "plan_id": plan.id,
                "institution_id": plan.institution_id,
                "employer_id": plan.employer_id,
            }

    @rpc
    def acceptance_calendar_for_delivery(self, plan_id: int, version: int) -> PlanDelivery:
        """The offer's acceptance deadline as an iCalendar file, attached to the
        ``plan.issued`` e-mail beside the PDF (service to service, no actor)."""
        with self.db.begin():
            plan = self.db.get(Plan, plan_id)
            chosen = plan.version(version) if plan is not None else None
            if chosen is None or chosen.acceptance_deadline is None:
                raise not_found("Cette version n'a pas été émise : elle n'a pas d'échéance.")
            content = calendar_file(
                f"Plan {plan.reference}",
                [agenda.acceptance_deadline_event(plan, chosen)],
                get_settings().public_url,
            )
            return {
                "filename": f"{plan.reference}-v{chosen.number}-echeance.ics",
                "mime": ICAL_MIME,
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "content_base64": base64.b64encode(content).decode("ascii"),
                "plan_id": plan.id,
                "institution_id": plan.institution_id,
                "employer_id": plan.employer_id,
            }

    @rpc
    @cached_reply  # kept while the plans database is unchanged
    def calendar(self, actor: Actor, query: CalendarQuery) -> list[CalendarEvent]:
        with self.db.begin():
            return window(agenda.calendar_events(self.db, actor, query), query)

    # -- accepting ----------------------------------------------------------------------

    @rpc
    def accept_online(
        self, actor: Actor, plan_id: int, data: OnlineAcceptanceIn, ip: str = ""
    ) -> PlanRow:
        with self.db.begin():
            plan = lifecycle.accept_online(self.db, actor, plan_id, data, ip)
            return views.plan_row(plan)

    @rpc
    def record_acceptance(self, actor: Actor, plan_id: int, data: RecordedAcceptanceIn) -> PlanRow:
        try:
            scan = base64.b64decode(data.content_b64, validate=True)
        except (binascii.Error, ValueError):
            raise invalid("Le fichier est mal encodé.", {"fichier": "Encodage invalide."}) from None
        with self.db.begin():
            plan = lifecycle.record_acceptance(self.db, actor, plan_id, data, scan)
            return views.plan_row(plan)

    @rpc
    def decline(self, actor: Actor, plan_id: int, data: DeclineIn) -> PlanRow:
        """The employer's representative declines the offer awaiting acceptance, with a
        reason; ``plan.declined`` tells the institution."""
        with self.db.begin():
            plan = lifecycle.decline(self.db, actor, plan_id, data)
            return views.plan_row(plan)

    @rpc
    def get_acceptance_scan(self, actor: Actor, plan_id: int, version: int) -> PlanFile:
        with self.db.begin():
            plan = access.load(self.db, actor, plan_id)
            chosen = next(
                (v for v in views.visible_versions(plan, actor) if v.number == version), None
            )
            row = lifecycle.document_of(self.db, chosen, "acceptance_scan") if chosen else None
            if row is None:
                raise not_found("Aucune acceptation numérisée pour cette version.")
            return _file(row)

    # -- revising, amending, cancelling ---------------------------------------------------

    @rpc
    def amend(self, actor: Actor, plan_id: int, data: AmendmentIn) -> PlanRow:
        with self.db.begin():
            plan = lifecycle.amend(self.db, actor, plan_id, data)
            return views.plan_row(plan)

    @rpc
    def compare(
        self, actor: Actor, plan_id: int, left: int | None = None, right: int | None = None
    ) -> Comparison:
        """Side by side: a version and the one it modifies (for an amendment, the version in
        force; for a revision, the version it replaces), by default the current one."""
        with self.db.begin():
            plan = access.load(self.db, actor, plan_id)
            visible = {v.number: v for v in views.visible_versions(plan, actor)}
            right_version = visible.get(right) if right else views.default_version(plan, actor)
            if right_version is None:
                raise not_found("Cette version du plan est introuvable.")
            left_number = left or right_version.amends_version or right_version.based_on
            left_version = visible.get(left_number) if left_number else None
            if left_version is None:
                raise not_found("Il n'y a pas de version antérieure à comparer.")
            return views.comparison(plan, left_version, right_version)

    @rpc
    def cancel(self, actor: Actor, plan_id: int, data: CancellationIn) -> PlanRow:
        with self.db.begin():
            plan = lifecycle.cancel(self.db, actor, plan_id, data)
            return views.plan_row(plan)

    @rpc
    def complete(self, actor: Actor, plan_id: int) -> PlanRow:
        with self.db.begin():
            plan = lifecycle.complete(self.db, actor, plan_id)
            return views.plan_row(plan)

    # -- progress -----------------------------------------------------------------------

    # -- personal information (Loi 25) -----------------------------------------------------

    @rpc
    def export_personal_information(
        self, actor: Actor, data: PersonalInformationQuery
    ) -> PersonalInformation:
        with self.db.begin():
            return retention.export_person(self.db, actor, data.email)

    @rpc
    def privacy_records(self, actor: Actor) -> list[PrivacyEntry]:
        with self.db.begin():
            return [
                {
                    "kind": r.kind,
                    "kind_label": PrivacyKind.label_of(r.kind),
                    "plan_id": r.plan_id,
                    "at": r.at,
                    "by_name": r.by_name,
                    "subject": r.subject,
                    "details": r.details,
                }
                for r in retention.history(self.db, actor)
            ]

    @rpc
    def get_progress(self, actor: Actor, plan_id: int) -> Progress:
        with self.db.begin():
            plan = access.load(self.db, actor, plan_id)
            return views.plan_progress(plan, actor)

    @rpc
    def set_candidate_step(
        self, actor: Actor, plan_id: int, candidate_id: int, data: StepProgressIn
    ) -> Progress:
        with self.db.begin():
            plan = progress.set_step(self.db, actor, plan_id, candidate_id, data.step)
            return views.plan_progress(plan, actor)

    @rpc
    def set_competency_result(
        self, actor: Actor, plan_id: int, candidate_id: int, data: ResultIn
    ) -> Progress:
        with self.db.begin():
            plan = progress.set_result(
                self.db, actor, plan_id, candidate_id, data.competency_code, data.result
            )
            return views.plan_progress(plan, actor)

    @rpc
    def abandon_candidate(
        self, actor: Actor, plan_id: int, candidate_id: int, data: AbandonIn
    ) -> Progress:
        with self.db.begin():
            plan = progress.abandon(self.db, actor, plan_id, candidate_id, data.abandoned_on)
            return views.plan_progress(plan, actor)
