"""Views of plans for the gateway and the document, per audience: dicts shaped as the
contract's replies (``PlanRow``, ``PlanView``…), which ``@rpc`` validates on the way out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from babel.dates import format_date
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from rac_shared.actor import Actor
from rac_shared.clock import aware, clock
from rac_shared.contracts.plans import (
    ACCEPTANCE_STATEMENT,
    STEPS,
    Modality,
    PlanContent,
    PlanQuery,
    PlanSort,
    PlanStatus,
    Stage,
    VersionStatus,
)
from rac_shared.french import named, plural
from rac_shared.listing import Key, paginate, reply
from services.plans import calendar, deadlines, texts
from services.plans.drafts import institution_short
from services.plans.lifecycle import replaced_version
from services.plans.models import (
    ACCEPTED,
    CANCELLED,
    COMPLETED,
    DECLINED,
    DRAFT,
    ISSUED,
    LAPSED,
    Plan,
    PlanDocument,
    PlanVersion,
)
from services.plans.progress import progress_view

URGENT_DAYS = 3
EMPLOYER_HIDDEN_VERSION_STATUSES = (DRAFT,)


def as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def program_label(plan: Plan) -> str:
    return f"{plan.program_title} ({plan.program_code})"


def pending_version(plan: Plan) -> PlanVersion | None:
    current = plan.current
    return current if current.status == ISSUED else None


def plan_row(plan: Plan, today: date | None = None) -> dict:
    current = plan.current
    return row_of(plan, current.status, current.acceptance_deadline, today)


def row_of(plan: Plan, version_status: str, version_deadline, today: date | None = None) -> dict:
    """A ``PlanRow`` from the plan and its current version's status and deadline (a list
    selects those two columns with the plan, rather than loading every version)."""
    today = today or clock.today()
    pending = version_status == ISSUED
    deadline = aware(version_deadline) if pending else None
    days_left = deadlines.days_left(deadline, today) if deadline else None
    return {
        "id": plan.id,
        "reference": plan.reference,
        "status": plan.status,
        "status_label": PlanStatus.label_of(plan.status),
        "employer_id": plan.employer_id,
        "employer_name": plan.employer_name,
        "institution_id": plan.institution_id,
        "program": program_label(plan),
        "current_version": plan.current_version,
        "version_status": version_status,
        "version_status_label": VersionStatus.label_of(version_status),
        "accepted_version": plan.accepted_version,
        "awaiting_acceptance": pending,
        "awaiting_version": plan.current_version if pending else None,
        "acceptance_deadline": deadline,
        "days_left": days_left,
        "urgent": days_left is not None and days_left <= URGENT_DAYS,
        "updated_at": aware(plan.updated_at),
    }


def visible_versions(plan: Plan, actor: Actor) -> list[PlanVersion]:
    if actor.is_institution:
        return list(plan.versions)
    return [v for v in plan.versions if v.issued_on is not None]


def default_version(plan: Plan, actor: Actor) -> PlanVersion:
    versions = visible_versions(plan, actor)
    if actor.is_institution:
        return plan.current
    pending = pending_version(plan)
    if pending is not None:
        return pending
    if plan.accepted_version is not None:
        return plan.version(plan.accepted_version)
    return versions[-1]


# -- computed parts of a version ------------------------------------------------------------


def computed(content: dict) -> dict:
    """Units, durations, candidate calendars, steps and timeline, all derived."""
    units = calendar.evaluation_units(content["competencies"])
    closures = [as_date(d) for d in content["closure_dates"]]
    calendars = []
    for candidate in content["candidates"]:
        cal = calendar.candidate_calendar(
            units, candidate["rhythm"], as_date(candidate["start_date"]), closures
        )
        calendars.append((candidate, cal))
    duration = calendar.plan_duration(units, [c for _, c in calendars])
    steps = _steps(content, units)
    return {
        "units": [
            {
                "label": u.label,
                "codes": list(u.codes),
                "statements": list(u.statements),
                "weeks_3h": u.weeks_3h,
                "weeks_6h": u.weeks_6h,
            }
            for u in units
        ],
        "competency_count": len(content["competencies"]),
        "candidate_count": len(content["candidates"]),
        "duration": {
            "weeks_3h": duration.weeks_3h,
            "weeks_6h": duration.weeks_6h,
            "weeks": duration.weeks,
            "start": duration.start,
            "end": duration.end,
            "calendar_weeks": duration.calendar_weeks,
        },
        "calendars": [
            {
                "candidate_id": candidate.get("id"),
                "full_name": candidate["full_name"],
                "job_title": candidate["job_title"],
                "rhythm": cal.rhythm,
                "modality": candidate["modality"],
                "modality_label": Modality.label_of(candidate["modality"]),
                "start": cal.start,
                "end": cal.end,
                "weeks": cal.weeks,
                "periods": [
                    {
                        "label": p.label,
                        "codes": list(p.codes),
                        "weeks": p.weeks,
                        "start": p.start,
                        "end": p.end,
                        "skipped": [{"date": d, "reason": r} for d, r in p.skipped],
                    }
                    for p in cal.periods
                ],
            }
            for candidate, cal in calendars
        ],
        "steps": steps,
        "timeline": timeline(
            [(c["full_name"], cal) for c, cal in calendars],
            [s for s in steps if s.get("start")],
        ),
        "holidays": _holidays_in(duration.start, duration.end),
    }


def _steps(content: dict, units: list[calendar.Unit]) -> list[dict]:
    """The seed's steps in order, the evaluation of each competency or group in the middle."""
    by_kind = {s["kind"]: s for s in content["steps"]}
    result = []
    for kind in STEPS:
        if kind is Stage.EVALUATIONS:
            for unit in units:
                result.append(
                    {
                        "kind": "evaluation",
                        "label": f"Évaluation — {unit.label}",
                        "start": None,
                        "end": None,
                        "period": "selon le calendrier de chaque candidat-travailleur",
                    }
                )
            continue
        step = by_kind.get(kind, {})
        result.append(
            {
                "kind": kind.value,
                "label": kind.label,
                "start": as_date(step["start"]) if step.get("start") else None,
                "end": as_date(step["end"]) if step.get("end") else None,
                "period": step.get("period", ""),
            }
        )
    return result


def _holidays_in(start: date | None, end: date | None) -> list[dict]:
    if start is None or end is None:
        return []
    found = []
    for year in range(start.year, end.year + 1):
        for day, name in sorted(calendar.quebec_holidays(year).items()):
            if start <= day <= end:
                found.append({"date": day, "name": name})
    return found


# -- the timeline, as geometry for an accessible SVG --------------------------------------

TL_WIDTH, TL_LEFT, TL_RIGHT, TL_ROW, TL_TOP = 760, 190, 20, 30, 34
TL_COLOURS = ("#095797", "#0b7a31", "#8a4b08", "#6b2c91", "#a4000f", "#1b5e5e")


def timeline(rows: list[tuple[str, calendar.CandidateCalendar]], steps: list[dict]) -> dict | None:
    dates = [d for _, cal in rows for p in cal.periods for d in (p.start, p.end)]
    dates += [d for s in steps for d in (s["start"], s.get("end")) if d]
    if not dates:
        return None
    first, last = min(dates), max(dates)
    span = (last - first).days + 1
    chart = TL_WIDTH - TL_LEFT - TL_RIGHT

    def x(day: date) -> float:
        return round(TL_LEFT + (day - first).days / span * chart, 1)

    def width(start: date, end: date) -> float:
        return round(max(((end - start).days + 1) / span * chart, 3.0), 1)

    lines = []
    if steps:
        lines.append(
            {
                "label": "Étapes du projet",
                "y": TL_TOP,
                "bars": [
                    {
                        "x": x(s["start"]),
                        "w": width(s["start"], s.get("end") or s["start"]),
                        "label": s["label"],
                        "start": s["start"],
                        "end": s.get("end") or s["start"],
                        "colour": "#4a4a4a",
                    }
                    for s in steps
                ],
            }
        )
    for name, cal in rows:
        lines.append(
            {
                "label": f"{name} ({cal.rhythm} h/sem.)",
                "y": TL_TOP + len(lines) * TL_ROW,
                "bars": [
                    {
                        "x": x(p.start),
                        "w": width(p.start, p.end),
                        "label": p.label,
                        "start": p.start,
                        "end": p.end,
                        "colour": TL_COLOURS[i % len(TL_COLOURS)],
                    }
                    for i, p in enumerate(cal.periods)
                ],
            }
        )
    ticks = []
    month = date(first.year, first.month, 1)
    while month <= last:
        if month >= first:
            ticks.append({"x": x(month), "label": format_date(month, "MMM y", locale="fr_CA")})
        month = (month + timedelta(days=32)).replace(day=1)
    if len(ticks) > 12:  # long projects: one tick per quarter
        ticks = ticks[::3]
    return {
        "width": TL_WIDTH,
        "height": TL_TOP + len(lines) * TL_ROW + 10,
        "left": TL_LEFT,
        "right": TL_WIDTH - TL_RIGHT,
        "row_height": TL_ROW - 10,
        "first": first,
        "last": last,
        "lines": lines,
        "ticks": ticks,
    }


# -- a whole plan ---------------------------------------------------------------------------


def version_summary(version: PlanVersion) -> dict:
    """One line of the plan's history: what the version is (a first offer, a revision that
    replaces an issued version, an amendment of the version in force) and how it ended."""
    amended = version.plan.version(version.amends_version) if version.amends_version else None
    replaced_number = replaced_version(version)
    replaced = version.plan.version(replaced_number) if replaced_number else None
    return {
        "number": version.number,
        "status": version.status,
        "status_label": VersionStatus.label_of(version.status),
        "issued_on": version.issued_on,
        "acceptance_deadline": aware(version.acceptance_deadline),
        "accepted_at": aware(version.accepted_at),
        "change_summary": version.change_summary,
        "based_on": version.based_on,
        "amends_version": version.amends_version,
        "amends_issued_on": amended.issued_on if amended else None,
        "amends_accepted_at": aware(amended.accepted_at) if amended else None,
        "replaces_version": replaced_number,
        "replaces_issued_on": replaced.issued_on if replaced else None,
        "replaces_status": replaced.status if replaced else None,
        "content_hash": version.content_hash,
        "lapsed_on": version.lapsed_on,
        "withdrawn_at": aware(version.withdrawn_at),
        "declined_at": aware(version.declined_at),
        "declined_by": version.declined_by_name,
        "decline_reason": version.decline_reason,
    }


def plan_view(session: Session, plan: Plan, actor: Actor, number: int | None = None) -> dict:
    from rac_shared.errors import not_found

    visible = visible_versions(plan, actor)
    if number is None:
        version = default_version(plan, actor)
    else:
        version = next((v for v in visible if v.number == number), None)
        if version is None:
            raise not_found("Cette version du plan est introuvable.")
    content = PlanContent.model_validate(version.content).model_dump()  # dates as dates
    today = clock.today()
    deadline = aware(version.acceptance_deadline)
    now = clock.now()
    in_time = deadline is not None and deadlines.is_before_deadline(now, deadline)
    institution = actor.is_institution
    employer = actor.is_employer
    current = plan.current
    editable = institution and current.status == DRAFT and plan.status in (DRAFT, ACCEPTED)
    documents = {
        d.kind: {"filename": d.filename, "size": d.size, "sha256": d.sha256, "mime": d.mime}
        for d in session.scalars(
            select(PlanDocument).where(
                PlanDocument.version_id == version.id, PlanDocument.destroyed_on.is_(None)
            )
        )
    }
    fill = texts.fill(
        institution=content["institution"]["name"],
        employer=content["employer"]["name"],
        kind=content["program"]["kind"],
        title=content["program"]["title"],
        code=content["program"]["code"],
    )
    acceptance = None
    if version.accepted_at is not None:
        acceptance = {
            "channel": version.acceptance_channel,
            "accepted_at": aware(version.accepted_at),
            "full_name": version.accepted_by_name,
            "title": version.accepted_by_title,
            "statement": version.acceptance_statement,
            "ip": version.acceptance_ip,
            "content_hash": version.accepted_hash,
            "received_on": version.received_on,
        }
    return {
        "plan": plan_row(plan, today),
        "institution_id": plan.institution_id,
        "institution_short": institution_short(plan.institution_kind),
        "cancelled_on": plan.cancelled_on,
        "cancelled_by_party": plan.cancelled_by_party,
        "cancel_reason": plan.cancel_reason,
        "completed_on": plan.completed_on,
        "versions": [version_summary(v) for v in visible],
        "version": {
            **version_summary(version),
            "is_current": version.number == plan.current_version,
            "days_left": deadlines.days_left(deadline, today) if deadline else None,
            "in_time": in_time,
            "documents": documents,
            "acceptance": acceptance,
            "estimate": version.estimate,
        },
        "content": content,
        "computed": computed(content),
        "texts": {
            "organisation_clause": texts.ORGANISATION_CLAUSE.format(
                institution=fill["institution"]
            ),
            "acceptance_clauses": [c.format(**fill) for c in texts.ACCEPTANCE_CLAUSES],
            "missing_training_note": texts.MISSING_TRAINING_NOTE,
            "candidate_footnote": texts.CANDIDATE_FOOTNOTE,
            "acceptance_statement": ACCEPTANCE_STATEMENT,
        },
        "permissions": {
            "edit": editable,
            "issue": editable,
            "accept_online": employer
            and version.status == ISSUED
            and version.number == current.number
            and in_time,
            "decline": employer
            and version.status == ISSUED
            and version.number == current.number
            and in_time,
            "record_acceptance": institution
            and version.status == ISSUED
            and version.number == current.number,
            "amend": institution
            and plan.anonymised_on is None
            and (
                (current.status == ISSUED and plan.status in (ISSUED, ACCEPTED))
                or (plan.status == ACCEPTED and current.status != DRAFT)
                or plan.status == DECLINED
            ),
            "cancel": plan.anonymised_on is None
            and (
                (institution and plan.status in (DRAFT, ISSUED, ACCEPTED, DECLINED))
                or (employer and plan.status in (ISSUED, ACCEPTED))
            ),
            "complete": institution and plan.status == ACCEPTED,
            "follow": plan.status in (ACCEPTED, COMPLETED),
            "compare": version.based_on is not None,
        },
        "anonymised_on": plan.anonymised_on,
    }


def plan_progress(plan: Plan, actor: Actor) -> dict:
    return {"plan": plan_row(plan), **progress_view(plan, actor)}


# -- comparison of two versions ---------------------------------------------------------------


def _flatten(content: dict) -> list[tuple[str, str]]:
    s = content["sections"]
    items = [
        ("Pour : organisation", _join(content["employer"].values())),
        ("Par : établissement", _join(content["institution"].values())),
        (
            "Programme",
            f"{content['program']['kind']} {content['program']['title']} "
            f"({content['program']['code']})",
        ),
        ("Contexte de réalisation", s["context"]),
        ("Personnes en emploi visées", s["target_jobs"]),
        ("Expertise de l'établissement", s["institution_expertise"]),
        ("Domaines d'expertise", "\n".join(s["domains"])),
        ("Équipements disponibles", s["equipment"]),
        (
            "Spécialistes de contenu",
            "\n".join(f"{p['name']} — {p['field']}" for p in s["specialists"]),
        ),
        ("Expertise de l'organisation", s["organisation_expertise"]),
        ("Objectifs", "\n".join(s["objectives"])),
        ("Déroulement", s["process"]),
        ("Élaboration du plan de mise en œuvre", s["implementation"]),
        ("Formation manquante", s["missing_training_procedure"]),
        (
            "Compétences",
            "\n".join(
                f"{c['code']} {c['statement']}"
                + (f" [{c['group']}]" if c["group"] else "")
                + f" : {c['weeks_3h']} sem. à 3 h, {c['weeks_6h']} sem. à 6 h"
                for c in content["competencies"]
            ),
        ),
        (
            "Candidats-travailleurs",
            "\n".join(
                f"{c['full_name']}, {c['job_title']} — {c['rhythm']} h/sem. dès le "
                f"{c['start_date']}, {Modality.label_of(c['modality']).lower()}"
                for c in content["candidates"]
            ),
        ),
        (
            "Étapes",
            "\n".join(
                f"{Stage.label_of(st['kind'])} : "
                + " – ".join(x for x in (st.get("start") or "", st.get("end") or "") if x)
                + (f" {st['period']}" if st.get("period") else "")
                for st in content["steps"]
            ),
        ),
        ("Dates de fermeture", ", ".join(content["closure_dates"])),
    ]
    labels = {
        "evaluation_fees_note": "Frais d'évaluation par candidat-travailleur",
        "human_financial_resources": "Ressources humaines et financières",
        "safety_equipment": "Équipements de sécurité",
        "refund_conditions": "Conditions de remboursement",
        "modalities": "Modalités des activités",
    }
    for key, label in labels.items():
        items.append((f"Aide-mémoire : {label}", content["aide_memoire"].get(key, "")))
    annexes = content["annexes"]
    items += [
        ("Annexe A", annexes["annex_a"]),
        (
            "Annexe B",
            annexes["annex_b"]
            + "\n"
            + "\n".join(f"{e['what']} ({e['who']})" for e in annexes["annex_b_entries"]),
        ),
        ("Annexe C", annexes["annex_c"]),
    ]
    return items


def _join(values) -> str:
    return "\n".join(str(v) for v in values if v)


def comparison(plan: Plan, left: PlanVersion, right: PlanVersion) -> dict:
    before, after = _flatten(left.content), _flatten(right.content)
    rows = [
        {"label": label, "left": a, "right": b, "changed": a != b}
        for (label, a), (_, b) in zip(before, after, strict=True)
    ]
    return {
        "plan": plan_row(plan),
        "left": version_summary(left),
        "right": version_summary(right),
        "change_summary": right.change_summary,
        "rows": rows,
        "changed_count": sum(1 for r in rows if r["changed"]),
    }


# -- lists and figures ---------------------------------------------------------------------


def network_figures(session: Session) -> dict:
    """The ministry's view: counts and acceptance rate, never a plan's content."""
    counts = dict(session.execute(select(Plan.status, func.count()).group_by(Plan.status)).all())
    by_status = [
        {"status": s, "label": PlanStatus.label_of(s), "count": counts.get(s, 0)}
        for s in (DRAFT, ISSUED, ACCEPTED, LAPSED, DECLINED, CANCELLED, COMPLETED)
    ]
    accepted_ever = session.scalar(
        select(func.count()).select_from(Plan).where(Plan.accepted_version.is_not(None))
    )
    lapsed = counts.get(LAPSED, 0)
    declined = counts.get(DECLINED, 0)
    decided = accepted_ever + lapsed + declined
    institutions = session.scalar(select(func.count(func.distinct(Plan.institution_id))))
    return {
        "total": sum(counts.values()),
        "by_status": by_status,
        "issued_ever": session.scalar(
            select(func.count()).select_from(Plan).where(Plan.ever_issued.is_(True))
        ),
        "accepted_ever": accepted_ever,
        "lapsed": lapsed,
        "declined": declined,
        # Share of the offers that were decided (accepted, lapsed for want of acceptance, or
        # declined by the employer).
        "acceptance_rate": round(accepted_ever * 100 / decided, 1) if decided else None,
        "institutions": institutions,
    }


FAR = datetime(9999, 12, 31, tzinfo=UTC)


def _listed(actor: Actor):
    """The plans an actor lists, each with its current version's status and deadline."""
    from rac_shared.errors import forbidden

    current = aliased(PlanVersion)
    query = select(Plan, current.status, current.acceptance_deadline).join(
        current, and_(current.plan_id == Plan.id, current.number == Plan.current_version)
    )
    if actor.is_institution:
        query = query.where(Plan.institution_id == actor.organisation_id)
    elif actor.is_employer:
        query = query.where(Plan.employer_id == actor.organisation_id, Plan.ever_issued.is_(True))
    else:
        raise forbidden("Le Ministère consulte les indicateurs du réseau, pas la liste des plans.")
    return query, current


def _sort_keys(sort: str, current) -> list[Key]:
    if sort == PlanSort.UPDATED:
        return [Key(Plan.updated_at, descending=True), Key(Plan.id, descending=True)]
    if sort == PlanSort.REFERENCE:
        return [Key(Plan.reference), Key(Plan.id)]
    if sort == PlanSort.EMPLOYER:
        return [Key(Plan.employer_name), Key(Plan.reference), Key(Plan.id)]
    # Work to do first: awaiting acceptance, the nearest deadline first; then the newest.
    awaiting = current.status == ISSUED
    return [
        Key(case((awaiting, 0), else_=1)),
        Key(func.coalesce(case((awaiting, current.acceptance_deadline)), FAR)),
        Key(Plan.id, descending=True),
    ]


def list_plans(session: Session, actor: Actor, query: PlanQuery) -> dict:
    """A page of the institution's plans, or the employer's (issued at least once);
    ministry: none. Two statements (the count and the page), whatever the page's size."""
    statement, current = _listed(actor)
    if query.status:
        statement = statement.where(Plan.status == query.status)
    page = paginate(
        session,
        statement,
        query,
        name="plans",
        scope=actor.organisation_id,
        keys=_sort_keys(query.sort, current),
    )
    today = clock.today()
    return reply(page, [row_of(*row, today) for row in page["rows"]])


HOME_PENDING_SHOWN = 5  # offers awaiting acceptance named one by one on a home page


def _awaiting(session: Session, actor: Actor):
    """The actor's plans whose current version waits for the employer, nearest deadline
    first: one query on the plan and its current version's columns (never the contents)."""
    query = (
        select(
            Plan.id,
            Plan.reference,
            Plan.employer_name,
            Plan.program_title,
            Plan.program_code,
            PlanVersion.acceptance_deadline,
        )
        .join(
            PlanVersion,
            (PlanVersion.plan_id == Plan.id) & (PlanVersion.number == Plan.current_version),
        )
        .where(PlanVersion.status == ISSUED)
    )
    if actor.is_institution:
        return query.where(Plan.institution_id == actor.organisation_id)
    return query.where(Plan.employer_id == actor.organisation_id, Plan.ever_issued.is_(True))


def home_summary(session: Session, actor: Actor) -> list[dict]:
    """The offers awaiting acceptance (the nearest deadlines one by one, the others
    counted), then the institution's ways into its plans: bounded queries whatever the
    number of plans."""
    if actor.is_ministry:
        return [
            {
                "label": "Consulter les indicateurs des plans de mise en œuvre du réseau",
                "url": "/plans",
                "count": None,
                "urgent": False,
            }
        ]
    if not (actor.is_institution or actor.is_employer):
        return []
    actions = []
    awaiting = _awaiting(session, actor)
    today = clock.today()
    shown = session.execute(
        awaiting.order_by(PlanVersion.acceptance_deadline, Plan.id.desc()).limit(HOME_PENDING_SHOWN)
    ).all()
    for row in shown:
        days = deadlines.days_left(aware(row.acceptance_deadline), today)
        left = "dernier jour" if days == 0 else plural(days, "jour restant")
        program = f"{row.program_title} ({row.program_code})"
        if actor.is_employer:
            label = f"Plan {row.reference} ({program}) à accepter : {left}"
        else:
            label = (
                f"Plan {row.reference} en attente d'acceptation par "
                f"{named(row.employer_name).le} : "
                f"{left}"
            )
        actions.append(
            {"label": label, "url": f"/plans/{row.id}", "count": None, "urgent": days <= 3}
        )
    if len(shown) == HOME_PENDING_SHOWN:
        total = session.scalar(select(func.count()).select_from(awaiting.subquery()))
        if total > HOME_PENDING_SHOWN:
            others = total - HOME_PENDING_SHOWN
            actions.append(
                {
                    "label": "Autres plans en attente d'acceptation",
                    "url": "/plans?statut=issued",
                    "count": others,
                    "urgent": False,
                }
            )
    if actor.is_institution:
        actions.append(
            {
                "label": "Préparer ou consulter les plans de mise en œuvre",
                "url": "/plans",
                "count": None,
                "urgent": False,
            }
        )
        drafts = session.scalar(
            select(func.count())
            .select_from(Plan)
            .where(Plan.institution_id == actor.organisation_id, Plan.status == DRAFT)
        )
        if drafts:
            actions.append(
                {
                    "label": "Plans de mise en œuvre en préparation",
                    "url": "/plans?statut=draft",
                    "count": drafts,
                    "urgent": False,
                }
            )
    return actions
