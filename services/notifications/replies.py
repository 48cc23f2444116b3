"""Who a reply reaches, and how a recipient leaves optional e-mails.

Platform e-mails come from a no-reply address, but a reader who answers one means to write
to the person who handles the matter. Each recipient therefore gets a ``Reply-To``:

- for a plan or an invoice, the employer's people answer to the institution's RAC
  coordinators, and the institution's people to the employer's representatives;
- for a ministry decision or request (admissibility, a « demande de compléments », its
  extension and the resumption of the analysis, designation, a report reviewed, a project
  decided, a special mandate), the ministry's user who made it, if still active, else the
  ministry's analysts; for other ministry notices (calls, receipts, reminders, payments),
  the ministry's analysts (its administration while it has none);
- messages to the ministry (a report or a project submitted, an answer to a « demande de
  compléments ») answer to the person at the institution who sent it, else its directors
  and coordinators; a support request answers to the person who asked, its answer to the
  person at the CERAC who answered;
- an evaluator's assignment answers to the ministry's administration.

A recipient never gets themselves as Reply-To; with nobody left, replies go to the sender
as before. Optional e-mails (not legal notices) to platform users also get the one-click
unsubscribe link of RFC 8058, signed by the gateway (``unsubscribe_links``).

The directory is asked through ``RememberingDirectory``, so that a look-up the composer
already made costs no second RPC.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from email.headerregistry import Address
from typing import Protocol

from rac_shared import events as ev
from rac_shared.errors import DomainError
from services.notifications.catalogue import (
    CERAC_CONTACT_ROLES,
    COORDINATOR_ROLES,
    EMPLOYER_ROLES,
    MINISTRY_FALLBACK_ROLES,
    Directory,
    Message,
    Recipient,
    _ministry_analysts,
    _people,
    _unique,
)


class FullDirectory(Directory, Protocol):
    def get_user(self, user_id: int) -> dict: ...

    def unsubscribe_links(self, user_ids: list[int]) -> dict[str, str]: ...


class RememberingDirectory:
    """The directory, each distinct look-up asked once while one event is handled."""

    def __init__(self, directory: FullDirectory):
        self.directory = directory
        self._answers: dict[tuple, object] = {}

    def _ask(self, method: str, *args):
        key = (method, *(tuple(a) if isinstance(a, list) else a for a in args))
        if key not in self._answers:
            self._answers[key] = getattr(self.directory, method)(*args)
        return self._answers[key]

    def users_of_organisation(self, organisation_id, roles=None):
        return self._ask("users_of_organisation", organisation_id, roles)

    def get_organisation(self, organisation_id):
        return self._ask("get_organisation", organisation_id)

    def list_organisations(self, kinds=None):
        return self._ask("list_organisations", kinds)

    def get_user(self, user_id):
        return self._ask("get_user", user_id)

    def unsubscribe_links(self, user_ids):
        return self.directory.unsubscribe_links(user_ids)


# A rule gives, for one event, groups of (addresses of recipients, who they answer to); the
# group whose addresses is None applies to every other recipient.
Groups = list[tuple[set[str] | None, list[Recipient]]]


def _emails(people: list[Recipient]) -> set[str]:
    return {p.email.lower() for p in people}


def _coordinators(directory: Directory, organisation_id: int) -> list[Recipient]:
    return _unique(_people(directory.users_of_organisation(organisation_id, COORDINATOR_ROLES)))


def _employer(directory: Directory, organisation_id: int) -> list[Recipient]:
    return _unique(_people(directory.users_of_organisation(organisation_id, EMPLOYER_ROLES)))


def _active_user(directory: FullDirectory, user_id: int | None) -> list[Recipient]:
    if user_id is None:
        return []
    try:
        user = directory.get_user(user_id)
    except DomainError:  # gone from the directory: the fallback answers instead
        return []
    return _people([user]) if user.get("active", True) else []


def _ministry_decider(directory: FullDirectory, user_id: int) -> Groups:
    return [(None, _active_user(directory, user_id) or _ministry_analysts(directory))]


def _ministry(directory: FullDirectory) -> Groups:
    return [(None, _ministry_analysts(directory))]


def _both_parties(p, directory: FullDirectory) -> Groups:
    employer = _employer(directory, p.employer_id)
    return [(_emails(employer), _coordinators(directory, p.institution_id)), (None, employer)]


def _from_cerac(directory: FullDirectory, organisation_id: int, user_id: int) -> Groups:
    """The person at the institution who acted, else its directors and coordinators."""
    person = _active_user(directory, user_id)
    if not person:
        users = directory.users_of_organisation(organisation_id, CERAC_CONTACT_ROLES)
        person = _unique(_people(users))
    return [(None, person)]


def _ministry_administration(directory: FullDirectory) -> Groups:
    people: list[Recipient] = []
    for organisation in directory.list_organisations(["ministry"]):
        users = directory.users_of_organisation(organisation["id"], MINISTRY_FALLBACK_ROLES)
        people += _people(users)
    return [(None, _unique(people))]


RULES: dict[type[ev.EventPayload], Callable[[object, FullDirectory], Groups]] = {
    ev.ApplicationSubmitted: lambda p, d: _ministry(d),
    ev.ApplicationAdmissibilityDecided: lambda p, d: _ministry_decider(d, p.decided_by_user_id),
    ev.ApplicationComplementsRequested: lambda p, d: _ministry_decider(d, p.requested_by_user_id),
    ev.ApplicationComplementsAnswered: lambda p, d: _from_cerac(d, p.organisation_id,
                                                               p.answered_by_user_id),
    ev.ApplicationComplementsDeadlineExtended: lambda p, d: _ministry_decider(
        d, p.extended_by_user_id),
    ev.ApplicationAdmissibilityResumed: lambda p, d: _ministry_decider(d, p.resumed_by_user_id),
    ev.CallPublished: lambda p, d: _ministry(d),
    ev.CallAmended: lambda p, d: _ministry(d),
    ev.PlanIssued: _both_parties,
    ev.PlanReminderDue: _both_parties,
    ev.PlanAccepted: _both_parties,
    ev.PlanLapsed: _both_parties,
    ev.PlanCancelled: _both_parties,
    ev.PlanDeclined: _both_parties,
    ev.PlanVersionWithdrawn: _both_parties,
    ev.InvoiceIssued: _both_parties,
    ev.InvoiceOverdue: _both_parties,
    ev.CreditNoteIssued: _both_parties,
    ev.EvaluatorAssigned: lambda p, d: _ministry_administration(d),
    ev.CeracDesignated: lambda p, d: _ministry_decider(d, p.decided_by_user_id),
    ev.CeracNotDesignated: lambda p, d: _ministry_decider(d, p.decided_by_user_id),
    ev.CeracReportSubmitted: lambda p, d: _from_cerac(d, p.organisation_id,
                                                      p.submitted_by_user_id),
    ev.CeracReportChangesRequested: lambda p, d: _ministry_decider(d, p.reviewed_by_user_id),
    ev.CeracReportAccepted: lambda p, d: _ministry_decider(d, p.reviewed_by_user_id),
    ev.CeracReportDueSoon: lambda p, d: _ministry(d),
    ev.CeracSpecialMandateAssigned: lambda p, d: _ministry_decider(d, p.assigned_by_user_id),
    ev.CeracSupportRequested: lambda p, d: _from_cerac(d, p.requester_organisation_id,
                                                  p.requested_by_user_id),
    ev.CeracSupportAnswered: lambda p, d: _from_cerac(d, p.cerac_organisation_id,
                                                 p.answered_by_user_id),
    ev.FundingProjectSubmitted: lambda p, d: _from_cerac(d, p.organisation_id,
                                                         p.submitted_by_user_id),
    ev.FundingProjectDecided: lambda p, d: _ministry_decider(d, p.decided_by_user_id),
    ev.FundingDisbursementReleased: lambda p, d: _ministry(d),
    ev.FundingDisbursementPaid: lambda p, d: _ministry(d),
}  # fmt: skip


def mailbox(person: Recipient) -> str:
    """``Marie Tremblay <rac@cegep.example>`` (quoted where the name needs it, encoded
    only when the e-mail is written), on one line whatever the directory holds."""
    return str(Address(display_name=" ".join(person.full_name.split()), addr_spec=person.email))


def addressed(payload: ev.EventPayload, directory: FullDirectory, message: Message) -> Message:
    """The message with each recipient's Reply-To, and the unsubscribe link of optional
    e-mails to platform users."""
    rule = RULES.get(type(payload))
    groups = rule(payload, directory) if rule else []
    links = {}
    if not message.legal:
        user_ids = sorted({r.user_id for r in message.recipients if r.user_id is not None})
        links = directory.unsubscribe_links(user_ids) if user_ids else {}
    recipients = []
    for recipient in message.recipients:
        handlers = next(
            (people for emails, people in groups
             if emails is None or recipient.email.lower() in emails),
            [],
        )  # fmt: skip
        reply_to = tuple(
            mailbox(person)
            for person in handlers
            if person.email.lower() != recipient.email.lower()
        )
        unsubscribe_url = links.get(str(recipient.user_id)) if recipient.user_id else None
        recipients.append(
            dataclasses.replace(recipient, reply_to=reply_to, unsubscribe_url=unsubscribe_url)
        )
    return dataclasses.replace(message, recipients=recipients)
