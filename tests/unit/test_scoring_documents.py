"""The evaluation's documents and pages rendered from real domain data (an in-memory
database, no broker): French letters, the committee's CSV and report, and every page of
the gateway's evaluation area, with a hostile institution name escaped everywhere."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.contracts import scoring as S
from rac_shared.events import ApplicationAdmissibilityDecided
from rac_shared.ministries import ministry_at
from services.applications.demo import CRITERIA_2012
from services.scoring import (
    committees,
    conflicts,
    designation,
    evaluations,
    letters,
    ministries,
    views,
)
from services.scoring.models import Base
from tests.support.typography import ordinary_spaces

HOSTILE = "<script>alert(1)</script> Cégep {{ 7*7 }}"
MINISTRY = {"organisation_id": 1, "organisation_kind": OrganisationKind.MINISTRY}
ADMIN = Actor(user_id=1, role=Role.MINISTRY_ADMIN, full_name="Hélène Tremblay", **MINISTRY)
EVALUATOR = Actor(user_id=3, role=Role.MINISTRY_EVALUATOR, full_name="Geneviève Lévesque",
                  **MINISTRY)  # fmt: skip
ANALYST = Actor(user_id=2, role=Role.MINISTRY_ANALYST, full_name="François Côté", **MINISTRY)
DG = Actor(user_id=10, role=Role.DIRECTOR_GENERAL, organisation_id=20,
           organisation_kind=OrganisationKind.CEGEP, full_name="Isabelle Bégin")  # fmt: skip
GRID = {
    "call_id": 7,
    "title": "Appel d'intérêt 2012-2013",
    "education_orders": ["secondaire", "collégial"],
    "experimentation_years": ["2013-2014", "2014-2015"],
    "criteria": [
        {"id": 101 + i, "group": g, "label": label, "weight": w, "threshold": t}
        for i, (g, label, w, t) in enumerate(CRITERIA_2012)
    ],
}


def person(actor: Actor) -> dict:
    return {"id": actor.user_id, "full_name": actor.full_name, "role": actor.role.value,
            "email": f"{actor.user_id}@mes.qc", "active": True}  # fmt: skip


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as db:
        db.info["metadata"] = Base.metadata
        yield db
    engine.dispose()


def open_one(session, application_id: int, name: str, organisation_id: int = 20):
    payload = ApplicationAdmissibilityDecided(
        application_id=application_id, call_id=7, organisation_id=organisation_id,
        organisation_name=name, reference=f"CERAC-2012-{application_id:04d}", admissible=True,
        decision="recevable", rules=[], decided_by_user_id=2,
        decided_at=datetime(2013, 2, 1, tzinfo=UTC),
    )  # fmt: skip
    organisation = {"id": organisation_id, "kind": "cegep", "education_order": "collégial"}
    return committees.open_evaluation(session, payload, GRID, organisation, f"e-{application_id}")


def score(session, evaluation, first, second):
    for actor, values in ((EVALUATOR, first), (ANALYST, second)):
        committees.assign(session, ADMIN, evaluation.id, actor.user_id)
        entries = {101 + i: (v, f"Commentaire <b>{i}</b>") for i, v in enumerate(values)}
        evaluations.save_scores(session, actor, evaluation.id, entries, submit=True)


@pytest.fixture
def decided(session):
    """One designated application with a hostile name, one not designated (failed C4)."""
    designated = open_one(session, 1, HOSTILE)
    failed = open_one(session, 2, "Collège de Rosemont", organisation_id=21)
    session.flush()
    for actor in (EVALUATOR, ANALYST):
        committees.add_member(session, ADMIN, 7, person(actor))
    score(session, designated, "16 12 12 8 16 16".split(), "17 12 11 8 15 16".split())
    score(session, failed, "16 12 12 5 16 16".split(), "16 12 12 5 16 16".split())
    designation.decide(session, ADMIN, designated.id, True, None, "")
    designation.decide(session, ADMIN, failed.id, False, None, "")
    session.flush()
    return designated, failed


def test_the_letters_explain_the_decision_in_french_and_escape_names(decided):
    designated, failed = decided
    html = letters.letter_html(designated)
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "250 000,00 $" in html and "Accroître l&#39;offre de service en RAC" in html
    assert "2013-2014 et 2014-2015" in html
    assert letters.letter_filename(designated) == "lettre-designation-CERAC-2012-0001.pdf"
    refusal = letters.letter_html(failed)
    assert "obtient 5 points sur 10, sous son seuil de réussite de 6" in refusal
    assert letters.letter_filename(failed) == "lettre-non-designation-CERAC-2012-0002.pdf"


def test_the_committee_csv_and_report(session, decided):
    designated, _ = decided
    view = views.committee_view(session, ADMIN, 7)
    lines = list(csv.reader(io.StringIO(letters.matrix_csv(view).lstrip("\ufeff")), delimiter=";"))
    assert len(lines) == 3
    header, first = lines[0], lines[1]
    assert header[:4] == ["Ordre d'enseignement", "Établissement", "Référence", "Statut"]
    assert first[1] == HOSTILE  # CSV is data: kept as typed
    assert first[5] == "Geneviève Lévesque : 16 | François Côté : 17"
    assert first[-5:-2] == ["oui", "1", "oui"]  # all thresholds met, rank 1, proposed
    assert first[-2] == "Désigné CERAC" and first[-1] == views.iso(designated.decision_date)
    assert lines[2][-5] == "non" and lines[2][-2] == "Non désigné"
    report = letters.report_html(view, ministry_at(None))
    assert "<script>" not in report and "Matrice des demandes et des critères" in report


def render(template: str, actor: Actor, **context) -> str:
    """A page as the gateway renders it: the real app's templates and request context."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from gateway.web.framework import Ctx
    from tests.support.gateway_app import gateway_app

    app = gateway_app(rpc=None)
    ctx = Ctx(app=app, request=Request(EnvironBuilder(path="/").get_environ()))
    ctx.actor, ctx.unread_messages = actor, 0
    ctx.csrf_token = lambda: "jeton"
    return ordinary_spaces(app.templates.get_template(template).render(ctx=ctx, **context))


def test_every_page_of_the_area_renders_escaped(session, decided):
    from gateway.web.forms import FormState

    designated, _ = decided
    hostile = {"id": 21, "kind": "cegep", "name": HOSTILE}
    conflicts.declare_link(session, EVALUATOR, EVALUATOR.user_id, hostile, "partner", HOSTILE)
    session.flush()
    view = S.CommitteeView.model_validate(views.committee_view(session, ADMIN, 7))
    assert [c.reason for c in view.detected_conflicts] == [
        f"Lien déclaré avec {HOSTILE} : partenaire"
    ]
    committee, proposal, detected = committees.propose(session, ADMIN, 7, 2)
    proposal_page = S.AssignmentProposal.model_validate(
        views.proposal_view(committee, proposal, detected)
    )
    links = {"institutions": [(20, HOSTILE)], "link_kinds": S.LinkKind.choices()}
    rendered = [
        render("scoring/committee.html.j2", ADMIN, v=view, candidates=[], **links),
        render("scoring/designation.html.j2", ADMIN, v=view, today=date(2013, 5, 31)),
        render("scoring/committees.html.j2", ADMIN, committees=[
            S.CommitteeRow.model_validate(row) for row in views.committees_list(session, ADMIN)]),
        render("scoring/workspace.html.j2", EVALUATOR, ws=S.Workspace.model_validate(
            views.workspace(session, EVALUATOR)), form=FormState(), link_form=FormState(),
            institutions=[(20, HOSTILE)], link_kinds=S.LinkKind.choices()),
        render("scoring/results.html.j2", DG, results=[
            S.InstitutionResult.model_validate(r) for r in views.institution_results(session, DG)]),
    ]  # fmt: skip
    rendered.append(
        render("scoring/bulk_assignment.html.j2", ADMIN, p=proposal_page, form=FormState())
    )
    assignment = S.AssignmentView.model_validate(
        views.assignment_view(session, EVALUATOR, designated.id)
    )
    rendered.append(
        render(
            "scoring/form.html.j2",
            EVALUATOR,
            a=assignment,
            application=None,
            form=FormState(),
            conflict=FormState(),
        )
    )
    for html in rendered:
        assert "<script>alert" not in html
        assert "Cégep 49" not in html  # the name's {{ 7*7 }} was never evaluated
    assert "&lt;script&gt;" in rendered[0]
    assert "Commentaire &lt;b&gt;0&lt;/b&gt;" in rendered[0]  # evaluators' comments escaped
    # The institution's page names no evaluator and shows the consolidated result.
    assert "Lévesque" not in rendered[4] and "Côté" not in rendered[4]
    assert "Désigné CERAC" in rendered[4] and "/lettres/" in rendered[4]
    assert "readonly" in rendered[6]  # submitted: locked
    assert "Aucune demande en évaluation : rien à affecter." in rendered[5]


def test_the_ministry_table_page_shows_the_periods_and_the_form_to_the_admin_only(session):
    from gateway.web.forms import FormState

    periods = [S.MinistryPeriod.model_validate(p) for p in ministries.listing(session, ADMIN)]
    choices = S.MinisterTitle.choices()
    admin = render(
        "scoring/ministries.html.j2", ADMIN, periods=periods, form=FormState(),
        minister_titles=choices,
    )  # fmt: skip
    analyst = render(
        "scoring/ministries.html.j2", ANALYST, periods=periods, form=FormState(),
        minister_titles=choices,
    )  # fmt: skip
    for html in (admin, analyst):
        assert "18 février 2005" in html and "Ministère de l&#39;Enseignement supérieur" in html
        assert "5 périodes" in html and "Fournie avec la plateforme" in html
    assert 'action="/comites/ministeres"' in admin and '<option value="la ministre">' in admin
    assert 'action="/comites/ministeres"' not in analyst


def test_the_evaluator_sees_the_work_to_do_before_the_finished_evaluations(session):
    """Assigned in the order of the applications, the evaluator's list puts the ones still
    to score first: a pending one is never found under a pile of submitted ones."""
    done, pending = open_one(session, 1, "Cégep de Lévis"), open_one(session, 2, "Collège", 21)
    session.flush()
    committees.add_member(session, ADMIN, 7, person(EVALUATOR))
    for evaluation in (done, pending):
        committees.assign(session, ADMIN, evaluation.id, EVALUATOR.user_id)
    entries = {101 + i: (v, "Commentaire") for i, v in enumerate("16 12 12 8 16 16".split())}
    evaluations.save_scores(session, EVALUATOR, done.id, entries, submit=True)
    session.flush()
    rows = views.workspace(session, EVALUATOR)["assignments"]
    assert [row["evaluation_id"] for row in rows] == [pending.id, done.id]
    assert rows[1]["status"] == "submitted"
