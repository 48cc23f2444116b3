"""The costs incurred on a cancelled plan, billed once in a final invoice.

Seed 004, annex A, 1 d: « Advenant le cas où [l'organisation] annulerait une activité alors
que des frais ont déjà été engagés, le Cégep facturera les coûts en question ». When a plan
is cancelled, its installments due by the cancellation date stay (the invoicing job bills
them), the later ones are cancelled or credited (``settlements.cancel_plan``). What was done
since the last installment kept is billed here: the institution records, against the lines
of the estimate in force, the quantities done since then — per candidate-worker on a line
billed per person (the evaluation fees) — and one invoice is issued, with the normal gapless
numbering and the taxes in force on its date (each line rounded once, each tax once).

Refused, with a French message per line and nothing changed:

- a quantity above the line's estimated quantity (per person: above one person's share of
  it), on a conditional line (abandonment fees) or for a candidate-worker who abandoned
  (the abandonment's fee and pro rata credit settled their part);
- a subtotal above what the estimate still allows: its subtotal less the installments kept;
- a second recording with other quantities (the same ones return the invoice already
  issued: recording twice never bills twice).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.contracts.billing import CostsIncurredIn
from rac_shared.errors import conflict, invalid, not_found
from rac_shared.formatting import long_date, money
from services.billing import estimates as E
from services.billing import invoicing, settlements
from services.billing import pricing as P
from services.billing.access import ensure_institution
from services.billing.models import (
    INVOICED,
    KIND_CANCELLATION_COSTS,
    PLAN_CANCELLED,
    SCHEDULED,
    Abandonment,
    BillingPlan,
    CancellationCosts,
    Estimate,
    Installment,
    Invoice,
)
from services.billing.views import invoice_summary

# Lines billed per candidate-worker (their quantity is the number of candidate-workers).
PER_CANDIDATE_CATEGORIES = frozenset({"evaluation"})
CLAUSE = "annexe A, article 1 d"


# -- what may be billed (pure) -----------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    candidate_id: int
    full_name: str
    abandoned_on: date | None = None


@dataclass
class LineAllowance:
    """One line of the estimate and the most that can be recorded on it: ``maximum`` for
    the whole line, or per person (``people``) on a line billed per candidate-worker."""

    position: int
    category: str
    description: str
    unit: str
    unit_price: Decimal
    tax: str
    quantity: Decimal  # estimated
    maximum: Decimal
    per_candidate: bool = False
    people: list[Person] = field(default_factory=list)

    def label(self) -> str:
        return f"« {self.description} »"

    def amount_of(self, quantity: Decimal) -> str:
        """``30, unité : heure``: the unit is the estimate's text, so it is never put in
        agreement with the number."""
        text = E.quantity_label(quantity)
        return f"{text}, unité : {self.unit}" if self.unit else text


def allowances(
    lines, candidate_count: int, people: list[Person] | None, abandoned: int = 0
) -> list[LineAllowance]:
    """The lines on which costs can be recorded (conditional and zero lines left out).

    On a line billed per candidate-worker, each person may be billed at most their share of
    the estimated quantity (``quantity / candidate_count``, one evaluation each); when the
    candidate-workers are not known (a cancellation published before they were sent), the
    line takes one quantity, at most the shares of those who did not abandon.
    """
    result = []
    for line in lines:
        if line.category in P.CONDITIONAL_CATEGORIES or Decimal(line.amount) == P.ZERO:
            continue
        quantity = Decimal(line.quantity)
        allowance = LineAllowance(
            position=line.position,
            category=line.category,
            description=line.description,
            unit=line.unit,
            unit_price=Decimal(line.unit_price),
            tax=line.tax,
            quantity=quantity,
            maximum=quantity,
        )
        if line.category in PER_CANDIDATE_CATEGORIES and candidate_count > 0:
            share = quantity / candidate_count
            if people:
                allowance.per_candidate = True
                allowance.people = list(people)
                allowance.maximum = share
            else:
                allowance.maximum = max(quantity - share * abandoned, P.ZERO)
        result.append(allowance)
    return result


@dataclass(frozen=True)
class Recorded:
    """The checked quantities: each line with the total to bill on it, and the items
    (normalised, per person where relevant) kept in the record and its fingerprint."""

    lines: list[tuple[LineAllowance, Decimal]]
    items: list[dict]


def check_items(
    lines: list[LineAllowance], data: CostsIncurredIn
) -> tuple[Recorded, dict[str, str]]:
    """Match ``data``'s items to the lines; returns what to bill and {field: French error}."""
    by_position = {line.position: line for line in lines}
    errors: dict[str, str] = {}
    totals: dict[int, Decimal] = {}
    seen: set[tuple[int, int | None]] = set()
    items = []
    for index, item in enumerate(data.items):
        key = f"items.{index}.quantity"
        quantity = P.ZERO if item.quantity is None else item.quantity  # none: nothing done
        line = by_position.get(item.line)
        if line is None:
            errors[key] = (
                "Cette ligne n'existe pas dans l'estimation en vigueur, ou ne se facture pas "
                "comme coût engagé (frais d'abandon, ligne sans montant)."
            )
            continue
        if (item.line, item.candidate_id) in seen:
            errors[key] = f"La ligne {line.label()} est inscrite deux fois."
            continue
        seen.add((item.line, item.candidate_id))
        if line.per_candidate:
            person = next((p for p in line.people if p.candidate_id == item.candidate_id), None)
            if item.candidate_id is None:
                errors[key] = (
                    f"La ligne {line.label()} se facture par candidat-travailleur : indiquez "
                    "la quantité de chaque personne."
                )
                continue
            if person is None:
                errors[key] = "Ce candidat-travailleur ne fait pas partie du plan annulé."
                continue
            if person.abandoned_on is not None and quantity > 0:
                errors[key] = (
                    f"{person.full_name} a abandonné la démarche le "
                    f"{long_date(person.abandoned_on)} : les frais d'abandon et le crédit au "
                    "prorata ont réglé sa part."
                )
                continue
            if quantity > line.maximum:
                errors[key] = (
                    f"La quantité inscrite pour {person.full_name} à la ligne {line.label()} "
                    f"({E.quantity_label(quantity)}) dépasse la quantité prévue par "
                    f"personne à l'estimation ({line.amount_of(line.maximum)})."
                )
                continue
        elif item.candidate_id is not None:
            errors[key] = f"La ligne {line.label()} ne se facture pas par candidat-travailleur."
            continue
        elif quantity > line.maximum:
            errors[key] = (
                f"La quantité inscrite à la ligne {line.label()} "
                f"({E.quantity_label(quantity)}) dépasse la quantité prévue à l'estimation "
                f"({line.amount_of(line.maximum)})."
            )
            continue
        if quantity == 0:
            continue
        totals[line.position] = totals.get(line.position, P.ZERO) + quantity
        items.append(
            {
                "line": line.position,
                "candidate_id": item.candidate_id,
                "quantity": E.quantity_text(quantity),
            }
        )
    recorded = Recorded(
        [(line, totals[line.position]) for line in lines if line.position in totals],
        sorted(items, key=lambda i: (i["line"], i["candidate_id"] or 0)),
    )
    return recorded, errors


def fingerprint(items: list[dict]) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True).encode("utf-8")).hexdigest()


def invoice_lines(recorded: Recorded) -> list[P.LineIn]:
    """One invoice line per estimate line, at the estimate's unit price. The parts per
    person stay in the institution's record: the invoice goes to the employer, who never
    sees a named candidate-worker's progress."""
    return [
        P.LineIn(line.category, line.description, quantity, line.unit, line.unit_price, line.tax)
        for line, quantity in recorded.lines
    ]


# -- the plan's figures --------------------------------------------------------------------------


def _plan(session: Session, actor: Actor, plan_id: int, lock: bool = False) -> BillingPlan:
    ensure_institution(actor)
    plan = session.get(BillingPlan, plan_id, with_for_update=lock)
    if plan is None or plan.institution_id != actor.organisation_id:
        raise not_found("Ce plan est inconnu de la facturation de votre établissement.")
    return plan


def _unavailable(plan: BillingPlan, estimate: Estimate | None) -> str | None:
    """Why no costs can be recorded on ``plan``, or None."""
    if plan.status != PLAN_CANCELLED:
        return (
            "Ce plan n'est pas annulé : les coûts engagés ne se facturent qu'à l'annulation "
            f"({CLAUSE}). Les versements suivent l'échéancier de l'estimation."
        )
    if plan.accepted_version is None or estimate is None:
        return (
            "Ce plan a été annulé avant d'être accepté : sans contrat, aucun coût engagé ne "
            "peut être facturé."
        )
    return None


def _kept_installments(session: Session, plan: BillingPlan) -> list[Installment]:
    """The installments of the contract that stay billed after the cancellation: due by
    its date (invoiced, or to be invoiced by the job)."""
    return list(
        session.scalars(
            select(Installment)
            .where(
                Installment.plan_id == plan.plan_id,
                Installment.version == plan.accepted_version,
                Installment.status.in_((SCHEDULED, INVOICED)),
                Installment.due_on.is_not(None),
                Installment.due_on <= plan.cancelled_on,
            )
            .order_by(Installment.position)
        )
    )


def _people(session: Session, plan: BillingPlan) -> tuple[list[Person], int]:
    """The plan's candidate-workers (with their abandonment), and how many abandoned."""
    abandoned = {
        a.candidate_id: a.abandoned_on
        for a in session.scalars(select(Abandonment).where(Abandonment.plan_id == plan.plan_id))
    }
    people = [
        Person(c["candidate_id"], c["full_name"], abandoned.get(c["candidate_id"]))
        for c in plan.candidates or []
    ]
    return people, len(abandoned)


@dataclass
class Figures:
    plan: BillingPlan
    estimate: Estimate | None
    unavailable: str | None
    kept: list[Installment] = field(default_factory=list)
    covered: Decimal = P.ZERO  # subtotal of the installments kept
    room: Decimal = P.ZERO  # what the estimate still allows, before taxes
    lines: list[LineAllowance] = field(default_factory=list)


def figures(session: Session, plan: BillingPlan) -> Figures:
    estimate = settlements.contract_estimate(session, plan)
    unavailable = _unavailable(plan, estimate)
    result = Figures(plan, estimate, unavailable)
    if unavailable is not None:
        return result
    result.kept = _kept_installments(session, plan)
    result.covered = sum((Decimal(i.subtotal) for i in result.kept), P.ZERO)
    result.room = max(Decimal(estimate.subtotal) - result.covered, P.ZERO)
    people, abandoned = _people(session, plan)
    result.lines = allowances(estimate.lines, estimate.candidate_count, people, abandoned)
    return result


# -- commands ------------------------------------------------------------------------------------


def record_costs(
    session: Session, actor: Actor, plan_id: int, data: CostsIncurredIn
) -> tuple[CancellationCosts, bool]:
    """Record the costs incurred on a cancelled plan and issue their invoice, once.

    Returns the record and whether it was created now (False: the same quantities were
    already recorded, and their invoice is returned). The plan's row is locked while it is
    checked, so two recordings at once cannot both bill.
    """
    plan = _plan(session, actor, plan_id, lock=True)
    done = session.scalar(select(CancellationCosts).where(CancellationCosts.plan_id == plan_id))
    facts = figures(session, plan)
    if done is None and facts.unavailable is not None:
        raise conflict(facts.unavailable)
    recorded, errors = check_items(facts.lines, data)
    if done is not None:
        if not errors and fingerprint(recorded.items) == done.fingerprint:
            return done, False
        invoice = session.get(Invoice, done.invoice_id)
        raise conflict(
            f"Les coûts engagés de ce plan ont déjà été facturés le "
            f"{long_date(invoice.issued_on)} (facture {invoice.number}). Une correction passe "
            "par une note de crédit."
        )
    if errors:
        if len(errors) == 1:
            raise invalid(next(iter(errors.values())), errors)
        raise invalid(
            f"{len(errors)} quantités inscrites sont refusées : le motif suit chacune d'elles.",
            errors,
        )
    if not recorded.lines:
        message = "Inscrivez au moins une quantité : sans coût engagé, aucune facture n'est émise."
        raise invalid(message, {"items": message})
    estimate = facts.estimate
    today = clock.today()
    rates = P.rates_on(E.load_rates(session), today)
    pricing = P.price_lines(invoice_lines(recorded), rates)
    if pricing.subtotal > facts.room:
        message = (
            f"Les coûts engagés inscrits ({money(pricing.subtotal)} avant taxes) dépassent ce "
            f"que l'estimation permet encore de facturer ({money(facts.room)}) : l'estimation "
            f"s'élève à {money(estimate.subtotal)} avant taxes, dont "
            f"{money(facts.covered)} déjà facturés par les versements exigibles avant "
            "l'annulation."
        )
        raise invalid(message, {"items": message})
    invoice = invoicing.issue_invoice(
        session,
        kind=KIND_CANCELLATION_COSTS,
        plan=plan,
        version=estimate.version,
        lines=[
            {
                "description": f"{line.description} — coûts engagés avant l'annulation",
                "detail": (
                    f"Quantité réalisée : {E.quantity_label(line.quantity)}"
                    + (f" (unité : {line.unit})" if line.unit else "")
                    + f", au prix unitaire de {money(line.unit_price)} de l'estimation des "
                    f"coûts du plan {plan.reference}, version {estimate.version} ({CLAUSE})"
                ),
                "quantity": E.quantity_text(line.quantity),
                "unit_price": str(line.unit_price),
                "amount": str(line.amount),
            }
            for line in pricing.lines
        ],
        subtotal=pricing.subtotal,
        taxes=pricing.taxes,
        payment_term_days=estimate.payment_term_days,
        issued_on=today,
    )
    record = CancellationCosts(
        plan_id=plan.plan_id,
        version=estimate.version,
        items=recorded.items,
        fingerprint=fingerprint(recorded.items),
        invoice_id=invoice.id,
        recorded_by_user_id=actor.user_id,
        recorded_at=clock.now(),
    )
    session.add(record)
    session.flush()  # its unique plan_id backs the plan's lock: never two final invoices
    return record, True


# -- views ----------------------------------------------------------------------------------------


def _line_view(line: LineAllowance, parts: dict) -> dict:
    return {
        "line": line.position,
        "category": line.category,
        "category_label": P.CATEGORIES.get(line.category, line.category),
        "description": line.description,
        "unit": line.unit,
        "unit_price": str(line.unit_price),
        "tax": line.tax,
        "quantity": E.quantity_text(line.quantity),
        "quantity_label": E.quantity_label(line.quantity),
        "maximum": E.quantity_text(line.maximum),
        "maximum_label": E.quantity_label(line.maximum),
        "per_candidate": line.per_candidate,
        "recorded": _label(parts.get((line.position, None))),
        "people": [
            {
                "candidate_id": p.candidate_id,
                "full_name": p.full_name,
                "abandoned_on": p.abandoned_on.isoformat() if p.abandoned_on else None,
                "recorded": _label(parts.get((line.position, p.candidate_id))),
            }
            for p in line.people
        ],
    }


def _label(quantity: str | None) -> str | None:
    return E.quantity_label(quantity) if quantity is not None else None


def costs_view(session: Session, actor: Actor, plan_id: int) -> dict:
    """What the institution's page shows: the plan's cancellation, the installments kept,
    what the estimate still allows, each line with its maximum (per person where it is
    billed per candidate-worker), and the record with its invoice once made."""
    plan = _plan(session, actor, plan_id)
    record = session.scalar(select(CancellationCosts).where(CancellationCosts.plan_id == plan_id))
    facts = figures(session, plan)
    estimate = facts.estimate
    parts = {}
    invoice = None
    if record is not None:
        parts = {(i["line"], i["candidate_id"]): i["quantity"] for i in record.items}
        invoice = invoice_summary(session.get(Invoice, record.invoice_id))
    kept_invoices = {
        i.id: i.number
        for i in session.scalars(
            select(Invoice).where(
                Invoice.id.in_([k.invoice_id for k in facts.kept if k.invoice_id])
            )
        )
    }
    return {
        "plan_id": plan.plan_id,
        "reference": plan.reference,
        "status": plan.status,
        "version": estimate.version if estimate is not None else plan.accepted_version,
        "cancelled_on": plan.cancelled_on.isoformat() if plan.cancelled_on else None,
        "cancellation_reason": plan.cancellation_reason or "",
        "state": "recorded" if record else ("unavailable" if facts.unavailable else "open"),
        "unavailable": facts.unavailable,
        "estimate_subtotal": str(estimate.subtotal) if estimate is not None else None,
        "covered": str(facts.covered),
        "room": str(facts.room),
        "kept_installments": [
            {
                "label": k.label,
                "position": k.position,
                "count": k.count,
                "subtotal": str(k.subtotal),
                "amount": str(k.amount),
                "due_on": k.due_on.isoformat(),
                "status": k.status,
                "invoice_id": k.invoice_id,
                "invoice_number": kept_invoices.get(k.invoice_id),
            }
            for k in facts.kept
        ],
        "lines": [_line_view(line, parts) for line in facts.lines],
        # A line billed per person whose candidate-workers billing never learned (a
        # cancellation published before they were sent): one quantity for the line.
        "people_unknown": any(
            line.category in PER_CANDIDATE_CATEGORIES and not line.per_candidate
            for line in facts.lines
        ),
        "record": (
            {
                "recorded_at": record.recorded_at.isoformat(),
                "items": record.items,
                "invoice": invoice,
            }
            if record is not None
            else None
        ),
    }


def cancelled_plans(session: Session, actor: Actor) -> list[dict]:
    """The institution's accepted plans that were cancelled, with their costs-incurred
    invoice when recorded (for the invoices page)."""
    if not actor.is_institution:
        return []
    rows = session.execute(
        select(BillingPlan, CancellationCosts.invoice_id)
        .outerjoin(CancellationCosts, CancellationCosts.plan_id == BillingPlan.plan_id)
        .where(
            BillingPlan.institution_id == actor.organisation_id,
            BillingPlan.status == PLAN_CANCELLED,
            BillingPlan.accepted_version.is_not(None),
        )
        .order_by(BillingPlan.cancelled_on.desc(), BillingPlan.plan_id)
        .limit(50)
    ).all()
    numbers = {
        i.id: i.number
        for i in session.scalars(
            select(Invoice).where(Invoice.id.in_([r.invoice_id for r in rows if r.invoice_id]))
        )
    }
    return [
        {
            "plan_id": plan.plan_id,
            "reference": plan.reference,
            "cancelled_on": plan.cancelled_on.isoformat() if plan.cancelled_on else None,
            "invoice_id": invoice_id,
            "invoice_number": numbers.get(invoice_id),
        }
        for plan, invoice_id in rows
    ]
