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
from rac_shared.french import named
from rac_shared.ministries import ministry_at

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
    def users_of_organisation(
        self, organisation_id: int, roles: list[str] | None = None
    ) -> list[dict]: ...

    def get_organisation(self, organisation_id: int) -> dict: ...

    def list_organisations(self, kinds: list[str] | None = None) -> list[dict]: ...


@dataclass(frozen=True)
class Recipient:
    email: str
    full_name: str
    user_id: int | None = None
    copy: bool = False  # receives a copy (e.g. the coordinator of a reminder to an employer)
    # Set by replies.addressed: whom a reply reaches, and the one-click unsubscribe link.
    reply_to: tuple[str, ...] = ()
    unsubscribe_url: str | None = None


@dataclass(frozen=True)
class Message:
    kind: str  # the template pair email/<kind>.{txt,html}.j2
    subject: str
    context: dict
    why: str
    link: str | None = None
    legal: bool = False  # legal notices cannot be turned off by preferences
    # What the e-mail attaches, fetched from the service that owns it when it is sent: one
    # spec ({"service", "method", "kwargs"}) or a list of them.
    attachment: dict | list[dict] | None = None
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
        f"reconnaissance {named(p.organisation_name).du} à titre de CERAC.",
        link=f"{url}/demandes/{p.application_id}",
        legal=True,
        recipients=_unique(recipients),
    )


def admissibility_decided(
    p: ev.ApplicationAdmissibilityDecided, directory: Directory, url: str
) -> Message:
    users = directory.users_of_organisation(p.organisation_id, SIGNATORY_ROLES + COORDINATOR_ROLES)
    verdict = "recevable" if p.admissible else "non recevable"
    return Message(
        kind="admissibility_decided",
        subject=f"Recevabilité de votre demande {p.reference} : {verdict}",
        context={"p": p, "verdict": verdict},
        why="Vous recevez ce message parce que vous êtes signataire ou responsable de la "
        f"demande de reconnaissance {named(p.organisation_name).du}.",
        link=f"{url}/demandes/{p.application_id}",
        legal=True,
        recipients=_unique(_people(users)),
    )


def _applicants(p, directory: Directory) -> list[Recipient]:
    """The applying institution's signatories and RAC coordinators."""
    users = directory.users_of_organisation(p.organisation_id, SIGNATORY_ROLES + COORDINATOR_ROLES)
    return _unique(_people(users))


def _applicants_why(p) -> str:
    return (
        "Vous recevez ce message parce que vous êtes signataire ou responsable de la demande "
        f"de reconnaissance {named(p.organisation_name).du}."
    )


def complements_requested(
    p: ev.ApplicationComplementsRequested, directory: Directory, url: str
) -> Message:
    return Message(
        kind="complements_requested",
        subject=f"Compléments demandés pour votre demande {p.reference} — réponse attendue au "
        f"plus tard le {long_date(p.due_date)}",
        context={"p": p, "due_date": long_date(p.due_date)},
        why=_applicants_why(p),
        link=f"{url}/demandes/{p.application_id}",
        legal=True,
        recipients=_applicants(p, directory),
    )


def complements_answered(
    p: ev.ApplicationComplementsAnswered, directory: Directory, url: str
) -> Message:
    return Message(
        kind="complements_answered",
        subject=f"Compléments reçus : demande {p.reference} {named(p.organisation_name).du}",
        context={"p": p, "answered_at": long_datetime(p.answered_at)},
        why="Vous recevez ce message parce que vous analysez, au Ministère, la recevabilité "
        "des demandes de reconnaissance.",
        link=f"{url}/demandes/{p.application_id}",
        legal=True,
        recipients=_ministry_analysts(directory),
    )


def complements_deadline_extended(
    p: ev.ApplicationComplementsDeadlineExtended, directory: Directory, url: str
) -> Message:
    return Message(
        kind="complements_deadline_extended",
        subject=f"Délai prolongé jusqu'au {long_date(p.due_date)} — compléments de la demande "
        f"{p.reference}",
        context={
            "p": p,
            "due_date": long_date(p.due_date),
            "previous_due_date": long_date(p.previous_due_date),
        },  # fmt: skip
        why=_applicants_why(p),
        link=f"{url}/demandes/{p.application_id}",
        legal=True,
        recipients=_applicants(p, directory),
    )


def admissibility_resumed(
    p: ev.ApplicationAdmissibilityResumed, directory: Directory, url: str
) -> Message:
    return Message(
        kind="admissibility_resumed",
        subject=f"Analyse de la recevabilité reprise — demande {p.reference}",
        context={"p": p},
        why=_applicants_why(p),
        link=f"{url}/demandes/{p.application_id}",
        legal=True,
        recipients=_applicants(p, directory),
    )


def call_published(p: ev.CallPublished, directory: Directory, url: str) -> Message:
    orders = set(p.education_orders)
    recipients: list[Recipient] = []
    for organisation in directory.list_organisations(["cegep", "school_service_centre"]):
        if ORDER_OF_KIND.get(organisation["kind"]) in orders or not orders:
            recipients += _people(
                directory.users_of_organisation(organisation["id"], INSTITUTION_CONTACT_ROLES)
            )
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
        recipients += _people(
            directory.users_of_organisation(
                organisation_id, INSTITUTION_CONTACT_ROLES + SIGNATORY_ROLES
            )
        )
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


def _plan_parties(
    p, directory: Directory, copy_institution: bool = False
) -> tuple[list[Recipient], list[Recipient]]:
    employer = _people(directory.users_of_organisation(p.employer_id, EMPLOYER_ROLES))
    institution = _people(
        directory.users_of_organisation(p.institution_id, COORDINATOR_ROLES), copy=copy_institution
    )
    return employer, institution


def _names(p, directory: Directory) -> dict:
    """The parties' names, bare (``institution``, ``employer``) and with their article for
    running text (``inst.du`` « du Cégep de Lévis », ``emp.au`` « au CISSS … »)."""
    inst = named(directory.get_organisation(p.institution_id))
    emp = named(directory.get_organisation(p.employer_id))
    return {"institution": inst.name, "employer": emp.name, "inst": inst, "emp": emp}


def _offer(p) -> str:
    """How a plan notice names the offer: an amendment is never announced as the plan."""
    if getattr(p, "amends_version", None) is not None:
        return f"Modification du plan de mise en œuvre {p.reference} (version {p.version})"
    return f"Plan de mise en œuvre {p.reference}"


def plan_issued(p: ev.PlanIssued, directory: Directory, url: str) -> Message:
    employer, _ = _plan_parties(p, directory)
    names = _names(p, directory)
    offer = _offer(p)
    if p.amends_version is None and p.replaces_version is not None:
        offer = f"Plan de mise en œuvre {p.reference} révisé (version {p.version})"
    return Message(
        kind="plan_issued",
        subject=f"{offer} à accepter au plus tard le {long_date(p.acceptance_deadline)}",
        context={
            "p": p,
            **names,
            "deadline": long_datetime(p.acceptance_deadline),
            "amends_issued_on": long_date(p.amends_issued_on),
        },
        why=f"Vous recevez ce message parce que vous représentez {names['emp'].le} auprès "
        f"{names['inst'].du} pour ce projet de RAC en milieu de travail.",
        link=f"{url}/plans/{p.plan_id}",
        legal=True,
        # The PDF, and the acceptance deadline for the employer's calendar (iCalendar).
        attachment=[
            {
                "service": "plans",
                "method": method,
                "kwargs": {"plan_id": p.plan_id, "version": p.version},
            }
            for method in ("plan_pdf_for_delivery", "acceptance_calendar_for_delivery")
        ],
        recipients=_unique(employer),
    )


def plan_reminder_due(p: ev.PlanReminderDue, directory: Directory, url: str) -> Message:
    employer, institution = _plan_parties(p, directory, copy_institution=True)
    names = _names(p, directory)
    days = "1 jour" if p.days_left == 1 else f"{p.days_left} jours"
    what = f"le plan {p.reference}"
    if p.amends_version is not None:
        what = f"la modification du plan {p.reference} (version {p.version})"
    return Message(
        kind="plan_reminder",
        subject=f"Rappel : il reste {days} pour accepter {what}",
        context={"p": p, **names, "days": days, "deadline": long_datetime(p.acceptance_deadline)},
        why="Vous recevez ce rappel parce que le plan de mise en œuvre attend l'acceptation "
        f"écrite {names['emp'].du}. Vous pouvez désactiver les rappels facultatifs "
        "dans vos préférences.",
        link=f"{url}/plans/{p.plan_id}",
        legal=False,
        recipients=_unique(employer + institution),
    )


def plan_accepted(p: ev.PlanAccepted, directory: Directory, url: str) -> Message:
    employer, institution = _plan_parties(p, directory)
    names = _names(p, directory)
    subject = f"Plan de mise en œuvre {p.reference} accepté"
    if p.amends_version is not None:
        subject = f"{_offer(p)} acceptée"
    return Message(
        kind="plan_accepted",
        subject=subject,
        context={"p": p, **names, "accepted_at": long_datetime(p.accepted_at)},
        why="Vous recevez ce message parce que vous êtes partie à ce plan de mise en œuvre.",
        link=f"{url}/plans/{p.plan_id}",
        legal=True,
        recipients=_unique(employer + institution),
    )


def plan_lapsed(p: ev.PlanLapsed, directory: Directory, url: str) -> Message:
    """Only the lapse of a first offer ends the plan; a lapsed amendment leaves the version
    it modifies in force, and the notice says so."""
    employer, institution = _plan_parties(p, directory)
    names = _names(p, directory)
    subject = f"Plan de mise en œuvre {p.reference} résolu de plein droit"
    if p.amends_version is not None:
        subject = f"{_offer(p)} caduque : la version {p.amends_version} demeure en vigueur"
    return Message(
        kind="plan_lapsed",
        subject=subject,
        context={
            "p": p,
            **names,
            "issued_on": long_date(p.issued_on),
            "lapsed_on": long_date(p.lapsed_on),
            "amends_issued_on": long_date(p.amends_issued_on),
        },
        why="Vous recevez cet avis parce que vous êtes partie à ce plan de mise en œuvre.",
        link=f"{url}/plans/{p.plan_id}",
        legal=True,
        recipients=_unique(employer + institution),
    )


def plan_declined(p: ev.PlanDeclined, directory: Directory, url: str) -> Message:
    """The employer declined the offer: the institution is told, with the reason; the
    employer's representatives keep the notice as a record."""
    employer, institution = _plan_parties(p, directory)
    names = _names(p, directory)
    subject = f"Offre refusée : plan de mise en œuvre {p.reference} (version {p.version})"
    if p.amends_version is not None:
        subject = f"{_offer(p)} refusée : la version {p.amends_version} demeure en vigueur"
    return Message(
        kind="plan_declined",
        subject=subject,
        context={
            "p": p,
            **names,
            "issued_on": long_date(p.issued_on),
            "declined_at": long_datetime(p.declined_at),
        },
        why="Vous recevez cet avis parce que vous êtes partie à ce plan de mise en œuvre.",
        link=f"{url}/plans/{p.plan_id}",
        legal=True,
        recipients=_unique(institution + employer),
    )


def plan_version_withdrawn(p: ev.PlanVersionWithdrawn, directory: Directory, url: str) -> Message:
    """The institution withdrew the version the employer had to accept (to revise it): the
    employer no longer has to accept it."""
    employer, _ = _plan_parties(p, directory)
    names = _names(p, directory)
    subject = f"Plan de mise en œuvre {p.reference} : la version {p.version} est retirée"
    if p.amends_version is not None:
        subject = f"{_offer(p)} retirée : la version {p.amends_version} demeure en vigueur"
    return Message(
        kind="plan_version_withdrawn",
        subject=subject,
        context={
            "p": p,
            **names,
            "issued_on": long_date(p.issued_on),
            "withdrawn_on": long_date(p.withdrawn_on),
        },
        why=f"Vous recevez cet avis parce que vous représentez {names['emp'].le} auprès "
        f"{names['inst'].du} pour ce projet de RAC en milieu de travail.",
        link=f"{url}/plans/{p.plan_id}",
        legal=True,
        recipients=_unique(employer),
    )


def plan_cancelled(p: ev.PlanCancelled, directory: Directory, url: str) -> Message:
    employer, institution = _plan_parties(p, directory)
    names = _names(p, directory)
    party = (names["inst"] if p.cancelled_by_party == "institution" else names["emp"]).le
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
    institution = named(directory.get_organisation(p.institution_id))
    return Message(
        kind="invoice_issued",
        subject=f"Facture {p.number} {named(institution).du} — {money(p.total)}",
        context={
            "p": p,
            "institution": institution,
            "total": money(p.total),
            "due_on": long_date(p.due_on),
            "issued_on": long_date(p.issued_on),
        },
        why=f"Vous recevez cette facture parce que vous représentez votre organisation dans "
        f"le projet {p.plan_reference} avec {institution.le}.",
        link=f"{url}/factures/{p.invoice_id}",
        legal=True,
        attachment={
            "service": "billing",
            "method": "invoice_pdf_for_delivery",
            "kwargs": {"invoice_id": p.invoice_id},
        },
        recipients=_unique(employer),
    )


def invoice_overdue(p: ev.InvoiceOverdue, directory: Directory, url: str) -> Message:
    employer = _people(directory.users_of_organisation(p.employer_id, EMPLOYER_ROLES))
    institution = named(directory.get_organisation(p.institution_id))
    return Message(
        kind="invoice_overdue",
        subject=f"Facture {p.number} en retard de {p.days_late} jours",
        context={
            "p": p,
            "institution": institution,
            "balance": money(p.balance),
            "due_on": long_date(p.due_on),
        },
        why=f"Vous recevez ce rappel parce que la facture {p.number} {named(institution).du} "
        "adressée à votre organisation n'est pas entièrement payée.",
        link=f"{url}/factures/{p.invoice_id}",
        legal=True,
        recipients=_unique(employer),
    )


def credit_note_issued(p: ev.CreditNoteIssued, directory: Directory, url: str) -> Message:
    """A credit note is a legal notice, like the invoice it corrects: the employer gets it
    by e-mail with its PDF and in the inbox."""
    employer = _people(directory.users_of_organisation(p.employer_id, EMPLOYER_ROLES))
    institution = named(directory.get_organisation(p.institution_id))
    applications = [{"number": a.invoice_number, "amount": money(a.amount)}
                    for a in p.applications]  # fmt: skip
    return Message(
        kind="credit_note_issued",
        subject=f"Note de crédit {p.number} {named(institution).du} — {money(p.total)}",
        context={
            "p": p,
            "institution": institution,
            "total": money(p.total),
            "issued_on": long_date(p.issued_on),
            "applications": applications,
            "unapplied": money(p.unapplied) if p.unapplied else "",
        },  # fmt: skip
        why=f"Vous recevez cette note de crédit parce que vous représentez votre organisation "
        f"dans le projet {p.plan_reference} avec {institution.le}.",
        link=f"{url}/facturation/notes-de-credit/{p.credit_note_id}",
        legal=True,
        attachment={
            "service": "billing",
            "method": "credit_note_pdf_for_delivery",
            "kwargs": {"credit_note_id": p.credit_note_id},
        },
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
    return {
        "service": "scoring",
        "method": "letter_pdf_for_delivery",
        "kwargs": {"evaluation_id": p.evaluation_id},
    }


def cerac_designated(p: ev.CeracDesignated, directory: Directory, url: str) -> Message:
    users = directory.users_of_organisation(p.organisation_id, SIGNATORY_ROLES + COORDINATOR_ROLES)
    return Message(
        kind="cerac_designated",
        subject=f"Désignation {named(p.organisation_name).du} à titre de CERAC",
        context={
            "p": p,
            "decision_date": long_date(p.decision_date),
            "minister": p.minister or ministry_at(p.decision_date).minister,
            "years": " et ".join(p.experimentation_years),
        },
        why="Vous recevez ce message parce que vous êtes signataire ou responsable de la "
        f"demande de reconnaissance {named(p.organisation_name).du}.",
        link=f"{url}/resultats",
        legal=True,
        attachment=_letter(p),
        recipients=_unique(_people(users)),
    )


def cerac_not_designated(p: ev.CeracNotDesignated, directory: Directory, url: str) -> Message:
    users = directory.users_of_organisation(p.organisation_id, SIGNATORY_ROLES + COORDINATOR_ROLES)
    criteria = [
        {
            "label": c.label,
            "weight": c.weight,
            "threshold": c.threshold,
            "score": _points(c.score),
            "met": c.met,
        }
        for c in p.criteria
    ]
    return Message(
        kind="cerac_not_designated",
        subject=f"Résultat de votre demande de reconnaissance {p.reference} : non retenue",
        context={
            "p": p,
            "decision_date": long_date(p.decision_date),
            "criteria": criteria,
            "minister": p.minister or ministry_at(p.decision_date).minister,
            "total": _points(p.total),
            "overall_threshold": _points(p.overall_threshold),
        },
        why="Vous recevez ce message parce que vous êtes signataire ou responsable de la "
        f"demande de reconnaissance {named(p.organisation_name).du}.",
        link=f"{url}/resultats",
        legal=True,
        attachment=_letter(p),
        recipients=_unique(_people(users)),
    )


# -- life of a designated CERAC: reporting, special mandates, support (applications) -------

MINISTRY_ANALYST_ROLES = ["ministry_analyst"]
MINISTRY_FALLBACK_ROLES = ["ministry_admin"]
CERAC_CONTACT_ROLES = SIGNATORY_ROLES + COORDINATOR_ROLES
SECTION_LABELS = {
    "offer": "Volet 1 — Accroître l'offre de service en RAC",
    "quality": "Volet 2 — Améliorer la qualité des services offerts",
    "development": "Volet 3 — Contribuer au développement de la RAC",
    "_general": "Commentaire général",
}
MANDATE_PART_LABELS = {
    "offer": "accroître l'offre de service en RAC",
    "quality": "améliorer la qualité des services offerts",
    "development": "contribuer au développement de la RAC",
}
DECISION_LABELS = {"approved": "approuvé", "adjusted": "approuvé avec ajustement",
                   "refused": "refusé"}  # fmt: skip


def _ministry_analysts(directory: Directory) -> list[Recipient]:
    """The ministry's analysts (its administration when it has no analyst yet)."""
    people: list[Recipient] = []
    ministries = directory.list_organisations(["ministry"])
    for roles in (MINISTRY_ANALYST_ROLES, MINISTRY_FALLBACK_ROLES):
        for organisation in ministries:
            people += _people(directory.users_of_organisation(organisation["id"], roles))
        if people:
            break
    return _unique(people)


def _cerac_people(
    organisation_id: int, directory: Directory, roles: list[str] | None = None
) -> list[Recipient]:
    return _unique(_people(directory.users_of_organisation(
        organisation_id, roles or CERAC_CONTACT_ROLES)))  # fmt: skip


def _section_label(key: str) -> str:
    if key in SECTION_LABELS:
        return SECTION_LABELS[key]
    if key.startswith("livrable-") and key[9:].isdigit():
        return f"Livrable {key[9:]}"
    return key


def _report_link(url: str, p) -> str:
    return f"{url}/redditions/{p.report_id}"


def _what(p) -> str:
    """« la reddition de comptes 2013-2014 » or « le rapport sur le mandat spécial … »."""
    if p.special_mandate_id is not None:
        return f"le rapport sur le mandat spécial « {p.period_label} »"
    return f"la reddition de comptes {p.period_label}"


def report_submitted(p: ev.CeracReportSubmitted, directory: Directory, url: str) -> Message:
    return Message(
        kind="cerac_report_submitted",
        subject=f"Reddition de comptes déposée : {p.organisation_name} — {p.period_label}",
        context={"p": p, "what": _what(p), "due_date": long_date(p.due_date)},
        why="Vous recevez ce message parce que vous analysez, au Ministère, les redditions "
        "de comptes des CERAC.",
        link=_report_link(url, p),
        legal=True,
        recipients=_ministry_analysts(directory),
    )


def report_changes_requested(
    p: ev.CeracReportChangesRequested, directory: Directory, url: str
) -> Message:
    comments = [{"section": _section_label(k), "comment": v}
                for k, v in p.comments.items() if k != "_general"]  # fmt: skip
    if p.comments.get("_general"):
        comments.append({"section": _section_label("_general"), "comment": p.comments["_general"]})
    return Message(
        kind="cerac_report_changes_requested",
        subject=f"Modifications demandées à votre reddition de comptes — {p.period_label}",
        context={"p": p, "what": _what(p), "comments": comments},
        why="Vous recevez ce message parce que vous êtes responsable de la reddition de "
        f"comptes du CERAC {named(p.organisation_name).du}.",
        link=_report_link(url, p),
        legal=True,
        recipients=_cerac_people(p.organisation_id, directory),
    )


def report_accepted(p: ev.CeracReportAccepted, directory: Directory, url: str) -> Message:
    return Message(
        kind="cerac_report_accepted",
        subject=f"Reddition de comptes acceptée — {p.period_label}",
        context={"p": p, "what": _what(p), "accepted_on": long_date(p.accepted_on)},
        why="Vous recevez ce message parce que vous êtes responsable de la reddition de "
        f"comptes du CERAC {named(p.organisation_name).du}.",
        link=_report_link(url, p),
        legal=True,
        recipients=_cerac_people(p.organisation_id, directory),
    )


def report_due_soon(p: ev.CeracReportDueSoon, directory: Directory, url: str) -> Message:
    late = p.step == "late"
    due = long_date(p.due_date)
    subject = (f"Reddition de comptes en retard : {p.period_label} (échéance du {due})" if late
               else f"Rappel : reddition de comptes {p.period_label} à déposer au plus tard "
                    f"le {due}")  # fmt: skip
    why = ("Vous recevez cet avis parce que vous êtes responsable de la reddition de comptes "
           f"du CERAC {named(p.organisation_name).du}." if late else
           "Vous recevez ce rappel parce que vous êtes responsable de la reddition de comptes "
           f"du CERAC {named(p.organisation_name).du}. Vous pouvez désactiver les rappels "
           "facultatifs "
           "dans vos préférences.")  # fmt: skip
    link = f"{url}/redditions"  # the CERAC's reports, yearly and on special mandates
    return Message(
        kind="cerac_report_due",
        subject=subject,
        context={
            "p": p,
            "what": _what(p),
            "What": _what(p)[0].upper() + _what(p)[1:],
            "e": "" if p.special_mandate_id else "e",
            "due_date": due,
            "late": late,
        },
        why=why,
        link=link,
        legal=late,  # the notice of lateness always goes out; the reminders are optional
        recipients=_cerac_people(p.organisation_id, directory),
    )


def special_mandate_assigned(
    p: ev.CeracSpecialMandateAssigned, directory: Directory, url: str
) -> Message:
    return Message(
        kind="special_mandate_assigned",
        subject=f"Mandat spécial confié {named(p.organisation_name).au} : {p.object}",
        context={"p": p, "due_date": long_date(p.due_date), "amount": money(p.amount)},
        why="Vous recevez ce message parce que vous êtes signataire ou responsable du CERAC "
        f"{p.organisation_name}, à qui le Ministère confie ce mandat.",
        link=f"{url}/redditions",  # where the mandate's report is written
        legal=True,
        recipients=_cerac_people(p.organisation_id, directory),
    )


def support_requested(p: ev.CeracSupportRequested, directory: Directory, url: str) -> Message:
    recipients = _cerac_people(p.cerac_organisation_id, directory, COORDINATOR_ROLES)
    if not recipients:  # no coordinator yet: the directors answer for the CERAC
        recipients = _cerac_people(p.cerac_organisation_id, directory, SIGNATORY_ROLES)
    return Message(
        kind="support_requested",
        subject=f"Demande de soutien {named(p.requester_organisation_name).du} : {p.object}",
        context={"p": p},
        why="Vous recevez ce message parce que vous coordonnez la RAC au CERAC "
        f"{p.cerac_organisation_name}, à qui cette demande de soutien est adressée.",
        link=f"{url}/reseau/demandes",  # the requests received, with the answer form
        legal=True,
        recipients=recipients,
    )


def support_answered(p: ev.CeracSupportAnswered, directory: Directory, url: str) -> Message:
    users = directory.users_of_organisation(p.requester_organisation_id)
    requester = [u for u in users if u["id"] == p.requested_by_user_id]
    if not requester:  # the requester left: the institution's coordinators read it
        requester = directory.users_of_organisation(p.requester_organisation_id,
                                                    COORDINATOR_ROLES)  # fmt: skip
    return Message(
        kind="support_answered",
        subject=f"Réponse du CERAC {named(p.cerac_organisation_name).du} : {p.object}",
        context={"p": p},
        why="Vous recevez ce message parce que vous avez adressé cette demande de soutien au "
        f"CERAC {named(p.cerac_organisation_name).du}.",
        link=f"{url}/reseau/demandes",
        legal=True,
        recipients=_unique(_people(requester)),
    )


# -- funding of designated CERACs (billing) ---------------------------------------------------


def funding_project_submitted(
    p: ev.FundingProjectSubmitted, directory: Directory, url: str
) -> Message:
    return Message(
        kind="funding_project_submitted",
        subject=f"Projet de développement à analyser : {p.organisation_name} — {p.title}",
        context={
            "p": p,
            "amount": money(p.requested_amount),
            "part": MANDATE_PART_LABELS.get(p.mandate_part, p.mandate_part),
        },  # fmt: skip
        why="Vous recevez ce message parce que vous analysez, au Ministère, le financement "
        "des CERAC.",
        link=f"{url}/financement/projets/{p.project_id}",
        legal=True,
        recipients=_ministry_analysts(directory),
    )


def funding_project_decided(p: ev.FundingProjectDecided, directory: Directory, url: str) -> Message:
    decision = DECISION_LABELS.get(p.decision, p.decision)
    return Message(
        kind="funding_project_decided",
        subject=f"Projet de développement {decision} : {p.title}",
        context={
            "p": p,
            "decision": decision,
            "requested": money(p.requested_amount),
            "approved": money(p.approved_amount) if p.approved_amount is not None else "",
        },  # fmt: skip
        why="Vous recevez ce message parce que vous êtes signataire ou responsable du CERAC "
        f"{p.organisation_name}, qui a soumis ce projet.",
        link=f"{url}/financement/projets/{p.project_id}",
        legal=True,
        recipients=_cerac_people(p.organisation_id, directory),
    )


def _funding_link(url: str, p) -> str:
    if p.project_id is not None:
        return f"{url}/financement/projets/{p.project_id}"
    return f"{url}/financement/ceracs/{p.cerac_id}"


def funding_disbursement_released(
    p: ev.FundingDisbursementReleased, directory: Directory, url: str
) -> Message:
    return Message(
        kind="funding_disbursement_released",
        subject=f"Versement libéré : {money(p.amount)} ({p.fiscal_year})",
        context={"p": p, "amount": money(p.amount)},
        why="Vous recevez ce message parce que vous êtes signataire ou responsable du CERAC "
        f"{p.organisation_name}, qui reçoit ce financement.",
        link=f"{url}/financement/ceracs/{p.cerac_id}",
        legal=True,
        recipients=_cerac_people(p.organisation_id, directory),
    )


def funding_disbursement_paid(
    p: ev.FundingDisbursementPaid, directory: Directory, url: str
) -> Message:
    return Message(
        kind="funding_disbursement_paid",
        subject=f"Versement effectué : {money(p.amount)} le {long_date(p.paid_on)}",
        context={"p": p, "amount": money(p.amount), "paid_on": long_date(p.paid_on)},
        why="Vous recevez ce message parce que vous êtes signataire ou responsable du CERAC "
        f"{p.organisation_name}, qui reçoit ce financement.",
        link=_funding_link(url, p),
        legal=True,
        recipients=_cerac_people(p.organisation_id, directory),
    )


COMPOSERS: dict[type[ev.EventPayload], Callable[..., Message]] = {
    ev.ApplicationSubmitted: application_submitted,
    ev.ApplicationAdmissibilityDecided: admissibility_decided,
    ev.ApplicationComplementsRequested: complements_requested,
    ev.ApplicationComplementsAnswered: complements_answered,
    ev.ApplicationComplementsDeadlineExtended: complements_deadline_extended,
    ev.ApplicationAdmissibilityResumed: admissibility_resumed,
    ev.CallPublished: call_published,
    ev.CallAmended: call_amended,
    ev.PlanIssued: plan_issued,
    ev.PlanReminderDue: plan_reminder_due,
    ev.PlanAccepted: plan_accepted,
    ev.PlanLapsed: plan_lapsed,
    ev.PlanCancelled: plan_cancelled,
    ev.PlanDeclined: plan_declined,
    ev.PlanVersionWithdrawn: plan_version_withdrawn,
    ev.InvoiceIssued: invoice_issued,
    ev.InvoiceOverdue: invoice_overdue,
    ev.CreditNoteIssued: credit_note_issued,
    ev.EvaluatorAssigned: evaluator_assigned,
    ev.CeracDesignated: cerac_designated,
    ev.CeracNotDesignated: cerac_not_designated,
    ev.CeracReportSubmitted: report_submitted,
    ev.CeracReportChangesRequested: report_changes_requested,
    ev.CeracReportAccepted: report_accepted,
    ev.CeracReportDueSoon: report_due_soon,
    ev.CeracSpecialMandateAssigned: special_mandate_assigned,
    ev.CeracSupportRequested: support_requested,
    ev.CeracSupportAnswered: support_answered,
    ev.FundingProjectSubmitted: funding_project_submitted,
    ev.FundingProjectDecided: funding_project_decided,
    ev.FundingDisbursementReleased: funding_disbursement_released,
    ev.FundingDisbursementPaid: funding_disbursement_paid,
}
