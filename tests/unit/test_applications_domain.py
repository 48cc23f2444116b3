"""Calls and applications through the domain functions, on an in-memory database, with the
clock set to the dates of the 2012-2013 call. The receipt's PDF rendering is replaced by a
stub here (the service tests render the real one, as the service's timer does)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from rac_shared.clock import MONTREAL, clock
from rac_shared.contracts.applications import (  # the service's inputs, from its contract
    AmendmentIn,
    CallIn,
    CallQuery,
    CriterionIn,
    GridIn,
    QuestionIn,
    SectionIn,
    TableQuery,
)
from rac_shared.errors import DomainError
from services.applications import access, calls, dossiers, home, review, staff_table
from services.applications.demo import CRITERIA_2012
from services.applications.models import Application, Attachment, Base, Call
from services.applications.receipt import receipt_html
from services.applications.testing import (
    ADMIN,
    ANALYST,
    CMV_DG,
    CMV_FC,
    CSN_DG,
    CSN_FP,
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
    memory_session,
)
from tests.support.applications_call import build_call, fill_application
from tests.support.typography import ordinary_spaces

FAKE_PDF = b"%PDF-1.4 accuse de reception (stub)"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=MONTREAL)


def render_stub(application) -> bytes:
    return FAKE_PDF


@pytest.fixture
def session():
    session = memory_session()
    yield session
    session.close()


@pytest.fixture
def in_december():
    """Most tests act on 1 December 2012, three weeks before the deadline."""
    with clock.frozen_at(local(2012, 12, 1, 10, 0)):
        yield


def events(session, event_type: str | None = None) -> list[dict]:
    outbox = Base.metadata.tables["outbox"]
    rows = session.execute(select(outbox.c.event_type, outbox.c.body).order_by(outbox.c.id))
    return [body for kind, body in rows if event_type in (None, kind)]


def published_call(session, **overrides) -> Call:
    data = call_data(**overrides)
    launch = data["launch_date"]
    with clock.frozen_at(local(launch.year, launch.month, launch.day, 9, 0)):
        call = build_call(session, ADMIN, data, guide_pdf=MINIMAL_PDF)
        calls.publish_call(session, ADMIN, call.id)
    session.flush()
    session.expire_all()
    return session.get(Call, call.id)


def open_app(session, call, member=LEVIS_RAC) -> Application:
    application = dossiers.open_application(
        session, member, call.id, ORGANISATIONS[member.organisation_id]
    )
    session.flush()
    session.refresh(application)
    return application


def ready(session, call, member=LEVIS_RAC, signers=(LEVIS_DG, LEVIS_STUDIES)) -> Application:
    application = open_app(session, call, member)
    fill_application(session, member, application)
    for signer in signers:
        dossiers.sign(session, signer, application.id)
    session.flush()
    return application


# -- calls ---------------------------------------------------------------------------------


def test_every_form_carries_the_three_mandate_parts_and_reporting(session):
    with clock.frozen_at(local(2012, 9, 1)):
        call = calls.create_call(session, ADMIN, CallIn(**call_data()))
    parts = [s.mandate_part for s in sorted(call.sections, key=lambda s: s.position)]
    assert parts == ["offer", "quality", "development", "reporting"]
    for section in call.sections:
        kinds = [(q.kind, q.must_accept) for q in section.questions]
        assert kinds == [("yes_no", True), ("text", False)]
    with pytest.raises(DomainError, match="ne peuvent pas être retirées"):
        calls.delete_section(session, ADMIN, call.id, call.sections[0].id)
    commitment = call.sections[0].questions[0]
    with pytest.raises(DomainError, match="ne peut pas être retirée"):
        calls.delete_question(session, ADMIN, call.id, call.sections[0].id, commitment.id)


def test_sections_are_added_at_the_end_or_at_a_position_and_moved(session):
    with clock.frozen_at(local(2012, 9, 1)):
        call = calls.create_call(session, ADMIN, CallIn(**call_data()))
        last = calls.add_section(session, ADMIN, call.id, SectionIn(title="Annexes"))
        first = calls.add_section(
            session, ADMIN, call.id, SectionIn(title="Présentation", position=1)
        )
        titles = [s.title for s in sorted(call.sections, key=lambda s: s.position)]
        assert titles[0] == "Présentation" and titles[-1] == "Annexes"
        assert [s.position for s in sorted(call.sections, key=lambda s: s.position)] == [
            1,
            2,
            3,
            4,
            5,
            6,
        ]
        calls.move_section(session, ADMIN, call.id, last.id, -1)
        calls.move_section(session, ADMIN, call.id, first.id, -1)  # already first: stays
        titles = [s.title for s in sorted(call.sections, key=lambda s: s.position)]
    assert titles[0] == "Présentation"
    assert titles[-2:] == ["Annexes", "Reddition de comptes"]


def test_only_the_ministry_admin_manages_calls(session):
    for someone in (ANALYST, EVALUATOR, LEVIS_DG):
        with pytest.raises(DomainError) as error:
            calls.create_call(session, someone, CallIn(**call_data()))
        assert error.value.code == "forbidden"
    with pytest.raises(DomainError) as error:
        calls.calls_page(session, EMPLOYER, CallQuery())
    assert error.value.code == "forbidden"


def test_dates_in_the_wrong_order_are_refused_with_a_clear_message(session):
    with pytest.raises(DomainError) as error:
        calls.create_call(
            session,
            ADMIN,
            CallIn(**call_data(deadline_date=date(2012, 8, 1), analysis_date=date(2012, 7, 1))),
        )
    assert error.value.details == {
        "deadline_date": "La date limite de dépôt doit suivre la date de lancement.",
        "analysis_date": "L'analyse des demandes doit être prévue après la date limite de dépôt.",
    }
    assert session.scalar(select(Call)) is None


def test_publishing_needs_a_valid_grid_dates_guide_and_questions(session):
    with clock.frozen_at(local(2012, 9, 1)):
        call = calls.create_call(
            session, ADMIN, CallIn(**call_data(designation_date=None, experimentation_years=[]))
        )
        calls.set_criteria(
            session,
            ADMIN,
            call.id,
            GridIn(
                criteria=[
                    CriterionIn(group="qualite", label="Critère A", weight=50, threshold=30),
                    CriterionIn(group="pertinence", label="Critère B", weight=40, threshold=20),
                ]
            ),
        )
        empty = calls.add_section(session, ADMIN, call.id, SectionIn(title="Annexe vide"))
        with pytest.raises(DomainError) as error:
            calls.publish_call(session, ADMIN, call.id)
    problems = error.value.details["problemes"]
    assert "La date prévue de la désignation est manquante." in problems
    assert "Les années d'expérimentation sont manquantes." in problems
    assert any("doit compter 4 critères (actuellement 1)" in p for p in problems)
    assert any("doit compter 2 critères (actuellement 1)" in p for p in problems)
    assert "La somme des pondérations doit être de 100 (actuellement 90)." in problems
    assert "Le guide de présentation (PDF) n'est pas joint." in problems
    assert f"La section « {empty.title} » ne contient aucune question." in problems
    assert call.status == "draft" and events(session) == []


def test_threshold_above_weight_is_refused(session):
    with clock.frozen_at(local(2012, 9, 1)):
        call = calls.create_call(session, ADMIN, CallIn(**call_data()))
        with pytest.raises(DomainError) as error:
            calls.set_criteria(
                session,
                ADMIN,
                call.id,
                GridIn(
                    criteria=[CriterionIn(group="qualite", label="Abc", weight=10, threshold=11)]
                ),
            )
    assert "criteria.0.threshold" in error.value.details


def test_publish_emits_call_published_and_freezes_the_call(session):
    call = published_call(session)
    assert call.status == "published"
    [event] = events(session, "call.published")
    assert event["payload"]["deadline_date"] == "2012-12-21"
    assert event["payload"]["education_orders"] == ["secondaire", "collégial"]
    assert [c.weight for c in sorted(call.criteria, key=lambda c: c.position)] == [
        w for _, _, w, _ in CRITERIA_2012
    ]
    with clock.frozen_at(local(2012, 10, 1)):
        with pytest.raises(DomainError, match="avis de modification"):
            calls.update_call(session, ADMIN, call.id, CallIn(**call_data(title="Autre titre")))
        with pytest.raises(DomainError, match="avis de modification"):
            calls.set_criteria(session, ADMIN, call.id, GridIn(criteria=[]))
        with pytest.raises(DomainError, match="avis de modification"):
            calls.add_question(
                session,
                ADMIN,
                call.id,
                call.sections[0].id,
                QuestionIn(label="Nouvelle question", kind="text"),
            )


def test_a_deadline_already_passed_cannot_be_published(session):
    with clock.frozen_at(local(2012, 12, 22, 0, 0)):
        call = build_call(session, ADMIN, call_data(), guide_pdf=MINIMAL_PDF)
        with pytest.raises(DomainError, match="déjà passée"):
            calls.publish_call(session, ADMIN, call.id)


def test_drafts_are_invisible_to_institutions(session):
    with clock.frozen_at(local(2012, 9, 1)):
        call = calls.create_call(session, ADMIN, CallIn(**call_data()))
    assert calls.calls_page(session, LEVIS_RAC, CallQuery())["rows"] == []
    with pytest.raises(DomainError) as error:
        calls.get_call(session, LEVIS_RAC, call.id)
    assert error.value.code == "not_found"
    assert [c.id for (c,) in calls.calls_page(session, ANALYST, CallQuery())["rows"]] == [call.id]


def test_an_amendment_is_explicit_logged_and_announced(session, in_december):
    call = published_call(session)
    open_app(session, call, LEVIS_RAC)
    open_app(session, call, CSN_RAC)
    new_grid = [
        CriterionIn(group=g, label=label, weight=w, threshold=t) for g, label, w, t in CRITERIA_2012
    ]
    new_grid[0] = new_grid[0].model_copy(update={"weight": 25, "threshold": 15})
    new_grid[3] = new_grid[3].model_copy(update={"weight": 5, "threshold": 3})
    amendment = calls.amend_call(
        session,
        ADMIN,
        call.id,
        AmendmentIn(
            reason="Report de la date limite à la demande des réseaux.",
            deadline_date=date(2013, 1, 11),
            criteria=new_grid,
        ),
    )
    assert amendment.number == 1
    assert amendment.changes["deadline_date"] == {"avant": "2012-12-21", "après": "2013-01-11"}
    assert "criteria" in amendment.changes
    assert call.deadline_date == date(2013, 1, 11) and call.version == 2
    assert sorted(amendment.organisation_ids) == [2, 4]
    [event] = events(session, "call.amended")
    assert event["payload"]["organisation_ids"] == [2, 4]
    assert event["payload"]["deadline_date"] == "2013-01-11"
    assert calls.describe_change("deadline_date", amendment.changes["deadline_date"]) == (
        "Date limite de dépôt : 21 décembre 2012 → 11 janvier 2013"
    )


def test_an_invalid_or_empty_amendment_changes_nothing(session, in_december):
    call = published_call(session)
    bad_grid = [CriterionIn(group="qualite", label="Seul critère", weight=100, threshold=60)]
    with pytest.raises(DomainError, match="La grille modifiée n'est pas valide"):
        calls.amend_call(
            session,
            ADMIN,
            call.id,
            AmendmentIn(
                reason="Nouvelle grille simplifiée.",
                deadline_date=date(2013, 1, 11),
                criteria=bad_grid,
            ),
        )
    with pytest.raises(DomainError, match="ne change rien"):
        calls.amend_call(
            session,
            ADMIN,
            call.id,
            AmendmentIn(reason="Aucun changement réel.", deadline_date=date(2012, 12, 21)),
        )
    with pytest.raises(DomainError, match="déjà passée"):
        calls.amend_call(
            session,
            ADMIN,
            call.id,
            AmendmentIn(reason="Date limite avancée par erreur.", deadline_date=date(2012, 11, 30)),
        )
    session.expire_all()
    call = session.get(Call, call.id)
    assert call.deadline_date == date(2012, 12, 21) and call.version == 1
    assert call.amendments == [] and events(session, "call.amended") == []


# -- applications --------------------------------------------------------------------------


def test_open_application_one_per_institution_and_only_on_an_open_call(session, in_december):
    call = published_call(session)
    application = open_app(session, call)
    assert application.organisation_name == "Cégep de Lévis"
    assert application.education_order == "collégial" and application.status == "draft"
    with pytest.raises(DomainError) as error:
        open_app(session, call)
    assert error.value.code == "conflict"
    assert error.value.details == {"application_id": str(application.id)}
    # The directory's record must be the actor's own institution.
    with pytest.raises(DomainError, match="ne correspond pas"):
        dossiers.open_application(session, CMV_DG, call.id, ORGANISATIONS[4])
    for outsider in (ADMIN, EMPLOYER):
        with pytest.raises(DomainError) as error:
            dossiers.open_application(session, outsider, call.id, ORGANISATIONS[2])
        assert error.value.code == "forbidden"
    with pytest.raises(DomainError) as error:
        dossiers.open_application(session, CMV_DG, 999, ORGANISATIONS[3])
    assert error.value.code == "not_found"
    calls.close_call(session, ADMIN, call.id)
    with pytest.raises(DomainError, match="L'appel d'intérêt est fermé"):
        open_app(session, call, CMV_DG)
    assert session.scalar(select(Application).where(Application.organisation_id == 3)) is None


def test_a_call_for_one_order_only_refuses_the_other(session, in_december):
    call = published_call(session, education_orders=["collégial"])
    with pytest.raises(DomainError, match="ne vise pas l'ordre secondaire"):
        open_app(session, call, CSN_RAC)


def test_answers_are_validated_all_or_nothing(session, in_december):
    call = published_call(session)
    application = open_app(session, call)
    presentation = min(call.sections, key=lambda s: s.position)
    text, long_text, choice = presentation.questions
    with pytest.raises(DomainError) as error:
        dossiers.save_answers(
            session,
            LEVIS_RAC,
            application.id,
            presentation.id,
            {text.id: "Réponse correcte", long_text.id: "x" * 3001, choice.id: "Jamais"},
        )
    assert error.value.details == {
        f"q{long_text.id}": "La réponse compte 3001 caractères; le maximum est 3000.",
        f"q{choice.id}": "Choisissez une des options proposées.",
    }
    assert application.answers == []
    other_section = max(call.sections, key=lambda s: s.position)
    with pytest.raises(DomainError) as error:
        dossiers.save_answers(
            session, LEVIS_RAC, application.id, other_section.id, {text.id: "ailleurs"}
        )
    assert f"q{text.id}" in error.value.details
    dossiers.save_answers(
        session, LEVIS_RAC, application.id, presentation.id, {text.id: "  Réponse correcte "}
    )
    assert dossiers.answers_of(application) == {text.id: "Réponse correcte"}


def test_checklist_and_submission_need_every_section_documents_and_signatures(session, in_december):
    call = published_call(session)
    application = open_app(session, call)
    items = {i["key"]: i for i in dossiers.checklist(application)}
    assert not items["support_letters"]["done"] and not items["signatures"]["done"]
    with pytest.raises(DomainError) as error:
        dossiers.submit(session, LEVIS_RAC, application.id)
    assert error.value.code == "invalid"
    assert "signatures" in error.value.details and "support_letters" in error.value.details
    assert application.status == "draft" and application.reference is None
    fill_application(session, LEVIS_RAC, application)
    dossiers.sign(session, LEVIS_DG, application.id)
    with pytest.raises(DomainError) as error:
        dossiers.submit(session, LEVIS_RAC, application.id)
    assert error.value.details == {
        "signatures": "Signatures requises — Signature manquante : la direction des études ou "
        "de la formation continue."
    }
    assert events(session, "application.submitted") == []


def test_a_refused_commitment_shows_in_the_checklist(session, in_december):
    call = published_call(session)
    application = open_app(session, call)
    fill_application(session, LEVIS_RAC, application)
    reporting = next(s for s in call.sections if s.mandate_part == "reporting")
    commitment = next(q for q in reporting.questions if q.must_accept)
    dossiers.save_answers(session, LEVIS_RAC, application.id, reporting.id, {commitment.id: "non"})
    item = next(i for i in dossiers.checklist(application) if i["section_id"] == reporting.id)
    assert not item["done"] and "non souscrit" in item["detail"]


def test_wrong_signatory_roles_are_refused(session, in_december):
    call = published_call(session)
    application = open_app(session, call)
    with pytest.raises(DomainError, match="direction des études ou de la formation continue"):
        dossiers.sign(session, LEVIS_RAC, application.id)
    with pytest.raises(DomainError) as error:
        dossiers.sign(session, CMV_DG, application.id)  # another institution's DG
    assert error.value.code == "not_found"
    dossiers.sign(session, LEVIS_DG, application.id)
    with pytest.raises(DomainError, match="déjà signé"):
        dossiers.sign(session, LEVIS_DG, application.id)
    assert [s.full_name for s in application.signatures] == ["Isabelle Bégin"]


def test_any_change_voids_the_signatures(session, in_december):
    call = published_call(session)
    application = ready(session, call)
    assert len(application.signatures) == 2
    section = min(call.sections, key=lambda s: s.position)
    question = section.questions[0]
    _, voided = dossiers.save_answers(
        session, LEVIS_RAC, application.id, section.id, {question.id: "Nouvelle réponse"}
    )
    assert voided == 2 and application.signatures == []
    # Saving the same content again voids nothing.
    dossiers.sign(session, LEVIS_DG, application.id)
    _, voided = dossiers.save_answers(
        session, LEVIS_RAC, application.id, section.id, {question.id: "Nouvelle réponse"}
    )
    assert voided == 0 and len(application.signatures) == 1


def test_submit_a_cegep_application(session, in_december):
    call = published_call(session)
    application = ready(session, call)
    with clock.frozen_at(local(2012, 12, 14, 9, 15)):
        dossiers.submit(session, LEVIS_RAC, application.id)
    assert application.status == "submitted"
    assert application.reference == f"CERAC-2012-CLV-{application.id:04d}"
    assert len(application.content_sha256) == 64
    assert application.content_sha256 == dossiers.content_digest(application)
    # The receipt is rendered afterwards, off the request.
    session.flush()
    assert application.receipt_pdf is None
    assert dossiers.pending_receipts(session) == [application]
    dossiers.attach_receipt(application, render_stub)
    session.flush()
    assert application.receipt_pdf == FAKE_PDF and dossiers.pending_receipts(session) == []
    assert dossiers.receipt_ready(session, application)
    [event] = events(session, "application.submitted")
    assert event["payload"]["reference"] == application.reference
    assert event["payload"]["content_sha256"] == application.content_sha256
    assert event["payload"]["submitted_at"].startswith("2012-12-14T14:15")
    # Read-only afterwards.
    section = call.sections[0]
    with pytest.raises(DomainError) as error:
        dossiers.save_answers(session, LEVIS_RAC, application.id, section.id, {})
    assert error.value.code == "conflict"
    with pytest.raises(DomainError) as error:
        dossiers.add_attachment(session, LEVIS_RAC, application.id, "other", "x.pdf", MINIMAL_PDF)
    assert error.value.code == "conflict"
    with pytest.raises(DomainError, match="déjà été déposée|ne peut plus"):
        dossiers.submit(session, LEVIS_RAC, application.id)
    html = ordinary_spaces(receipt_html(application))
    assert "Accusé de réception" in html and application.reference in html
    assert application.content_sha256 in html
    assert "14 décembre 2012 à 9 h 15" in html
    assert "Isabelle Bégin" in html and "Direction des études" in html


def test_school_service_centre_with_a_designated_manager(session, in_december):
    call = published_call(session)
    application = open_app(session, call, CSN_RAC)
    fill_application(session, CSN_RAC, application)
    dossiers.sign(session, CSN_DG, application.id)
    with pytest.raises(DomainError, match="désignation par la direction générale est jointe"):
        dossiers.sign(session, CSN_RAC, application.id)
    dossiers.add_attachment(
        session, CSN_DG, application.id, "designation", "designation.pdf", MINIMAL_PDF
    )
    # Adding the designation changed the content: the DG signs again, then the manager.
    assert application.signatures == []
    dossiers.sign(session, CSN_DG, application.id)
    dossiers.sign(session, CSN_RAC, application.id)
    assert [s.capacity for s in application.signatures] == [
        "director_general",
        "designated_manager",
    ]
    dossiers.submit(session, CSN_RAC, application.id)
    assert application.reference.startswith("CERAC-2012-CSN-")


def test_school_service_centre_with_its_vocational_training_director(session, in_december):
    call = published_call(session)
    application = ready(session, call, CSN_RAC, (CSN_DG, CSN_FP))
    dossiers.submit(session, CSN_FP, application.id)
    assert application.status == "submitted"


# 2012 in Montréal: clocks went forward on 11 March and back on 4 November.
@pytest.mark.parametrize(
    "deadline",
    [
        date(2012, 3, 10),
        date(2012, 3, 11),
        date(2012, 11, 3),
        date(2012, 11, 4),
        date(2012, 12, 21),
    ],
    ids=str,
)
def test_submission_deadline_is_the_end_of_the_day_in_montreal(session, deadline):
    call = published_call(
        session,
        launch_date=deadline - timedelta(days=30),
        deadline_date=deadline,
        analysis_date=deadline + timedelta(days=30),
        designation_date=deadline + timedelta(days=60),
    )
    with clock.frozen_at(local(deadline.year, deadline.month, deadline.day, 12, 0)):
        on_time = ready(session, call)
        late = ready(session, call, CMV_DG, (CMV_DG, CMV_FC))
    with clock.frozen_at(local(deadline.year, deadline.month, deadline.day, 23, 59, 59)):
        dossiers.submit(session, LEVIS_RAC, on_time.id)
    next_day = deadline + timedelta(days=1)
    with clock.frozen_at(local(next_day.year, next_day.month, next_day.day, 0, 0, 0)):
        with pytest.raises(DomainError) as error:
            dossiers.submit(session, CMV_DG, late.id)
        assert error.value.code == "conflict"
        assert "est passée" in error.value.message
        with pytest.raises(DomainError, match="ne peut plus être retirée"):
            dossiers.withdraw(session, LEVIS_RAC, on_time.id)
    assert on_time.status == "submitted" and late.status == "draft"
    assert late.reference is None
    assert len(events(session, "application.submitted")) == 1


def test_withdraw_before_the_deadline_and_reopen(session, in_december):
    call = published_call(session)
    application = ready(session, call)
    dossiers.submit(session, LEVIS_RAC, application.id)
    dossiers.withdraw(session, LEVIS_DG, application.id)
    assert application.status == "withdrawn"
    [event] = events(session, "application.withdrawn")
    assert event["payload"]["application_id"] == application.id
    with pytest.raises(DomainError, match="déjà retirée"):
        dossiers.withdraw(session, LEVIS_DG, application.id)
    with pytest.raises(DomainError) as error:
        dossiers.withdraw(session, CMV_DG, application.id)
    assert error.value.code == "not_found"
    dossiers.reopen(session, LEVIS_RAC, application.id)
    assert application.status == "draft" and application.signatures == []
    assert application.reference is None


# -- tenant scoping ------------------------------------------------------------------------


def test_who_reads_what(session, in_december):
    call = published_call(session)
    draft = open_app(session, call)
    dossiers.add_attachment(
        session, LEVIS_RAC, draft.id, "support_letter", "lettre.pdf", MINIMAL_PDF
    )
    attachment = draft.attachments[0]
    # Another institution: not found, attachments included.
    for outsider in (CMV_DG, CSN_RAC):
        for read in (
            lambda a: access.load(session, a, draft.id),
            lambda a: dossiers.get_attachment(session, a, draft.id, attachment.id),
        ):
            with pytest.raises(DomainError) as error:
                read(outsider)
            assert error.value.code == "not_found"
    with pytest.raises(DomainError) as error:
        access.load(session, EMPLOYER, draft.id)
    assert error.value.code == "forbidden"
    # The ministry does not read a draft that was never deposited.
    for ministry in (ADMIN, ANALYST, EVALUATOR):
        with pytest.raises(DomainError):
            access.load(session, ministry, draft.id)
    assert dossiers.get_attachment(session, LEVIS_STUDIES, draft.id, attachment.id).content == (
        MINIMAL_PDF
    )
    # Once deposited, analysts read it; evaluators only once it is declared admissible.
    submitted = ready(session, call, CMV_DG, (CMV_DG, CMV_FC))
    dossiers.submit(session, CMV_DG, submitted.id)
    assert access.load(session, ANALYST, submitted.id) is submitted
    with pytest.raises(DomainError):
        access.load(session, EVALUATOR, submitted.id)


def test_disguised_and_oversized_files_change_nothing(session, in_december):
    call = published_call(session)
    application = open_app(session, call)
    with pytest.raises(DomainError, match="aucun format accepté"):
        dossiers.add_attachment(
            session, LEVIS_RAC, application.id, "support_letter", "lettre.pdf", EXE
        )
    with pytest.raises(DomainError, match="taille maximale"):
        dossiers.add_attachment(
            session,
            LEVIS_RAC,
            application.id,
            "support_letter",
            "lettre.pdf",
            MINIMAL_PDF + b"0" * (10 * 1024 * 1024),
        )
    with pytest.raises(DomainError, match="Type de pièce jointe inconnu"):
        dossiers.add_attachment(
            session, LEVIS_RAC, application.id, "virus", "lettre.pdf", MINIMAL_PDF
        )
    session.flush()
    assert session.scalar(select(Attachment).where(Attachment.application_id.isnot(None))) is None


# -- paper copy and admissibility ----------------------------------------------------------


def submitted_application(session, call, member=LEVIS_RAC, signers=(LEVIS_DG, LEVIS_STUDIES)):
    application = ready(session, call, member, signers)
    dossiers.submit(session, member, application.id)
    return application


def review_all(session, application, actor=ANALYST):
    for rule in review.computed_rules(application):
        review.review_rule(session, actor, application.id, rule["rule"], rule["passed"], "")


def test_paper_receipt_records_who_when_and_lateness(session, in_december):
    call = published_call(session)
    application = submitted_application(session, call)
    with pytest.raises(DomainError, match="dans le futur"):
        review.record_paper_receipt(session, ANALYST, application.id, date(2012, 12, 2))
    with pytest.raises(DomainError) as error:
        review.record_paper_receipt(session, EVALUATOR, application.id, date(2012, 12, 1))
    assert error.value.code == "forbidden"
    with clock.frozen_at(local(2013, 1, 7, 9, 0)):
        review.record_paper_receipt(session, ANALYST, application.id, date(2013, 1, 4))
    assert application.paper_late is True
    assert application.paper_recorded_by_name == "François Côté"
    rule = next(r for r in review.computed_rules(application) if r["rule"] == "deposit")
    assert not rule["passed"] and "4 janvier 2013, après la date limite" in rule["reason"]
    assert application.review_log[-1].text == (
        "Copie papier reçue le 4 janvier 2013 (après la date limite)."
    )


def test_admissibility_review_and_decision(session, in_december):
    call = published_call(session)
    application = submitted_application(session, call)
    with pytest.raises(DomainError, match="À revoir"):
        review.decide(session, ANALYST, application.id, "recevable", "")
    # Before the paper copy, the deposit rule fails; the analyst reviews every rule.
    review_all(session, application)
    with pytest.raises(DomainError, match="ne peut être déclarée recevable"):
        review.decide(session, ANALYST, application.id, "recevable", "")
    # The paper copy arrives: the deposit rule's review is now stale and must be redone.
    with clock.frozen_at(local(2012, 12, 20, 9, 0)):
        review.record_paper_receipt(session, ANALYST, application.id, date(2012, 12, 20))
    state = {r["rule"]: r for r in review.review_state(application)}
    assert state["deposit"]["stale"] and not state["deposit"]["reviewed"]
    with pytest.raises(DomainError, match="À revoir : Dépôt électronique et papier"):
        review.decide(session, ANALYST, application.id, "recevable", "")
    # Overriding a computed result needs a written justification.
    with pytest.raises(DomainError, match="justification écrite"):
        review.review_rule(session, ANALYST, application.id, "deposit", False, "non")
    review.review_rule(session, ANALYST, application.id, "deposit", True, "")
    with pytest.raises(DomainError, match="sans dérogation justifiée"):
        review.decide(session, ANALYST, application.id, "non_recevable", "")
    review.decide(session, ANALYST, application.id, "recevable", "Demande complète.")
    assert application.admissibility == "recevable"
    [event] = events(session, "application.admissibility_decided")
    payload = event["payload"]
    assert payload["admissible"] is True and payload["decision"] == "recevable"
    assert [r["rule"] for r in payload["rules"]] == [
        "institution",
        "signatures",
        "completeness",
        "deposit",
    ]
    assert all(r["passed"] and r["computed_passed"] for r in payload["rules"])
    actions = [(e.action, e.rule) for e in application.review_log]
    assert actions[-1] == ("decided", None)
    assert ("paper", None) in actions and ("confirmed", "deposit") in actions
    # Decided: final, and now visible to evaluators.
    with pytest.raises(DomainError, match="déjà décidée"):
        review.decide(session, ANALYST, application.id, "non_recevable", "")
    assert access.load(session, EVALUATOR, application.id) is application
    with pytest.raises(DomainError, match="ne peut être retirée"):
        dossiers.withdraw(session, LEVIS_RAC, application.id)


def test_an_override_makes_an_application_not_admissible(session, in_december):
    call = published_call(session)
    application = submitted_application(session, call)
    with clock.frozen_at(local(2012, 12, 20, 9, 0)):
        review.record_paper_receipt(session, ANALYST, application.id, date(2012, 12, 20))
    review_all(session, application)
    review.review_rule(
        session,
        ANALYST,
        application.id,
        "completeness",
        False,
        "La lettre d'appui jointe n'est pas signée par le partenaire.",
    )
    with pytest.raises(DomainError, match="ne peut être déclarée recevable"):
        review.decide(session, ANALYST, application.id, "recevable", "")
    review.decide(session, ANALYST, application.id, "non_recevable", "Lettre non signée.")
    [event] = events(session, "application.admissibility_decided")
    rules = {r["rule"]: r for r in event["payload"]["rules"]}
    assert event["payload"]["admissible"] is False
    assert rules["completeness"] == {
        "rule": "completeness",
        "label": "Toutes les sections du formulaire complétées, avec lettres d'appui et "
        "documents officiels",
        "passed": False,
        "computed_passed": True,
        "reason": rules["completeness"]["reason"],
        "justification": "La lettre d'appui jointe n'est pas signée par le partenaire.",
    }
    assert [e.action for e in application.review_log].count("overridden") == 1


# -- the ministry's table and the home page ------------------------------------------------


def _listed(result: dict) -> list:
    return [application for (application,) in result["listing"]["rows"]]


def test_table_filters_sorts_counts_and_pages(session, in_december):
    call = published_call(session)
    levis = submitted_application(session, call)
    with clock.frozen_at(local(2012, 12, 3, 15, 0)):
        csn = submitted_application(session, call, CSN_RAC, (CSN_DG, CSN_FP))
    cmv = open_app(session, call, CMV_DG)
    everything = staff_table.table(session, ANALYST, call.id, TableQuery(sort="organisation"))
    # French order: accents and case do not count (Cégep < Centre; de Lévis < Marie).
    assert [a.organisation_name for a in _listed(everything)] == [
        "Cégep de Lévis",
        "Cégep Marie-Victorin",
        "Centre de services scolaire des Navigateurs",
    ]
    assert everything["counts"] == {"draft": 1, "submitted": 2, "complements": 0, "withdrawn": 0}
    assert everything["decisions"] == {"recevable": 0, "non_recevable": 0, "undecided": 2}
    assert everything["regions"] == ["Chaudière-Appalaches", "Montréal"]
    # Work to do first (the default): deposited and undecided, the oldest deposit first.
    to_decide = staff_table.table(session, ANALYST, call.id, TableQuery())
    assert [a.id for a in _listed(to_decide)] == [levis.id, csn.id, cmv.id]
    by_order = staff_table.table(session, ANALYST, call.id, TableQuery(order="collégial"))
    assert {a.id for a in _listed(by_order)} == {levis.id, cmv.id}
    by_region = staff_table.table(
        session, ANALYST, call.id, TableQuery(region="Chaudière-Appalaches", status="submitted")
    )
    assert {a.id for a in _listed(by_region)} == {levis.id, csn.id}
    newest_first = staff_table.table(session, ADMIN, call.id, TableQuery(sort="-reference"))
    assert [a.id for a in _listed(newest_first)][-1] == cmv.id  # no reference: last
    by_date = staff_table.table(session, ANALYST, call.id, TableQuery(sort="-submitted_at"))
    assert [a.id for a in _listed(by_date)] == [csn.id, levis.id, cmv.id]
    # One row a page: the same order, page after page, each row once.
    seen, cursor = [], None
    for _ in range(3):
        page = staff_table.applications_page(
            session, ANALYST, call.id, TableQuery(sort="-submitted_at", limit=1, cursor=cursor)
        )
        seen += [a.id for (a,) in page["rows"]]
        cursor = page["next_cursor"]
    assert seen == [csn.id, levis.id, cmv.id] and cursor is None and page["count"] == 3
    for outsider in (EVALUATOR, LEVIS_DG):
        with pytest.raises(DomainError) as error:
            staff_table.table(session, outsider, call.id, TableQuery())
        assert error.value.code == "forbidden"


CALLS_LINK = {
    "label": "Consulter les appels d'intérêt",
    "url": "/appels",
    "count": None,
    "urgent": False,
}


def test_home_summary_next_actions(session, in_december):
    call = published_call(session)
    [action, link] = home.home_summary(session, LEVIS_RAC)
    assert link == CALLS_LINK
    assert action["url"] == f"/appels/{call.id}"
    assert "date limite : 21 décembre 2012" in action["label"] and not action["urgent"]
    application = open_app(session, call)
    fill_application(session, LEVIS_RAC, application)
    [action, _] = home.home_summary(session, LEVIS_DG)
    assert action["label"].startswith("Signer la demande de reconnaissance")
    assert action["url"] == f"/demandes/{application.id}"
    [action, _] = home.home_summary(session, LEVIS_RAC)
    assert action["label"].startswith("Compléter et déposer")
    assert home.home_summary(session, EMPLOYER) == []
    with clock.frozen_at(local(2012, 12, 17, 9, 0)):
        assert home.home_summary(session, LEVIS_RAC)[0]["urgent"] is True
    dossiers.sign(session, LEVIS_DG, application.id)
    dossiers.sign(session, LEVIS_STUDIES, application.id)
    dossiers.submit(session, LEVIS_RAC, application.id)
    assert home.home_summary(session, LEVIS_RAC) == [CALLS_LINK]
    actions = home.home_summary(session, ANALYST)
    assert actions[-1] == CALLS_LINK
    labels = {a["label"].split(" :")[0]: a["count"] for a in actions[:-1]}
    assert labels == {
        "Demandes déposées dont la copie papier n'est pas reçue": 1,
        "Demandes dont la recevabilité est à décider": 1,
    }
    assert home.home_summary(session, EVALUATOR) == [CALLS_LINK]
    assert home.home_summary(session, ADMIN)[-1]["label"] == "Gérer les appels d'intérêt"
