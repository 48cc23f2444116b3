"""Building a plan: creation from the template, edits of the draft version, annex templates.

Only a draft version changes. Each change replaces whole parts of the version's content
(sections, competencies, candidate-workers…) and validates the whole document again.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import aware, clock
from rac_shared.contracts.base import parse
from rac_shared.contracts.plans import (
    STEPS,
    AnnexTemplateIn,
    DraftPatch,
    PlanContent,
    PlanCreateIn,
    Stage,
)
from rac_shared.errors import conflict, invalid
from services.plans import access, texts
from services.plans.models import (
    ACCEPTED,
    DRAFT,
    AnnexTemplate,
    Plan,
    PlanCandidate,
    PlanVersion,
    ReferenceCounter,
)

EDITABLE_PLAN_STATUSES = (DRAFT, ACCEPTED)  # a first draft, or an amendment's draft


def canonical_hash(document) -> str:
    encoded = json.dumps(
        document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    ).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def content_of(version: PlanVersion) -> PlanContent:
    return PlanContent.model_validate(version.content)


# -- annex templates ------------------------------------------------------------------------


def annex_template(session: Session, institution_id: int) -> dict:
    """The institution's annex texts, or the seed's defaults if it never edited them."""
    template = session.scalar(
        select(AnnexTemplate).where(AnnexTemplate.institution_id == institution_id)
    )
    if template is None:
        return {
            "annex_a": texts.DEFAULT_ANNEX_A,
            "annex_b": texts.DEFAULT_ANNEX_B,
            "annex_c": texts.DEFAULT_ANNEX_C,
            "logo": "",
            "updated_at": None,
            "customised": False,
        }
    return {
        "annex_a": template.annex_a,
        "annex_b": template.annex_b,
        "annex_c": template.annex_c,
        "logo": template.logo or "",
        "updated_at": aware(template.updated_at),
        "customised": True,
    }


def save_annex_template(session: Session, actor: Actor, data: AnnexTemplateIn) -> dict:
    access.ensure_institution(actor)
    template = session.scalar(
        select(AnnexTemplate)
        .where(AnnexTemplate.institution_id == actor.organisation_id)
        .with_for_update()
    )
    if template is None:
        template = AnnexTemplate(institution_id=actor.organisation_id)
        session.add(template)
    template.annex_a = data.annex_a
    template.annex_b = data.annex_b
    template.annex_c = data.annex_c
    template.logo = data.logo
    template.updated_at = clock.now()
    template.updated_by_user_id = actor.user_id
    session.flush()
    return annex_template(session, actor.organisation_id)


# -- creation -------------------------------------------------------------------------------


def next_reference(session: Session, institution_code: str) -> str:
    year = clock.today().year
    counter = session.scalar(
        select(ReferenceCounter)
        .where(ReferenceCounter.institution_code == institution_code, ReferenceCounter.year == year)
        .with_for_update()
    )
    if counter is None:
        counter = ReferenceCounter(institution_code=institution_code, year=year, last=0)
        session.add(counter)
    counter.last += 1
    session.flush()
    return f"PMO-{institution_code}-{year}-{counter.last:03d}"


def institution_short(kind: str) -> str:
    return "le Cégep" if kind == "cegep" else "le Centre de services scolaire"


def create_plan(
    session: Session,
    actor: Actor,
    data: PlanCreateIn,
    *,
    institution: dict,
    employer: dict | None,
    representatives: list[dict],
    signatory: dict | None,
) -> Plan:
    """A new plan with version 1 in draft, every section filled from the template.

    ``institution`` and ``employer`` are the directory's views of the organisations (from
    the gateway by RPC); ``employer`` is None for an organisation not in the directory,
    whose details are then those typed in ``data``.
    """
    access.ensure_institution(actor)
    if employer is not None and employer.get("kind") != "employer":
        raise invalid(
            "L'organisation choisie n'est pas une organisation employeuse.",
            {"employer_id": "Choisissez une organisation employeuse."},
        )
    employer_name = data.employer_name or (employer or {}).get("name", "")
    if not employer_name:
        raise invalid(
            "Indiquez l'organisation à qui le plan est destiné.",
            {"employer_name": "Ce champ est obligatoire."},
        )
    representative = representatives[0] if representatives else {}
    rep_name = data.representative_name or representative.get("full_name", "")
    rep_title = data.representative_title or representative.get("title") or ""
    rep_email = data.representative_email or representative.get("email", "")
    now = clock.now()
    template = annex_template(session, actor.organisation_id)
    kind_word = data.program_kind
    fill = {
        "institution": institution["name"],
        "employer": employer_name,
        "representative": rep_name or "La personne représentante",
        "target_jobs": data.target_jobs or "les personnes en emploi visées",
        "kind": kind_word,
        "title": data.program_title,
        "code": data.program_code,
        "domain": data.organisation_domain or "de ses activités",
    }

    def substitute(text: str) -> str:
        return texts.substitute(text, organisation=employer_name, institution=institution["name"])

    content = {
        "institution": {
            "name": institution["name"],
            "address": institution.get("address") or "",
            "contact": "",
            "signatory_name": (signatory or {}).get("full_name", ""),
            "signatory_title": (signatory or {}).get("title") or "",
        },
        "employer": {
            "name": employer_name,
            "service": data.employer_service,
            "address": data.employer_address or (employer or {}).get("address") or "",
            "representative_name": rep_name,
            "representative_title": rep_title,
            "representative_email": rep_email,
        },
        "program": {"kind": data.program_kind, "code": data.program_code, "title": fill["title"]},
        "sections": {
            "context": texts.DEFAULT_CONTEXT.format(**fill),
            "target_jobs": data.target_jobs,
            "institution_expertise": texts.DEFAULT_INSTITUTION_EXPERTISE.format(**fill),
            "domains": [],
            "equipment": texts.DEFAULT_EQUIPMENT.format(**fill),
            "specialists_text": texts.DEFAULT_SPECIALISTS_TEXT,
            "specialists": [],
            "organisation_domain": data.organisation_domain,
            "organisation_expertise": texts.DEFAULT_ORGANISATION_EXPERTISE.format(**fill),
            "objectives": [o.format(**fill) for o in texts.DEFAULT_OBJECTIVES],
            "process": texts.DEFAULT_PROCESS,
            "implementation": texts.DEFAULT_IMPLEMENTATION.format(**fill),
            "missing_training_procedure": texts.DEFAULT_MISSING_TRAINING.format(**fill),
        },
        "competencies": [],
        "candidates": [],
        "steps": [
            {"kind": kind.value}
            for kind in STEPS
            if kind is not Stage.EVALUATIONS  # derived from the competencies
        ],
        "closure_dates": [],
        "aide_memoire": {},
        "annexes": {
            "annex_a": substitute(template["annex_a"]),
            "annex_b": substitute(template["annex_b"]),
            "annex_b_entries": [
                {"category": c, "what": w, "who": who}
                for c, w, who in texts.DEFAULT_ANNEX_B_ENTRIES
            ],
            "annex_c": substitute(template["annex_c"]),
            "annex_c_representative": (signatory or {}).get("full_name", ""),
        },
        "logo": template["logo"],
    }
    validated = parse(PlanContent, content)
    plan = Plan(
        reference=next_reference(session, institution.get("code") or "ETB"),
        institution_id=actor.organisation_id,
        institution_kind=institution.get("kind", "cegep"),
        institution_code=institution.get("code") or "ETB",
        employer_id=data.employer_id,
        employer_name=employer_name,
        program_code=data.program_code,
        program_title=data.program_title,
        status=DRAFT,
        current_version=1,
        ever_issued=False,
        created_by_user_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    plan.versions.append(
        PlanVersion(
            number=1,
            status=DRAFT,
            content=validated.model_dump(mode="json"),
            created_at=now,
            updated_at=now,
        )
    )
    session.add(plan)
    session.flush()
    return plan


# -- editing the draft ---------------------------------------------------------------------


def editable_version(plan: Plan) -> PlanVersion:
    version = plan.current
    if version.status != DRAFT or plan.status not in EDITABLE_PLAN_STATUSES:
        raise conflict(
            f"La version {version.number} du plan {plan.reference} a été émise : elle ne peut "
            "plus être modifiée. Préparez une modification écrite pour changer le plan."
        )
    return version


def update_draft(
    session: Session,
    actor: Actor,
    plan_id: int,
    patch: DraftPatch,
) -> Plan:
    """Replace the parts given in ``patch``; the whole content is validated again. The
    institution's name is the directory's: kept unless the patch gives one."""
    plan = access.load_for_institution(session, actor, plan_id, for_update=True)
    version = editable_version(plan)
    content = dict(version.content)
    given = patch.model_dump(mode="json", exclude_unset=True)
    for key, value in given.items():
        if value is None:
            continue
        if key == "employer":
            value = {**content["employer"], **value}
        if key == "institution":
            value = {**content["institution"], **{k: v for k, v in value.items() if v is not None}}
        content[key] = value
    if "program" in given and plan.accepted_version is not None:
        accepted = plan.version(plan.accepted_version).content["program"]
        if given["program"] and given["program"]["code"] != accepted["code"]:
            raise invalid(
                "Une modification ne peut changer le programme visé par le plan accepté.",
                {"program.code": "Le programme d'un plan accepté ne change pas."},
            )
    validated = parse(PlanContent, content)
    if patch.candidates is not None:
        _assign_candidate_ids(session, plan, validated)
    version.content = validated.model_dump(mode="json")
    version.updated_at = plan.updated_at = clock.now()
    plan.employer_name = validated.employer.name
    plan.program_code = validated.program.code
    plan.program_title = validated.program.title
    session.flush()
    return plan


def _assign_candidate_ids(session: Session, plan: Plan, content: PlanContent) -> None:
    known = {c.id for c in plan.candidates}
    seen = set()
    for candidate in content.candidates:
        if candidate.id is not None:
            if candidate.id not in known or candidate.id in seen:
                raise invalid(
                    "Un candidat-travailleur ne fait pas partie de ce plan.",
                    {"candidates": f"Identifiant {candidate.id} inconnu dans ce plan."},
                )
        else:
            row = PlanCandidate(plan=plan, step="not_started", updated_at=clock.now())
            session.add(row)
            session.flush()
            candidate.id = row.id
            known.add(row.id)
        seen.add(candidate.id)


def add_item(session: Session, actor: Actor, plan_id: int, part: str, item: dict) -> Plan:
    """Append one competency or candidate-worker to the draft."""
    plan = access.load_for_institution(session, actor, plan_id)
    items = list(editable_version(plan).content[part]) + [item]
    return update_draft(session, actor, plan_id, parse(DraftPatch, {part: items}))


def remove_item(session: Session, actor: Actor, plan_id: int, part: str, key: str) -> Plan:
    """Remove a competency (by code) or a candidate-worker (by id) from the draft."""
    plan = access.load_for_institution(session, actor, plan_id)
    items = list(editable_version(plan).content[part])
    field = "code" if part == "competencies" else "id"
    kept = [i for i in items if str(i.get(field)) != str(key)]
    if len(kept) == len(items):
        raise invalid("Cet élément ne figure pas dans le plan.")
    return update_draft(session, actor, plan_id, parse(DraftPatch, {part: kept}))
