"""Candidate-workers' personal information under Loi 25: kept while the plan runs and for a
retention period after it ends, then anonymised; exported on an access request.

**The rule.** A plan ends when it is completed, cancelled, lapses (« résolu de plein droit »)
or its first offer is declined. ``PLAN_RETENTION_MONTHS`` months later (default 24: two
years) the ``personal-information-retention`` job anonymises it: in every version's
document, each candidate-worker becomes « Personne candidate N » with an address at the
reserved ``.invalid`` domain and no job title; the PDFs that named them are destroyed (their
SHA-256 stays, with the version's content hash, as the proof of what was issued), and so do
the names the published ``plan.cancelled`` events kept in the outbox. What is not personal
stays, so the figures do not move: candidate counts, rhythms and start dates,
calendars, progress and results per competency. ``plan.anonymised`` tells billing, which
replaces the names it copied for costs incurred.

The job runs as of a date (``rac jobs run personal-information-retention --as-of D``): it
claims ended plans with ``FOR UPDATE SKIP LOCKED`` and marks each one (``anonymised_on``),
so a second run, or a second replica at the same time, finds nothing left to do.

**An access request.** An institution searches for a person by e-mail among its own plans
(still personal, not anonymised) and gets, as one JSON document, everything this service
holds about them: the plans, their details in each version, their calendar, progress and
results. Each export and each anonymisation is kept in ``privacy_records`` (who, when, for
whom, which plans) and published as an event, for the plan's history and the audit trail.
"""

from __future__ import annotations

import copy
from datetime import date

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import aware, clock, local
from rac_shared.db import SessionFactory
from rac_shared.errors import not_found
from rac_shared.events import (
    PlanAnonymised,
    PlanCancelled,
    PlanCandidateAbandoned,
    PlanPersonalInformationExported,
)
from rac_shared.formatting import long_date
from rac_shared.outbox import record_event
from services.plans import access, calendar, lifecycle, views
from services.plans.config import plans_settings
from services.plans.models import (
    CANCELLED,
    COMPLETED,
    DECLINED,
    LAPSED,
    Base,
    Plan,
    PlanDocument,
    PlanVersion,
    PrivacyRecord,
)

ENDED = (COMPLETED, CANCELLED, LAPSED, DECLINED)
ANONYMOUS_DOMAIN = "anonyme.invalid"  # RFC 2606: can never be anyone's address
JOB_NAME = "Règle de conservation (tâche planifiée)"


def retention_months() -> int:
    """``PLAN_RETENTION_MONTHS`` (whole months after a plan ends; default 24)."""
    return plans_settings().retention_months


def ended_on(plan: Plan) -> date | None:
    """The day the plan stopped running, or None while it runs."""
    if plan.status == COMPLETED:
        return plan.completed_on
    if plan.status == CANCELLED:
        return plan.cancelled_on
    if plan.status == LAPSED:
        return max((v.lapsed_on for v in plan.versions if v.lapsed_on), default=None)
    if plan.status == DECLINED:
        declined = [local(aware(v.declined_at)).date() for v in plan.versions if v.declined_at]
        return max(declined, default=None)
    return None


def purge_due_on(plan: Plan, months: int) -> date | None:
    end = ended_on(plan)
    return end + relativedelta(months=months) if end else None


# -- the scheduled job ------------------------------------------------------------------------


def anonymise_due(session: Session, as_of: date, months: int) -> dict:
    """One pass in the caller's transaction: every ended plan whose retention ran out."""
    result = {"examined": 0, "anonymised": 0, "retention_months": months}
    claimed = session.scalars(
        select(Plan)
        .where(Plan.status.in_(ENDED), Plan.anonymised_on.is_(None))
        .order_by(Plan.id)
        .with_for_update(skip_locked=True)
    ).all()
    for plan in claimed:
        result["examined"] += 1
        due = purge_due_on(plan, months)
        if due is not None and due <= as_of:
            anonymise(session, plan, as_of)
            result["anonymised"] += 1
    return result


def anonymise(session: Session, plan: Plan, as_of: date) -> None:
    candidate_ids = sorted({c.id for c in plan.candidates})
    for version in plan.versions:
        version.content = anonymised_content(version.content)
    destroyed = 0
    documents = session.scalars(
        select(PlanDocument).where(
            PlanDocument.version_id.in_([v.id for v in plan.versions]),
            PlanDocument.kind == "plan_pdf",
            PlanDocument.destroyed_on.is_(None),
        )
    )
    for document in documents:
        # A PDF never read was never rendered: rendered now, so that its hash stays as the
        # proof of what was issued (its HTML, which names them too, goes with it).
        document = lifecycle.render_pending(session, document)
        document.content = b""
        document.destroyed_on = as_of
        destroyed += 1
    scrubbed = _scrub_published_events(session, plan.id)
    plan.anonymised_on = as_of
    plan.updated_at = clock.now()
    end = ended_on(plan)
    session.add(
        PrivacyRecord(
            kind="anonymised",
            institution_id=plan.institution_id,
            plan_id=plan.id,
            at=clock.now(),
            by_user_id=None,
            by_name=JOB_NAME,
            subject=None,
            details={
                "reference": plan.reference,
                "ended_on": end.isoformat(),
                "retention_months": retention_months(),
                "candidates": len(candidate_ids),
                "documents_destroyed": destroyed,
                "events_scrubbed": scrubbed,
            },
        )
    )
    record_event(
        session,
        PlanAnonymised(
            plan_id=plan.id,
            reference=plan.reference,
            institution_id=plan.institution_id,
            employer_id=plan.employer_id,
            ended_on=end,
            anonymised_on=as_of,
            candidate_ids=candidate_ids,
        ),
    )


def _scrub_published_events(session: Session, plan_id: int) -> int:
    """The names published ``plan.cancelled`` (for billing's costs incurred) and
    ``plan.candidate_abandoned`` (for the abandonment invoice) events carried, kept in this
    service's outbox: replaced as in the plan's document. Unpublished rows are the relay's
    and are never touched (a plan ended years ago has none)."""
    outbox = Base.metadata.tables["outbox"]
    kinds = (PlanCancelled.event_type, PlanCandidateAbandoned.event_type)
    rows = session.execute(
        select(outbox.c.id, outbox.c.event_type, outbox.c.body).where(
            outbox.c.event_type.in_(kinds), outbox.c.published_at.is_not(None)
        )
    ).all()
    count = 0
    for row_id, event_type, body in rows:
        payload = body.get("payload", {})
        if payload.get("plan_id") != plan_id:
            continue
        if event_type == PlanCancelled.event_type and payload.get("candidates"):
            payload["candidates"] = [
                {**person, "full_name": f"Personne candidate {number}"}
                for number, person in enumerate(payload["candidates"], start=1)
            ]
        elif event_type == PlanCandidateAbandoned.event_type and payload.get("full_name"):
            payload["full_name"] = "Personne candidate"
        else:
            continue
        session.execute(
            outbox.update().where(outbox.c.id == row_id).values(body={**body, "payload": payload})
        )
        count += 1
    return count


def anonymised_content(content: dict) -> dict:
    """The document without the candidate-workers' identity (counts, rhythms and dates
    kept, so calendars and durations stay as they were)."""
    result = copy.deepcopy(content)
    for number, candidate in enumerate(result.get("candidates", []), start=1):
        candidate["full_name"] = f"Personne candidate {number}"
        candidate["email"] = f"personne-{number}@{ANONYMOUS_DOMAIN}"
        candidate["job_title"] = ""
    return result


def ensure_kept(document: PlanDocument) -> None:
    if document.destroyed_on is not None:
        raise not_found(
            "Ce PDF nommait des personnes candidates : il a été détruit le "
            f"{long_date(document.destroyed_on)} selon la règle de conservation des "
            "renseignements personnels."
        )


def run_retention(as_of: date, session_factory=None) -> dict:
    factory = session_factory or SessionFactory("plans", Base.metadata)
    session = factory()
    try:
        with session.begin():
            return anonymise_due(session, as_of, retention_months())
    finally:
        session.close()


# -- an access request --------------------------------------------------------------------------


def export_person(session: Session, actor: Actor, email: str) -> dict:
    """Everything this service holds about the person with that e-mail in the actor's
    institution's plans (an empty list of plans when there is none)."""
    access.ensure_institution(actor)
    wanted = email.strip().lower()
    plans = session.scalars(
        select(Plan)
        .where(Plan.institution_id == actor.organisation_id, Plan.anonymised_on.is_(None))
        .order_by(Plan.id)
    ).all()
    found, identity = [], None
    for plan in plans:
        entry = _person_in_plan(plan, wanted)
        if entry is not None:
            identity = identity or entry.pop("identity")
            entry.pop("identity", None)
            found.append(entry)
    at = clock.now()
    plan_ids = [p["plan_id"] for p in found]
    session.add(
        PrivacyRecord(
            kind="exported",
            institution_id=actor.organisation_id,
            plan_id=None,
            at=at,
            by_user_id=actor.user_id,
            by_name=actor.full_name,
            subject=wanted,
            details={"plan_ids": plan_ids},
        )
    )
    record_event(
        session,
        PlanPersonalInformationExported(
            institution_id=actor.organisation_id,
            exported_by_user_id=actor.user_id,
            exported_by_name=actor.full_name,
            plan_ids=plan_ids,
        ),
    )
    return {
        "email": wanted,
        "full_name": identity["full_name"] if identity else None,
        "exported_at": at,
        "exported_by": actor.full_name,
        "retention_months": retention_months(),
        "plans": found,
    }


def _person_in_plan(plan: Plan, email: str) -> dict | None:
    versions = []
    identity, candidate_id = None, None
    for version in plan.versions:
        for candidate in version.content.get("candidates", []):
            if candidate.get("email", "").strip().lower() == email:
                identity = candidate
                candidate_id = candidate.get("id") or candidate_id
                versions.append(_as_in_version(plan, version, candidate))
    if not versions:
        return None
    tracked = next((c for c in plan.candidates if c.id == candidate_id), None)
    months = retention_months()
    due = purge_due_on(plan, months)
    return {
        "identity": identity,
        "plan_id": plan.id,
        "reference": plan.reference,
        "program": views.program_label(plan),
        "employer": plan.employer_name,
        "status": plan.status,
        "ended_on": ended_on(plan),
        "kept_until": due,
        "versions": versions,
        "progress": None
        if tracked is None
        else {
            "step": tracked.step,
            "abandoned_on": tracked.abandoned_on,
            "results": {r.competency_code: r.result for r in tracked.results},
        },
    }


def _as_in_version(plan: Plan, version: PlanVersion, candidate: dict) -> dict:
    content = version.content
    units = calendar.evaluation_units(content["competencies"])
    closures = [views.as_date(d) for d in content["closure_dates"]]
    schedule = calendar.candidate_calendar(
        units, candidate["rhythm"], views.as_date(candidate["start_date"]), closures
    )
    return {
        "version": version.number,
        "version_status": version.status,
        "full_name": candidate["full_name"],
        "email": candidate["email"],
        "job_title": candidate["job_title"],
        "rhythm": candidate["rhythm"],
        "start_date": candidate["start_date"],
        "modality": candidate["modality"],
        "calendar": [
            {"label": p.label, "start": p.start, "end": p.end, "weeks": p.weeks}
            for p in schedule.periods
        ],
    }


def history(session: Session, actor: Actor, plan_id: int | None = None) -> list[PrivacyRecord]:
    """The institution's privacy records (a plan's, or all of them), newest first."""
    access.ensure_institution(actor)
    query = select(PrivacyRecord).where(PrivacyRecord.institution_id == actor.organisation_id)
    if plan_id is not None:
        query = query.where(PrivacyRecord.plan_id == plan_id)
    return list(session.scalars(query.order_by(PrivacyRecord.at.desc(), PrivacyRecord.id.desc())))
