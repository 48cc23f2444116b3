"""The services' own records, as entries of the audit trail.

Each service already publishes, through its transactional outbox, the facts that matter
(an application submitted, a plan accepted, an invoice issued…): what is said here is how
each one reads in the trail — its subject, a French summary, who did it, and for decisions
the value before → after. A service records what no event says with
``rac_shared.audit.record_audit`` (its ``audit.recorded`` events are read as they are).

The trail is append-only, so it copies no free text that may name a candidate-worker (a
plan's change summary, a refusal's or a cancellation's reason): their personal information
stays where the retention rule can purge it; the trail points to the object instead.

Who: the payload's ``*_by_user_id`` when it has one (named from the directory); otherwise
the request that caused it, found by its correlation id when the page is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rac_shared import events as ev
from rac_shared.audit import AUDIT_EVENTS, AuditRecorded, Change, SubjectType
from rac_shared.formatting import long_date, money
from rac_shared.french import named, plural

T = SubjectType


@dataclass
class Fact:
    subject_type: SubjectType
    subject_id: str
    subject_label: str
    action: str
    summary: str
    actor_user_id: int | None = None
    actor_name: str | None = None
    organisation_id: int | None = None
    changes: list[Change] = field(default_factory=list)


def _status(before: str | None, after: str, name: str = "Statut") -> list[Change]:
    return [Change(field=name, before=before, after=after)]


def _version(payload) -> str:
    return f"{payload.reference}, version {payload.version}"


def _plan_version(payload, action: str, summary: str, before: str | None, after: str, **kw):
    """A plan's version: its own subject (``<plan>.<version>``), shown in the plan's history."""
    return Fact(
        T.PLAN_VERSION,
        f"{payload.plan_id}.{payload.version}",
        _version(payload),
        action,
        summary,
        organisation_id=payload.institution_id,
        changes=_status(before, after, f"Statut de la version {payload.version}"),
        **kw,
    )


# fmt: off
FACTS: dict[type[ev.EventPayload], Callable[[ev.EventPayload], Fact]] = {
    ev.CallPublished: lambda p: Fact(
        T.CALL, str(p.call_id), p.title, "published",
        f"Appel publié; dépôt jusqu'au {long_date(p.deadline_date)}",
        changes=_status("Brouillon", "Publié"),
    ),
    ev.CallAmended: lambda p: Fact(
        T.CALL, str(p.call_id), p.title, "amended",
        f"Avis de modification no {p.amendment_number} : {p.reason}",
        changes=[
            Change(field=name, before=_text(value.get("avant")), after=_text(value.get("après")))
            for name, value in p.changes.items() if isinstance(value, dict)
        ],
    ),
    ev.ApplicationSubmitted: lambda p: Fact(
        T.APPLICATION, str(p.application_id), p.reference, "submitted",
        f"Candidature déposée par {named(p.organisation_name).le} "
        f"(SHA-256 {p.content_sha256[:12]}…)",
        actor_user_id=p.submitted_by_user_id, organisation_id=p.organisation_id,
        changes=_status("En préparation", "Déposée"),
    ),
    ev.ApplicationAdmissibilityDecided: lambda p: Fact(
        T.APPLICATION, str(p.application_id), p.reference, "admissibility_decided",
        "Recevabilité : " + ("recevable" if p.admissible else "non recevable")
        + (f" — {p.comment}" if p.comment else ""),
        actor_user_id=p.decided_by_user_id, organisation_id=p.organisation_id,
        changes=_status("Déposée", "Recevable" if p.admissible else "Non recevable") + [
            # where the analyst's verdict differs from the rule's computed one
            Change(field=rule.label, before=_verdict(rule.computed_passed),
                   after=_verdict(rule.passed) + (f" ({rule.justification})"
                                                  if rule.justification else ""))
            for rule in p.rules if rule.passed != rule.computed_passed
        ],
    ),
    # The « demande de compléments »: the items' labels are the analyst's own words about
    # the application (never an answer's text, which stays in the service).
    ev.ApplicationComplementsRequested: lambda p: Fact(
        T.APPLICATION, str(p.application_id), p.reference, "complements_requested",
        f"Compléments demandés (demande no {p.number}) : {'; '.join(p.items)}; réponse "
        f"attendue au plus tard le {long_date(p.due_date)}",
        actor_user_id=p.requested_by_user_id, organisation_id=p.organisation_id,
        changes=_status("Déposée", "Compléments demandés"),
    ),
    ev.ApplicationComplementsDeadlineExtended: lambda p: Fact(
        T.APPLICATION, str(p.application_id), p.reference, "complements_deadline_extended",
        f"Délai de réponse aux compléments (demande no {p.number}) prolongé",
        actor_user_id=p.extended_by_user_id, organisation_id=p.organisation_id,
        changes=[Change(field="Date limite de réponse", before=long_date(p.previous_due_date),
                        after=long_date(p.due_date))],
    ),
    ev.ApplicationComplementsAnswered: lambda p: Fact(
        T.APPLICATION, str(p.application_id), p.reference, "complements_answered",
        f"Réponse aux compléments transmise (demande no {p.number}) : "
        + plural(len(p.items), "élément fourni", "éléments fournis"),
        actor_user_id=p.answered_by_user_id, organisation_id=p.organisation_id,
    ),
    ev.ApplicationAdmissibilityResumed: lambda p: Fact(
        T.APPLICATION, str(p.application_id), p.reference, "admissibility_resumed",
        "Analyse de la recevabilité reprise "
        + ("après la réponse de l'établissement" if p.answered else "sans réponse dans le délai"),
        actor_user_id=p.resumed_by_user_id, organisation_id=p.organisation_id,
        changes=_status("Compléments demandés", "Déposée"),
    ),
    ev.ApplicationWithdrawn: lambda p: Fact(
        T.APPLICATION, str(p.application_id), "", "withdrawn", "Candidature retirée",
        organisation_id=p.organisation_id, changes=_status(None, "Retirée"),
    ),
    ev.EvaluationOpened: lambda p: Fact(
        T.EVALUATION, str(p.evaluation_id), p.reference, "opened",
        f"Évaluation ouverte pour {named(p.organisation_name).le}",
        organisation_id=p.organisation_id,
    ),
    ev.EvaluatorAssigned: lambda p: Fact(
        T.EVALUATION, str(p.evaluation_id), p.reference, "evaluator_assigned",
        f"Évaluation confiée à {p.evaluator_name}",
    ),
    ev.EvaluationSubmitted: lambda p: Fact(
        T.EVALUATION, str(p.evaluation_id), "", "evaluation_submitted",
        f"Grille d'évaluation remise ({p.submitted_count} sur {p.assigned_count})",
        actor_user_id=p.evaluator_user_id,
    ),
    ev.CeracDesignated: lambda p: Fact(
        T.DESIGNATION, str(p.evaluation_id), p.reference, "designated",
        f"{named(p.organisation_name).Le} désigné CERAC ({p.education_order}), note {p.total}",
        actor_user_id=p.decided_by_user_id, organisation_id=p.organisation_id,
        changes=_status("En évaluation", "Désignée", "Décision"),
    ),
    ev.CeracNotDesignated: lambda p: Fact(
        T.DESIGNATION, str(p.evaluation_id), p.reference, "not_designated",
        f"{named(p.organisation_name).Le} non désigné, note {p.total}",
        actor_user_id=p.decided_by_user_id, organisation_id=p.organisation_id,
        changes=_status("En évaluation", "Non désignée", "Décision"),
    ),
    ev.PlanIssued: lambda p: _plan_version(
        p, "issued", f"Version {p.version} émise le {long_date(p.issued_on)}"
        + (f", modifiant la version {p.amends_version}" if p.amends_version else ""),
        "En préparation", "Émise",
    ),
    ev.PlanAccepted: lambda p: _plan_version(
        p, "accepted", f"Version {p.version} acceptée par {p.accepted_by}", "Émise", "Acceptée",
    ),
    ev.PlanDeclined: lambda p: _plan_version(
        p, "declined", f"Version {p.version} refusée par {p.declined_by}", "Émise", "Refusée",
    ),
    ev.PlanLapsed: lambda p: _plan_version(
        p, "lapsed", f"Version {p.version} résolue de plein droit le {long_date(p.lapsed_on)}",
        "Émise", "Caduque",
    ),
    ev.PlanVersionWithdrawn: lambda p: _plan_version(
        p, "withdrawn", f"Version {p.version} retirée le {long_date(p.withdrawn_on)}",
        "Émise", "Retirée",
    ),
    ev.PlanCancelled: lambda p: Fact(
        T.PLAN, str(p.plan_id), p.reference, "cancelled",
        f"Plan annulé le {long_date(p.cancelled_on)}",
        organisation_id=p.institution_id, changes=_status("Accepté", "Annulé"),
    ),
    ev.InvoiceIssued: lambda p: Fact(
        T.INVOICE, str(p.invoice_id), p.number, "issued",
        f"Facture émise le {long_date(p.issued_on)} ({p.plan_reference}), "
        f"{money(p.total)}, payable le {long_date(p.due_on)}",
        organisation_id=p.institution_id,
    ),
    ev.PaymentRecorded: lambda p: Fact(
        T.INVOICE, str(p.invoice_id), p.number, "payment_recorded",
        f"Paiement de {money(p.amount)} reçu le {long_date(p.paid_on)}",
        organisation_id=p.institution_id,
        changes=[Change(field="Solde", before=money(p.balance + p.amount), after=money(p.balance))],
    ),
    ev.CreditNoteIssued: lambda p: Fact(
        T.CREDIT_NOTE, str(p.credit_note_id), p.number, "issued",
        f"Note de crédit émise le {long_date(p.issued_on)} ({p.plan_reference}), "
        f"{money(p.total)}",
        organisation_id=p.institution_id,
    ),
    ev.FundingAllocationRecorded: lambda p: Fact(
        T.ALLOCATION, str(p.allocation_id), f"{p.organisation_name}, {p.fiscal_year}",
        "recorded", f"Allocation de {money(p.amount)} pour {p.fiscal_year}",
        actor_user_id=p.recorded_by_user_id, organisation_id=p.organisation_id,
    ),
    ev.CeracReportSubmitted: lambda p: Fact(
        T.REPORT, str(p.report_id), f"{p.organisation_name}, {p.period_label}", "submitted",
        f"Reddition de comptes déposée (version {p.version_number})",
        actor_user_id=p.submitted_by_user_id, organisation_id=p.organisation_id,
        changes=_status("En préparation", "Déposée"),
    ),
    ev.CeracReportChangesRequested: lambda p: Fact(
        T.REPORT, str(p.report_id), f"{p.organisation_name}, {p.period_label}",
        "changes_requested", f"Modifications demandées : {p.comments}",
        actor_user_id=p.reviewed_by_user_id, organisation_id=p.organisation_id,
        changes=_status("Déposée", "Modifications demandées"),
    ),
    ev.CeracReportAccepted: lambda p: Fact(
        T.REPORT, str(p.report_id), f"{p.organisation_name}, {p.period_label}", "accepted",
        f"Reddition de comptes acceptée le {long_date(p.accepted_on)}",
        actor_user_id=p.reviewed_by_user_id, organisation_id=p.organisation_id,
        changes=_status("Déposée", "Acceptée"),
    ),
}
# fmt: on


def _verdict(passed: bool) -> str:
    return "Conforme" if passed else "Non conforme"


def _text(value) -> str | None:
    return None if value is None else str(value)


_BY_TYPE = {(cls.source, cls.event_type): cls for cls in FACTS}


def payload_class(envelope: ev.Envelope) -> type[ev.EventPayload] | None:
    """The payload class of an event the trail keeps (None for the others)."""
    if envelope.event_type == AuditRecorded.event_type:
        return AUDIT_EVENTS.get(envelope.source)
    return _BY_TYPE.get((envelope.source, envelope.event_type))


def fact_of(payload: ev.EventPayload) -> Fact:
    """What an event says in the trail (an ``audit.recorded`` event, as the service said it)."""
    if isinstance(payload, AuditRecorded):
        return Fact(
            payload.subject_type,
            payload.subject_id,
            payload.subject_label,
            payload.action,
            payload.summary,
            payload.actor_user_id,
            payload.actor_name,
            payload.organisation_id,
            list(payload.changes),
        )
    return FACTS[type(payload)](payload)
