"""A plan's dates as calendar events: the offer's acceptance deadline and each
candidate-worker's evaluation periods (``rac_shared.contracts.calendar``).

The same people see them as on the plan's page: the institution and, once the plan is
issued, the employer; never the ministry. Without a plan, the calendar holds every plan the
actor follows that is still running (issued or accepted); a candidate-worker who abandoned
has no periods left. UIDs name the plan, the version or the candidate-worker and the unit,
so a calendar application updates an event when a revision moves it.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import aware, local
from rac_shared.contracts.calendar import CalendarEvent, CalendarQuery
from rac_shared.errors import not_found
from rac_shared.formatting import long_date, long_datetime
from rac_shared.french import named
from rac_shared.reply_cache import Replies
from services.plans import access, calendar, views
from services.plans.models import ACCEPTED, ISSUED, Plan, PlanCandidate, PlanVersion

UID_DOMAIN = "plans.rac.quebec"
RUNNING = (ISSUED, ACCEPTED)
RHYTHM = {3: "3 heures par semaine", 6: "6 heures par semaine"}


def calendar_events(session: Session, actor: Actor, query: CalendarQuery) -> list[CalendarEvent]:
    if query.plan_id is None:
        if query.candidate_id is not None:
            raise not_found("Personne candidate introuvable.")
        if actor.is_ministry or not (actor.is_institution or actor.is_employer):
            return []
        return _running_events(session, actor)
    plan = access.load(session, actor, query.plan_id)
    abandoned = _abandoned(plan)
    periods = _candidate_events(plan, views.default_version(plan, actor).content)
    events = _deadline_events(plan) + [e for who, e in periods if who not in abandoned]
    if query.candidate_id is None:
        return events
    mine = [e for e in events if f"-candidat-{query.candidate_id}-" in e.uid]
    if not mine:
        raise not_found("Personne candidate introuvable dans ce plan.")
    return mine


# An issued version's candidate-workers' periods, by version, kept under its content's hash
# (set when it is issued: its content is frozen then); an institution's calendar computed
# every period of its every running plan on each read (over a second with 5 000 plans).
PERIODS = Replies(max_entries=20_000)


def _running_events(session: Session, actor: Actor) -> list[CalendarEvent]:
    """Every date of the plans the actor follows that still run, in two statements whatever
    their number (each plan's current and accepted versions' facts, without their content,
    and the candidate-workers who abandoned); the periods of a version not computed yet in
    this process need its plan and its content, two statements more."""
    tenant = Plan.institution_id if actor.is_institution else Plan.employer_id
    running = and_(Plan.status.in_(RUNNING), tenant == actor.organisation_id)
    rows = session.execute(
        select(
            Plan.id, Plan.reference, Plan.employer_name, Plan.accepted_version,
            Plan.current_version, PlanVersion.id.label("version_id"), PlanVersion.number,
            PlanVersion.status, PlanVersion.acceptance_deadline, PlanVersion.amends_version,
            PlanVersion.content_hash,
        )
        .join(PlanVersion, PlanVersion.plan_id == Plan.id)
        .where(running, or_(PlanVersion.number == Plan.current_version,
                            PlanVersion.number == Plan.accepted_version))
        .order_by(Plan.id, PlanVersion.number)
    ).all()  # fmt: skip
    abandoned = set(
        session.execute(
            select(PlanCandidate.plan_id, PlanCandidate.id)
            .join(Plan, Plan.id == PlanCandidate.plan_id)
            .where(running, PlanCandidate.abandoned_on.is_not(None))
        ).all()
    )
    followed, pending = {}, []
    for row in rows:  # the version in force, else the offer; and the offer awaiting an answer
        if row.number == (row.accepted_version or row.current_version):
            followed[row.id] = row
        if row.number == row.current_version and row.status == ISSUED:
            pending.append(row)
    kept = {
        plan_id: PERIODS.get((plan_id, row.version_id), row.content_hash)
        for plan_id, row in followed.items()
        if row.content_hash
    }
    missing = [plan_id for plan_id in followed if kept.get(plan_id) is None]
    if missing:
        plans = {p.id: p for p in session.scalars(select(Plan).where(Plan.id.in_(missing)))}
        contents = dict(
            session.execute(
                select(PlanVersion.id, PlanVersion.content).where(
                    PlanVersion.id.in_([followed[plan_id].version_id for plan_id in missing])
                )
            ).all()
        )
        for plan_id in missing:
            row = followed[plan_id]
            kept[plan_id] = _candidate_events(plans[plan_id], contents[row.version_id])
            if row.content_hash:  # issued: frozen under that hash
                PERIODS.put((plan_id, row.version_id), row.content_hash, kept[plan_id])
    events = [_deadline_event(row.id, row.reference, row.employer_name, row) for row in pending]
    for plan_id, periods in kept.items():
        events += [event for who, event in periods if (plan_id, who) not in abandoned]
    return events


def _abandoned(plan: Plan) -> set[int]:
    return {c.id for c in plan.candidates if isinstance(c, PlanCandidate) and c.abandoned_on}


def _deadline_events(plan: Plan) -> list[CalendarEvent]:
    pending = views.pending_version(plan)
    if pending is None:
        return []
    return [_deadline_event(plan.id, plan.reference, plan.employer_name, pending)]


def _candidate_events(plan: Plan, content: dict) -> list[tuple[int | None, CalendarEvent]]:
    """Each candidate-worker's evaluation periods in a version's ``content``, with the
    candidate-worker's id (a candidate-worker who abandoned is left out by the caller)."""
    units = calendar.evaluation_units(content["competencies"])
    closures = [views.as_date(d) for d in content["closure_dates"]]
    events = []
    for position, candidate in enumerate(content["candidates"], start=1):
        key = candidate.get("id") or f"n{position}"
        schedule = calendar.candidate_calendar(
            units, candidate["rhythm"], views.as_date(candidate["start_date"]), closures
        )
        for index, period in enumerate(schedule.periods, start=1):
            skipped = ", ".join(f"{long_date(d)} ({reason})" for d, reason in period.skipped)
            description = (
                f"Plan de mise en œuvre {plan.reference}, {views.program_label(plan)}. "
                f"{candidate['full_name']}, {candidate['job_title']} : évaluation au rythme de "
                f"{RHYTHM[schedule.rhythm]}, {period.weeks} semaine"
                f"{'s' if period.weeks > 1 else ''}."
            )
            if skipped:
                description += f" Jours non travaillés : {skipped}."
            event = CalendarEvent(
                uid=f"plan-{plan.id}-candidat-{key}-{index}@{UID_DOMAIN}",
                title=f"Évaluation de {candidate['full_name']} — {period.label}",
                start=period.start,
                end=period.end,
                description=description,
                path=f"/plans/{plan.id}",
            )
            events.append((candidate.get("id"), event))
    return events


def acceptance_deadline_event(plan: Plan, version: PlanVersion) -> CalendarEvent:
    """The moment the employer's written acceptance of an offer must have arrived by."""
    return _deadline_event(plan.id, plan.reference, plan.employer_name, version)


def _deadline_event(plan_id: int, reference: str, employer_name: str, version) -> CalendarEvent:
    """``version``: a version, or a row with its number, deadline and ``amends_version``."""
    deadline = aware(version.acceptance_deadline)
    what = f"du plan de mise en œuvre {reference}"
    if version.amends_version is not None:
        what = f"de la modification du plan de mise en œuvre {reference}"
    return CalendarEvent(
        uid=f"plan-{plan_id}-v{version.number}-acceptation@{UID_DOMAIN}",
        title=f"Date limite d'acceptation {what} (version {version.number})",
        start=local(deadline).date(),
        at=deadline,
        description=(
            f"L'acceptation écrite {named(employer_name).du} doit parvenir au plus tard le "
            f"{long_datetime(deadline)}, faute de quoi l'offre est résolue de plein droit."
        ),
        path=f"/plans/{plan_id}",
    )
