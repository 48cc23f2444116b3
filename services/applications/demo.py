"""Demo data of the applications service (idempotent): the 2012-2013 call for interest of
seed 000 and two applications, the « demande de compléments » in both its states, and the
network of the CERACs the scoring step designated with their reports.

``rac demo`` runs before any service is up, so the calls and applications go through the
service's own RPC methods called in this process (``context.client``, nameko's
``worker_factory``), with the platform's clock set to the dates of 2012; each stage runs
only if this service's own tables say it is not done, so a stopped demo resumes."""

from __future__ import annotations

import base64
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from rac_shared.actor import OrganisationKind, Role
from rac_shared.clock import MONTREAL, clock
from rac_shared.db import SessionFactory
from rac_shared.french import french_spacing_html
from rac_shared.manifest import demo_actor
from rac_shared.outbox import recorded_events
from services.applications import calls
from services.applications.models import (
    APP_DRAFT,
    CALL_DRAFT,
    COMPLEMENT_PENDING,
    COMPLEMENT_RESUMED,
    REPORT_CHANGES_REQUESTED,
    REPORT_DRAFT,
    REPORT_SUBMITTED,
    Answer,
    Application,
    Base,
    Call,
)
from services.applications.testing import MINIMAL_PDF

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

GUIDE_HTML = french_spacing_html("""<!DOCTYPE html><html lang="fr-CA"><head><meta charset="utf-8">
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
</body></html>""")


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=MONTREAL)


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


def _call_state(sessions, title: str | None = None, mark: str | None = None) -> dict | None:
    """The demo call of that ``title`` (or whose title contains ``mark``) as it stands in
    this service's own tables (None: not made yet): each stage below runs only if it is not
    done, so a demo stopped anywhere completes when run again and makes nothing twice."""
    with sessions.transaction() as session:
        found = Call.title == title if title is not None else Call.title.contains(mark)
        call = session.scalar(select(Call).where(found).order_by(Call.id))
        if call is None:
            return None
        return {
            "id": call.id,
            "title": call.title,
            "status": call.status,
            "sections": {
                s.title: {"id": s.id, "labels": {q.label for q in s.questions}}
                for s in call.sections
            },
            "criteria": len(call.criteria),
            "guide": calls.guide_of(session, call.id) is not None,
        }


def _build_call(applications, sessions, admin: dict, data: dict, guide_pdf: bytes | None) -> int:
    """A complete call (form, grid, guide), published, through the service's RPC methods at
    the platform's clock (the caller freezes it at the launch date); a call a stopped demo
    left half-made is completed. Returns its id."""
    state = _call_state(sessions, data["title"])
    if state is None:
        applications.create_call(actor=admin, data=data)
        state = _call_state(sessions, data["title"])
    if state["status"] == CALL_DRAFT:
        call_id = state["id"]
        # The presentation and the two groups of criteria come before the mandate's parts.
        for position, (title, description, questions) in enumerate(EXTRA_SECTIONS, start=1):
            section = state["sections"].get(title)
            if section is None:
                added = applications.add_section(
                    actor=admin,
                    call_id=call_id,
                    data={"title": title, "description": description, "position": position},
                )
                section = {"id": added["id"], "labels": set()}
            for question in questions:
                if question["label"] not in section["labels"]:
                    applications.add_question(
                        actor=admin, call_id=call_id, section_id=section["id"], data=question
                    )
        if state["criteria"] != len(CRITERIA_2012):
            applications.set_criteria(
                actor=admin,
                call_id=call_id,
                criteria=[
                    {"group": g, "label": label, "weight": w, "threshold": t}
                    for g, label, w, t in CRITERIA_2012
                ],
            )
        if not state["guide"]:
            if guide_pdf is None:
                from rac_shared.pdf import render_pdf

                guide_pdf = render_pdf(GUIDE_HTML)
            applications.upload_guide(
                actor=admin,
                call_id=call_id,
                filename="guide-presentation-demande-cerac-2012.pdf",
                content_b64=_b64(guide_pdf),
            )
        applications.publish_call(actor=admin, call_id=call_id)
    return state["id"]


def _application_state(sessions, call_id: int, organisation_id: int) -> dict | None:
    """The organisation's application to the call, as it stands (None: not opened yet)."""
    with sessions.transaction() as session:
        application = session.scalar(
            select(Application).where(
                Application.call_id == call_id, Application.organisation_id == organisation_id
            )
        )
        if application is None:
            return None
        requests = sorted(application.complement_requests, key=lambda r: r.number)
        return {
            "id": application.id,
            "status": application.status,
            "reference": application.reference,
            "organisation_name": application.organisation_name,
            "signed_by": {s.user_id for s in application.signatures},
            "answered": session.scalar(
                select(func.count()).where(Answer.application_id == application.id)
            ),
            "attachments": {a.filename for a in application.attachments},
            "receipt": session.scalar(
                select(Application.receipt_pdf.is_not(None)).where(Application.id == application.id)
            ),
            "paper_received_on": application.paper_received_on,
            "admissibility": application.admissibility,
            "requests": [
                {
                    "status": r.status,
                    "items": [
                        {"id": i.id, "kind": i.kind, "provided": i.provided_at is not None}
                        for i in sorted(r.items, key=lambda i: i.position)
                    ],
                }
                for r in requests
            ],
        }


def _form(sessions, call_id: int) -> list[tuple[int, list[dict]]]:
    """The call's form: (section id, its questions), in order."""
    with sessions.transaction() as session:
        call = session.get(Call, call_id)
        return [
            (
                s.id,
                [
                    {
                        "id": q.id,
                        "kind": q.kind,
                        "label": q.label,
                        "max_length": q.max_length,
                        "options": q.options,
                    }  # fmt: skip
                    for q in sorted(s.questions, key=lambda q: q.position)
                ],
            )
            for s in sorted(call.sections, key=lambda s: s.position)
        ]


def _open(applications, sessions, member: dict, call_id: int) -> dict:
    """The member's institution's application to the call, opened if it is not yet."""
    state = _application_state(sessions, call_id, member["organisation_id"])
    if state is None:
        applications.open_application(actor=member, call_id=call_id)
        state = _application_state(sessions, call_id, member["organisation_id"])
    return state


DOCUMENTS = (
    ("support_letter", "lettre-appui-cisss.pdf"),
    ("official_document", "resolution-conseil-administration.pdf"),
)


def _fill(applications, sessions, member: dict, state: dict, call_id: int, extra=()) -> None:
    """Answer every question of the form and attach the usual documents (and ``extra``
    ones: (kind, filename)), if nobody has signed yet: signing comes after."""
    if state["status"] != APP_DRAFT or state["signed_by"]:
        return
    for section_id, questions in _form(sessions, call_id):
        answers = {}
        for question in questions:
            if question["kind"] == "text":
                answers[question["id"]] = (
                    f"{state['organisation_name']} : réponse détaillée à la question « "
                    f"{question['label'][:60]} »."
                )[: question["max_length"]]
            elif question["kind"] == "yes_no":
                answers[question["id"]] = "oui"
            elif question["kind"] == "choice":
                answers[question["id"]] = question["options"][-1]
        applications.save_answers(
            actor=member, application_id=state["id"], section_id=section_id, answers=answers
        )
    for kind, filename in (*DOCUMENTS, *extra):
        if filename not in state["attachments"]:
            applications.upload_attachment(
                actor=member,
                application_id=state["id"],
                data={"kind": kind, "filename": filename, "content_b64": _b64(MINIMAL_PDF)},
            )


def _sign(applications, member: dict, state: dict) -> None:
    if member["user_id"] not in state["signed_by"]:
        applications.sign(actor=member, application_id=state["id"])


def seed(applications, sessions, organisations: dict[str, dict], people: dict[str, dict]) -> str:
    """Seed the 2012-2013 call, a draft of the Cégep de Lévis and a submitted application of
    the Cégep Marie-Victorin, through the service's RPC methods with the clock set to the
    dates of 2012. ``organisations`` by code and ``people`` by e-mail come from the
    gateway's directory. Each stage runs only if not done: nothing happens if all is."""
    ministry = organisations["MES"]
    admin = demo_actor(people["admin@mes.demo.quebec"], ministry)
    analyst = demo_actor(people["analyste@mes.demo.quebec"], ministry)
    levis, cmv = organisations["CLV"], organisations["CMV"]
    levis_rac = demo_actor(people["rac@cegeplevis.demo.quebec"], levis)
    cmv_rac = demo_actor(people["rac@cmv.demo.quebec"], cmv)
    cmv_dg = demo_actor(people["dg@cmv.demo.quebec"], cmv)
    cmv_fc = demo_actor(people["fc@cmv.demo.quebec"], cmv)

    before = _call_state(sessions, TITLE_2012)
    done = before is not None and before["status"] != CALL_DRAFT
    with clock.frozen_at(_at(2012, 9, 4, 9, 0)):
        call_id = _build_call(applications, sessions, admin, CALL_2012, None)

    with clock.frozen_at(_at(2012, 11, 20, 14, 30)):
        draft = _open(applications, sessions, levis_rac, call_id)
        section_id, questions = _form(sessions, call_id)[0]
        first_text = next(q for q in questions if q["kind"] == "text")
        if not draft["answered"]:
            applications.save_answers(
                actor=levis_rac,
                application_id=draft["id"],
                section_id=section_id,
                answers={
                    first_text["id"]: "Le service de RAC du Cégep de Lévis accompagne chaque "
                    "année plus de 150 candidates et candidats dans une vingtaine de programmes "
                    "techniques et d'AEC."
                },
            )

    with clock.frozen_at(_at(2012, 12, 10, 10, 0)):
        submitted = _open(applications, sessions, cmv_rac, call_id)
        _fill(applications, sessions, cmv_rac, submitted, call_id)
    with clock.frozen_at(_at(2012, 12, 13, 16, 0)):
        _sign(applications, cmv_dg, submitted)
    with clock.frozen_at(_at(2012, 12, 14, 9, 15)):
        _sign(applications, cmv_fc, submitted)
        if submitted["status"] == APP_DRAFT:
            applications.submit(actor=cmv_rac, application_id=submitted["id"])
        if not submitted["receipt"]:
            applications.render_receipts()  # the service's timer, off the request
    with clock.frozen_at(_at(2012, 12, 19, 11, 0)):
        if submitted["paper_received_on"] is None:
            applications.record_paper_receipt(
                actor=analyst,
                application_id=submitted["id"],
                data={"received_on": date(2012, 12, 19)},
            )
    if done and submitted["paper_received_on"] is not None:
        return "Appel d'intérêt 2012-2013 : déjà présent."
    submitted = _application_state(sessions, call_id, cmv["id"])
    return (
        f"Appel d'intérêt 2012-2013 publié; demande en préparation du Cégep de Lévis; "
        f"demande déposée du Cégep Marie-Victorin ({submitted['reference']})."
    )


# -- the « demande de compléments » ------------------------------------------------------------

RENEWAL_TITLE = "Appel d'intérêt {years} — Renouvellement de la désignation des CERAC"
RENEWAL_MARK = "Renouvellement de la désignation des CERAC"


def _completed_exchange(applications, sessions, analyst: dict, cmv_rac: dict, call_id) -> bool:
    """The Cégep Marie-Victorin's 2012 application: the analyst asked for two items after the
    paper copy arrived, the institution answered the next day, the analysis resumed.
    True if any of it had to be done."""
    state = _application_state(sessions, call_id, cmv_rac["organisation_id"])
    if state is None or state["paper_received_on"] is None or state["admissibility"]:
        return False
    if state["requests"] and state["requests"][-1]["status"] == COMPLEMENT_RESUMED:
        return False
    application_id = state["id"]
    if not state["requests"]:
        with clock.frozen_at(_at(2012, 12, 19, 14, 0)):
            applications.request_complements(
                actor=analyst,
                application_id=application_id,
                data={
                    "items": [
                        {
                            "label": "Décision du conseil d'administration autorisant la "
                            "demande (copie signée)",
                            "kind": "document",
                            "piece_kind": "official_document",
                        },
                        {
                            "label": "Nombre de personnes accompagnées en RAC en 2011-2012, "
                            "par programme",
                            "kind": "answer",
                        },
                    ],
                    "due_date": date(2013, 1, 11),
                    "message": "Bonjour, pour compléter l'analyse de la recevabilité de votre "
                    "demande, merci de nous transmettre les deux éléments ci-dessous.",
                },
            )
        state = _application_state(sessions, call_id, cmv_rac["organisation_id"])
    request = state["requests"][-1]
    document, figures = request["items"]
    with clock.frozen_at(_at(2012, 12, 20, 10, 30)):
        if not document["provided"]:
            applications.upload_complement_document(
                actor=cmv_rac,
                application_id=application_id,
                item_id=document["id"],
                data={
                    "filename": "decision-ca-2012-12-05-signee.pdf",
                    "content_b64": _b64(MINIMAL_PDF),
                },
            )
        if not figures["provided"]:
            applications.answer_complement_item(
                actor=cmv_rac,
                application_id=application_id,
                item_id=figures["id"],
                data={
                    "answer": "En 2011-2012, le Cégep Marie-Victorin a accompagné 184 personnes "
                    "en RAC : 72 en Techniques d'éducation à l'enfance, 58 en Techniques de "
                    "travail social et 54 dans ses attestations d'études collégiales."
                },
            )
    if request["status"] == COMPLEMENT_PENDING:
        with clock.frozen_at(_at(2012, 12, 20, 10, 45)):
            applications.answer_complements(
                actor=cmv_rac,
                application_id=application_id,
                data={"comment": "Les deux éléments demandés sont fournis."},
            )
    with clock.frozen_at(_at(2012, 12, 20, 15, 0)):
        applications.resume_admissibility(
            actor=analyst,
            application_id=application_id,
            data={"note": "Compléments reçus; l'analyse se poursuit."},
        )
    return True


def _pending_request(
    applications, sessions, admin: dict, analyst: dict, csn: dict, people: dict
) -> str | None:
    """A call for the renewal of the designations, dated from today: the Centre de services
    scolaire des Navigateurs deposited its application (signed by its DG and its RAC
    coordinator, designated by the DG) and the analyst asked three days ago for the signature
    of its director of vocational training, a letter of support and a precision; the answer
    is due in eleven days, whatever the platform's date. None if it was all made already."""
    existing = _call_state(sessions, mark=RENEWAL_MARK)
    if existing is not None:
        state = _application_state(sessions, existing["id"], csn["id"])
        if state is not None and state["requests"]:
            return None
    today = clock.today()
    launch, deadline = today - timedelta(days=75), today - timedelta(days=15)
    years = f"{today.year}-{today.year + 1}"
    data = {
        "title": RENEWAL_TITLE.format(years=years),
        "education_orders": ["secondaire"],
        "launch_date": launch,
        "deadline_date": deadline,
        "analysis_date": today + timedelta(days=30),
        "designation_date": today + timedelta(days=60),
        "experimentation_years": [f"{today.year + 1}-{today.year + 2}"],
    }
    if existing is not None:  # a stopped demo's call, made on another day: completed as is
        data["title"] = existing["title"]
    dg = demo_actor(people["dg@csnavigateurs.demo.quebec"], csn)
    rac = demo_actor(people["rac@csnavigateurs.demo.quebec"], csn)
    with clock.frozen_at(datetime.combine(launch, time(9, 0), MONTREAL)):
        call_id = _build_call(applications, sessions, admin, data, _guide_2012(sessions))
    with clock.frozen_at(datetime.combine(deadline - timedelta(days=12), time(10, 0), MONTREAL)):
        application = _open(applications, sessions, rac, call_id)
        designation = ("designation", "designation-coordonnateur-rac-par-la-dg.pdf")
        _fill(applications, sessions, rac, application, call_id, extra=(designation,))
        _sign(applications, dg, application)
        _sign(applications, rac, application)
    with clock.frozen_at(datetime.combine(deadline - timedelta(days=5), time(15, 20), MONTREAL)):
        if application["status"] == APP_DRAFT:  # its receipt: the service's timer
            applications.submit(actor=rac, application_id=application["id"])
    with clock.frozen_at(datetime.combine(deadline - timedelta(days=2), time(11, 0), MONTREAL)):
        if application["paper_received_on"] is None:
            applications.record_paper_receipt(
                actor=analyst,
                application_id=application["id"],
                data={"received_on": deadline - timedelta(days=2)},
            )
    section_id, questions = _form(sessions, call_id)[0]
    question = next(q for q in questions if q["kind"] == "text")
    with clock.frozen_at(datetime.combine(today - timedelta(days=3), time(10, 0), MONTREAL)):
        applications.request_complements(
            actor=analyst,
            application_id=application["id"],
            data={
                "items": [
                    {
                        "label": "Signature de la direction du service de la formation "
                        "professionnelle",
                        "kind": "signature",
                    },
                    {
                        "label": "Lettre d'appui d'une entreprise partenaire de la région",
                        "kind": "document",
                        "piece_kind": "support_letter",
                    },
                    {
                        "label": "Précisez les programmes de formation professionnelle visés "
                        "pendant la période de renouvellement",
                        "kind": "answer",
                        "question_id": question["id"],
                    },
                ],
                "due_date": today + timedelta(days=11),
                "message": "Bonjour, votre demande de renouvellement est à l'étape de l'analyse "
                "de la recevabilité. Merci de fournir les trois éléments ci-dessous.",
            },
        )
    return _application_state(sessions, call_id, csn["id"])["reference"] or ""


def _guide_2012(sessions) -> bytes | None:
    """The 2012 call's guide, which the renewal call reuses."""
    with sessions.transaction() as session:
        call_id = session.scalar(select(Call.id).where(Call.title == TITLE_2012))
        guide = calls.guide_of(session, call_id) if call_id is not None else None
        return guide.content if guide is not None else None


def seed_complements(applications, sessions, organisations: dict, people: dict) -> str:
    """The « demande de compléments » in both its states: completed on the Cégep
    Marie-Victorin's 2012 application, pending on the Centre de services scolaire des
    Navigateurs' application to the renewal call. Idempotent: each is made once."""
    call = _call_state(sessions, TITLE_2012)
    if call is None:
        return ""
    ministry = organisations["MES"]
    admin = demo_actor(people["admin@mes.demo.quebec"], ministry)
    analyst = demo_actor(people["analyste@mes.demo.quebec"], ministry)
    cmv_rac = demo_actor(people["rac@cmv.demo.quebec"], organisations["CMV"])
    done = []
    if _completed_exchange(applications, sessions, analyst, cmv_rac, call["id"]):
        reference = _application_state(sessions, call["id"], cmv_rac["organisation_id"])
        done.append(f"compléments reçus et analyse reprise ({reference['reference']})")
    reference = _pending_request(
        applications, sessions, admin, analyst, organisations["CSN"], people
    )
    if reference is not None:
        done.append(f"compléments demandés, réponse attendue ({reference})")
    if not done:
        return "Demandes de compléments : déjà présentes."
    return "Demandes de compléments : " + "; ".join(done) + "."


def _announced_long_ago(sessions, after_id: int) -> None:
    """The demo's events are facts of the past, announced at the time: they stay in this
    service's outbox as the record of what happened, marked published, so that nobody is
    e-mailed about them today (every ``rac demo`` on a fresh platform would otherwise
    notify the institutions). Those of this run (after ``after_id``), and those a stopped
    run left, older than two days (the latest of them is three days old)."""
    long_ago = datetime.combine(clock.today() - timedelta(days=2), time(0, 0), MONTREAL)
    with sessions.transaction() as session:
        outbox = Base.metadata.tables["outbox"]
        session.execute(
            update(outbox)
            .where(
                outbox.c.published_at.is_(None),
                or_(outbox.c.id > after_id, outbox.c.created_at < long_ago),
            )
            .values(published_at=clock.now())
        )


def _last_event(sessions) -> int:
    with sessions.transaction() as session:
        outbox = Base.metadata.tables["outbox"]
        return session.scalar(select(func.max(outbox.c.id))) or 0


# -- the designated CERACs: network, support requests, reports, a special mandate -----------

# Competence areas and programs of the 2013 CERACs (their applications were kept outside
# the platform, so nothing can be derived from them here).
ARCHIVE_COMPETENCES = {
    "Cégep de Sherbrooke": (
        ["instrumentation", "harmonisation", "specialistes", "formation_manquante"],
        ["180.A0", "LCA.5X"],
    ),
    "Cégep de Sainte-Foy": (["distance", "web", "demarche"], ["410.B0", "JEE.0K"]),
    "Centre de services scolaire de la Capitale": (
        ["service", "demarche", "milieu_travail"],
        [],
    ),
    "Centre de services scolaire de Montréal": (
        ["formation_manquante", "milieu_travail", "harmonisation"],
        [],
    ),
    "Centre de services scolaire des Navigateurs": (
        ["instrumentation", "distance"],
        [],
    ),
}
OBJECTIVES = {
    "offer": "Soutenir au moins cinq établissements du réseau dans la mise en place ou la "
    "consolidation de leur service de RAC.",
    "quality": "Harmoniser les pratiques d'évaluation des compétences avec les établissements "
    "accompagnés (cohérence, équité, équivalence).",
    "development": "Élaborer des outils d'évaluation et une offre de formation manquante à "
    "distance pour deux programmes.",
}
INDICATORS = {
    "quality": [
        ("Établissements ayant adopté la grille d'entrevue commune", "établissements", 4, 5)
    ],
    "development": [("Instruments d'évaluation élaborés", "instruments", 6, 7)],
}


def _register_archive(session: Session, row: dict, people: dict[str, dict]) -> None:
    from services.applications.ceracs import contacts_from_users
    from services.applications.models import CeracRecord

    areas, programs = ARCHIVE_COMPETENCES.get(row["organisation_name"], ([], []))
    staff = [p for p in people.values() if p.get("organisation_id") == row["organisation_id"]]
    now = clock.now()
    session.add(
        CeracRecord(
            id=row["cerac_id"],
            organisation_id=row["organisation_id"],
            organisation_name=row["organisation_name"],
            education_order=row["education_order"],
            mandate_parts=list(row["mandate_parts"]),
            experimentation_years=list(row["experimentation_years"]),
            designated_on=row["designated_on"],
            call_id=row.get("call_id"),
            application_id=None,
            competence_areas=areas,
            programs=programs,
            contacts=contacts_from_users(staff) if row["organisation_id"] else [],
            contacts_refreshed_at=now if row["organisation_id"] else None,
            created_at=now,
            updated_at=now,
        )
    )


def _register_and_lend(sessions, scoring_ceracs: list[dict], people: dict) -> bool:
    """The network's records of the CERACs the scoring step designated (same ids) with their
    yearly reports, then a temporary organisation id lent to those without an account
    (put back by ``_give_back``). Own-table writes, not an entrypoint: on the platform
    ``on_cerac_designated`` makes each record from ``cerac.designated``, but the 2013
    CERACs were designated from files kept outside the platform and scoring publishes no
    such event for them (its contract needs an application and an organisation); and the
    reports' entrypoints take the CERAC from the writer's organisation, which they lack.
    True if a record had to be made."""
    from services.applications import reporting
    from services.applications.models import CeracRecord

    made = False
    with sessions.transaction() as session, clock.frozen_at(_at(2013, 6, 3, 9, 0)):
        for row in scoring_ceracs:
            if session.get(CeracRecord, row["cerac_id"]) is None:
                _register_archive(session, row, people)
                session.flush()
                reporting.ensure_yearly_reports(session, session.get(CeracRecord, row["cerac_id"]))
                made = True
        for row in scoring_ceracs:
            record = session.get(CeracRecord, row["cerac_id"])
            if record.organisation_id is None:
                record.organisation_id = -record.id
    return made


def _give_back(sessions) -> None:
    """The last stage: the organisation ids lent by ``_register_and_lend`` put back to none,
    and the events of these 2013-2015 facts (made at the clock of those years, whichever
    run of the demo made them) removed from this service's outbox: nobody to notify."""
    from services.applications.models import CeracRecord

    with sessions.transaction() as session:
        for record in session.scalars(select(CeracRecord).where(CeracRecord.organisation_id < 0)):
            record.organisation_id = None
        outbox = Base.metadata.tables["outbox"]
        session.execute(
            delete(outbox).where(
                outbox.c.published_at.is_(None),
                outbox.c.created_at >= _at(2013, 6, 1, 0, 0),
                outbox.c.created_at < _at(2016, 1, 1, 0, 0),
            )
        )


def _writer(record: dict) -> dict:
    """Who writes for a 2013 CERAC without accounts: its coordination, by name only."""
    return {
        "user_id": 900000 + record["id"],
        "role": Role.RAC_COORDINATOR.value,
        "organisation_id": record["organisation_id"],
        "organisation_kind": (
            OrganisationKind.CEGEP
            if record["education_order"] == "collégial"
            else OrganisationKind.SCHOOL_SERVICE_CENTRE
        ).value,
        "full_name": f"Coordination de la RAC — {record['organisation_name']}",
    }


def _network_state(sessions, cerac_ids: list[int]) -> dict:
    """The network as it stands in this service's own tables: each stage of
    ``seed_reporting`` runs only if not done, so a stopped demo resumes."""
    from services.applications.models import (
        CeracRecord,
        CeracReport,
        ReportingDeadline,
        SpecialMandate,
        SupportRequest,
    )

    with sessions.transaction() as session:
        records = [session.get(CeracRecord, cerac_id) for cerac_id in cerac_ids]
        reports = {}
        for report in session.scalars(select(CeracReport).order_by(CeracReport.id)):
            reports[(report.cerac_id, report.period_key)] = {
                "id": report.id,
                "status": report.status,
                "versions": report.versions_count,
                "written": any(s.objectives or s.narrative for s in report.sections),
                "period_label": report.period_label,
                "organisation_name": report.cerac.organisation_name,
                "special_mandate_id": report.special_mandate_id,
                "sections": [
                    {
                        "key": s.key,
                        "title": s.title,
                        "sources": [i.source for i in s.indicators if i.source],
                    }
                    for s in sorted(report.sections, key=lambda s: s.position)
                ],
            }
        return {
            "records": [
                {
                    "id": r.id,
                    "organisation_id": r.organisation_id,
                    "organisation_name": r.organisation_name,
                    "education_order": r.education_order,
                }
                for r in records
            ],
            "deadlines": set(session.scalars(select(ReportingDeadline.experimentation_year))),
            "support": {
                s.object: {"id": s.id, "answered": s.answer is not None}
                for s in session.scalars(select(SupportRequest))
            },
            "mandates": list(session.scalars(select(SpecialMandate.id))),
            "reports": reports,
        }


def _report_draft(report: dict, complete: bool = True) -> dict:
    sections = {}
    for section in report["sections"]:
        key = section["key"]
        indicators = [{"source": source, "target": "3"} for source in section["sources"]]
        for label, unit, target, achieved in INDICATORS.get(key, []):
            indicators.append(
                {"label": label, "unit": unit, "target": str(target), "achieved": str(achieved)}
            )
        if key.startswith("livrable"):
            objectives = f"Produire le livrable : {section['title']}."
        else:
            objectives = OBJECTIVES.get(key, "")
        sections[key] = {
            "objectives": objectives,
            "narrative": (
                f"{report['organisation_name']} : bilan de l'année {report['period_label']} "
                f"pour « {section['title']} ». Les activités prévues ont été réalisées avec "
                "les établissements partenaires; les résultats sont présentés dans les "
                "indicateurs."
            )
            if complete
            else "",
            "indicators": indicators,
        }
        if not complete:
            break  # a draft begun: only the first section is written
    return {"sections": sections}


class _Counting:
    """The service's client, counting the calls made through it (none: all was done)."""

    def __init__(self, client):
        self._client, self.calls = client, 0

    def __getattr__(self, method: str):
        self.calls += 1
        return getattr(self._client, method)


def seed_reporting(
    client, sessions, organisations: dict, people: dict, scoring_ceracs: list[dict]
) -> str:
    """The CERACs designated by the scoring demo (same ids), as the network lists them, with
    their reports for 2013-2014 and 2014-2015: accepted ones, one sent back then accepted,
    one submitted awaiting review, one draft (late), a special mandate, and two support
    requests (one answered, one open) — through the service's RPC methods at the clock of
    those years (but for ``_register_and_lend``, see why there). Each stage runs only if
    not done."""
    if not scoring_ceracs:
        return "Reddition de comptes : aucun CERAC désigné, rien à créer."
    applications = _Counting(client)
    registered = _register_and_lend(sessions, scoring_ceracs, people)
    cerac_ids = [row["cerac_id"] for row in scoring_ceracs]
    state = _network_state(sessions, cerac_ids)
    ministry = organisations["MES"]
    admin = demo_actor(people["admin@mes.demo.quebec"], ministry)
    analyst = demo_actor(people["analyste@mes.demo.quebec"], ministry)
    levis_rac = demo_actor(people["rac@cegeplevis.demo.quebec"], organisations["CLV"])
    csn_rac = demo_actor(people["rac@csnavigateurs.demo.quebec"], organisations["CSN"])
    records = state["records"]

    with clock.frozen_at(_at(2013, 9, 3, 10, 0)):
        for year, due in (("2013-2014", date(2014, 9, 30)), ("2014-2015", date(2015, 9, 30))):
            if year not in state["deadlines"]:
                applications.set_report_deadline(
                    actor=admin, data={"experimentation_year": year, "due_date": due}
                )

    def named(fragment: str, fallback: int) -> dict:
        return next((r for r in records if fragment in r["organisation_name"]), records[fallback])

    first = named("Sherbrooke", 0)
    second = named("Capitale", -1)
    writers = {r["id"]: _writer(r) for r in records}

    answered = state["support"].get("Mise en place de l'entrevue de validation")
    if answered is None:
        with clock.frozen_at(_at(2013, 10, 15, 10, 0)):
            made = applications.request_support(
                actor=levis_rac,
                cerac_id=first["id"],
                data={
                    "object": "Mise en place de l'entrevue de validation",
                    "program": "180.A0 Soins infirmiers",
                    "message": "Nous démarrons la RAC en Soins infirmiers et souhaitons "
                    "connaître vos outils pour l'entrevue de validation.",
                },
            )
        answered = {"id": made["id"], "answered": False}
    if not answered["answered"]:
        with clock.frozen_at(_at(2013, 10, 22, 14, 0)):
            applications.answer_support(
                actor=writers[first["id"]],
                request_id=answered["id"],
                data={
                    "answer": "Avec plaisir : nous vous transmettons notre guide d'entrevue et "
                    "vous proposons une rencontre de travail le 5 novembre."
                },
            )
    if "Harmonisation des grilles d'évaluation en FP" not in state["support"]:
        with clock.frozen_at(_at(2015, 2, 10, 11, 0)):
            applications.request_support(
                actor=csn_rac,
                cerac_id=second["id"],
                data={
                    "object": "Harmonisation des grilles d'évaluation en FP",
                    "program": "5321 Cuisine",
                    "message": "Nos spécialistes de contenu utilisent des grilles différentes "
                    "d'un centre à l'autre; pourriez-vous nous accompagner?",
                },
            )

    def report_of(record: dict, period_key: str) -> dict:
        return _network_state(sessions, cerac_ids)["reports"][(record["id"], period_key)]

    def write_and_submit(record: dict, report: dict, when: datetime) -> None:
        if report["status"] in (REPORT_DRAFT, REPORT_CHANGES_REQUESTED):
            with clock.frozen_at(when):
                if not report["written"]:
                    applications.save_report(
                        actor=writers[record["id"]],
                        report_id=report["id"],
                        data=_report_draft(report),
                    )
                applications.submit_report(actor=writers[record["id"]], report_id=report["id"])

    def review(report: dict, when: datetime, decision: dict) -> None:
        with clock.frozen_at(when):
            applications.review_report(actor=analyst, report_id=report["id"], data=decision)

    accepted = {"decision": "accepted"}

    def submit_and_accept(record: dict, year: str, submitted: datetime, accepted_at) -> None:
        write_and_submit(record, report_of(record, f"annee:{year}"), submitted)
        report = report_of(record, f"annee:{year}")
        if accepted_at is not None and report["status"] == REPORT_SUBMITTED:
            review(report, accepted_at, accepted)

    # The first CERAC: 2013-2014 sent back once, then accepted; 2014-2015 begun, now late.
    report = report_of(first, "annee:2013-2014")
    if report["versions"] == 0:
        write_and_submit(first, report, _at(2014, 9, 20, 15, 0))
        report = report_of(first, "annee:2013-2014")
    if report["status"] == REPORT_SUBMITTED and report["versions"] == 1:
        review(
            report,
            _at(2014, 10, 6, 10, 0),
            {
                "decision": "changes_requested",
                "comments": {
                    "quality": "Précisez quels établissements ont adopté la grille commune et "
                    "joignez le compte rendu de la rencontre d'harmonisation."
                },
            },
        )
        report = report_of(first, "annee:2013-2014")
    write_and_submit(first, report, _at(2014, 10, 20, 9, 30))
    report = report_of(first, "annee:2013-2014")
    if report["status"] == REPORT_SUBMITTED:
        review(report, _at(2014, 11, 3, 16, 0), accepted)
    late = report_of(first, "annee:2014-2015")
    if not late["written"]:
        with clock.frozen_at(_at(2015, 9, 10, 10, 0)):
            applications.save_report(
                actor=writers[first["id"]],
                report_id=late["id"],
                data=_report_draft(late, complete=False),
            )

    # The special mandate of the first CERAC, reported on and accepted.
    if not state["mandates"]:
        with clock.frozen_at(_at(2014, 11, 10, 10, 0)):
            applications.assign_special_mandate(
                actor=admin,
                data={
                    "cerac_id": first["id"],
                    "object": "Harmonisation des outils d'évaluation en RAC au collégial",
                    "deliverables": [
                        "Inventaire des outils d'évaluation utilisés dans le réseau collégial",
                        "Guide d'harmonisation des pratiques d'évaluation",
                    ],
                    "due_date": date(2015, 6, 30),
                    "amount": "40000",
                },
            )
    [mandate_id] = _network_state(sessions, cerac_ids)["mandates"]
    mandate_key = next(
        key
        for key, report in _network_state(sessions, cerac_ids)["reports"].items()
        if report["special_mandate_id"] == mandate_id
    )
    write_and_submit(first, report_of(first, mandate_key[1]), _at(2015, 6, 22, 14, 0))
    mandate_report = report_of(first, mandate_key[1])
    if mandate_report["status"] == REPORT_SUBMITTED:
        review(mandate_report, _at(2015, 7, 8, 10, 0), accepted)

    # The second CERAC: 2013-2014 accepted, 2014-2015 submitted and awaiting review.
    submit_and_accept(second, "2013-2014", _at(2014, 9, 25, 11, 0), _at(2014, 10, 15, 10, 0))
    submit_and_accept(second, "2014-2015", _at(2015, 9, 28, 16, 0), None)
    # The others: both years accepted.
    for number, record in enumerate(r for r in records if r not in (first, second)):
        submit_and_accept(
            record, "2013-2014", _at(2014, 9, 22 + number, 10, 0), _at(2014, 10, 20, 10, number)
        )
        submit_and_accept(
            record, "2014-2015", _at(2015, 9, 22 + number, 10, 0), _at(2015, 10, 20, 10, number)
        )
    _give_back(sessions)
    if not registered and not applications.calls:
        return "Réseau des CERAC et reddition de comptes : déjà présents."
    return (
        f"Réseau des CERAC : {len(records)} CERAC; demandes d'appui (une répondue, une en "
        f"attente); reddition de comptes 2013-2014 et 2014-2015 (rapport 2014-2015 de "
        f"{first['organisation_name']} en rédaction et en retard, celui de "
        f"{second['organisation_name']} déposé, à analyser); un mandat particulier."
    )


# -- rac demo's steps (see rac_shared/manifest.py) ---------------------------------------------


def seed_calls(context) -> tuple[str, dict]:
    """The 2012-2013 call and its two applications, then the « demandes de compléments »,
    through this service's RPC methods; forwards the call's id (``call_id``)."""
    directory = context.forwarded["directory"]
    organisations, people = directory["organisations"], directory["people"]
    applications = context.client("applications")
    sessions = SessionFactory("applications", Base.metadata)
    last_event = _last_event(sessions)
    summary = seed(applications, sessions, organisations, people)
    exchanges = seed_complements(applications, sessions, organisations, people)
    _announced_long_ago(sessions, last_event)
    call_id = _call_state(sessions, TITLE_2012)["id"]
    return "\n".join(filter(None, (summary, exchanges))), {"call_id": call_id}


def _history() -> list[dict]:
    with SessionFactory("applications", Base.metadata).transaction() as session:
        return recorded_events(session)


def seed_network(context) -> tuple[str, dict]:
    """The designated CERACs' network record, support requests, reports and a special
    mandate, from the CERACs the scoring step designated (forwarded as ``ceracs``).
    Forwards this service's events (``events``: those of both steps) for the audit trail."""
    directory = context.forwarded["directory"]
    ceracs = context.forwarded["designations"]["ceracs"]
    summary = seed_reporting(
        context.client("applications"),
        SessionFactory("applications", Base.metadata),
        directory["organisations"],
        directory["people"],
        ceracs,
    )
    return summary, {"events": _history()}
