"""Who receives what for each event: recipients looked up in the gateway's directory by
RPC (never from its tables), and the message each of them gets.

Composers are plain functions of (payload, directory, public URL), so they are tested
without a broker; the service wires them to events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from rac_shared import events as ev
from rac_shared.formatting import long_date, long_datetime, money

SIGNATORY_ROLES = [
    "director_general",
    "director_of_studies",
    "director_continuing_education",
    "director_vocational_training",
]
INSTITUTION_CONTACT_ROLES = ["director_general", "rac_coordinator"]
COORDINATOR_ROLES = ["rac_coordinator"]
EMPLOYER_ROLES = ["employer_representative"]
ORDER_OF_KIND = {"cegep": "collégial", "school_service_centre": "secondaire"}


class Directory(Protocol):
    def users_of_organisation(self, organisation_id: int, roles: list[str] | None = None
                              ) -> list[dict]: ...

    def get_organisation(self, organisation_id: int) -> dict: ...

    def list_organisations(self, kinds: list[str] | None = None) -> list[dict]: ...


@dataclass(frozen=True)
class Recipient:
    email: str
    full_name: str
    user_id: int | None = None
    copy: bool = False  # receives a copy (e.g. the coordinator of a reminder to an employer)


@dataclass(frozen=True)
class Message:
    kind: str  # the template pair email/<kind>.{txt,html}.j2
    subject: str
    context: dict
    why: str
    link: str | None = None
    legal: bool = False  # legal notices cannot be turned off by preferences
    attachment: dict | None = None
    recipients: list[Recipient] = field(default_factory=list)


def _people(users: Iterable[dict], copy: bool = False) -> list[Recipient]:
    return [Recipient(u["email"], u["full_name"], u["id"], copy) for u in users]


def _unique(recipients: list[Recipient]) -> list[Recipient]:
    seen, result = set(), []
    for r in recipients:
        if r.email.lower() not in seen:
            seen.add(r.email.lower())
            result.append(r)
    return result


# -- applications -------------------------------------------------------------------------


def application_submitted(p: ev.ApplicationSubmitted, directory: Directory, url: str) -> Message:
    recipients = _people(directory.users_of_organisation(p.organisation_id, SIGNATORY_ROLES))
    return Message(
        kind="application_submitted",
        subject=f"Accusé de réception — demande de reconnaissance {p.reference}",
        context={"p": p, "organisation": p.organisation_name},
        why="Vous recevez ce message parce que vous êtes signataire de la demande de "
            f"reconnaissance de {p.organisation_name} à titre de CERAC.",
        link=f"{url}/demandes/{p.application_id}",
        legal=True,
        recipients=_unique(recipients),
    )


def admissibility_decided(p: ev.ApplicationAdmissibilityDecided, directory: Directory,
                          url: str) -> Message:
    users = directory.users_of_organisation(
        p.organisation_id, SIGNATORY_ROLES + COORDINATOR_ROLES)
    verdict = "recevable" if p.admissible else "non recevable"
    return Message(
        kind="admissibility_decided",
        subject=f"Recevabilité de votre demande {p.reference} : {verdict}",
        context={"p": p, "verdict": verdict},
        why="Vous recevez ce message parce que vous êtes signataire ou responsable de la "
            f"demande de reconnaissance de {p.organisation_name}.",
        link=f"{url}/demandes/{p.application_id}",
        legal=True,
        recipients=_unique(_people(users)),
    )


def call_published(p: ev.CallPublished, directory: Directory, url: str) -> Message:
    orders = set(p.education_orders)
    recipients: list[Recipient] = []
    for organisation in directory.list_organisations(["cegep", "school_service_centre"]):
        if ORDER_OF_KIND.get(organisation["kind"]) in orders or not orders:
            recipients += _people(directory.users_of_organisation(
                organisation["id"], INSTITUTION_CONTACT_ROLES))
    return Message(
        kind="call_published",
        subject=f"Nouvel appel d'intérêt : {p.title}",
        context={"p": p},
        why="Vous recevez ce message parce que votre établissement est visé par cet appel "
            "d'intérêt du Ministère.",
        link=f"{url}/appels/{p.call_id}",
        recipients=_unique(recipients),
    )


def call_amended(p: ev.CallAmended, directory: Directory, url: str) -> Message:
    recipients: list[Recipient] = []
    for organisation_id in p.organisation_ids:
        recipients += _people(directory.users_of_organisation(
            organisation_id, INSTITUTION_CONTACT_ROLES + SIGNATORY_ROLES))
    return Message(
        kind="call_amended",
        subject=f"Modification no {p.amendment_number} de l'appel d'intérêt : {p.title}",
        context={"p": p},
        why="Vous recevez ce message parce que votre établissement a commencé une demande "
            "dans le cadre de cet appel d'intérêt.",
        link=f"{url}/appels/{p.call_id}",
        legal=True,
        recipients=_unique(recipients),
    )


# -- plans ----------------------------------------------------------------------------------


def _plan_parties(p, directory: Directory, copy_institution: bool = False
                  ) -> tuple[list[Recipient], list[Recipient]]:
    employer = _people(directory.users_of_organisation(p.employer_id, EMPLOYER_ROLES))
    institution = _people(directory.users_of_organisation(p.institution_id, COORDINATOR_ROLES),
                          copy=copy_institution)
    return employer, institution


def _names(p, directory: Directory) -> dict:
    return {
        "institution": directory.get_organisation(p.institution_id)["name"],
        "employer": directory.get_organisation(p.employer_id)["name"],
    }


def plan_issued(p: ev.PlanIssued, directory: Directory, url: str) -> Message:
    employer, _ = _plan_parties(p, directory)
    names = _names(p, directory)
    return Message(
        kind="plan_issued",
        subject=f"Plan de mise en œuvre {p.reference} à accepter au plus tard le "
                f"{long_date(p.acceptance_deadline)}",
        context={"p": p, **names, "deadline": long_datetime(p.acceptance_deadline)},
        why=f"Vous recevez ce message parce que vous représentez {names['employer']} auprès "
            f"de {names['institution']} pour ce projet de RAC en milieu de travail.",
        link=f"{url}/plans/{p.plan_id}",
        legal=True,
        attachment={"service": "plans", "method": "plan_pdf_for_delivery",
                    "kwargs": {"plan_id": p.plan_id, "version": p.version}},
        recipients=_unique(employer),
    )


def plan_reminder_due(p: ev.PlanReminderDue, directory: Directory, url: str) -> Message:
    employer, institution = _plan_parties(p, directory, copy_institution=True)
    names = _names(p, directory)
    days = "1 jour" if p.days_left == 1 else f"{p.days_left} jours"
    return Message(
        kind="plan_reminder",
        subject=f"Rappel : il reste {days} pour accepter le plan {p.reference}",
        context={"p": p, **names, "days": days, "deadline": long_datetime(p.acceptance_deadline)},
        why="Vous recevez ce rappel parce que le plan de mise en œuvre attend l'acceptation "
            f"écrite de {names['employer']}. Vous pouvez désactiver les rappels facultatifs "
            "dans vos préférences.",
        link=f"{url}/plans/{p.plan_id}",
        legal=False,
        recipients=_unique(employer + institution),
    )


def plan_accepted(p: ev.PlanAccepted, directory: Directory, url: str) -> Message:
    employer, institution = _plan_parties(p, directory)
    names = _names(p, directory)
    return Message(
        kind="plan_accepted",
        subject=f"Plan de mise en œuvre {p.reference} accepté",
        context={"p": p, **names, "accepted_at": long_datetime(p.accepted_at)},
        why="Vous recevez ce message parce que vous êtes partie à ce plan de mise en œuvre.",
        link=f"{url}/plans/{p.plan_id}",
        legal=True,
        recipients=_unique(employer + institution),
    )


def plan_lapsed(p: ev.PlanLapsed, directory: Directory, url: str) -> Message:
    employer, institution = _plan_parties(p, directory)
    names = _names(p, directory)
    return Message(
        kind="plan_lapsed",
        subject=f"Plan de mise en œuvre {p.reference} résolu de plein droit",
        context={"p": p, **names, "issued_on": long_date(p.issued_on),
                 "lapsed_on": long_date(p.lapsed_on)},
        why="Vous recevez cet avis parce que vous êtes partie à ce plan de mise en œuvre.",
        link=f"{url}/plans/{p.plan_id}",
        legal=True,
        recipients=_unique(employer + institution),
    )


def plan_cancelled(p: ev.PlanCancelled, directory: Directory, url: str) -> Message:
    employer, institution = _plan_parties(p, directory)
    names = _names(p, directory)
    party = names["institution"] if p.cancelled_by_party == "institution" else names["employer"]
    return Message(
        kind="plan_cancelled",
        subject=f"Plan de mise en œuvre {p.reference} annulé",
        context={"p": p, **names, "party": party, "cancelled_on": long_date(p.cancelled_on)},
        why="Vous recevez ce message parce que vous êtes partie à ce plan de mise en œuvre.",
        link=f"{url}/plans/{p.plan_id}",
        legal=True,
        recipients=_unique(employer + institution),
    )


# -- billing --------------------------------------------------------------------------------


def invoice_issued(p: ev.InvoiceIssued, directory: Directory, url: str) -> Message:
    employer = _people(directory.users_of_organisation(p.employer_id, EMPLOYER_ROLES))
    institution = directory.get_organisation(p.institution_id)["name"]
    return Message(
        kind="invoice_issued",
        subject=f"Facture {p.number} de {institution} — {money(p.total)}",
        context={"p": p, "institution": institution, "total": money(p.total),
                 "due_on": long_date(p.due_on), "issued_on": long_date(p.issued_on)},
        why=f"Vous recevez cette facture parce que vous représentez votre organisation dans "
            f"le projet {p.plan_reference} avec {institution}.",
        link=f"{url}/factures/{p.invoice_id}",
        legal=True,
        attachment={"service": "billing", "method": "invoice_pdf_for_delivery",
                    "kwargs": {"invoice_id": p.invoice_id}},
        recipients=_unique(employer),
    )


def invoice_overdue(p: ev.InvoiceOverdue, directory: Directory, url: str) -> Message:
    employer = _people(directory.users_of_organisation(p.employer_id, EMPLOYER_ROLES))
    institution = directory.get_organisation(p.institution_id)["name"]
    return Message(
        kind="invoice_overdue",
        subject=f"Facture {p.number} en retard de {p.days_late} jours",
        context={"p": p, "institution": institution, "balance": money(p.balance),
                 "due_on": long_date(p.due_on)},
        why=f"Vous recevez ce rappel parce que la facture {p.number} de {institution} "
            "adressée à votre organisation n'est pas entièrement payée.",
        link=f"{url}/factures/{p.invoice_id}",
        legal=True,
        recipients=_unique(employer),
    )


# -- scoring (evaluation and designation of CERACs) -----------------------------------------


def _points(value) -> str:
    """``Decimal('12.50')`` → ``12,5`` (scores as the scoring service shows them)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def evaluator_assigned(p: ev.EvaluatorAssigned, directory: Directory, url: str) -> Message:
    return Message(
        kind="evaluator_assigned",
        subject=f"Demande de reconnaissance à évaluer : {p.organisation_name} ({p.reference})",
        context={"p": p, "assigned_at": long_datetime(p.assigned_at)},
        why="Vous recevez ce message parce que l'administration du Ministère vous a confié "
            "l'évaluation de cette demande au sein du comité d'évaluation.",
        link=f"{url}/evaluations/{p.evaluation_id}",
        legal=True,
        recipients=[Recipient(p.evaluator_email, p.evaluator_name, p.evaluator_user_id)],
    )


def _letter(p) -> dict:
    return {"service": "scoring", "method": "letter_pdf_for_delivery",
            "kwargs": {"evaluation_id": p.evaluation_id}}


def cerac_designated(p: ev.CeracDesignated, directory: Directory, url: str) -> Message:
    users = directory.users_of_organisation(
        p.organisation_id, SIGNATORY_ROLES + COORDINATOR_ROLES)
    return Message(
        kind="cerac_designated",
        subject=f"Désignation de {p.organisation_name} à titre de CERAC",
        context={"p": p, "decision_date": long_date(p.decision_date),
                 "years": " et ".join(p.experimentation_years)},
        why="Vous recevez ce message parce que vous êtes signataire ou responsable de la "
            f"demande de reconnaissance de {p.organisation_name}.",
        link=f"{url}/resultats",
        legal=True,
        attachment=_letter(p),
        recipients=_unique(_people(users)),
    )


def cerac_not_designated(p: ev.CeracNotDesignated, directory: Directory, url: str) -> Message:
    users = directory.users_of_organisation(
        p.organisation_id, SIGNATORY_ROLES + COORDINATOR_ROLES)
    criteria = [{"label": c.label, "weight": c.weight, "threshold": c.threshold,
                 "score": _points(c.score), "met": c.met} for c in p.criteria]
    return Message(
        kind="cerac_not_designated",
        subject=f"Résultat de votre demande de reconnaissance {p.reference} : non retenue",
        context={"p": p, "decision_date": long_date(p.decision_date), "criteria": criteria,
                 "total": _points(p.total), "overall_threshold": _points(p.overall_threshold)},
        why="Vous recevez ce message parce que vous êtes signataire ou responsable de la "
            f"demande de reconnaissance de {p.organisation_name}.",
        link=f"{url}/resultats",
        legal=True,
        attachment=_letter(p),
        recipients=_unique(_people(users)),
    )


COMPOSERS: dict[type[ev.EventPayload], Callable[..., Message]] = {
    ev.ApplicationSubmitted: application_submitted,
    ev.ApplicationAdmissibilityDecided: admissibility_decided,
    ev.CallPublished: call_published,
    ev.CallAmended: call_amended,
    ev.PlanIssued: plan_issued,
    ev.PlanReminderDue: plan_reminder_due,
    ev.PlanAccepted: plan_accepted,
    ev.PlanLapsed: plan_lapsed,
    ev.PlanCancelled: plan_cancelled,
    ev.InvoiceIssued: invoice_issued,
    ev.InvoiceOverdue: invoice_overdue,
    ev.EvaluatorAssigned: evaluator_assigned,
    ev.CeracDesignated: cerac_designated,
    ev.CeracNotDesignated: cerac_not_designated,
}
