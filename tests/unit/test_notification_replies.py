"""Whom a reply reaches, and which e-mails can be left in one click (services/notifications/
replies.py), with an in-memory directory."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from rac_shared import events as ev
from rac_shared.clock import end_of_day
from rac_shared.errors import not_found
from services.notifications import catalogue
from services.notifications.replies import RememberingDirectory, addressed

URL = "https://rac.example"
ORGANISATIONS = {
    1: {"id": 1, "kind": "ministry", "name": "Ministère de l'Enseignement supérieur"},
    2: {"id": 2, "kind": "cegep", "name": "Cégep de Lévis"},
    5: {"id": 5, "kind": "employer", "name": "Boulangerie Saint-Méthode inc."},
}


def user(id, organisation_id, role, email, full_name, active=True):
    return {"id": id, "organisation_id": organisation_id, "role": role, "email": email,
            "full_name": full_name, "active": active}  # fmt: skip


USERS = [
    user(1, 1, "ministry_admin", "admin@mes.qc", "Claire Dubois"),
    user(2, 1, "ministry_analyst", "analyste@mes.qc", "Hélène Côté"),
    user(3, 1, "ministry_analyst", "ancien@mes.qc", "Ancien Analyste", active=False),
    user(10, 2, "director_general", "dg@levis.qc", "Isabelle Bégin"),
    user(12, 2, "rac_coordinator", "rac@levis.qc", "Sophie Bélanger"),
    user(50, 5, "employer_representative", "direction@boulangerie.qc", "Julie Morin"),
]


class Directory:
    def __init__(self):
        self.calls: list[tuple] = []

    def users_of_organisation(self, organisation_id, roles=None):
        self.calls.append(("users_of_organisation", organisation_id, tuple(roles or ())))
        return [u for u in USERS if u["organisation_id"] == organisation_id and u["active"]
                and (not roles or u["role"] in roles)]  # fmt: skip

    def get_organisation(self, organisation_id):
        return ORGANISATIONS[organisation_id]

    def list_organisations(self, kinds=None):
        return [o for o in ORGANISATIONS.values() if not kinds or o["kind"] in kinds]

    def get_user(self, user_id):
        for u in USERS:
            if u["id"] == user_id:
                return u
        raise not_found("Utilisateur introuvable.")

    def unsubscribe_links(self, user_ids):
        self.calls.append(("unsubscribe_links", tuple(user_ids)))
        return {str(i): f"{URL}/desabonnement/jeton-{i}" for i in user_ids}


def compose(payload, directory=None):
    directory = RememberingDirectory(directory or Directory())
    message = catalogue.COMPOSERS[type(payload)](payload, directory, URL)
    return {r.email: r for r in addressed(payload, directory, message).recipients}


REMINDER = ev.PlanReminderDue(
    plan_id=3, version=1, reference="PMO-CLV-2026-003", institution_id=2, employer_id=5,
    days_left=3, acceptance_deadline=end_of_day(date(2026, 12, 12)))  # fmt: skip


def test_each_party_of_a_plan_answers_to_the_other():
    recipients = compose(REMINDER)
    employer, coordinator = recipients["direction@boulangerie.qc"], recipients["rac@levis.qc"]
    assert employer.reply_to == ("Sophie Bélanger <rac@levis.qc>",)
    assert coordinator.reply_to == ("Julie Morin <direction@boulangerie.qc>",)


def test_an_optional_reminder_carries_each_users_unsubscribe_link_and_a_legal_notice_none():
    recipients = compose(REMINDER)
    assert recipients["direction@boulangerie.qc"].unsubscribe_url == f"{URL}/desabonnement/jeton-50"
    assert recipients["rac@levis.qc"].unsubscribe_url == f"{URL}/desabonnement/jeton-12"
    directory = Directory()
    lapsed = ev.PlanLapsed(plan_id=3, version=1, reference="PMO-CLV-2026-003", institution_id=2,
                           employer_id=5, issued_on=date(2026, 10, 1),
                           lapsed_on=date(2026, 11, 1))  # fmt: skip
    recipients = compose(lapsed, directory)
    assert all(r.unsubscribe_url is None for r in recipients.values())
    assert not [c for c in directory.calls if c[0] == "unsubscribe_links"]
    assert recipients["direction@boulangerie.qc"].reply_to == ("Sophie Bélanger <rac@levis.qc>",)


def test_a_ministry_decision_answers_to_the_person_who_made_it_else_to_the_analysts():
    def decided(by):
        return ev.ApplicationAdmissibilityDecided(
            application_id=7,
            call_id=1,
            organisation_id=2,
            organisation_name="Cégep de Lévis",
            reference="CERAC-2012-0007",
            admissible=True,
            decision="recevable",
            rules=[],
            comment="",
            decided_by_user_id=by,
            decided_at=datetime(2013, 2, 1, 15, tzinfo=UTC),
        )

    by_admin = compose(decided(1))
    assert {r.reply_to for r in by_admin.values()} == {("Claire Dubois <admin@mes.qc>",)}
    # The decider left (inactive) or is unknown: the ministry's analysts answer.
    for gone in (3, 999):
        assert {r.reply_to for r in compose(decided(gone)).values()} == {
            ("Hélène Côté <analyste@mes.qc>",)
        }


def test_a_message_to_the_ministry_answers_to_the_person_at_the_cerac_who_acted():
    submitted = ev.FundingProjectSubmitted(
        project_id=4, cerac_id=1, organisation_id=2, organisation_name="Cégep de Lévis",
        title="Outils d'évaluation", mandate_part="development",
        requested_amount=Decimal("25000.00"), submitted_by_user_id=10)  # fmt: skip
    recipients = compose(submitted)
    assert set(recipients) == {"analyste@mes.qc"}
    assert recipients["analyste@mes.qc"].reply_to == ("Isabelle Bégin <dg@levis.qc>",)


def test_nobody_is_told_to_answer_to_themselves():
    """An analyst reviewing a report is also a recipient of nothing here, but a CERAC notice
    answered by its own coordinator must not name them."""
    answered = ev.CeracSupportAnswered(
        request_id=1, cerac_id=1, cerac_organisation_id=2, cerac_organisation_name="Cégep de Lévis",
        requester_organisation_id=2, requester_organisation_name="Cégep de Lévis",
        object="Grilles d'entrevue", answered_by_user_id=12, requested_by_user_id=12)  # fmt: skip
    recipients = compose(answered)
    assert recipients["rac@levis.qc"].reply_to == ()


def test_what_the_composer_already_asked_the_directory_is_not_asked_again():
    directory = Directory()
    compose(REMINDER, directory)
    look_ups = [c for c in directory.calls if c[0] == "users_of_organisation"]
    assert len(look_ups) == len(set(look_ups))


def test_every_event_with_a_composer_has_a_reply_rule():
    from services.notifications.replies import RULES

    assert set(catalogue.COMPOSERS) == set(RULES)


def test_a_name_with_a_comma_or_a_line_break_stays_one_quoted_mailbox():
    from services.notifications.catalogue import Recipient
    from services.notifications.replies import mailbox

    assert mailbox(Recipient("rac@levis.qc", "Bélanger,\r\n Sophie")) == (
        '"Bélanger, Sophie" <rac@levis.qc>'
    )
