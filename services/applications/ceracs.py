"""The network of CERACs as the applications service knows it.

Each CERAC is recorded here from the scoring service's ``cerac.designated`` event (its id
is the scoring service's CERAC id). The applications service owns the designated
application, so it derives the CERAC's **competence areas** from the application's own
answers (a fixed vocabulary of RAC practice areas, matched in the text, plus the program
codes it names, e.g. ``180.A0``, ``LCA.5X``). A CERAC has no region and no sector: the
network is searched by competence area and by text, never by territory.

Contacts (RAC coordinators and directors) come from the gateway's directory by RPC at
designation time and are kept as a snapshot, refreshed when the CERAC's page is opened and
the snapshot is older than a day: the list page never waits for the directory, and a
directory outage leaves the last known contacts visible.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor, Role
from rac_shared.clock import clock
from rac_shared.contracts.network import (
    ORDER_LABELS,
    CompetenceArea,
    MandatePart,
    NetworkQuery,
    NetworkSort,
)
from rac_shared.errors import forbidden, invalid, not_found
from rac_shared.events import CeracDesignated
from rac_shared.french import sort_key
from rac_shared.listing import paginate_rows
from services.applications.models import (
    Answer,
    Application,
    CeracRecord,
    FormSection,
    Question,
)

MANDATE_PART_LABELS = MandatePart.labels()

# Keywords of each competence area (``CompetenceArea`` in the contract), looked for in the
# application's answers, compared without accents or case.
KEYWORDS: dict[CompetenceArea, tuple[str, ...]] = {
    CompetenceArea.DEMARCHE: (
        "demarche",
        "accompagn",
        "entrevue de validation",
        "etapes de la rac",
    ),
    CompetenceArea.SERVICE: ("mise en place", "service de rac", "organisation du service"),
    CompetenceArea.HARMONISATION: ("harmonis", "coherence", "equite", "equivalence", "disparite"),
    CompetenceArea.INSTRUMENTATION: (
        "instrument",
        "outil d'evaluation",
        "outils d'evaluation",
        "grille",
    ),
    CompetenceArea.FORMATION_MANQUANTE: (
        "formation manquante",
        "competences manquantes",
        "formation d'appoint",
    ),
    CompetenceArea.DISTANCE: ("a distance", "en ligne", "visioconf"),
    CompetenceArea.WEB: ("site internet", "sites internet", "web"),
    CompetenceArea.MILIEU_TRAVAIL: (
        "milieu de travail",
        "employeur",
        "entreprise",
        "candidats-travailleurs",
    ),
    CompetenceArea.SPECIALISTES: ("specialiste", "conseiller", "formation du personnel"),
}
# key -> (French label, keywords)
COMPETENCE_AREAS: dict[str, tuple[str, tuple[str, ...]]] = {
    area.value: (area.label, KEYWORDS[area]) for area in CompetenceArea
}
PROGRAM_CODE = re.compile(r"\b([0-9A-Z]{3}\.[0-9A-Z]{2})\b")
CONTACT_ROLES = [
    Role.RAC_COORDINATOR.value,
    Role.DIRECTOR_GENERAL.value,
    Role.DIRECTOR_OF_STUDIES.value,
    Role.DIRECTOR_CONTINUING_EDUCATION.value,
    Role.DIRECTOR_VOCATIONAL_TRAINING.value,
]
CONTACTS_MAX_AGE = timedelta(days=1)
MAX_SEARCH = 200


def fold(text: str) -> str:
    """Lower case, without accents, spaces collapsed: for matching, never for display."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = bare.casefold().replace("’", "'").replace("-", " ")
    return re.sub(r"\s+", " ", bare).strip()


def derive_competences(texts: list[str]) -> tuple[list[str], list[str]]:
    """(competence area keys, program codes) found in an application's answers."""
    folded = fold(" \n ".join(texts))
    areas = [
        key
        for key, (_, keywords) in COMPETENCE_AREAS.items()
        if any(fold(keyword) in folded for keyword in keywords)
    ]
    programs = sorted({m.upper() for t in texts for m in PROGRAM_CODE.findall(t or "")})
    return areas, programs[:30]


def application_texts(session: Session, application_id: int | None) -> list[str]:
    """The answers of the designated application (this service's own data)."""
    if application_id is None or session.get(Application, application_id) is None:
        return []
    rows = session.execute(
        select(Answer.value)
        .join(Question, Question.id == Answer.question_id)
        .join(FormSection, FormSection.id == Question.section_id)
        .where(Answer.application_id == application_id, Question.kind == "text")
    ).all()
    return [value for (value,) in rows]


def contacts_from_users(users: list[dict]) -> list[dict]:
    """The directory's users as network contacts (coordinators first, then directors)."""
    order = {role: index for index, role in enumerate(CONTACT_ROLES)}
    kept = [u for u in users if u.get("role") in order and u.get("active", True)]
    kept.sort(key=lambda u: (order[u["role"]], u.get("full_name", "")))
    return [
        {
            "full_name": u.get("full_name", ""),
            "title": u.get("title") or "",
            "role": u["role"],
            "email": u.get("email", ""),
        }
        for u in kept
    ]


def register_designation(
    session: Session, payload: CeracDesignated, contacts: list[dict] | None
) -> CeracRecord:
    """Create (or bring up to date) the local record of a designated CERAC. Idempotent:
    the same event applied twice leaves one record, unchanged."""
    now = clock.now()
    record = session.get(CeracRecord, payload.cerac_id)
    areas, programs = derive_competences(application_texts(session, payload.application_id))
    if record is None:
        record = CeracRecord(
            id=payload.cerac_id,
            competence_areas=areas,
            programs=programs,
            contacts=[],
            created_at=now,
        )
        session.add(record)
    record.organisation_id = payload.organisation_id
    record.organisation_name = payload.organisation_name
    record.education_order = payload.education_order
    record.mandate_parts = [p for p in payload.mandate_parts if p in MANDATE_PART_LABELS]
    record.experimentation_years = list(payload.experimentation_years)
    record.designated_on = payload.decision_date
    record.call_id = payload.call_id
    record.application_id = payload.application_id
    if contacts is not None:
        record.contacts = contacts
        record.contacts_refreshed_at = now
    record.updated_at = now
    session.flush()
    return record


def contacts_stale(record: CeracRecord) -> bool:
    if record.organisation_id is None:
        return False
    refreshed = record.contacts_refreshed_at
    if refreshed is None:
        return True
    if refreshed.tzinfo is None:  # SQLite gives naive UTC datetimes back
        from datetime import UTC

        refreshed = refreshed.replace(tzinfo=UTC)
    return clock.now() - refreshed > CONTACTS_MAX_AGE


# -- reading --------------------------------------------------------------------------------


def ensure_network_reader(actor: Actor) -> None:
    if not (actor.is_ministry or actor.is_institution):
        raise forbidden(
            "Le réseau des CERAC est réservé aux établissements d'enseignement et au Ministère."
        )


def ceracs_of_organisation(session: Session, organisation_id: int) -> list[CeracRecord]:
    return list(
        session.scalars(
            select(CeracRecord)
            .where(CeracRecord.organisation_id == organisation_id)
            .order_by(CeracRecord.id)
        )
    )


def get(session: Session, actor: Actor, cerac_id: int) -> CeracRecord:
    ensure_network_reader(actor)
    record = session.get(CeracRecord, int(cerac_id))
    if record is None:
        raise not_found("CERAC introuvable.")
    return record


def search(
    session: Session, actor: Actor, text: str = "", area: str = "", order: str = ""
) -> list[CeracRecord]:
    """Every CERAC, filtered by competence area and by free text (name, areas, programs,
    mandate parts). Matching is done on folded text in Python: what the user types is never
    SQL, so ``%``, ``_`` or quotes are plain characters."""
    ensure_network_reader(actor)
    if area and area not in COMPETENCE_AREAS:
        raise invalid("Domaine de compétence inconnu.", {"domaine": "Choisissez un domaine."})
    needle = fold(text)[:200]
    records = session.scalars(
        select(CeracRecord).order_by(CeracRecord.education_order, CeracRecord.organisation_name)
    ).all()
    found = []
    for record in records:
        if area and area not in (record.competence_areas or []):
            continue
        if order and record.education_order != order:
            continue
        if needle and needle not in fold(searchable_text(record)):
            continue
        found.append(record)
    return found[:MAX_SEARCH]


def _network_key(sort: str):
    if sort == NetworkSort.NAME:
        return lambda r: (sort_key(r.organisation_name), r.id)
    if sort == NetworkSort.DESIGNATED:
        return lambda r: (-r.designated_on.toordinal(), sort_key(r.organisation_name), r.id)
    return lambda r: (r.education_order or "", sort_key(r.organisation_name), r.id)


def network_page(session: Session, actor: Actor, query: NetworkQuery) -> dict:
    """A page of the network's CERACs. The network is short (the designated CERACs) and
    matched on folded text in Python: one statement, then the page and cursor of
    ``paginate_rows``."""
    found = search(session, actor, query.q, query.domaine or "", query.ordre or "")
    return paginate_rows(
        found, query, name="ceracs", scope=actor.organisation_id, key=_network_key(query.sort)
    )


def searchable_text(record: CeracRecord) -> str:
    parts = [record.organisation_name, ORDER_LABELS.get(record.education_order, "")]
    parts += [
        COMPETENCE_AREAS[a][0] for a in record.competence_areas or [] if a in COMPETENCE_AREAS
    ]
    parts += list(record.programs or [])
    parts += [MANDATE_PART_LABELS.get(p, "") for p in record.mandate_parts or []]
    return " | ".join(parts)


def update_competences(
    session: Session, actor: Actor, cerac_id: int, areas: list[str], programs: list[str]
) -> CeracRecord:
    """The CERAC's own users keep its competence areas and programs up to date."""
    record = get(session, actor, cerac_id)
    if not actor.is_institution or record.organisation_id != actor.organisation_id:
        raise not_found("CERAC introuvable.")
    unknown = [a for a in areas if a not in COMPETENCE_AREAS]
    if unknown:
        raise invalid("Domaine de compétence inconnu.", {"areas": "Choisissez dans la liste."})
    bad = [p for p in programs if not PROGRAM_CODE.fullmatch(p)]
    if bad:
        raise invalid(
            f"Code de programme invalide : « {bad[0][:20]} » (format attendu : 180.A0).",
            {"programs": "Format attendu : trois caractères, un point, deux caractères."},
        )
    record.competence_areas = [a for a in COMPETENCE_AREAS if a in areas]
    record.programs = sorted(set(programs))[:30]
    record.updated_at = clock.now()
    session.flush()
    return record


# -- views ----------------------------------------------------------------------------------


def cerac_view(record: CeracRecord, actor: Actor | None = None) -> dict:
    return {
        "id": record.id,
        "organisation_id": record.organisation_id,
        "organisation_name": record.organisation_name,
        "education_order": record.education_order,
        "education_order_label": ORDER_LABELS.get(record.education_order, record.education_order),
        "mandate_parts": [
            {"key": p, "label": MANDATE_PART_LABELS.get(p, p)} for p in record.mandate_parts or []
        ],
        "experimentation_years": list(record.experimentation_years or []),
        "designated_on": record.designated_on.isoformat(),
        "competence_areas": [
            {"key": a, "label": COMPETENCE_AREAS[a][0]}
            for a in record.competence_areas or []
            if a in COMPETENCE_AREAS
        ],
        "programs": list(record.programs or []),
        "contacts": list(record.contacts or []),
        "on_platform": record.organisation_id is not None,
        "mine": bool(
            actor is not None
            and actor.is_institution
            and record.organisation_id == actor.organisation_id
        ),
    }


def areas_vocabulary() -> list[dict]:
    return [{"key": key, "label": label} for key, (label, _) in COMPETENCE_AREAS.items()]
