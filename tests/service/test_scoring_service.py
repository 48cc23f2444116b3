"""The scoring service's event handler and RPCs, one nameko worker per call
(``worker_factory``) over a migrated SQLite database; then the service in a real container
over RabbitMQ. Only the other services are replaced: the applications service answers
``grid_of_call`` and the gateway's directory answers ``get_organisation``, ``get_user`` and
``users_of_organisation`` as the real ones do."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, date, datetime

import eventlet
import kombu
import pytest
from nameko.testing.services import replace_dependencies, worker_factory
from pypdf import PdfReader
from sqlalchemy import func, select

from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.errors import DomainError
from rac_shared.events import ApplicationAdmissibilityDecided, Envelope
from rac_shared.rpc import ServiceTimeout
from rac_shared.settings import reset_settings_cache
from services.applications.demo import CRITERIA_2012
from services.scoring.models import (
    Assignment,
    Base,
    Cerac,
    Committee,
    Evaluation,
    LogEntry,
    Score,
)
from services.scoring.service import ScoringService
from tests.service.helpers import publish_envelope, wait_until

MINISTRY = 1
ADMIN = Actor(
    user_id=1,
    role=Role.MINISTRY_ADMIN,
    organisation_id=MINISTRY,
    organisation_kind=OrganisationKind.MINISTRY,
    full_name="Hélène Tremblay",
)
ANALYST = Actor(
    user_id=2,
    role=Role.MINISTRY_ANALYST,
    organisation_id=MINISTRY,
    organisation_kind=OrganisationKind.MINISTRY,
    full_name="François Côté",
)
EVALUATOR = Actor(
    user_id=3,
    role=Role.MINISTRY_EVALUATOR,
    organisation_id=MINISTRY,
    organisation_kind=OrganisationKind.MINISTRY,
    full_name="Geneviève Lévesque",
)
EVALUATOR_2 = Actor(
    user_id=4,
    role=Role.MINISTRY_EVALUATOR,
    organisation_id=MINISTRY,
    organisation_kind=OrganisationKind.MINISTRY,
    full_name="Paul-Émile Caron",
)
LEVIS_DG = Actor(
    user_id=10,
    role=Role.DIRECTOR_GENERAL,
    organisation_id=20,
    organisation_kind=OrganisationKind.CEGEP,
    full_name="Isabelle Bégin",
)
CMV_DG = Actor(
    user_id=11,
    role=Role.DIRECTOR_GENERAL,
    organisation_id=21,
    organisation_kind=OrganisationKind.CEGEP,
    full_name="Nathalie Ouellet",
)
EMPLOYER = Actor(
    user_id=12,
    role=Role.EMPLOYER_REPRESENTATIVE,
    organisation_id=40,
    organisation_kind=OrganisationKind.EMPLOYER,
    full_name="Julie Morin",
)

ORGANISATIONS = {
    20: {"id": 20, "kind": "cegep", "name": "Cégep de Lévis", "education_order": "collégial"},
    21: {"id": 21, "kind": "cegep", "name": "Cégep Marie-Victorin", "education_order": None},
    22: {"id": 22, "kind": "cegep", "name": "Cégep de Rimouski", "education_order": "collégial"},
    23: {"id": 23, "kind": "cegep", "name": "Cégep de Sherbrooke", "education_order": "collégial"},
    30: {
        "id": 30,
        "kind": "school_service_centre",
        "name": "Centre de services scolaire des Navigateurs",
        "education_order": "secondaire",
    },
}
USERS = {
    2: {"id": 2, "email": "analyste@mes.qc", "full_name": "François Côté",
        "role": "ministry_analyst", "organisation_id": 1, "active": True},
    3: {"id": 3, "email": "evaluatrice@mes.qc", "full_name": "Geneviève Lévesque",
        "role": "ministry_evaluator", "organisation_id": 1, "active": True},
    4: {"id": 4, "email": "evaluateur@mes.qc", "full_name": "Paul-Émile Caron",
        "role": "ministry_evaluator", "organisation_id": 1, "active": True},
    5: {"id": 5, "email": "evaluateur@levis.qc", "full_name": "Martin Gravel",
        "role": "ministry_evaluator", "organisation_id": 20, "organisation_name": "Cégep de Lévis",
        "active": True},
    6: {"id": 6, "email": "evaluatrice@navigateurs.qc", "full_name": "Julie Fournier",
        "role": "ministry_evaluator", "organisation_id": 30,
        "organisation_name": "Centre de services scolaire des Navigateurs", "active": True},
    10: {"id": 10, "email": "dg@levis.qc", "full_name": "Isabelle Bégin",
         "role": "director_general", "organisation_id": 20, "active": True,
         "title": "Directrice générale", "form_of_address": "Madame"},
}  # fmt: skip
CALL_ID = 7
GRID = {
    "call_id": CALL_ID,
    "title": "Appel d'intérêt 2012-2013 — CERAC",
    "education_orders": ["secondaire", "collégial"],
    "experimentation_years": ["2013-2014", "2014-2015"],
    "criteria": [
        {"id": 101 + i, "group": g, "label": label, "weight": w, "threshold": t}
        for i, (g, label, w, t) in enumerate(CRITERIA_2012)
    ],
}
CRITERIA = [c["id"] for c in GRID["criteria"]]
# A sheet every criterion of which passes (total 75) and one that fails « pratiques » (6/10).
GOOD = ["15", "11", "11", "8", "15", "15"]


def as_json(value):
    return json.loads(json.dumps(value))


@pytest.fixture
def sessions(service_database):
    return service_database("scoring")


class Rpc:
    """Calls the service, one worker and one session per call, as nameko does."""

    def __init__(self, sessions):
        self.sessions = sessions
        self.grid_calls: list[int] = []
        self.directory_calls: list[int] = []
        self.grid_delay = 0.0

    def _service(self, session):
        service = worker_factory(ScoringService, db=session)
        service.applications.grid_of_call.side_effect = self._grid
        service.gateway.get_organisation.side_effect = self._organisation
        service.gateway.get_user.side_effect = self._user
        service.gateway.users_of_organisation.side_effect = lambda organisation_id, roles: [
            u
            for u in USERS.values()
            if u["organisation_id"] == organisation_id and u["role"] in roles
        ]
        service.gateway.users_with_roles.side_effect = lambda roles: [
            u for u in USERS.values() if u["role"] in roles
        ]
        return service

    def _grid(self, call_id):
        self.grid_calls.append(call_id)
        if self.grid_delay:
            eventlet.sleep(self.grid_delay)
        return GRID if call_id == CALL_ID else {**GRID, "call_id": call_id}

    def _organisation(self, organisation_id):
        self.directory_calls.append(organisation_id)
        if organisation_id not in ORGANISATIONS:
            raise DomainError("Organisation introuvable.", code="not_found")
        return ORGANISATIONS[organisation_id]

    def _user(self, user_id):
        if user_id not in USERS:
            raise DomainError("Utilisateur introuvable.", code="not_found")
        return USERS[user_id]

    def __call__(self, actor, method: str, **kwargs):
        with self.sessions() as session:
            service = self._service(session)
            args = {"actor": actor.model_dump(mode="json")} if actor is not None else {}
            return as_json(getattr(service, method)(**args, **kwargs))

    def deliver(self, envelope: Envelope) -> None:
        with self.sessions() as session:
            self._service(session).on_admissibility_decided(envelope.model_dump(mode="json"))


@pytest.fixture
def rpc(sessions):
    return Rpc(sessions)


def admissible(
    application_id: int, organisation_id: int, admissible: bool = True, call_id: int = CALL_ID
) -> Envelope:
    return Envelope.wrap(
        ApplicationAdmissibilityDecided(
            application_id=application_id,
            call_id=call_id,
            organisation_id=organisation_id,
            organisation_name=ORGANISATIONS[organisation_id]["name"],
            reference=f"CERAC-2012-{application_id:04d}",
            admissible=admissible,
            decision="recevable" if admissible else "non_recevable",
            rules=[],
            decided_by_user_id=2,
            decided_at=datetime(2013, 2, 1, 15, tzinfo=UTC),
        )
    )


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def outbox(sessions, event_type: str | None = None) -> list[dict]:
    table = Base.metadata.tables["outbox"]
    with sessions() as session:
        rows = [r.body for r in session.execute(select(table).order_by(table.c.id))]
    return [r for r in rows if event_type is None or r["event_type"] == event_type]


def evaluation_id_of(sessions, application_id: int) -> int:
    with sessions() as session:
        return session.scalar(
            select(Evaluation.id).where(Evaluation.application_id == application_id)
        )


def sheet(values, comment="Appréciation argumentée du critère.") -> dict:
    return {
        "scores": [
            {"criterion_id": cid, "score": value, "comment": comment}
            for cid, value in zip(CRITERIA, values, strict=True)
        ],
        "submit": True,
    }


def form_committee(rpc) -> None:
    for user_id in (3, 4):
        rpc(ADMIN, "add_member", call_id=CALL_ID, data={"user_id": user_id})


def evaluate(rpc, evaluation_id: int, first=GOOD, second=GOOD) -> None:
    """Both evaluators assigned and submitted."""
    for evaluator in (EVALUATOR, EVALUATOR_2):
        rpc(ADMIN, "assign", evaluation_id=evaluation_id, data={"user_id": evaluator.user_id})
    rpc(EVALUATOR, "save_scores", evaluation_id=evaluation_id, data=sheet(first))
    rpc(EVALUATOR_2, "save_scores", evaluation_id=evaluation_id, data=sheet(second))


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# -- opening from the admissibility event --------------------------------------------------


def test_an_admissible_application_opens_its_evaluation_once(rpc, sessions):
    envelope = admissible(501, 20)
    rpc.deliver(envelope)
    rpc.deliver(envelope)  # the same event delivered twice
    assert count(sessions, Evaluation) == 1
    assert rpc.grid_calls == [CALL_ID]  # the grid is fetched once, not on the duplicate
    with sessions() as session:
        evaluation = session.scalar(select(Evaluation))
        assert evaluation.education_order == "collégial"
        assert evaluation.reference == "CERAC-2012-0501"
        committee = session.scalar(select(Committee))
        assert committee.call_id == CALL_ID
        assert [(c.criterion_id, c.weight, c.threshold) for c in committee.criteria] == [
            (101 + i, w, t) for i, (_, _, w, t) in enumerate(CRITERIA_2012)
        ]
        assert committee.min_evaluators == 2
        assert committee.experimentation_years == ["2013-2014", "2014-2015"]
    opened = outbox(sessions, "evaluation.opened")
    assert len(opened) == 1 and opened[0]["payload"]["application_id"] == 501

    # Another event about the same application (a replay with a new id) changes nothing.
    rpc.deliver(admissible(501, 20))
    assert count(sessions, Evaluation) == 1
    # « Non recevable »: nothing is opened, nothing is looked up.
    calls = len(rpc.directory_calls)
    rpc.deliver(admissible(502, 22, admissible=False))
    assert count(sessions, Evaluation) == 1 and len(rpc.directory_calls) == calls
    # The committee exists: a second application does not fetch the grid again; an
    # institution without an order in the directory gets its order from its kind.
    rpc.deliver(admissible(503, 21))
    assert rpc.grid_calls == [CALL_ID]
    with sessions() as session:
        assert (
            session.scalar(
                select(Evaluation.education_order).where(Evaluation.application_id == 503)
            )
            == "collégial"
        )


def test_a_slow_grid_lookup_times_out_and_the_redelivery_opens_the_evaluation(
    rpc, sessions, monkeypatch
):
    monkeypatch.setenv("RPC_TIMEOUT", "0.2")
    reset_settings_cache()
    rpc.grid_delay = 2.0
    envelope = admissible(601, 30)
    # An ordinary exception (not eventlet's BaseException Timeout), so the consumer retries.
    with pytest.raises(ServiceTimeout):
        rpc.deliver(envelope)
    assert count(sessions, Evaluation) == 0
    assert count(sessions, Base.metadata.tables["processed_events"]) == 0
    rpc.grid_delay = 0
    rpc.deliver(envelope)  # the consumer's retry
    assert count(sessions, Evaluation) == 1


# -- the committee's work, from assignments to the designation -------------------------------


def test_scores_consolidation_ranking_and_designation(rpc, sessions):
    rpc.deliver(admissible(501, 20))
    evaluation_id = evaluation_id_of(sessions, 501)
    form_committee(rpc)
    for evaluator in (EVALUATOR, EVALUATOR_2):
        rpc(ADMIN, "assign", evaluation_id=evaluation_id, data={"user_id": evaluator.user_id})
    assigned = outbox(sessions, "evaluator.assigned")
    assert [e["payload"]["evaluator_email"] for e in assigned] == [
        "evaluatrice@mes.qc",
        "evaluateur@mes.qc",
    ]

    # A draft may be partial and without comments; it stays the evaluator's own.
    draft = rpc(
        EVALUATOR,
        "save_scores",
        evaluation_id=evaluation_id,
        data={"scores": [{"criterion_id": 101, "score": "14,5", "comment": ""}]},
    )
    assert draft["status"] == "draft" and draft["scored"] == 0
    assert draft["criteria"][0]["score"] == "14.50"
    other = rpc(EVALUATOR_2, "get_assignment", evaluation_id=evaluation_id)
    assert all(c["score"] is None for c in other["criteria"])
    assert "14" not in json.dumps(other["criteria"])

    # Submitting needs every score with a comment: refused, the draft unchanged.
    with pytest.raises(DomainError) as incomplete:
        rpc(
            EVALUATOR,
            "save_scores",
            evaluation_id=evaluation_id,
            data={
                "scores": [{"criterion_id": 102, "score": "11", "comment": "Bien."}],
                "submit": True,
            },
        )
    assert incomplete.value.code == "invalid"
    assert incomplete.value.details["commentaire-101"] == "Un commentaire justifie chaque note."
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Score)) == 1

    rpc(
        EVALUATOR,
        "save_scores",
        evaluation_id=evaluation_id,
        data=sheet(["14,5", "11", "11", "8", "15", "15"]),
    )
    with pytest.raises(DomainError) as locked:
        rpc(EVALUATOR, "save_scores", evaluation_id=evaluation_id, data=sheet(GOOD))
    assert locked.value.code == "conflict" and "verrouillée" in locked.value.message

    # Before consolidation the committee sees progress, never the scores.
    view = rpc(ANALYST, "get_committee", call_id=CALL_ID)
    row = view["evaluations"][0]
    assert row["submitted_count"] == 1 and row["status"] == "open"
    assert not row["scores_visible"]
    assert all(cell["scores"] is None and cell["score"] is None for cell in row["cells"])

    rpc(
        EVALUATOR_2,
        "save_scores",
        evaluation_id=evaluation_id,
        data=sheet(["19", "11", "11", "8", "15", "15"]),
    )
    submitted = outbox(sessions, "evaluation.submitted")
    assert [e["payload"]["submitted_count"] for e in submitted] == [1, 2]

    view = rpc(ANALYST, "get_committee", call_id=CALL_ID)
    row = view["evaluations"][0]
    assert row["status"] == "consolidated" and row["scores_visible"]
    first = row["cells"][0]
    assert [s["score"] for s in first["scores"]] == ["14.50", "19.00"]
    assert [s["evaluator_name"] for s in first["scores"]] == [
        "Geneviève Lévesque",
        "Paul-Émile Caron",
    ]
    assert first["mean"] == "16.75" and first["flagged"]  # 4.5 points apart > 20 % of 20
    assert row["total"] == "76.75" and row["qualified"] and row["flagged"]
    assert view["parameters"]["overall_threshold"] == "60.00"

    # The committee agrees on 16 for the first criterion.
    agreed = rpc(
        ADMIN,
        "record_consensus",
        evaluation_id=evaluation_id,
        data={
            "criterion_id": 101,
            "score": "16",
            "justification": "Accord du comité après discussion de l'écart.",
        },
    )
    assert agreed["total"] == "76.00"
    view = rpc(ADMIN, "get_committee", call_id=CALL_ID)
    cell = view["evaluations"][0]["cells"][0]
    assert (cell["mean"], cell["consensus"], cell["score"]) == ("16.75", "16.00", "16.00")
    assert view["ranking"]["collégial"]["ranked"][0]["proposed"]

    rpc(
        ADMIN,
        "record_recommendation",
        call_id=CALL_ID,
        data={
            "education_order": "collégial",
            "evaluation_ids": [evaluation_id],
            "comment": "Dossier solide.",
        },
    )
    decided = rpc(
        ADMIN,
        "decide",
        evaluation_id=evaluation_id,
        data={"designated": True, "decision_date": "2013-05-31"},
    )
    assert decided["decision"] == "designated"
    with sessions() as session:
        cerac = session.scalar(select(Cerac))
        assert (cerac.organisation_id, cerac.education_order) == (20, "collégial")
        assert cerac.mandate_parts == ["offer", "quality", "development"]
        assert cerac.experimentation_years == ["2013-2014", "2014-2015"]
        assert cerac.designated_on == date(2013, 5, 31)
    [event] = outbox(sessions, "cerac.designated")
    assert event["payload"]["cerac_id"] == cerac.id
    assert event["payload"]["total"] == "76.00"
    assert event["payload"]["below_threshold"] is False

    # The letter, for the notifications service and for the ministry's pages.
    delivered = rpc(None, "letter_pdf_for_delivery", evaluation_id=evaluation_id)
    assert delivered["mime"] == "application/pdf"
    assert delivered["filename"] == "lettre-designation-CERAC-2012-0501.pdf"
    text = pdf_text(base64.b64decode(delivered["content_base64"]))
    assert "Cégep de Lévis" in text and "31 mai 2013" in text
    # Addressed to the director general by name and title, one salutation, in the
    # closing formula too; the decision of 2013 is the MELS's, signed for « la ministre ».
    flat = " ".join(text.split())
    assert "Madame Isabelle Bégin Directrice générale Cégep de Lévis" in flat
    assert "Madame la Directrice générale, J'ai le plaisir" in flat
    assert "Monsieur" not in flat
    assert "Je vous prie d'agréer, Madame la Directrice générale, l'expression" in flat
    assert "a désigné le Cégep de Lévis" in flat
    assert "Ministère de l'Éducation, du Loisir et du Sport" in flat
    assert "Pour la ministre" in flat
    assert "250 000,00 $" in text.replace("\u202f", " ").replace("\xa0", " ")
    assert "Accroître l'offre de service en RAC" in text

    # Nothing changes after the decision.
    with pytest.raises(DomainError) as after:
        rpc(
            ADMIN,
            "reopen",
            evaluation_id=evaluation_id,
            data={"user_id": 3, "reason": "Relecture demandée par le comité."},
        )
    assert after.value.code == "conflict"


def test_an_evaluator_never_scores_an_unassigned_or_conflicted_application(rpc, sessions):
    rpc.deliver(admissible(501, 20))
    rpc.deliver(admissible(502, 21))
    levis, cmv = evaluation_id_of(sessions, 501), evaluation_id_of(sessions, 502)
    form_committee(rpc)
    rpc(ADMIN, "assign", evaluation_id=levis, data={"user_id": 3})

    for method, kwargs in (
        ("get_assignment", {}),
        ("save_scores", {"data": sheet(GOOD)}),
    ):
        with pytest.raises(DomainError) as error:
            rpc(EVALUATOR, method, evaluation_id=cmv, **kwargs)
        assert error.value.code == "not_found"
        assert "ne vous est pas confiée" in error.value.message
    assert count(sessions, Score) == 0

    # Out of the scale: refused, nothing saved.
    with pytest.raises(DomainError) as outside:
        rpc(
            EVALUATOR,
            "save_scores",
            evaluation_id=levis,
            data=sheet(["21", "11", "11", "8", "15", "15"]),
        )
    # On the field of the list sent (criterion 101 is its first score), as a form names it.
    assert outside.value.details == {
        "scores.0.score": "La note doit être comprise entre 0 et 20 points (pondération du "
        "critère)."
    }
    assert count(sessions, Score) == 0

    # The evaluator declares a conflict with Lévis: the assignment is withdrawn, the
    # application is no longer shown, and the admin cannot assign it again.
    rpc(
        EVALUATOR,
        "save_scores",
        evaluation_id=levis,
        data={"scores": [{"criterion_id": 101, "score": "12", "comment": ""}]},
    )
    workspace = rpc(EVALUATOR, "workspace")
    key = next(
        i["key"]
        for c in workspace["committees"]
        for i in c["institutions"]
        if i["name"] == "Cégep de Lévis"
    )
    declared = rpc(
        EVALUATOR,
        "declare_conflict",
        call_id=CALL_ID,
        data={"organisation_key": key, "reason": "Ancienne employée du cégep."},
    )
    assert declared == {"organisation_name": "Cégep de Lévis", "withdrawn": 1}
    assert rpc(EVALUATOR, "workspace")["assignments"] == []
    with pytest.raises(DomainError) as hidden:
        rpc(EVALUATOR, "get_assignment", evaluation_id=levis)
    assert hidden.value.code == "not_found"
    with pytest.raises(DomainError) as refused:
        rpc(ADMIN, "assign", evaluation_id=levis, data={"user_id": 3})
    assert refused.value.code == "conflict" and "conflit d'intérêts" in refused.value.message
    assert count(sessions, Assignment) == 0 and count(sessions, Score) == 0

    # The admin records a conflict for the other evaluator with CMV.
    rpc(ADMIN, "assign", evaluation_id=cmv, data={"user_id": 4})
    recorded = rpc(
        ADMIN,
        "record_conflict",
        call_id=CALL_ID,
        data={
            "user_id": 4,
            "organisation_key": "21",
            "reason": "Membre du conseil d'administration.",
        },
    )
    assert recorded["withdrawn"] == 1
    view = rpc(ADMIN, "get_committee", call_id=CALL_ID)
    assert [c["evaluator_name"] for c in view["conflicts"]] == [
        "Geneviève Lévesque",
        "Paul-Émile Caron",
    ]
    cmv_row = next(e for e in view["evaluations"] if e["id"] == cmv)
    assert [m["user_id"] for m in cmv_row["assignable"]] == [3]
    with sessions() as session:
        texts = [
            e.text for e in session.scalars(select(LogEntry).where(LogEntry.action == "conflict"))
        ]
    assert any("déclaré par Geneviève Lévesque" in t for t in texts)


LEVIS_EVALUATOR = Actor(
    user_id=5,
    role=Role.MINISTRY_EVALUATOR,
    organisation_id=20,
    organisation_kind=OrganisationKind.CEGEP,
    full_name="Martin Gravel",
)


def test_network_evaluators_conflicts_and_the_bulk_assignment(rpc, sessions):
    """Evaluators of two institutions sit with the ministry's; their own institution and a
    declared link are conflicts, shown and blocking; the bulk assignment respects them,
    balances the load and is saved once, as previewed."""
    for application_id, organisation_id in ((501, 20), (502, 21), (503, 22), (504, 30)):
        rpc.deliver(admissible(application_id, organisation_id))
    levis, cmv = evaluation_id_of(sessions, 501), evaluation_id_of(sessions, 502)
    candidates = rpc(ADMIN, "member_candidates", call_id=CALL_ID)
    assert {c["full_name"]: c["organisation_name"] for c in candidates if c["user_id"] >= 5} == {
        "Martin Gravel": "Cégep de Lévis",
        "Julie Fournier": "Centre de services scolaire des Navigateurs",
    }
    for user_id in (3, 4, 5, 6):
        rpc(ADMIN, "add_member", call_id=CALL_ID, data={"user_id": user_id})
    linked = rpc(LEVIS_EVALUATOR, "declare_link", data={"organisation_id": 21,
                 "kind": "former_employer", "note": "Enseignant de 2008 à 2015"})  # fmt: skip
    assert linked["organisation_name"] == "Cégep Marie-Victorin" and linked["withdrawn"] == 0
    with pytest.raises(DomainError) as twice:
        rpc(LEVIS_EVALUATOR, "declare_link", data={"organisation_id": 21, "kind": "partner"})
    assert twice.value.code == "conflict" and "déjà déclaré" in twice.value.message

    view = rpc(ADMIN, "get_committee", call_id=CALL_ID)
    assert [(c["evaluator_name"], c["organisation_name"], c["reason"])
            for c in view["detected_conflicts"]] == [
        ("Martin Gravel", "Cégep de Lévis",
         "Membre du personnel du Cégep de Lévis, qui dépose la demande"),
        ("Martin Gravel", "Cégep Marie-Victorin",
         "Lien déclaré avec le Cégep Marie-Victorin : ancien employeur"),
        ("Julie Fournier", "Centre de services scolaire des Navigateurs",
         "Membre du personnel du Centre de services scolaire des Navigateurs, qui dépose la "
         "demande"),
    ]  # fmt: skip
    assert {m["full_name"]: m["organisation_name"] for m in view["members"]}["Martin Gravel"] == (
        "Cégep de Lévis"
    )
    levis_row = next(e for e in view["evaluations"] if e["id"] == levis)
    assert 5 not in [m["user_id"] for m in levis_row["assignable"]]
    with pytest.raises(DomainError) as blocked:
        rpc(ADMIN, "assign", evaluation_id=cmv, data={"user_id": 5})
    assert blocked.value.code == "conflict"
    assert blocked.value.message == (
        "Martin Gravel est en conflit d'intérêts avec le Cégep Marie-Victorin (Lien déclaré "
        "avec le Cégep Marie-Victorin : ancien employeur) : la demande CERAC-2012-0502 ne peut "
        "pas lui être confiée."
    )
    rpc(ADMIN, "assign", evaluation_id=levis, data={"user_id": 3})  # one made by hand counts

    # The preview: nothing saved, every application served, no conflicted pair, loads even.
    preview = rpc(ADMIN, "assignment_proposal", call_id=CALL_ID, query={"per_application": 2})
    assert preview["feasible"] and len(preview["assignments"]) == 7
    assert count(sessions, Assignment) == 1
    conflicted = {(c["evaluator_user_id"], c["evaluation_id"]) for c in preview["conflicts"]}
    pairs = {(a["evaluator_user_id"], a["evaluation_id"]) for a in preview["assignments"]}
    assert not pairs & conflicted
    after = [load["after"] for load in preview["loads"]]
    assert sum(after) == 8 and max(after) - min(after) <= 1

    with pytest.raises(DomainError) as stale:
        rpc(ADMIN, "assign_in_bulk", call_id=CALL_ID,
            data={"per_application": 2, "proposal": "0123456789abcdef"})  # fmt: skip
    assert stale.value.code == "conflict" and "depuis l'aperçu" in stale.value.message
    assert count(sessions, Assignment) == 1
    with pytest.raises(DomainError) as not_admin:
        rpc(ANALYST, "assign_in_bulk", call_id=CALL_ID,
            data={"per_application": 2, "proposal": preview["fingerprint"]})  # fmt: skip
    assert not_admin.value.code == "forbidden"
    data = {"per_application": 2, "proposal": preview["fingerprint"]}
    saved = rpc(ADMIN, "assign_in_bulk", call_id=CALL_ID, data=data)
    assert saved == {"per_application": 2, "assigned": 7}
    assert rpc(ADMIN, "assign_in_bulk", call_id=CALL_ID, data=data)["assigned"] == 0
    assert count(sessions, Assignment) == 8
    assert len(outbox(sessions, "evaluator.assigned")) == 8  # each one notified
    with sessions() as session:
        made = {(a.evaluator_user_id, a.evaluation_id) for a in session.scalars(select(Assignment))}
        assert not made & conflicted
        bulk = session.scalars(
            select(LogEntry.text).where(LogEntry.action == "bulk_assignment")
        ).all()
    assert bulk == [
        "Affectation groupée : 7 affectations, 2 évaluateurs par demande; de 2 à 2 demandes "
        "par membre."
    ]

    # Four per application: Lévis and Navigateurs lack members free of conflict.
    infeasible = rpc(ADMIN, "assignment_proposal", call_id=CALL_ID, query={"per_application": 4})
    assert not infeasible["feasible"] and infeasible["assignments"] == []
    assert infeasible["problems"][0].startswith(
        "La demande CERAC-2012-0501 du Cégep de Lévis ne peut recevoir 4 évaluatrices ou "
        "évaluateurs (2 déjà affectés) : 1 membre libre de conflit d'intérêts"
    )
    with pytest.raises(DomainError) as refused:
        rpc(ADMIN, "assign_in_bulk", call_id=CALL_ID, data={"per_application": 4})
    assert refused.value.code == "conflict" and "CERAC-2012-0501" in refused.value.message

    # The admin records a link for Geneviève Lévesque with Rimouski: her assignment on it
    # (not yet submitted) is withdrawn; another evaluator cannot remove it, she can.
    rimouski = evaluation_id_of(sessions, 503)
    had = (3, rimouski) in made
    recorded = rpc(ADMIN, "declare_link", data={"user_id": 3, "organisation_id": 22,
                   "kind": "partner"})  # fmt: skip
    assert recorded["withdrawn"] == (1 if had else 0)
    with pytest.raises(DomainError) as foreign:
        rpc(EVALUATOR_2, "remove_link", link_id=recorded["id"])
    assert foreign.value.code == "not_found"
    with pytest.raises(DomainError) as not_network:
        rpc(ADMIN, "declare_link", data={"user_id": 3, "organisation_id": 99, "kind": "partner"})
    assert not_network.value.code == "invalid"
    assert rpc(EVALUATOR, "workspace")["links"][0]["organisation_name"] == "Cégep de Rimouski"
    rpc(EVALUATOR, "remove_link", link_id=recorded["id"])
    assert rpc(EVALUATOR, "workspace")["links"] == []


def test_reopening_is_for_the_admin_logged_and_undoes_the_consolidation(rpc, sessions):
    rpc.deliver(admissible(501, 20))
    evaluation_id = evaluation_id_of(sessions, 501)
    form_committee(rpc)
    evaluate(rpc, evaluation_id)
    assert rpc(ADMIN, "get_committee", call_id=CALL_ID)["evaluations"][0]["status"] == (
        "consolidated"
    )
    with pytest.raises(DomainError) as forbidden:
        rpc(
            ANALYST,
            "reopen",
            evaluation_id=evaluation_id,
            data={"user_id": 3, "reason": "Relecture demandée."},
        )
    assert forbidden.value.code == "forbidden"
    with pytest.raises(DomainError) as no_reason:
        rpc(ADMIN, "reopen", evaluation_id=evaluation_id, data={"user_id": 3, "reason": "?"})
    assert no_reason.value.details == {"reason": "Motif obligatoire."}
    rpc(
        ADMIN,
        "reopen",
        evaluation_id=evaluation_id,
        data={"user_id": 3, "reason": "Une pièce jointe avait été omise."},
    )
    row = rpc(ADMIN, "get_committee", call_id=CALL_ID)["evaluations"][0]
    assert row["status"] == "open" and row["total"] is None and not row["scores_visible"]
    assert [a["status"] for a in row["assignments"]] == ["draft", "submitted"]
    mine = rpc(EVALUATOR, "get_assignment", evaluation_id=evaluation_id)
    assert mine["can_edit"] and mine["reopened_count"] == 1
    log = rpc(ADMIN, "get_committee", call_id=CALL_ID)["log"]
    assert any("rouverte : Une pièce jointe avait été omise." in e["text"] for e in log)
    rpc(EVALUATOR, "save_scores", evaluation_id=evaluation_id, data=sheet(GOOD))
    assert rpc(ADMIN, "get_committee", call_id=CALL_ID)["evaluations"][0]["total"] == "75.00"


def test_the_cap_of_three_per_order_and_the_ministerial_justification(rpc, sessions):
    for application_id, organisation_id in ((501, 20), (502, 21), (503, 22), (504, 23), (505, 30)):
        rpc.deliver(admissible(application_id, organisation_id))
    form_committee(rpc)
    ids = {a: evaluation_id_of(sessions, a) for a in (501, 502, 503, 504, 505)}
    evaluate(rpc, ids[501], ["18", "13", "13", "9", "18", "18"])  # 89
    evaluate(rpc, ids[502], ["16", "12", "12", "8", "16", "16"])  # 80
    evaluate(rpc, ids[503], ["15", "11", "11", "8", "15", "15"])  # 75
    evaluate(rpc, ids[504], ["14", "11", "11", "8", "14", "14"])  # 72: 4th qualified
    # Navigateurs: 95 points but « pratiques novatrices » 5 of 10 (threshold 6).
    failing = ["20", "15", "15", "5", "20", "20"]
    evaluate(rpc, ids[505], failing, failing)

    view = rpc(ADMIN, "get_committee", call_id=CALL_ID)
    college = view["ranking"]["collégial"]
    assert [(r["organisation_name"], r["rank"], r["proposed"]) for r in college["ranked"]] == [
        ("Cégep de Lévis", 1, True),
        ("Cégep Marie-Victorin", 2, True),
        ("Cégep de Rimouski", 3, True),
        ("Cégep de Sherbrooke", 4, False),
    ]
    secondary = view["ranking"]["secondaire"]
    assert secondary["ranked"] == []
    assert secondary["not_qualified"][0]["reasons"] == [
        "« Pratiques novatrices respectueuses de l'approche ministérielle en RAC » : 5 pour "
        "un seuil de 6 sur 10"
    ]
    with pytest.raises(DomainError) as four:
        rpc(
            ADMIN,
            "record_recommendation",
            call_id=CALL_ID,
            data={"education_order": "collégial", "evaluation_ids": list(ids.values())[:4]},
        )
    assert four.value.code == "invalid"

    for application_id in (501, 502, 503):
        rpc(ADMIN, "decide", evaluation_id=ids[application_id], data={"designated": True})
    outbox_before = len(outbox(sessions))
    with pytest.raises(DomainError) as refused:
        rpc(ADMIN, "decide", evaluation_id=ids[504], data={"designated": True})
    assert refused.value.code == "conflict"
    assert refused.value.message.startswith(
        "Un maximum de trois établissements par ordre d'enseignement peut être désigné : "
        "l'ordre d'enseignement collégial compte déjà trois CERAC désignés (Cégep de Lévis, "
        "Cégep Marie-Victorin et Cégep de Rimouski)."
    )
    with sessions() as session:
        fourth = session.get(Evaluation, ids[504])
        assert fourth.decision is None and fourth.status == "consolidated"
        assert session.scalar(select(func.count()).select_from(Cerac)) == 3
    assert len(outbox(sessions)) == outbox_before

    # The fourth is not designated: the letter explains its rank against the cap.
    rpc(ADMIN, "decide", evaluation_id=ids[504], data={"designated": False})
    [not_designated] = outbox(sessions, "cerac.not_designated")
    assert not_designated["payload"]["qualified"] is True
    assert len(not_designated["payload"]["criteria"]) == 6
    letter = rpc(ADMIN, "get_letter", evaluation_id=ids[504])
    text = pdf_text(base64.b64decode(letter["content_b64"]))
    assert (
        " ".join(text.split()).count(
            "La demande atteint tous les seuils de réussite et se classe au 4e rang de l'ordre "
            "d'enseignement collégial. Au plus trois établissements sont désignés par ordre "
            "d'enseignement : les trois places de cet ordre sont allées aux établissements mieux "
            "classés, le Cégep de Lévis (1er rang), le Cégep Marie-Victorin (2e rang) et le Cégep "
            "de Rimouski (3e rang)."
        )
        == 1
    )

    # Designating the application that failed a threshold needs a ministerial justification.
    with pytest.raises(DomainError) as bare:
        rpc(ADMIN, "decide", evaluation_id=ids[505], data={"designated": True})
    assert bare.value.code == "invalid"
    assert "justification ministérielle" in bare.value.message
    with sessions() as session:
        assert session.get(Evaluation, ids[505]).decision is None
    justification = "Seul établissement de la région offrant la RAC en formation professionnelle."
    rpc(
        ADMIN,
        "decide",
        evaluation_id=ids[505],
        data={"designated": True, "justification": justification},
    )
    event = outbox(sessions, "cerac.designated")[-1]
    assert event["payload"]["below_threshold"] is True
    with sessions() as session:
        logged = session.scalar(
            select(LogEntry.text).where(
                LogEntry.evaluation_id == ids[505], LogEntry.action == "designated"
            )
        )
    assert f"justification ministérielle : {justification}" in logged


def test_a_non_designation_letter_explains_each_criterion_against_its_threshold(rpc, sessions):
    rpc.deliver(admissible(505, 30))
    evaluation_id = evaluation_id_of(sessions, 505)
    form_committee(rpc)
    evaluate(
        rpc, evaluation_id, ["20", "15", "15", "5", "20", "20"], ["20", "15", "15", "5", "20", "20"]
    )
    rpc(ADMIN, "decide", evaluation_id=evaluation_id, data={"designated": False})
    [event] = outbox(sessions, "cerac.not_designated")
    failed = [c for c in event["payload"]["criteria"] if not c["met"]]
    assert [(c["score"], c["threshold"]) for c in failed] == [("5.00", 6)]
    delivered = rpc(None, "letter_pdf_for_delivery", evaluation_id=evaluation_id)
    text = pdf_text(base64.b64decode(delivered["content_base64"]))
    assert "obtient 5 points sur 10, sous son seuil de réussite de 6" in text
    assert "Centre de services scolaire des Navigateurs" in text


def test_a_qualified_application_the_committee_did_not_recommend_is_told_so(rpc, sessions):
    for application_id, organisation_id in ((501, 20), (502, 21)):
        rpc.deliver(admissible(application_id, organisation_id))
    form_committee(rpc)
    ids = {a: evaluation_id_of(sessions, a) for a in (501, 502)}
    evaluate(rpc, ids[501], ["18", "13", "13", "9", "18", "18"])
    evaluate(rpc, ids[502], ["16", "12", "12", "8", "16", "16"])
    rpc(
        ADMIN,
        "record_recommendation",
        call_id=CALL_ID,
        data={"education_order": "collégial", "evaluation_ids": [ids[501]]},
    )
    for application_id in (501, 502):
        rpc(ADMIN, "decide", evaluation_id=ids[application_id], data={"designated": False})
    texts = {
        a: " ".join(
            pdf_text(
                base64.b64decode(rpc(ADMIN, "get_letter", evaluation_id=ids[a])["content_b64"])
            ).split()
        )
        for a in (501, 502)
    }
    assert (
        "La demande atteint tous les seuils de réussite et se classe au 2e rang de l'ordre "
        "d'enseignement collégial, mais le comité d'évaluation ne l'a pas recommandée à la "
        "ministre." in texts[502]
    )
    assert (
        "La demande atteint tous les seuils de réussite et se classe au 1er rang de l'ordre "
        "d'enseignement collégial et le comité d'évaluation l'a recommandée ; la ministre a "
        "toutefois décidé de ne pas la désigner." in texts[501]
    )
    assert "au plus trois" not in texts[501] + texts[502]


def test_bad_inputs_are_refused_with_a_clear_error(rpc, sessions):
    rpc.deliver(admissible(501, 20))
    evaluation_id = evaluation_id_of(sessions, 501)
    with pytest.raises(DomainError) as early:
        rpc(ADMIN, "decide", evaluation_id=evaluation_id, data={"designated": True})
    assert early.value.code == "conflict" and "n'est pas terminée" in early.value.message
    with pytest.raises(DomainError) as stranger:
        rpc(ADMIN, "assign", evaluation_id=evaluation_id, data={"user_id": 3})
    assert stranger.value.details == {"user_id": "Choisissez un membre du comité."}
    with pytest.raises(DomainError) as institution:
        rpc(ADMIN, "add_member", call_id=CALL_ID, data={"user_id": 10})
    assert institution.value.code == "invalid"
    with pytest.raises(DomainError) as unknown:
        rpc(ADMIN, "add_member", call_id=CALL_ID, data={"user_id": 999})
    assert unknown.value.details == {"user_id": "Utilisateur introuvable."}
    with pytest.raises(DomainError) as float_like:
        rpc(
            ADMIN,
            "set_parameters",
            call_id=CALL_ID,
            data={"min_evaluators": 1, "spread_gap_percent": "20"},
        )
    assert "min_evaluators" in float_like.value.details
    with pytest.raises(DomainError) as extra:
        rpc(ADMIN, "decide", evaluation_id=evaluation_id, data={"designated": True, "cap": 4})
    assert extra.value.details == {"cap": "Ce champ n'est pas permis."}
    with pytest.raises(DomainError) as future:
        form_committee(rpc)
        evaluate(rpc, evaluation_id)
        rpc(
            ADMIN,
            "decide",
            evaluation_id=evaluation_id,
            data={"designated": True, "decision_date": "2999-01-01"},
        )
    assert future.value.details == {
        "decision_date": "Inscrivez la date à laquelle la décision a été prise."
    }
    with pytest.raises(DomainError) as missing:
        rpc(ADMIN, "get_committee", call_id=999)
    assert missing.value.code == "not_found"
    # Stricter overall threshold: the consolidated result is recomputed.
    rpc(
        ADMIN,
        "set_parameters",
        call_id=CALL_ID,
        data={"min_evaluators": 2, "spread_gap_percent": "20", "overall_threshold": "80"},
    )
    row = rpc(ADMIN, "get_committee", call_id=CALL_ID)["evaluations"][0]
    assert row["overall_threshold"] == "80.00" and row["qualified"] is False


# -- who sees what ---------------------------------------------------------------------------


def test_roles_and_tenants(rpc, sessions):
    rpc.deliver(admissible(501, 20))
    evaluation_id = evaluation_id_of(sessions, 501)
    form_committee(rpc)
    for actor, method, kwargs in (
        (EVALUATOR, "get_committee", {"call_id": CALL_ID}),
        (EVALUATOR, "committee_csv", {"call_id": CALL_ID}),
        (ANALYST, "decide", {"evaluation_id": evaluation_id, "data": {"designated": True}}),
        (ANALYST, "assign", {"evaluation_id": evaluation_id, "data": {"user_id": 3}}),
        (LEVIS_DG, "get_assignment", {"evaluation_id": evaluation_id}),
        (LEVIS_DG, "workspace", {}),
        (EMPLOYER, "my_results", {}),
        (EVALUATOR, "my_results", {}),
    ):
        with pytest.raises(DomainError) as error:
            rpc(actor, method, **kwargs)
        assert error.value.code == "forbidden", (actor.role, method)

    # The institution sees « en évaluation » until the decision.
    [pending] = rpc(LEVIS_DG, "my_results")
    assert pending["status_label"] == "En évaluation" and pending["total"] is None
    assert pending["criteria"] == [] and not pending["letter_available"]
    assert rpc(CMV_DG, "my_results") == []
    evaluate(rpc, evaluation_id)
    [still] = rpc(LEVIS_DG, "my_results")
    assert still["status_label"] == "En évaluation" and still["criteria"] == []
    with pytest.raises(DomainError):
        rpc(LEVIS_DG, "get_letter", evaluation_id=evaluation_id)
    rpc(ADMIN, "decide", evaluation_id=evaluation_id, data={"designated": True})
    [result] = rpc(LEVIS_DG, "my_results")
    assert result["decision_label"] == "Désigné CERAC" and result["total"] == "75.00"
    assert [c["score"] for c in result["criteria"]] == [f"{v}.00" for v in GOOD]
    text = json.dumps(result, ensure_ascii=False)
    assert "Lévesque" not in text and "Caron" not in text and "Appréciation" not in text
    assert rpc(LEVIS_DG, "get_letter", evaluation_id=evaluation_id)["filename"].endswith(".pdf")
    with pytest.raises(DomainError) as other:
        rpc(CMV_DG, "get_letter", evaluation_id=evaluation_id)
    assert other.value.code == "not_found"


def test_home_summary_and_exports(rpc, sessions):
    rpc.deliver(admissible(501, 20))
    rpc.deliver(admissible(505, 30))
    form_committee(rpc)
    levis = evaluation_id_of(sessions, 501)
    home = rpc(ADMIN, "home_summary")
    assert home[0]["label"] == "Affecter des évaluateurs aux demandes recevables"
    assert home[0]["count"] == 2 and home[0]["url"] == f"/comites/{CALL_ID}"
    rpc(ADMIN, "assign", evaluation_id=levis, data={"user_id": 3})
    assert rpc(EVALUATOR, "home_summary") == [
        {
            "label": "Évaluer les demandes de reconnaissance qui vous sont confiées",
            "url": "/evaluations",
            "count": 1,
            "urgent": False,
        }
    ]
    assert rpc(LEVIS_DG, "home_summary")[0]["label"].endswith("en évaluation")
    rpc(ADMIN, "assign", evaluation_id=levis, data={"user_id": 4})
    rpc(EVALUATOR, "save_scores", evaluation_id=levis, data=sheet(GOOD))
    rpc(EVALUATOR_2, "save_scores", evaluation_id=levis, data=sheet(GOOD))
    labels = [a["label"] for a in rpc(ADMIN, "home_summary")]
    assert "Consigner la décision de la ou du ministre sur les demandes évaluées" in labels
    assert [a["label"] for a in rpc(EVALUATOR, "home_summary")] == [
        "Consulter vos évaluations de demandes de reconnaissance"
    ]
    assert rpc(EMPLOYER, "home_summary") == []
    assert rpc(ANALYST, "home_summary")[-1]["url"] == "/comites"

    exported = rpc(ANALYST, "committee_csv", call_id=CALL_ID)
    lines = exported["content"].lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Ordre d'enseignement;Établissement;Référence;Statut;C1 ")
    levis_line = next(line for line in lines if "Cégep de Lévis" in line)
    assert "Geneviève Lévesque : 15 | Paul-Émile Caron : 15" in levis_line
    navigateurs = next(line for line in lines if "Navigateurs" in line)
    assert "Lévesque" not in navigateurs  # not consolidated: no individual score
    pdf = rpc(ADMIN, "committee_pdf", call_id=CALL_ID)
    assert "Matrice des demandes et des critères" in pdf_text(base64.b64decode(pdf["content_b64"]))
    candidates = rpc(ADMIN, "member_candidates", call_id=CALL_ID)
    # the analyst and the network's evaluators; both of the ministry's evaluators sit
    assert [c["user_id"] for c in candidates] == [2, 5, 6]


# -- in a real container over RabbitMQ -------------------------------------------------------


def test_the_event_reaches_the_service_over_rabbitmq_and_opens_once(
    sessions, container_factory, rabbit_config
):
    container = container_factory(ScoringService, rabbit_config)
    applications, gateway = replace_dependencies(container, "applications", "gateway")
    applications.grid_of_call.side_effect = lambda call_id: GRID
    gateway.get_organisation.side_effect = lambda organisation_id: ORGANISATIONS[organisation_id]
    container.start()
    envelope = admissible(701, 30)
    publish_envelope(rabbit_config["AMQP_URI"], envelope)
    publish_envelope(rabbit_config["AMQP_URI"], envelope)  # delivered twice
    wait_until(lambda: count(sessions, Evaluation) == 1, message="no evaluation opened")
    table = Base.metadata.tables["processed_events"]
    wait_until(lambda: count(sessions, table) == 1)
    eventlet.sleep(0.5)  # let the duplicate be consumed
    assert count(sessions, Evaluation) == 1
    assert applications.grid_of_call.call_count == 1

    # The relay publishes evaluation.opened on scoring.events.
    with kombu.Connection(rabbit_config["AMQP_URI"]) as connection:
        from rac_shared.outbox import event_exchange

        queue = kombu.Queue(
            "test-scoring-events",
            exchange=event_exchange("scoring"),
            routing_key="#",
            durable=False,
            auto_delete=False,
        )
        queue(connection.default_channel).declare()
    publish_envelope(rabbit_config["AMQP_URI"], admissible(702, 20))
    wait_until(lambda: count(sessions, Evaluation) == 2)

    def received():
        with kombu.Connection(rabbit_config["AMQP_URI"]) as connection:
            got = connection.default_channel.basic_get("test-scoring-events", no_ack=True)
            return json.loads(got.body) if got else None

    body = wait_until(received, timeout=15, message="evaluation.opened never published")
    assert body["event_type"] == "evaluation.opened"


# -- the ministry's table --------------------------------------------------------------------


def test_the_ministry_corrects_its_table_and_letters_follow_it(rpc, sessions):
    shipped = rpc(ANALYST, "list_ministries")
    assert [(p["since"], p["acronym"], p["minister"]) for p in shipped][:2] == [
        ("2005-02-18", "MELS", "le ministre"),
        ("2007-04-18", "MELS", "la ministre"),
    ]
    assert not any(p["edited"] for p in shipped)
    period = {
        "since": "2012-09-19",
        "name": "Ministère de l'Enseignement supérieur, de la Recherche, de la Science et "
        "de la Technologie",
        "acronym": "MESRST",
        "minister": "le ministre",
    }
    with pytest.raises(DomainError) as analyst:
        rpc(ANALYST, "save_ministry", data=period)
    assert analyst.value.code == "forbidden"
    with pytest.raises(DomainError) as bad:
        rpc(ADMIN, "save_ministry", data={**period, "minister": "la ou le ministre"})
    assert bad.value.code == "invalid" and "minister" in bad.value.details
    saved = rpc(ADMIN, "save_ministry", data=period)
    assert saved["edited"] and saved["minister_label"] == "Le ministre"
    table = rpc(ANALYST, "list_ministries")
    assert [p["acronym"] for p in table] == ["MELS", "MELS", "MESRST", "MEESR", "MEES", "MES"]

    # A decision of 2013 now reads the recorded period: heading, sentence and signature.
    rpc.deliver(admissible(501, 20))
    evaluation_id = evaluation_id_of(sessions, 501)
    form_committee(rpc)
    evaluate(rpc, evaluation_id)
    rpc(
        ADMIN,
        "decide",
        evaluation_id=evaluation_id,
        data={"designated": True, "decision_date": "2013-05-31"},
    )
    [event] = outbox(sessions, "cerac.designated")
    assert event["payload"]["minister"] == "le ministre"
    letter = rpc(ADMIN, "get_letter", evaluation_id=evaluation_id)
    flat = " ".join(pdf_text(base64.b64decode(letter["content_b64"])).split())
    assert flat.startswith("Ministère de l'Enseignement supérieur, de la Recherche, de la Science")
    assert "le ministre a désigné le Cégep de Lévis" in flat and "Pour le ministre" in flat

    assert rpc(ADMIN, "remove_ministry", since="2012-09-19") == {"removed": 1}
    assert not any(p["edited"] for p in rpc(ADMIN, "list_ministries"))
    with pytest.raises(DomainError) as gone:
        rpc(ADMIN, "remove_ministry", since="2012-09-19")
    assert gone.value.code == "not_found"
