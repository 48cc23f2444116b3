"""Demo data of the applications service (idempotent): the 2012-2013 call for interest of
seed 000 and two applications, created through the domain functions with the clock set
to the dates of 2012."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.clock import MONTREAL, clock
from services.applications import calls, dossiers
from services.applications.models import Application, Base, Call
from services.applications.schemas import CallIn, CriterionIn, GridIn, QuestionIn, SectionIn

TITLE_2012 = (
    "Appel d'intérêt 2012-2013 — Centres d'expertise en reconnaissance des acquis et des "
    "compétences (CERAC)"
)

CALL_2012 = {
    "title": TITLE_2012,
    "education_orders": ["secondaire", "collégial"],
    "launch_date": date(2012, 9, 4),
    "deadline_date": date(2012, 12, 21),
    "analysis_date": date(2013, 5, 1),
    "designation_date": date(2013, 5, 31),
    "experimentation_years": ["2013-2014", "2014-2015"],
}

# The six criteria of seed 000, with a weight and a passing threshold (60 %) each.
CRITERIA_2012 = [
    (
        "qualite",
        "Correspondance de l'offre de service avec les besoins de la clientèle et selon les "
        "exigences et les orientations du Cadre général et technique de la RAC",
        20,
        12,
    ),
    (
        "qualite",
        "Engagement de la direction dans l'organisation et la mise en œuvre de la RAC",
        15,
        9,
    ),
    ("qualite", "Collaboration avec d'autres établissements ou organisations", 15, 9),
    ("qualite", "Pratiques novatrices respectueuses de l'approche ministérielle en RAC", 10, 6),
    (
        "pertinence",
        "Planification stratégique de la contribution particulière de l'établissement à titre "
        "de futur CERAC",
        20,
        12,
    ),
    (
        "pertinence",
        "Engagement de l'établissement dans la gestion et le développement du CERAC",
        20,
        12,
    ),
]

# Sections placed before the mandate's parts: (title, description, questions).
EXTRA_SECTIONS = [
    (
        "Présentation de l'établissement",
        "Les préalables : qualité et diversité de l'offre de service en RAC, maîtrise de "
        "l'approche ministérielle, personnel qualifié et disponible.",
        [
            {
                "label": "Décrivez le service de RAC de l'établissement (organisation, "
                "programmes offerts en RAC, nombre de candidates et candidats).",
                "kind": "text",
                "max_length": 4000,
            },
            {
                "label": "Décrivez le personnel affecté à la RAC (conseillers, spécialistes de "
                "contenu) et sa disponibilité.",
                "kind": "text",
                "max_length": 3000,
            },
            {
                "label": "Depuis combien d'années l'établissement offre-t-il des services de RAC?",
                "kind": "choice",
                "options": ["Moins de 5 ans", "De 5 à 10 ans", "Plus de 10 ans"],
            },
        ],
    ),
    (
        "Qualité de l'offre de service en RAC au cours des cinq dernières années",
        "Critères de qualité de l'appel d'intérêt.",
        [
            {
                "label": "Correspondance de l'offre de service avec les besoins de la clientèle et "
                "le Cadre général et technique de la RAC.",
                "kind": "text",
                "max_length": 3000,
            },
            {
                "label": "Engagement de la direction dans l'organisation et la mise en œuvre de "
                "la RAC.",
                "kind": "text",
                "max_length": 3000,
            },
            {
                "label": "Collaboration avec d'autres établissements ou organisations.",
                "kind": "text",
                "max_length": 3000,
            },
            {
                "label": "Pratiques novatrices respectueuses de l'approche ministérielle en RAC.",
                "kind": "text",
                "max_length": 3000,
            },
        ],
    ),
    (
        "Pertinence du projet d'intervention proposé",
        "Critères de pertinence de l'appel d'intérêt.",
        [
            {
                "label": "Planification stratégique de la contribution particulière de "
                "l'établissement à titre de futur CERAC.",
                "kind": "text",
                "max_length": 4000,
            },
            {
                "label": "Engagement de l'établissement dans la gestion et le développement du "
                "CERAC.",
                "kind": "text",
                "max_length": 4000,
            },
            {
                "label": "Plan d'action du projet d'intervention (facultatif).",
                "kind": "file",
                "required": False,
            },
        ],
    ),
]

GUIDE_HTML = """<!DOCTYPE html><html lang="fr-CA"><head><meta charset="utf-8">
<title>Guide de présentation d'une demande de reconnaissance</title>
<style>body{font-family:"DejaVu Sans",sans-serif;font-size:11pt}h1{color:#095797}</style>
</head><body>
<h1>Guide de présentation d'une demande de reconnaissance à titre de CERAC</h1>
<p>Ministère de l'Éducation, du Loisir et du Sport — appel d'intérêt 2012-2013.</p>
<h2>Calendrier</h2>
<ul><li>Septembre 2012 : lancement de l'appel d'intérêt et diffusion du guide et du
formulaire.</li><li>21 décembre 2012 : dépôt des demandes de reconnaissance (papier et
électronique).</li><li>Mai 2013 : analyse de la recevabilité et des demandes recevables;
désignation des centres reconnus par la ou le ministre.</li>
<li>2013-2014 et 2014-2015 : phase d'expérimentation.</li></ul>
<h2>Critères de recevabilité</h2>
<ul><li>Demande présentée par un établissement autorisé.</li>
<li>Signature de la direction générale et de la direction des études ou de la formation
continue (collèges); de la direction du service de la formation professionnelle ou de tout
autre gestionnaire désigné par la direction générale (centres de services scolaires).</li>
<li>Toutes les sections du formulaire complétées, avec lettres d'appui et documents
officiels.</li><li>Dépôt au Ministère au plus tard le 21 décembre 2012.</li></ul>
<h2>Financement</h2><p>Allocation annuelle maximale de 250 000 $ pour le fonctionnement d'un
CERAC; montant supplémentaire pour des projets de développement.</p>
</body></html>"""


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=MONTREAL)


def build_call(
    session: Session,
    admin: Actor,
    data: dict | None = None,
    guide_pdf: bytes | None = None,
    criteria: list | None = None,
) -> Call:
    """Create a complete call (form, grid, guide) ready to publish, through the domain."""
    call = calls.create_call(session, admin, CallIn.model_validate(data or CALL_2012))
    added = []
    for title, description, questions in EXTRA_SECTIONS:
        section = calls.add_section(
            session, admin, call.id, SectionIn(title=title, description=description)
        )
        for question in questions:
            calls.add_question(session, admin, call.id, section.id, QuestionIn(**question))
        added.append(section)
    # The presentation and the two groups of criteria come before the mandate's parts.
    mandate = [s for s in call.sections if s.mandate_part]
    for position, section in enumerate(added + mandate, start=1):
        section.position = position
    calls.set_criteria(
        session,
        admin,
        call.id,
        GridIn(
            criteria=[
                CriterionIn(group=g, label=label, weight=w, threshold=t)
                for g, label, w, t in (criteria or CRITERIA_2012)
            ]
        ),
    )
    if guide_pdf is None:
        from rac_shared.pdf import render_pdf

        guide_pdf = render_pdf(GUIDE_HTML)
    calls.upload_guide(
        session, admin, call.id, "guide-presentation-demande-cerac-2012.pdf", guide_pdf
    )
    session.flush()
    session.expire(call, ["sections"])
    return call


def fill_application(session: Session, member: Actor, application: Application) -> None:
    """Answer every question of the form and attach the usual documents."""
    from services.applications.testing import MINIMAL_PDF

    for section in sorted(application.call.sections, key=lambda s: s.position):
        answers = {}
        for question in section.questions:
            if question.kind == "text":
                answers[question.id] = (
                    f"{application.organisation_name} : réponse détaillée à la question « "
                    f"{question.label[:60]} »."
                )[: question.max_length]
            elif question.kind == "yes_no":
                answers[question.id] = "oui"
            elif question.kind == "choice":
                answers[question.id] = question.options[-1]
        dossiers.save_answers(session, member, application.id, section.id, answers)
    dossiers.add_attachment(
        session, member, application.id, "support_letter", "lettre-appui-cisss.pdf", MINIMAL_PDF
    )
    dossiers.add_attachment(
        session,
        member,
        application.id,
        "official_document",
        "resolution-conseil-administration.pdf",
        MINIMAL_PDF,
    )


def _actor(person: dict, organisation: dict) -> Actor:
    return Actor(
        user_id=person["id"],
        role=Role(person["role"]),
        organisation_id=organisation["id"],
        organisation_kind=OrganisationKind(organisation["kind"]),
        full_name=person["full_name"],
    )


def seed(session: Session, organisations: dict[str, dict], people: dict[str, dict]) -> str:
    """Seed the 2012-2013 call, a draft of the Cégep de Lévis and a submitted application of
    the Cégep Marie-Victorin. ``organisations`` by code and ``people`` by e-mail come from
    the gateway's directory. Idempotent: nothing happens if the call exists."""
    from services.applications.receipt import render_receipt

    if session.scalar(select(Call).where(Call.title == TITLE_2012)) is not None:
        return "Appel d'intérêt 2012-2013 : déjà présent."
    outbox = Base.metadata.tables["outbox"]
    last_event = session.scalar(select(func.max(outbox.c.id))) or 0
    ministry = organisations["MES"]
    admin = _actor(people["admin@mes.demo.quebec"], ministry)
    analyst = _actor(people["analyste@mes.demo.quebec"], ministry)
    levis, cmv = organisations["CLV"], organisations["CMV"]
    levis_rac = _actor(people["rac@cegeplevis.demo.quebec"], levis)
    cmv_rac = _actor(people["rac@cmv.demo.quebec"], cmv)
    cmv_dg = _actor(people["dg@cmv.demo.quebec"], cmv)
    cmv_fc = _actor(people["fc@cmv.demo.quebec"], cmv)

    with clock.frozen_at(_at(2012, 9, 4, 9, 0)):
        call = build_call(session, admin)
        calls.publish_call(session, admin, call.id)
    session.flush()
    session.refresh(call)

    with clock.frozen_at(_at(2012, 11, 20, 14, 30)):
        draft = dossiers.open_application(session, levis_rac, call.id, levis)
        presentation = min(call.sections, key=lambda s: s.position)
        first_text = next(q for q in presentation.questions if q.kind == "text")
        dossiers.save_answers(
            session,
            levis_rac,
            draft.id,
            presentation.id,
            {
                first_text.id: "Le service de RAC du Cégep de Lévis accompagne chaque année "
                "plus de 150 candidates et candidats dans une vingtaine de programmes "
                "techniques et d'AEC."
            },
        )

    with clock.frozen_at(_at(2012, 12, 10, 10, 0)):
        submitted = dossiers.open_application(session, cmv_rac, call.id, cmv)
        session.flush()
        session.refresh(submitted)
        fill_application(session, cmv_rac, submitted)
    with clock.frozen_at(_at(2012, 12, 13, 16, 0)):
        dossiers.sign(session, cmv_dg, submitted.id)
    with clock.frozen_at(_at(2012, 12, 14, 9, 15)):
        dossiers.sign(session, cmv_fc, submitted.id)
        dossiers.submit(session, cmv_rac, submitted.id)
        dossiers.attach_receipt(submitted, render_receipt)
    with clock.frozen_at(_at(2012, 12, 19, 11, 0)):
        dossiers.record_paper_receipt(session, analyst, submitted.id, date(2012, 12, 19))
    session.flush()
    # The demo's events are facts of 2012, announced at the time: they stay in the outbox as
    # the record of what happened, marked published, so that nobody is e-mailed about them
    # today (every `rac demo` on a fresh platform would otherwise notify the institutions).
    session.execute(
        update(outbox)
        .where(outbox.c.id > last_event, outbox.c.published_at.is_(None))
        .values(published_at=clock.now())
    )
    return (
        f"Appel d'intérêt 2012-2013 publié; demande en préparation du Cégep de Lévis; "
        f"demande déposée du Cégep Marie-Victorin ({submitted.reference})."
    )
