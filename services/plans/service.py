"""nameko entrypoints of the plans service (thin: domain logic lives beside it).

Every user-facing RPC takes the ``actor`` first; ``access.py`` scopes plans by organisation.
Money is billing's: the estimate is saved, frozen and rendered by billing's RPCs (see the
contract), never computed here. Organisation facts come from the gateway's directory.
"""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal, InvalidOperation

from nameko.rpc import RpcProxy

from rac_shared.actor import Actor
from rac_shared.bus import OutboxRelayRunner
from rac_shared.contracts import ensure_ministry, health_report
from rac_shared.db import Database
from rac_shared.errors import DomainError, conflict, invalid, not_found
from rac_shared.logs import CorrelationId
from rac_shared.rpc import rpc
from rac_shared.scheduler import JobScheduler
from services.plans import access, document, drafts, lifecycle, progress, views
from services.plans.content import parse
from services.plans.jobs import JOBS
from services.plans.models import Base, Plan
from services.plans.schemas import (
    AbandonIn,
    AmendmentIn,
    AnnexTemplateIn,
    CancellationIn,
    DeclineIn,
    DraftPatch,
    OnlineAcceptanceIn,
    PlanCreateIn,
    RecordedAcceptanceIn,
    ResultIn,
    StepProgressIn,
)

SIGNATORY_ROLES = ["director_general", "director_continuing_education", "director_of_studies"]


def plain(value):
    """JSON-safe copy (Decimals and dates as strings) of what billing returned."""
    return json.loads(json.dumps(value, default=str))


def _file(document_row) -> dict:
    return {
        "filename": document_row.filename,
        "mime": document_row.mime,
        "size": document_row.size,
        "sha256": document_row.sha256,
        "content_b64": base64.b64encode(document_row.content).decode("ascii"),
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
    def health(self) -> dict:
        return health_report(self.name, self.db)

    @rpc
    def home_summary(self, actor: dict) -> list[dict]:
        """Plans awaiting acceptance with the days left (urgent at 3 days or less)."""
        user = Actor.model_validate(actor)
        with self.db.begin():
            return views.home_summary(self.db, user)

    # -- lists --------------------------------------------------------------------------

    @rpc
    def list_plans(self, actor: dict, status: str | None = None) -> list[dict]:
        user = Actor.model_validate(actor)
        with self.db.begin():
            return views.list_plans(self.db, user, status or None)

    @rpc
    def network_figures(self, actor: dict) -> dict:
        ensure_ministry(Actor.model_validate(actor))
        from services.plans import figures  # per status, per month, per program

        with self.db.begin():
            return figures.network_figures(self.db)

    # -- building -----------------------------------------------------------------------

    @rpc
    def create_plan(self, actor: dict, data: dict) -> dict:
        user = Actor.model_validate(actor)
        access.ensure_institution(user)
        payload = parse(PlanCreateIn, data)
        institution = self.gateway.get_organisation(user.organisation_id)
        employer, representatives = None, []
        if payload.employer_id is not None:
            try:
                employer = self.gateway.get_organisation(payload.employer_id)
            except DomainError:
                raise invalid(
                    "Cette organisation n'existe pas dans le répertoire.",
                    {"employer_id": "Organisation inconnue."},
                ) from None
            if employer.get("kind") == "employer":
                representatives = self.gateway.users_of_organisation(
                    payload.employer_id, ["employer_representative"]
                )
        signatories = self.gateway.users_of_organisation(user.organisation_id, SIGNATORY_ROLES)
        order = {role: i for i, role in enumerate(SIGNATORY_ROLES)}
        signatories.sort(key=lambda u: order.get(u["role"], 99))
        with self.db.begin():
            plan = drafts.create_plan(
                self.db,
                user,
                payload,
                institution=institution,
                employer=employer,
                representatives=representatives,
                signatory=signatories[0] if signatories else None,
            )
            return views.plan_row(plan)

    @rpc
    def get_plan(self, actor: dict, plan_id: int, version: int | None = None) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            plan = access.load(self.db, user, plan_id)
            return views.plan_view(self.db, plan, user, version)

    @rpc
    def update_draft(self, actor: dict, plan_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(DraftPatch, data)
        with self.db.begin():
            plan = drafts.update_draft(self.db, user, plan_id, payload)
            return views.plan_row(plan)

    @rpc
    def add_competency(self, actor: dict, plan_id: int, competency: dict) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            plan = drafts.add_item(self.db, user, plan_id, "competencies", competency)
            return views.plan_row(plan)

    @rpc
    def remove_competency(self, actor: dict, plan_id: int, code: str) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            plan = drafts.remove_item(self.db, user, plan_id, "competencies", code)
            return views.plan_row(plan)

    @rpc
    def add_candidate(self, actor: dict, plan_id: int, candidate: dict) -> dict:
        user = Actor.model_validate(actor)
        if isinstance(candidate, dict):
            candidate = {k: v for k, v in candidate.items() if k != "id"}
        with self.db.begin():
            plan = drafts.add_item(self.db, user, plan_id, "candidates", candidate)
            return views.plan_row(plan)

    @rpc
    def remove_candidate(self, actor: dict, plan_id: int, candidate_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            plan = drafts.remove_item(self.db, user, plan_id, "candidates", str(candidate_id))
            return views.plan_row(plan)

    @rpc
    def get_annex_template(self, actor: dict) -> dict:
        user = Actor.model_validate(actor)
        access.ensure_institution(user)
        with self.db.begin():
            return drafts.annex_template(self.db, user.organisation_id)

    @rpc
    def save_annex_template(self, actor: dict, data: dict) -> dict:
        user = Actor.model_validate(actor)
        access.ensure_institution(user)
        payload = parse(AnnexTemplateIn, data)
        with self.db.begin():
            return drafts.save_annex_template(self.db, user, payload)

    # -- the estimate (billing's) ---------------------------------------------------------

    @rpc
    def save_estimate(self, actor: dict, plan_id: int, estimate: dict) -> dict:
        """Send the draft version's estimate lines and installments to billing."""
        user = Actor.model_validate(actor)
        with self.db.begin():
            plan = access.load_for_institution(self.db, user, plan_id)
            version = drafts.editable_version(plan)
            if plan.employer_id is None:
                raise invalid(
                    "L'organisation doit avoir un compte sur la plateforme pour qu'une "
                    "estimation soit établie.",
                    {"employer_id": "Organisation sans compte."},
                )
            plan_facts = lifecycle.billing_plan(plan, version)
        return self.billing.save_estimate(actor=actor, plan=plan_facts, estimate=estimate)

    @rpc
    def preview_pdf(self, actor: dict, plan_id: int) -> dict:
        """The current draft as a PDF marked « projet non émis » (institution only)."""
        user = Actor.model_validate(actor)
        with self.db.begin():
            plan = access.load_for_institution(self.db, user, plan_id)
            view = views.plan_view(self.db, plan, user)
            number, reference = plan.current_version, plan.reference
        estimate_html = None
        if plan.employer_id is not None:
            if self.billing.get_estimate(actor=actor, plan_id=plan_id, version=number):
                estimate_html = self.billing.estimate_html(
                    actor=actor, plan_id=plan_id, version=number
                )
        pdf = document.render_pdf(document.plan_html(view, estimate_html, draft=True))
        return {
            "filename": f"{reference}-v{number}-projet.pdf",
            "mime": "application/pdf",
            "size": len(pdf),
            "content_b64": base64.b64encode(pdf).decode("ascii"),
        }

    # -- issuing ------------------------------------------------------------------------

    @rpc
    def issue(self, actor: dict, plan_id: int) -> dict:
        """Freeze billing's estimate, render the whole plan to PDF, then freeze the version
        (date of issue, 30-day deadline, content hash, PDF) and publish ``plan.issued``."""
        user = Actor.model_validate(actor)
        with self.db.begin():
            prep = lifecycle.prepare_issue(self.db, user, plan_id)
        number = prep["version"]
        draft_estimate = self.billing.get_estimate(actor=actor, plan_id=plan_id, version=number)
        if not draft_estimate:
            raise invalid(
                "Établissez l'estimation des coûts avant d'émettre le plan.",
                {"estimate": "Aucune estimation pour cette version."},
            )
        self._check_candidate_count(draft_estimate, prep["plan"]["candidate_count"])
        estimate = plain(self.billing.freeze_estimate(actor=actor, plan_id=plan_id, version=number))
        estimate_html = self.billing.estimate_html(actor=actor, plan_id=plan_id, version=number)
        with self.db.begin():
            plan = access.load_for_institution(self.db, user, plan_id)
            version = plan.current
            if (
                version.number != number
                or drafts.canonical_hash(version.content) != prep["draft_hash"]
            ):
                raise conflict(
                    "Le plan a été modifié pendant son émission. Vérifiez-le et émettez-le de "
                    "nouveau."
                )
            facts = lifecycle.issue_facts(plan, version, estimate)
            view = views.plan_view(self.db, plan, user)
        view["version"].update(
            status="issued",
            issued_on=facts["issued_on"],
            acceptance_deadline=facts["acceptance_deadline"],
            content_hash=facts["content_hash"],
            estimate=estimate,
        )
        pdf = document.render_plan_pdf(view, estimate_html)
        with self.db.begin():
            plan = lifecycle.commit_issue(
                self.db, user, plan_id, number, prep["draft_hash"], facts, estimate, pdf
            )
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
    def get_pdf(self, actor: dict, plan_id: int, version: int | None = None) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            plan = access.load(self.db, user, plan_id)
            chosen = views.default_version(plan, user) if version is None else None
            if version is not None:
                chosen = next(
                    (v for v in views.visible_versions(plan, user) if v.number == version), None
                )
            row = lifecycle.document_of(self.db, chosen, "plan_pdf") if chosen else None
            if row is None:
                raise not_found("Le PDF de cette version n'existe pas : elle n'a pas été émise.")
            return _file(row)

    @rpc
    def plan_pdf_for_delivery(self, plan_id: int, version: int) -> dict:
        """The issued PDF to attach to the ``plan.issued`` e-mail (service to service, no
        actor: the gateway exposes no route to it)."""
        with self.db.begin():
            plan = self.db.get(Plan, int(plan_id))
            chosen = plan.version(int(version)) if plan is not None else None
            row = lifecycle.document_of(self.db, chosen, "plan_pdf") if chosen else None
            if row is None:
                raise not_found("Le PDF de cette version n'existe pas : elle n'a pas été émise.")
            document = _file(row)
            return {
                **document,
                "content_base64": document["content_b64"],
                "plan_id": plan.id,
                "institution_id": plan.institution_id,
                "employer_id": plan.employer_id,
            }

    # -- accepting ----------------------------------------------------------------------

    @rpc
    def accept_online(self, actor: dict, plan_id: int, data: dict, ip: str = "") -> dict:
        user = Actor.model_validate(actor)
        payload = parse(OnlineAcceptanceIn, data)
        with self.db.begin():
            plan = lifecycle.accept_online(self.db, user, plan_id, payload, ip)
            return views.plan_row(plan)

    @rpc
    def record_acceptance(self, actor: dict, plan_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(RecordedAcceptanceIn, data)
        try:
            scan = base64.b64decode(payload.content_b64, validate=True)
        except (binascii.Error, ValueError):
            raise invalid("Le fichier est mal encodé.", {"fichier": "Encodage invalide."}) from None
        with self.db.begin():
            plan = lifecycle.record_acceptance(self.db, user, plan_id, payload, scan)
            return views.plan_row(plan)

    @rpc
    def decline(self, actor: dict, plan_id: int, data: dict) -> dict:
        """The employer's representative declines the offer awaiting acceptance, with a
        reason; ``plan.declined`` tells the institution."""
        user = Actor.model_validate(actor)
        payload = parse(DeclineIn, data)
        with self.db.begin():
            plan = lifecycle.decline(self.db, user, plan_id, payload)
            return views.plan_row(plan)

    @rpc
    def get_acceptance_scan(self, actor: dict, plan_id: int, version: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            plan = access.load(self.db, user, plan_id)
            chosen = next(
                (v for v in views.visible_versions(plan, user) if v.number == version), None
            )
            row = lifecycle.document_of(self.db, chosen, "acceptance_scan") if chosen else None
            if row is None:
                raise not_found("Aucune acceptation numérisée pour cette version.")
            return _file(row)

    # -- revising, amending, cancelling ---------------------------------------------------

    @rpc
    def amend(self, actor: dict, plan_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(AmendmentIn, data)
        with self.db.begin():
            plan = lifecycle.amend(self.db, user, plan_id, payload)
            return views.plan_row(plan)

    @rpc
    def compare(
        self, actor: dict, plan_id: int, left: int | None = None, right: int | None = None
    ) -> dict:
        """Side by side: a version and the one it modifies (for an amendment, the version in
        force; for a revision, the version it replaces), by default the current one."""
        user = Actor.model_validate(actor)
        with self.db.begin():
            plan = access.load(self.db, user, plan_id)
            visible = {v.number: v for v in views.visible_versions(plan, user)}
            right_version = visible.get(right) if right else views.default_version(plan, user)
            if right_version is None:
                raise not_found("Cette version du plan est introuvable.")
            left_number = left or right_version.amends_version or right_version.based_on
            left_version = visible.get(left_number) if left_number else None
            if left_version is None:
                raise not_found("Il n'y a pas de version antérieure à comparer.")
            return views.comparison(plan, left_version, right_version)

    @rpc
    def cancel(self, actor: dict, plan_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(CancellationIn, data)
        with self.db.begin():
            plan = lifecycle.cancel(self.db, user, plan_id, payload)
            return views.plan_row(plan)

    @rpc
    def complete(self, actor: dict, plan_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            plan = lifecycle.complete(self.db, user, plan_id)
            return views.plan_row(plan)

    # -- progress -----------------------------------------------------------------------

    @rpc
    def get_progress(self, actor: dict, plan_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            plan = access.load(self.db, user, plan_id)
            return views.plan_progress(plan, user)

    @rpc
    def set_candidate_step(self, actor: dict, plan_id: int, candidate_id: int, data: dict):
        user = Actor.model_validate(actor)
        payload = parse(StepProgressIn, data)
        with self.db.begin():
            plan = progress.set_step(self.db, user, plan_id, int(candidate_id), payload.step)
            return views.plan_progress(plan, user)

    @rpc
    def set_competency_result(self, actor: dict, plan_id: int, candidate_id: int, data: dict):
        user = Actor.model_validate(actor)
        payload = parse(ResultIn, data)
        with self.db.begin():
            plan = progress.set_result(
                self.db, user, plan_id, int(candidate_id), payload.competency_code, payload.result
            )
            return views.plan_progress(plan, user)

    @rpc
    def abandon_candidate(self, actor: dict, plan_id: int, candidate_id: int, data: dict):
        user = Actor.model_validate(actor)
        payload = parse(AbandonIn, data)
        with self.db.begin():
            plan = progress.abandon(self.db, user, plan_id, int(candidate_id), payload.abandoned_on)
            return views.plan_progress(plan, user)
