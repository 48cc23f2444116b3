"""Issuing, accepting, revising, amending, cancelling and completing a plan.

Statuses of a plan: brouillon (draft) → émis (issued) → accepté (accepted) → terminé
(completed); an issued plan nobody accepted in time becomes caduc (lapsed, « résolu de
plein droit »); the employer may decline the offer (refusé; the institution may then
revise it or cancel); either party may cancel (annulé). A version is issued once and never
changes afterwards (its content hash is recorded); a change before acceptance is a
revision (new version, the issued one is withdrawn and the employer told so), after
acceptance a written amendment (new version that modifies the one in force, which stays
in force until the amendment is accepted; an amendment that is declined or lapses leaves
it in force).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared import uploads
from rac_shared.actor import Actor
from rac_shared.clock import aware, clock, end_of_day
from rac_shared.contracts.plans import (
    MAX_SCAN_BYTES,
    AmendmentIn,
    CancellationIn,
    DeclineIn,
    OnlineAcceptanceIn,
    PlanContent,
    RecordedAcceptanceIn,
)
from rac_shared.errors import conflict, forbidden, invalid
from rac_shared.events import (
    CancelledPlanCandidate,
    PlanAccepted,
    PlanCancelled,
    PlanDeclined,
    PlanIssued,
    PlanVersionWithdrawn,
)
from rac_shared.formatting import long_date
from rac_shared.outbox import record_event
from rac_shared.pdf import render_pdf
from services.plans import access, deadlines
from services.plans.drafts import canonical_hash, content_of, editable_version
from services.plans.models import (
    ACCEPTED,
    CANCELLED,
    COMPLETED,
    DECLINED,
    DRAFT,
    ISSUED,
    LAPSED,
    SUPERSEDED,
    WITHDRAWN,
    Plan,
    PlanDocument,
    PlanEventKey,
    PlanVersion,
)

SCAN_TYPES = {
    b"%PDF-": ("application/pdf", (".pdf",)),
    b"\x89PNG\r\n\x1a\n": ("image/png", (".png",)),
    b"\xff\xd8\xff": ("image/jpeg", (".jpg", ".jpeg")),
}


def claim_key(session: Session, key: str) -> bool:
    """Insert ``key`` once: False if it was already there (idempotence across replicas)."""
    try:
        with session.begin_nested():
            session.add(PlanEventKey(key=key, created_at=clock.now()))
            session.flush()
    except IntegrityError:
        return False
    return True


# -- issuing ----------------------------------------------------------------------------------


def billing_plan(plan: Plan, version: PlanVersion) -> dict:
    """The plan as billing's ``save_estimate`` expects it (the contract)."""
    content = version.content
    return {
        "plan_id": plan.id,
        "version": version.number,
        "reference": plan.reference,
        "institution_id": plan.institution_id,
        "employer_id": plan.employer_id,
        "candidate_count": len(content["candidates"]),
        "accepted_version": plan.accepted_version,
    }


def check_ready_to_issue(plan: Plan, version: PlanVersion) -> PlanContent:
    """Everything the document needs before it can be issued; French messages per field."""
    content = content_of(version)
    problems = {}
    if plan.employer_id is None:
        problems["employer_id"] = (
            "L'organisation doit avoir un compte sur la plateforme pour recevoir le plan, "
            "l'accepter et être facturée."
        )
    if not content.employer.representative_name:
        problems["employer.representative_name"] = "Indiquez la personne représentante."
    if not content.institution.signatory_name or not content.institution.signatory_title:
        problems["institution.signatory_name"] = (
            "Indiquez la personne qui signe pour l'établissement et son titre."
        )
    if not content.competencies:
        problems["competencies"] = "Ajoutez au moins une compétence à évaluer."
    if not content.candidates:
        problems["candidates"] = "Ajoutez au moins un candidat-travailleur."
    if not content.sections.context.strip():
        problems["sections.context"] = "Le contexte de réalisation est obligatoire."
    if not content.sections.objectives:
        problems["sections.objectives"] = "Indiquez au moins un objectif."
    for name, text in (
        ("annexes.annex_a", content.annexes.annex_a),
        ("annexes.annex_b", content.annexes.annex_b),
        ("annexes.annex_c", content.annexes.annex_c),
    ):
        if not text.strip():
            problems[name] = "Le texte de l'annexe est obligatoire."
    if problems:
        raise invalid(
            "Le plan ne peut pas être émis tant qu'il est incomplet : "
            + " ".join(dict.fromkeys(problems.values())),
            problems,
        )
    return content


def prepare_issue(session: Session, actor: Actor, plan_id: int) -> dict:
    """Checks before billing freezes the estimate; returns what the service needs next."""
    plan = access.load_for_institution(session, actor, plan_id)
    version = editable_version(plan)
    check_ready_to_issue(plan, version)
    return {
        "plan": billing_plan(plan, version),
        "version": version.number,
        "draft_hash": canonical_hash(version.content),
    }


def issued_document(plan: Plan, version: PlanVersion, issued_on: date, estimate: dict) -> dict:
    """What the content hash of an issued version covers: parties, every section and annex,
    the date of issue, the deadline and the frozen estimate."""
    document = {
        "reference": plan.reference,
        "version": version.number,
        "issued_on": issued_on.isoformat(),
        "acceptance_deadline": deadlines.acceptance_deadline(issued_on).isoformat(),
        "content": version.content,
        "estimate": estimate,
    }
    if version.based_on is not None:  # what the document says it modifies, and why
        document["amends_version"] = version.amends_version
        document["replaces_version"] = replaced_version(version)
        document["change_summary"] = version.change_summary or ""
    return document


def replaced_version(version: PlanVersion) -> int | None:
    """The issued version this one replaces (withdrawn, declined or lapsed before being
    accepted), as opposed to the version in force that an amendment modifies."""
    if version.based_on is None or version.based_on == version.amends_version:
        return None
    return version.based_on


def amended_version(plan: Plan, version: PlanVersion) -> PlanVersion | None:
    """The version in force that ``version`` modifies, if it is an amendment."""
    if version.amends_version is None:
        return None
    return plan.version(version.amends_version)


def issue_facts(plan: Plan, version: PlanVersion, estimate: dict) -> dict:
    issued_on = clock.today()
    return {
        "issued_on": issued_on,
        "acceptance_deadline": deadlines.acceptance_deadline(issued_on),
        "content_hash": canonical_hash(issued_document(plan, version, issued_on, estimate)),
    }


def commit_issue(
    session: Session,
    actor: Actor,
    plan_id: int,
    number: int,
    draft_hash: str,
    facts: dict,
    estimate: dict,
    html: str,
    estimate_hash: str,
) -> Plan:
    """Freeze the version: status, date of issue, deadline, hash, its document's HTML (the
    PDF rendered from it after the commit: ``render_pending``), ``plan.issued`` (with
    ``estimate_hash``, the estimate snapshot the version was issued with)."""
    plan = access.load_for_institution(session, actor, plan_id, for_update=True)
    version = plan.current
    if version.number != number or version.status != DRAFT:
        raise conflict("Cette version du plan a déjà été émise ou remplacée.")
    if canonical_hash(version.content) != draft_hash:
        raise conflict(
            "Le plan a été modifié pendant son émission. Vérifiez-le et émettez-le de nouveau."
        )
    now = clock.now()
    version.status = ISSUED
    version.issued_on = facts["issued_on"]
    version.issued_at = now
    version.issued_by_user_id = actor.user_id
    version.acceptance_deadline = facts["acceptance_deadline"]
    version.content_hash = facts["content_hash"]
    version.estimate = estimate
    version.updated_at = now
    if plan.status == DRAFT:
        plan.status = ISSUED
    plan.ever_issued = True
    plan.updated_at = now
    session.add(
        PlanDocument(
            version_id=version.id,
            kind="plan_pdf",
            filename=f"{plan.reference}-v{version.number}.pdf",
            mime="application/pdf",
            size=0,
            sha256=PENDING,
            content=b"",
            source_html=html,
            created_at=now,
        )
    )
    amended = amended_version(plan, version)
    record_event(
        session,
        PlanIssued(
            plan_id=plan.id,
            version=version.number,
            reference=plan.reference,
            institution_id=plan.institution_id,
            employer_id=plan.employer_id,
            issued_on=version.issued_on,
            acceptance_deadline=version.acceptance_deadline,
            content_hash=version.content_hash,
            amends_version=amended.number if amended else None,
            amends_issued_on=amended.issued_on if amended else None,
            replaces_version=replaced_version(version),
            change_summary=version.change_summary or "",
            estimate_hash=estimate_hash,
        ),
    )
    session.flush()
    return plan


# -- accepting --------------------------------------------------------------------------------


def _awaiting(plan: Plan, number: int, outcome: str = "acceptée") -> PlanVersion:
    """The version awaiting acceptance, if ``number`` is it and it is still in time."""
    version = plan.current
    if version.number != number or version.status != ISSUED:
        issued = version.number if version.status == ISSUED else None
        message = f"Seule la version émise en attente d'acceptation peut être {outcome}."
        if issued:
            message += f" La version en attente est la version {issued}."
        raise conflict(message)
    if plan.status in (CANCELLED, LAPSED, COMPLETED, DECLINED):
        raise conflict("Ce plan n'attend plus d'acceptation.")
    return version


def _deadline_passed(version: PlanVersion) -> None:
    deadline = aware(version.acceptance_deadline)
    raise conflict(
        "Le délai d'acceptation est expiré : l'acceptation devait parvenir à l'établissement "
        f"au plus tard le {long_date(deadline)} à 23 h 59. "
        "Le plan est résolu de plein droit.",
        {"acceptance_deadline": deadline.isoformat()},
    )


def _mark_accepted(session: Session, plan: Plan, version: PlanVersion, accepted_at: datetime):
    amended = plan.accepted_version
    if plan.accepted_version is not None:
        previous = plan.version(plan.accepted_version)
        if previous is not None and previous.id != version.id:
            previous.status = SUPERSEDED
    version.status = ACCEPTED
    version.accepted_at = accepted_at
    version.accepted_hash = version.content_hash
    version.updated_at = clock.now()
    plan.accepted_version = version.number
    plan.status = ACCEPTED
    plan.updated_at = clock.now()
    record_event(
        session,
        PlanAccepted(
            plan_id=plan.id,
            version=version.number,
            reference=plan.reference,
            institution_id=plan.institution_id,
            employer_id=plan.employer_id,
            accepted_at=accepted_at,
            accepted_by=version.accepted_by_name,
            amends_version=amended if amended != version.number else None,
        ),
    )


def accept_online(
    session: Session, actor: Actor, plan_id: int, data: OnlineAcceptanceIn, ip: str
) -> Plan:
    """The employer's representative accepts in writing, in the platform, before the end of
    the 30th day after the date of issue (``deadlines.acceptance_deadline``)."""
    plan = access.load_for_employer(session, actor, plan_id, for_update=True)
    version = _awaiting(plan, data.version)
    if data.content_hash != version.content_hash:
        raise conflict(
            "Le document accepté ne correspond pas à la version émise (empreinte différente). "
            "Rechargez le plan et relisez-le avant de l'accepter."
        )
    now = clock.now()
    if not deadlines.is_before_deadline(now, aware(version.acceptance_deadline)):
        _deadline_passed(version)
    version.acceptance_channel = "online"
    version.accepted_by_name = data.full_name
    version.accepted_by_title = data.title
    version.accepted_by_user_id = actor.user_id
    version.acceptance_statement = data.statement
    version.acceptance_ip = (ip or "")[:64]
    version.received_on = clock.today()
    _mark_accepted(session, plan, version, now)
    session.flush()
    return plan


def check_scan(filename: str, content: bytes) -> tuple[str, str]:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    if not content:
        raise invalid("Le fichier est vide.", {"fichier": "Le fichier est vide."})
    if len(content) > MAX_SCAN_BYTES:
        raise invalid("Le fichier dépasse 10 Mo.", {"fichier": "Taille maximale : 10 Mo."})
    for magic, (mime, extensions) in SCAN_TYPES.items():
        if content.startswith(magic):
            if not name.lower().endswith(extensions):
                raise invalid(
                    "L'extension du fichier ne correspond pas à son contenu.",
                    {"fichier": f"Renommez le fichier avec l'extension {extensions[0]}."},
                )
            if mime == "application/pdf":
                uploads.check_pdf(content)  # parses, and is not also a web page
            return name, mime
    raise invalid(
        "Le fichier doit être un PDF, un PNG ou un JPEG (copie numérisée de l'acceptation signée).",
        {"fichier": "Formats acceptés : PDF, PNG, JPEG."},
    )


def record_acceptance(
    session: Session, actor: Actor, plan_id: int, data: RecordedAcceptanceIn, scan: bytes
) -> Plan:
    """The institution records a signed acceptance received another way (scan, date of
    receipt). The date of receipt must fall within the 30 days."""
    plan = access.load_for_institution(session, actor, plan_id, for_update=True)
    version = _awaiting(plan, data.version)
    filename, mime = check_scan(data.filename, scan)
    deadline = aware(version.acceptance_deadline)
    if data.received_on < version.issued_on:
        raise invalid(
            "La date de réception précède la date d'émission du plan.",
            {"received_on": "Date antérieure à l'émission."},
        )
    if data.received_on > clock.today():
        raise invalid(
            "La date de réception ne peut être dans le futur.",
            {"received_on": "Date future."},
        )
    if data.received_on > deadlines.local_date(deadline):
        _deadline_passed(version)
    now = clock.now()
    version.acceptance_channel = "recorded"
    version.accepted_by_name = data.signed_by_name
    version.accepted_by_title = data.signed_by_title
    version.acceptance_statement = "Acceptation écrite reçue par l'établissement"
    version.received_on = data.received_on
    version.recorded_by_user_id = actor.user_id
    session.add(
        PlanDocument(
            version_id=version.id,
            kind="acceptance_scan",
            filename=filename,
            mime=mime,
            size=len(scan),
            sha256=hashlib.sha256(scan).hexdigest(),
            content=scan,
            created_at=now,
        )
    )
    _mark_accepted(session, plan, version, min(now, end_of_day(data.received_on)))
    session.flush()
    return plan


# -- declining --------------------------------------------------------------------------------


def decline(session: Session, actor: Actor, plan_id: int, data: DeclineIn) -> Plan:
    """The employer's representative declines the offer awaiting acceptance, with a reason
    (« refus de l'offre »). The offer ends at once: a first offer leaves the plan declined
    (the institution may revise it or cancel the plan); a declined amendment leaves the
    version in force as it was. Once the deadline has passed the offer is already void by
    operation of law and there is nothing left to decline."""
    plan = access.load_for_employer(session, actor, plan_id, for_update=True)
    version = _awaiting(plan, data.version, "refusée")
    now = clock.now()
    if not deadlines.is_before_deadline(now, aware(version.acceptance_deadline)):
        _deadline_passed(version)
    version.status = DECLINED
    version.declined_at = now
    version.declined_by_user_id = actor.user_id
    version.declined_by_name = actor.full_name or "La personne représentante de l'organisation"
    version.decline_reason = data.reason
    version.updated_at = now
    if plan.accepted_version is None:
        plan.status = DECLINED
    plan.updated_at = now
    record_event(
        session,
        PlanDeclined(
            plan_id=plan.id,
            version=version.number,
            reference=plan.reference,
            institution_id=plan.institution_id,
            employer_id=plan.employer_id,
            issued_on=version.issued_on,
            declined_at=now,
            declined_by=version.declined_by_name,
            reason=data.reason,
            amends_version=plan.accepted_version,
        ),
    )
    session.flush()
    return plan


# -- revising, amending -----------------------------------------------------------------------


def amend(session: Session, actor: Actor, plan_id: int, data: AmendmentIn) -> Plan:
    """A new draft version copied from the one in force (amendment after acceptance) or
    from the issued one (revision before acceptance, which withdraws the issued one)."""
    plan = access.load_for_institution(session, actor, plan_id, for_update=True)
    current = plan.current
    if current.status == DRAFT and plan.status in (DRAFT, ACCEPTED):
        raise conflict(f"La version {current.number} est déjà en préparation : modifiez-la.")
    if current.status == ISSUED and plan.status in (ISSUED, ACCEPTED):
        base = current  # revision of the version awaiting acceptance: it is withdrawn
        withdraw(session, plan, current, data.summary)
        if plan.status == ISSUED:
            plan.status = DRAFT
    elif plan.status == DECLINED:
        base = current  # revision of the declined first offer, to be issued again
        plan.status = DRAFT
    elif plan.status == ACCEPTED:
        base = plan.version(plan.accepted_version)  # amendment of the version in force
    else:
        raise conflict("Ce plan ne peut plus être modifié.")
    summary = data.summary
    if base.amends_version is not None and base.number != plan.accepted_version:
        # Revising an amendment: the new one still modifies the version in force, so its
        # summary keeps what the revised amendment changed, then says what is revised.
        summary = f"{base.change_summary}\nRévision de la version {base.number} : {summary}"
    now = clock.now()
    version = PlanVersion(
        number=current.number + 1,
        status=DRAFT,
        content=dict(base.content),
        change_summary=summary,
        based_on=base.number,
        amends_version=plan.accepted_version,
        created_at=now,
        updated_at=now,
    )
    plan.versions.append(version)
    plan.current_version = version.number
    plan.updated_at = now
    session.flush()
    return plan


def withdraw(
    session: Session, plan: Plan, version: PlanVersion, reason: str, completed: bool = False
) -> None:
    """An issued version leaves the table before anyone accepted it: the employer, who had
    it to accept, is told it no longer has to (``plan.version_withdrawn``)."""
    now = clock.now()
    version.status = WITHDRAWN
    version.withdrawn_at = now
    version.updated_at = now
    record_event(
        session,
        PlanVersionWithdrawn(
            plan_id=plan.id,
            version=version.number,
            reference=plan.reference,
            institution_id=plan.institution_id,
            employer_id=plan.employer_id,
            issued_on=version.issued_on,
            withdrawn_on=clock.today(),
            reason=reason,
            amends_version=plan.accepted_version,
            project_completed=completed,
        ),
    )


# -- cancelling, completing -------------------------------------------------------------------


def cancel(session: Session, actor: Actor, plan_id: int, data: CancellationIn) -> Plan:
    plan = access.load(session, actor, plan_id, for_update=True)
    party = access.party_of(actor)
    allowed = (DRAFT, ISSUED, ACCEPTED, DECLINED) if party == "institution" else (ISSUED, ACCEPTED)
    if plan.status not in allowed:
        raise conflict("Ce plan ne peut pas être annulé dans son état actuel.")
    today = clock.today()
    in_force = plan.version(plan.accepted_version) if plan.accepted_version else plan.current
    for version in plan.versions:
        if version.status in (DRAFT, ISSUED):
            version.status = CANCELLED
            version.updated_at = clock.now()
    plan.status = CANCELLED
    plan.cancelled_on = today
    plan.cancelled_by_party = party
    plan.cancel_reason = data.reason
    plan.updated_at = clock.now()
    if plan.employer_id is not None:  # billing knows only plans with a directory employer
        record_event(
            session,
            PlanCancelled(
                plan_id=plan.id,
                version=in_force.number,
                reference=plan.reference,
                institution_id=plan.institution_id,
                employer_id=plan.employer_id,
                cancelled_on=today,
                cancelled_by_party=party,
                reason=data.reason,
                candidates=cancelled_candidates(in_force),
            ),
        )
    session.flush()
    return plan


def cancelled_candidates(version: PlanVersion) -> list[CancelledPlanCandidate]:
    """The candidate-workers of the version in force: billing records the costs incurred
    for each of them (only their id and name leave this service)."""
    return [
        CancelledPlanCandidate(candidate_id=c["id"], full_name=c["full_name"])
        for c in (version.content or {}).get("candidates", [])
        if c.get("id") is not None
    ]


def complete(session: Session, actor: Actor, plan_id: int) -> Plan:
    plan = access.load_for_institution(session, actor, plan_id, for_update=True)
    if plan.status != ACCEPTED:
        raise conflict("Seul un plan accepté peut être marqué comme terminé.")
    for version in plan.versions:
        if version.status == ISSUED:  # an amendment the employer still had to accept
            withdraw(session, plan, version, "Le projet est terminé.", completed=True)
        elif version.status == DRAFT:
            version.status = WITHDRAWN
    plan.status = COMPLETED
    plan.completed_on = clock.today()
    plan.updated_at = clock.now()
    session.flush()
    return plan


def ratio(done: int, total: int) -> str:
    if total <= 0:
        return "0.00"
    return str((Decimal(done) / Decimal(total)).quantize(Decimal("0.01"), ROUND_HALF_UP))


PENDING = ""  # the hash of an issued PDF not rendered yet


def render_pending(session: Session, document: PlanDocument) -> PlanDocument:
    """The issued PDF of ``document``, rendered now if it is still pending, once: the row is
    locked while it renders, so a second reader (or the background render) waits for it and
    then finds it done. Flushed; the caller's transaction commits it."""
    if document.sha256 != PENDING or document.destroyed_on is not None:
        return document
    locked = session.scalar(
        select(PlanDocument)
        .where(PlanDocument.id == document.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked.sha256 != PENDING or locked.destroyed_on is not None or not locked.source_html:
        return locked
    pdf = render_pdf(locked.source_html)
    locked.content = pdf
    locked.size = len(pdf)
    locked.sha256 = hashlib.sha256(pdf).hexdigest()
    locked.source_html = None
    session.flush()
    return locked


def document_of(session: Session, version: PlanVersion, kind: str) -> PlanDocument | None:
    return session.scalar(
        select(PlanDocument).where(PlanDocument.version_id == version.id, PlanDocument.kind == kind)
    )


def ensure_employer_party(actor: Actor) -> None:
    if not actor.is_employer:
        raise forbidden("Seule l'organisation destinataire peut accepter le plan en ligne.")
