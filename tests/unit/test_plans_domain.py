"""The plans domain on a real (SQLite) database: building, issuing, accepting within the
30 days, revising, amending, cancelling, progress and the deadline job.

Billing's estimate and the PDF are not under test here (see the service and integration
tests): ``issue`` below freezes a fixed estimate and stores placeholder bytes as the PDF.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from rac_shared.actor import Actor
from rac_shared.clock import MONTREAL, clock
from rac_shared.contracts.billing import estimate_hash
from rac_shared.contracts.plans import (
    AmendmentIn,
    AnnexTemplateIn,
    CancellationIn,
    DeclineIn,
    DraftPatch,
    OnlineAcceptanceIn,
    PlanCreateIn,
    PlanQuery,
    RecordedAcceptanceIn,
)
from rac_shared.errors import DomainError
from services.applications.testing import MINIMAL_PDF
from services.plans import document, drafts, jobs, lifecycle, progress, texts, views
from services.plans import figures as plan_figures
from services.plans.models import Base, Plan, PlanVersion
from tests.support.typography import ordinary_spaces

LEVIS, CISSS, MARIE_VICTORIN, BOULANGERIE = 2, 5, 3, 6
COORDINATOR = Actor(
    user_id=6,
    role="rac_coordinator",
    organisation_id=LEVIS,
    organisation_kind="cegep",
    full_name="Sophie Bélanger",
)
OTHER_COORDINATOR = Actor(
    user_id=9,
    role="rac_coordinator",
    organisation_id=MARIE_VICTORIN,
    organisation_kind="cegep",
    full_name="Amélie Pelletier",
)
EMPLOYER = Actor(
    user_id=13,
    role="employer_representative",
    organisation_id=CISSS,
    organisation_kind="employer",
    full_name="Julie Morin",
)
OTHER_EMPLOYER = Actor(
    user_id=14,
    role="employer_representative",
    organisation_id=BOULANGERIE,
    organisation_kind="employer",
    full_name="Éric Poulin",
)
MINISTRY = Actor(
    user_id=1,
    role="ministry_admin",
    organisation_id=1,
    organisation_kind="ministry",
    full_name="Hélène Tremblay",
)
INSTITUTION = {
    "id": LEVIS,
    "kind": "cegep",
    "name": "Cégep de Lévis",
    "code": "CLV",
    "address": "205, route Monseigneur-Bourget, Lévis (Québec)  G6V 6Z9",
}
EMPLOYER_ORG = {
    "id": CISSS,
    "kind": "employer",
    "name": "CISSS de Chaudière-Appalaches",
    "code": "CCA",
    "address": "363, route Cameron, Sainte-Marie (Québec)  G6E 3E2",
}
REPRESENTATIVE = {
    "full_name": "Julie Morin",
    "title": "Directrice des ressources humaines",
    "email": "rh@cisss.demo.quebec",
}
SIGNATORY = {"full_name": "Isabelle Bégin", "title": "Directrice générale"}
ESTIMATE = {
    "status": "frozen",
    "lines": [
        {
            "category": "evaluation",
            "description": "Évaluation",
            "quantity": "2",
            "unit_price": "1250.00",
            "amount": "2500.00",
        }
    ],
    "total": "2500.00",
}


def at(*args) -> datetime:
    return datetime(*args, tzinfo=MONTREAL)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    made = sessionmaker(engine, expire_on_commit=False)()
    made.info["metadata"] = Base.metadata
    yield made
    made.close()
    engine.dispose()


def events(session, event_type: str | None = None) -> list[dict]:
    outbox = Base.metadata.tables["outbox"]
    rows = session.execute(select(outbox.c.event_type, outbox.c.body).order_by(outbox.c.id))
    return [body for kind, body in rows if event_type in (None, kind)]


def new_plan(session, **overrides) -> Plan:
    data = {
        "employer_id": CISSS,
        "program_kind": "AEC",
        "program_code": "jee.0k",
        "program_title": "Techniques d'éducation à l'enfance",
        "target_jobs": "les éducatrices et éducateurs en installation",
        "organisation_domain": "de la santé et des services sociaux",
        **overrides,
    }
    plan = drafts.create_plan(
        session,
        COORDINATOR,
        PlanCreateIn(**data),
        institution=INSTITUTION,
        employer=EMPLOYER_ORG if data["employer_id"] else None,
        representatives=[REPRESENTATIVE] if data["employer_id"] else [],
        signatory=SIGNATORY,
    )
    session.commit()
    return plan


def fill(session, plan: Plan) -> Plan:
    drafts.update_draft(
        session,
        COORDINATOR,
        plan.id,
        DraftPatch.model_validate(
            {
                "competencies": [
                    {
                        "code": "0190",
                        "statement": "Analyser la fonction de travail",
                        "group": "REG A",
                        "weeks_3h": 4,
                        "weeks_6h": 2,
                    },
                    {
                        "code": "0191",
                        "statement": "Observer le comportement de l'enfant",
                        "group": "REG A",
                        "weeks_3h": 4,
                        "weeks_6h": 2,
                    },
                    {
                        "code": "0192",
                        "statement": "Assurer le bien-être de l'enfant",
                        "weeks_3h": 6,
                        "weeks_6h": 3,
                    },
                ],
                "candidates": [
                    {
                        "full_name": "Marie Gagnon",
                        "job_title": "Éducatrice",
                        "email": "marie.gagnon@exemple.quebec",
                        "rhythm": 3,
                        "start_date": "2026-10-05",
                        "modality": "in_person",
                    },
                    {
                        "full_name": "Luc Roy",
                        "job_title": "Éducateur",
                        "email": "luc.roy@exemple.quebec",
                        "rhythm": 6,
                        "start_date": "2026-10-05",
                        "modality": "online",
                    },
                ],
            }
        ),
    )
    session.commit()
    return plan


def issue(session, plan: Plan, when: datetime) -> PlanVersion:
    with clock.frozen_at(when):
        prep = lifecycle.prepare_issue(session, COORDINATOR, plan.id)
        facts = lifecycle.issue_facts(plan, plan.current, ESTIMATE)
        lifecycle.commit_issue(
            session,
            COORDINATOR,
            plan.id,
            prep["version"],
            prep["draft_hash"],
            facts,
            ESTIMATE,
            '<html lang="fr"><p>Plan émis</p></html>',
            estimate_hash(ESTIMATE),
        )
        session.commit()
    return plan.current


def accept(session, plan: Plan, when: datetime, version: PlanVersion | None = None):
    version = version or plan.current
    with clock.frozen_at(when):
        lifecycle.accept_online(
            session,
            EMPLOYER,
            plan.id,
            OnlineAcceptanceIn(
                version=version.number,
                content_hash=version.content_hash,
                full_name="Julie Morin",
                title="Directrice des ressources humaines",
                statement="J'accepte",
            ),
            "203.0.113.7",
        )
        session.commit()


# -- building -----------------------------------------------------------------------------


def test_a_new_plan_has_every_section_of_the_template(session):
    plan = new_plan(session)
    assert plan.reference.startswith("PMO-CLV-")
    assert plan.status == "draft"
    content = plan.current.content
    assert content["program"] == {
        "kind": "AEC",
        "code": "JEE.0K",
        "title": "Techniques d'éducation à l'enfance",
    }
    assert content["employer"]["representative_name"] == "Julie Morin"
    assert content["institution"]["signatory_title"] == "Directrice générale"
    assert "CISSS de Chaudière-Appalaches" in content["sections"]["context"]
    assert len(content["sections"]["objectives"]) == 3
    assert [s["kind"] for s in content["steps"]] == [
        "information_meeting",
        "file_deposit",
        "validation_interview",
        "welcome_meeting",
        "missing_training",
        "sanction",
    ]
    annexes = content["annexes"]
    assert "Propriété de la documentation" in annexes["annex_a"]
    assert "[nom de l’organisation]" not in annexes["annex_a"]
    assert "CISSS de Chaudière-Appalaches fournira avec diligence" in annexes["annex_a"]
    assert "La marche à suivre" in annexes["annex_b"]
    assert "SEULEMENT à des fins d’évaluation en RAC" in annexes["annex_c"]


def test_the_non_editable_clause_is_not_content_and_cannot_be_set(session):
    plan = new_plan(session)
    view = views.plan_view(session, plan, COORDINATOR)
    assert "ne peut, en aucun cas, utiliser la RAC" in view["texts"]["organisation_clause"]
    assert "Il ne peut, en aucun cas" not in str(plan.current.content)
    with pytest.raises(DomainError) as error:
        drafts.update_draft(
            session,
            COORDINATOR,
            plan.id,
            drafts.parse(DraftPatch, {"sections": {"organisation_clause": "Rien."}}),
        )
    assert error.value.code == "invalid"


def test_annexes_are_copied_from_the_institutions_own_template(session):
    drafts.save_annex_template(
        session,
        COORDINATOR,
        AnnexTemplateIn(
            annex_a="Conditions générales propres au Cégep de Lévis pour [nom de l’organisation].",
            annex_b="Notre marche à suivre, revue par la direction des études.",
            annex_c="Notre entente de confidentialité, version 2026.",
        ),
    )
    session.commit()
    first = new_plan(session)
    assert first.current.content["annexes"]["annex_a"] == (
        "Conditions générales propres au Cégep de Lévis pour le CISSS de Chaudière-Appalaches."
    )
    # Editing the template later does not change a plan already created.
    drafts.save_annex_template(
        session,
        COORDINATOR,
        AnnexTemplateIn(
            annex_a="Une toute nouvelle version des conditions.",
            annex_b="Notre marche à suivre, revue par la direction des études.",
            annex_c="Notre entente de confidentialité, version 2026.",
        ),
    )
    session.commit()
    session.refresh(first.current)
    assert "propres au Cégep de Lévis" in first.current.content["annexes"]["annex_a"]
    # Another institution still gets the seed's defaults.
    assert drafts.annex_template(session, MARIE_VICTORIN)["annex_a"] == texts.DEFAULT_ANNEX_A


@pytest.mark.parametrize(
    "patch",
    [
        {"sections": {"context": "Bonjour {{ 7*7 }}"}},
        {"sections": {"context": "<script>alert('x')</script>"}},
        {"sections": {"objectives": ["{% include '/etc/passwd' %}"]}},
        {"annexes": {"annex_a": '<img src="file:///etc/passwd">'}},
    ],
)
def test_markup_and_template_syntax_are_refused_and_nothing_changes(session, patch):
    plan = new_plan(session)
    before = dict(plan.current.content)
    with pytest.raises(DomainError) as error:
        drafts.update_draft(session, COORDINATOR, plan.id, drafts.parse(DraftPatch, patch))
    session.rollback()
    assert error.value.code == "invalid"
    assert "balises HTML" in error.value.message
    session.refresh(plan.current)
    assert plan.current.content == before


@pytest.mark.parametrize(
    "logo",
    ["file:///etc/passwd", "http://exemple.quebec/logo.png", "data:image/png;base64,AAAA"],
)
def test_a_logo_is_only_an_uploaded_image(session, logo):
    with pytest.raises(DomainError) as error:
        drafts.parse(
            AnnexTemplateIn,
            {"annex_a": "x" * 30, "annex_b": "y" * 30, "annex_c": "z" * 30, "logo": logo},
        )
    assert "logo" in error.value.details


def test_program_code_must_look_like_xxx_xx(session):
    with pytest.raises(DomainError) as error:
        drafts.parse(
            PlanCreateIn,
            {"program_kind": "AEC", "program_code": "JEE0K", "program_title": "Éducation"},
        )
    assert "XXX.XX" in error.value.details["program_code"]


def test_candidates_get_stable_ids_and_calendars(session):
    plan = fill(session, new_plan(session))
    ids = [c["id"] for c in plan.current.content["candidates"]]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 2
    computed = views.plan_view(session, plan, COORDINATOR)["computed"]
    assert computed["duration"]["weeks_3h"] == 14 and computed["duration"]["weeks_6h"] == 7
    assert computed["duration"]["weeks"] == 14
    marie, luc = computed["calendars"]
    assert marie["weeks"] == 14 and luc["weeks"] == 7
    # Thanksgiving (12 October 2026) is skipped in the first evaluation of both.
    assert {"date": date(2026, 10, 12), "reason": "Action de grâce"} in (
        marie["periods"][0]["skipped"]
    )
    assert computed["timeline"]["lines"][0]["label"].startswith("Marie Gagnon")


def test_a_candidate_id_from_elsewhere_is_refused(session):
    plan = fill(session, new_plan(session))
    candidates = plan.current.content["candidates"]
    forged = [{**candidates[0], "id": 999}]
    with pytest.raises(DomainError):
        drafts.update_draft(session, COORDINATOR, plan.id, DraftPatch(candidates=forged))


def test_another_institution_cannot_read_or_edit_the_plan(session):
    plan = new_plan(session)
    for call in (
        lambda: drafts.update_draft(
            session, OTHER_COORDINATOR, plan.id, DraftPatch(closure_dates=[date(2026, 12, 24)])
        ),
        lambda: views.plan_view(
            session, drafts.access.load(session, OTHER_COORDINATOR, plan.id), OTHER_COORDINATOR
        ),
    ):
        with pytest.raises(DomainError) as error:
            call()
        assert error.value.code == "not_found"
    # The employer does not see a draft either; the ministry never sees plan content.
    with pytest.raises(DomainError) as error:
        drafts.access.load(session, EMPLOYER, plan.id)
    assert error.value.code == "not_found"
    with pytest.raises(DomainError) as error:
        drafts.access.load(session, MINISTRY, plan.id)
    assert error.value.code == "forbidden"


def test_an_incomplete_plan_cannot_be_issued(session):
    plan = new_plan(session)
    with pytest.raises(DomainError) as error:
        lifecycle.prepare_issue(session, COORDINATOR, plan.id)
    assert set(error.value.details) >= {"competencies", "candidates"}


def test_a_plan_for_an_organisation_without_account_is_kept_as_draft(session):
    plan = fill(
        session,
        new_plan(
            session,
            employer_id=None,
            employer_name="Garderie Les Petits Pas",
            employer_address="12, rue du Quai, Lévis",
            representative_name="Nadia Caron",
        ),
    )
    assert plan.employer_id is None
    assert plan.current.content["employer"]["name"] == "Garderie Les Petits Pas"
    with pytest.raises(DomainError) as error:
        lifecycle.prepare_issue(session, COORDINATOR, plan.id)
    assert "employer_id" in error.value.details


# -- issuing and accepting ------------------------------------------------------------------


def test_issuing_freezes_the_version_and_publishes_plan_issued(session):
    plan = fill(session, new_plan(session))
    version = issue(session, plan, at(2026, 1, 31, 14, 0))
    assert plan.status == "issued" and version.status == "issued"
    assert version.issued_on == date(2026, 1, 31)
    assert len(version.content_hash) == 64
    [issued] = events(session, "plan.issued")
    assert issued["version"] == 2  # the envelope's schema version (with the estimate's hash)
    assert issued["payload"]["version"] == 1  # the plan's version
    assert issued["payload"]["estimate_hash"] == estimate_hash(ESTIMATE)
    assert issued["payload"]["acceptance_deadline"].startswith("2026-03-03T04:59:59.999999")
    assert issued["payload"]["content_hash"] == version.content_hash


def test_an_issued_version_cannot_be_edited(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))
    before = dict(plan.current.content)
    with pytest.raises(DomainError) as error:
        drafts.update_draft(
            session, COORDINATOR, plan.id, DraftPatch(closure_dates=[date(2026, 12, 24)])
        )
    assert error.value.code == "conflict"
    session.rollback()
    assert plan.current.content == before


def test_acceptance_at_23_59_on_the_last_day_is_accepted(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))
    accept(session, plan, at(2026, 3, 2, 23, 59))
    assert plan.status == "accepted" and plan.accepted_version == 1
    version = plan.current
    assert version.acceptance_channel == "online"
    assert version.acceptance_ip == "203.0.113.7"
    assert version.accepted_hash == version.content_hash
    assert version.acceptance_statement == "J’accepte"
    [accepted] = events(session, "plan.accepted")
    assert accepted["payload"]["accepted_by"] == "Julie Morin"


def test_acceptance_at_midnight_the_next_day_is_refused(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))
    with pytest.raises(DomainError) as error:
        accept(session, plan, at(2026, 3, 3, 0, 0))
    session.rollback()
    assert error.value.code == "conflict"
    assert "délai d'acceptation est expiré" in error.value.message
    assert "2 mars 2026" in error.value.message
    assert plan.status == "issued" and not events(session, "plan.accepted")


def test_acceptance_across_a_daylight_saving_change(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 2, 10, 9, 0))  # deadline 12 March, after the change
    with pytest.raises(DomainError):
        accept(session, plan, at(2026, 3, 13, 0, 0))
    session.rollback()
    accept(session, plan, at(2026, 3, 12, 23, 59, 59))
    assert plan.status == "accepted"


def test_accepting_another_version_or_hash_is_refused(session):
    plan = fill(session, new_plan(session))
    version = issue(session, plan, at(2026, 1, 31, 14, 0))
    with clock.frozen_at(at(2026, 2, 2, 10, 0)):
        for data in (
            {"version": 2, "content_hash": version.content_hash},
            {"version": 1, "content_hash": "0" * 64},
        ):
            with pytest.raises(DomainError) as error:
                lifecycle.accept_online(
                    session,
                    EMPLOYER,
                    plan.id,
                    OnlineAcceptanceIn(
                        full_name="Julie Morin", title="DRH", statement="J’accepte", **data
                    ),
                    "",
                )
            assert error.value.code == "conflict"
            session.rollback()
    with pytest.raises(DomainError):
        drafts.parse(
            OnlineAcceptanceIn,
            {
                "version": 1,
                "content_hash": version.content_hash,
                "full_name": "Julie Morin",
                "title": "DRH",
                "statement": "Oui",
            },
        )


def test_only_the_addressed_employer_may_accept(session):
    plan = fill(session, new_plan(session))
    version = issue(session, plan, at(2026, 1, 31, 14, 0))
    data = OnlineAcceptanceIn(
        version=1,
        content_hash=version.content_hash,
        full_name="Éric Poulin",
        title="Président",
        statement="J’accepte",
    )
    with clock.frozen_at(at(2026, 2, 2, 10, 0)):
        with pytest.raises(DomainError) as error:
            lifecycle.accept_online(session, OTHER_EMPLOYER, plan.id, data, "")
        assert error.value.code == "not_found"
        with pytest.raises(DomainError) as error:
            lifecycle.accept_online(session, COORDINATOR, plan.id, data, "")
        assert error.value.code == "forbidden"


def test_recorded_acceptance_with_a_scan_and_a_date_of_receipt(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))
    scan = MINIMAL_PDF  # a PDF that parses (a header alone is refused)
    late = RecordedAcceptanceIn(
        version=1,
        received_on=date(2026, 3, 3),
        signed_by_name="Julie Morin",
        filename="acceptation.pdf",
        content_b64="eA==",
    )
    with clock.frozen_at(at(2026, 3, 4, 9, 0)):
        with pytest.raises(DomainError) as error:
            lifecycle.record_acceptance(session, COORDINATOR, plan.id, late, scan)
        assert error.value.code == "conflict"
        session.rollback()
        bad_file = late.model_copy(update={"received_on": date(2026, 3, 2)})
        with pytest.raises(DomainError) as error:
            lifecycle.record_acceptance(session, COORDINATOR, plan.id, bad_file, b"MZ\x90\x00")
        assert "PDF" in error.value.message
        session.rollback()
        # Received on the last day, recorded two days later: accepted.
        lifecycle.record_acceptance(session, COORDINATOR, plan.id, bad_file, scan)
        session.commit()
    assert plan.status == "accepted"
    assert plan.current.acceptance_channel == "recorded"
    assert plan.current.received_on == date(2026, 3, 2)
    assert lifecycle.document_of(session, plan.current, "acceptance_scan").content == scan


# -- revisions, amendments, cancellation -------------------------------------------------------


def test_revision_before_acceptance_withdraws_the_issued_version(session):
    plan = fill(session, new_plan(session))
    first = issue(session, plan, at(2026, 1, 31, 14, 0))
    with clock.frozen_at(at(2026, 2, 3, 9, 0)):
        lifecycle.amend(session, COORDINATOR, plan.id, AmendmentIn(summary="Dates précisées"))
        session.commit()
    assert first.status == "withdrawn" and plan.status == "draft" and plan.current_version == 2
    with clock.frozen_at(at(2026, 2, 3, 10, 0)), pytest.raises(DomainError) as error:
        lifecycle.accept_online(
            session,
            EMPLOYER,
            plan.id,
            OnlineAcceptanceIn(
                version=1,
                content_hash=first.content_hash,
                full_name="Julie Morin",
                title="DRH",
                statement="J’accepte",
            ),
            "",
        )
    assert error.value.code == "conflict"


def test_amendment_then_new_acceptance_then_cancellation(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))
    accept(session, plan, at(2026, 2, 5, 10, 0))
    with clock.frozen_at(at(2026, 4, 1, 9, 0)):
        lifecycle.amend(session, COORDINATOR, plan.id, AmendmentIn(summary="Ajout d'une candidate"))
        session.commit()
    assert plan.status == "accepted" and plan.current.status == "draft"
    candidates = plan.current.content["candidates"] + [
        {
            "full_name": "Nora Bédard",
            "job_title": "Éducatrice",
            "email": "nora@exemple.quebec",
            "rhythm": 6,
            "start_date": "2026-05-04",
            "modality": "online",
        }
    ]
    drafts.update_draft(session, COORDINATOR, plan.id, DraftPatch(candidates=candidates))
    session.commit()
    compared = views.comparison(plan, plan.version(1), plan.version(2))
    changed = {r["label"] for r in compared["rows"] if r["changed"]}
    assert changed == {"Candidats-travailleurs"}
    assert compared["change_summary"] == "Ajout d'une candidate"
    second = issue(session, plan, at(2026, 4, 2, 9, 0))
    assert plan.status == "accepted"  # version 1 stays in force meanwhile
    accept(session, plan, at(2026, 4, 10, 9, 0), second)
    assert plan.accepted_version == 2 and plan.version(1).status == "superseded"
    with clock.frozen_at(at(2026, 5, 1, 9, 0)):
        lifecycle.cancel(session, EMPLOYER, plan.id, CancellationIn(reason="Réorganisation"))
        session.commit()
    assert plan.status == "cancelled" and plan.cancelled_by_party == "employer"
    [cancelled] = events(session, "plan.cancelled")
    assert cancelled["payload"]["version"] == 2
    assert cancelled["payload"]["cancelled_on"] == "2026-05-01"
    assert [e["payload"]["version"] for e in events(session, "plan.accepted")] == [1, 2]


# -- the deadline job ------------------------------------------------------------------------


def run_job(session, as_of: date) -> dict:
    with clock.frozen_at(at(as_of.year, as_of.month, as_of.day, 23, 59)):
        result = jobs.process_deadlines(session, as_of, (10, 3, 1))
        session.commit()
    return result


def test_reminders_then_lapse_each_published_once(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))  # deadline: 2 March 2026
    assert run_job(session, date(2026, 2, 18))["reminders"] == 0
    assert run_job(session, date(2026, 2, 20))["reminders"] == 1  # 10 days
    assert run_job(session, date(2026, 2, 20))["reminders"] == 0  # again: nothing
    assert run_job(session, date(2026, 2, 25))["reminders"] == 0
    assert run_job(session, date(2026, 2, 27))["reminders"] == 1  # 3 days
    assert run_job(session, date(2026, 3, 1))["reminders"] == 1  # 1 day
    assert run_job(session, date(2026, 3, 2))["lapsed"] == 0  # the last day is still open
    assert plan.status == "issued"
    assert run_job(session, date(2026, 3, 3))["lapsed"] == 1
    assert run_job(session, date(2026, 3, 3))["lapsed"] == 0
    assert plan.status == "lapsed" and plan.current.lapsed_on == date(2026, 3, 3)
    assert [e["payload"]["days_left"] for e in events(session, "plan.reminder_due")] == [10, 3, 1]
    [lapsed] = events(session, "plan.lapsed")
    assert lapsed["payload"]["lapsed_on"] == "2026-03-03"


def test_the_job_reads_only_due_versions(session):
    early = fill(session, new_plan(session))
    issue(session, early, at(2026, 1, 31, 14, 0))  # deadline 2 March
    late = fill(session, new_plan(session))
    issue(session, late, at(2026, 2, 25, 14, 0))  # deadline 27 March
    draft = fill(session, new_plan(session))
    result = run_job(session, date(2026, 2, 20))
    assert result["examined"] == 1  # neither the later deadline nor the draft is read
    assert draft.status == "draft"


def test_a_lapsed_amendment_leaves_the_accepted_version_in_force(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))
    accept(session, plan, at(2026, 2, 5, 10, 0))
    with clock.frozen_at(at(2026, 4, 1, 9, 0)):
        lifecycle.amend(session, COORDINATOR, plan.id, AmendmentIn(summary="Nouveau calendrier"))
        session.commit()
    issue(session, plan, at(2026, 4, 1, 10, 0))
    run_job(session, date(2026, 5, 2))
    assert plan.version(2).status == "lapsed"
    assert plan.status == "accepted" and plan.accepted_version == 1


# -- what amendments, withdrawals, lapses and declines say ---------------------------------


def amend(session, plan: Plan, when: datetime, summary: str) -> PlanVersion:
    with clock.frozen_at(when):
        lifecycle.amend(session, COORDINATOR, plan.id, AmendmentIn(summary=summary))
        session.commit()
    return plan.current


def decline(session, plan: Plan, when: datetime, reason: str, actor: Actor = EMPLOYER):
    with clock.frozen_at(when):
        lifecycle.decline(
            session, actor, plan.id, DeclineIn(version=plan.current.number, reason=reason)
        )
        session.commit()


def accepted_twice(session) -> Plan:
    """Version 1 accepted, then version 2 (an amendment) accepted: version 2 in force."""
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))
    accept(session, plan, at(2026, 2, 5, 10, 0))
    amend(session, plan, at(2026, 3, 2, 9, 0), "Ajout d'une date de fermeture")
    drafts.update_draft(session, COORDINATOR, plan.id, DraftPatch(closure_dates=["2026-12-24"]))
    session.commit()
    issue(session, plan, at(2026, 3, 3, 9, 0))
    accept(session, plan, at(2026, 3, 9, 10, 0))
    assert plan.accepted_version == 2
    return plan


def test_an_amendment_is_issued_as_the_amendment_of_the_version_in_force(session):
    plan = accepted_twice(session)
    first, second = events(session, "plan.issued")
    assert first["payload"]["amends_version"] is None
    assert first["payload"]["change_summary"] == ""
    assert second["payload"]["amends_version"] == 1
    assert second["payload"]["amends_issued_on"] == "2026-01-31"
    assert second["payload"]["change_summary"] == "Ajout d'une date de fermeture"
    assert second["payload"]["replaces_version"] is None
    accepted = events(session, "plan.accepted")
    assert [e["payload"]["amends_version"] for e in accepted] == [None, 1]

    third = amend(session, plan, at(2026, 4, 1, 9, 0), "Nouveau rythme pour Luc Roy")
    assert (third.number, third.amends_version, third.based_on) == (3, 2, 2)
    view = views.plan_view(session, plan, COORDINATOR)
    assert view["version"]["amends_version"] == 2
    assert view["version"]["amends_issued_on"] == date(2026, 3, 3)
    html = ordinary_spaces(document.plan_html(view, None))
    assert "Modifie la version 2 du 3 mars 2026</strong>, acceptée le 9 mars 2026" in html
    assert "La version 2 demeure en vigueur jusqu’à l’acceptation de la présente modification" in (
        html
    )
    assert "Résumé des changements :</strong> Nouveau rythme pour Luc Roy" in html
    assert "version 3, modification de la version 2" in html
    # A first offer's document says none of it.
    first_offer = fill(session, new_plan(session))
    first_html = document.plan_html(views.plan_view(session, first_offer, COORDINATOR), None)
    assert "Modifie la version" not in first_html and "Résumé des changements" not in first_html


def test_a_lapsed_amendment_says_the_version_in_force_stays_in_force(session):
    plan = accepted_twice(session)
    amend(session, plan, at(2026, 4, 1, 9, 0), "Nouveau calendrier")
    issue(session, plan, at(2026, 4, 1, 10, 0))
    run_job(session, date(2026, 4, 28))  # 3 days before the deadline of 1 May
    reminders = events(session, "plan.reminder_due")
    assert reminders and all(r["payload"]["amends_version"] == 2 for r in reminders)
    run_job(session, date(2026, 5, 2))
    assert plan.version(3).status == "lapsed"
    assert plan.status == "accepted" and plan.accepted_version == 2
    [lapsed] = events(session, "plan.lapsed")
    assert lapsed["payload"]["version"] == 3
    assert lapsed["payload"]["amends_version"] == 2
    assert lapsed["payload"]["amends_issued_on"] == "2026-03-03"
    # The first offer's lapse names no version in force: the plan no longer binds anyone.
    other = fill(session, new_plan(session))
    issue(session, other, at(2026, 4, 1, 10, 0))
    run_job(session, date(2026, 5, 2))
    lapses = {e["payload"]["plan_id"]: e["payload"] for e in events(session, "plan.lapsed")}
    assert lapses[other.id]["amends_version"] is None and other.status == "lapsed"


def test_withdrawing_an_issued_version_tells_the_employer_and_its_revision_says_so(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))
    revision = amend(session, plan, at(2026, 2, 3, 9, 0), "Dates des entrevues corrigées")
    [withdrawn] = events(session, "plan.version_withdrawn")
    assert withdrawn["payload"] == {
        **withdrawn["payload"],
        "version": 1,
        "issued_on": "2026-01-31",
        "withdrawn_on": "2026-02-03",
        "reason": "Dates des entrevues corrigées",
        "amends_version": None,
        "project_completed": False,
    }
    assert plan.version(1).withdrawn_at is not None
    assert (revision.amends_version, revision.based_on) == (None, 1)
    issue(session, plan, at(2026, 2, 4, 9, 0))
    reissued = events(session, "plan.issued")[-1]["payload"]
    assert reissued["replaces_version"] == 1 and reissued["amends_version"] is None
    assert reissued["change_summary"] == "Dates des entrevues corrigées"
    html = document.plan_html(views.plan_view(session, plan, COORDINATOR), None)
    assert "Remplace la version 1 émise le 31 janvier 2026, retirée pour révision." in html


def test_revising_an_issued_amendment_keeps_what_it_changes_from_the_version_in_force(session):
    plan = accepted_twice(session)
    amend(session, plan, at(2026, 4, 1, 9, 0), "Ajout de Nora Bédard")
    issue(session, plan, at(2026, 4, 1, 10, 0))
    fourth = amend(session, plan, at(2026, 4, 2, 9, 0), "Date de début corrigée")
    assert plan.version(3).status == "withdrawn" and plan.status == "accepted"
    [withdrawn] = events(session, "plan.version_withdrawn")
    assert withdrawn["payload"]["version"] == 3 and withdrawn["payload"]["amends_version"] == 2
    assert (fourth.amends_version, fourth.based_on) == (2, 3)
    assert fourth.change_summary == (
        "Ajout de Nora Bédard\nRévision de la version 3 : Date de début corrigée"
    )
    issue(session, plan, at(2026, 4, 2, 10, 0))
    issued = events(session, "plan.issued")[-1]["payload"]
    assert (issued["amends_version"], issued["replaces_version"]) == (2, 3)
    # Compared by default with the version in force, which the employer is asked to change.
    assert views.version_summary(plan.current)["amends_version"] == 2


def test_completing_the_project_withdraws_a_pending_amendment_and_says_so(session):
    plan = accepted_twice(session)
    amend(session, plan, at(2026, 4, 1, 9, 0), "Ajout de Nora Bédard")
    issue(session, plan, at(2026, 4, 1, 10, 0))
    with clock.frozen_at(at(2026, 4, 5, 9, 0)):
        lifecycle.complete(session, COORDINATOR, plan.id)
        session.commit()
    [withdrawn] = events(session, "plan.version_withdrawn")
    assert withdrawn["payload"]["version"] == 3
    assert withdrawn["payload"]["project_completed"] is True
    assert plan.status == "completed" and plan.version(3).status == "withdrawn"


def test_the_employer_declines_a_first_offer_with_a_reason(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))
    # Only the organisation the plan is addressed to, and only the version awaiting it.
    with clock.frozen_at(at(2026, 2, 10, 9, 0)):
        for actor, code in ((COORDINATOR, "forbidden"), (OTHER_EMPLOYER, "not_found")):
            with pytest.raises(DomainError) as error:
                lifecycle.decline(
                    session, actor, plan.id, DeclineIn(version=1, reason="Nous refusons.")
                )
            assert error.value.code == code
        with pytest.raises(DomainError) as error:
            lifecycle.decline(
                session, EMPLOYER, plan.id, DeclineIn(version=2, reason="Trop cher pour nous.")
            )
        assert error.value.code == "conflict" and "peut être refusée" in error.value.message
    with pytest.raises(DomainError) as error:
        drafts.parse(DeclineIn, {"version": 1, "reason": "<b>non</b>"})
    assert error.value.code == "invalid"
    session.rollback()
    assert plan.current.status == "issued" and not events(session, "plan.declined")

    decline(
        session, plan, at(2026, 2, 10, 9, 0), "Le calendrier tombe en pleine période des Fêtes."
    )
    version = plan.version(1)
    assert version.status == "declined" and plan.status == "declined"
    assert version.declined_by_name == "Julie Morin" and version.declined_by_user_id == 13
    assert version.decline_reason == "Le calendrier tombe en pleine période des Fêtes."
    [declined] = events(session, "plan.declined")
    assert declined["payload"]["version"] == 1
    assert declined["payload"]["declined_by"] == "Julie Morin"
    assert declined["payload"]["amends_version"] is None
    assert declined["payload"]["reason"].startswith("Le calendrier")
    # It ended the offer: neither acceptance nor a second refusal; the history keeps it.
    with pytest.raises(DomainError) as error:
        accept(session, plan, at(2026, 2, 11, 9, 0), version)
    assert error.value.code == "conflict"
    session.rollback()
    with pytest.raises(DomainError) as error:
        decline(session, plan, at(2026, 2, 11, 9, 0), "Encore non.")
    assert error.value.code == "conflict"
    session.rollback()
    view = views.plan_view(session, plan, EMPLOYER)
    assert view["plan"]["status_label"] == "Refusé"
    assert view["version"]["status_label"] == "Refusée par l'organisation"
    assert view["version"]["decline_reason"].startswith("Le calendrier")
    assert not view["permissions"]["decline"] and not view["permissions"]["accept_online"]
    institution = views.plan_view(session, plan, COORDINATOR)["permissions"]
    assert institution["amend"] and institution["cancel"]
    # The institution revises the declined offer and issues it again.
    revision = amend(session, plan, at(2026, 2, 12, 9, 0), "Début reporté en janvier")
    assert plan.status == "draft" and (revision.based_on, revision.amends_version) == (1, None)
    assert plan.version(1).status == "declined"
    issue(session, plan, at(2026, 2, 13, 9, 0))
    assert events(session, "plan.issued")[-1]["payload"]["replaces_version"] == 1
    html = document.plan_html(views.plan_view(session, plan, COORDINATOR), None)
    assert "Remplace la version 1 émise le 31 janvier 2026, refusée par l’organisation." in html
    assert not events(session, "plan.version_withdrawn")  # a declined offer is not withdrawn


def test_a_declined_amendment_leaves_the_version_in_force(session):
    plan = accepted_twice(session)
    amend(session, plan, at(2026, 4, 1, 9, 0), "Hausse des frais d'évaluation")
    issue(session, plan, at(2026, 4, 1, 10, 0))
    decline(session, plan, at(2026, 4, 3, 9, 0), "La hausse n'est pas prévue au budget.")
    assert plan.version(3).status == "declined"
    assert plan.status == "accepted" and plan.accepted_version == 2
    assert plan.version(2).status == "accepted"
    [declined] = events(session, "plan.declined")
    assert declined["payload"]["amends_version"] == 2
    # Another amendment may follow, from the version in force.
    fourth = amend(session, plan, at(2026, 4, 4, 9, 0), "Frais d'évaluation inchangés")
    assert (fourth.based_on, fourth.amends_version) == (2, 2)


def test_an_offer_past_its_deadline_cannot_be_declined(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))  # deadline: 2 March 2026 at 23:59
    with pytest.raises(DomainError) as error:
        decline(session, plan, at(2026, 3, 3, 0, 0), "Trop tard pour y penser.")
    assert error.value.code == "conflict" and "résolu de plein droit" in error.value.message
    session.rollback()
    decline(session, plan, at(2026, 3, 2, 23, 59), "Nous refusons au dernier jour.")
    assert plan.status == "declined"


def test_declined_offers_count_as_decided_in_the_network_figures(session):
    declined = fill(session, new_plan(session))
    issue(session, declined, at(2026, 1, 31, 14, 0))
    decline(session, declined, at(2026, 2, 2, 9, 0), "Le projet est reporté à l'an prochain.")
    accepted = fill(session, new_plan(session))
    issue(session, accepted, at(2026, 1, 31, 14, 0))
    accept(session, accepted, at(2026, 2, 2, 9, 0))
    figures = views.network_figures(session)
    assert figures["declined"] == 1 and figures["acceptance_rate"] == 50.0
    assert {r["status"]: r["count"] for r in figures["by_status"]}["declined"] == 1
    with clock.frozen_at(at(2026, 3, 15, 9, 0)):
        acceptance = plan_figures.network_figures(session)["acceptance"]
    assert acceptance == {"accepted": 1, "lapsed": 0, "declined": 1, "rate": 50.0}


# -- progress ----------------------------------------------------------------------------------


def test_progress_by_name_for_the_institution_aggregates_for_the_employer(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))
    accept(session, plan, at(2026, 2, 5, 10, 0))
    marie, luc = [c["id"] for c in plan.current.content["candidates"]]
    with clock.frozen_at(at(2026, 2, 10, 9, 0)):
        progress.set_step(session, COORDINATOR, plan.id, marie, "welcome_meeting")
        progress.set_step(session, COORDINATOR, plan.id, marie, "evaluations")
        progress.set_result(session, COORDINATOR, plan.id, marie, "0190", "reconnue")
        progress.set_result(session, COORDINATOR, plan.id, marie, "0192", "formation_manquante")
        session.commit()
    institution = views.plan_progress(plan, COORDINATOR)
    assert institution["candidates"][0]["full_name"] == "Marie Gagnon"
    employer = views.plan_progress(plan, EMPLOYER)
    assert employer["candidates"] is None
    assert "Marie Gagnon" not in str(employer) and "Luc Roy" not in str(employer)
    # Two candidate-workers, next to their names in the plan: every count is withheld
    # (Loi 25: « moins de 5 »), while the institution reads them.
    assert employer["aggregate"]["withheld_below"] == 5
    assert employer["aggregate"]["competencies_recognised"] is None
    assert {s["count"] for s in employer["aggregate"]["steps"]} == {None}
    assert institution["aggregate"]["competencies_recognised"] == 1
    assert {s["step"]: s["count"] for s in institution["aggregate"]["steps"]}["evaluations"] == 1
    with pytest.raises(DomainError) as error:
        progress.set_step(session, EMPLOYER, plan.id, marie, "sanction")
    assert error.value.code == "forbidden"
    # Milestones: the welcome meeting once; the end of evaluations when all are past them.
    with clock.frozen_at(at(2026, 3, 10, 9, 0)):
        progress.set_step(session, COORDINATOR, plan.id, luc, "welcome_meeting")
        progress.abandon(session, COORDINATOR, plan.id, luc, date(2026, 3, 10))
        progress.set_step(session, COORDINATOR, plan.id, marie, "sanction")
        session.commit()
    milestones = [e["payload"]["milestone"] for e in events(session, "plan.milestone_reached")]
    assert milestones == ["welcome_meeting", "end_of_evaluations"]
    [abandoned] = events(session, "plan.candidate_abandoned")
    assert abandoned["payload"]["candidate_id"] == luc
    assert abandoned["payload"]["full_name"] == "Luc Roy"  # as the plan names him
    assert abandoned["payload"]["after_validation_interview"] is True
    assert abandoned["payload"]["work_done_ratio"] == "0.00"


# -- lists and figures --------------------------------------------------------------------------


def test_lists_home_summary_and_network_figures(session):
    plan = fill(session, new_plan(session))
    issue(session, plan, at(2026, 1, 31, 14, 0))
    fill(session, new_plan(session))  # a draft
    with clock.frozen_at(at(2026, 2, 28, 9, 0)):
        employer_rows = views.list_plans(session, EMPLOYER, PlanQuery())["items"]
        assert [r["id"] for r in employer_rows] == [plan.id]  # never a draft
        institution = views.list_plans(session, COORDINATOR, PlanQuery())["items"]
        assert institution[0]["id"] == plan.id  # awaiting acceptance first, then the draft
        assert len(institution) == 2 and institution[0]["awaiting_acceptance"]
        [action] = views.home_summary(session, EMPLOYER)
        assert action["urgent"] and "2 jours restants" in action["label"]
        institution_actions = views.home_summary(session, COORDINATOR)
        assert institution_actions[0]["urgent"]
        assert institution_actions[-1]["count"] == 1  # one draft
        assert views.list_plans(session, OTHER_EMPLOYER, PlanQuery())["items"] == []
    with pytest.raises(DomainError):
        views.list_plans(session, MINISTRY, PlanQuery())
    accept(session, plan, at(2026, 3, 1, 9, 0))
    figures = views.network_figures(session)
    assert figures["total"] == 2 and figures["accepted_ever"] == 1
    assert figures["acceptance_rate"] == 100.0
    assert "CISSS" not in str(figures)


def test_home_summary_names_the_nearest_offers_and_counts_the_others(session):
    """However many offers wait, the home page names the five nearest deadlines and counts
    the rest (one bounded query, not every plan's row)."""
    plans = [fill(session, new_plan(session)) for _ in range(7)]
    for day, plan in enumerate(plans, start=20):
        issue(session, plan, at(2026, 1, day, 14, 0))
    with clock.frozen_at(at(2026, 2, 18, 9, 0)):
        actions = views.home_summary(session, EMPLOYER)
    named_offers, others = actions[:-1], actions[-1]
    assert [a["url"] for a in named_offers] == [f"/plans/{p.id}" for p in plans[:5]]
    assert named_offers[0]["urgent"] and not named_offers[-1]["urgent"]
    assert others == {
        "label": "Autres plans en attente d'acceptation",
        "url": "/plans?statut=issued",
        "count": 2,
        "urgent": False,
    }
