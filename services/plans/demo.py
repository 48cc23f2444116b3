"""Demo data of the plans service (idempotent): the Cégep de Lévis's plan for the CISSS de
Chaudière-Appalaches (AEC JEE.0K, three candidate-workers), issued and awaiting
acceptance, and a second plan in preparation for the Boulangerie Saint-Méthode; a plan for
the CISSS accepted, then amended (version 2, an amendment now in force) with a third
version awaiting acceptance while version 2 stays in force; and an offer the Boulangerie
declined, with its reason.

``rac demo`` runs before any service is up, so the plan goes through the plans service's
own RPC methods called in this process, and so do billing's estimate RPCs and the
directory's look-ups, each service on its own database (``rac.demo.InProcess``). Issuing
renders the PDF and writes ``plan.issued`` to the outbox, relayed when the services start.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from rac_shared.clock import clock
from rac_shared.db import SessionFactory
from rac_shared.formatting import when
from services.plans.models import DRAFT, Base, Plan
from services.plans.retention import run_retention

PROGRAM_CODE = "JEE.0K"
DRAFT_PROGRAM = "LCA.EJ"

COMPETENCIES = [
    ("018N", "Analyser la fonction de travail", "REG A", 2, 1),
    ("018P", "Observer le comportement de l'enfant", "REG A", 4, 2),
    ("018Q", "Assurer le bien-être et la sécurité de l'enfant", "REG B", 6, 3),
    ("018R", "Intervenir au regard de l'alimentation de l'enfant", "REG B", 4, 2),
    ("018S", "Concevoir des activités de développement global de l'enfant", "", 8, 4),
    ("018T", "Établir une relation significative avec l'enfant", "", 6, 3),
]

CANDIDATES = [
    (
        "Marie-Ève Gagnon",
        "Éducatrice en halte-garderie",
        "marie-eve.gagnon@exemple.quebec",
        3,
        "in_person",
    ),
    ("Karine Lapointe", "Aide-éducatrice", "karine.lapointe@exemple.quebec", 6, "online"),
    (
        "Mathieu Poulin",
        "Éducateur en services de garde",
        "mathieu.poulin@exemple.quebec",
        3,
        "in_person",
    ),
]

ESTIMATE = {
    "lines": [
        {
            "category": "advisory",
            "description": "Services-conseils auprès de l'organisation "
            "(démarchage, élaboration du plan, rencontres de diffusion)",
            "quantity": "14",
            "unit": "heure",
            "unit_price": "95.00",
            "tax": "taxable",
        },
        {
            "category": "administrative",
            "description": "Documents contextualisés, gestion de la facturation et communications",
            "quantity": "1",
            "unit": "forfait",
            "unit_price": "850.00",
            "tax": "taxable",
        },
        {
            "category": "accompaniment",
            "description": "Accompagnement des candidats-travailleurs "
            "par la spécialiste de contenu",
            "quantity": "45",
            "unit": "heure",
            "unit_price": "85.00",
            "tax": "taxable",
        },
        {
            "category": "evaluation",
            "description": "Frais d'évaluation par candidat-travailleur",
            "quantity": "3",
            "unit": "candidat",
            "unit_price": "1450.00",
            "tax": "exempt",
        },
    ],
    "installments": [
        {
            "label": "À l'acceptation du plan",
            "percent": "40",
            "amount": None,
            "due": {"kind": "milestone", "milestone": "acceptance", "offset_days": 0},
        },
        {
            "label": "Après la rencontre d'accueil",
            "percent": "30",
            "amount": None,
            "due": {"kind": "milestone", "milestone": "welcome_meeting", "offset_days": 0},
        },
        {
            "label": "À la fin des évaluations",
            "percent": "30",
            "amount": None,
            "due": {"kind": "milestone", "milestone": "end_of_evaluations", "offset_days": 0},
        },
    ],
    "payment_term_days": 30,
    "refund_conditions": "Si une personne abandonne après l'entrevue de validation, les frais "
    "d'évaluation sont facturés au prorata du travail d'accompagnement et d'évaluation fait.",
    "abandonment_fee": "250.00",
}


def _actor(person: dict, organisation: dict) -> dict:
    return {
        "user_id": person["id"],
        "role": person["role"],
        "organisation_id": organisation["id"],
        "organisation_kind": organisation["kind"],
        "full_name": person["full_name"],
    }


def _monday_after(day: date, days: int) -> date:
    target = day + timedelta(days=days)
    return target + timedelta(days=(7 - target.weekday()) % 7)


def seed_plans(context) -> tuple[str, dict]:
    """``rac demo``'s step: four plans of the Cégep de Lévis through the plans service's own
    RPC methods (billing's estimate RPCs and the directory answered by their services'
    entrypoints, ``context.client``); a plan already there is left as it is, so a demo
    stopped half-way completes the others when run again. Forwards the plans' ids by
    program code (``plan_ids``)."""
    directory = context.forwarded["directory"]
    organisations, people = directory["organisations"], directory["people"]
    sessions = SessionFactory("plans", Base.metadata)
    with sessions.transaction() as session:
        status_of = dict(session.execute(select(Plan.program_code, Plan.status)).all())
        # A plan left a draft by a demo stopped half-way is completed, not made again; the
        # plan in preparation is meant to stay a draft.
        resume = dict(
            session.execute(
                select(Plan.program_code, Plan.id).where(
                    Plan.status == DRAFT, Plan.program_code != DRAFT_PROGRAM
                )
            ).all()
        )
    done = {code for code in status_of if code not in resume}
    levis, cisss, bakery = organisations["CLV"], organisations["CCA"], organisations["BSM"]
    coordinator = _actor(people["rac@cegeplevis.demo.quebec"], levis)
    cisss_representative = _actor(people["rh@cisss.demo.quebec"], cisss)
    bakery_representative = _actor(people["direction@boulangerie.demo.quebec"], bakery)
    plans = context.client("plans")
    lines = []
    if PROGRAM_CODE not in done:
        issued = _issued_plan(plans, coordinator, cisss, resume.get(PROGRAM_CODE))
        lines.append(
            f"{issued['reference']} émis au CISSS de Chaudière-Appalaches (acceptation au plus "
            f"tard le {when(issued['acceptance_deadline'])})"
        )
    if DRAFT_PROGRAM not in done:
        draft = _draft_plan(plans, coordinator, bakery)
        lines.append(f"{draft['reference']} en préparation")
    if AMENDED_PROGRAM[0] not in done:
        amended = _amended_plan(
            plans, coordinator, cisss_representative, cisss, resume.get(AMENDED_PROGRAM[0])
        )
        lines.append(
            f"{amended['reference']} accepté puis modifié : la version 2 est en vigueur, la "
            f"version 3 attend l'acceptation du CISSS de Chaudière-Appalaches; le suivi des "
            "trois candidats-travailleurs a commencé (le CISSS n'en voit que des nombres, "
            "« moins de 5 »)"
        )
    if DECLINED_PROGRAM[0] not in done:
        declined = _declined_plan(
            plans, coordinator, bakery_representative, bakery, resume.get(DECLINED_PROGRAM[0])
        )
        lines.append(
            f"{declined['reference']} refusé par la Boulangerie Saint-Méthode inc., avec son motif"
        )
    if ANONYMISED_PROGRAM[0] not in done:
        old = _anonymised_plan(
            plans, coordinator, bakery_representative, bakery, resume.get(ANONYMISED_PROGRAM[0])
        )
        plans.export_personal_information(actor=coordinator, data={"email": ACCESS_REQUEST_EMAIL})
        lines.append(
            f"{old['reference']} refusé il y a plus de deux ans, dont la personne candidate a "
            "été anonymisée par la règle de conservation; une demande d'accès exportée "
            f"({ACCESS_REQUEST_EMAIL}) au registre des renseignements personnels"
        )
    with sessions.transaction() as session:
        plan_ids = dict(session.execute(select(Plan.program_code, Plan.id)).all())
    if not lines:
        return "Plans de mise en œuvre : déjà présents.", {"plan_ids": plan_ids}
    return "Plans de mise en œuvre : " + "; ".join(lines) + ".", {"plan_ids": plan_ids}


def _issue(plans, coordinator: dict, plan_id: int) -> dict:
    """Issue, then render the issued PDF at once (a running service renders it in the
    background after the issue; the demo has none, and its e-mails attach the PDF)."""
    row = plans.issue(actor=coordinator, plan_id=plan_id)
    plans.get_pdf(actor=coordinator, plan_id=plan_id, version=row["current_version"])
    return row


def _issued_plan(plans, coordinator: dict, cisss: dict, plan_id: int | None = None) -> dict:
    """Issued today to the CISSS; ``plan_id``: the draft a stopped demo left, completed."""
    today = clock.today()
    plan_id = (
        plan_id
        or plans.create_plan(
            actor=coordinator,
            data={
                "employer_id": cisss["id"],
                "employer_service": "Direction des ressources humaines, des communications et des "
                "affaires juridiques",
                "program_kind": "AEC",
                "program_code": PROGRAM_CODE,
                "program_title": "Techniques d'éducation à l'enfance",
                "target_jobs": "le personnel éducateur des haltes-garderies et des services de "
                "garde en milieu hospitalier",
                "organisation_domain": "de la santé et des services sociaux",
            },
        )["id"]
    )
    start = _monday_after(today, 45)
    view = plans.get_plan(actor=coordinator, plan_id=plan_id)
    sections = {
        **view["content"]["sections"],
        "domains": [
            "Éducation à l'enfance",
            "Soins infirmiers",
            "Soins préhospitaliers d'urgence",
            "Bureautique",
            "Informatique",
        ],
        "specialists": [
            {"name": "Geneviève Roy", "field": "Éducation à l'enfance (développement global)"},
            {"name": "Patrick Nadeau", "field": "Santé et sécurité en service de garde"},
        ],
    }
    sections = {k: v for k, v in sections.items()}
    plans.update_draft(
        actor=coordinator,
        plan_id=plan_id,
        data={
            "program": {**view["content"]["program"], "field_of_study": "l'éducation à l'enfance"},
            "sections": _jsonable(sections),
            "competencies": [
                {"code": c, "statement": s, "group": g, "weeks_3h": w3, "weeks_6h": w6}
                for c, s, g, w3, w6 in COMPETENCIES
            ],
            "candidates": [
                {
                    "full_name": name,
                    "job_title": title,
                    "email": email,
                    "rhythm": rhythm,
                    "start_date": (start + timedelta(days=7 * i)).isoformat(),
                    "modality": modality,
                }
                for i, (name, title, email, rhythm, modality) in enumerate(CANDIDATES)
            ],
            "steps": [
                {"kind": "information_meeting", "start": (today + timedelta(days=14)).isoformat()},
                {
                    "kind": "file_deposit",
                    "start": (today + timedelta(days=15)).isoformat(),
                    "end": (today + timedelta(days=28)).isoformat(),
                },
                {
                    "kind": "validation_interview",
                    "start": (today + timedelta(days=30)).isoformat(),
                    "end": (today + timedelta(days=37)).isoformat(),
                },
                {"kind": "welcome_meeting", "start": (start - timedelta(days=3)).isoformat()},
                {"kind": "missing_training", "period": "Au besoin, selon les résultats"},
                {"kind": "sanction", "period": "À la fin de la démarche de chaque personne"},
            ],
            "closure_dates": [
                d.isoformat()
                for d in (date(today.year, 12, 24), date(today.year, 12, 31))
                + (date(today.year + 1, 1, 2),)
            ],
            "aide_memoire": {
                "evaluation_fees_note": "Facturés selon l'échéancier de l'estimation.",
                "human_financial_resources": "Une spécialiste de contenu et une conseillère en "
                "RAC du Cégep; une gestionnaire répondante au CISSS; trois heures de libération "
                "par semaine par candidat-travailleur.",
                "safety_equipment": "Chaussures fermées et carte d'identité du CISSS lors des "
                "observations en milieu de travail.",
                "refund_conditions": "Remboursement au prorata des activités non réalisées si la "
                "démarche est interrompue par le Cégep.",
                "modalities": "Entrevues de validation en présentiel; accompagnement en ligne ou "
                "en présentiel selon le choix de chaque personne.",
            },
            "annexes": {
                **_jsonable(view["content"]["annexes"]),
                "annex_c_start_date": (today + timedelta(days=14)).isoformat(),
            },
        },
    )
    plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=ESTIMATE)
    _issue(plans, coordinator, plan_id)
    return plans.get_plan(actor=coordinator, plan_id=plan_id)["plan"]


def _draft_plan(plans, coordinator: dict, bakery: dict) -> dict:
    created = plans.create_plan(
        actor=coordinator,
        data={
            "employer_id": bakery["id"],
            "program_kind": "AEC",
            "program_code": DRAFT_PROGRAM,
            "program_title": "Supervision d'équipes de production",
            "target_jobs": "les chefs d'équipe de la boulangerie",
            "organisation_domain": "de la boulangerie artisanale et industrielle",
        },
    )
    plans.add_competency(
        actor=coordinator,
        plan_id=created["id"],
        competency={
            "code": "0A1B",
            "statement": "Planifier le travail d'une équipe de production",
            "group": "",
            "weeks_3h": 6,
            "weeks_6h": 3,
        },
    )
    return created


AMENDED_PROGRAM = ("LCE.4N", "Soutien administratif en milieu de santé")
AMENDED_CANDIDATES = [
    ("Chantal Bilodeau", "Agente administrative, archives médicales", 3, "in_person"),
    ("Steve Lessard", "Agent administratif, accueil et admission", 6, "online"),
]
AMENDED_COMPETENCIES = [
    ("0ZA1", "Traiter l'information administrative d'un dossier d'usager", "REG A", 4, 2),
    ("0ZA2", "Appliquer les règles de confidentialité des renseignements de santé", "REG A", 2, 1),
    ("0ZA3", "Assurer l'accueil et l'admission des usagers", "", 6, 3),
]
DECLINED_PROGRAM = ("LCA.EM", "Gestion de la production en boulangerie")
DECLINE_REASON = (
    "Le calendrier proposé commence en pleine période des Fêtes, la plus achalandée de "
    "l'année pour nos équipes de production. Nous souhaitons reprendre le projet au "
    "printemps, avec des évaluations en dehors des quarts de nuit."
)


def _estimate_for(candidates: int, advisory_hours: int) -> dict:
    """The demo estimate with one evaluation per candidate-worker."""
    lines = [dict(line) for line in ESTIMATE["lines"]]
    for line in lines:
        if line["category"] == "evaluation":
            line["quantity"] = str(candidates)
        if line["category"] == "advisory":
            line["quantity"] = str(advisory_hours)
    return {**ESTIMATE, "lines": lines}


def _accept(plans, employer: dict, plan_id: int, title: str) -> None:
    view = plans.get_plan(actor=employer, plan_id=plan_id)
    plans.accept_online(
        actor=employer,
        plan_id=plan_id,
        data={
            "version": view["version"]["number"],
            "content_hash": view["version"]["content_hash"],
            "full_name": employer["full_name"],
            "title": title,
            "statement": "J’accepte",
        },
        ip="192.0.2.10",
    )


def _ascii(text: str) -> str:
    """« Nadia Côté » → « Nadia Cote », for the demo's e-mail addresses."""
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _candidates(rows, start: date) -> list[dict]:
    return [
        {
            "full_name": name,
            "job_title": title,
            "email": _ascii(name).lower().replace(" ", ".") + "@exemple.quebec",
            "rhythm": rhythm,
            "start_date": (start + timedelta(days=7 * i)).isoformat(),
            "modality": modality,
        }
        for i, (name, title, rhythm, modality) in enumerate(rows)
    ]


def _amended_plan(
    plans, coordinator: dict, employer: dict, cisss: dict, plan_id: int | None = None
) -> dict:
    """Accepted 70 days ago; amended and accepted again (version 2, in force); a third
    version (another amendment) issued three days ago awaits acceptance. ``plan_id``: the
    draft a stopped demo left, completed."""
    now = clock.now()
    with clock.frozen_at(now - timedelta(days=80)):
        today = clock.today()
        plan_id = (
            plan_id
            or plans.create_plan(
                actor=coordinator,
                data={
                    "employer_id": cisss["id"],
                    "employer_service": "Direction des services multidisciplinaires, archives "
                    "médicales et accueil",
                    "program_kind": "AEC",
                    "program_code": AMENDED_PROGRAM[0],
                    "program_title": AMENDED_PROGRAM[1],
                    "target_jobs": "le personnel administratif des archives médicales et de "
                    "l'accueil des hôpitaux",
                    "organisation_domain": "de la santé et des services sociaux",
                },
            )["id"]
        )
        plans.update_draft(
            actor=coordinator,
            plan_id=plan_id,
            data={
                "competencies": [
                    {"code": c, "statement": st, "group": g, "weeks_3h": w3, "weeks_6h": w6}
                    for c, st, g, w3, w6 in AMENDED_COMPETENCIES
                ],
                "candidates": _candidates(AMENDED_CANDIDATES, _monday_after(today, 21)),
            },
        )
        plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=_estimate_for(2, 10))
        _issue(plans, coordinator, plan_id)
    with clock.frozen_at(now - timedelta(days=70)):
        _accept(plans, employer, plan_id, "Directrice des ressources humaines")
    with clock.frozen_at(now - timedelta(days=20)):
        nadia = _candidates(
            [("Nadia Côté", "Agente administrative, accueil et admission", 3, "in_person")],
            _monday_after(clock.today(), 14),
        )
        _issue_amendment(
            plans,
            coordinator,
            plan_id,
            "Ajout d'une candidate-travailleuse, Nadia Côté (accueil et admission); six heures "
            "de services-conseils de plus pour le démarchage.",
            lambda content: {"candidates": content["candidates"] + nadia},
            _estimate_for(3, 16),
        )
    with clock.frozen_at(now - timedelta(days=14)):
        _accept(plans, employer, plan_id, "Directrice des ressources humaines")
    with clock.frozen_at(now - timedelta(days=7)):
        _follow_up(plans, coordinator, plan_id)

    def steve_a_month_later(content: dict) -> dict:
        for candidate in content["candidates"]:
            if candidate["full_name"] == "Steve Lessard":
                start = date.fromisoformat(str(candidate["start_date"])) + timedelta(days=28)
                candidate["start_date"] = start.isoformat()
        return {
            "candidates": content["candidates"],
            "closure_dates": [date(clock.today().year, 12, 26).isoformat()],
        }

    with clock.frozen_at(now - timedelta(days=3)):
        _issue_amendment(
            plans,
            coordinator,
            plan_id,
            "Évaluations de Steve Lessard déplacées d'un mois (congé parental); fermeture du "
            "26 décembre ajoutée.",
            steve_a_month_later,
            _estimate_for(3, 16),
        )
    return plans.get_plan(actor=coordinator, plan_id=plan_id)["plan"]


def _follow_up(plans, coordinator: dict, plan_id: int) -> None:
    """The first steps of the three candidate-workers (before the welcome meeting: no
    milestone, no invoice): the Cégep follows them by name, the CISSS sees counts that are
    all withheld (three people next to their names in the plan: « moins de 5 », Loi 25)."""
    progress = plans.get_progress(actor=coordinator, plan_id=plan_id)
    ids = {c["full_name"]: c["id"] for c in progress["candidates"]}
    for name, step in (
        ("Chantal Bilodeau", "validation_interview"),
        ("Steve Lessard", "file_deposit"),
        ("Nadia Côté", "information_meeting"),
    ):
        plans.set_candidate_step(
            actor=coordinator, plan_id=plan_id, candidate_id=ids[name], data={"step": step}
        )
    plans.set_competency_result(
        actor=coordinator,
        plan_id=plan_id,
        candidate_id=ids["Chantal Bilodeau"],
        data={"competency_code": "0ZA2", "result": "reconnue"},
    )


def _issue_amendment(plans, coordinator, plan_id, summary, change, estimate) -> None:
    """A written amendment of the version in force: ``change`` gives the parts of the
    content to replace, from the current content."""
    plans.amend(actor=coordinator, plan_id=plan_id, data={"summary": summary})
    content = _jsonable(plans.get_plan(actor=coordinator, plan_id=plan_id)["content"])
    plans.update_draft(actor=coordinator, plan_id=plan_id, data=_jsonable(change(content)))
    plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=estimate)
    _issue(plans, coordinator, plan_id)


def _declined_plan(
    plans, coordinator: dict, employer: dict, bakery: dict, plan_id: int | None = None
) -> dict:
    """Issued eight days ago to the Boulangerie Saint-Méthode, declined two days later.
    ``plan_id``: the draft a stopped demo left, completed."""
    plan_id = _offer_declined(
        plans, coordinator, employer, bakery, plan_id,
        issued_days_ago=8, declined_days_ago=6, program=DECLINED_PROGRAM,
        target_jobs="les boulangères et boulangers de production de nuit",
        competencies=[
            ("0B12", "Planifier la production quotidienne de la boulangerie", 6, 3),
            ("0B13", "Contrôler la qualité et la salubrité des produits", 4, 2),
        ],
        candidate=("Olivier Paradis", "Chef boulanger de nuit", 3, "in_person"),
        first_monday=lambda: _monday_after(_next_december_15(), 0),
        estimate=(1, 8), reason=DECLINE_REASON,
    )  # fmt: skip
    return plans.get_plan(actor=coordinator, plan_id=plan_id)["plan"]


def _next_december_15() -> date:
    start = date(clock.today().year, 12, 15)
    return start if start >= clock.today() else date(clock.today().year + 1, 12, 15)


ANONYMISED_PROGRAM = ("LCA.EN", "Boulangerie de production")
# A candidate-worker of the issued plan who asked for her information (Loi 25).
ACCESS_REQUEST_EMAIL = CANDIDATES[0][2]


def _anonymised_plan(
    plans, coordinator: dict, employer: dict, bakery: dict, plan_id: int | None = None
) -> dict:
    """Offered to the Boulangerie Saint-Méthode 830 days ago and declined a week later: the
    retention rule (two years after the plan ended) has anonymised it since. ``plan_id``:
    the draft a stopped demo left, completed."""
    plan_id = _offer_declined(
        plans, coordinator, employer, bakery, plan_id,
        issued_days_ago=830, declined_days_ago=823, program=ANONYMISED_PROGRAM,
        target_jobs="les boulangères et boulangers de jour",
        competencies=[("0B10", "Façonner des pains de tradition française", 6, 3)],
        candidate=("Jacinthe Vachon", "Boulangère", 3, "in_person"),
        first_monday=lambda: _monday_after(clock.today(), 30),
        estimate=(1, 6),
        reason="Le projet est reporté : nous réorganisons nos quarts de travail.",
    )  # fmt: skip
    run_retention(clock.today(), plans.sessions)
    return plans.get_plan(actor=coordinator, plan_id=plan_id)["plan"]


def _offer_declined(
    plans, coordinator, employer, bakery, plan_id, *, issued_days_ago: int,
    declined_days_ago: int, program, target_jobs: str, competencies, candidate,
    first_monday, estimate, reason: str,
) -> int:  # fmt: skip
    """A one-candidate plan the institution issued to the bakery ``issued_days_ago`` and the
    bakery declined ``declined_days_ago`` (``plan_id``: a draft a stopped demo left, which is
    completed). ``first_monday`` is called on the day of the issue."""
    now = clock.now()
    with clock.frozen_at(now - timedelta(days=issued_days_ago)):
        plan_id = (
            plan_id
            or plans.create_plan(
                actor=coordinator,
                data={
                    "employer_id": bakery["id"],
                    "program_kind": "AEC",
                    "program_code": program[0],
                    "program_title": program[1],
                    "target_jobs": target_jobs,
                    "organisation_domain": "de la boulangerie artisanale et industrielle",
                },
            )["id"]
        )
        plans.update_draft(
            actor=coordinator,
            plan_id=plan_id,
            data={
                "competencies": [
                    {"code": code, "statement": statement, "group": "",
                     "weeks_3h": weeks_3h, "weeks_6h": weeks_6h}
                    for code, statement, weeks_3h, weeks_6h in competencies
                ],
                "candidates": _candidates([candidate], first_monday()),
            },
        )  # fmt: skip
        plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=_estimate_for(*estimate))
        _issue(plans, coordinator, plan_id)
    with clock.frozen_at(now - timedelta(days=declined_days_ago)):
        plans.decline(actor=employer, plan_id=plan_id, data={"version": 1, "reason": reason})
    return plan_id


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=str))
