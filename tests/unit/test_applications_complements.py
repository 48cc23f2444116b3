"""The « demande de compléments » (services/applications/complements.py): its pure rules, then
the loop through the domain functions on an in-memory database — request, only the named
items change, the answer, the late answer, the extension, the resumption — with the deposit
time the deadline rule judges never reset."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from rac_shared.actor import OrganisationKind, Role
from rac_shared.clock import MONTREAL, aware, clock
from rac_shared.contracts.applications import ComplementItemIn, ComplementsRequestIn
from rac_shared.errors import DomainError
from services.applications import complements, dossiers, home, review, views
from services.applications.models import Base
from services.applications.testing import (
    ANALYST,
    CMV_DG,
    CMV_FC,
    CMV_ID,
    EVALUATOR,
    LEVIS_DG,
    LEVIS_RAC,
    LEVIS_STUDIES,
    MINIMAL_PDF,
    actor,
    memory_session,
)
from tests.unit.test_applications_domain import local, published_call, submitted_application

CMV_STUDIES = actor(Role.DIRECTOR_OF_STUDIES, CMV_ID, OrganisationKind.CEGEP, 9, "Annie Lavoie")


@pytest.fixture
def session():
    session = memory_session()
    yield session
    session.close()


def events(session, event_type: str) -> list[dict]:
    outbox = Base.metadata.tables["outbox"]
    rows = session.execute(select(outbox.c.event_type, outbox.c.body).order_by(outbox.c.id))
    return [body for kind, body in rows if kind == event_type]


class Item:
    def __init__(self, provided: bool, label: str = "x"):
        self.provided_at = datetime(2013, 1, 8, tzinfo=MONTREAL) if provided else None
        self.label = label


# -- the pure rules ---------------------------------------------------------------------------


def test_each_kind_of_item_changes_in_its_own_way_only():
    complements.ensure_item_accepts("answer", complements.TEXT)
    complements.ensure_item_accepts("document", complements.FILE)
    complements.ensure_item_accepts("signature", complements.SIGNATURE)
    for kind, change, message in (
        ("answer", complements.FILE, "n'attend pas de document"),
        ("document", complements.TEXT, "n'attend pas de réponse écrite"),
        ("signature", complements.FILE, "n'attend pas de document"),
        ("answer", complements.SIGNATURE, "n'attend pas de signature"),
    ):
        with pytest.raises(DomainError, match=message) as error:
            complements.ensure_item_accepts(kind, change)
        assert error.value.code == "invalid"


def test_the_response_deadline_is_the_end_of_its_day_in_montreal():
    due = date(2013, 1, 18)
    assert complements.in_time(due, datetime(2013, 1, 18, 23, 59, 59, tzinfo=MONTREAL))
    assert not complements.in_time(due, datetime(2013, 1, 19, 0, 0, 0, tzinfo=MONTREAL))
    with pytest.raises(DomainError, match="18 janvier 2013, 23 h 59, heure de Montréal") as error:
        complements.ensure_in_time(due, datetime(2013, 1, 19, 0, 0, 1, tzinfo=MONTREAL))
    assert error.value.code == "conflict" and "peut prolonger le délai" in error.value.message


def test_a_response_deadline_is_after_today_and_within_sixty_days():
    today = date(2013, 1, 7)
    complements.check_due_date(today + timedelta(days=1), today)
    complements.check_due_date(today + timedelta(days=60), today)
    with pytest.raises(DomainError, match="doit suivre la date du jour"):
        complements.check_due_date(today, today)
    with pytest.raises(DomainError, match="au plus 60 jours") as error:
        complements.check_due_date(today + timedelta(days=61), today)
    assert error.value.details == {"due_date": "Indiquez une date au plus tard le 8 mars 2013."}


def test_missing_items_and_when_the_analysis_may_resume():
    assert complements.missing_items([Item(True, "a"), Item(False, "b"), Item(False, "c")]) == [
        "b",
        "c",
    ]

    class Request:
        due_date = date(2013, 1, 18)
        status = "pending"

    before = datetime(2013, 1, 18, 12, 0, tzinfo=MONTREAL)
    after = datetime(2013, 1, 19, 0, 1, tzinfo=MONTREAL)
    assert not complements.may_resume(Request, before)  # the institution has until then
    assert complements.may_resume(Request, after)  # no answer, delay passed: as it stands
    Request.status = "answered"
    assert complements.may_resume(Request, before)


def test_a_document_item_names_an_application_s_kind_of_piece():
    item = ComplementItemIn(label="Résolution du conseil", kind="document")
    assert item.piece_kind == "other" and item.question_id is None
    item = ComplementItemIn(label="Signature", kind="signature", piece_kind="support_letter")
    assert item.piece_kind is None
    with pytest.raises(ValueError, match="type de pièce jointe d'une demande"):
        ComplementItemIn(label="Le guide", kind="document", piece_kind="guide")


# -- the loop, through the domain -------------------------------------------------------------


def _request(session, application, items, due=date(2013, 1, 18), message=""):
    data = ComplementsRequestIn(
        items=[ComplementItemIn(**item) for item in items], due_date=due, message=message
    )
    return complements.request_complements(session, ANALYST, application.id, data)


def test_the_whole_loop_keeps_the_deposit_time_and_changes_only_the_named_items(session):
    with clock.frozen_at(local(2012, 12, 1, 10, 0)):
        call = published_call(session)
        # A cégep's application signed by its DG and director of studies.
        application = submitted_application(session, call, CMV_DG, (CMV_DG, CMV_STUDIES))
    deposited_at = aware(application.submitted_at)
    digest, reference = application.content_sha256, application.reference
    question = next(
        q for s in call.sections for q in s.questions if q.kind == "text" and q.max_length
    )
    with clock.frozen_at(local(2013, 1, 7, 9, 0)):
        # Only the ministry's staff ask, and only while the admissibility is to be decided.
        data = ComplementsRequestIn(
            items=[ComplementItemIn(label="Un document", kind="document")],
            due_date=date(2013, 1, 18),
        )
        for who in (EVALUATOR, CMV_DG):
            with pytest.raises(DomainError) as error:
                complements.request_complements(session, who, application.id, data)
            assert error.value.code == "forbidden"
        request = _request(
            session,
            application,
            [
                {
                    "label": "Signature de la direction de la formation continue",
                    "kind": "signature",
                },
                {
                    "label": "Résolution du conseil d'administration",
                    "kind": "document",
                    "piece_kind": "official_document",
                },
                {
                    "label": "Nombre de personnes accompagnées",
                    "kind": "answer",
                    "question_id": question.id,
                },  # fmt: skip
            ],
            message="Merci de compléter le dossier.",
        )
    assert application.status == "complements"
    assert request.number == 1 and [i.position for i in request.items] == [1, 2, 3]
    [requested] = events(session, "application.complements_requested")
    assert requested["payload"]["items"][0] == "Signature de la direction de la formation continue"
    assert requested["payload"]["due_date"] == "2013-01-18"
    signature, document, answer = request.items

    with clock.frozen_at(local(2013, 1, 10, 14, 0)):
        # Nothing else changes: the form, the pieces, the signatures, the deposit.
        section = call.sections[0]
        for attempt, kwargs in (
            (dossiers.save_answers, {"section_id": section.id, "answers": {}}),
            (dossiers.sign, {}),
            (dossiers.submit, {}),
        ):
            with pytest.raises(DomainError, match="seuls les éléments que le Ministère"):
                attempt(session, CMV_FC, application.id, **kwargs)
        with pytest.raises(DomainError, match="seuls les éléments"):
            dossiers.add_attachment(
                session, CMV_DG, application.id, "other", "autre.pdf", MINIMAL_PDF
            )
        with pytest.raises(DomainError, match="ne peut être retirée"):
            dossiers.withdraw(session, CMV_DG, application.id)
        # Each item only in its own way.
        with pytest.raises(DomainError, match="n'attend pas de réponse écrite"):
            complements.answer_item(session, CMV_DG, application.id, document.id, "texte")
        with pytest.raises(DomainError, match="n'attend pas de document"):
            complements.upload_document(
                session, CMV_DG, application.id, signature.id, "x.pdf", MINIMAL_PDF
            )
        # Another institution, the ministry: not theirs to answer.
        with pytest.raises(DomainError) as error:
            complements.answer_item(session, LEVIS_DG, application.id, answer.id, "texte")
        assert error.value.code == "not_found"
        with pytest.raises(DomainError) as error:
            complements.answer_item(session, ANALYST, application.id, answer.id, "texte")
        assert error.value.code == "forbidden"
        # Transmitting before every item is provided is refused, naming them.
        with pytest.raises(DomainError, match="fournissez d'abord « Signature de la direction"):
            complements.transmit_answer(session, CMV_DG, application.id, "")
        # The signature: by a signatory who has not signed yet, with their own account.
        with pytest.raises(DomainError, match="déjà signé"):
            complements.sign_item(session, CMV_DG, application.id, signature.id)
        complements.sign_item(session, CMV_FC, application.id, signature.id)
        # The document, replaced once before the answer: the first one is gone.
        complements.upload_document(
            session, CMV_DG, application.id, document.id, "resolution-brouillon.pdf", MINIMAL_PDF
        )
        complements.upload_document(
            session, CMV_DG, application.id, document.id, "resolution-ca.pdf", MINIMAL_PDF
        )
        # The answer replaces the question's answer, within its limit; the old one is kept.
        before = next(a.value for a in application.answers if a.question_id == question.id)
        with pytest.raises(DomainError, match="caractères; le maximum est"):
            complements.answer_item(
                session, CMV_DG, application.id, answer.id, "x" * (question.max_length + 1)
            )
        complements.answer_item(
            session, CMV_DG, application.id, answer.id, "Nous avons accompagné 212 personnes."
        )
        complements.transmit_answer(session, CMV_DG, application.id, "Voici les compléments.")
    assert [s.full_name for s in application.signatures] == [
        "Nathalie Ouellet",
        "Annie Lavoie",
        "Jean-François Roy",
    ]
    pieces = [(a.kind, a.filename) for a in application.attachments]
    assert ("official_document", "resolution-ca.pdf") in pieces
    assert ("official_document", "resolution-brouillon.pdf") not in pieces
    assert answer.previous_text == before and answer.text == "Nous avons accompagné 212 personnes."
    assert request.status == "answered" and request.answered_by_name == "Nathalie Ouellet"
    [answered] = events(session, "application.complements_answered")
    assert answered["payload"]["answered_by_user_id"] == CMV_DG.user_id
    # Transmitted: nothing changes any more.
    with pytest.raises(DomainError, match="est transmise"):
        complements.answer_item(session, CMV_DG, application.id, answer.id, "Autre chose.")

    with clock.frozen_at(local(2013, 1, 11, 9, 0)):
        # The analysis is blocked until resumed, then resumes: « Déposée » again.
        with pytest.raises(DomainError, match="reprenez l'analyse de la recevabilité"):
            review.record_paper_receipt(session, ANALYST, application.id, date(2012, 12, 20))
        complements.resume(session, ANALYST, application.id, "Compléments reçus.")
    assert application.status == "submitted" and request.status == "resumed"
    [resumed] = events(session, "application.admissibility_resumed")
    assert resumed["payload"]["answered"] is True
    # The deposit is the original one: time, reference, content hash; rule 4 judges it.
    assert aware(application.submitted_at) == deposited_at
    assert (application.reference, application.content_sha256) == (reference, digest)
    assert dossiers.facts_for(application).submitted_at == deposited_at
    deposit = next(r for r in review.computed_rules(application) if r["rule"] == "deposit")
    assert "Dépôt électronique le 1er décembre 2012" in deposit["reason"]
    assert "janvier 2013" not in deposit["reason"]
    # A second request gets the next number; the first stays as it was.
    with clock.frozen_at(local(2013, 1, 14, 9, 0)):
        second = _request(session, application, [{"label": "Précision", "kind": "answer"}])
    assert second.number == 2 and [r.status for r in application.complement_requests] == [
        "resumed",
        "pending",
    ]


def test_a_late_answer_is_refused_until_the_analyst_extends_or_resumes(session):
    with clock.frozen_at(local(2012, 12, 1, 10, 0)):
        call = published_call(session)
        application = submitted_application(session, call)
    with clock.frozen_at(local(2013, 1, 7, 9, 0)):
        request = _request(
            session, application, [{"label": "Précision sur l'offre", "kind": "answer"}]
        )
        with pytest.raises(DomainError, match="reprenez l'analyse"):  # one request at a time
            _request(session, application, [{"label": "Autre précision", "kind": "answer"}])
        # Before the deadline the analyst cannot resume without the answer.
        with pytest.raises(DomainError, match="a jusqu'au 18 janvier 2013, 23 h 59"):
            complements.resume(session, ANALYST, application.id, "")
    [item] = request.items
    with clock.frozen_at(local(2013, 1, 19, 0, 0, 30)):
        view = views.complements_view(LEVIS_RAC, application, mine=True)
        assert not view["can_answer"] and "est passé" in view["answer_blocker"]
        with pytest.raises(DomainError, match="18 janvier 2013, 23 h 59, heure de Montréal"):
            complements.answer_item(session, LEVIS_RAC, application.id, item.id, "Réponse.")
        assert item.text is None
        # The analyst extends; the institution answers in the new delay.
        with pytest.raises(DomainError, match="doit suivre la date limite actuelle"):
            complements.extend_deadline(session, ANALYST, application.id, date(2013, 1, 18))
        complements.extend_deadline(session, ANALYST, application.id, date(2013, 1, 25))
    assert request.due_date == date(2013, 1, 25)
    assert request.extensions[0]["previous_due_date"] == "2013-01-18"
    [extended] = events(session, "application.complements_deadline_extended")
    assert extended["payload"]["due_date"] == "2013-01-25"
    with clock.frozen_at(local(2013, 1, 20, 10, 0)):
        complements.answer_item(session, LEVIS_RAC, application.id, item.id, "Réponse.")
    # Past the new deadline without transmitting: the analyst resumes on the file as it is.
    with clock.frozen_at(local(2013, 1, 26, 9, 0)):
        with pytest.raises(DomainError, match="25 janvier 2013"):
            complements.transmit_answer(session, LEVIS_RAC, application.id, "")
        complements.resume(session, ANALYST, application.id, "Sans réponse dans le délai.")
    assert application.status == "submitted" and request.answered_at is None
    [resumed] = events(session, "application.admissibility_resumed")
    assert resumed["payload"]["answered"] is False


def test_only_the_staff_and_the_institution_see_the_exchange(session):
    with clock.frozen_at(local(2012, 12, 1, 10, 0)):
        call = published_call(session)
        application = submitted_application(session, call)
    with clock.frozen_at(local(2013, 1, 7, 9, 0)):
        _request(session, application, [{"label": "Précision", "kind": "answer"}])
        staff = views.complements_view(ANALYST, application, mine=False)
        assert staff["can_extend"] and not staff["can_resume"] and not staff["can_request"]
        own = views.complements_view(LEVIS_STUDIES, application, mine=True)
        assert own["can_answer"] and not own["can_sign"]  # already signed
        assert [r["items"][0]["label"] for r in own["requests"]] == ["Précision"]
        assert views.complements_view(EVALUATOR, application, mine=False) is None


def test_the_home_page_says_who_has_to_act(session):
    with clock.frozen_at(local(2012, 12, 1, 10, 0)):
        call = published_call(session)
        application = submitted_application(session, call)
    with clock.frozen_at(local(2013, 1, 14, 9, 0)):
        request = _request(session, application, [{"label": "Précision", "kind": "answer"}])
        [action] = [
            a
            for a in home.home_summary(session, LEVIS_RAC)
            if a["label"].startswith("Répondre à la demande de compléments")
        ]
        assert action["label"].endswith("(au plus tard le 18 janvier 2013)") and action["urgent"]
        assert action["url"] == f"/demandes/{application.id}#complements"
        complements.answer_item(session, LEVIS_RAC, application.id, request.items[0].id, "Oui.")
        complements.transmit_answer(session, LEVIS_RAC, application.id, "")
        session.flush()
        labels = [a["label"] for a in home.home_summary(session, LEVIS_RAC)]
        assert not any(label.startswith("Répondre") for label in labels)
        [waiting] = [
            a for a in home.home_summary(session, ANALYST) if "analyse à reprendre" in a["label"]
        ]
        assert waiting["count"] == 1
        assert waiting["url"] == f"/appels/{call.id}/demandes?status=complements"
