"""An institution's application (demande de reconnaissance) through its life: opening,
answers, attachments, completeness, signatures, submission with receipt, withdrawal and
reopening. Plain functions over a SQLAlchemy session.

Beside it: who may read an application (tenant scoping, ``access``), the analysts' review
and decision (``review``), the ministry's table and its CSV (``staff_table``) and the home
page's next actions (``home``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import aware, clock
from rac_shared.contracts.applications import ApplicationStatus, AttachmentKind
from rac_shared.errors import conflict, invalid, not_found
from rac_shared.events import ApplicationSubmitted, ApplicationWithdrawn
from rac_shared.formatting import long_date
from rac_shared.french import plural
from rac_shared.outbox import record_event
from services.applications import access
from services.applications.access import application_of, load
from services.applications.admissibility import (
    ORDER_OF_KIND,
    Facts,
    SignatureFact,
    signatures_status,
    signing_capacity,
)
from services.applications.calls import concerns, deadline_passed, get_call
from services.applications.files import check_upload
from services.applications.models import (
    APP_COMPLEMENTS,
    APP_DRAFT,
    APP_SUBMITTED,
    APP_WITHDRAWN,
    CALL_CLOSED,
    CALL_PUBLISHED,
    DEPOSITED,
    Answer,
    Application,
    Attachment,
    Call,
    Question,
    Signature,
)

MAX_ATTACHMENTS = 40
# What an application may carry (the call's guide is the call's, never a piece).
ATTACHMENT_KINDS = {k.value: k.label for k in AttachmentKind if k != AttachmentKind.GUIDE}
STATUS_LABELS = ApplicationStatus.labels()
YES, NO = "oui", "non"


# -- editing ---------------------------------------------------------------------------


def _editable(session: Session, actor: Actor, application_id: int) -> Application:
    access.ensure_institution(actor)
    application = load(session, actor, application_id, for_update=True)
    if application.status == APP_COMPLEMENTS:
        raise conflict(
            "La demande est déposée : seuls les éléments que le Ministère a demandés (« "
            "Compléments demandés ») peuvent être fournis."
        )
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
    attachment = new_piece(application, actor, kind, filename, content, question_id)
    removed = _content_changed(application)
    session.flush()
    return attachment, removed


def new_piece(
    application: Application,
    actor: Actor,
    kind: str,
    filename: str,
    content: bytes,
    question_id: int | None = None,
) -> Attachment:
    """A file checked from its content and added to the application's pieces."""
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
    return attachment


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


def attachments_of_kind(application: Application, kind: str) -> int:
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
        designation_attached=attachments_of_kind(application, "designation") > 0,
        incomplete_sections=tuple(s["title"] for s in sections if not s["complete"]),
        refused_commitments=tuple(s["title"] for s in sections if s["refused"] and s["complete"]),
        support_letters=attachments_of_kind(application, "support_letter"),
        official_documents=attachments_of_kind(application, "official_document"),
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
        attachments_of_kind(application, "support_letter"),
        attachments_of_kind(application, "official_document"),
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
        attachments_of_kind(application, "designation") > 0,
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
            attachments_of_kind(application, "designation") > 0,
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
            .where(Application.status.in_(DEPOSITED), Application.receipt_pdf.is_(None))
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
    if application.status == APP_COMPLEMENTS:
        raise conflict(
            "Le Ministère a demandé des compléments : la demande ne peut être retirée pendant "
            "l'analyse de sa recevabilité."
        )
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
