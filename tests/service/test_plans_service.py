"""The plans service in a real nameko container over RabbitMQ, with the real billing service
(estimates: save, freeze, HTML) and the real gateway directory, each over its own migrated
SQLite database: building a plan by RPC, issuing it (billing freezes the estimate, the PDF
is rendered and stored, ``plan.issued`` leaves through the outbox), and the PDF itself."""

from __future__ import annotations

import base64
import io
import re
import subprocess
from datetime import date, datetime

import kombu
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from pypdf import PdfReader
from sqlalchemy import select, text

from gateway.demo import seed_accounts
from gateway.models import User
from gateway.service import GatewayService
from rac_shared import tasks as shared_tasks
from rac_shared.clock import MONTREAL, clock
from rac_shared.contracts.billing import Milestone, TaxTreatment
from rac_shared.contracts.plans import AnnexBCategory, Modality, StepKind
from rac_shared.errors import DomainError
from rac_shared.formatting import long_date
from rac_shared.outbox import event_exchange
from services.billing.service import BillingService
from services.plans.models import EstimateSnapshot, PlanVersion
from services.plans.service import PlansService
from tests.service.helpers import wait_until

ESTIMATE = {
    "lines": [
        {
            "category": "advisory",
            "description": "Services-conseils auprès de l'organisation",
            "quantity": "10",
            "unit": "heure",
            "unit_price": "95.00",
            "tax": "taxable",
        },
        {
            "category": "evaluation",
            "description": "Frais d'évaluation par candidat-travailleur",
            "quantity": "2",
            "unit": "candidat",
            "unit_price": "1450.00",
            "tax": "exempt",
        },
    ],
    "installments": [
        {
            "label": "À l'acceptation",
            "percent": "100",
            "amount": None,
            "due": {"kind": "milestone", "milestone": "acceptance", "offset_days": 0},
        }
    ],
    "payment_term_days": 30,
    "refund_conditions": "Remboursement au prorata.",
    "abandonment_fee": "0.00",
}
COMPETENCIES = [
    {
        "code": "018N",
        "statement": "Analyser la fonction de travail",
        "group": "REG A",
        "weeks_3h": 4,
        "weeks_6h": 2,
    },
    {
        "code": "018P",
        "statement": "Observer le comportement de l'enfant",
        "group": "REG A",
        "weeks_3h": 4,
        "weeks_6h": 2,
    },
    {
        "code": "018S",
        "statement": "Concevoir des activités de développement global",
        "group": "",
        "weeks_3h": 6,
        "weeks_6h": 3,
    },
]
CANDIDATES = [
    {
        "full_name": "Marie-Ève Gagnon",
        "job_title": "Éducatrice",
        "rhythm": 3,
        "email": "marie-eve.gagnon@exemple.quebec",
        "start_date": "2026-10-05",
        "modality": "in_person",
    },
    {
        "full_name": "Karine Lapointe",
        "job_title": "Aide-éducatrice",
        "rhythm": 6,
        "email": "karine.lapointe@exemple.quebec",
        "start_date": "2026-10-13",
        "modality": "online",
    },
]


def local(*args) -> datetime:
    return datetime(*args, tzinfo=MONTREAL)


def flat(text: str) -> str:
    """One line of text, non-breaking spaces as spaces, words cut at a hyphen rejoined."""
    text = re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u202f", " "))
    return re.sub(r"(\w)- (\w)", r"\1-\2", text)


@pytest.fixture
def platform(service_database, container_factory, rabbit_config):
    """Gateway (directory), billing and plans, each in its container with its database."""
    gateway_db = service_database("gateway")
    with gateway_db() as session, session.begin():
        organisations = seed_accounts(session)
        users = {u.email: u for u in session.scalars(select(User))}
        people = {
            email: {
                "user_id": u.id,
                "role": u.role,
                "organisation_id": u.organisation_id,
                "organisation_kind": u.organisation.kind,
                "full_name": u.full_name,
            }
            for email, u in users.items()
        }
    service_database("billing")
    plans_db = service_database("plans")
    for service in (GatewayService, BillingService, PlansService):
        container_factory(service, rabbit_config).start()
    return {"organisations": organisations, "people": people, "plans_db": plans_db}


@pytest.fixture
def plans(platform, rabbit_config):
    with ServiceRpcProxy("plans", rabbit_config) as proxy:
        yield proxy


def build_plan(plans, platform) -> tuple[dict, int]:
    coordinator = platform["people"]["rac@cegeplevis.demo.quebec"]
    created = plans.create_plan(
        actor=coordinator,
        data={
            "employer_id": platform["organisations"]["cisss"],
            "program_kind": "AEC",
            "program_code": "JEE.0K",
            "program_title": "Techniques d'éducation à l'enfance",
            "target_jobs": "le personnel éducateur",
        },
    )
    plans.update_draft(
        actor=coordinator,
        plan_id=created["id"],
        data={
            "competencies": COMPETENCIES,
            "candidates": CANDIDATES,
            "closure_dates": ["2026-12-24", "2026-12-31"],
            "aide_memoire": {
                "human_financial_resources": "Une spécialiste de contenu.",
                "safety_equipment": "Chaussures fermées.",
            },
        },
    )
    return coordinator, created["id"]


def accept_first_offer(plans, employer: dict, plan_id: int) -> None:
    """The employer's representative accepts version 1 online, as read."""
    view = plans.get_plan(actor=employer, plan_id=plan_id)
    plans.accept_online(
        actor=employer,
        plan_id=plan_id,
        data={
            "version": 1,
            "content_hash": view["version"]["content_hash"],
            "full_name": "Julie Morin",
            "title": "Directrice des ressources humaines",
            "statement": "J’accepte",
        },
        ip="198.51.100.4",
    )


def bind_events(rabbit_config) -> tuple[kombu.Connection, kombu.Queue]:
    connection = kombu.Connection(rabbit_config["AMQP_URI"])
    queue = kombu.Queue(
        "test-plans-events",
        exchange=event_exchange("plans"),
        routing_key="plan.#",
        auto_delete=True,
    )
    queue(connection.default_channel).declare()
    return connection, queue


def test_issue_freezes_billing_estimate_renders_and_publishes(
    plans, platform, rabbit_config, artefacts, tmp_path
):
    coordinator, plan_id = build_plan(plans, platform)
    connection, queue = bind_events(rabbit_config)
    with pytest.raises(DomainError) as error:  # no estimate yet
        plans.issue(actor=coordinator, plan_id=plan_id)
    assert "estimation des coûts" in error.value.message

    estimate = plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=ESTIMATE)
    assert estimate["status"] == "draft" and estimate["candidate_count"] == 2
    with clock.frozen_at(local(2026, 9, 1, 10, 0)):
        row = plans.issue(actor=coordinator, plan_id=plan_id)
    assert row["status"] == "issued" and row["awaiting_version"] == 1

    with platform["plans_db"]() as session:
        version = session.scalar(select(PlanVersion).where(PlanVersion.plan_id == plan_id))
        assert version.estimate["status"] == "frozen"
        assert version.issued_on.isoformat() == "2026-09-01"
        content_hash = version.content_hash

    # The relay published plan.issued, with the contract's fields.
    def received():
        message = queue(connection.default_channel).get(no_ack=True)
        return message and message.payload

    body = wait_until(received, timeout=20, message="plan.issued not published")
    connection.release()
    assert body["event_type"] == "plan.issued" and body["version"] == 2
    with platform["plans_db"]() as session:
        issued_hash = session.scalar(select(EstimateSnapshot.estimate_hash))
    assert body["payload"] == {
        "plan_id": plan_id,
        "version": 1,
        "reference": row["reference"],
        "institution_id": platform["organisations"]["levis"],
        "employer_id": platform["organisations"]["cisss"],
        "issued_on": "2026-09-01",
        "acceptance_deadline": "2026-10-02T03:59:59.999999Z",
        "content_hash": content_hash,
        # A first offer: it amends and replaces nothing.
        "amends_version": None,
        "amends_issued_on": None,
        "replaces_version": None,
        "change_summary": "",
        "estimate_hash": issued_hash,  # the snapshot issued, which billing freezes
    }

    # Billing froze the estimate when it consumed plan.issued, and refuses to change it.
    with ServiceRpcProxy("billing", rabbit_config) as billing:
        wait_until(
            lambda: (
                billing.get_estimate(actor=coordinator, plan_id=plan_id, version=1)["status"]
                == "frozen"
            ),
            timeout=20,
            message="billing did not freeze the issued estimate",
        )
    with pytest.raises(DomainError) as error:
        plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=ESTIMATE)
    assert error.value.code == "conflict"

    document = plans.get_pdf(actor=coordinator, plan_id=plan_id)
    pdf = base64.b64decode(document["content_b64"])
    assert pdf.startswith(b"%PDF") and document["filename"].endswith("-v1.pdf")
    # The same stored PDF for the plan.issued e-mail (notifications, service to service).
    delivered = plans.plan_pdf_for_delivery(plan_id=plan_id, version=1)
    assert base64.b64decode(delivered["content_base64"]) == pdf
    assert delivered["employer_id"] == platform["organisations"]["cisss"]
    with pytest.raises(DomainError) as error:
        plans.plan_pdf_for_delivery(plan_id=plan_id, version=2)
    assert error.value.code == "not_found"
    check_pdf(pdf, row["reference"])
    check_courtesy_translation(plans, coordinator, plan_id, row["reference"], tmp_path)
    path = tmp_path / "plan.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "3",
            str(path),
            str(artefacts / "plan-pdf-page"),
        ],
        check=True,
    )
    assert sorted(artefacts.glob("plan-pdf-page-*.png"))


# The contract's French labels a courtesy translation must not show (the platform's own
# words; the parties' typed text, in French, is reproduced as written).
FRENCH_LABELS = [
    *(kind.label for kind in StepKind),
    *(modality.label for modality in Modality),
    *(category.label for category in AnnexBCategory),
    *(treatment.label for treatment in TaxTreatment),
    *(milestone.label for milestone in Milestone),
    "Élaboration du plan", "Estimation des coûts", "Table des matières", "Annexe A",
    "Candidats-travailleurs (", "Durée approximative", "semaines", "Jours fériés",
]  # fmt: skip


def check_courtesy_translation(plans, actor: dict, plan_id: int, reference: str, tmp_path):
    """The English PDF: marked as a courtesy translation in French and in English, English
    headings, labels, dates and money, tagged PDF/UA in en-CA with a title and bookmarks."""
    document = plans.courtesy_translation(actor=actor, plan_id=plan_id, version=1)
    assert document["filename"] == f"{reference}-v1-traduction-courtoisie-en.pdf"
    pdf = base64.b64decode(document["content_b64"])
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-CA" and bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    assert reader.metadata.title == (
        f"Implementation plan {reference} — version 1 (courtesy translation)"
    )
    assert reader.outline[0]["/Title"] == "Implementation plan"
    pages = [flat(page.extract_text()) for page in reader.pages]
    text = " ".join(pages)
    assert "Traduction de courtoisie — seule la version française fait foi" in pages[0]
    assert "Courtesy translation — only the French version is authoritative" in pages[0]
    assert all("Traduction de courtoisie" in page for page in pages)  # every page's footer
    for heading in (
        "Table of contents",
        "Context",
        "Cost estimate",
        "Acceptance",
        "Annex A — General conditions",
        "Annex C — Confidentiality agreement",
    ):
        assert heading in text, heading  # fmt: skip
    assert "Date: September 1, 2026" in pages[0]
    assert "October 1, 2026 at 11:59 p.m." in text
    assert "$2,900.00" in text and "Advisory services" in text and "GST and QST" in text
    assert "on acceptance of the plan" in text and "Welcome meeting" in text
    leaked = [label for label in FRENCH_LABELS if label in text]
    assert leaked == [], leaked
    path = tmp_path / "plan-en.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert "Tagged:          yes" in info.stdout
    # The same access as the French PDF: a version that was not issued has neither.
    with pytest.raises(DomainError) as error:
        plans.courtesy_translation(actor=actor, plan_id=plan_id, version=2)
    assert error.value.code == "not_found"


def check_pdf(pdf: bytes, reference: str) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    pages = [flat(page.extract_text()) for page in reader.pages]
    text = " ".join(pages)
    # The parties, on the cover and in the running header of every other page.
    assert "Cégep de Lévis" in pages[0] and "CISSS de Chaudière-Appalaches" in pages[0]
    assert "PAR :" in pages[0] and "POUR :" in pages[0]
    assert "Date : 1er septembre 2026" in pages[0]
    for number, page in enumerate(pages[1:], start=2):
        assert "Cégep de Lévis — CISSS de Chaudière-Appalaches" in page, number
        assert f"Page {number} de {len(pages)}" in page, number
    # Every section of the template, and the table of contents with page numbers.
    for title in (
        "Table des matières",
        "Contexte de réalisation",
        "Expertise du Cégep de Lévis",
        "Expertise du CISSS de Chaudière-Appalaches",
        "Mise en place de la démarche – AEC JEE.0K (RAC)",
        "Objectifs",
        "Déroulement",
        "Durée approximative et calendriers",
        "Élaboration du plan de mise en œuvre",
        "Estimation des coûts",
        "Autres clauses (aide-mémoire)",
        "Acceptation",
        "Annexe A — Conditions générales de réalisation",
        "Annexe B — La marche à suivre",
        "Annexe C — Entente de confidentialité",
    ):
        assert title in text, title
    assert re.search(r"Contexte de réalisation \.+ ?\d+", pages[1])
    assert "Il ne peut, en aucun cas, utiliser la RAC en milieu de travail" in text
    assert "résolu de plein droit" in text
    assert "au plus tard le 1er octobre 2026 à 23 h 59" in text
    # The steps of the seed, evaluations per group of competencies.
    for step in (
        "Rencontre d’information",
        "Dépôt du dossier",
        "Entrevue de validation",
        "Rencontre d’accueil",
        "Évaluation — REG A (018N, 018P)",
        "Sanction",
    ):
        assert step in text, step
    # The durations table: the group's weeks summed, totals at both rhythms.
    assert "REG A (018N, 018P) 8 semaines 4 semaines" in text
    assert "Total 14 semaines 7 semaines" in text
    assert "Calendrier de Marie-Ève Gagnon (3 h / semaine, 14 semaines)" in text
    assert "Action de grâce" in text  # a holiday skipped in a calendar
    # Billing's estimate in French money; the aide-mémoire's evaluation fees.
    assert "1 450,00 $" in text and "2 900,00 $" in text and "950,00 $" in text
    assert "Frais d’évaluation par candidat-travailleur 1 450,00 $" in text
    # The annexes, copied from the template with the parties' names.
    assert "Propriété de la documentation" in text
    assert "Le CISSS de Chaudière-Appalaches fournira avec diligence" in text
    assert "Moyens d’accompagnement mis en place" in text
    assert "SEULEMENT à des fins d’évaluation en RAC" in text
    assert reference in text


def test_an_issued_version_cannot_be_edited_and_bad_input_is_refused(plans, platform):
    coordinator, plan_id = build_plan(plans, platform)
    for data, field in (
        ({"sections": {"context": "Total : {{ 7*7 }}"}}, "sections.context"),
        ({"sections": {"process": "<script>alert(1)</script>"}}, "sections.process"),
        ({"program": {"kind": "AEC", "code": "JEE-0K", "title": "x"}}, "program.code"),
        ({"candidates": [{**CANDIDATES[0], "rhythm": 4}]}, "candidates.0.rhythm"),
        ({"organisation_clause": "supprimée"}, "organisation_clause"),
    ):
        with pytest.raises(DomainError) as error:
            plans.update_draft(actor=coordinator, plan_id=plan_id, data=data)
        assert error.value.code == "invalid"
        assert field in error.value.details, error.value.details
    view = plans.get_plan(actor=coordinator, plan_id=plan_id)
    assert "{{" not in str(view["content"]) and "<script" not in str(view["content"])

    # Another institution's coordinator: the plan does not exist for them.
    other = platform["people"]["rac@cmv.demo.quebec"]
    with pytest.raises(DomainError) as error:
        plans.update_draft(actor=other, plan_id=plan_id, data={"closure_dates": []})
    assert error.value.code == "not_found"

    plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=ESTIMATE)
    # A candidate added after the estimate: the estimate must be saved again first.
    plans.add_candidate(
        actor=coordinator,
        plan_id=plan_id,
        candidate={**CANDIDATES[1], "full_name": "Nora Bédard", "email": "nora@exemple.quebec"},
    )
    with pytest.raises(DomainError) as error:
        plans.issue(actor=coordinator, plan_id=plan_id)
    assert "maintenant de 3" in error.value.message
    plans.save_estimate(
        actor=coordinator,
        plan_id=plan_id,
        estimate={
            **ESTIMATE,
            "lines": [ESTIMATE["lines"][0], {**ESTIMATE["lines"][1], "quantity": "3"}],
        },
    )
    plans.issue(actor=coordinator, plan_id=plan_id)
    with pytest.raises(DomainError) as error:
        plans.update_draft(actor=coordinator, plan_id=plan_id, data={"closure_dates": []})
    assert error.value.code == "conflict"
    assert "ne peut plus être modifiée" in error.value.message


def test_amendment_gets_a_revised_estimate_compared_with_the_accepted_one(plans, platform):
    coordinator, plan_id = build_plan(plans, platform)
    employer = platform["people"]["rh@cisss.demo.quebec"]
    plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=ESTIMATE)
    plans.issue(actor=coordinator, plan_id=plan_id)
    accept_first_offer(plans, employer, plan_id)
    plans.amend(actor=coordinator, plan_id=plan_id, data={"summary": "Dix heures de plus."})
    revised = plans.save_estimate(
        actor=coordinator,
        plan_id=plan_id,
        estimate={
            **ESTIMATE,
            "lines": [{**ESTIMATE["lines"][0], "quantity": "20"}, ESTIMATE["lines"][1]],
        },
    )
    assert revised["version"] == 2
    assert revised["difference_with_accepted"] is not None
    compared = plans.compare(actor=coordinator, plan_id=plan_id)
    assert compared["left"]["number"] == 1 and compared["right"]["number"] == 2
    assert compared["change_summary"] == "Dix heures de plus."
    plans.issue(actor=coordinator, plan_id=plan_id)
    # The employer reads the pending amendment by default, and both PDFs.
    assert plans.get_plan(actor=employer, plan_id=plan_id)["version"]["number"] == 2
    assert plans.get_pdf(actor=employer, plan_id=plan_id, version=1)["filename"].endswith("v1.pdf")
    # The amendment's PDF says which version it modifies, of what date, and what changes.
    amendment = plans.get_pdf(actor=employer, plan_id=plan_id, version=2)
    cover = flat(PdfReader(io.BytesIO(base64.b64decode(amendment["content_b64"]))).pages[0]
                 .extract_text())  # fmt: skip
    # The reply is the contract's JSON: its dates are ISO text.
    issued_on = date.fromisoformat(
        plans.get_plan(actor=employer, plan_id=plan_id, version=1)["version"]["issued_on"]
    )
    assert f"Modifie la version 1 du {long_date(issued_on)}" in cover
    assert "La version 1 demeure en vigueur jusqu’à l’acceptation de la présente modification" in (
        cover
    )
    assert "Résumé des changements : Dix heures de plus." in cover
    assert "elle sera résolue de plein droit et la version 1 demeurera en vigueur" in cover

    # The employer declines the amendment: it ends, version 1 stays in force.
    with pytest.raises(DomainError) as error:
        plans.decline(actor=coordinator, plan_id=plan_id, data={"version": 2, "reason": "Non!!"})
    assert error.value.code == "forbidden"
    with pytest.raises(DomainError) as error:
        plans.decline(actor=employer, plan_id=plan_id, data={"version": 2, "reason": ""})
    assert error.value.code == "invalid" and "reason" in error.value.details
    row = plans.decline(
        actor=employer,
        plan_id=plan_id,
        data={"version": 2, "reason": "Les dix heures ne sont pas prévues au budget."},
    )
    assert row["status"] == "accepted" and row["accepted_version"] == 1
    view = plans.get_plan(actor=employer, plan_id=plan_id, version=2)
    assert view["version"]["status"] == "declined"
    assert view["version"]["declined_by"] == employer["full_name"]
    assert view["version"]["decline_reason"] == "Les dix heures ne sont pas prévues au budget."


# -- issuing and previews in the background (services/plans/tasks.py) ---------------------------


def task_of(plans, actor: dict, plan_id: int, kind: str) -> dict | None:
    return next(
        (t for t in plans.plan_tasks(actor=actor, plan_id=plan_id) if t["kind"] == kind), None
    )


def finished(plans, actor: dict, plan_id: int, kind: str) -> dict:
    """The task once the service's worker is done with it (done or failed)."""
    return wait_until(
        lambda: (t := task_of(plans, actor, plan_id, kind)) and not t["pending"] and t,
        timeout=120,
        message=f"the {kind} task did not finish",
    )


def test_issuing_in_the_background_a_failing_render_is_retried_shown_failed_then_issued(
    plans, platform, monkeypatch
):
    from rac_shared.pdf import PdfRenderingError
    from services.plans import document
    from services.plans.models import PlanDocument, PlanTask

    coordinator, plan_id = build_plan(plans, platform)
    with pytest.raises(DomainError) as error:  # checked at once, as the form's refusal
        plans.request_issue(actor=coordinator, plan_id=plan_id)
    assert "estimation des coûts" in error.value.message
    assert task_of(plans, coordinator, plan_id, "issue") is None
    plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=ESTIMATE)

    renders, working = [], document.plan_html

    def broken(view, *args, **kwargs):  # the issue's document cannot be written (a crash)
        renders.append(view["version"]["number"])
        raise PdfRenderingError("le moteur de gabarits a cessé de répondre")

    monkeypatch.setattr(document, "plan_html", broken)
    monkeypatch.setattr(shared_tasks, "RETRY_SECONDS", 0)  # retried at once (back-off 5 s, 10 s)
    claim = shared_tasks.claim
    # The worker claims nothing while both clicks land (on a busy machine it could take the
    # task, fail it three times and leave it failed between them: the second click would
    # then rightly ask again).
    monkeypatch.setattr(shared_tasks, "claim", lambda session, model: None)
    asked = plans.request_issue(actor=coordinator, plan_id=plan_id)
    assert asked["pending"] and asked["version"] == 1 and asked["max_attempts"] == 3
    twice = plans.request_issue(actor=coordinator, plan_id=plan_id)  # a second click: same task
    assert twice["requested_at"] == asked["requested_at"]
    monkeypatch.setattr(shared_tasks, "claim", claim)

    failed = finished(plans, coordinator, plan_id, "issue")
    assert failed["failed"] and failed["status"] == "failed" and failed["status_label"] == "Échec"
    assert failed["attempts"] == 3 and renders == [1, 1, 1]  # retried, then given up
    assert "a empêché l'émission après 3 essais" in failed["message"]
    view = plans.get_plan(actor=coordinator, plan_id=plan_id)
    assert view["plan"]["status"] == "draft" and view["version"]["status"] == "draft"
    assert [t["kind"] for t in view["tasks"]] == ["issue"]  # the plan page shows it
    with platform["plans_db"]() as session:
        assert session.scalars(select(PlanDocument)).all() == []
        assert session.scalar(select(PlanTask.actor))["user_id"] == coordinator["user_id"]

    # « Réessayer l'émission », the renderer back: issued once, by the worker.
    monkeypatch.setattr(document, "plan_html", working)
    again = plans.request_issue(actor=coordinator, plan_id=plan_id)
    assert again["pending"] and again["attempts"] == 0 and not again["failed"]
    done = finished(plans, coordinator, plan_id, "issue")
    assert done["ready"] and done["message"] == "La version 1 est émise.", done
    view = plans.get_plan(actor=coordinator, plan_id=plan_id)
    assert view["plan"]["status"] == "issued" and view["version"]["content_hash"]
    # Its PDF, rendered after the issue (in the background, or now by this first read).
    pdf = plans.get_pdf(actor=coordinator, plan_id=plan_id)
    assert base64.b64decode(pdf["content_b64"]).startswith(b"%PDF-")
    with platform["plans_db"]() as session:
        pdfs = session.scalars(select(PlanDocument)).all()
        assert [d.kind for d in pdfs] == ["plan_pdf"] and pdfs[0].content.startswith(b"%PDF-")
        outbox = session.execute(
            text("SELECT count(*) FROM outbox WHERE event_type = 'plan.issued'")
        )
        assert outbox.scalar() == 1
    employer = platform["people"]["rh@cisss.demo.quebec"]
    assert plans.get_plan(actor=employer, plan_id=plan_id)["tasks"] == []  # the institution's
    with pytest.raises(DomainError) as error:  # issued: nothing left to issue
        plans.request_issue(actor=coordinator, plan_id=plan_id)
    assert error.value.code == "conflict"


def test_a_preview_is_rendered_in_the_background_and_says_when_the_draft_changed(plans, platform):
    coordinator, plan_id = build_plan(plans, platform)
    with pytest.raises(DomainError) as error:
        plans.preview_file(actor=coordinator, plan_id=plan_id)
    assert error.value.code == "not_found" and "demandez-le" in error.value.message
    asked = plans.request_preview(actor=coordinator, plan_id=plan_id)
    assert asked["pending"] and asked["kind"] == "preview"
    done = finished(plans, coordinator, plan_id, "preview")
    assert done["ready"] and done["current"]
    preview = plans.preview_file(actor=coordinator, plan_id=plan_id)
    assert preview["filename"].endswith("-v1-projet.pdf")
    text_of = flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(
        base64.b64decode(preview["content_b64"]))).pages))  # fmt: skip
    assert (
        "Contexte de réalisation" in text_of and "Annexe C — Entente de confidentialité" in text_of
    )
    plans.update_draft(actor=coordinator, plan_id=plan_id, data={"closure_dates": []})
    assert task_of(plans, coordinator, plan_id, "preview")["current"] is False
    employer = platform["people"]["rh@cisss.demo.quebec"]
    with pytest.raises(DomainError):
        plans.preview_file(actor=employer, plan_id=plan_id)


@pytest.fixture(scope="module")
def postgres_plans():
    """A fresh PostgreSQL database migrated with the plans service's schema."""
    from sqlalchemy import create_engine, pool
    from sqlalchemy.orm import sessionmaker

    from tests.support.postgres import fresh_database

    with fresh_database("plans", "rac_tplan_") as url:
        engine = create_engine(url, poolclass=pool.NullPool)
        try:
            yield sessionmaker(bind=engine, expire_on_commit=False)
        finally:
            engine.dispose()


def test_two_workers_claim_a_task_once_on_postgresql(postgres_plans):
    """Two replicas' workers: the one that claims a task holds it (SKIP LOCKED, then the
    lease); the other finds nothing to do, until the lease runs out (a replica killed
    mid-render); then the late first worker can neither finish nor fail it."""
    from datetime import timedelta

    from services.plans import tasks
    from services.plans.models import Plan, PlanTask

    start = local(2026, 9, 1, 10, 0)
    with clock.frozen_at(start):
        with postgres_plans() as session, session.begin():
            plan = Plan(reference="PMO-TST-2026-001", institution_id=1, institution_kind="cegep",
                        institution_code="TST", employer_name="Employeur", program_code="JEE.0K",
                        program_title="Programme", created_by_user_id=1, created_at=start,
                        updated_at=start)  # fmt: skip
            session.add(plan)
            session.flush()
            session.add(PlanTask(plan_id=plan.id, kind="issue", version=1, draft_hash="0" * 64,
                                 actor={}, status="queued", attempts=0, next_attempt_at=start,
                                 requested_at=start))  # fmt: skip
        first, second = postgres_plans(), postgres_plans()
        try:
            taken = tasks.claim(first)  # not committed yet: the row is locked
            assert taken is not None and taken.attempts == 1
            assert tasks.claim(second) is None  # skipped, not waited for
            second.rollback()
            claimed_at = taken.started_at
            first.commit()
            assert tasks.claim(second) is None  # running, under its lease
            second.rollback()
        finally:
            first.close()
            second.close()
    with clock.frozen_at(start + timedelta(seconds=tasks.LEASE_SECONDS + 1)):
        with postgres_plans() as session, session.begin():
            retaken = tasks.claim(session)  # the first replica died mid-render
            assert retaken is not None and retaken.attempts == 2
            again_at = retaken.started_at
        with postgres_plans() as session, session.begin():
            assert tasks.claim(session) is None
            assert tasks.finish(session, retaken.id, claimed_at) is False  # too late
            tasks.fail(session, retaken.id, claimed_at, RuntimeError("late"))
        with postgres_plans() as session, session.begin():
            assert session.get(PlanTask, retaken.id).status == "running"
            assert tasks.finish(session, retaken.id, again_at, b"%PDF-") is True
        with postgres_plans() as session, session.begin():
            task = session.get(PlanTask, retaken.id)
            assert (task.status, task.attempts, task.error) == ("done", 2, None)


def test_preview_of_an_unchanged_draft_is_rendered_once(plans, platform):
    """The draft's preview is cached by the hash of its content: asked again unchanged, the
    same PDF without a render; once the draft changes, a new render."""
    from services.plans.document import previews

    coordinator, plan_id = build_plan(plans, platform)
    previews.clear()
    hits, misses = previews.hits, previews.misses
    first = plans.preview_pdf(actor=coordinator, plan_id=plan_id)
    again = plans.preview_pdf(actor=coordinator, plan_id=plan_id)
    assert (previews.hits - hits, previews.misses - misses) == (1, 1)
    assert again["content_b64"] == first["content_b64"]
    assert base64.b64decode(again["content_b64"]).startswith(b"%PDF")

    plans.update_draft(actor=coordinator, plan_id=plan_id, data={"closure_dates": ["2026-12-24"]})
    changed = plans.preview_pdf(actor=coordinator, plan_id=plan_id)
    assert (previews.hits - hits, previews.misses - misses) == (1, 2)
    assert changed["content_b64"] != first["content_b64"]
