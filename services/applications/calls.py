"""Calls for interest: creation, form builder, evaluation grid, guide, publication,
closing and amendments. Plain functions over a SQLAlchemy session (no nameko, no HTTP)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock, end_of_day
from rac_shared.contracts.applications import (
    AmendmentIn,
    CallIn,
    CallQuery,
    CriterionGroup,
    CriterionIn,
    GridIn,
    QuestionIn,
    SectionIn,
)
from rac_shared.errors import conflict, invalid, not_found
from rac_shared.events import CallAmended, CallPublished
from rac_shared.formatting import long_date
from rac_shared.listing import Key, paginate
from rac_shared.outbox import record_event
from services.applications import access
from services.applications.admissibility import ORDER_OF_KIND
from services.applications.files import PDF, check_upload
from services.applications.models import (
    APP_COMPLEMENTS,
    APP_DRAFT,
    APP_SUBMITTED,
    CALL_CLOSED,
    CALL_DRAFT,
    CALL_PUBLISHED,
    Amendment,
    Application,
    Attachment,
    Call,
    Criterion,
    FormSection,
    Question,
)

GROUP_LABELS = CriterionGroup.labels()
GROUP_SIZES = {"qualite": 4, "pertinence": 2}

# The mandate's three parts and the reporting commitment: part of every form.
MANDATE_SECTIONS = [
    (
        "offer",
        "Volet 1 — Accroître l'offre de service en RAC",
        "Soutien aux établissements pour la mise en application des différentes étapes de la "
        "démarche en RAC ainsi que pour la mise en place et le bon fonctionnement d'un service "
        "de RAC.",
        "L'établissement souscrit au premier volet du mandat : accroître l'offre de service "
        "en RAC.",
        "Décrivez le soutien que l'établissement offrira aux autres établissements "
        "(étapes de la démarche, mise en place d'un service de RAC).",
    ),
    (
        "quality",
        "Volet 2 — Améliorer la qualité des services offerts",
        "Harmonisation des pratiques : cohérence de l'offre de service, réduction des "
        "disparités dans les réseaux, équité et équivalence des pratiques.",
        "L'établissement souscrit au deuxième volet du mandat : améliorer la qualité des "
        "services offerts.",
        "Décrivez les dispositions prévues pour harmoniser les pratiques dans le réseau.",
    ),
    (
        "development",
        "Volet 3 — Contribuer au développement de la RAC",
        "Élargir et renouveler les champs de pratique : acquisition des compétences "
        "manquantes, instrumentation, RAC à distance, sites Internet.",
        "L'établissement souscrit au troisième volet du mandat : contribuer au développement "
        "de la RAC.",
        "Décrivez les projets de développement envisagés, en conformité avec les orientations "
        "ministérielles.",
    ),
    (
        "reporting",
        "Reddition de comptes",
        "Objectifs et indicateurs mesurables en fonction du mandat, pendant la phase "
        "d'expérimentation.",
        "L'établissement s'engage à la reddition de comptes prévue (objectifs et indicateurs "
        "mesurables en fonction du mandat).",
        "Proposez les objectifs et les indicateurs mesurables dont l'établissement rendra compte.",
    ),
]
MANDATE_PARTS = tuple(part for part, *_ in MANDATE_SECTIONS)


# -- reading ---------------------------------------------------------------------------


def calls_page(session: Session, actor: Actor, query: CallQuery) -> dict:
    """A page of the calls the actor sees (``paginate``'s, each row a ``Call``), the latest
    deadline first: the ministry sees every call; institutions see published and closed
    ones. Two statements whatever the page."""
    access.ensure_in_area(actor)
    statement = select(Call)
    if not actor.is_ministry:
        statement = statement.where(Call.status.in_((CALL_PUBLISHED, CALL_CLOSED)))
    return paginate(
        session,
        statement,
        query,
        name="calls",
        scope=actor.is_ministry,
        keys=[Key(Call.deadline_date, descending=True), Key(Call.id, descending=True)],
    )


def get_call(session: Session, actor: Actor, call_id: int, for_update: bool = False) -> Call:
    access.ensure_in_area(actor)
    query = select(Call).where(Call.id == call_id)
    if for_update:
        query = query.with_for_update()
    call = session.scalar(query)
    if call is None or (call.status == CALL_DRAFT and not actor.is_ministry):
        raise not_found("Appel d'intérêt introuvable.")
    return call


def guide_of(session: Session, call_id: int) -> Attachment | None:
    return session.scalar(
        select(Attachment)
        .where(Attachment.call_id == call_id, Attachment.kind == "guide")
        .order_by(Attachment.id.desc())
    )


def deadline_passed(call: Call) -> bool:
    return clock.now() > end_of_day(call.deadline_date)


def concerns(call: Call, organisation_kind: str) -> bool:
    return ORDER_OF_KIND.get(organisation_kind) in (call.education_orders or [])


# -- problems that block publication -----------------------------------------------------


def date_problems(
    launch: date | None, deadline: date | None, analysis: date | None, designation: date | None
) -> dict[str, str]:
    problems = {}
    if launch and deadline and deadline < launch:
        problems["deadline_date"] = "La date limite de dépôt doit suivre la date de lancement."
    if deadline and analysis and analysis <= deadline:
        problems["analysis_date"] = (
            "L'analyse des demandes doit être prévue après la date limite de dépôt."
        )
    if designation and analysis and designation < analysis:
        problems["designation_date"] = (
            "La désignation doit être prévue au plus tôt à la date d'analyse."
        )
    if designation and deadline and designation <= deadline:
        problems.setdefault(
            "designation_date", "La désignation doit être prévue après la date limite de dépôt."
        )
    return problems


def grid_problems(criteria: list) -> list[str]:
    """Why a grid cannot be published (empty list when it is valid)."""
    problems = []
    for group, size in GROUP_SIZES.items():
        count = sum(1 for c in criteria if c.group == group)
        if count != size:
            problems.append(
                f"Le groupe « {GROUP_LABELS[group]} » doit compter {size} critères "
                f"(actuellement {count})."
            )
    total = sum(c.weight for c in criteria)
    if total != 100:
        problems.append(f"La somme des pondérations doit être de 100 (actuellement {total}).")
    for c in criteria:
        if c.threshold > c.weight:
            problems.append(
                f"Le seuil de réussite du critère « {c.label} » ({c.threshold}) dépasse sa "
                f"pondération ({c.weight})."
            )
    return problems


def call_problems(session: Session, call: Call) -> list[str]:
    """Everything that prevents publishing ``call``, in French."""
    problems = list(
        date_problems(
            call.launch_date, call.deadline_date, call.analysis_date, call.designation_date
        ).values()
    )
    if call.analysis_date is None:
        problems.append("La date prévue de l'analyse des demandes est manquante.")
    if call.designation_date is None:
        problems.append("La date prévue de la désignation est manquante.")
    if not call.experimentation_years:
        problems.append("Les années d'expérimentation sont manquantes.")
    problems.extend(grid_problems(call.criteria))
    parts = {s.mandate_part for s in call.sections}
    for part, title, *_ in MANDATE_SECTIONS:
        if part not in parts:
            problems.append(f"La section « {title} » est manquante.")
    for section in call.sections:
        if not section.questions:
            problems.append(f"La section « {section.title} » ne contient aucune question.")
    if guide_of(session, call.id) is None:
        problems.append("Le guide de présentation (PDF) n'est pas joint.")
    return problems


# -- drafting --------------------------------------------------------------------------


def _draft(session: Session, actor: Actor, call_id: int) -> Call:
    access.ensure_admin(actor)
    call = get_call(session, actor, call_id, for_update=True)
    if call.status != CALL_DRAFT:
        raise conflict(
            "Un appel publié ne se modifie que par un avis de modification, consigné et "
            "annoncé aux établissements."
        )
    return call


def _check_dates(data: CallIn) -> None:
    problems = date_problems(
        data.launch_date, data.deadline_date, data.analysis_date, data.designation_date
    )
    if problems:
        raise invalid("Les dates de l'appel ne sont pas dans le bon ordre.", problems)


def create_call(session: Session, actor: Actor, data: CallIn) -> Call:
    access.ensure_admin(actor)
    _check_dates(data)
    now = clock.now()
    call = Call(
        **data.model_dump(),
        status=CALL_DRAFT,
        version=1,
        created_by_user_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    for position, (part, title, description, commitment, plan) in enumerate(MANDATE_SECTIONS):
        section = FormSection(
            position=position + 1, title=title, description=description, mandate_part=part
        )
        section.questions = [
            Question(position=1, label=commitment, kind="yes_no", required=True, must_accept=True),
            Question(position=2, label=plan, kind="text", max_length=4000, required=True),
        ]
        call.sections.append(section)
    session.add(call)
    session.flush()
    return call


def update_call(session: Session, actor: Actor, call_id: int, data: CallIn) -> Call:
    call = _draft(session, actor, call_id)
    _check_dates(data)
    for key, value in data.model_dump().items():
        setattr(call, key, value)
    call.updated_at = clock.now()
    return call


def add_section(session: Session, actor: Actor, call_id: int, data: SectionIn) -> FormSection:
    call = _draft(session, actor, call_id)
    ordered = sorted(call.sections, key=lambda s: s.position)
    section = FormSection(title=data.title, description=data.description)
    index = len(ordered) if data.position is None else min(data.position - 1, len(ordered))
    ordered.insert(index, section)
    for position, item in enumerate(ordered, start=1):
        item.position = position
    call.sections.append(section)
    call.updated_at = clock.now()
    session.flush()
    return section


def _section(call: Call, section_id: int) -> FormSection:
    for section in call.sections:
        if section.id == section_id:
            return section
    raise not_found("Section introuvable dans cet appel.")


def delete_section(session: Session, actor: Actor, call_id: int, section_id: int) -> None:
    call = _draft(session, actor, call_id)
    section = _section(call, section_id)
    if section.mandate_part:
        raise conflict(
            "Les sections des trois volets du mandat et de la reddition de comptes font partie "
            "de tout formulaire : elles ne peuvent pas être retirées."
        )
    call.sections.remove(section)
    call.updated_at = clock.now()


def move_section(session: Session, actor: Actor, call_id: int, section_id: int, step: int):
    call = _draft(session, actor, call_id)
    sections = sorted(call.sections, key=lambda s: s.position)
    index = sections.index(_section(call, section_id))
    other = index + (1 if step > 0 else -1)
    if 0 <= other < len(sections):
        sections[index], sections[other] = sections[other], sections[index]
    for position, section in enumerate(sections, start=1):
        section.position = position
    call.updated_at = clock.now()


def add_question(
    session: Session, actor: Actor, call_id: int, section_id: int, data: QuestionIn
) -> Question:
    call = _draft(session, actor, call_id)
    section = _section(call, section_id)
    question = Question(
        position=max((q.position for q in section.questions), default=0) + 1,
        label=data.label,
        help_text=data.help_text,
        kind=data.kind,
        max_length=data.max_length,
        options=data.options,
        required=data.required,
        must_accept=False,
    )
    section.questions.append(question)
    call.updated_at = clock.now()
    session.flush()
    return question


def delete_question(
    session: Session, actor: Actor, call_id: int, section_id: int, question_id: int
) -> None:
    call = _draft(session, actor, call_id)
    section = _section(call, section_id)
    question = next((q for q in section.questions if q.id == question_id), None)
    if question is None:
        raise not_found("Question introuvable dans cette section.")
    if question.must_accept:
        raise conflict(
            "L'engagement envers le mandat et la reddition de comptes fait partie de tout "
            "formulaire : cette question ne peut pas être retirée."
        )
    section.questions.remove(question)
    call.updated_at = clock.now()


def _criteria(items: list[CriterionIn]) -> list[Criterion]:
    errors = {}
    for index, item in enumerate(items):
        if item.threshold > item.weight:
            errors[f"criteria.{index}.threshold"] = (
                "Le seuil de réussite ne peut pas dépasser la pondération du critère."
            )
    if errors:
        raise invalid("La grille d'évaluation contient des erreurs.", errors)
    ordered = sorted(
        enumerate(items), key=lambda pair: (list(GROUP_SIZES).index(pair[1].group), pair[0])
    )
    return [
        Criterion(
            group=item.group,
            position=position,
            label=item.label,
            weight=item.weight,
            threshold=item.threshold,
        )
        for position, (_, item) in enumerate(ordered, start=1)
    ]


def set_criteria(session: Session, actor: Actor, call_id: int, data: GridIn) -> Call:
    """Save the draft grid (it may be incomplete; publishing requires a valid one)."""
    call = _draft(session, actor, call_id)
    call.criteria = _criteria(data.criteria)
    call.updated_at = clock.now()
    session.flush()
    return call


def upload_guide(
    session: Session, actor: Actor, call_id: int, filename: str, content: bytes
) -> Attachment:
    call = _draft(session, actor, call_id)
    checked = check_upload(filename, content, allowed=(PDF,))
    previous = guide_of(session, call.id)
    if previous is not None:
        session.delete(previous)
    guide = Attachment(
        call_id=call.id,
        kind="guide",
        filename=checked.filename,
        mime=checked.mime,
        size=checked.size,
        sha256=checked.sha256,
        content=content,
        uploaded_by_user_id=actor.user_id,
        uploaded_by_name=actor.full_name,
        uploaded_at=clock.now(),
    )
    session.add(guide)
    call.updated_at = clock.now()
    session.flush()
    return guide


# -- life cycle ------------------------------------------------------------------------


def publish_call(session: Session, actor: Actor, call_id: int) -> Call:
    call = _draft(session, actor, call_id)
    problems = call_problems(session, call)
    if deadline_passed(call):
        problems.insert(0, "La date limite de dépôt est déjà passée.")
    if problems:
        raise invalid(
            "L'appel ne peut pas être publié : " + " ".join(problems),
            {"problemes": problems},
        )
    call.status = CALL_PUBLISHED
    call.published_at = call.updated_at = clock.now()
    record_event(
        session,
        CallPublished(
            call_id=call.id,
            title=call.title,
            education_orders=list(call.education_orders),
            launch_date=call.launch_date,
            deadline_date=call.deadline_date,
            designation_date=call.designation_date,
        ),
    )
    return call


def close_call(session: Session, actor: Actor, call_id: int) -> Call:
    access.ensure_admin(actor)
    call = get_call(session, actor, call_id, for_update=True)
    if call.status != CALL_PUBLISHED:
        raise conflict("Seul un appel publié peut être fermé.")
    call.status = CALL_CLOSED
    call.closed_at = call.updated_at = clock.now()
    return call


def _grid_snapshot(criteria) -> list[dict]:
    return [
        {"groupe": c.group, "critère": c.label, "pondération": c.weight, "seuil": c.threshold}
        for c in criteria
    ]


def amend_call(session: Session, actor: Actor, call_id: int, data: AmendmentIn) -> Amendment:
    """Change a published call's dates or grid explicitly: logged, versioned, announced."""
    access.ensure_admin(actor)
    call = get_call(session, actor, call_id, for_update=True)
    if call.status != CALL_PUBLISHED:
        raise conflict("Seul un appel publié peut faire l'objet d'un avis de modification.")
    changes: dict = {}
    new_dates = {}
    for field in ("deadline_date", "analysis_date", "designation_date"):
        value = getattr(data, field)
        if value is not None and value != getattr(call, field):
            new_dates[field] = value
            changes[field] = {
                "avant": getattr(call, field).isoformat() if getattr(call, field) else None,
                "après": value.isoformat(),
            }
    merged = {
        f: new_dates.get(f, getattr(call, f))
        for f in ("deadline_date", "analysis_date", "designation_date")
    }
    problems = date_problems(
        call.launch_date,
        merged["deadline_date"],
        merged["analysis_date"],
        merged["designation_date"],
    )
    if problems:
        raise invalid("Les dates modifiées ne sont pas dans le bon ordre.", problems)
    if "deadline_date" in new_dates and clock.now() > end_of_day(new_dates["deadline_date"]):
        raise invalid(
            "La nouvelle date limite est déjà passée.",
            {"deadline_date": "Choisissez une date limite à venir."},
        )
    new_criteria = None
    if data.criteria is not None:
        new_criteria = _criteria(data.criteria)
        problems = grid_problems(new_criteria)
        if problems:
            raise invalid(
                "La grille modifiée n'est pas valide : " + " ".join(problems),
                {"problemes": problems},
            )
        before, after = _grid_snapshot(call.criteria), _grid_snapshot(new_criteria)
        if before != after:
            changes["criteria"] = {"avant": before, "après": after}
        else:
            new_criteria = None
    if not changes:
        raise invalid(
            "L'avis de modification ne change rien à l'appel.",
            {"reason": "Indiquez au moins une date ou une grille différente."},
        )
    for field, value in new_dates.items():
        setattr(call, field, value)
    if new_criteria is not None:
        call.criteria = new_criteria
    call.version += 1
    call.updated_at = clock.now()
    organisation_ids = sorted(
        session.scalars(
            select(Application.organisation_id).where(
                Application.call_id == call.id,
                Application.status.in_((APP_DRAFT, APP_SUBMITTED, APP_COMPLEMENTS)),
            )
        )
    )
    amendment = Amendment(
        number=len(call.amendments) + 1,
        at=clock.now(),
        by_user_id=actor.user_id,
        by_name=actor.full_name,
        reason=data.reason,
        changes=changes,
        organisation_ids=organisation_ids,
    )
    call.amendments.append(amendment)
    session.flush()
    record_event(
        session,
        CallAmended(
            call_id=call.id,
            title=call.title,
            amendment_number=amendment.number,
            reason=data.reason,
            changes=changes,
            deadline_date=call.deadline_date,
            organisation_ids=organisation_ids,
        ),
    )
    return amendment


def describe_change(field: str, change: dict) -> str:
    """A French sentence for one change of an amendment."""
    labels = {
        "deadline_date": "Date limite de dépôt",
        "analysis_date": "Date prévue de l'analyse",
        "designation_date": "Date prévue de la désignation",
    }
    if field in labels:
        before = change.get("avant")
        after = change.get("après")
        return (
            f"{labels[field]} : {long_date(date.fromisoformat(before)) if before else '—'} → "
            f"{long_date(date.fromisoformat(after))}"
        )
    if field == "criteria":
        return "Grille d'évaluation modifiée (critères, pondérations ou seuils)."
    return field
