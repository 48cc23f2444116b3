"""Notifications of a designated CERAC's life: reports (submitted, sent back with comments per
section, accepted, due soon or late), special mandates, support requests and answers, and
funding (projects submitted and decided, disbursements released and paid). Who receives
each, what it says in French, which are legal notices and which optional reminders, and
that user text is escaped in HTML."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from rac_shared import events as ev
from services.notifications import catalogue, domain
from tests.support.typography import ordinary_spaces
from tests.unit.test_notification_catalogue import HOSTILE, ORGANISATIONS, URL, USERS

MINISTRY_USERS = [
    {"id": 1, "organisation_id": 1, "role": "ministry_admin", "email": "admin@mes.qc",
     "full_name": "Hélène Tremblay"},
    {"id": 2, "organisation_id": 1, "role": "ministry_analyst", "email": "analyste@mes.qc",
     "full_name": "François Côté"},
    {"id": 3, "organisation_id": 1, "role": "ministry_evaluator", "email": "eval@mes.qc",
     "full_name": "Geneviève Lévesque"},
]  # fmt: skip


class Directory:
    def __init__(self, users=None):
        self.users = USERS + MINISTRY_USERS if users is None else users

    def users_of_organisation(self, organisation_id, roles=None):
        return [u for u in self.users if u["organisation_id"] == organisation_id
                and (not roles or u["role"] in roles)]  # fmt: skip

    def get_organisation(self, organisation_id):
        return ORGANISATIONS[organisation_id]

    def list_organisations(self, kinds=None):
        return [o for o in ORGANISATIONS.values() if not kinds or o["kind"] in kinds]


LEVIS = {"cerac_id": 1, "organisation_id": 2, "organisation_name": "Cégep de Lévis"}
REPORT = {**LEVIS, "report_id": 40, "period_label": "2013-2014", "version_number": 2}
PAYLOADS = {
    "report_submitted": ev.CeracReportSubmitted(
        **REPORT, due_date=date(2014, 9, 30), submitted_by_user_id=12),
    "changes_requested": ev.CeracReportChangesRequested(
        **REPORT, reviewed_by_user_id=2,
        comments={"offer": f"Cible manquante {HOSTILE}", "livrable-2": "Préciser l'échéancier",
                  "_general": "Merci de compléter."}),
    "report_accepted": ev.CeracReportAccepted(
        **REPORT, accepted_on=date(2014, 10, 15), reviewed_by_user_id=2),
    "due_soon": ev.CeracReportDueSoon(
        **LEVIS, period_label="2014-2015", due_date=date(2015, 9, 30), step="j-7"),
    "late": ev.CeracReportDueSoon(
        **LEVIS, period_label="Guide de la RAC à distance", special_mandate_id=5,
        due_date=date(2015, 9, 30), step="late"),
    "mandate": ev.CeracSpecialMandateAssigned(
        **LEVIS, special_mandate_id=5, object=f"Guide de la RAC à distance {HOSTILE}",
        deliverables=["Guide", "Formation des conseillers"], due_date=date(2015, 3, 31),
        amount=Decimal("45000.00"), assigned_by_user_id=1),
    "support_requested": ev.CeracSupportRequested(
        request_id=9, cerac_id=1, cerac_organisation_id=2,
        cerac_organisation_name="Cégep de Lévis", requester_organisation_id=4,
        requester_organisation_name="CSS des Navigateurs", object=HOSTILE,
        program="5358 — Secrétariat", requested_by_user_id=31),
    "support_answered": ev.CeracSupportAnswered(
        request_id=9, cerac_id=1, cerac_organisation_id=2,
        cerac_organisation_name="Cégep de Lévis", requester_organisation_id=4,
        requester_organisation_name="CSS des Navigateurs", object="Mise en place d'un service",
        answered_by_user_id=12, requested_by_user_id=31),
    "project_submitted": ev.FundingProjectSubmitted(
        **LEVIS, project_id=3, title="Instrumentation en soins infirmiers",
        mandate_part="development", requested_amount=Decimal("80000.00"),
        submitted_by_user_id=12),
    "project_decided": ev.FundingProjectDecided(
        **LEVIS, project_id=3, title="Instrumentation en soins infirmiers",
        decision="adjusted", requested_amount=Decimal("80000.00"),
        approved_amount=Decimal("60000.00"), reason=f"Budget révisé {HOSTILE}",
        decided_by_user_id=1),
    "released": ev.FundingDisbursementReleased(
        **LEVIS, disbursement_id=7, fiscal_year="2014-2015", amount=Decimal("125000.00"),
        report_id=40, report_period_label="2013-2014"),
    "paid": ev.FundingDisbursementPaid(
        **LEVIS, disbursement_id=7, fiscal_year="2014-2015", amount=Decimal("125000.00"),
        paid_on=date(2014, 11, 3), allocation_id=4),
}  # fmt: skip
CERAC_CONTACTS = {"dg@levis.qc", "etudes@levis.qc", "rac@levis.qc"}


def compose(key, directory=None):
    payload = PAYLOADS[key]
    return catalogue.COMPOSERS[type(payload)](payload, directory or Directory(), URL)


def render(message, recipient=None):
    recipient = recipient or message.recipients[0]
    context = {**message.context, "full_name": recipient.full_name, "why": message.why,
               "subject": message.subject, "link": message.link}  # fmt: skip
    return tuple(ordinary_spaces(part) for part in domain.render_email(message.kind, context))


def emails(message) -> set[str]:
    return {r.email for r in message.recipients}


def test_every_new_event_has_a_composer_and_both_templates():
    for payload in PAYLOADS.values():
        message = compose(next(k for k, v in PAYLOADS.items() if v is payload))
        text, html = render(message)
        assert text.startswith("Bonjour ") and '<html lang="fr-CA">' in html
        assert message.why in text  # the footer says why the person receives it
        assert message.link.startswith(f"{URL}/")


def test_a_submitted_report_goes_to_the_ministry_analysts_only():
    message = compose("report_submitted")
    assert emails(message) == {"analyste@mes.qc"}
    assert message.subject == "Reddition de comptes déposée : Cégep de Lévis — 2013-2014"
    assert message.link == f"{URL}/redditions/40"
    assert message.legal
    text, _ = render(message)
    assert "la reddition de comptes 2013-2014 (version 2)" in text
    assert "30 septembre 2014" in text


def test_without_an_analyst_the_ministry_administration_is_told():
    users = [u for u in USERS + MINISTRY_USERS if u["role"] != "ministry_analyst"]
    message = compose("report_submitted", Directory(users))
    assert emails(message) == {"admin@mes.qc"}


def test_changes_requested_list_each_sections_comment_to_the_cerac_contacts():
    message = compose("changes_requested")
    assert emails(message) == CERAC_CONTACTS
    assert message.legal
    assert message.subject == "Modifications demandées à votre reddition de comptes — 2013-2014"
    text, html = render(message)
    assert "- Volet 1 — Accroître l'offre de service en RAC : Cible manquante" in text
    assert "- Livrable 2 : Préciser l'échéancier" in text
    assert text.index("Livrable 2") < text.index("Commentaire général : Merci de compléter.")
    assert HOSTILE in text  # plain text keeps the analyst's words as written
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "49" not in text + html  # template syntax in user text is never evaluated


def test_accepted_report_says_held_disbursements_can_be_released():
    message = compose("report_accepted")
    assert emails(message) == CERAC_CONTACTS and message.legal
    text, _ = render(message)
    assert "15 octobre 2014" in text and "libérés" in text


def test_reminders_before_the_due_date_are_optional_the_late_notice_is_not():
    soon, late = compose("due_soon"), compose("late")
    assert not soon.legal and late.legal
    assert emails(soon) == emails(late) == CERAC_CONTACTS
    assert "désactiver les rappels facultatifs" in soon.why
    assert "désactiver" not in late.why
    assert soon.subject == (
        "Rappel : reddition de comptes 2014-2015 à déposer au plus tard le 30 septembre 2015"
    )
    assert late.subject.startswith("Reddition de comptes en retard : Guide de la RAC à distance")
    soon_text, _ = render(soon)
    late_text, _ = render(late)
    assert "La reddition de comptes 2014-2015 du Cégep de Lévis est à déposer" in soon_text
    assert "le rapport sur le mandat spécial « Guide de la RAC à distance »" in late_text
    assert "n'a pas encore été déposé au Ministère" in late_text  # le rapport: masculine
    assert late.link == f"{URL}/redditions"


def test_a_special_mandate_lists_deliverables_due_date_and_amount():
    message = compose("mandate")
    assert emails(message) == CERAC_CONTACTS and message.legal
    text, html = render(message)
    assert "- Guide\n- Formation des conseillers" in text
    assert "31 mars 2015" in text
    assert "45 000,00 $" in text
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert message.link == f"{URL}/redditions"


def test_a_support_request_goes_to_the_cerac_coordinators():
    message = compose("support_requested")
    assert emails(message) == {"rac@levis.qc"}
    assert message.subject.startswith("Demande de soutien du CSS des Navigateurs : ")
    assert message.link == f"{URL}/reseau/demandes"
    _, html = render(message)
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_a_support_request_to_a_cerac_without_coordinator_reaches_its_directors():
    users = [u for u in USERS if u["role"] != "rac_coordinator"]
    message = compose("support_requested", Directory(users))
    assert emails(message) == {"dg@levis.qc", "etudes@levis.qc"}


def test_the_answer_goes_to_the_person_who_asked():
    message = compose("support_answered")
    assert [(r.email, r.user_id) for r in message.recipients] == [("rac@css.qc", 31)]
    anonymous = PAYLOADS["support_answered"].model_copy(update={"requested_by_user_id": None})
    fallback = catalogue.support_answered(anonymous, Directory(), URL)
    assert emails(fallback) == {"rac@css.qc"}  # unknown requester: the coordinators
    text, _ = render(message)
    assert "Le CERAC du Cégep de Lévis a répondu" in text


def test_a_project_goes_to_the_analysts_and_its_decision_to_the_cerac():
    submitted, decided = compose("project_submitted"), compose("project_decided")
    assert emails(submitted) == {"analyste@mes.qc"}
    assert emails(decided) == CERAC_CONTACTS
    assert submitted.link == decided.link == f"{URL}/financement/projets/3"
    text, _ = render(submitted)
    assert "contribuer au développement de la RAC" in text and "80 000,00 $" in text
    assert decided.subject == (
        "Projet de développement approuvé avec ajustement : Instrumentation en soins infirmiers"
    )
    text, html = render(decided)
    assert "Montant approuvé : 60 000,00 $" in text
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_disbursements_released_and_paid_are_told_to_the_cerac():
    released, paid = compose("released"), compose("paid")
    assert emails(released) == emails(paid) == CERAC_CONTACTS
    assert released.legal and paid.legal
    assert released.subject == "Versement libéré : 125\xa0000,00\xa0$ (2014-2015)"
    assert paid.subject == "Versement effectué : 125\xa0000,00\xa0$ le 3 novembre 2014"
    assert released.link == paid.link == f"{URL}/financement/ceracs/1"
    text, _ = render(released)
    assert "reddition de comptes 2013-2014" in text
    text, _ = render(paid)
    assert "allocation de fonctionnement" in text


@pytest.mark.parametrize("key", ["report_submitted", "project_submitted"])
def test_messages_to_the_ministry_never_reach_an_institution(key):
    assert all(r.email.endswith("@mes.qc") for r in compose(key).recipients)
