"""Notifications of the evaluation: the evaluator told of an assignment, the institution
told of the minister's decision with the letter attached; French, hostile text escaped."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from rac_shared import events as ev
from services.notifications import catalogue, domain
from tests.support.typography import ordinary_spaces
from tests.unit.test_notification_catalogue import HOSTILE, URL, InMemoryDirectory

CRITERIA = [
    ev.CriterionVerdict(label="Collaboration avec d'autres établissements", group="qualite",
                        weight=15, threshold=9, score=Decimal("10.50"), met=True),
    ev.CriterionVerdict(label="Pratiques novatrices", group="qualite", weight=10, threshold=6,
                        score=Decimal("5.00"), met=False),
]  # fmt: skip
PAYLOADS = {
    "evaluator_assigned": ev.EvaluatorAssigned(
        evaluation_id=12, call_id=1, call_title="Appel d'intérêt 2012-2013", evaluator_user_id=3,
        evaluator_name="Geneviève Lévesque", evaluator_email="evaluatrice@mes.qc",
        organisation_name=HOSTILE, reference="CERAC-2012-CLV-0007",
        assigned_at=datetime(2013, 3, 4, 15, 30, tzinfo=UTC)),
    "cerac_designated": ev.CeracDesignated(
        cerac_id=1, evaluation_id=12, application_id=7, call_id=1,
        call_title="Appel d'intérêt 2012-2013", organisation_id=2,
        organisation_name="Cégep de Lévis", reference="CERAC-2012-CLV-0007",
        education_order="collégial", mandate_parts=["offer", "quality", "development"],
        experimentation_years=["2013-2014", "2014-2015"], decision_date=date(2013, 5, 31),
        total=Decimal("76.00"), below_threshold=False, decided_by_user_id=1),
    "cerac_not_designated": ev.CeracNotDesignated(
        evaluation_id=13, application_id=8, call_id=1, call_title="Appel d'intérêt 2012-2013",
        organisation_id=4, organisation_name="CSS des Navigateurs",
        reference="CERAC-2012-CSN-0008", education_order="secondaire",
        decision_date=date(2013, 5, 31), total=Decimal("58.50"),
        overall_threshold=Decimal("60"), qualified=False, criteria=CRITERIA,
        decided_by_user_id=1),
}  # fmt: skip


def compose(kind):
    payload = PAYLOADS[kind]
    return catalogue.COMPOSERS[type(payload)](payload, InMemoryDirectory(), URL)


def render(message, recipient):
    context = {**message.context, "full_name": recipient.full_name, "why": message.why,
               "subject": message.subject, "link": message.link}  # fmt: skip
    return tuple(ordinary_spaces(part) for part in domain.render_email(message.kind, context))


def test_the_assigned_evaluator_alone_is_told_with_a_link_to_the_scoring_form():
    message = compose("evaluator_assigned")
    assert [(r.email, r.user_id) for r in message.recipients] == [("evaluatrice@mes.qc", 3)]
    assert message.link == f"{URL}/evaluations/12"
    assert message.attachment is None
    text, html = render(message, message.recipients[0])
    assert "Bonjour Geneviève Lévesque" in text
    assert "4 mars 2013 à 10 h 30" in text  # Montréal time
    assert "conflit d'intérêts" in text


def test_the_designation_goes_to_the_institution_with_the_letter_attached():
    message = compose("cerac_designated")
    assert {r.email for r in message.recipients} == {
        "dg@levis.qc",
        "etudes@levis.qc",
        "rac@levis.qc",
    }
    assert message.legal
    assert message.attachment == {
        "service": "scoring",
        "method": "letter_pdf_for_delivery",
        "kwargs": {"evaluation_id": 12},
    }
    assert message.subject == "Désignation du Cégep de Lévis à titre de CERAC"
    text, html = render(message, message.recipients[0])
    assert "décision du 31 mai 2013" in text
    assert "phase d'expérimentation 2013-2014 et 2014-2015" in text
    assert message.link == f"{URL}/resultats"


def test_the_non_designation_explains_each_criterion_against_its_threshold():
    message = compose("cerac_not_designated")
    assert {r.email for r in message.recipients} == {"dg@css.qc", "rac@css.qc"}
    assert message.attachment["kwargs"] == {"evaluation_id": 13}
    assert message.subject.endswith("non retenue")
    text, html = render(message, message.recipients[0])
    assert "- Pratiques novatrices : 5 / 6 / 10 — SEUIL NON ATTEINT" in text
    assert "- Collaboration avec d'autres établissements : 10,5 / 9 / 15 — seuil atteint" in text
    assert "Total pondéré : 58,5 sur 100 (seuil global : 60)" in text
    assert "<td>Seuil non atteint</td>" in html
    assert "n'atteint pas tous les seuils" in text


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_hostile_text_is_escaped_in_html_and_literal_in_text(kind):
    message = compose(kind)
    assert domain.templates.get_template(f"email/{message.kind}.txt.j2")
    assert domain.templates.get_template(f"email/{message.kind}.html.j2")
    for recipient in message.recipients:
        text, html = render(message, recipient)
        assert "<script>" not in html
        if HOSTILE in text:
            assert "&lt;script&gt;" in html
