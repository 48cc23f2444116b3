"""The « demande de compléments » during admissibility (Hypha's ``more_info``).

An analyst reviewing a deposited application asks the institution for named items — a
missing signature, a document, an answer — with a response deadline (the end of that day,
America/Montreal, like every deadline of the platform). The application becomes
« Compléments demandés »:

- the institution may change ONLY the items asked for, each in its own way (an answer's
  text, a document to upload, a signature confirmed by a signatory with their own
  account); the rest of the application stays as deposited (``_editable`` refuses it);
- it then transmits its answer (every item provided), after which nothing changes;
- the analyst resumes the analysis: the application is « Déposée » again, the four rules
  are recomputed from what it now holds (a review made before is then « à revoir » if its
  computed result changed), and the decision is made as before.

**The deposit time is never reset.** ``submitted_at``, the reference and the deposited
content's SHA-256 are those of the original submission: the deadline rule (rule 4) reads
``submitted_at`` and so judges the deposit, never the answer to a request.

**A late answer.** Once the response deadline has passed, nothing can be provided or
transmitted any more: refused with the deadline in the message. The analyst may then
extend the deadline (the institution is told, the extension is kept with the request), or
resume the analysis without the answer and decide on the application as it stands. Before
the deadline the analyst cannot resume without the answer: the institution was given until
that day.

Every exchange (request, extension, answer, resumption) is kept in ``complement_requests``
and published (``application.complements_*``, ``application.admissibility_resumed``):
notifications e-mails the other party, the gateway's audit trail keeps it in the
application's « Historique ».
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock, is_on_or_before_deadline
from rac_shared.contracts.applications import (
    ComplementKind,
    ComplementsRequestIn,
)
from rac_shared.errors import conflict, invalid, not_found
from rac_shared.events import (
    ApplicationAdmissibilityResumed,
    ApplicationComplementsAnswered,
    ApplicationComplementsDeadlineExtended,
    ApplicationComplementsRequested,
)
from rac_shared.formatting import long_date
from rac_shared.french import enumeration
from rac_shared.outbox import record_event
from services.applications import access
from services.applications.access import load
from services.applications.dossiers import (
    MAX_ATTACHMENTS,
    capacity_for,
    content_digest,
    new_piece,
    questions_of,
    validate_answer,
)
from services.applications.models import (
    APP_COMPLEMENTS,
    APP_SUBMITTED,
    COMPLEMENT_ANSWERED,
    COMPLEMENT_PENDING,
    COMPLEMENT_RESUMED,
    Answer,
    Application,
    ComplementItem,
    ComplementRequest,
    Signature,
)
from services.applications.review import _under_review

MAX_RESPONSE_DAYS = 60  # a response deadline at most this many days ahead

# What an item of each kind lets the institution change, and nothing else.
TEXT, FILE, SIGNATURE = "text", "file", "signature"
CHANGE_OF_KIND = {
    ComplementKind.ANSWER.value: TEXT,
    ComplementKind.DOCUMENT.value: FILE,
    ComplementKind.SIGNATURE.value: SIGNATURE,
}
WRONG_CHANGE = {
    TEXT: "Cet élément n'attend pas de réponse écrite.",
    FILE: "Cet élément n'attend pas de document.",
    SIGNATURE: "Cet élément n'attend pas de signature.",
}


# -- the rules, as pure functions ------------------------------------------------------------


def ensure_item_accepts(kind: str, change: str) -> None:
    """An item changes only in the way its kind says (an answer's text, a document, a
    signature): ``invalid`` otherwise."""
    if CHANGE_OF_KIND.get(kind) != change:
        raise invalid(WRONG_CHANGE[change])


def deadline_text(due_date: date) -> str:
    return f"{long_date(due_date)}, 23 h 59, heure de Montréal"


def in_time(due_date: date, instant: datetime) -> bool:
    """Whether an answer at ``instant`` meets the response deadline (end of that day)."""
    return is_on_or_before_deadline(instant, due_date)


def ensure_in_time(due_date: date, instant: datetime) -> None:
    if not in_time(due_date, instant):
        raise conflict(
            f"Le délai de réponse à la demande de compléments ({deadline_text(due_date)}) est "
            "passé : la réponse ne peut plus être modifiée ni transmise. Communiquez avec "
            "l'analyste du Ministère, qui peut prolonger le délai."
        )


def check_due_date(due_date: date, today: date, field: str = "due_date") -> None:
    """A response deadline is after today and at most ``MAX_RESPONSE_DAYS`` ahead."""
    if due_date <= today:
        raise invalid(
            "La date limite de réponse doit suivre la date du jour.",
            {field: f"Indiquez une date après le {long_date(today)}."},
        )
    latest = today + timedelta(days=MAX_RESPONSE_DAYS)
    if due_date > latest:
        raise invalid(
            f"La date limite de réponse est au plus {MAX_RESPONSE_DAYS} jours après la date "
            "du jour.",
            {field: f"Indiquez une date au plus tard le {long_date(latest)}."},
        )


def is_provided(item: ComplementItem) -> bool:
    return item.provided_at is not None


def missing_items(items) -> list[str]:
    """The labels of the items not provided yet, in order."""
    return [item.label for item in items if not is_provided(item)]


def current_request(application: Application) -> ComplementRequest | None:
    """The request not yet closed by a resumption, if any."""
    for request in reversed(application.complement_requests):
        if request.status != COMPLEMENT_RESUMED:
            return request
    return None


def may_resume(request: ComplementRequest, instant: datetime) -> bool:
    """After the answer, or without it once the response deadline has passed."""
    return request.status == COMPLEMENT_ANSWERED or (
        request.status == COMPLEMENT_PENDING and not in_time(request.due_date, instant)
    )


# -- the ministry: request, extension, resumption -------------------------------------------


def _event_fields(application: Application, request: ComplementRequest) -> dict:
    return {
        "application_id": application.id,
        "call_id": application.call_id,
        "organisation_id": application.organisation_id,
        "organisation_name": application.organisation_name,
        "reference": application.reference or "",
        "request_id": request.id,
        "number": request.number,
    }


def request_complements(
    session: Session, actor: Actor, application_id: int, data: ComplementsRequestIn
) -> ComplementRequest:
    application = _under_review(session, actor, application_id)
    now = clock.now()
    check_due_date(data.due_date, clock.today())
    questions = questions_of(application.call)
    errors = {}
    for index, item in enumerate(data.items):
        question = questions.get(item.question_id) if item.question_id is not None else None
        if item.question_id is not None and (question is None or question.kind == "file"):
            errors[f"items.{index}.question_id"] = (
                "Choisissez une question à réponse écrite du formulaire."
            )
    if errors:
        raise invalid("Certains éléments demandés sont invalides; rien n'a été demandé.", errors)
    request = ComplementRequest(
        number=len(application.complement_requests) + 1,
        status=COMPLEMENT_PENDING,
        message=data.message,
        due_date=data.due_date,
        extensions=[],
        requested_by_user_id=actor.user_id,
        requested_by_name=actor.full_name,
        requested_at=now,
        items=[
            ComplementItem(
                position=position,
                label=item.label,
                kind=item.kind.value,
                piece_kind=item.piece_kind.value if item.piece_kind else None,
                question_id=item.question_id,
            )
            for position, item in enumerate(data.items, start=1)
        ],
    )
    application.complement_requests.append(request)
    application.status = APP_COMPLEMENTS
    application.updated_at = now
    session.flush()
    record_event(
        session,
        ApplicationComplementsRequested(
            **_event_fields(application, request),
            items=[item.label for item in request.items],
            due_date=request.due_date,
            message=request.message,
            requested_by_user_id=actor.user_id,
            requested_at=now,
        ),
    )
    return request


def _in_progress(session: Session, actor: Actor, application_id: int, nothing: str):
    """The application (locked) and its request in progress; ``nothing`` when none is."""
    application = load(session, actor, application_id, for_update=True)
    request = current_request(application)
    if application.status != APP_COMPLEMENTS or request is None:
        raise conflict(nothing)
    return application, request


def _staff_request(session: Session, actor: Actor, application_id: int):
    access.ensure_staff(actor)
    return _in_progress(
        session,
        actor,
        application_id,
        "Aucune demande de compléments n'est en cours pour cette demande.",
    )


def extend_deadline(
    session: Session, actor: Actor, application_id: int, due_date: date
) -> ComplementRequest:
    application, request = _staff_request(session, actor, application_id)
    if request.status != COMPLEMENT_PENDING:
        raise conflict("L'établissement a déjà transmis sa réponse : le délai ne change plus.")
    if due_date <= request.due_date:
        raise invalid(
            "La nouvelle date limite doit suivre la date limite actuelle.",
            {"due_date": f"Indiquez une date après le {long_date(request.due_date)}."},
        )
    check_due_date(due_date, clock.today())
    previous = request.due_date
    request.extensions = [
        *(request.extensions or []),
        {
            "previous_due_date": previous.isoformat(),
            "due_date": due_date.isoformat(),
            "by_user_id": actor.user_id,
            "by": actor.full_name,
            "at": clock.now().isoformat(),
        },
    ]
    request.due_date = due_date
    record_event(
        session,
        ApplicationComplementsDeadlineExtended(
            **_event_fields(application, request),
            previous_due_date=previous,
            due_date=due_date,
            extended_by_user_id=actor.user_id,
        ),
    )
    return request


def resume(session: Session, actor: Actor, application_id: int, note: str) -> Application:
    """The analysis goes on: the application is « Déposée » again, its deposit untouched."""
    application, request = _staff_request(session, actor, application_id)
    now = clock.now()
    if not may_resume(request, now):
        raise conflict(
            f"L'établissement a jusqu'au {deadline_text(request.due_date)} pour répondre : "
            "l'analyse reprend à la réception de sa réponse ou, sans réponse, après ce délai "
            "(que vous pouvez aussi prolonger)."
        )
    request.status = COMPLEMENT_RESUMED
    request.resumed_by_user_id = actor.user_id
    request.resumed_by_name = actor.full_name
    request.resumed_at = now
    request.resume_note = note
    application.status = APP_SUBMITTED
    application.updated_at = now
    record_event(
        session,
        ApplicationAdmissibilityResumed(
            **_event_fields(application, request),
            answered=request.answered_at is not None,
            resumed_by_user_id=actor.user_id,
            resumed_at=now,
        ),
    )
    return application


# -- the institution: the items, then the answer -------------------------------------------


def _answering(session: Session, actor: Actor, application_id: int):
    access.ensure_institution(actor)
    application, request = _in_progress(
        session,
        actor,
        application_id,
        "Aucune demande de compléments n'attend de réponse pour cette demande.",
    )
    if request.status != COMPLEMENT_PENDING:
        raise conflict(
            "La réponse à la demande de compléments est transmise : elle ne peut plus être "
            "modifiée."
        )
    ensure_in_time(request.due_date, clock.now())
    return application, request


def _item(request: ComplementRequest, item_id: int) -> ComplementItem:
    item = next((i for i in request.items if i.id == item_id), None)
    if item is None:
        raise not_found("Élément demandé introuvable.")
    return item


def _provided(item: ComplementItem, actor: Actor) -> ComplementItem:
    item.provided_by_user_id = actor.user_id
    item.provided_by_name = actor.full_name
    item.provided_at = clock.now()
    return item


def answer_item(
    session: Session, actor: Actor, application_id: int, item_id: int, text: str
) -> ComplementItem:
    """An answer's text; when the item names a question of the form, the text becomes that
    question's answer (its limits apply; the answer it replaces is kept on the item)."""
    application, request = _answering(session, actor, application_id)
    item = _item(request, item_id)
    ensure_item_accepts(item.kind, TEXT)
    if item.question_id is not None:
        question = questions_of(application.call)[item.question_id]
        value, error = validate_answer(question, text)
        if error or value is None:
            message = error or "Écrivez la réponse."
            raise invalid(message, {"answer": message})
        answer = next((a for a in application.answers if a.question_id == question.id), None)
        if not is_provided(item):
            item.previous_text = answer.value if answer is not None else ""
        if answer is None:
            application.answers.append(Answer(question_id=question.id, value=value))
        else:
            answer.value = value
        text = value
    item.text = text
    session.flush()
    return _provided(item, actor)


def upload_document(
    session: Session,
    actor: Actor,
    application_id: int,
    item_id: int,
    filename: str,
    content: bytes,
) -> ComplementItem:
    """The document asked for, as a piece of the application of the kind the analyst named;
    a second upload replaces the first (until the answer is transmitted). The signatures
    stay: the deposited content is unchanged, the complement is kept beside it."""
    application, request = _answering(session, actor, application_id)
    item = _item(request, item_id)
    ensure_item_accepts(item.kind, FILE)
    replaced = item.attachment
    if replaced is None and len(application.attachments) >= MAX_ATTACHMENTS:
        raise invalid(f"Une demande compte au plus {MAX_ATTACHMENTS} pièces jointes.")
    item.attachment = new_piece(application, actor, item.piece_kind or "other", filename, content)
    session.flush()
    if replaced is not None:
        application.attachments.remove(replaced)
        session.flush()
    return _provided(item, actor)


def sign_item(session: Session, actor: Actor, application_id: int, item_id: int) -> ComplementItem:
    """The signature asked for, by a signatory with their own account (the rules of who may
    sign are the deposit's)."""
    application, request = _answering(session, actor, application_id)
    item = _item(request, item_id)
    ensure_item_accepts(item.kind, SIGNATURE)
    capacity = capacity_for(actor, application)
    if any(s.user_id == actor.user_id for s in application.signatures):
        raise conflict(
            "Vous avez déjà signé cette demande : la signature demandée est celle d'une autre "
            "personne signataire."
        )
    application.signatures.append(
        Signature(
            user_id=actor.user_id,
            full_name=actor.full_name,
            role=actor.role.value,
            capacity=capacity,
            signed_at=clock.now(),
            content_sha256=content_digest(application, with_signatures=False),
        )
    )
    session.flush()
    return _provided(item, actor)


def transmit_answer(
    session: Session, actor: Actor, application_id: int, comment: str
) -> Application:
    """The answer goes to the ministry: every item provided, within the delay."""
    application, request = _answering(session, actor, application_id)
    missing = missing_items(request.items)
    if missing:
        raise invalid(
            "La réponse ne peut pas être transmise : fournissez d'abord "
            + enumeration([f"« {label} »" for label in missing])
            + "."
        )
    now = clock.now()
    request.status = COMPLEMENT_ANSWERED
    request.answered_by_user_id = actor.user_id
    request.answered_by_name = actor.full_name
    request.answered_at = now
    request.answer_comment = comment
    application.updated_at = now
    record_event(
        session,
        ApplicationComplementsAnswered(
            **_event_fields(application, request),
            items=[item.label for item in request.items],
            requested_by_user_id=request.requested_by_user_id,
            answered_by_user_id=actor.user_id,
            answered_at=now,
        ),
    )
    return application
