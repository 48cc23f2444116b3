"""Institutions' applications (demandes de reconnaissance): answers, attachments,
signatures, submission with receipt, withdrawal, paper copy, admissibility review and
decision, and the ministry's table. Plain functions over a SQLAlchemy session."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.actor import Actor, Role
from rac_shared.clock import clock, end_of_day
from rac_shared.contracts.applications import (
    Admissibility,
    ApplicationStatus,
    AttachmentKind,
    TableQuery,
)
from rac_shared.errors import conflict, invalid, not_found
from rac_shared.events import (
    AdmissibilityRuleOutcome,
    ApplicationAdmissibilityDecided,
    ApplicationSubmitted,
    ApplicationWithdrawn,
)
from rac_shared.formatting import long_date
from rac_shared.french import plural
from rac_shared.outbox import record_event
from services.applications import access
from services.applications.admissibility import (
    ORDER_OF_KIND,
    RULES,
    Facts,
    SignatureFact,
    evaluate,
    signatures_status,
    signing_capacity,
)
from services.applications.calls import concerns, deadline_passed, get_call
from services.applications.files import check_upload
from services.applications.models import (
    ADMISSIBLE,
    APP_DRAFT,
    APP_SUBMITTED,
    APP_WITHDRAWN,
    CALL_CLOSED,
    CALL_PUBLISHED,
    NOT_ADMISSIBLE,
    Answer,
    Application,
    Attachment,
    Call,
    Question,
    ReviewLogEntry,
    RuleReview,
    Signature,
)

MAX_ATTACHMENTS = 40
# What an application may carry (the call's guide is the call's, never a piece).
ATTACHMENT_KINDS = {k.value: k.label for k in AttachmentKind if k != AttachmentKind.GUIDE}
STATUS_LABELS = ApplicationStatus.labels()
DECISION_LABELS = Admissibility.labels()
YES, NO = "oui", "non"


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive; they are stored in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


# -- loading with tenant scoping ---------------------------------------------------------


def load(session: Session, actor: Actor, application_id: int, for_update: bool = False):
    """The application if ``actor`` may read it; another tenant's is "not found"."""
    access.ensure_in_area(actor)
    query = select(Application).where(Application.id == application_id)
    if for_update:
        query = query.with_for_update()
    application = session.scalar(query)
    if application is None or not can_read(actor, application):
        raise not_found("Demande introuvable.")
    return application


def can_read(actor: Actor, application: Application) -> bool:
    if actor.is_institution:
        return application.organisation_id == actor.organisation_id
    if access.is_staff(actor):
        return application.submitted_at is not None
    if actor.role == Role.MINISTRY_EVALUATOR:
        return application.admissibility == ADMISSIBLE
    return False


def application_of(session: Session, actor: Actor, call_id: int) -> Application | None:
    """The actor's institution's application on a call, if any."""
    if not actor.is_institution:
        return None
    return session.scalar(
        select(Application).where(
            Application.call_id == call_id, Application.organisation_id == actor.organisation_id
        )
    )


def _editable(session: Session, actor: Actor, application_id: int) -> Application:
    access.ensure_institution(actor)
    application = load(session, actor, application_id, for_update=True)
    if application.status != APP_DRAFT:
        raise conflict(
            "La demande a été déposée ou retirée : elle ne peut plus être modifiée."
            if application.status == APP_SUBMITTED
            else "La demande est retirée : rouvrez-la avant de la modifier."
        )
    _ensure_call_open(application.call)
    return application


def _ensure_call_open(call: Call) -> None:
    if call.status == CALL_CLOSED:
        raise conflict("L'appel d'intérêt est fermé.")
    if call.status != CALL_PUBLISHED:
        raise not_found("Appel d'intérêt introuvable.")
    if deadline_passed(call):
        raise conflict(
            f"La date limite de dépôt ({long_date(call.deadline_date)}, 23 h 59, heure de "
            "Montréal) est passée."
        )


# -- opening -------------------------------------------------------------------------


def open_application(
    session: Session, actor: Actor, call_id: int, organisation: dict
) -> Application:
    """Start the actor's institution's application; ``organisation`` comes from the
    gateway's directory (by RPC), never from the request."""
    access.ensure_institution(actor)
    if organisation.get("id") != actor.organisation_id:
        raise invalid("L'établissement ne correspond pas à votre compte.")
    call = get_call(session, actor, call_id, for_update=True)
    existing = application_of(session, actor, call_id)
    if existing is not None:
        raise conflict(
            "Votre établissement a déjà une demande pour cet appel d'intérêt.",
            {"application_id": str(existing.id)},
        )
    _ensure_call_open(call)
    kind = organisation.get("kind") or actor.organisation_kind.value
    if not concerns(call, kind):
        raise invalid(f"Cet appel d'intérêt ne vise pas l'ordre {ORDER_OF_KIND.get(kind, '—')}.")
    now = clock.now()
    application = Application(
        call_id=call.id,
        organisation_id=actor.organisation_id,
        organisation_name=organisation.get("name") or "",
        organisation_code=organisation.get("code") or "",
        organisation_kind=kind,
        education_order=organisation.get("education_order") or ORDER_OF_KIND.get(kind),
        region=organisation.get("region"),
        status=APP_DRAFT,
        created_by_user_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise conflict("Votre établissement a déjà une demande pour cet appel d'intérêt.") from None
    return application


# -- content ---------------------------------------------------------------------------


def questions_of(call: Call) -> dict[int, Question]:
    return {q.id: q for s in call.sections for q in s.questions}


def answers_of(application: Application) -> dict[int, str]:
    return {a.question_id: a.value for a in application.answers}


def _content_changed(application: Application) -> int:
    """Any change voids the signatures given on the previous content."""
    application.updated_at = clock.now()
    removed = len(application.signatures)
    application.signatures.clear()
    return removed


def validate_answer(question: Question, value: str) -> tuple[str | None, str | None]:
    """(normalised value or None to clear, error message or None)."""
    value = (value or "").replace("\r\n", "\n").strip()
    if question.kind == "file":
        return None, "Joignez un fichier pour répondre à cette question."
    if not value:
        return None, None
    if question.kind == "text":
        if question.max_length and len(value) > question.max_length:
            return None, (
                f"La réponse compte {len(value)} caractères; le maximum est {question.max_length}."
            )
        return value, None
    if question.kind == "yes_no":
        if value.lower() not in (YES, NO):
            return None, "Répondez par oui ou par non."
        return value.lower(), None
    if question.kind == "choice":
        if value not in (question.options or []):
            return None, "Choisissez une des options proposées."
        return value, None
    return None, "Type de question inconnu."


def save_answers(
    session: Session, actor: Actor, application_id: int, section_id: int, answers: dict
) -> tuple[Application, int]:
    """Save one section's answers, all or nothing; returns signatures voided."""
    application = _editable(session, actor, application_id)
    section = next((s for s in application.call.sections if s.id == section_id), None)
    if section is None:
        raise not_found("Section introuvable dans ce formulaire.")
    questions = {q.id: q for q in section.questions}
    errors, cleaned = {}, {}
    for raw_id, value in answers.items():
        question = questions.get(int(raw_id))
        if question is None:
            errors[f"q{raw_id}"] = "Cette question n'appartient pas à la section."
            continue
        if question.kind == "file":
            continue
        normalised, error = validate_answer(question, value)
        if error:
            errors[f"q{question.id}"] = error
        else:
            cleaned[question.id] = normalised
    if errors:
        raise invalid("Certaines réponses sont invalides; rien n'a été enregistré.", errors)
    current = {a.question_id: a for a in application.answers}
    changed = False
    for question_id, value in cleaned.items():
        answer = current.get(question_id)
        if value is None:
            if answer is not None:
                application.answers.remove(answer)
                changed = True
        elif answer is None:
            application.answers.append(Answer(question_id=question_id, value=value))
            changed = True
        elif answer.value != value:
            answer.value = value
            changed = True
    removed = _content_changed(application) if changed else 0
    session.flush()
    return application, removed


def add_attachment(
    session: Session,
    actor: Actor,
    application_id: int,
    kind: str,
    filename: str,
    content: bytes,
    question_id: int | None = None,
) -> tuple[Attachment, int]:
    application = _editable(session, actor, application_id)
    if kind not in ATTACHMENT_KINDS:
        raise invalid("Type de pièce jointe inconnu.", {"kind": "Choisissez un type de pièce."})
    if kind == "answer":
        question = questions_of(application.call).get(question_id or 0)
        if question is None or question.kind != "file":
            raise invalid(
                "Cette pièce ne répond à aucune question de type fichier du formulaire.",
                {"question_id": "Question inconnue."},
            )
    else:
        question_id = None
    if len(application.attachments) >= MAX_ATTACHMENTS:
        raise invalid(f"Une demande compte au plus {MAX_ATTACHMENTS} pièces jointes.")
    checked = check_upload(filename, content)
    attachment = Attachment(
        application_id=application.id,
        question_id=question_id,
        kind=kind,
        filename=checked.filename,
        mime=checked.mime,
        size=checked.size,
        sha256=checked.sha256,
        content=content,
        uploaded_by_user_id=actor.user_id,
        uploaded_by_name=actor.full_name,
        uploaded_at=clock.now(),
    )
    application.attachments.append(attachment)
    removed = _content_changed(application)
    session.flush()
    return attachment, removed


def delete_attachment(
    session: Session, actor: Actor, application_id: int, attachment_id: int
) -> int:
    application = _editable(session, actor, application_id)
    attachment = next((a for a in application.attachments if a.id == attachment_id), None)
    if attachment is None:
        raise not_found("Pièce jointe introuvable.")
    application.attachments.remove(attachment)
    removed = _content_changed(application)
    session.flush()
    return removed


def get_attachment(
    session: Session, actor: Actor, application_id: int, attachment_id: int
) -> Attachment:
    application = load(session, actor, application_id)
    attachment = session.scalar(
        select(Attachment).where(
            Attachment.id == attachment_id, Attachment.application_id == application.id
        )
    )
    if attachment is None:
        raise not_found("Pièce jointe introuvable.")
    return attachment


# -- completeness and admissibility facts ----------------------------------------------


def section_status(application: Application) -> list[dict]:
    """Per section: complete or not, and the required questions still unanswered."""
    answers = answers_of(application)
    answered_files = {a.question_id for a in application.attachments if a.question_id}
    result = []
    for section in sorted(application.call.sections, key=lambda s: s.position):
        missing, refused = [], []
        for question in sorted(section.questions, key=lambda q: q.position):
            if question.kind == "file":
                done = question.id in answered_files
            else:
                done = bool(answers.get(question.id))
            if question.required and not done:
                missing.append(question.label)
            if question.must_accept and answers.get(question.id) == NO:
                refused.append(question.label)
        result.append(
            {
                "section_id": section.id,
                "title": section.title,
                "complete": not missing,
                "missing": missing,
                "refused": refused,
                "mandate_part": section.mandate_part,
            }
        )
    return result


def _count(application: Application, kind: str) -> int:
    return sum(1 for a in application.attachments if a.kind == kind)


def signature_facts(application: Application) -> tuple[SignatureFact, ...]:
    return tuple(
        SignatureFact(role=s.role, capacity=s.capacity, full_name=s.full_name)
        for s in application.signatures
    )


def facts_for(application: Application) -> Facts:
    sections = section_status(application)
    return Facts(
        organisation_kind=application.organisation_kind,
        education_order=application.education_order,
        call_orders=tuple(application.call.education_orders or ()),
        deadline_date=application.call.deadline_date,
        signatures=signature_facts(application),
        designation_attached=_count(application, "designation") > 0,
        incomplete_sections=tuple(s["title"] for s in sections if not s["complete"]),
        refused_commitments=tuple(s["title"] for s in sections if s["refused"] and s["complete"]),
        support_letters=_count(application, "support_letter"),
        official_documents=_count(application, "official_document"),
        submitted_at=aware(application.submitted_at),
        paper_received_on=application.paper_received_on,
    )


def checklist(application: Application) -> list[dict]:
    """The completeness checklist shown to the institution before submitting."""
    items = []
    for section in section_status(application):
        detail = ""
        if section["missing"]:
            detail = "À répondre : " + " · ".join(section["missing"])
        elif section["refused"]:
            detail = "Engagement non souscrit : la demande ne serait pas recevable."
        items.append(
            {
                "key": f"section-{section['section_id']}",
                "label": section["title"],
                "done": section["complete"] and not section["refused"],
                "detail": detail,
                "section_id": section["section_id"],
            }
        )
    letters, documents = (
        _count(application, "support_letter"),
        _count(application, "official_document"),
    )
    items.append(
        {
            "key": "support_letters",
            "label": "Au moins une lettre d'appui jointe",
            "done": letters > 0,
            "detail": plural(letters, "lettre jointe"),
            "section_id": None,
        }
    )
    items.append(
        {
            "key": "official_documents",
            "label": "Au moins un document officiel joint",
            "done": documents > 0,
            "detail": plural(documents, "document joint"),
            "section_id": None,
        }
    )
    signed, reason = signatures_status(
        application.organisation_kind,
        signature_facts(application),
        _count(application, "designation") > 0,
    )
    items.append(
        {
            "key": "signatures",
            "label": "Signatures requises",
            "done": signed,
            "detail": reason,
            "section_id": None,
        }
    )
    return items


def content_digest(application: Application, with_signatures: bool = True) -> str:
    """SHA-256 of the application's content in a canonical JSON form."""
    document = {
        "call_id": application.call_id,
        "organisation_id": application.organisation_id,
        "answers": sorted([a.question_id, a.value] for a in application.answers),
        "attachments": sorted(
            [a.kind, a.question_id or 0, a.filename, a.sha256] for a in application.attachments
        ),
    }
    if with_signatures:
        document["signatures"] = sorted(
            [s.user_id, s.full_name, s.role, s.capacity, aware(s.signed_at).isoformat()]
            for s in application.signatures
        )
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# -- signing, submitting, withdrawing --------------------------------------------------


def capacity_for(actor: Actor, application: Application) -> str:
    """The capacity in which ``actor`` would sign, or ``invalid`` with the reason."""
    try:
        return signing_capacity(
            application.organisation_kind,
            actor.role.value,
            _count(application, "designation") > 0,
        )
    except ValueError as exc:
        raise invalid(str(exc)) from None


def sign(session: Session, actor: Actor, application_id: int) -> Signature:
    application = _editable(session, actor, application_id)
    capacity = capacity_for(actor, application)
    if any(s.user_id == actor.user_id for s in application.signatures):
        raise conflict("Vous avez déjà signé cette demande.")
    signature = Signature(
        user_id=actor.user_id,
        full_name=actor.full_name,
        role=actor.role.value,
        capacity=capacity,
        signed_at=clock.now(),
        content_sha256=content_digest(application, with_signatures=False),
    )
    application.signatures.append(signature)
    session.flush()
    return signature


def submission_problems(application: Application) -> dict[str, str]:
    problems = {}
    for item in checklist(application):
        if not item["done"]:
            problems[item["key"]] = f"{item['label']} — {item['detail']}".rstrip(" —")
    return problems


def reference_for(application: Application) -> str:
    code = application.organisation_code or f"E{application.organisation_id}"
    return f"CERAC-{application.call.deadline_date.year}-{code}-{application.id:04d}"


def submit(session: Session, actor: Actor, application_id: int) -> Application:
    """Deposit the application: complete, signed, before the deadline; then read-only.

    The receipt's PDF is rendered afterwards, off the request (``pending_receipts``)."""
    application = _editable(session, actor, application_id)
    problems = submission_problems(application)
    if problems:
        raise invalid(
            "La demande ne peut pas être déposée : elle est incomplète ou il manque des "
            "signatures.",
            problems,
        )
    now = clock.now()
    application.status = APP_SUBMITTED
    application.submitted_at = application.updated_at = now
    application.submitted_by_user_id = actor.user_id
    application.submitted_by_name = actor.full_name
    application.reference = reference_for(application)
    application.content_sha256 = content_digest(application)
    application.withdrawn_at = application.withdrawn_by_user_id = None
    application.receipt_pdf = None
    session.flush()
    record_event(
        session,
        ApplicationSubmitted(
            application_id=application.id,
            call_id=application.call_id,
            organisation_id=application.organisation_id,
            organisation_name=application.organisation_name,
            reference=application.reference,
            submitted_at=now,
            submitted_by_user_id=actor.user_id,
            content_sha256=application.content_sha256,
        ),
    )
    return application


def pending_receipts(session: Session, limit: int = 5) -> list[Application]:
    """Submitted applications whose receipt is not rendered yet (locked, skipping rows a
    replica is already rendering)."""
    return list(
        session.scalars(
            select(Application)
            .where(Application.status == APP_SUBMITTED, Application.receipt_pdf.is_(None))
            .order_by(Application.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def attach_receipt(application: Application, render: Callable[[Application], bytes]) -> None:
    application.receipt_pdf = render(application)


def receipt_ready(session: Session, application: Application) -> bool:
    return bool(
        session.scalar(
            select(Application.receipt_pdf.is_not(None)).where(Application.id == application.id)
        )
    )


def withdraw(session: Session, actor: Actor, application_id: int) -> Application:
    access.ensure_institution(actor)
    application = load(session, actor, application_id, for_update=True)
    if application.status == APP_WITHDRAWN:
        raise conflict("La demande est déjà retirée.")
    if application.admissibility is not None:
        raise conflict("La recevabilité de la demande est décidée : elle ne peut être retirée.")
    if deadline_passed(application.call):
        raise conflict("La date limite est passée : la demande ne peut plus être retirée.")
    application.status = APP_WITHDRAWN
    application.withdrawn_at = application.updated_at = clock.now()
    application.withdrawn_by_user_id = actor.user_id
    record_event(
        session,
        ApplicationWithdrawn(
            application_id=application.id,
            call_id=application.call_id,
            organisation_id=application.organisation_id,
            withdrawn_at=application.withdrawn_at,
        ),
    )
    return application


def reopen(session: Session, actor: Actor, application_id: int) -> Application:
    """A withdrawn application becomes a draft again (before the deadline), unsigned."""
    access.ensure_institution(actor)
    application = load(session, actor, application_id, for_update=True)
    if application.status != APP_WITHDRAWN:
        raise conflict("Seule une demande retirée peut être rouverte.")
    _ensure_call_open(application.call)
    application.status = APP_DRAFT
    application.signatures.clear()
    application.submitted_at = application.submitted_by_user_id = None
    application.submitted_by_name = application.reference = None
    application.content_sha256 = application.receipt_pdf = None
    application.paper_received_on = application.paper_late = None
    application.paper_recorded_at = application.paper_recorded_by_user_id = None
    application.paper_recorded_by_name = None
    application.reviews.clear()
    application.updated_at = clock.now()
    return application


# -- ministry: paper copy, admissibility review and decision ---------------------------


def _log(application: Application, actor: Actor, action: str, **values) -> None:
    application.review_log.append(
        ReviewLogEntry(
            action=action,
            by_user_id=actor.user_id,
            by_name=actor.full_name,
            at=clock.now(),
            **values,
        )
    )


def _under_review(session: Session, actor: Actor, application_id: int) -> Application:
    access.ensure_staff(actor)
    application = load(session, actor, application_id, for_update=True)
    if application.status != APP_SUBMITTED:
        raise conflict("Seule une demande déposée peut être analysée.")
    if application.admissibility is not None:
        raise conflict("La recevabilité de cette demande est déjà décidée.")
    return application


def record_paper_receipt(
    session: Session, actor: Actor, application_id: int, received_on: date
) -> Application:
    application = _under_review(session, actor, application_id)
    if received_on > clock.today():
        raise invalid(
            "La date de réception ne peut pas être dans le futur.",
            {"received_on": "Indiquez une date passée ou aujourd'hui."},
        )
    if received_on < application.call.launch_date:
        raise invalid(
            "La date de réception précède le lancement de l'appel.",
            {"received_on": "Vérifiez la date."},
        )
    application.paper_received_on = received_on
    application.paper_late = received_on > application.call.deadline_date
    application.paper_recorded_at = clock.now()
    application.paper_recorded_by_user_id = actor.user_id
    application.paper_recorded_by_name = actor.full_name
    late = " (après la date limite)" if application.paper_late else ""
    _log(application, actor, "paper", text=f"Copie papier reçue le {long_date(received_on)}{late}.")
    return application


def computed_rules(application: Application) -> list[dict]:
    return [r.as_dict() for r in evaluate(facts_for(application))]


def review_rule(
    session: Session, actor: Actor, application_id: int, rule: str, passed: bool, text: str
) -> RuleReview:
    """The analyst confirms a computed rule, or overrides it with a justification."""
    application = _under_review(session, actor, application_id)
    if rule not in RULES:
        raise invalid("Règle de recevabilité inconnue.")
    computed = next(r for r in computed_rules(application) if r["rule"] == rule)
    overridden = passed != computed["passed"]
    text = (text or "").strip()
    if overridden and len(text) < 10:
        raise invalid(
            "Une dérogation au résultat calculé exige une justification écrite (au moins "
            "10 caractères).",
            {"justification": "Justifiez la dérogation."},
        )
    review = next((r for r in application.reviews if r.rule == rule), None)
    if review is None:
        review = RuleReview(rule=rule)
        application.reviews.append(review)
    review.computed_passed = computed["passed"]
    review.computed_reason = computed["reason"]
    review.passed = passed
    review.overridden = overridden
    review.justification = text
    review.by_user_id = actor.user_id
    review.by_name = actor.full_name
    review.at = clock.now()
    _log(
        application,
        actor,
        "overridden" if overridden else "confirmed",
        rule=rule,
        passed=passed,
        text=text,
    )
    session.flush()
    return review


def review_state(application: Application) -> list[dict]:
    """Each rule: computed now, the analyst's review, and whether that review is stale."""
    reviews = {r.rule: r for r in application.reviews}
    state = []
    for computed in computed_rules(application):
        review = reviews.get(computed["rule"])
        stale = review is not None and review.computed_passed != computed["passed"]
        state.append(
            {
                **computed,
                "reviewed": review is not None and not stale,
                "stale": stale,
                "final": review.passed if review is not None and not stale else None,
                "overridden": bool(review and review.overridden and not stale),
                "justification": review.justification if review else "",
                "reviewed_by": review.by_name if review else None,
                "reviewed_at": aware(review.at).isoformat() if review else None,
            }
        )
    return state


def decide(
    session: Session, actor: Actor, application_id: int, decision: str, comment: str
) -> Application:
    application = _under_review(session, actor, application_id)
    if decision not in DECISION_LABELS:
        raise invalid("Décision inconnue : « recevable » ou « non recevable ».")
    state = review_state(application)
    pending = [r["label"] for r in state if not r["reviewed"]]
    if pending:
        raise conflict(
            "Chaque règle doit être confirmée ou faire l'objet d'une dérogation avant la "
            "décision. À revoir : " + "; ".join(pending) + ".",
            {"rules": pending},
        )
    all_pass = all(r["final"] for r in state)
    if decision == ADMISSIBLE and not all_pass:
        raise invalid(
            "La demande ne peut être déclarée recevable : au moins une règle n'est pas satisfaite."
        )
    if decision == NOT_ADMISSIBLE and all_pass:
        raise invalid(
            "Les quatre règles sont satisfaites : la demande ne peut être déclarée non "
            "recevable sans dérogation justifiée à une règle."
        )
    now = clock.now()
    application.admissibility = decision
    application.decided_at = now
    application.decided_by_user_id = actor.user_id
    application.decided_by_name = actor.full_name
    application.decision_comment = (comment or "").strip()
    _log(application, actor, "decided", text=f"{DECISION_LABELS[decision]}. {comment}".strip())
    record_event(
        session,
        ApplicationAdmissibilityDecided(
            application_id=application.id,
            call_id=application.call_id,
            organisation_id=application.organisation_id,
            organisation_name=application.organisation_name,
            reference=application.reference or "",
            admissible=decision == ADMISSIBLE,
            decision=decision,
            rules=[
                AdmissibilityRuleOutcome(
                    rule=r["rule"],
                    label=r["label"],
                    passed=bool(r["final"]),
                    computed_passed=r["passed"],
                    reason=r["reason"],
                    justification=r["justification"],
                )
                for r in state
            ],
            comment=application.decision_comment,
            decided_by_user_id=actor.user_id,
            decided_at=now,
        ),
    )
    return application


# -- the ministry's table ----------------------------------------------------------------

SORT_ATTRIBUTES = {
    "organisation": "organisation_name",
    "region": "region",
    "order": "education_order",
    "status": "status",
    "submitted_at": "submitted_at",
    "reference": "reference",
}


def key_attribute(key: str) -> str:
    return SORT_ATTRIBUTES[key]


def _french_key(text: str) -> str:
    """Accent- and case-insensitive order, as a French reader expects (Cégep < Centre)."""
    decomposed = unicodedata.normalize("NFD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _sort_value(value):
    if isinstance(value, str):
        return (_french_key(value), value)
    if isinstance(value, datetime):
        return aware(value)
    return value


def table(session: Session, actor: Actor, call_id: int, query: TableQuery) -> dict:
    access.ensure_staff(actor)
    call = get_call(session, actor, call_id)
    base = select(Application).where(Application.call_id == call.id)
    counts = {status: 0 for status in STATUS_LABELS}
    for status, count in session.execute(
        select(Application.status, func.count())
        .where(Application.call_id == call.id)
        .group_by(Application.status)
    ):
        counts[status] = count
    decisions = {ADMISSIBLE: 0, NOT_ADMISSIBLE: 0, "undecided": 0}
    for decision, count in session.execute(
        select(Application.admissibility, func.count())
        .where(Application.call_id == call.id, Application.status == APP_SUBMITTED)
        .group_by(Application.admissibility)
    ):
        decisions[decision or "undecided"] += count
    if query.order:
        base = base.where(Application.education_order == query.order)
    if query.status:
        base = base.where(Application.status == query.status)
    if query.region:
        base = base.where(Application.region == query.region)
    if query.admissibility == "undecided":
        base = base.where(Application.status == APP_SUBMITTED, Application.admissibility.is_(None))
    elif query.admissibility:
        base = base.where(Application.admissibility == query.admissibility)
    key = query.sort.lstrip("-")
    rows = sorted(
        session.scalars(base.order_by(Application.id)),
        key=lambda a: _french_key(a.organisation_name),
    )
    present = [a for a in rows if getattr(a, key_attribute(key)) is not None]
    missing = [a for a in rows if getattr(a, key_attribute(key)) is None]
    present.sort(
        key=lambda a: _sort_value(getattr(a, key_attribute(key))),
        reverse=query.sort.startswith("-"),
    )
    rows = present + missing
    regions = sorted(
        r
        for r in session.scalars(
            select(Application.region).where(Application.call_id == call.id).distinct()
        )
        if r
    )
    return {
        "call": call,
        "rows": rows,
        "counts": counts,
        "total": sum(counts.values()),
        "decisions": decisions,
        "regions": regions,
    }


CSV_HEADER = [
    "Référence",
    "Établissement",
    "Type",
    "Ordre d'enseignement",
    "Région",
    "Statut",
    "Déposée le",
    "Copie papier reçue le",
    "Copie papier en retard",
    "Recevabilité",
]


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text  # no formula injection in a spreadsheet
    return text


def table_csv(result: dict) -> str:
    """The table as CSV for Excel fr-CA: UTF-8 with BOM, semicolons."""
    from rac_shared.actor import KIND_LABELS, OrganisationKind

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for app in result["rows"]:
        writer.writerow(
            [
                _csv_cell(v)
                for v in (
                    app.reference or "",
                    app.organisation_name,
                    KIND_LABELS.get(OrganisationKind(app.organisation_kind), app.organisation_kind),
                    app.education_order or "",
                    app.region or "",
                    STATUS_LABELS[app.status],
                    aware(app.submitted_at).astimezone(_montreal()).strftime("%Y-%m-%d %H:%M")
                    if app.submitted_at
                    else "",
                    app.paper_received_on.isoformat() if app.paper_received_on else "",
                    ("oui" if app.paper_late else "non") if app.paper_received_on else "",
                    DECISION_LABELS.get(app.admissibility or "", "À décider")
                    if app.status == APP_SUBMITTED
                    else "",
                )
            ]
        )
    return "\ufeff" + buffer.getvalue()


def _montreal():
    from rac_shared.clock import MONTREAL

    return MONTREAL


# -- home page -------------------------------------------------------------------------


def home_summary(session: Session, actor: Actor) -> list[dict]:
    """Next actions, then (last, never urgent) the way into the calls for interest."""
    if not (actor.is_ministry or actor.is_institution):
        return []
    actions = _next_actions(session, actor)
    label = (
        "Gérer les appels d'intérêt"
        if actor.role == Role.MINISTRY_ADMIN
        else "Consulter les appels d'intérêt"
    )
    actions.append({"label": label, "url": "/appels", "count": None, "urgent": False})
    return actions


def _next_actions(session: Session, actor: Actor) -> list[dict]:
    actions: list[dict] = []
    today = clock.today()
    if actor.is_institution:
        calls = session.scalars(select(Call).where(Call.status == CALL_PUBLISHED)).all()
        # Only the applications to the calls open now (an institution has one per call,
        # over all the years: never load them all for a home page).
        mine = {
            a.call_id: a
            for a in session.scalars(
                select(Application).where(
                    Application.organisation_id == actor.organisation_id,
                    Application.call_id.in_([c.id for c in calls]),
                )
            )
        }
        for call in calls:
            if deadline_passed(call) or not concerns(call, actor.organisation_kind.value):
                continue
            days_left = (call.deadline_date - today).days
            urgent = days_left <= 7
            application = mine.get(call.id)
            deadline = long_date(call.deadline_date)
            if application is None:
                actions.append(
                    {
                        "label": f"Présenter une demande de reconnaissance : {call.title} "
                        f"(date limite : {deadline})",
                        "url": f"/appels/{call.id}",
                        "count": None,
                        "urgent": urgent,
                    }
                )
            elif application.status == APP_DRAFT:
                try:
                    capacity = signing_capacity(
                        application.organisation_kind,
                        actor.role.value,
                        _count(application, "designation") > 0,
                    )
                except ValueError:
                    capacity = None
                signed = any(s.user_id == actor.user_id for s in application.signatures)
                if (
                    capacity
                    and not signed
                    and not submission_problems_without_signatures(application)
                ):
                    label = "Signer la demande de reconnaissance"
                else:
                    label = "Compléter et déposer la demande de reconnaissance"
                actions.append(
                    {
                        "label": f"{label} : {call.title} (date limite : {deadline})",
                        "url": f"/demandes/{application.id}",
                        "count": None,
                        "urgent": urgent,
                    }
                )
        return actions
    if actor.role == Role.MINISTRY_ADMIN:
        drafts = session.scalar(
            select(func.count()).select_from(Call).where(Call.status == "draft")
        )
        if drafts:
            actions.append(
                {
                    "label": "Appels d'intérêt en préparation à publier",
                    "url": "/appels",
                    "count": drafts,
                    "urgent": False,
                }
            )
    if access.is_staff(actor):
        for call in session.scalars(select(Call).where(Call.status != "draft")):
            submitted = (
                select(func.count())
                .select_from(Application)
                .where(Application.call_id == call.id, Application.status == APP_SUBMITTED)
            )
            no_paper = session.scalar(submitted.where(Application.paper_received_on.is_(None)))
            undecided = session.scalar(submitted.where(Application.admissibility.is_(None)))
            if no_paper:
                actions.append(
                    {
                        "label": f"Demandes déposées dont la copie papier n'est pas reçue : "
                        f"{call.title}",
                        "url": f"/appels/{call.id}/demandes?status=submitted",
                        "count": no_paper,
                        "urgent": False,
                    }
                )
            if undecided:
                actions.append(
                    {
                        "label": f"Demandes dont la recevabilité est à décider : {call.title}",
                        "url": f"/appels/{call.id}/demandes?admissibility=undecided",
                        "count": undecided,
                        "urgent": today > call.deadline_date,
                    }
                )
    return actions


def submission_problems_without_signatures(application: Application) -> dict:
    problems = submission_problems(application)
    problems.pop("signatures", None)
    return problems


def deadline_instant(call: Call) -> datetime:
    return end_of_day(call.deadline_date)
