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

import eventlet
from nameko.rpc import RpcProxy
from sqlalchemy import select

from rac_shared.actor import Actor
from rac_shared.bus import OutboxRelayRunner
from rac_shared.consumer import on_event
from rac_shared.contracts import ensure_ministry, health_report
from rac_shared.db import Database
from rac_shared.errors import invalid, not_found
from rac_shared.events import ApplicationAdmissibilityDecided
from rac_shared.logs import CorrelationId
from rac_shared.outbox import already_processed, first_time
from rac_shared.pdf import render_pdf
from rac_shared.rpc import rpc
from rac_shared.settings import get_settings
from services.scoring import access, committees, designation, evaluations, letters, views
from services.scoring.models import EVAL_DECIDED, Base, Committee, Evaluation
from services.scoring.schemas import (
    ConflictIn,
    ConsensusIn,
    DecisionIn,
    ParametersIn,
    RecommendationIn,
    ReopenIn,
    ScoresIn,
    UserIn,
    parse,
)

OPEN_HANDLER = "scoring.open_evaluation"


def _file(filename: str, content: bytes, mime: str = "application/pdf") -> dict:
    return {
        "filename": filename,
        "mime": mime,
        "content_b64": base64.b64encode(content).decode("ascii"),
    }


class ScoringService:
    name = "scoring"

    db = Database(name, Base.metadata)
    relay = OutboxRelayRunner(name, Base.metadata)
    correlation_id = CorrelationId()
    applications = RpcProxy("applications")
    gateway = RpcProxy("gateway")

    def _timed(self, proxy, method: str, **kwargs):
        """Another service's answer, within the RPC time limit (then the event is retried)."""
        with eventlet.Timeout(get_settings().rpc_timeout):
            return getattr(proxy, method)(**kwargs)

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
    def health(self) -> dict:
        return health_report(self.name, self.db)

    @rpc
    def network_figures(self, actor: dict) -> dict:
        """The ministry dashboard's figures kept here (aggregates only, ministry only)."""
        from services.scoring import figures

        ensure_ministry(Actor.model_validate(actor))
        return figures.network_figures(self.db)

    @rpc
    def home_summary(self, actor: dict) -> list[dict]:
        """Next actions on the user's home page (scores to give, decisions to record,
        an institution's result)."""
        return views.home_summary(self.db, Actor.model_validate(actor))

    # -- evaluators ------------------------------------------------------------------------------

    @rpc
    def workspace(self, actor: dict) -> dict:
        return views.workspace(self.db, Actor.model_validate(actor))

    @rpc
    def get_assignment(self, actor: dict, evaluation_id: int) -> dict:
        """The actor's own assignment (not found when not assigned or in conflict): the
        gateway asks this before showing the application's content to an evaluator."""
        return views.assignment_view(self.db, Actor.model_validate(actor), int(evaluation_id))

    @rpc
    def ensure_may_read_application(self, actor: dict, application_id: int) -> None:
        """The gateway asks this before an evaluator reads an application's content."""
        evaluations.ensure_may_read_application(
            self.db, Actor.model_validate(actor), int(application_id)
        )

    @rpc
    def save_scores(self, actor: dict, evaluation_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(ScoresIn, data)
        entries = {s.criterion_id: (s.score, s.comment) for s in payload.scores}
        if len(entries) != len(payload.scores):
            raise invalid("Un même critère est noté deux fois.")
        with self.db.begin():
            evaluations.save_scores(self.db, user, int(evaluation_id), entries, payload.submit)
        return views.assignment_view(self.db, user, int(evaluation_id))

    @rpc
    def declare_conflict(self, actor: dict, call_id: int, data: dict) -> dict:
        """The evaluator declares a conflict of interest with an institution of the call."""
        user = Actor.model_validate(actor)
        payload = parse(ConflictIn, data)
        if payload.user_id not in (None, user.user_id):
            raise invalid("Vous déclarez vos propres conflits d'intérêts seulement.")
        with self.db.begin():
            conflict, withdrawn = committees.record_conflict(
                self.db,
                user,
                int(call_id),
                user.user_id,
                payload.organisation_key,
                payload.reason,
            )
            return {"organisation_name": conflict.organisation_name, "withdrawn": withdrawn}

    # -- the committee -------------------------------------------------------------------------

    @rpc
    def list_committees(self, actor: dict) -> list[dict]:
        return views.committees_list(self.db, Actor.model_validate(actor))

    @rpc
    def get_committee(self, actor: dict, call_id: int) -> dict:
        return views.committee_view(self.db, Actor.model_validate(actor), int(call_id))

    @rpc
    def set_parameters(self, actor: dict, call_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(ParametersIn, data)
        with self.db.begin():
            committees.set_parameters(
                self.db,
                user,
                int(call_id),
                payload.min_evaluators,
                payload.spread_gap_percent,
                payload.overall_threshold,
            )
        return views.committee_view(self.db, user, int(call_id))["parameters"]

    @rpc
    def committee_page(self, actor: dict, call_id: int) -> dict:
        """The committee and, for its administrator, who could join it: one call per page."""
        user = Actor.model_validate(actor)
        view = views.committee_view(self.db, user, int(call_id))
        candidates = self._member_candidates(user, int(call_id)) if view["can_manage"] else []
        return {"committee": view, "candidates": candidates}

    @rpc
    def member_candidates(self, actor: dict, call_id: int) -> list[dict]:
        """Ministry evaluators and analysts who could sit on the committee."""
        return self._member_candidates(Actor.model_validate(actor), int(call_id))

    def _member_candidates(self, user: Actor, call_id: int) -> list[dict]:
        access.ensure_admin(user)
        committee = committees.load_committee(self.db, int(call_id))
        seated = {m.user_id for m in committee.members}
        self.db.rollback()
        people = self._timed(
            self.gateway,
            "users_of_organisation",
            organisation_id=user.organisation_id,
            roles=sorted(committees.MEMBER_ROLES),
        )
        return [
            {"user_id": p["id"], "full_name": p["full_name"], "role": p["role"]}
            for p in people
            if p["id"] not in seated
        ]

    @rpc
    def add_member(self, actor: dict, call_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(UserIn, data)
        access.ensure_admin(user)
        committees.load_committee(self.db, int(call_id))  # not found before the look-up
        self.db.rollback()
        try:
            person = self._timed(self.gateway, "get_user", user_id=payload.user_id)
        except Exception as exc:
            if getattr(exc, "code", None) == "not_found":
                raise invalid(
                    "Cette personne est introuvable dans l'annuaire.",
                    {"user_id": "Utilisateur introuvable."},
                ) from None
            raise
        with self.db.begin():
            member = committees.add_member(self.db, user, int(call_id), person)
            return {"user_id": member.user_id, "full_name": member.full_name}

    @rpc
    def remove_member(self, actor: dict, call_id: int, user_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            committees.remove_member(self.db, user, int(call_id), int(user_id))
        return {"removed": int(user_id)}

    @rpc
    def assign(self, actor: dict, evaluation_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(UserIn, data)
        with self.db.begin():
            assignment = committees.assign(self.db, user, int(evaluation_id), payload.user_id)
            return {
                "evaluation_id": int(evaluation_id),
                "user_id": assignment.evaluator_user_id,
                "evaluator_name": assignment.evaluator_name,
                "status": assignment.status,
            }

    @rpc
    def unassign(self, actor: dict, evaluation_id: int, user_id: int) -> dict:
        user = Actor.model_validate(actor)
        with self.db.begin():
            committees.unassign(self.db, user, int(evaluation_id), int(user_id))
        return {"evaluation_id": int(evaluation_id), "removed": int(user_id)}

    @rpc
    def record_conflict(self, actor: dict, call_id: int, data: dict) -> dict:
        """The admin records a conflict of interest between an evaluator and an institution."""
        user = Actor.model_validate(actor)
        payload = parse(ConflictIn, data)
        access.ensure_admin(user)
        if payload.user_id is None:
            raise invalid(
                "Choisissez l'évaluatrice ou l'évaluateur concerné.",
                {"user_id": "Ce champ est obligatoire."},
            )
        with self.db.begin():
            conflict, withdrawn = committees.record_conflict(
                self.db,
                user,
                int(call_id),
                payload.user_id,
                payload.organisation_key,
                payload.reason,
            )
            return {"organisation_name": conflict.organisation_name, "withdrawn": withdrawn}

    @rpc
    def reopen(self, actor: dict, evaluation_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(ReopenIn, data)
        with self.db.begin():
            assignment = evaluations.reopen(
                self.db, user, int(evaluation_id), payload.user_id, payload.reason
            )
            return {
                "evaluation_id": int(evaluation_id),
                "user_id": assignment.evaluator_user_id,
                "status": assignment.status,
            }

    @rpc
    def record_consensus(self, actor: dict, evaluation_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(ConsensusIn, data)
        with self.db.begin():
            row = evaluations.record_consensus(
                self.db,
                user,
                int(evaluation_id),
                payload.criterion_id,
                payload.score,
                payload.justification,
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
    def record_recommendation(self, actor: dict, call_id: int, data: dict) -> dict:
        user = Actor.model_validate(actor)
        payload = parse(RecommendationIn, data)
        with self.db.begin():
            recommendation = designation.record_recommendation(
                self.db,
                user,
                int(call_id),
                payload.education_order,
                payload.evaluation_ids,
                payload.comment,
            )
            return {
                "education_order": recommendation.education_order,
                "evaluation_ids": list(recommendation.evaluation_ids),
            }

    @rpc
    def decide(self, actor: dict, evaluation_id: int, data: dict) -> dict:
        """The minister's decision, recorded by a ministry admin."""
        user = Actor.model_validate(actor)
        payload = parse(DecisionIn, data)
        with self.db.begin():
            evaluation = designation.decide(
                self.db,
                user,
                int(evaluation_id),
                payload.designated,
                payload.decision_date,
                payload.justification,
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
    def committee_csv(self, actor: dict, call_id: int) -> dict:
        view = views.committee_view(self.db, Actor.model_validate(actor), int(call_id))
        return {
            "filename": f"comite-evaluation-appel-{int(call_id)}.csv",
            "content": letters.matrix_csv(view),
        }

    @rpc
    def committee_pdf(self, actor: dict, call_id: int) -> dict:
        view = views.committee_view(self.db, Actor.model_validate(actor), int(call_id))
        self.db.rollback()
        return _file(
            f"comite-evaluation-appel-{int(call_id)}.pdf", render_pdf(letters.report_html(view))
        )

    # -- institutions and letters ----------------------------------------------------------------

    @rpc
    def my_results(self, actor: dict) -> list[dict]:
        return views.institution_results(self.db, Actor.model_validate(actor))

    @rpc
    def get_letter(self, actor: dict, evaluation_id: int) -> dict:
        """The decision letter: the ministry staff's for any decided application, an
        institution's for its own (another institution's is "not found")."""
        user = Actor.model_validate(actor)
        evaluation = self.db.get(Evaluation, int(evaluation_id))
        allowed = evaluation is not None and (
            user.role in access.STAFF_ROLES
            or (user.is_institution and evaluation.organisation_id == user.organisation_id)
        )
        if not allowed or evaluation.status != EVAL_DECIDED:
            raise not_found("Aucune lettre : la décision de la ou du ministre n'est pas rendue.")
        return _file(letters.letter_filename(evaluation), self._letter(evaluation))

    @rpc
    def letter_pdf_for_delivery(self, evaluation_id: int) -> dict:
        """For services, not users (the gateway never exposes it): the decision letter to
        attach to the ``cerac.designated`` / ``cerac.not_designated`` e-mails."""
        evaluation = self.db.get(Evaluation, int(evaluation_id))
        if evaluation is None or evaluation.status != EVAL_DECIDED:
            raise not_found("Aucune lettre : la décision n'est pas rendue.")
        content = self._letter(evaluation)
        return {
            "filename": letters.letter_filename(evaluation),
            "content_base64": base64.b64encode(content).decode("ascii"),
            "mime": "application/pdf",
        }

    def _letter(self, evaluation: Evaluation) -> bytes:
        """The letter as first rendered after the decision (kept: it never changes)."""
        if evaluation.letter_pdf is not None:
            return evaluation.letter_pdf
        content = letters.render_letter(evaluation)
        evaluation.letter_pdf = content
        self.db.commit()
        return content
