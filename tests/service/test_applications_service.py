"""The applications service's RPCs, one nameko worker per call (``worker_factory``) over a
migrated SQLite database; then the service in a real container over RabbitMQ, its outbox
relay publishing the events. The gateway's directory is the only dependency replaced:
it answers ``get_organisation`` as the real one does."""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime

import kombu
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies, worker_factory
from pypdf import PdfReader
from sqlalchemy import func, select

from rac_shared.clock import MONTREAL, clock
from rac_shared.errors import DomainError
from rac_shared.outbox import event_exchange
from services.applications.demo import CRITERIA_2012
from services.applications.files import MAX_ATTACHMENT_BYTES
from services.applications.models import Application, Attachment, Base, Call, Signature
from services.applications.service import ApplicationsService
from services.applications.testing import (
    ADMIN,
    ANALYST,
    CMV_DG,
    CMV_FC,
    CSN_RAC,
    EMPLOYER,
    EVALUATOR,
    EXE,
    LEVIS_DG,
    LEVIS_RAC,
    LEVIS_STUDIES,
    MINIMAL_PDF,
    ORGANISATIONS,
    call_data,
)
from tests.service.helpers import wait_until
from tests.support.typography import ordinary_spaces


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=MONTREAL)


def as_json(value):
    """What goes back over the bus must be plain JSON."""
    return json.loads(json.dumps(value))


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


@pytest.fixture
def sessions(service_database):
    return service_database("applications")


class Rpc:
    """Calls the service's RPCs, one worker and one session per call, as nameko does."""

    def __init__(self, sessions):
        self.sessions = sessions
        self.directory_calls: list[int] = []

    def __call__(self, actor, method: str, **kwargs):
        with self.sessions() as session:
            service = worker_factory(ApplicationsService, db=session)
            service.gateway.get_organisation.side_effect = self._directory
            args = {"actor": actor.model_dump(mode="json")} if actor is not None else {}
            return as_json(getattr(service, method)(**args, **kwargs))

    def _directory(self, organisation_id: int) -> dict:
        self.directory_calls.append(organisation_id)
        return ORGANISATIONS[organisation_id]


@pytest.fixture
def rpc(sessions):
    return Rpc(sessions)


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def outbox(sessions) -> list[dict]:
    table = Base.metadata.tables["outbox"]
    with sessions() as session:
        return [row.body for row in session.execute(select(table).order_by(table.c.id))]


def create_published_call(rpc, **overrides) -> dict:
    data = {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in call_data(**overrides).items()
    }
    with clock.frozen_at(local(2012, 9, 4, 9, 0)):
        call = rpc(ADMIN, "create_call", data=data)
        section = rpc(
            ADMIN,
            "add_section",
            call_id=call["id"],
            data={"title": "Présentation de l'établissement"},
        )
        rpc(
            ADMIN,
            "add_question",
            call_id=call["id"],
            section_id=section["id"],
            data={"label": "Décrivez votre service de RAC.", "kind": "text", "max_length": 500},
        )
        rpc(
            ADMIN,
            "add_question",
            call_id=call["id"],
            section_id=section["id"],
            data={"label": "Plan d'action (facultatif)", "kind": "file", "required": False},
        )
        view = rpc(
            ADMIN,
            "set_criteria",
            call_id=call["id"],
            criteria=[
                {"group": g, "label": label, "weight": w, "threshold": t}
                for g, label, w, t in CRITERIA_2012
            ],
        )
        assert view["grid_total"] == 100 and view["grid_problems"] == []
        rpc(
            ADMIN,
            "upload_guide",
            call_id=call["id"],
            filename="guide.pdf",
            content_b64=b64(MINIMAL_PDF),
        )
        rpc(ADMIN, "publish_call", call_id=call["id"])
    return rpc(ADMIN, "get_call", call_id=call["id"])


def fill(rpc, actor, application_id: int, call: dict) -> None:
    for section in call["sections"]:
        answers = {}
        for question in section["questions"]:
            if question["kind"] == "yes_no":
                answers[str(question["id"])] = "oui"
            elif question["kind"] == "text":
                answers[str(question["id"])] = "Réponse complète et détaillée."
        rpc(
            actor,
            "save_answers",
            application_id=application_id,
            section_id=section["id"],
            answers=answers,
        )
    for kind, name in (
        ("support_letter", "lettre-appui.pdf"),
        ("official_document", "resolution.pdf"),
    ):
        rpc(
            actor,
            "upload_attachment",
            application_id=application_id,
            data={"kind": kind, "filename": name, "content_b64": b64(MINIMAL_PDF)},
        )


# -- the whole path ----------------------------------------------------------------------


def test_publish_fill_sign_submit_paper_admissibility(rpc, sessions):
    call = create_published_call(rpc)
    assert [s["mandate_part"] for s in call["sections"]] == [
        "offer",
        "quality",
        "development",
        "reporting",
        None,
    ]
    assert call["guide"]["sha256"] and call["problems"] == []

    with clock.frozen_at(local(2012, 12, 10, 10, 0)):
        assert rpc(LEVIS_RAC, "list_calls")["items"][0]["id"] == call["id"]
        opened = rpc(LEVIS_RAC, "open_application", call_id=call["id"])
        assert rpc.directory_calls == [LEVIS_RAC.organisation_id]
        assert opened["organisation_name"] == "Cégep de Lévis"
        assert opened["region"] == "Chaudière-Appalaches"
        application_id = opened["id"]
        fill(rpc, LEVIS_RAC, application_id, call)
        view = rpc(LEVIS_RAC, "get_application", application_id=application_id)
        assert [i["done"] for i in view["checklist"]] == [True] * 7 + [False]
        assert not view["can_submit"] and not view["can_sign"]
        assert rpc(LEVIS_DG, "get_application", application_id=application_id)["can_sign"]
        signed = rpc(LEVIS_DG, "sign", application_id=application_id)
        assert signed["capacity"] == "director_general"
        rpc(LEVIS_STUDIES, "sign", application_id=application_id)
        view = rpc(LEVIS_RAC, "get_application", application_id=application_id)
        assert view["complete"] and view["can_submit"]
        letter = next(a for a in view["attachments"] if a["kind"] == "support_letter")
        download = rpc(
            LEVIS_DG, "get_attachment", application_id=application_id, attachment_id=letter["id"]
        )
        assert base64.b64decode(download["content_b64"]) == MINIMAL_PDF
        assert download["mime"] == "application/pdf"

    with clock.frozen_at(local(2012, 12, 21, 23, 59, 59)):
        submitted = rpc(LEVIS_RAC, "submit", application_id=application_id)
    assert submitted["status"] == "submitted"
    assert submitted["reference"] == f"CERAC-2012-CLV-{application_id:04d}"

    # The receipt is rendered by the service's timer, off the submit request.
    with pytest.raises(DomainError) as error:
        rpc(LEVIS_STUDIES, "get_receipt", application_id=application_id)
    assert error.value.code == "conflict" and "en préparation" in error.value.message
    assert rpc(LEVIS_STUDIES, "get_application", application_id=application_id)["receipt_pending"]
    assert rpc(None, "render_receipts") == 1
    assert rpc(None, "render_receipts") == 0
    receipt = rpc(LEVIS_STUDIES, "get_receipt", application_id=application_id)
    pdf = base64.b64decode(receipt["content_b64"])
    text = ordinary_spaces(PdfReader(io.BytesIO(pdf)).pages[0].extract_text())
    assert "Accusé de réception" in text and submitted["reference"] in text
    assert "21 décembre 2012 à 23 h 59" in text
    assert submitted["content_sha256"][:20] in text.replace("\n", "")
    assert receipt["filename"] == f"accuse-reception-{submitted['reference']}.pdf"

    with clock.frozen_at(local(2013, 1, 7, 9, 0)):
        row = rpc(
            ANALYST,
            "record_paper_receipt",
            application_id=application_id,
            data={"received_on": "2012-12-21"},
        )
        assert row["paper_late"] is False
        view = rpc(ANALYST, "get_application", application_id=application_id)
        assert [r["passed"] for r in view["rules"]] == [True, True, True, True]
        for rule in view["rules"]:
            rpc(
                ANALYST,
                "review_rule",
                application_id=application_id,
                data={"rule": rule["rule"], "passed": True},
            )
        decided = rpc(
            ANALYST,
            "decide_admissibility",
            application_id=application_id,
            data={"decision": "recevable", "comment": "Conforme."},
        )
    assert decided["admissibility"] == "recevable"
    assert decided["admissibility_label"] == "Recevable"

    events = {e["event_type"]: e for e in outbox(sessions)}
    assert set(events) == {
        "call.published",
        "application.submitted",
        "application.admissibility_decided",
    }
    decided_event = events["application.admissibility_decided"]
    assert decided_event["source"] == "applications"
    assert decided_event["payload"]["admissible"] is True
    assert [r["rule"] for r in decided_event["payload"]["rules"]] == [
        "institution",
        "signatures",
        "completeness",
        "deposit",
    ]
    assert events["application.submitted"]["payload"]["reference"] == submitted["reference"]
    # The evaluator now reads the admissible application.
    assert rpc(EVALUATOR, "get_application", application_id=application_id)["id"] == (
        application_id
    )


# -- the « demande de compléments » -----------------------------------------------------------


def test_complements_are_asked_answered_and_the_analysis_resumes_through_the_rpcs(rpc, sessions):
    call = create_published_call(rpc)
    with clock.frozen_at(local(2012, 12, 10, 10, 0)):
        application_id = rpc(LEVIS_RAC, "open_application", call_id=call["id"])["id"]
        fill(rpc, LEVIS_RAC, application_id, call)
        rpc(LEVIS_DG, "sign", application_id=application_id)
        rpc(LEVIS_STUDIES, "sign", application_id=application_id)
        deposited = rpc(LEVIS_RAC, "submit", application_id=application_id)
    question = call["sections"][-1]["questions"][0]
    with clock.frozen_at(local(2013, 1, 7, 9, 0)):
        with pytest.raises(DomainError) as error:  # a bad request: French, per field
            rpc(
                ANALYST,
                "request_complements",
                application_id=application_id,
                data={"items": [], "due_date": "2013-01-07"},
            )
        assert error.value.code == "invalid" and "items" in error.value.details
        requested = rpc(
            ANALYST,
            "request_complements",
            application_id=application_id,
            data={
                "items": [
                    {"label": "Plan d'action révisé", "kind": "document"},
                    {"label": "Précision", "kind": "answer", "question_id": question["id"]},
                ],
                "due_date": "2013-01-18",
                "message": "Merci.",
            },
        )
        assert requested["number"] == 1 and requested["due_date"] == "2013-01-18"
        own = rpc(LEVIS_RAC, "get_application", application_id=application_id)
        assert own["status"] == "complements" and own["status_label"] == "Compléments demandés"
        assert own["complements"]["can_answer"] and not own["can_edit"]
        for who in (EVALUATOR, CMV_DG):
            with pytest.raises(DomainError):
                rpc(who, "get_application", application_id=application_id)
    items = own["complements"]["requests"][0]["items"]
    with clock.frozen_at(local(2013, 1, 10, 9, 0)):
        with pytest.raises(DomainError) as error:
            rpc(
                CMV_DG,
                "answer_complement_item",
                application_id=application_id,
                item_id=items[1]["id"],
                data={"answer": "Réponse"},
            )
        assert error.value.code == "not_found"
        with pytest.raises(DomainError, match="aucun format accepté"):
            rpc(
                LEVIS_RAC,
                "upload_complement_document",
                application_id=application_id,
                item_id=items[0]["id"],
                data={"filename": "plan.pdf", "content_b64": b64(EXE)},
            )
        provided = rpc(
            LEVIS_RAC,
            "upload_complement_document",
            application_id=application_id,
            item_id=items[0]["id"],
            data={"filename": "plan.pdf", "content_b64": b64(MINIMAL_PDF)},
        )
        assert provided == {"item_id": items[0]["id"], "provided": True}
        rpc(
            LEVIS_RAC,
            "answer_complement_item",
            application_id=application_id,
            item_id=items[1]["id"],
            data={"answer": "Nous visons douze programmes."},
        )
        answered = rpc(
            LEVIS_RAC,
            "answer_complements",
            application_id=application_id,
            data={"comment": "Voici."},
        )
        assert answered["status"] == "complements"
        with pytest.raises(DomainError) as error:
            rpc(LEVIS_RAC, "resume_admissibility", application_id=application_id, data={})
        assert error.value.code == "forbidden"
        resumed = rpc(
            ANALYST, "resume_admissibility", application_id=application_id, data={"note": "Reçu."}
        )
    assert resumed["status"] == "submitted"
    assert resumed["submitted_at"] == deposited["submitted_at"]  # the deposit, never reset
    view = rpc(ANALYST, "get_application", application_id=application_id)
    exchange = view["complements"]["requests"][0]
    assert exchange["status"] == "resumed" and exchange["answer_comment"] == "Voici."
    assert exchange["items"][1]["previous_text"] == "Réponse complète et détaillée."
    assert view["complements"]["can_request"] and view["can_review"]
    types = [e["event_type"] for e in outbox(sessions)]
    assert types[-3:] == [
        "application.complements_requested",
        "application.complements_answered",
        "application.admissibility_resumed",
    ]


def test_bulk_admissibility_decides_each_through_the_single_rule(rpc, sessions):
    """A selection decided in one request: each application alone, through the single
    decision's rule; the refused ones say why and change nothing; one event per decision."""
    call = create_published_call(rpc)
    ids = []
    with clock.frozen_at(local(2012, 12, 10, 10, 0)):
        for author, signatories in ((LEVIS_RAC, (LEVIS_DG, LEVIS_STUDIES)),
                                    (CMV_DG, (CMV_DG, CMV_FC))):  # fmt: skip
            application_id = rpc(author, "open_application", call_id=call["id"])["id"]
            fill(rpc, author, application_id, call)
            for signatory in signatories:
                rpc(signatory, "sign", application_id=application_id)
            rpc(author, "submit", application_id=application_id)
            ids.append(application_id)
    levis, cmv = ids
    with clock.frozen_at(local(2013, 1, 7, 9, 0)):
        for application_id in ids:
            rpc(ANALYST, "record_paper_receipt", application_id=application_id,
                data={"received_on": "2012-12-21"})  # fmt: skip
        for rule in ("institution", "signatures", "completeness", "deposit"):  # Lévis only
            rpc(ANALYST, "review_rule", application_id=levis, data={"rule": rule, "passed": True})
        data = {"application_ids": [cmv, levis, 999_999], "decision": "recevable",
                "comment": "Dossiers conformes, vérifiés en comité d'analyse."}  # fmt: skip
        with pytest.raises(DomainError) as forbidden:
            rpc(EVALUATOR, "decide_admissibility_in_bulk", call_id=call["id"], data=data)
        assert forbidden.value.code == "forbidden"
        with pytest.raises(DomainError) as no_reason:
            rpc(ANALYST, "decide_admissibility_in_bulk", call_id=call["id"],
                data={**data, "comment": ""})  # fmt: skip
        assert no_reason.value.details == {
            "comment": "Indiquez le motif commun de ces décisions (5 caractères au moins)."
        }
        result = rpc(ANALYST, "decide_admissibility_in_bulk", call_id=call["id"], data=data)
    assert (result["decided"], result["refused"], result["decision_label"]) == (1, 2, "Recevable")
    outcomes = {o["application_id"]: o for o in result["outcomes"]}
    assert list(outcomes) == sorted(outcomes)
    assert outcomes[levis]["decided"] and outcomes[levis]["message"] == "Déclarée recevable."
    assert not outcomes[cmv]["decided"]
    assert outcomes[cmv]["message"].startswith(
        "Chaque règle doit être confirmée ou faire l'objet d'une dérogation avant la décision."
    )
    assert outcomes[999_999] == {
        "application_id": 999_999, "reference": None, "organisation_name": None,
        "decided": False, "message": "Cette demande n'appartient pas à cet appel d'intérêt.",
    }  # fmt: skip
    event_type = "application.admissibility_decided"
    decided = [e for e in outbox(sessions) if e["event_type"] == event_type]
    assert [e["payload"]["application_id"] for e in decided] == [levis]
    assert decided[0]["payload"]["comment"] == data["comment"]
    with sessions() as session:
        assert session.get(Application, cmv).admissibility is None
    again = rpc(ANALYST, "decide_admissibility_in_bulk", call_id=call["id"],
                data={**data, "application_ids": [levis]})  # fmt: skip
    assert again["outcomes"][0]["message"] == "La recevabilité de cette demande est déjà décidée."


# -- tenant scoping and roles ----------------------------------------------------------------


def test_an_institution_never_reads_another_ones_application_or_attachments(rpc, sessions):
    call = create_published_call(rpc)
    with clock.frozen_at(local(2012, 12, 10, 10, 0)):
        application_id = rpc(LEVIS_RAC, "open_application", call_id=call["id"])["id"]
        fill(rpc, LEVIS_RAC, application_id, call)
        attachment_id = rpc(LEVIS_RAC, "get_application", application_id=application_id)[
            "attachments"
        ][0]["id"]
        for method, kwargs in (
            ("get_application", {}),
            ("get_attachment", {"attachment_id": attachment_id}),
            ("delete_attachment", {"attachment_id": attachment_id}),
            ("sign", {}),
            ("submit", {}),
            ("withdraw", {}),
            ("get_receipt", {}),
            ("save_answers", {"section_id": call["sections"][0]["id"], "answers": {}}),
        ):
            with pytest.raises(DomainError) as error:
                rpc(CMV_DG, method, application_id=application_id, **kwargs)
            assert error.value.code == "not_found", method
        # Employers see nothing of this area.
        for method, kwargs in (
            ("list_calls", {}),
            ("get_call", {"call_id": call["id"]}),
            ("get_application", {"application_id": application_id}),
            ("open_application", {"call_id": call["id"]}),
            ("applications_table", {"call_id": call["id"]}),
        ):
            with pytest.raises(DomainError) as error:
                rpc(EMPLOYER, method, **kwargs)
            assert error.value.code == "forbidden", method
        # A draft stays the institution's; the table is for analysts and the admin.
        with pytest.raises(DomainError) as error:
            rpc(ANALYST, "get_application", application_id=application_id)
        assert error.value.code == "not_found"
        with pytest.raises(DomainError) as error:
            rpc(EVALUATOR, "applications_table", call_id=call["id"])
        assert error.value.code == "forbidden"
        with pytest.raises(DomainError) as error:
            rpc(
                LEVIS_DG,
                "record_paper_receipt",
                application_id=application_id,
                data={"received_on": "2012-12-10"},
            )
        assert error.value.code == "forbidden"
    assert count(sessions, Attachment, Attachment.application_id == application_id) == 2
    assert count(sessions, Signature) == 0


# -- bad input: a clear French error, nothing changed -----------------------------------------


def test_bad_inputs_are_refused_and_change_nothing(rpc, sessions):
    call = create_published_call(rpc)
    with clock.frozen_at(local(2012, 12, 10, 10, 0)):
        with pytest.raises(DomainError) as error:
            rpc(LEVIS_RAC, "open_application", call_id=4242)
        assert (error.value.code, error.value.message) == (
            "not_found",
            "Appel d'intérêt introuvable.",
        )
        application_id = rpc(LEVIS_RAC, "open_application", call_id=call["id"])["id"]
        with pytest.raises(DomainError) as error:  # second application
            rpc(LEVIS_DG, "open_application", call_id=call["id"])
        assert error.value.code == "conflict"
        assert error.value.details == {"application_id": str(application_id)}
        with pytest.raises(DomainError) as error:  # missing sections, letters, signatures
            rpc(LEVIS_RAC, "submit", application_id=application_id)
        assert error.value.code == "invalid"
        assert {"support_letters", "official_documents", "signatures"} <= set(error.value.details)
        assert any(k.startswith("section-") for k in error.value.details)
        with pytest.raises(DomainError, match="direction des études ou de la formation"):
            rpc(LEVIS_RAC, "sign", application_id=application_id)  # wrong signatory role
        for data, fragment in (
            (
                {"kind": "support_letter", "filename": "lettre.pdf", "content_b64": b64(EXE)},
                "aucun format accepté",
            ),
            (
                {
                    "kind": "support_letter",
                    "filename": "lettre.pdf",
                    "content_b64": b64(MINIMAL_PDF + b"0" * MAX_ATTACHMENT_BYTES),
                },
                "taille maximale de 10 Mo",
            ),
            (
                {
                    "kind": "support_letter",
                    "filename": "lettre.pdf",
                    "content_b64": "pas du base64!",
                },
                "mal encodé",
            ),
            (
                {
                    "kind": "support_letter",
                    "filename": "lettre.pdf",
                    "content_b64": "",
                    "organisation_id": 3,
                },
                "Certains champs sont à corriger",  # the contracts' one headline
            ),
        ):
            with pytest.raises(DomainError, match=fragment) as error:
                rpc(LEVIS_RAC, "upload_attachment", application_id=application_id, data=data)
            assert error.value.code == "invalid"
        section = call["sections"][-1]
        text_question = section["questions"][0]
        with pytest.raises(DomainError) as error:
            rpc(
                LEVIS_RAC,
                "save_answers",
                application_id=application_id,
                section_id=section["id"],
                answers={str(text_question["id"]): "x" * 501},
            )
        assert error.value.details == {  # on the field of the answers sent (contract path)
            f"answers.{text_question['id']}": "La réponse compte 501 caractères; le maximum est "
            "500."
        }
        with pytest.raises(DomainError) as error:
            rpc(
                ADMIN,
                "create_call",
                data={
                    "title": "Un appel",
                    "education_orders": ["primaire"],
                    "launch_date": "demain",
                    "deadline_date": "2012-12-21",
                },
            )
        assert error.value.details["launch_date"] == "Une date AAAA-MM-JJ est attendue."
        assert error.value.details["education_orders.0"] == "Cette valeur n'est pas permise."
    # Late: the deadline passed at midnight, Montréal time.
    with clock.frozen_at(local(2012, 12, 22, 0, 0, 0)):
        with pytest.raises(DomainError) as error:
            rpc(LEVIS_RAC, "submit", application_id=application_id)
        assert error.value.code == "conflict"
        assert "21 décembre 2012, 23 h 59, heure de Montréal) est passée" in error.value.message
        with pytest.raises(DomainError, match="est passée"):
            rpc(CMV_DG, "open_application", call_id=call["id"])
    with clock.frozen_at(local(2012, 12, 23, 9, 0)):
        rpc(ADMIN, "close_call", call_id=call["id"])
        with pytest.raises(DomainError, match="L'appel d'intérêt est fermé"):
            rpc(CMV_DG, "open_application", call_id=call["id"])
    assert count(sessions, Application) == 1
    assert count(sessions, Attachment, Attachment.application_id.isnot(None)) == 0
    with sessions() as session:
        application = session.get(Application, application_id)
        assert application.status == "draft" and application.answers == []
    assert [e["event_type"] for e in outbox(sessions)] == ["call.published"]


def test_a_call_with_an_invalid_grid_is_not_published(rpc, sessions):
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in call_data().items()}
    with clock.frozen_at(local(2012, 9, 4, 9, 0)):
        call = rpc(ADMIN, "create_call", data=data)
        rpc(
            ADMIN,
            "set_criteria",
            call_id=call["id"],
            criteria=[
                {"group": g, "label": label, "weight": w + 1, "threshold": t}
                for g, label, w, t in CRITERIA_2012
            ],
        )
        with pytest.raises(DomainError) as error:
            rpc(ADMIN, "publish_call", call_id=call["id"])
    assert (
        "La somme des pondérations doit être de 100 (actuellement 106)."
        in (error.value.details["problemes"])
    )
    assert error.value.message.startswith("L'appel ne peut pas être publié")
    with sessions() as session:
        assert session.get(Call, call["id"]).status == "draft"
    assert outbox(sessions) == []


def test_amendment_rpc_announces_to_institutions_with_an_application(rpc, sessions):
    call = create_published_call(rpc)
    with clock.frozen_at(local(2012, 12, 10, 10, 0)):
        rpc(LEVIS_RAC, "open_application", call_id=call["id"])
        rpc(CSN_RAC, "open_application", call_id=call["id"])
        amendment = rpc(
            ADMIN,
            "amend_call",
            call_id=call["id"],
            data={"reason": "Report de la date limite de dépôt.", "deadline_date": "2013-01-11"},
        )
    assert amendment["number"] == 1
    assert amendment["organisation_ids"] == [2, 4]
    [event] = [e for e in outbox(sessions) if e["event_type"] == "call.amended"]
    assert event["payload"]["changes"] == {
        "deadline_date": {"avant": "2012-12-21", "après": "2013-01-11"}
    }
    view = rpc(LEVIS_RAC, "get_call", call_id=call["id"])
    assert view["version"] == 2 and view["deadline_date"] == "2013-01-11"
    assert view["amendments"][0]["descriptions"] == [
        "Date limite de dépôt : 21 décembre 2012 → 11 janvier 2013"
    ]


def test_table_list_and_home_summary_rpcs(rpc):
    call = create_published_call(rpc)
    with clock.frozen_at(local(2012, 12, 10, 10, 0)):
        levis = rpc(LEVIS_RAC, "open_application", call_id=call["id"])["id"]
        fill(rpc, LEVIS_RAC, levis, call)
        rpc(LEVIS_DG, "sign", application_id=levis)
        rpc(LEVIS_STUDIES, "sign", application_id=levis)
        rpc(LEVIS_RAC, "submit", application_id=levis)
        rpc(CMV_FC, "open_application", call_id=call["id"])
        table = rpc(
            ANALYST,
            "applications_table",
            call_id=call["id"],
            query={"order": "collégial", "sort": "-submitted_at", "region": ""},
        )
        assert [r["organisation_name"] for r in table["listing"]["items"]] == [
            "Cégep de Lévis",
            "Cégep Marie-Victorin",
        ]
        assert table["counts"] == {
            "draft": 1,
            "submitted": 1,
            "complements": 0,
            "withdrawn": 0,
        }
        assert table["query"]["sort"] == "-submitted_at"
        with pytest.raises(DomainError) as error:
            rpc(ANALYST, "applications_table", call_id=call["id"], query={"sort": "secret"})
        assert error.value.details == {"sort": "Cette valeur n'est pas permise."}
        submitted = rpc(
            ADMIN, "list_applications", call_id=call["id"], query={"status": "submitted"}
        )
        assert submitted["count"] == 1 and submitted["next_cursor"] is None
        assert submitted["items"][0]["reference"] == f"CERAC-2012-CLV-{levis:04d}"
        *actions, link = rpc(ANALYST, "home_summary")
        assert link["url"] == "/appels"
        assert {a["count"] for a in actions} == {1}
        assert all(a["url"].startswith(f"/appels/{call['id']}/demandes?") for a in actions)
        [action, _] = rpc(CMV_DG, "home_summary")
        assert action["url"].startswith("/demandes/")
        assert rpc(EMPLOYER, "home_summary") == []


# -- in a real container over RabbitMQ -----------------------------------------------------


def test_the_outbox_relay_publishes_the_events_to_rabbitmq(
    sessions, container_factory, rabbit_config
):
    """RPCs over the broker; the relay publishes ``call.published`` on applications.events."""
    with kombu.Connection(rabbit_config["AMQP_URI"]) as connection:
        channel = connection.default_channel
        queue = kombu.Queue(
            "test-applications-events",
            exchange=event_exchange("applications"),
            routing_key="#",
            durable=False,
            auto_delete=False,
        )
        queue(channel).declare()
    container = container_factory(ApplicationsService, rabbit_config)
    directory = replace_dependencies(container, "gateway")
    directory.get_organisation.side_effect = ORGANISATIONS.__getitem__
    container.start()
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in call_data().items()}
    with clock.frozen_at(local(2012, 9, 4, 9, 0)):
        with ServiceRpcProxy("applications", rabbit_config) as applications:
            admin = ADMIN.model_dump(mode="json")
            call = applications.create_call(admin, data)
            applications.set_criteria(
                admin,
                call["id"],
                [
                    {"group": g, "label": label, "weight": w, "threshold": t}
                    for g, label, w, t in CRITERIA_2012
                ],
            )
            applications.upload_guide(admin, call["id"], "guide.pdf", b64(MINIMAL_PDF))
            published = applications.publish_call(admin, call["id"])
            with pytest.raises(DomainError) as error:  # DomainError survives the trip
                applications.publish_call(admin, call["id"])
            assert error.value.code == "conflict"
    assert published["status"] == "published"

    def received():
        with kombu.Connection(rabbit_config["AMQP_URI"]) as connection:
            got = connection.default_channel.basic_get("test-applications-events", no_ack=True)
            return (got.body, got.delivery_info["routing_key"]) if got else None

    raw, routing_key = wait_until(
        received, timeout=15, message="call.published never reached RabbitMQ"
    )
    body = json.loads(raw)
    assert body["event_type"] == "call.published"
    assert body["payload"]["call_id"] == call["id"]
    assert routing_key == "call.published"
    table = Base.metadata.tables["outbox"]
    with sessions() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(table).where(table.c.published_at.is_(None))
            )
            == 0
        )


def test_grid_of_call_for_the_scoring_service(rpc):
    """Service to service (no actor): the grid of a published call, never of a draft."""
    call = create_published_call(rpc)
    grid = rpc(None, "grid_of_call", call_id=call["id"])
    assert grid["call_id"] == call["id"] and grid["title"] == call["title"]
    assert grid["education_orders"] == ["secondaire", "collégial"]
    assert grid["experimentation_years"] == ["2013-2014", "2014-2015"]
    assert [(c["group"], c["label"], c["weight"], c["threshold"]) for c in grid["criteria"]] == [
        tuple(row) for row in CRITERIA_2012
    ]
    assert all(isinstance(c["id"], int) for c in grid["criteria"])
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in call_data().items()}
    with clock.frozen_at(local(2012, 9, 4, 9, 0)):
        draft = rpc(ADMIN, "create_call", data=data)
    for call_id in (draft["id"], 4242):
        with pytest.raises(DomainError) as error:
            rpc(None, "grid_of_call", call_id=call_id)
        assert error.value.code == "not_found"
