"""Views of calls and applications, shaped for the actor asking: plain dicts that the
contract's replies (``rac_shared/contracts/applications.py``) validate on the way out."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rac_shared.actor import ROLE_LABELS, Actor, Role
from rac_shared.clock import aware, clock, end_of_day
from rac_shared.contracts.applications import (
    AttachmentKind,
    CallStatus,
    ComplementKind,
    ComplementStatus,
    QuestionKind,
    ReviewAction,
)
from services.applications import access, complements
from services.applications.access import application_of
from services.applications.admissibility import RULES
from services.applications.calls import (
    GROUP_LABELS,
    call_problems,
    concerns,
    deadline_passed,
    describe_change,
    grid_problems,
    guide_of,
)
from services.applications.dossiers import (
    STATUS_LABELS,
    answers_of,
    capacity_for,
    checklist,
    receipt_ready,
    submission_problems,
)
from services.applications.models import (
    APP_COMPLEMENTS,
    APP_DRAFT,
    APP_SUBMITTED,
    APP_WITHDRAWN,
    CALL_DRAFT,
    CALL_PUBLISHED,
    COMPLEMENT_PENDING,
    DEPOSITED,
    Application,
    Attachment,
    Call,
)
from services.applications.receipt import CAPACITY_LABELS
from services.applications.review import DECISION_LABELS, review_state

CALL_STATUS_LABELS = CallStatus.labels()
KIND_LABELS = QuestionKind.labels()


def _iso(value) -> str | None:
    if value is None:
        return None
    return aware(value).isoformat() if hasattr(value, "hour") else value.isoformat()


def attachment_view(attachment: Attachment) -> dict:
    return {
        "id": attachment.id,
        "kind": attachment.kind,
        "kind_label": AttachmentKind.label_of(attachment.kind),
        "question_id": attachment.question_id,
        "filename": attachment.filename,
        "mime": attachment.mime,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "uploaded_by": attachment.uploaded_by_name,
        "uploaded_at": _iso(attachment.uploaded_at),
    }


def call_summary(call: Call) -> dict:
    return {
        "id": call.id,
        "title": call.title,
        "status": call.status,
        "status_label": CALL_STATUS_LABELS[call.status],
        "education_orders": list(call.education_orders or []),
        "launch_date": _iso(call.launch_date),
        "deadline_date": _iso(call.deadline_date),
        "deadline_at": end_of_day(call.deadline_date).isoformat(),
        "deadline_passed": deadline_passed(call),
        "analysis_date": _iso(call.analysis_date),
        "designation_date": _iso(call.designation_date),
        "experimentation_years": list(call.experimentation_years or []),
        "version": call.version,
    }


def grid_view(call: Call) -> dict:
    """The evaluation grid as other services read it (scoring forms its committee)."""
    return {
        "call_id": call.id,
        "title": call.title,
        "status": call.status,
        "version": call.version,
        "education_orders": list(call.education_orders or []),
        "experimentation_years": list(call.experimentation_years or []),
        "criteria": [
            {
                "id": c.id,
                "group": c.group,
                "group_label": GROUP_LABELS[c.group],
                "position": c.position,
                "label": c.label,
                "weight": c.weight,
                "threshold": c.threshold,
            }
            for c in sorted(call.criteria, key=lambda c: c.position)
        ],
    }


def call_view(session: Session, actor: Actor, call: Call) -> dict:
    guide = guide_of(session, call.id)
    view = call_summary(call)
    view.update(
        {
            "guide": attachment_view(guide) if guide else None,
            "sections": [
                {
                    "id": s.id,
                    "position": s.position,
                    "title": s.title,
                    "description": s.description,
                    "mandate_part": s.mandate_part,
                    "questions": [
                        {
                            "id": q.id,
                            "position": q.position,
                            "label": q.label,
                            "help_text": q.help_text,
                            "kind": q.kind,
                            "kind_label": KIND_LABELS[q.kind],
                            "max_length": q.max_length,
                            "options": q.options,
                            "required": q.required,
                            "must_accept": q.must_accept,
                        }
                        for q in sorted(s.questions, key=lambda q: q.position)
                    ],
                }
                for s in sorted(call.sections, key=lambda s: s.position)
            ],
            "criteria": [
                {
                    "id": c.id,
                    "group": c.group,
                    "group_label": GROUP_LABELS[c.group],
                    "position": c.position,
                    "label": c.label,
                    "weight": c.weight,
                    "threshold": c.threshold,
                }
                for c in sorted(call.criteria, key=lambda c: c.position)
            ],
            "grid_total": sum(c.weight for c in call.criteria),
            "grid_problems": grid_problems(call.criteria),
            "amendments": [
                {
                    "number": a.number,
                    "at": _iso(a.at),
                    "by": a.by_name,
                    "reason": a.reason,
                    "changes": a.changes,
                    "descriptions": [describe_change(f, c) for f, c in a.changes.items()],
                }
                for a in call.amendments
            ],
            "can_manage": actor.role == Role.MINISTRY_ADMIN,
            "problems": call_problems(session, call)
            if call.status == CALL_DRAFT and actor.is_ministry
            else [],
            "my_application": None,
            "can_apply": False,
            "apply_blocker": None,
        }
    )
    if actor.is_institution:
        mine = application_of(session, actor, call.id)
        if mine is not None:
            view["my_application"] = {
                "id": mine.id,
                "status": mine.status,
                "status_label": STATUS_LABELS[mine.status],
                "reference": mine.reference,
            }
        elif call.status != CALL_PUBLISHED:
            view["apply_blocker"] = "L'appel d'intérêt est fermé."
        elif deadline_passed(call):
            view["apply_blocker"] = "La date limite de dépôt est passée."
        elif not concerns(call, actor.organisation_kind.value):
            view["apply_blocker"] = (
                "Cet appel ne vise pas l'ordre d'enseignement de votre établissement."
            )
        else:
            view["can_apply"] = True
    return view


def application_row(application: Application) -> dict:
    return {
        "id": application.id,
        "call_id": application.call_id,
        "organisation_id": application.organisation_id,
        "organisation_name": application.organisation_name,
        "organisation_kind": application.organisation_kind,
        "education_order": application.education_order,
        "region": application.region,
        "status": application.status,
        "status_label": STATUS_LABELS[application.status],
        "reference": application.reference,
        "submitted_at": _iso(application.submitted_at),
        "paper_received_on": _iso(application.paper_received_on),
        "paper_late": application.paper_late,
        "admissibility": application.admissibility,
        "admissibility_label": DECISION_LABELS.get(application.admissibility or "")
        or ("À décider" if application.status in DEPOSITED else None),
    }


def application_view(session: Session, actor: Actor, application: Application) -> dict:
    call = application.call
    view = application_row(application)
    signatures = [
        {
            "user_id": s.user_id,
            "full_name": s.full_name,
            "role": s.role,
            "role_label": ROLE_LABELS.get(Role(s.role), s.role),
            "capacity": s.capacity,
            "capacity_label": CAPACITY_LABELS.get(s.capacity, s.capacity),
            "signed_at": _iso(s.signed_at),
        }
        for s in application.signatures
    ]
    items = checklist(application)
    open_for_edit = (
        application.status == APP_DRAFT
        and call.status == CALL_PUBLISHED
        and not deadline_passed(call)
    )
    mine = actor.is_institution and application.organisation_id == actor.organisation_id
    sign_blocker = None
    can_sign = False
    if mine and open_for_edit:
        if any(s.user_id == actor.user_id for s in application.signatures):
            sign_blocker = "Vous avez déjà signé cette demande."
        else:
            try:
                capacity_for(actor, application)
                can_sign = True
            except Exception as exc:  # DomainError: the reason the role may not sign
                sign_blocker = getattr(exc, "message", str(exc))
    problems = submission_problems(application)
    submitted = application.status in DEPOSITED
    ready = submitted and receipt_ready(session, application)
    view.update(
        {
            "call": call_view(session, actor, call),
            "answers": {str(k): v for k, v in answers_of(application).items()},
            "attachments": [attachment_view(a) for a in application.attachments],
            "signatures": signatures,
            "checklist": items,
            "complete": not problems,
            "problems": problems,
            "content_sha256": application.content_sha256,
            "submitted_by": application.submitted_by_name,
            "withdrawn_at": _iso(application.withdrawn_at),
            "paper_recorded_by": application.paper_recorded_by_name,
            "paper_recorded_at": _iso(application.paper_recorded_at),
            "decided_at": _iso(application.decided_at),
            "decided_by": application.decided_by_name,
            "decision_comment": application.decision_comment,
            "can_edit": bool(mine and open_for_edit),
            "can_sign": can_sign,
            "sign_blocker": sign_blocker,
            "can_submit": bool(mine and open_for_edit and not problems),
            "can_withdraw": bool(
                mine
                and application.status in (APP_DRAFT, APP_SUBMITTED)
                and application.admissibility is None
                and not deadline_passed(call)
            ),
            "can_reopen": bool(
                mine
                and application.status == APP_WITHDRAWN
                and call.status == CALL_PUBLISHED
                and not deadline_passed(call)
            ),
            "has_receipt": submitted and ready,
            "receipt_pending": submitted and not ready,
            "can_review": access.is_staff(actor)
            and application.status == APP_SUBMITTED
            and application.admissibility is None,
            "rules": None,
            "log": None,
            "complements": complements_view(actor, application, mine),
        }
    )
    if access.is_staff(actor) and application.status in DEPOSITED:
        view["rules"] = review_state(application)
        view["log"] = [
            {
                "action": e.action,
                "action_label": ReviewAction.label_of(e.action),
                "rule": e.rule,
                "rule_label": RULES.get(e.rule or "", ""),
                "passed": e.passed,
                "text": e.text,
                "by": e.by_name,
                "at": _iso(e.at),
            }
            for e in application.review_log
        ]
    elif application.admissibility is not None and mine:
        # The institution sees the decided rules (and why) once the decision is made.
        view["rules"] = [
            {**r, "justification": r["justification"]} for r in review_state(application)
        ]
    return view


# -- the « demande de compléments » ---------------------------------------------------------


def _item_view(item, questions: dict) -> dict:
    question = questions.get(item.question_id) if item.question_id else None
    return {
        "id": item.id,
        "position": item.position,
        "label": item.label,
        "kind": item.kind,
        "kind_label": ComplementKind.label_of(item.kind),
        "piece_kind": item.piece_kind,
        "piece_kind_label": AttachmentKind.label_of(item.piece_kind) if item.piece_kind else None,
        "question_id": item.question_id,
        "question_label": question.label if question else None,
        "text": item.text,
        "previous_text": item.previous_text,
        "attachment": attachment_view(item.attachment) if item.attachment else None,
        "provided": complements.is_provided(item),
        "provided_by": item.provided_by_name,
        "provided_at": _iso(item.provided_at),
    }


def complement_request_view(request, questions: dict, now) -> dict:
    return {
        "id": request.id,
        "number": request.number,
        "status": request.status,
        "status_label": ComplementStatus.label_of(request.status),
        "message": request.message or "",
        "due_date": _iso(request.due_date),
        "due_at": end_of_day(request.due_date).isoformat(),
        "due_passed": not complements.in_time(request.due_date, now),
        "requested_by": request.requested_by_name,
        "requested_at": _iso(request.requested_at),
        "items": [_item_view(item, questions) for item in request.items],
        "missing": complements.missing_items(request.items),
        "extensions": [
            {
                "previous_due_date": e["previous_due_date"],
                "due_date": e["due_date"],
                "by": e.get("by"),
                "at": e["at"],
            }
            for e in request.extensions or []
        ],
        "answered_by": request.answered_by_name,
        "answered_at": _iso(request.answered_at),
        "answer_comment": request.answer_comment,
        "resumed_by": request.resumed_by_name,
        "resumed_at": _iso(request.resumed_at),
        "resume_note": request.resume_note,
    }


def complements_view(actor: Actor, application: Application, mine: bool) -> dict | None:
    """The exchanges and what the actor may do now: the ministry's staff and the applying
    institution only (an evaluator sees none of it)."""
    staff = access.is_staff(actor)
    if not (staff or mine):
        return None
    now = clock.now()
    questions = {q.id: q for section in application.call.sections for q in section.questions}
    current = complements.current_request(application)
    waiting = (
        application.status == APP_COMPLEMENTS
        and current is not None
        and current.status == COMPLEMENT_PENDING
    )
    late = waiting and not complements.in_time(current.due_date, now)
    can_sign = False
    if mine and waiting and not late:
        try:
            capacity_for(actor, application)
            can_sign = not any(s.user_id == actor.user_id for s in application.signatures)
        except Exception:  # DomainError: the actor's role may not sign
            can_sign = False
    return {
        "requests": [
            complement_request_view(r, questions, now) for r in application.complement_requests
        ],
        "can_request": staff
        and application.status == APP_SUBMITTED
        and application.admissibility is None,
        "can_answer": bool(mine and waiting and not late),
        "answer_blocker": (
            f"Le délai de réponse ({complements.deadline_text(current.due_date)}) est passé : "
            "la réponse ne peut plus être transmise. Communiquez avec l'analyste du Ministère, "
            "qui peut prolonger le délai."
        )
        if mine and late
        else None,
        "can_sign": can_sign,
        "can_extend": bool(staff and waiting),
        "can_resume": bool(
            staff
            and application.status == APP_COMPLEMENTS
            and current is not None
            and complements.may_resume(current, now)
        ),
    }
