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
from rac_shared.manifest import demo_actor
from rac_shared.outbox import recorded_events
from services.plans.models import CANCELLED, DECLINED, DRAFT, Base, Plan, PlanTask, PrivacyRecord
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


def _monday_after(day: date, days: int) -> date:
    target = day + timedelta(days=days)
    return target + timedelta(days=(7 - target.weekday()) % 7)


def _state(sessions, code: str) -> dict | None:
    """Where the demo plan of program ``code`` stands (None: not made yet), read from this
    service's own tables: each stage below runs only if it is not done, so a demo stopped
    anywhere completes when run again and makes nothing twice."""
    with sessions.transaction() as session:
        plan = session.scalar(select(Plan).where(Plan.program_code == code))
        if plan is None:
            return None
        content = plan.current.content or {}
        return {
            "id": plan.id,
            "status": plan.status,
            "version": plan.current_version,
            "version_issued": plan.current.status != DRAFT,
            "accepted": plan.accepted_version or 0,
            "competencies": len(content.get("competencies", [])),
            "steps": {c.id: c.step for c in plan.candidates},
            "results": sum(len(c.results) for c in plan.candidates),
            "abandoned": any(c.abandoned_on for c in plan.candidates),
            "anonymised": plan.anonymised_on is not None,
            "previewed": session.scalar(
                select(PlanTask.id).where(
                    PlanTask.plan_id == plan.id,
                    PlanTask.kind == "preview",
                    PlanTask.status == "done",
                )
            )
            is not None,
            "exported": session.scalar(
                select(PrivacyRecord.id).where(
                    PrivacyRecord.kind == "exported", PrivacyRecord.subject == ACCESS_REQUEST_EMAIL
                )
            )
            is not None,
        }


def _issued(state: dict | None) -> bool:
    """Its first version is issued (a draft a stopped demo left is completed, not made
    again: the builders take its id)."""
    return state is not None and (state["version"] > 1 or state["version_issued"])


def _run(stages, sessions, code: str) -> bool:
    """The plan's ``stages`` — (done?, do) pairs, in order — from where it stands; True if
    any had to run."""
    ran = False
    for done, do in stages:
        state = _state(sessions, code)
        if not done(state):
            do(state["id"] if state else None)
            ran = True
    return ran


def seed_plans(context) -> tuple[str, dict]:
    """``rac demo``'s step: six plans of the Cégep de Lévis through the plans service's own
    RPC methods (billing's estimate RPCs and the directory answered by their services'
    entrypoints, ``context.client``), each in stages that run only when not done yet.
    Forwards the plans' ids by program code (``plan_ids``), the cancelled plan's id
    (``cancelled_plan_id``) and this service's events (``events``), which billing applies
    as its handlers would and the audit trail chains."""
    directory = context.forwarded["directory"]
    organisations, people = directory["organisations"], directory["people"]
    sessions = SessionFactory("plans", Base.metadata)
    levis, cisss, bakery = organisations["CLV"], organisations["CCA"], organisations["BSM"]
    coordinator = demo_actor(people["rac@cegeplevis.demo.quebec"], levis)
    cisss_representative = demo_actor(people["rh@cisss.demo.quebec"], cisss)
    bakery_representative = demo_actor(people["direction@boulangerie.demo.quebec"], bakery)
    plans = context.client("plans")
    # Each plan: its program code, its stages, and what the operator is told once made.
    demo_plans = [
        (
            PROGRAM_CODE,
            [(_issued, lambda plan_id: _issued_plan(plans, coordinator, cisss, plan_id))],
            lambda row: (
                f"{row['reference']} émis au CISSS de Chaudière-Appalaches (acceptation "
                f"au plus tard le {when(row['acceptance_deadline'])})"
            ),
        ),
        (
            DRAFT_PROGRAM,
            _draft_stages(plans, coordinator, bakery),
            lambda row: f"{row['reference']} en préparation, avec son aperçu PDF",
        ),
        (
            AMENDED_PROGRAM[0],
            _amended_stages(plans, coordinator, cisss_representative, cisss),
            lambda row: (
                f"{row['reference']} accepté puis modifié : la version 2 est en "
                "vigueur, la version 3 attend l'acceptation du CISSS de Chaudière-Appalaches; le "
                "suivi des trois candidats-travailleurs a commencé (le CISSS n'en voit que des "
                "nombres, « moins de 5 »)"
            ),
        ),
        (
            DECLINED_PROGRAM[0],
            _declined_stages(plans, coordinator, bakery_representative, bakery),
            lambda row: (
                f"{row['reference']} refusé par la Boulangerie Saint-Méthode inc., avec son motif"
            ),
        ),
        (
            ANONYMISED_PROGRAM[0],
            _anonymised_stages(plans, coordinator, bakery_representative, bakery),
            lambda row: (
                f"{row['reference']} refusé il y a plus de deux ans, dont la personne "
                "candidate a été anonymisée par la règle de conservation; une demande d'accès "
                f"exportée ({ACCESS_REQUEST_EMAIL}) au registre des renseignements personnels"
            ),
        ),
        (
            CANCELLED_PROGRAM[0],
            _cancelled_stages(plans, coordinator, cisss_representative, cisss),
            lambda row: (
                f"{row['reference']} accepté par le CISSS de Chaudière-Appalaches, une "
                "candidate-travailleuse ayant abandonné la démarche, puis annulé par le CISSS"
            ),
        ),
    ]
    lines = [
        told(_row(plans, coordinator, sessions, code))
        for code, stages, told in demo_plans
        if _run(stages, sessions, code)
    ]
    with sessions.transaction() as session:
        plan_ids = dict(session.execute(select(Plan.program_code, Plan.id)).all())
        events = recorded_events(session)
    forwarded = {
        "plan_ids": plan_ids,
        "cancelled_plan_id": plan_ids[CANCELLED_PROGRAM[0]],
        "events": events,
    }
    if not lines:
        return "Plans de mise en œuvre : déjà présents.", forwarded
    return "Plans de mise en œuvre : " + "; ".join(lines) + ".", forwarded


def _row(plans, coordinator: dict, sessions, code: str) -> dict:
    return plans.get_plan(actor=coordinator, plan_id=_state(sessions, code)["id"])["plan"]


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


def _draft_stages(plans, coordinator: dict, bakery: dict) -> list:
    """A plan in preparation for the Boulangerie Saint-Méthode: made, one competency in."""

    def create(_):
        plans.create_plan(
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

    def competency(plan_id: int):
        plans.add_competency(
            actor=coordinator,
            plan_id=plan_id,
            competency={
                "code": "0A1B",
                "statement": "Planifier le travail d'une équipe de production",
                "group": "",
                "weeks_3h": 6,
                "weeks_6h": 3,
            },
        )

    def preview(plan_id: int):
        # Its preview, asked for as the plan page does and rendered by the service's worker
        # (run here: the services are not up yet), so the page shows the link to the PDF.
        plans.request_preview(actor=coordinator, plan_id=plan_id)
        plans.run_tasks()

    return [
        (lambda s: s is not None, create),
        (lambda s: s["competencies"] > 0, competency),
        (lambda s: s["previewed"], preview),
    ]


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


def _amended_stages(plans, coordinator: dict, employer: dict, cisss: dict) -> list:
    """Accepted 70 days ago; amended and accepted again (version 2, in force); a third
    version (another amendment) issued three days ago awaits acceptance."""
    now = clock.now()

    def first_version(plan_id: int | None):
        with clock.frozen_at(now - timedelta(days=80)):
            _first_version_issued(
                plans,
                coordinator,
                plan_id,
                {
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
                AMENDED_COMPETENCIES,
                _candidates(AMENDED_CANDIDATES, _monday_after(clock.today(), 21)),
                _estimate_for(2, 10),
            )

    def accepted_on(days_ago: int):
        def accept(plan_id: int):
            with clock.frozen_at(now - timedelta(days=days_ago)):
                _accept(plans, employer, plan_id, "Directrice des ressources humaines")

        return accept

    def nadia_added(plan_id: int):
        with clock.frozen_at(now - timedelta(days=20)):
            nadia = _candidates(
                [("Nadia Côté", "Agente administrative, accueil et admission", 3, "in_person")],
                _monday_after(clock.today(), 14),
            )
            _issue_amendment(
                plans,
                coordinator,
                plan_id,
                2,
                "Ajout d'une candidate-travailleuse, Nadia Côté (accueil et admission); six "
                "heures de services-conseils de plus pour le démarchage.",
                lambda content: {"candidates": content["candidates"] + nadia},
                _estimate_for(3, 16),
            )

    def follow_up(plan_id: int):
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

    def steve_moved(plan_id: int):
        with clock.frozen_at(now - timedelta(days=3)):
            _issue_amendment(
                plans,
                coordinator,
                plan_id,
                3,
                "Évaluations de Steve Lessard déplacées d'un mois (congé parental); fermeture du "
                "26 décembre ajoutée.",
                steve_a_month_later,
                _estimate_for(3, 16),
            )

    return [
        (_issued, first_version),
        (lambda s: s["accepted"] >= 1, accepted_on(70)),
        (lambda s: _version_issued(s, 2), nadia_added),
        (lambda s: s["accepted"] >= 2, accepted_on(14)),
        (lambda s: s["results"] > 0, follow_up),
        (lambda s: _version_issued(s, 3), steve_moved),
    ]


def _first_version_issued(
    plans, coordinator: dict, plan_id: int | None, plan: dict, competencies, candidates, estimate
) -> None:
    """The plan made (unless ``plan_id``: the draft a stopped demo left, completed), its
    competencies — (code, statement, group, weeks at 3 h, at 6 h) — and candidate-workers
    filled in, its estimate saved, and its first version issued, at the clock's time."""
    plan_id = plan_id or plans.create_plan(actor=coordinator, data=plan)["id"]
    plans.update_draft(
        actor=coordinator,
        plan_id=plan_id,
        data={
            "competencies": [
                {"code": c, "statement": st, "group": g, "weeks_3h": w3, "weeks_6h": w6}
                for c, st, g, w3, w6 in competencies
            ],
            "candidates": candidates,
        },
    )
    plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=estimate)
    _issue(plans, coordinator, plan_id)


def _version_issued(state: dict, number: int) -> bool:
    return state["version"] > number or (state["version"] == number and state["version_issued"])


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


def _issue_amendment(plans, coordinator, plan_id, number, summary, change, estimate) -> None:
    """Version ``number``, a written amendment of the version before it (the one in force):
    ``change`` gives the parts of that version's content to replace. A draft a stopped demo
    left is completed, from the same content, so nothing is applied twice."""
    if plans.get_plan(actor=coordinator, plan_id=plan_id)["plan"]["current_version"] < number:
        plans.amend(actor=coordinator, plan_id=plan_id, data={"summary": summary})
    in_force = plans.get_plan(actor=coordinator, plan_id=plan_id, version=number - 1)
    content = _jsonable(in_force["content"])
    plans.update_draft(actor=coordinator, plan_id=plan_id, data=_jsonable(change(content)))
    plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=estimate)
    _issue(plans, coordinator, plan_id)


def _declined_stages(plans, coordinator: dict, employer: dict, bakery: dict) -> list:
    """Issued eight days ago to the Boulangerie Saint-Méthode, declined two days later."""
    return _offer_declined_stages(
        plans, coordinator, employer, bakery,
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


def _next_december_15() -> date:
    start = date(clock.today().year, 12, 15)
    return start if start >= clock.today() else date(clock.today().year + 1, 12, 15)


ANONYMISED_PROGRAM = ("LCA.EN", "Boulangerie de production")
# A candidate-worker of the issued plan who asked for her information (Loi 25).
ACCESS_REQUEST_EMAIL = CANDIDATES[0][2]


def _anonymised_stages(plans, coordinator: dict, employer: dict, bakery: dict) -> list:
    """Offered to the Boulangerie Saint-Méthode 830 days ago and declined a week later: the
    retention rule (two years after the plan ended) has anonymised it since; then an access
    request of a candidate-worker of the issued plan, exported."""
    offer_declined = _offer_declined_stages(
        plans, coordinator, employer, bakery,
        issued_days_ago=830, declined_days_ago=823, program=ANONYMISED_PROGRAM,
        target_jobs="les boulangères et boulangers de jour",
        competencies=[("0B10", "Façonner des pains de tradition française", 6, 3)],
        candidate=("Jacinthe Vachon", "Boulangère", 3, "in_person"),
        first_monday=lambda: _monday_after(clock.today(), 30),
        estimate=(1, 6),
        reason="Le projet est reporté : nous réorganisons nos quarts de travail.",
    )  # fmt: skip

    def exported(_):
        plans.export_personal_information(actor=coordinator, data={"email": ACCESS_REQUEST_EMAIL})

    return [
        *offer_declined,
        (lambda s: s["anonymised"], lambda _: run_retention(clock.today(), plans.sessions)),
        (lambda s: s["exported"], exported),
    ]


def _offer_declined_stages(
    plans, coordinator, employer, bakery, *, issued_days_ago: int,
    declined_days_ago: int, program, target_jobs: str, competencies, candidate,
    first_monday, estimate, reason: str,
) -> list:  # fmt: skip
    """A one-candidate plan the institution issued to the bakery ``issued_days_ago`` and the
    bakery declined ``declined_days_ago``. ``first_monday`` is called on the day of the
    issue."""
    now = clock.now()

    def offered(plan_id: int | None):
        with clock.frozen_at(now - timedelta(days=issued_days_ago)):
            _first_version_issued(
                plans,
                coordinator,
                plan_id,
                {
                    "employer_id": bakery["id"],
                    "program_kind": "AEC",
                    "program_code": program[0],
                    "program_title": program[1],
                    "target_jobs": target_jobs,
                    "organisation_domain": "de la boulangerie artisanale et industrielle",
                },
                [(code, statement, "", w3, w6) for code, statement, w3, w6 in competencies],
                _candidates([candidate], first_monday()),
                _estimate_for(*estimate),
            )

    def declined(plan_id: int):
        with clock.frozen_at(now - timedelta(days=declined_days_ago)):
            plans.decline(actor=employer, plan_id=plan_id, data={"version": 1, "reason": reason})

    return [(_issued, offered), (lambda s: s["status"] == DECLINED, declined)]


# -- a plan accepted, one candidate-worker abandoned, then cancelled by the employer ------------

CANCELLED_PROGRAM = ("LCE.4P", "Soutien à domicile en milieu de santé")
CANCELLED_CANDIDATES = [
    ("Josée Bilodeau", "Auxiliaire aux services de santé et sociaux", 3, "in_person"),
    ("Marc-André Turcotte", "Auxiliaire aux services de santé et sociaux", 3, "in_person"),
    ("Nadia Fortin", "Agente de soutien à domicile", 6, "online"),
]
CANCELLED_COMPETENCIES = [
    ("0ZB1", "Analyser la situation de la personne à domicile", "REG A", 2, 1),
    ("0ZB2", "Planifier les soins et services à domicile", "REG A", 4, 2),
    ("0ZB3", "Assurer la sécurité de la personne et de son milieu", "", 4, 2),
    ("0ZB4", "Collaborer avec l'équipe interdisciplinaire", "", 2, 1),
]
CANCEL_REASON = "Réorganisation du soutien à domicile : le projet est reporté"


def _cancelled_stages(plans, coordinator: dict, employer: dict, cisss: dict) -> list:
    """Issued to the CISSS 110 days ago and accepted 90 days ago; the three
    candidate-workers at the welcome meeting 50 days ago (the milestone billing invoices);
    Nadia Fortin, half of her competencies assessed, abandons 30 days ago; the CISSS cancels
    the plan 10 days ago (billing then records the costs incurred)."""
    now = clock.now()

    def issued(plan_id: int | None):
        with clock.frozen_at(now - timedelta(days=110)):
            _first_version_issued(
                plans,
                coordinator,
                plan_id,
                {
                    "employer_id": cisss["id"],
                    "employer_service": "Direction du soutien à l'autonomie des personnes âgées",
                    "program_kind": "AEC",
                    "program_code": CANCELLED_PROGRAM[0],
                    "program_title": CANCELLED_PROGRAM[1],
                    "target_jobs": "le personnel du soutien à domicile",
                    "organisation_domain": "de la santé et des services sociaux",
                },
                CANCELLED_COMPETENCIES,
                _candidates(CANCELLED_CANDIDATES, _monday_after(clock.today(), 35)),
                _estimate_for(3, 14),
            )

    def accepted(plan_id: int):
        with clock.frozen_at(now - timedelta(days=90)):
            _accept(plans, employer, plan_id, "Directrice des ressources humaines")

    def ids(plan_id: int) -> dict[str, int]:
        progress = plans.get_progress(actor=coordinator, plan_id=plan_id)
        return {c["full_name"]: c["id"] for c in progress["candidates"]}

    def welcomed(plan_id: int):
        with clock.frozen_at(now - timedelta(days=50)):
            for candidate_id in ids(plan_id).values():
                plans.set_candidate_step(
                    actor=coordinator,
                    plan_id=plan_id,
                    candidate_id=candidate_id,
                    data={"step": "welcome_meeting"},
                )

    def assessed(plan_id: int):
        with clock.frozen_at(now - timedelta(days=35)):
            nadia = ids(plan_id)["Nadia Fortin"]
            for code in ("0ZB1", "0ZB2"):
                plans.set_competency_result(
                    actor=coordinator,
                    plan_id=plan_id,
                    candidate_id=nadia,
                    data={"competency_code": code, "result": "reconnue"},
                )

    def abandoned(plan_id: int):
        with clock.frozen_at(now - timedelta(days=30)):
            plans.abandon_candidate(
                actor=coordinator,
                plan_id=plan_id,
                candidate_id=ids(plan_id)["Nadia Fortin"],
                data={"abandoned_on": clock.today().isoformat()},
            )

    def cancelled(plan_id: int):
        with clock.frozen_at(now - timedelta(days=10)):
            plans.cancel(actor=employer, plan_id=plan_id, data={"reason": CANCEL_REASON})

    return [
        (_issued, issued),
        (lambda s: s["accepted"] >= 1, accepted),
        (lambda s: s["steps"] and "not_started" not in s["steps"].values(), welcomed),
        (lambda s: s["results"] >= 2, assessed),
        (lambda s: s["abandoned"], abandoned),
        (lambda s: s["status"] == CANCELLED, cancelled),
    ]


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=str))
