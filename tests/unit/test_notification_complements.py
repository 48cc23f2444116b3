"""Notifications of the « demande de compléments »: the request, an extension and the
resumption go to the applying institution's signatories and coordinators; the answer goes
to the ministry's analysts; each is a legal notice, in French, answering to the right
person, user text escaped in HTML; and how each exchange reads in the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rac_shared import events as ev
from services.notifications import catalogue, domain, replies
from tests.support.typography import ordinary_spaces
from tests.unit.test_notification_catalogue import HOSTILE, URL
from tests.unit.test_notification_cerac_life import Directory

APPLICATION = {
    "application_id": 7,
    "call_id": 1,
    "organisation_id": 2,
    "organisation_name": "Cégep de Lévis",
    "reference": "CERAC-2012-CLV-0007",
    "request_id": 3,
    "number": 1,
}
ITEMS = ["Signature de la direction des études", f"Résolution du conseil {HOSTILE}"]
PAYLOADS = {
    "requested": ev.ApplicationComplementsRequested(
        **APPLICATION, items=ITEMS, due_date=date(2013, 1, 18),
        message=f"Merci de compléter le dossier. {HOSTILE}", requested_by_user_id=2,
        requested_at=datetime(2013, 1, 7, 14, 0, tzinfo=UTC)),
    "answered": ev.ApplicationComplementsAnswered(
        **APPLICATION, items=ITEMS, requested_by_user_id=2, answered_by_user_id=12,
        answered_at=datetime(2013, 1, 15, 15, 30, tzinfo=UTC)),
    "extended": ev.ApplicationComplementsDeadlineExtended(
        **APPLICATION, previous_due_date=date(2013, 1, 18), due_date=date(2013, 2, 1),
        extended_by_user_id=2),
    "resumed": ev.ApplicationAdmissibilityResumed(
        **APPLICATION, answered=True, resumed_by_user_id=2,
        resumed_at=datetime(2013, 1, 16, 9, 0, tzinfo=UTC)),
    "resumed_without_answer": ev.ApplicationAdmissibilityResumed(
        **APPLICATION, answered=False, resumed_by_user_id=2,
        resumed_at=datetime(2013, 1, 21, 9, 0, tzinfo=UTC)),
}  # fmt: skip


def compose(key: str, directory=None):
    payload = PAYLOADS[key]
    return catalogue.COMPOSERS[type(payload)](payload, directory or Directory(), URL)


def render(message, recipient):
    context = {**message.context, "full_name": recipient.full_name, "why": message.why,
               "subject": message.subject, "link": message.link}  # fmt: skip
    return tuple(ordinary_spaces(part) for part in domain.render_email(message.kind, context))


class FullDirectory(Directory):
    def get_user(self, user_id):
        return next(u for u in self.users if u["id"] == user_id)

    def unsubscribe_links(self, user_ids):
        return {}


@pytest.mark.parametrize("key", ["requested", "extended", "resumed"])
def test_the_institution_is_told_and_answers_to_the_analyst(key):
    message = compose(key)
    assert message.legal and message.link == f"{URL}/demandes/7"
    assert {r.email for r in message.recipients} == {
        "dg@levis.qc",
        "etudes@levis.qc",
        "rac@levis.qc",
    }
    addressed = replies.addressed(PAYLOADS[key], FullDirectory(), message)
    assert {r.reply_to for r in addressed.recipients} == {("François Côté <analyste@mes.qc>",)}


def test_the_request_lists_the_items_the_deadline_and_the_rule():
    message = compose("requested")
    assert message.subject == (
        "Compléments demandés pour votre demande CERAC-2012-CLV-0007 — réponse attendue au plus "
        "tard le 18 janvier 2013"
    )
    text, html = render(message, message.recipients[0])
    assert "Signature de la direction des études" in text
    assert "Réponse attendue au plus tard le 18 janvier 2013, à 23 h 59" in text
    assert "la date du dépôt initial demeure celle qui compte" in text
    assert "du Cégep de Lévis" in text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "49" not in text  # {{ 7*7 }} never evaluated


def test_the_answer_goes_to_the_analysts_and_answers_to_the_person_who_sent_it():
    message = compose("answered")
    assert message.legal
    assert [r.email for r in message.recipients] == ["analyste@mes.qc"]
    assert message.subject == "Compléments reçus : demande CERAC-2012-CLV-0007 du Cégep de Lévis"
    text, _ = render(message, message.recipients[0])
    assert text.count("\n- ") == 2 and "reprenez l'analyse" in text
    assert "Le Cégep de Lévis a transmis, le 15 janvier 2013" in text
    addressed = replies.addressed(PAYLOADS["answered"], FullDirectory(), message)
    assert addressed.recipients[0].reply_to == ("Sophie Bélanger <rac@levis.qc>",)


def test_an_extension_and_a_resumption_say_what_changed():
    text, _ = render(compose("extended"), compose("extended").recipients[0])
    assert "Ancienne date limite : 18 janvier 2013" in text
    assert "Nouvelle date limite : 1er février 2013, à 23 h 59" in text
    with_answer, _ = render(compose("resumed"), compose("resumed").recipients[0])
    assert "à la suite de votre réponse" in with_answer
    message = compose("resumed_without_answer")
    without, _ = render(message, message.recipients[0])
    assert "sans réponse à la demande de compléments no 1 dans le délai prévu" in without


def test_every_kind_has_both_templates():
    for key in PAYLOADS:
        kind = compose(key).kind
        assert domain.templates.get_template(f"email/{kind}.txt.j2")
        assert domain.templates.get_template(f"email/{kind}.html.j2")


def test_each_exchange_reads_in_the_application_s_history():
    """The gateway's audit trail keeps each exchange as an entry of the application's
    « Historique » (``gateway/audit_facts.py``)."""
    from gateway.audit_facts import fact_of

    facts = {key: fact_of(payload) for key, payload in PAYLOADS.items()}
    assert {(f.subject_type, f.subject_id) for f in facts.values()} == {("application", "7")}
    requested = facts["requested"]
    assert requested.summary.startswith(
        "Compléments demandés (demande no 1) : Signature de la direction des études; "
    )
    assert requested.summary.endswith("réponse attendue au plus tard le 18 janvier 2013")
    assert requested.actor_user_id == 2
    assert [(c.before, c.after) for c in requested.changes] == [("Déposée", "Compléments demandés")]
    assert facts["answered"].summary.endswith(": 2 éléments fournis")
    assert facts["answered"].actor_user_id == 12
    assert [(c.field, c.before, c.after) for c in facts["extended"].changes] == [
        ("Date limite de réponse", "18 janvier 2013", "1er février 2013")
    ]
    assert facts["resumed_without_answer"].summary.endswith("sans réponse dans le délai")
    assert [(c.before, c.after) for c in facts["resumed"].changes] == [
        ("Compléments demandés", "Déposée")
    ]
