"""A plan's dates as calendar events: the offer's acceptance deadline and each
candidate-worker's evaluation periods (``rac_shared.contracts.calendar``).

The same people see them as on the plan's page: the institution and, once the plan is
issued, the employer; never the ministry. Without a plan, the calendar holds every plan the
actor follows that is still running (issued or accepted); a candidate-worker who abandoned
has no periods left. UIDs name the plan, the version or the candidate-worker and the unit,
so a calendar application updates an event when a revision moves it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

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
    periods = _candidate_events(plan, views.default_version(plan, actor))
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
    """Every date of the plans the actor follows that still run: the plans, their versions
    (without their content) and their candidate-workers, three statements whatever their
    number; then, once per version and process, the content of those not computed yet."""
    query = (
        select(Plan)
        .where(Plan.status.in_(RUNNING))
        .order_by(Plan.id)
        .options(
            selectinload(Plan.versions).load_only(*FOLLOWED_COLUMNS),
            selectinload(Plan.candidates),
        )
    )
    if actor.is_institution:
        query = query.where(Plan.institution_id == actor.organisation_id)
    else:
        query = query.where(Plan.employer_id == actor.organisation_id)
    plans = list(session.scalars(query))
    followed = {plan.id: _followed_version(plan) for plan in plans}
    kept = {
        v.id: PERIODS.get((v.plan_id, v.id), v.content_hash)
        for v in followed.values()
        if v.content_hash
    }
    missing = [v.id for v in followed.values() if kept.get(v.id) is None]
    contents = dict(
        session.execute(select(PlanVersion.id, PlanVersion.content).where(
            PlanVersion.id.in_(missing))).all()
    ) if missing else {}  # fmt: skip
    events = []
    for plan in plans:
        version = followed[plan.id]
        periods = kept.get(version.id)
        if periods is None:
            periods = _candidate_events(plan, version, contents[version.id])
            if version.content_hash:  # issued: frozen under that hash
                PERIODS.put((plan.id, version.id), version.content_hash, periods)
        abandoned = _abandoned(plan)
        events += _deadline_events(plan)
        events += [event for who, event in periods if who not in abandoned]
    return events


# What a running plan's calendar reads of its versions (their content only when computed).
FOLLOWED_COLUMNS = (
    PlanVersion.id,
    PlanVersion.plan_id,
    PlanVersion.number,
    PlanVersion.status,
    PlanVersion.acceptance_deadline,
    PlanVersion.amends_version,
    PlanVersion.content_hash,
)


def _followed_version(plan: Plan) -> PlanVersion:
    """The version whose calendars are the project's: the one in force, else the offer."""
    if plan.accepted_version is not None:
        return plan.version(plan.accepted_version)
    return plan.current


def _abandoned(plan: Plan) -> set[int]:
    return {c.id for c in plan.candidates if isinstance(c, PlanCandidate) and c.abandoned_on}


def _deadline_events(plan: Plan) -> list[CalendarEvent]:
    pending = views.pending_version(plan)
    return [acceptance_deadline_event(plan, pending)] if pending is not None else []


def _candidate_events(
    plan: Plan, version: PlanVersion, content: dict | None = None
) -> list[tuple[int | None, CalendarEvent]]:
    """Each candidate-worker's evaluation periods in ``version``, with the candidate-worker's
    id (a candidate-worker who abandoned is left out by the caller)."""
    content = version.content if content is None else content
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
    deadline = aware(version.acceptance_deadline)
    what = f"du plan de mise en œuvre {plan.reference}"
    if version.amends_version is not None:
        what = f"de la modification du plan de mise en œuvre {plan.reference}"
    return CalendarEvent(
        uid=f"plan-{plan.id}-v{version.number}-acceptation@{UID_DOMAIN}",
        title=f"Date limite d'acceptation {what} (version {version.number})",
        start=local(deadline).date(),
        at=deadline,
        description=(
            f"L'acceptation écrite {named(plan.employer_name).du} doit parvenir au plus tard le "
            f"{long_datetime(deadline)}, faute de quoi l'offre est résolue de plein droit."
        ),
        path=f"/plans/{plan.id}",
    )
