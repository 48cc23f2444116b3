"""nameko entrypoints of the scoring service (thin: domain logic lives beside it).

The evaluation of an application opens from ``application.admissibility_decided`` (when
« recevable »), once per application whatever the number of deliveries. The call's grid
comes from the applications service and the institution's education order from the
gateway's directory, both by RPC under a time limit and outside any transaction.

Every user-facing RPC takes the ``actor`` first (see ``access.py`` for who may do what).
``letter_pdf_for_delivery`` is for services (notifications), not users.
"""

from __future__ import annotations

import base64
from datetime import date

from nameko.rpc import RpcProxy
from sqlalchemy import select

from rac_shared.actor import Actor, Role
from rac_shared.bus import OutboxRelayRunner
from rac_shared.clock import clock
from rac_shared.consumer import on_event
from rac_shared.contracts import NextAction, ensure_ministry, health_report
from rac_shared.contracts.scoring import (
    Assigned,
    AssignmentProposal,
    AssignmentView,
    BulkAssigned,
    BulkAssignmentIn,
    CommitteePage,
    CommitteeRow,
    CommitteeView,
    ConflictIn,
    ConflictRecorded,
    ConsensusIn,
    ConsensusRecorded,
    CsvReply,
    DecisionIn,
    DecisionRecorded,
    DeliveryFile,
    FileReply,
    Health,
    InstitutionResult,
    LinkIn,
    LinkRecorded,
    LinkRemoved,
    MemberAdded,
    MemberCandidate,
    MemberRemoved,
    MinistryPeriod,
    MinistryPeriodIn,
    MinistryRemoved,
    Parameters,
    ParametersIn,
    ProposalQuery,
    RecommendationIn,
    RecommendationRecorded,
    Reopened,
    ReopenIn,
    ScoresIn,
    ScoringFigures,
    Unassigned,
    UserIn,
    Workspace,
)
from rac_shared.db import Database
from rac_shared.errors import DomainError, invalid, not_found
from rac_shared.events import ApplicationAdmissibilityDecided
from rac_shared.logs import CorrelationId
from rac_shared.outbox import already_processed, first_time
from rac_shared.pdf import render_pdf
from rac_shared.rpc import call_within, rpc
from rac_shared.scheduler import JobScheduler
from rac_shared.settings import get_settings
from services.scoring import (
    access,
    committees,
    conflicts,
    designation,
    evaluations,
    letters,
    ministries,
    views,
)
from services.scoring.jobs import JOBS
from services.scoring.models import EVAL_DECIDED, Base, Committee, Evaluation

OPEN_HANDLER = "scoring.open_evaluation"


def _file(filename: str, content: bytes, mime: str = "application/pdf") -> dict:
    return {
        "filename": filename,
        "mime": mime,
        "content_b64": base64.b64encode(content).decode("ascii"),
    }


def _on_score_fields(exc: DomainError, data: ScoresIn) -> DomainError:
    """The grid's errors (``note-<criterion>``, ``commentaire-<criterion>``) on the fields
    of the scores sent (``scores.<i>.score``, ``scores.<i>.comment``), as forms name them."""
    if not isinstance(exc.details, dict):
        return exc
    index = {score.criterion_id: i for i, score in enumerate(data.scores)}
    fields = {"note": "score", "commentaire": "comment"}
    details = {}
    for key, message in exc.details.items():
        kind, _, criterion = str(key).partition("-")
        if kind in fields and criterion.isdigit() and int(criterion) in index:
            details[f"scores.{index[int(criterion)]}.{fields[kind]}"] = message
        else:
            details[key] = message
    return DomainError(exc.message, details, exc.code)


class ScoringService:
    name = "scoring"

    db = Database(name, Base.metadata)
    relay = OutboxRelayRunner(name, Base.metadata)
    scheduler = JobScheduler(name, Base.metadata, JOBS)
    correlation_id = CorrelationId()
    applications = RpcProxy("applications")
    gateway = RpcProxy("gateway")

    def _timed(self, proxy, method: str, **kwargs):
        """Another service's answer, within the RPC time limit (then the event is retried)."""
        return call_within(get_settings().rpc_timeout, getattr(proxy, method), **kwargs)

    def _in_directory(self, method: str, field: dict, message: str, **kwargs) -> dict:
        """A record of the gateway's directory; one it does not know is the caller's error."""
        try:
            return self._timed(self.gateway, method, **kwargs)
        except Exception as exc:
            if getattr(exc, "code", None) == "not_found":
                raise invalid(message, field) from None
            raise

    # -- events ------------------------------------------------------------------------------

    @on_event(ApplicationAdmissibilityDecided)
    def on_admissibility_decided(self, envelope, payload):
        """« Recevable »: open the evaluation, with the call's grid, exactly once."""
        if not payload.admissible:
            return
        if already_processed(self.db, envelope.event_id, OPEN_HANDLER):
            return
        known = self.db.scalar(select(Committee.id).where(Committee.call_id == payload.call_id))
        self.db.rollback()  # no transaction held open across the RPC look-ups
        grid = None
        if known is None:
            grid = self._timed(self.applications, "grid_of_call", call_id=payload.call_id)
        organisation = self._timed(
            self.gateway, "get_organisation", organisation_id=payload.organisation_id
        )
        with self.db.begin():
            if known is not None and committees.find_committee(self.db, payload.call_id) is None:
                raise RuntimeError(f"the committee of call {payload.call_id} vanished")
            if first_time(self.db, envelope.event_id, OPEN_HANDLER):
                committees.open_evaluation(
                    self.db, payload, grid, organisation, str(envelope.event_id)
                )

    # -- health and home ---------------------------------------------------------------------

    @rpc
    def health(self) -> Health:
        return health_report(self.name, self.db)

    @rpc
    def network_figures(self, actor: Actor) -> ScoringFigures:
        """The ministry dashboard's figures kept here (aggregates only, ministry only)."""
        from services.scoring import figures

        ensure_ministry(actor)
        return figures.network_figures(self.db)

    @rpc
    def home_summary(self, actor: Actor) -> list[NextAction]:
        """Next actions on the actor's home page (scores to give, decisions to record,
        an institution's result)."""
        return views.home_summary(self.db, actor)

    # -- evaluators ------------------------------------------------------------------------------

    @rpc
    def workspace(self, actor: Actor) -> Workspace:
        return views.workspace(self.db, actor)

    @rpc
    def get_assignment(self, actor: Actor, evaluation_id: int) -> AssignmentView:
        """The actor's own assignment (not found when not assigned or in conflict): the
        gateway asks this before showing the application's content to an evaluator."""
        return views.assignment_view(self.db, actor, evaluation_id)

    @rpc
    def ensure_may_read_application(self, actor: Actor, application_id: int) -> None:
        """The gateway asks this before an evaluator reads an application's content."""
        evaluations.ensure_may_read_application(self.db, actor, application_id)

    @rpc
    def save_scores(self, actor: Actor, evaluation_id: int, data: ScoresIn) -> AssignmentView:
        entries = {s.criterion_id: (s.score, s.comment) for s in data.scores}
        if len(entries) != len(data.scores):
            raise invalid("Un même critère est noté deux fois.")
        try:
            with self.db.begin():
                evaluations.save_scores(self.db, actor, evaluation_id, entries, data.submit)
        except DomainError as exc:
            raise _on_score_fields(exc, data) from None
        return views.assignment_view(self.db, actor, evaluation_id)

    @rpc
    def declare_conflict(self, actor: Actor, call_id: int, data: ConflictIn) -> ConflictRecorded:
        """The evaluator declares a conflict of interest with an institution of the call."""
        if data.user_id not in (None, actor.user_id):
            raise invalid("Vous déclarez vos propres conflits d'intérêts seulement.")
        with self.db.begin():
            conflict, withdrawn = committees.record_conflict(
                self.db,
                actor,
                call_id,
                actor.user_id,
                data.organisation_key,
                data.reason,
            )
            return {"organisation_name": conflict.organisation_name, "withdrawn": withdrawn}

    @rpc
    def declare_link(self, actor: Actor, data: LinkIn) -> LinkRecorded:
        """A link between an evaluator and an institution of the network: the evaluator's
        own (no ``user_id``), or recorded by the ministry's administrator for a member."""
        user_id = actor.user_id if data.user_id is None else data.user_id
        if user_id == actor.user_id:
            access.ensure_evaluator(actor)
        else:
            access.ensure_admin(actor)
        self.db.rollback()  # no transaction held open across the directory's look-up
        organisation = self._in_directory(
            "get_organisation",
            {"organisation_id": "Choisissez un établissement de la liste."},
            "Cet établissement est introuvable dans l'annuaire.",
            organisation_id=data.organisation_id,
        )
        with self.db.begin():
            link, withdrawn = conflicts.declare_link(
                self.db, actor, user_id, organisation, data.kind, data.note
            )
            return {
                "id": link.id,
                "organisation_name": link.organisation_name,
                "withdrawn": withdrawn,
            }

    @rpc
    def remove_link(self, actor: Actor, link_id: int) -> LinkRemoved:
        with self.db.begin():
            conflicts.remove_link(self.db, actor, link_id)
        return {"removed": link_id}

    # -- the committee -------------------------------------------------------------------------

    @rpc
    def list_committees(self, actor: Actor) -> list[CommitteeRow]:
        return views.committees_list(self.db, actor)

    @rpc
    def get_committee(self, actor: Actor, call_id: int) -> CommitteeView:
        return views.committee_view(self.db, actor, call_id)

    @rpc
    def set_parameters(self, actor: Actor, call_id: int, data: ParametersIn) -> Parameters:
        with self.db.begin():
            committees.set_parameters(
                self.db,
                actor,
                call_id,
                data.min_evaluators,
                data.spread_gap_percent,
                data.overall_threshold,
            )
        return views.committee_view(self.db, actor, call_id)["parameters"]

    @rpc
    def committee_page(self, actor: Actor, call_id: int) -> CommitteePage:
        """The committee and, for its administrator, who could join it: one call per page."""
        view = views.committee_view(self.db, actor, call_id)
        candidates = self._member_candidates(actor, call_id) if view["can_manage"] else []
        return {"committee": view, "candidates": candidates}

    @rpc
    def member_candidates(self, actor: Actor, call_id: int) -> list[MemberCandidate]:
        """Ministry evaluators and analysts who could sit on the committee."""
        return self._member_candidates(actor, call_id)

    def _member_candidates(self, actor: Actor, call_id: int) -> list[dict]:
        access.ensure_admin(actor)
        committee = committees.load_committee(self.db, call_id)
        seated = {m.user_id for m in committee.members}
        self.db.rollback()
        people = self._timed(
            self.gateway, "users_with_roles", roles=sorted(committees.MEMBER_ROLES)
        )
        return [
            {
                "user_id": p["id"],
                "full_name": p["full_name"],
                "role": p["role"],
                "organisation_name": p.get("organisation_name"),
            }
            for p in people
            if p["id"] not in seated
        ]

    @rpc
    def add_member(self, actor: Actor, call_id: int, data: UserIn) -> MemberAdded:
        access.ensure_admin(actor)
        committees.load_committee(self.db, call_id)  # not found before the look-up
        self.db.rollback()
        person = self._in_directory(
            "get_user",
            {"user_id": "Utilisateur introuvable."},
            "Cette personne est introuvable dans l'annuaire.",
            user_id=data.user_id,
        )
        with self.db.begin():
            member = committees.add_member(self.db, actor, call_id, person)
            return {"user_id": member.user_id, "full_name": member.full_name}

    @rpc
    def remove_member(self, actor: Actor, call_id: int, user_id: int) -> MemberRemoved:
        with self.db.begin():
            committees.remove_member(self.db, actor, call_id, user_id)
        return {"removed": user_id}

    @rpc
    def assign(self, actor: Actor, evaluation_id: int, data: UserIn) -> Assigned:
        with self.db.begin():
            assignment = committees.assign(self.db, actor, evaluation_id, data.user_id)
            return {
                "evaluation_id": evaluation_id,
                "user_id": assignment.evaluator_user_id,
                "evaluator_name": assignment.evaluator_name,
                "status": assignment.status,
            }

    @rpc
    def assignment_proposal(
        self, actor: Actor, call_id: int, query: ProposalQuery
    ) -> AssignmentProposal:
        """The bulk assignment the platform proposes; nothing is saved."""
        committee, proposal, detected = committees.propose(
            self.db, actor, call_id, query.per_application
        )
        return views.proposal_view(committee, proposal, detected)

    @rpc
    def assign_in_bulk(self, actor: Actor, call_id: int, data: BulkAssignmentIn) -> BulkAssigned:
        with self.db.begin():
            made = committees.assign_in_bulk(
                self.db, actor, call_id, data.per_application, data.proposal
            )
        return {"per_application": data.per_application, "assigned": made}

    @rpc
    def unassign(self, actor: Actor, evaluation_id: int, user_id: int) -> Unassigned:
        with self.db.begin():
            committees.unassign(self.db, actor, evaluation_id, user_id)
        return {"evaluation_id": evaluation_id, "removed": user_id}

    @rpc
    def record_conflict(self, actor: Actor, call_id: int, data: ConflictIn) -> ConflictRecorded:
        """The admin records a conflict of interest between an evaluator and an institution."""
        access.ensure_admin(actor)
        if data.user_id is None:
            raise invalid(
                "Choisissez l'évaluatrice ou l'évaluateur concerné.",
                {"user_id": "Ce champ est obligatoire."},
            )
        with self.db.begin():
            conflict, withdrawn = committees.record_conflict(
                self.db,
                actor,
                call_id,
                data.user_id,
                data.organisation_key,
                data.reason,
            )
            return {"organisation_name": conflict.organisation_name, "withdrawn": withdrawn}

    @rpc
    def reopen(self, actor: Actor, evaluation_id: int, data: ReopenIn) -> Reopened:
        with self.db.begin():
            assignment = evaluations.reopen(
                self.db, actor, evaluation_id, data.user_id, data.reason
            )
            return {
                "evaluation_id": evaluation_id,
                "user_id": assignment.evaluator_user_id,
                "status": assignment.status,
            }

    @rpc
    def record_consensus(
        self, actor: Actor, evaluation_id: int, data: ConsensusIn
    ) -> ConsensusRecorded:
        with self.db.begin():
            row = evaluations.record_consensus(
                self.db,
                actor,
                evaluation_id,
                data.criterion_id,
                data.score,
                data.justification,
            )
            evaluation = row.evaluation
            return {
                "evaluation_id": evaluation.id,
                "criterion_id": row.criterion_id,
                "score": views.num(row.score),
                "total": views.num(evaluation.total),
                "qualified": evaluation.qualified,
            }

    @rpc
    def record_recommendation(
        self, actor: Actor, call_id: int, data: RecommendationIn
    ) -> RecommendationRecorded:
        with self.db.begin():
            recommendation = designation.record_recommendation(
                self.db,
                actor,
                call_id,
                data.education_order,
                data.evaluation_ids,
                data.comment,
            )
            return {
                "education_order": recommendation.education_order,
                "evaluation_ids": list(recommendation.evaluation_ids),
            }

    @rpc
    def decide(self, actor: Actor, evaluation_id: int, data: DecisionIn) -> DecisionRecorded:
        """The minister's decision, recorded by a ministry admin."""
        with self.db.begin():
            evaluation = designation.decide(
                self.db,
                actor,
                evaluation_id,
                data.designated,
                data.decision_date,
                data.justification,
            )
            return {
                "evaluation_id": evaluation.id,
                "organisation_name": evaluation.organisation_name,
                "education_order": evaluation.education_order,
                "decision": evaluation.decision,
                "decision_label": views.DECISION_LABELS[evaluation.decision],
                "decision_date": evaluation.decision_date.isoformat(),
                "qualified": evaluation.qualified,
            }

    @rpc
    def committee_csv(self, actor: Actor, call_id: int) -> CsvReply:
        view = views.committee_view(self.db, actor, call_id)
        return {
            "filename": f"comite-evaluation-appel-{call_id}.csv",
            "content": letters.matrix_csv(view),
        }

    @rpc
    def committee_pdf(self, actor: Actor, call_id: int) -> FileReply:
        view = views.committee_view(self.db, actor, call_id)
        ministry = ministries.at(self.db, clock.today())
        self.db.rollback()
        return _file(
            f"comite-evaluation-appel-{call_id}.pdf",
            render_pdf(letters.report_html(view, ministry)),
        )

    # -- the ministry's table -----------------------------------------------------------------

    @rpc
    def list_ministries(self, actor: Actor) -> list[MinistryPeriod]:
        return ministries.listing(self.db, actor)

    @rpc
    def save_ministry(self, actor: Actor, data: MinistryPeriodIn) -> MinistryPeriod:
        with self.db.begin():
            return ministries.view(ministries.save(self.db, actor, data))

    @rpc
    def remove_ministry(self, actor: Actor, since: date) -> MinistryRemoved:
        with self.db.begin():
            return {"removed": ministries.remove(self.db, actor, since)}

    # -- institutions and letters ----------------------------------------------------------------

    @rpc
    def my_results(self, actor: Actor) -> list[InstitutionResult]:
        return views.institution_results(self.db, actor)

    @rpc
    def get_letter(self, actor: Actor, evaluation_id: int) -> FileReply:
        """The decision letter: the ministry staff's for any decided application, an
        institution's for its own (another institution's is "not found")."""
        evaluation = self.db.get(Evaluation, evaluation_id)
        allowed = evaluation is not None and (
            actor.role in access.STAFF_ROLES
            or (actor.is_institution and evaluation.organisation_id == actor.organisation_id)
        )
        if not allowed or evaluation.status != EVAL_DECIDED:
            raise not_found("Aucune lettre : la décision de la ou du ministre n'est pas rendue.")
        return _file(letters.letter_filename(evaluation), self._letter(evaluation))

    @rpc
    def letter_pdf_for_delivery(self, evaluation_id: int) -> DeliveryFile:
        """For services, not users (the gateway never exposes it): the decision letter to
        attach to the ``cerac.designated`` / ``cerac.not_designated`` e-mails."""
        evaluation = self.db.get(Evaluation, evaluation_id)
        if evaluation is None or evaluation.status != EVAL_DECIDED:
            raise not_found("Aucune lettre : la décision n'est pas rendue.")
        content = self._letter(evaluation)
        return {
            "filename": letters.letter_filename(evaluation),
            "content_base64": base64.b64encode(content).decode("ascii"),
            "mime": "application/pdf",
        }

    def _letter(self, evaluation: Evaluation) -> bytes:
        """The letter as first rendered after the decision (kept: it never changes),
        addressed to the institution's director general as the directory knows them."""
        if evaluation.letter_pdf is not None:
            return evaluation.letter_pdf
        evaluation_id, organisation_id = evaluation.id, evaluation.organisation_id
        self.db.rollback()  # no transaction held open across the directory's look-ups
        recipient = organisation = None
        if organisation_id is not None:
            organisation = self._timed(
                self.gateway, "get_organisation", organisation_id=organisation_id
            )
            directors = self._timed(
                self.gateway,
                "users_of_organisation",
                organisation_id=organisation_id,
                roles=[Role.DIRECTOR_GENERAL],
            )
            recipient = next((p for p in directors if p.get("active", True)), None)
        evaluation = self.db.get(Evaluation, evaluation_id)
        if evaluation.letter_pdf is None:
            evaluation.letter_pdf = letters.render_letter(evaluation, recipient, organisation)
            self.db.commit()
        return evaluation.letter_pdf
