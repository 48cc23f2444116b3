"""Demo data of the plans service (idempotent): the Cégep de Lévis's plan for the CISSS de
Chaudière-Appalaches (AEC JEE.0K, three candidate-workers), issued and awaiting
acceptance, and a second plan in preparation for the Boulangerie Saint-Méthode; a plan for
the CISSS accepted, then amended (version 2, an amendment now in force) with a third
version awaiting acceptance while version 2 stays in force; and an offer the Boulangerie
declined, with its reason.

``rac demo`` runs before any service is up, so the plan goes through the plans service's
own RPC methods called in this process, and so do billing's estimate RPCs (the contract),
each with its own database; the directory's organisations come from the gateway's views
(``rac_shared.demo``). Issuing renders the PDF and writes ``plan.issued`` to the outbox,
relayed when the services start.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.clock import clock
from rac_shared.formatting import when
from services.plans.models import Base, Plan
from services.plans.retention import run_retention

PROGRAM_CODE = "JEE.0K"

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


class InProcess:
    """Calls a nameko service's RPC methods in this process, as a worker would: a fresh
    session per call (``sessions``), other services as stand-ins. For ``rac demo`` only."""

    def __init__(self, service_cls, sessions, **dependencies):
        self._service_cls = service_cls
        self._sessions = sessions
        self._dependencies = dependencies

    def __getattr__(self, name):
        def call(*args, **kwargs):
            worker = self._service_cls()
            worker.db = self._sessions()
            for dependency, value in self._dependencies.items():
                setattr(worker, dependency, value)
            try:
                return getattr(worker, name)(*args, **kwargs)
            finally:
                worker.db.close()

        return call


class Directory:
    """The gateway's directory RPCs, answered from the organisations and people views."""

    def __init__(self, organisations: dict[str, dict], people: dict[str, dict]):
        self.by_id = {o["id"]: o for o in organisations.values()}
        self.people = list(people.values())

    def get_organisation(self, organisation_id: int) -> dict:
        from rac_shared.errors import not_found

        if organisation_id not in self.by_id:
            raise not_found("Organisation introuvable.")
        return self.by_id[organisation_id]

    def users_of_organisation(self, organisation_id: int, roles: list[str] | None = None):
        return [
            p
            for p in self.people
            if p["organisation_id"] == organisation_id and (not roles or p["role"] in roles)
        ]


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


def seed(session: Session, organisations: dict[str, dict], people: dict[str, dict]) -> str:
    """Two plans of the Cégep de Lévis; nothing if they exist already."""
    from rac_shared.db import SessionFactory
    from services.billing.models import Base as BillingBase
    from services.billing.service import BillingService
    from services.plans.service import PlansService

    existing = set(session.scalars(select(Plan.program_code)))
    if {PROGRAM_CODE, AMENDED_PROGRAM[0], DECLINED_PROGRAM[0], ANONYMISED_PROGRAM[0]} <= existing:
        return "Plans de mise en œuvre : déjà présents."
    levis, cisss, bakery = organisations["CLV"], organisations["CCA"], organisations["BSM"]
    coordinator = _actor(people["rac@cegeplevis.demo.quebec"], levis)
    cisss_representative = _actor(people["rh@cisss.demo.quebec"], cisss)
    bakery_representative = _actor(people["direction@boulangerie.demo.quebec"], bakery)
    directory = Directory(organisations, people)
    billing = InProcess(
        BillingService, SessionFactory("billing", BillingBase.metadata), gateway=directory
    )
    plans = InProcess(
        PlansService, SessionFactory("plans", Base.metadata), gateway=directory, billing=billing
    )
    lines = []
    if PROGRAM_CODE not in existing:
        issued = _issued_plan(plans, coordinator, cisss)
        draft = _draft_plan(plans, coordinator, bakery)
        lines.append(
            f"{issued['reference']} émis au CISSS de Chaudière-Appalaches (acceptation au plus "
            f"tard le {when(issued['acceptance_deadline'])}), {draft['reference']} en "
            "préparation"
        )
    if AMENDED_PROGRAM[0] not in existing:
        amended = _amended_plan(plans, coordinator, cisss_representative, cisss)
        lines.append(
            f"{amended['reference']} accepté puis modifié : la version 2 est en vigueur, la "
            f"version 3 attend l'acceptation du CISSS de Chaudière-Appalaches"
        )
    if DECLINED_PROGRAM[0] not in existing:
        declined = _declined_plan(plans, coordinator, bakery_representative, bakery)
        lines.append(
            f"{declined['reference']} refusé par la Boulangerie Saint-Méthode inc., avec son motif"
        )
    if ANONYMISED_PROGRAM[0] not in existing:
        old = _anonymised_plan(plans, coordinator, bakery_representative, bakery)
        lines.append(
            f"{old['reference']} refusé il y a plus de deux ans, dont la personne candidate a "
            "été anonymisée par la règle de conservation; une demande d'accès exportée "
            f"({ACCESS_REQUEST_EMAIL}) au registre des renseignements personnels"
        )
        plans.export_personal_information(actor=coordinator, data={"email": ACCESS_REQUEST_EMAIL})
    return "Plans de mise en œuvre : " + "; ".join(lines) + "."


def _issued_plan(plans, coordinator: dict, cisss: dict) -> dict:
    today = clock.today()
    created = plans.create_plan(
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
    )
    plan_id = created["id"]
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
    plans.issue(actor=coordinator, plan_id=plan_id)
    return plans.get_plan(actor=coordinator, plan_id=plan_id)["plan"]


def _draft_plan(plans, coordinator: dict, bakery: dict) -> dict:
    created = plans.create_plan(
        actor=coordinator,
        data={
            "employer_id": bakery["id"],
            "program_kind": "AEC",
            "program_code": "LCA.EJ",
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


def _amended_plan(plans, coordinator: dict, employer: dict, cisss: dict) -> dict:
    """Accepted 70 days ago; amended and accepted again (version 2, in force); a third
    version (another amendment) issued three days ago awaits acceptance."""
    now = clock.now()
    with clock.frozen_at(now - timedelta(days=80)):
        today = clock.today()
        created = plans.create_plan(
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
        )
        plan_id = created["id"]
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
        plans.issue(actor=coordinator, plan_id=plan_id)
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


def _issue_amendment(plans, coordinator, plan_id, summary, change, estimate) -> None:
    """A written amendment of the version in force: ``change`` gives the parts of the
    content to replace, from the current content."""
    plans.amend(actor=coordinator, plan_id=plan_id, data={"summary": summary})
    content = _jsonable(plans.get_plan(actor=coordinator, plan_id=plan_id)["content"])
    plans.update_draft(actor=coordinator, plan_id=plan_id, data=_jsonable(change(content)))
    plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=estimate)
    plans.issue(actor=coordinator, plan_id=plan_id)


def _declined_plan(plans, coordinator: dict, employer: dict, bakery: dict) -> dict:
    """Issued eight days ago to the Boulangerie Saint-Méthode, declined two days later."""
    now = clock.now()
    with clock.frozen_at(now - timedelta(days=8)):
        start = date(clock.today().year, 12, 15)
        if start < clock.today():
            start = date(clock.today().year + 1, 12, 15)
        plan_id = _bakery_offer(
            plans,
            coordinator,
            bakery,
            DECLINED_PROGRAM,
            "les boulangères et boulangers de production de nuit",
            [
                ("0B12", "Planifier la production quotidienne de la boulangerie", 6),
                ("0B13", "Contrôler la qualité et la salubrité des produits", 4),
            ],
            _candidates(
                [("Olivier Paradis", "Chef boulanger de nuit", 3, "in_person")],
                _monday_after(start, 0),
            ),
            _estimate_for(1, 8),
        )
    with clock.frozen_at(now - timedelta(days=6)):
        plans.decline(
            actor=employer, plan_id=plan_id, data={"version": 1, "reason": DECLINE_REASON}
        )
    return plans.get_plan(actor=coordinator, plan_id=plan_id)["plan"]


ANONYMISED_PROGRAM = ("LCA.EN", "Boulangerie de production")
# A candidate-worker of the issued plan who asked for her information (Loi 25).
ACCESS_REQUEST_EMAIL = CANDIDATES[0][2]


def _anonymised_plan(plans, coordinator: dict, employer: dict, bakery: dict) -> dict:
    """Offered to the Boulangerie Saint-Méthode 830 days ago and declined a week later: the
    retention rule (two years after the plan ended) has anonymised it since."""
    now = clock.now()
    with clock.frozen_at(now - timedelta(days=830)):
        plan_id = _bakery_offer(
            plans,
            coordinator,
            bakery,
            ANONYMISED_PROGRAM,
            "les boulangères et boulangers de jour",
            [("0B10", "Façonner des pains de tradition française", 6)],
            _candidates(
                [("Jacinthe Vachon", "Boulangère", 3, "in_person")],
                _monday_after(clock.today(), 30),
            ),
            _estimate_for(1, 6),
        )
    with clock.frozen_at(now - timedelta(days=823)):
        plans.decline(
            actor=employer,
            plan_id=plan_id,
            data={
                "version": 1,
                "reason": "Le projet est reporté : nous réorganisons nos quarts de travail.",
            },
        )
    run_retention(clock.today())
    return plans.get_plan(actor=coordinator, plan_id=plan_id)["plan"]


def _bakery_offer(
    plans, coordinator, bakery, program, target_jobs, competencies, candidates, estimate
) -> int:
    """An offer issued to the Boulangerie Saint-Méthode (at the caller's clock): competencies
    as (code, statement, weeks at 3 h), twice as fast at 6 h."""
    created = plans.create_plan(
        actor=coordinator,
        data={
            "employer_id": bakery["id"],
            "program_kind": "AEC",
            "program_code": program[0],
            "program_title": program[1],
            "target_jobs": target_jobs,
            "organisation_domain": "de la boulangerie artisanale et industrielle",
        },
    )
    plan_id = created["id"]
    plans.update_draft(
        actor=coordinator,
        plan_id=plan_id,
        data={
            "competencies": [
                {
                    "code": code,
                    "statement": statement,
                    "group": "",
                    "weeks_3h": weeks,
                    "weeks_6h": weeks // 2,
                }
                for code, statement, weeks in competencies
            ],
            "candidates": candidates,
        },
    )
    plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=estimate)
    plans.issue(actor=coordinator, plan_id=plan_id)
    return plan_id


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=str))
