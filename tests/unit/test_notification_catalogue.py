"""Who receives what, and what it says: every composer with an in-memory directory, and
every e-mail template rendered in French with hostile text escaped."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from rac_shared import events as ev
from rac_shared.clock import end_of_day
from services.notifications import catalogue, domain
from tests.support.typography import ordinary_spaces

URL = "https://rac.example"
HOSTILE = "<script>alert(1)</script> {{ 7*7 }}"

ORGANISATIONS = {
    1: {"id": 1, "kind": "ministry", "name": "Ministère de l'Enseignement supérieur"},
    2: {"id": 2, "kind": "cegep", "name": "Cégep de Lévis"},
    3: {"id": 3, "kind": "cegep", "name": "Cégep Marie-Victorin"},
    4: {"id": 4, "kind": "school_service_centre", "name": "CSS des Navigateurs"},
    5: {"id": 5, "kind": "employer", "name": HOSTILE},
}
USERS = [
    {
        "id": 10,
        "organisation_id": 2,
        "role": "director_general",
        "email": "dg@levis.qc",
        "full_name": "Isabelle Bégin",
    },
    {
        "id": 11,
        "organisation_id": 2,
        "role": "director_of_studies",
        "email": "etudes@levis.qc",
        "full_name": "Marc-André Gagnon",
    },
    {
        "id": 12,
        "organisation_id": 2,
        "role": "rac_coordinator",
        "email": "rac@levis.qc",
        "full_name": "Sophie Bélanger",
    },
    {
        "id": 20,
        "organisation_id": 3,
        "role": "director_general",
        "email": "dg@cmv.qc",
        "full_name": "Nathalie Ouellet",
    },
    {
        "id": 30,
        "organisation_id": 4,
        "role": "director_general",
        "email": "dg@css.qc",
        "full_name": "Pierre Lachance",
    },
    {
        "id": 31,
        "organisation_id": 4,
        "role": "rac_coordinator",
        "email": "rac@css.qc",
        "full_name": "Louis Bouchard",
    },
    {
        "id": 50,
        "organisation_id": 5,
        "role": "employer_representative",
        "email": "rh@emp.qc",
        "full_name": "Julie Morin",
    },
]


class InMemoryDirectory:
    """The directory's contract, answered from the lists above."""

    def users_of_organisation(self, organisation_id, roles=None):
        return [
            u
            for u in USERS
            if u["organisation_id"] == organisation_id and (not roles or u["role"] in roles)
        ]

    def get_organisation(self, organisation_id):
        return ORGANISATIONS[organisation_id]

    def list_organisations(self, kinds=None):
        return [o for o in ORGANISATIONS.values() if not kinds or o["kind"] in kinds]


DEADLINE = end_of_day(date(2026, 12, 12))
PAYLOADS = {
    "application_submitted": ev.ApplicationSubmitted(
        application_id=7,
        call_id=1,
        organisation_id=2,
        organisation_name="Cégep de Lévis",
        reference="CERAC-2012-0007",
        submitted_at=datetime(2012, 12, 20, 15, 0, tzinfo=UTC),
        submitted_by_user_id=12,
        content_sha256="ab" * 32,
    ),
    "admissibility_decided": ev.ApplicationAdmissibilityDecided(
        application_id=7,
        call_id=1,
        organisation_id=2,
        organisation_name="Cégep de Lévis",
        reference="CERAC-2012-0007",
        admissible=False,
        decision="non_recevable",
        rules=[
            ev.AdmissibilityRuleOutcome(
                rule="deposit",
                label="Dépôt au plus tard à la date limite",
                passed=False,
                computed_passed=False,
                reason="Copie papier reçue le 7 janvier 2013.",
            )
        ],
        comment="",
        decided_by_user_id=2,
        decided_at=datetime(2013, 2, 1, 15, tzinfo=UTC),
    ),
    "call_published": ev.CallPublished(
        call_id=1,
        title="Appel d'intérêt CERAC 2012-2013",
        education_orders=["collégial"],
        launch_date=date(2012, 9, 10),
        deadline_date=date(2012, 12, 21),
        designation_date=date(2013, 5, 31),
    ),
    "plan_issued": ev.PlanIssued(
        plan_id=3,
        version=1,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        issued_on=date(2026, 11, 12),
        acceptance_deadline=DEADLINE,
        content_hash="f" * 64,
    ),
    "plan_reminder": ev.PlanReminderDue(
        plan_id=3,
        version=1,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        days_left=3,
        acceptance_deadline=DEADLINE,
    ),
    "plan_lapsed": ev.PlanLapsed(
        plan_id=3,
        version=1,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        issued_on=date(2026, 11, 12),
        lapsed_on=date(2026, 12, 13),
    ),
    "plan_amendment_issued": ev.PlanIssued(
        plan_id=3,
        version=3,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        issued_on=date(2026, 11, 12),
        acceptance_deadline=DEADLINE,
        content_hash="e" * 64,
        amends_version=2,
        amends_issued_on=date(2026, 3, 3),
        replaces_version=None,
        change_summary="Ajout d'une candidate\nHausse de 6 heures de services-conseils",
    ),
    "plan_revision_issued": ev.PlanIssued(
        plan_id=3,
        version=2,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        issued_on=date(2026, 11, 12),
        acceptance_deadline=DEADLINE,
        content_hash="d" * 64,
        replaces_version=1,
        change_summary="Dates des entrevues corrigées",
    ),
    "plan_amendment_reminder": ev.PlanReminderDue(
        plan_id=3,
        version=3,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        days_left=1,
        acceptance_deadline=DEADLINE,
        amends_version=2,
    ),
    "plan_amendment_accepted": ev.PlanAccepted(
        plan_id=3,
        version=3,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        accepted_at=datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
        accepted_by="Julie Morin",
        amends_version=2,
    ),
    "plan_amendment_lapsed": ev.PlanLapsed(
        plan_id=3,
        version=3,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        issued_on=date(2026, 11, 12),
        lapsed_on=date(2026, 12, 13),
        amends_version=2,
        amends_issued_on=date(2026, 3, 3),
    ),
    "plan_declined": ev.PlanDeclined(
        plan_id=3,
        version=1,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        issued_on=date(2026, 11, 12),
        declined_at=datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
        declined_by="Julie Morin",
        reason="Le calendrier tombe en pleine période des Fêtes.",
    ),
    "plan_amendment_declined": ev.PlanDeclined(
        plan_id=3,
        version=3,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        issued_on=date(2026, 11, 12),
        declined_at=datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
        declined_by="Julie Morin",
        reason="La hausse n'est pas prévue au budget.",
        amends_version=2,
    ),
    "plan_version_withdrawn": ev.PlanVersionWithdrawn(
        plan_id=3,
        version=1,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        issued_on=date(2026, 11, 12),
        withdrawn_on=date(2026, 11, 14),
        reason="Dates des entrevues corrigées",
    ),
    "plan_amendment_withdrawn": ev.PlanVersionWithdrawn(
        plan_id=3,
        version=3,
        reference="PMO-CLV-2026-003",
        institution_id=2,
        employer_id=5,
        issued_on=date(2026, 11, 12),
        withdrawn_on=date(2026, 11, 14),
        reason="Le projet est terminé.",
        amends_version=2,
        project_completed=True,
    ),
    "invoice_issued": ev.InvoiceIssued(
        invoice_id=9,
        number="CLV-2026-0001",
        institution_id=2,
        employer_id=5,
        plan_id=3,
        plan_reference="PMO-CLV-2026-003",
        issued_on=date(2026, 12, 1),
        due_on=date(2026, 12, 31),
        total=Decimal("250000"),
    ),
    "credit_note_issued": ev.CreditNoteIssued(
        credit_note_id=4,
        number="CLV-NC-2026-0001",
        institution_id=2,
        employer_id=5,
        plan_id=3,
        plan_reference="PMO-CLV-2026-003",
        issued_on=date(2026, 10, 15),
        total=Decimal("1306.37"),
        reason=f"Abandon d'un candidat-travailleur {HOSTILE}",
        reason_kind="abandonment",
        applications=[
            ev.CreditNoteApplication(invoice_number="CLV-2026-0001", amount=Decimal("1000"))
        ],
        unapplied=Decimal("306.37"),
    ),
}


def compose(kind):
    payload = PAYLOADS[kind]
    return catalogue.COMPOSERS[type(payload)](payload, InMemoryDirectory(), URL)


def render(message, recipient):
    context = {
        **message.context,
        "full_name": recipient.full_name,
        "why": message.why,
        "subject": message.subject,
        "link": message.link,
    }
    return tuple(ordinary_spaces(part) for part in domain.render_email(message.kind, context))


def test_application_receipt_goes_to_the_institutions_signatories_only():
    message = compose("application_submitted")
    assert [r.email for r in message.recipients] == ["dg@levis.qc", "etudes@levis.qc"]
    assert message.legal
    text, html = render(message, message.recipients[0])
    assert "CERAC-2012-0007" in text and "Bonjour Isabelle Bégin" in text
    assert "20 décembre 2012" in text


def test_admissibility_decision_lists_each_rule_with_its_reason():
    message = compose("admissibility_decided")
    assert message.subject.endswith("non recevable")
    assert {r.email for r in message.recipients} == {
        "dg@levis.qc",
        "etudes@levis.qc",
        "rac@levis.qc",
    }
    text, html = render(message, message.recipients[0])
    assert "Dépôt au plus tard à la date limite : non respecté" in text
    assert "Copie papier reçue le 7 janvier 2013." in html


def test_call_goes_to_every_institution_of_the_orders_concerned():
    message = compose("call_published")
    emails = {r.email for r in message.recipients}
    assert emails == {"dg@levis.qc", "rac@levis.qc", "dg@cmv.qc"}  # collégial only
    text, _ = render(message, message.recipients[0])
    assert "21 décembre 2012, 23 h 59" in text


def test_plan_issued_states_the_deadline_in_full_and_attaches_the_pdf_and_the_deadline():
    message = compose("plan_issued")
    assert [r.email for r in message.recipients] == ["rh@emp.qc"]
    assert message.legal
    assert message.attachment == [
        {
            "service": "plans",
            "method": "plan_pdf_for_delivery",
            "kwargs": {"plan_id": 3, "version": 1},
        },
        {
            "service": "plans",
            "method": "acceptance_calendar_for_delivery",
            "kwargs": {"plan_id": 3, "version": 1},
        },
    ]
    text, html = render(message, message.recipients[0])
    assert "au plus tard le 12 décembre 2026 à 23 h 59" in text
    assert message.link == f"{URL}/plans/3"


def test_reminders_are_optional_and_copy_the_coordinator():
    message = compose("plan_reminder")
    assert not message.legal
    assert [(r.email, r.copy) for r in message.recipients] == [
        ("rh@emp.qc", False),
        ("rac@levis.qc", True),
    ]
    assert "il reste 3 jours" in message.subject


def test_lapse_notice_says_void_by_operation_of_law():
    message = compose("plan_lapsed")
    assert {r.email for r in message.recipients} == {"rh@emp.qc", "rac@levis.qc"}
    text, _ = render(message, message.recipients[0])
    assert "résolu de plein droit" in text
    assert "aucune acceptation écrite" in text
    assert "30 jours suivant sa date d'émission" in text


def test_a_first_offer_says_the_plan_no_longer_binds_when_it_lapses():
    text, html = render(compose("plan_lapsed"), compose("plan_lapsed").recipients[0])
    assert "Le plan ne lie plus les parties." in text and "Le plan ne lie plus" in html
    assert "par le Cégep de Lévis à l'intention" in text


def test_an_amendment_is_announced_as_such_with_the_version_it_modifies_and_its_summary():
    message = compose("plan_amendment_issued")
    assert message.subject == (
        "Modification du plan de mise en œuvre PMO-CLV-2026-003 (version 3) à accepter au plus "
        "tard le 12 décembre 2026"
    )
    assert [a["kwargs"] for a in message.attachment] == [{"plan_id": 3, "version": 3}] * 2
    text, html = render(message, message.recipients[0])
    assert text.startswith("Bonjour Julie Morin")
    assert "Le Cégep de Lévis vous transmet une modification écrite" in text
    assert "modifie la version 2 du 3 mars 2026, actuellement en vigueur" in text
    assert "Ajout d'une candidate\nHausse de 6 heures de services-conseils" in text
    assert "Ajout d&#39;une candidate<br>Hausse de 6 heures" in html
    assert (
        "La version 2 demeure en vigueur jusqu'à l'acceptation de la présente modification"
    ) in text
    assert "la modification sera résolue de plein droit et la version 2 demeurera en vigueur" in (
        text
    )
    assert "le plan sera résolu" not in text and "au Cégep de Lévis au plus tard" in text


def test_a_revised_offer_says_which_version_it_replaces():
    message = compose("plan_revision_issued")
    assert message.subject.startswith("Plan de mise en œuvre PMO-CLV-2026-003 révisé (version 2)")
    text, _ = render(message, message.recipients[0])
    assert "une version révisée du plan de mise en œuvre" in text
    assert "remplace la version 1, que vous n'avez plus à accepter" in text
    assert "Dates des entrevues corrigées" in text


def test_reminders_and_acceptance_of_an_amendment_name_the_amendment():
    reminder = compose("plan_amendment_reminder")
    assert reminder.subject == ("Rappel : il reste 1 jour pour accepter la modification du plan "
                                "PMO-CLV-2026-003 (version 3)")  # fmt: skip
    text, _ = render(reminder, reminder.recipients[0])
    assert "la version 2 demeurera en vigueur" in text and "le plan sera résolu" not in text
    accepted = compose("plan_amendment_accepted")
    assert accepted.subject == (
        "Modification du plan de mise en œuvre PMO-CLV-2026-003 (version 3) acceptée"
    )
    text, _ = render(accepted, accepted.recipients[0])
    assert "La version 3 remplace la version 2 : elle est désormais la version en vigueur" in text


def test_a_lapsed_amendment_says_the_version_in_force_stays_in_force():
    message = compose("plan_amendment_lapsed")
    assert message.subject == (
        "Modification du plan de mise en œuvre PMO-CLV-2026-003 (version 3) caduque : la version "
        "2 demeure en vigueur"
    )
    assert message.legal
    assert {r.email for r in message.recipients} == {"rh@emp.qc", "rac@levis.qc"}
    text, _ = render(message, message.recipients[0])
    assert "La modification du plan de mise en œuvre PMO-CLV-2026-003 (version 3)" in text
    assert "est caduque depuis le 13 décembre 2026" in text
    assert "La version 2 du plan, du 3 mars 2026, demeure en vigueur" in text
    assert "ne lie plus les parties" not in text and "Un nouveau plan" not in text


def test_a_decline_tells_the_institution_why():
    message = compose("plan_declined")
    assert message.subject == ("Offre refusée : plan de mise en œuvre PMO-CLV-2026-003 (version 1)")
    assert message.legal and message.link == f"{URL}/plans/3"
    assert [r.email for r in message.recipients] == ["rac@levis.qc", "rh@emp.qc"]
    text, _ = render(message, message.recipients[0])
    assert text.startswith("Bonjour Sophie Bélanger")
    assert "Le 20 novembre 2026 à 10 h 00, Julie Morin a refusé" in text
    assert "Motif du refus :\nLe calendrier tombe en pleine période des Fêtes." in text
    assert "Le Cégep de Lévis peut réviser le plan" in text
    amendment = compose("plan_amendment_declined")
    assert amendment.subject == (
        "Modification du plan de mise en œuvre PMO-CLV-2026-003 (version 3) refusée : la "
        "version 2 demeure en vigueur"
    )
    text, _ = render(amendment, amendment.recipients[0])
    assert "qui modifiait la version 2" in text
    assert "La version 2 demeure en vigueur et continue de lier les parties" in text


def test_a_withdrawal_tells_the_employer_it_no_longer_has_to_accept():
    message = compose("plan_version_withdrawn")
    assert message.subject == "Plan de mise en œuvre PMO-CLV-2026-003 : la version 1 est retirée"
    assert message.legal and [r.email for r in message.recipients] == ["rh@emp.qc"]
    text, _ = render(message, message.recipients[0])
    assert "Le Cégep de Lévis a retiré, le 14 novembre 2026, la version 1" in text
    assert "Vous n'avez plus à accepter cette version." in text
    assert "Motif du retrait :\nDates des entrevues corrigées" in text
    completed = compose("plan_amendment_withdrawn")
    assert completed.subject == (
        "Modification du plan de mise en œuvre PMO-CLV-2026-003 (version 3) retirée : la "
        "version 2 demeure en vigueur"
    )
    text, _ = render(completed, completed.recipients[0])
    assert "La version 2 demeure la dernière version acceptée du plan." in text
    assert "modification révisée" not in text


def test_invoice_amount_in_french_money_and_pdf_attached():
    message = compose("invoice_issued")
    assert "250\xa0000,00\xa0$" in message.subject
    assert message.attachment["method"] == "invoice_pdf_for_delivery"
    text, _ = render(message, message.recipients[0])
    assert "31 décembre 2026" in text


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_hostile_organisation_names_are_escaped_in_html_and_literal_in_text(kind):
    message = compose(kind)
    for recipient in message.recipients:
        text, html = render(message, recipient)
        assert "<script>" not in html
        assert "49" not in text.replace("2049", "")  # {{ 7*7 }} never evaluated
        if HOSTILE in text:
            assert "&lt;script&gt;" in html


def test_every_composer_has_both_templates():
    for kind in {compose(k).kind for k in PAYLOADS} | {
        "call_amended",
        "plan_accepted",
        "plan_cancelled",
        "invoice_overdue",
        "plan_declined",
        "plan_version_withdrawn",
    }:
        assert domain.templates.get_template(f"email/{kind}.txt.j2")
        assert domain.templates.get_template(f"email/{kind}.html.j2")


def test_credit_note_is_a_legal_notice_to_the_employer_with_its_pdf():
    message = compose("credit_note_issued")
    assert [r.email for r in message.recipients] == ["rh@emp.qc"]
    assert message.legal  # like the invoice it corrects: preferences cannot turn it off
    assert message.subject == "Note de crédit CLV-NC-2026-0001 du Cégep de Lévis — 1\xa0306,37\xa0$"
    assert message.attachment == {
        "service": "billing",
        "method": "credit_note_pdf_for_delivery",
        "kwargs": {"credit_note_id": 4},
    }
    assert message.link == f"{URL}/facturation/notes-de-credit/4"
    text, html = render(message, message.recipients[0])
    assert "15 octobre 2026" in text and "Motif : Abandon d'un candidat-travailleur" in text
    assert "- facture CLV-2026-0001 : 1 000,00 $" in text
    assert "Le solde de 306,37 $ sera appliqué aux prochaines factures" in text
    assert "&lt;script&gt;" in html


def test_credit_note_published_before_its_notice_existed_still_reads_well():
    old = ev.CreditNoteIssued.model_validate(
        {
            "credit_note_id": 4,
            "number": "CLV-NC-2026-0001",
            "institution_id": 2,
            "employer_id": 5,
            "plan_id": 3,
            "plan_reference": "PMO-CLV-2026-003",
            "issued_on": "2026-10-15",
            "total": "1306.37",
            "reason": "Avenant",
        }
    )
    message = catalogue.credit_note_issued(old, InMemoryDirectory(), URL)
    text, _ = render(message, message.recipients[0])
    assert "Motif : Avenant" in text and "Le solde" not in text and "réduit" not in text


@pytest.mark.parametrize(
    ("party", "by"),
    [("institution", "le Cégep de Lévis"), ("employer", "le CISSS de Chaudière-Appalaches")],
)
def test_a_cancellation_names_who_cancelled_with_its_article(party, by):
    payload = ev.PlanCancelled(
        plan_id=3, version=1, reference="PMO-CLV-2026-003", institution_id=2, employer_id=8,
        cancelled_on=date(2026, 11, 27), cancelled_by_party=party, reason="Projet reporté",
    )  # fmt: skip

    class Directory(InMemoryDirectory):
        def get_organisation(self, organisation_id):
            if organisation_id == 8:
                return {"id": 8, "kind": "employer", "name": "CISSS de Chaudière-Appalaches"}
            return super().get_organisation(organisation_id)

    message = catalogue.COMPOSERS[ev.PlanCancelled](payload, Directory(), URL)
    context = {**message.context, "full_name": "Julie Morin", "why": "", "subject": "", "link": ""}
    text, _ = domain.render_email(message.kind, context)
    assert f"a été annulé le 27 novembre 2026 par {by}." in text
