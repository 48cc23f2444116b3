"""From an accepted plan to issued invoices and credit notes.

- ``accept_plan`` (on ``plan.accepted``): the accepted version's installment schedule becomes
  installments with due dates (a date, the acceptance date, or a milestone's date once
  ``plan.milestone_reached`` arrives).
- ``issue_due_batch`` (the ``invoicing`` job, and the institution's « facturer » button):
  claims due installments with ``SELECT … FOR UPDATE SKIP LOCKED`` and issues one invoice
  each, numbered from a counter row locked ``FOR UPDATE`` in the same transaction, so that
  numbers are gapless per institution and fiscal year and no installment is invoiced twice
  (``invoices.installment_id`` is unique besides). A crash loses the uncommitted batch only.
- ``record_abandonment`` and ``cancel_plan``: abandonment fee, pro rata credit notes, and the
  end of a cancelled plan's schedule.

Credit notes are applied to the plan's open invoices (the one they answer first); whatever
remains is applied to the plan's next invoices, or is owed back to the employer.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.clock import MONTREAL, clock
from rac_shared.events import (
    CreditNoteIssued,
    Envelope,
    InvoiceIssued,
    PlanAccepted,
    PlanCancelled,
    PlanCandidateAbandoned,
    PlanMilestoneReached,
)
from rac_shared.formatting import long_date
from rac_shared.outbox import record_event
from services.billing import estimates as E
from services.billing import pricing as P
from services.billing.models import (
    CANCELLED,
    COUNTER_CREDIT,
    COUNTER_INVOICE,
    FROZEN,
    INVOICED,
    KIND_ABANDONMENT,
    KIND_INSTALLMENT,
    PLAN_ACTIVE,
    PLAN_CANCELLED,
    SCHEDULED,
    Abandonment,
    BillingPlan,
    CreditAllocation,
    CreditNote,
    Estimate,
    Installment,
    Invoice,
    InvoiceCounter,
    Organisation,
    PlanMilestone,
)

log = logging.getLogger(__name__)

FISCAL_YEAR_FIRST_MONTH = 7  # 1 July – 30 June


def fiscal_year(day: date) -> int:
    """The fiscal year (1 July – 30 June) of ``day``, named by the year it starts in."""
    return day.year if day.month >= FISCAL_YEAR_FIRST_MONTH else day.year - 1


def document_number(code: str, year: int, sequence: int, kind: str = COUNTER_INVOICE) -> str:
    """``CLV-2026-0001`` for invoices, ``CLV-NC-2026-0001`` for credit notes."""
    middle = "NC-" if kind == COUNTER_CREDIT else ""
    return f"{code}-{middle}{year}-{sequence:04d}"


# -- numbering --------------------------------------------------------------------------


def lock_counters(session: Session, keys) -> dict[tuple, InvoiceCounter]:
    """Lock (creating if needed) the counter rows of ``keys`` in one global order, so that
    two transactions needing several counters can never deadlock."""
    counters: dict[tuple, InvoiceCounter] = {}
    for key in sorted(set(keys)):
        institution_id, year, kind = key
        query = (
            select(InvoiceCounter)
            .where(
                InvoiceCounter.institution_id == institution_id,
                InvoiceCounter.fiscal_year == year,
                InvoiceCounter.kind == kind,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        counter = session.scalar(query)
        if counter is None:
            try:
                with session.begin_nested():
                    session.add(
                        InvoiceCounter(
                            institution_id=institution_id,
                            fiscal_year=year,
                            kind=kind,
                            last_number=0,
                        )
                    )
            except IntegrityError:
                pass  # created meanwhile by another transaction
            counter = session.scalar(query)
        counters[key] = counter
    return counters


def take_number(counter: InvoiceCounter) -> int:
    counter.last_number += 1
    return counter.last_number


# -- parties ----------------------------------------------------------------------------


def party_snapshot(session: Session, organisation_id: int, cache: dict | None = None) -> dict:
    if cache is not None and organisation_id in cache:
        return cache[organisation_id]
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        snapshot = {
            "id": organisation_id,
            "code": f"E{organisation_id}",
            "name": f"Organisation n° {organisation_id}",
            "address": "",
            "gst_number": "",
            "qst_number": "",
            "payment_instructions": "",
        }
    else:
        snapshot = {
            "id": organisation.id,
            "code": organisation.code,
            "name": organisation.name,
            "address": organisation.address or "",
            "gst_number": organisation.gst_number or "",
            "qst_number": organisation.qst_number or "",
            "payment_instructions": organisation.payment_instructions or "",
        }
    if cache is not None:
        cache[organisation_id] = snapshot
    return snapshot


def payment_instructions(institution: dict, number_hint: str = "") -> str:
    if institution.get("payment_instructions"):
        return institution["payment_instructions"]
    return (
        f"Par virement bancaire ou par chèque à l'ordre de {institution['name']}, en indiquant "
        "le numéro de la facture en référence."
    )


# -- acceptance and due dates -------------------------------------------------------------


def _resolve_due(kind, due_date, milestone, offset_days, accepted_on, reached) -> date | None:
    if kind == "date":
        return due_date
    if milestone == "acceptance":
        return accepted_on + timedelta(days=offset_days)
    if milestone in reached:
        return reached[milestone] + timedelta(days=offset_days)
    return None  # known when the milestone is reached


def accept_plan(session: Session, payload: PlanAccepted) -> list[Installment]:
    """The accepted version's schedule becomes installments (once per plan version)."""
    accepted_on = payload.accepted_at.astimezone(MONTREAL).date()
    plan = session.get(BillingPlan, payload.plan_id, with_for_update=True)
    if plan is None:
        plan = BillingPlan(
            plan_id=payload.plan_id,
            reference=payload.reference,
            institution_id=payload.institution_id,
            employer_id=payload.employer_id,
            status=PLAN_ACTIVE,
        )
        session.add(plan)
    elif plan.status == PLAN_CANCELLED:
        log.warning("plan %s accepted after its cancellation: ignored", payload.plan_id)
        return []
    elif plan.accepted_version is not None and plan.accepted_version >= payload.version:
        return []  # this version (or a later one) is already the contract
    previous_version = plan.accepted_version
    plan.reference = payload.reference
    plan.accepted_version = payload.version
    plan.accepted_on = accepted_on
    session.flush()

    estimate = E.find(session, payload.plan_id, payload.version, lock=True)
    if estimate is None or estimate.institution_id != payload.institution_id:
        log.warning("plan %s v%s accepted without an estimate", payload.plan_id, payload.version)
        return []
    if estimate.status != FROZEN and estimate.lines:
        E.freeze(estimate)  # the accepted version is the contract: its estimate never changes

    if previous_version is not None:
        _replace_previous_versions(session, plan, estimate, accepted_on)

    reached = {
        m.milestone: m.reached_on
        for m in session.scalars(select(PlanMilestone).where(PlanMilestone.plan_id == plan.plan_id))
    }
    created = []
    count = len(estimate.schedule)
    for item in estimate.schedule:
        installment = Installment(
            plan_id=plan.plan_id,
            version=estimate.version,
            estimate_id=estimate.id,
            position=item.position,
            count=count,
            label=item.label,
            institution_id=estimate.institution_id,
            employer_id=estimate.employer_id,
            subtotal=item.subtotal,
            taxable_base=item.taxable_base,
            taxes=item.taxes,
            amount=item.amount,
            due_kind=item.due_kind,
            milestone=item.milestone,
            offset_days=item.offset_days,
            due_on=_resolve_due(
                item.due_kind,
                item.due_date,
                item.milestone,
                item.offset_days,
                accepted_on,
                reached,
            ),
            status=SCHEDULED,
        )
        if Decimal(item.amount) == P.ZERO:
            installment.status = CANCELLED
            installment.cancelled_reason = "Montant nul : rien à facturer."
        session.add(installment)
        created.append(installment)
    session.flush()
    return created


def _replace_previous_versions(
    session: Session, plan: BillingPlan, estimate: Estimate, accepted_on: date
) -> None:
    """An amendment's acceptance: the older versions' installments not yet invoiced are
    cancelled, and what was invoiced under them is credited (the new schedule bills the
    whole revised estimate)."""
    older = session.scalars(
        select(Installment)
        .where(Installment.plan_id == plan.plan_id, Installment.version < estimate.version)
        .with_for_update()
    ).all()
    for installment in older:
        if installment.status == SCHEDULED:
            installment.status = CANCELLED
            installment.cancelled_reason = (
                f"Remplacé par la version {estimate.version} du plan (avenant accepté le "
                f"{long_date(accepted_on)})."
            )
    invoices = session.scalars(
        select(Invoice).where(
            Invoice.plan_id == plan.plan_id,
            Invoice.kind == KIND_INSTALLMENT,
            Invoice.version < estimate.version,
        )
    ).all()
    if not invoices:
        return
    subtotal = sum((Decimal(i.subtotal) for i in invoices), P.ZERO)
    taxes = _sum_taxes([i.taxes for i in invoices])
    versions = sorted({i.version for i in invoices})
    issue_credit_note(
        session,
        source_key=f"amendment:{plan.plan_id}:{estimate.version}",
        reason_kind="amendment",
        reason=(
            f"Avenant : l'estimation de la version {estimate.version} remplace celle de la "
            f"version {', '.join(map(str, versions))} ; les montants déjà facturés sont crédités "
            "et le nouvel échéancier facture l'estimation révisée."
        ),
        plan=plan,
        version=estimate.version,
        lines=[
            {
                "description": "Montants facturés selon l'estimation remplacée "
                f"({', '.join(i.number for i in invoices)})",
                "quantity": "1",
                "unit_price": str(subtotal),
                "amount": str(subtotal),
            }
        ],
        subtotal=subtotal,
        taxes=taxes,
        invoice_id=None,
    )


def _sum_taxes(tax_lists: list[list[dict]]) -> list[P.TaxAmount]:
    sums: dict[str, list] = {}
    for taxes in tax_lists:
        for tax in taxes:
            entry = sums.setdefault(tax["name"], [Decimal(tax["rate"]), P.ZERO, P.ZERO])
            entry[1] += Decimal(tax["base"])
            entry[2] += Decimal(tax["amount"])
    return [
        P.TaxAmount(name, rate, base, amount)
        for name, (rate, base, amount) in sorted(sums.items(), key=lambda kv: _tax_rank(kv[0]))
    ]


def _tax_rank(name: str) -> int:
    return P.TAX_ORDER.index(name) if name in P.TAX_ORDER else len(P.TAX_ORDER)


def milestone_reached(session: Session, payload: PlanMilestoneReached) -> int:
    """Date the installments tied to the milestone; returns how many got a due date."""
    existing = session.scalar(
        select(PlanMilestone).where(
            PlanMilestone.plan_id == payload.plan_id, PlanMilestone.milestone == payload.milestone
        )
    )
    if existing is None:
        try:
            with session.begin_nested():
                session.add(
                    PlanMilestone(
                        plan_id=payload.plan_id,
                        milestone=payload.milestone,
                        reached_on=payload.reached_on,
                    )
                )
        except IntegrityError:
            pass
    reached_on = existing.reached_on if existing is not None else payload.reached_on
    installments = session.scalars(
        select(Installment)
        .where(
            Installment.plan_id == payload.plan_id,
            Installment.milestone == payload.milestone,
            Installment.status == SCHEDULED,
            Installment.due_on.is_(None),
        )
        .with_for_update()
    ).all()
    for installment in installments:
        installment.due_on = reached_on + timedelta(days=installment.offset_days)
    return len(installments)


# -- issuing invoices ---------------------------------------------------------------------


def due_installments_query(as_of: date, institution_id: int | None = None):
    query = select(Installment).where(
        Installment.status == SCHEDULED,
        Installment.due_on.is_not(None),
        Installment.due_on <= as_of,
    )
    if institution_id is not None:
        query = query.where(Installment.institution_id == institution_id)
    return query


class _BatchContext:
    """Caches for one batch: estimates, parties and the tax rates of the issue date."""

    def __init__(self, session: Session, issued_on: date):
        self.session = session
        self.issued_on = issued_on
        self.rates = P.rates_on(E.load_rates(session), issued_on)
        self.estimates: dict[int, Estimate] = {}
        self.parties: dict[int, dict] = {}

    def estimate(self, estimate_id: int) -> Estimate:
        if estimate_id not in self.estimates:
            self.estimates[estimate_id] = self.session.get(Estimate, estimate_id)
        return self.estimates[estimate_id]

    def party(self, organisation_id: int) -> dict:
        return party_snapshot(self.session, organisation_id, self.parties)


def issue_due_batch(
    session: Session,
    as_of: date,
    batch_size: int = 200,
    institution_id: int | None = None,
) -> list[Invoice]:
    """Claim up to ``batch_size`` due installments and invoice each one (one transaction).

    Rows another transaction holds are skipped, never waited for: two replicas share the
    work. Returns the invoices issued (empty when nothing is left to claim).
    """
    claimed = session.scalars(
        due_installments_query(as_of, institution_id)
        .order_by(Installment.due_on, Installment.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    ).all()
    if not claimed:
        return []
    issued_on = as_of
    year = fiscal_year(issued_on)
    context = _BatchContext(session, issued_on)
    ordered = sorted(claimed, key=lambda i: (i.institution_id, i.due_on, i.id))
    # Everything but the numbers is prepared before the counters are locked, so that a
    # replica waiting for the counter row waits for inserts and a commit, not for Python.
    invoices = [
        (installment, _installment_invoice(context, installment)) for installment in ordered
    ]
    counters = lock_counters(session, [(i.institution_id, year, COUNTER_INVOICE) for i in ordered])
    for installment, invoice in invoices:
        counter = counters[(installment.institution_id, year, COUNTER_INVOICE)]
        invoice.fiscal_year = year
        invoice.sequence = take_number(counter)
        invoice.number = document_number(
            invoice.parties["institution"]["code"], year, invoice.sequence
        )
    session.add_all([invoice for _, invoice in invoices])
    session.flush()
    # One UPDATE … FROM invoices for the whole batch (not one per installment).
    session.execute(
        update(Installment)
        .where(
            Installment.id.in_([installment.id for installment in ordered]),
            Invoice.installment_id == Installment.id,
        )
        .values(status=INVOICED, invoice_id=Invoice.id)
        .execution_options(synchronize_session="fetch")
    )
    issued = [invoice for _, invoice in invoices]
    _apply_available_credits(session, issued)
    record_events(session, [_issued_event(invoice) for invoice in issued])
    return issued


def _installment_invoice(context: _BatchContext, installment: Installment) -> Invoice:
    """The invoice of an installment, all but its number (taken under the counter lock)."""
    estimate = context.estimate(installment.estimate_id)
    institution = context.party(installment.institution_id)
    employer = context.party(installment.employer_id)
    taxes = [P.TaxAmount.from_dict(t) for t in installment.taxes]
    subtotal = Decimal(installment.subtotal)
    total = Decimal(installment.amount)
    if not P.same_rates(taxes, context.rates):
        # A rate changed since the estimate: the invoice follows the law of its date.
        taxes, total = P.retax(Decimal(installment.taxable_base), subtotal, context.rates)
    share = f"versement {installment.position} de {installment.count}"
    return Invoice(
        kind=KIND_INSTALLMENT,
        institution_id=installment.institution_id,
        employer_id=installment.employer_id,
        plan_id=installment.plan_id,
        plan_reference=estimate.reference,
        version=installment.version,
        installment_id=installment.id,
        issued_on=context.issued_on,
        due_on=context.issued_on + timedelta(days=estimate.payment_term_days),
        payment_term_days=estimate.payment_term_days,
        lines=[
            {
                "description": f"{installment.label} ({share})",
                "detail": (
                    f"Selon l'estimation des coûts du plan de mise en œuvre "
                    f"{estimate.reference}, version {installment.version}"
                ),
                "quantity": "1",
                "unit_price": str(subtotal),
                "amount": str(subtotal),
            }
        ],
        subtotal=subtotal,
        taxes=[t.as_dict() for t in taxes],
        total=total,
        parties={"institution": institution, "employer": employer},
        payment_instructions=payment_instructions(institution),
        created_at=clock.now(),
        paid_total=P.ZERO,
        credited_total=P.ZERO,
    )


def _issued_event(invoice: Invoice) -> InvoiceIssued:
    return InvoiceIssued(
        invoice_id=invoice.id,
        number=invoice.number,
        institution_id=invoice.institution_id,
        employer_id=invoice.employer_id,
        plan_id=invoice.plan_id,
        plan_reference=invoice.plan_reference,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        total=invoice.total,
    )


def _publish_issued(session: Session, invoice: Invoice) -> None:
    record_event(session, _issued_event(invoice))


def record_events(session: Session, payloads: list) -> None:
    """``rac_shared.outbox.record_event`` for many events in one multi-row INSERT (same
    rows, same transaction): the bulk job writes one ``invoice.issued`` per invoice."""
    if not payloads:
        return
    from rac_shared.logs import current_correlation_id

    correlation_id = current_correlation_id()
    now = clock.now()
    rows = []
    for payload in payloads:
        envelope = Envelope.wrap(payload, correlation_id)
        rows.append(
            {
                "event_id": str(envelope.event_id),
                "source": envelope.source,
                "event_type": envelope.event_type,
                "body": envelope.model_dump(mode="json"),
                "correlation_id": envelope.correlation_id,
                "created_at": now,
                "attempts": 0,
            }
        )
    session.execute(insert(session.info["metadata"].tables["outbox"]), rows)
    session.info["outbox_written"] = True


def issue_invoice(
    session: Session,
    *,
    kind: str,
    plan: BillingPlan,
    version: int,
    lines: list[dict],
    subtotal: Decimal,
    taxes: list[P.TaxAmount],
    payment_term_days: int,
    issued_on: date | None = None,
) -> Invoice:
    """Issue one invoice outside the bulk job (abandonment fee)."""
    issued_on = issued_on or clock.today()
    year = fiscal_year(issued_on)
    counter = lock_counters(session, [(plan.institution_id, year, COUNTER_INVOICE)])[
        (plan.institution_id, year, COUNTER_INVOICE)
    ]
    institution = party_snapshot(session, plan.institution_id)
    employer = party_snapshot(session, plan.employer_id)
    sequence = take_number(counter)
    invoice = Invoice(
        number=document_number(institution["code"], year, sequence),
        kind=kind,
        institution_id=plan.institution_id,
        employer_id=plan.employer_id,
        plan_id=plan.plan_id,
        plan_reference=plan.reference,
        version=version,
        installment_id=None,
        fiscal_year=year,
        sequence=sequence,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=payment_term_days),
        payment_term_days=payment_term_days,
        lines=lines,
        subtotal=subtotal,
        taxes=[t.as_dict() for t in taxes],
        total=subtotal + sum((t.amount for t in taxes), P.ZERO),
        parties={"institution": institution, "employer": employer},
        payment_instructions=payment_instructions(institution),
        created_at=clock.now(),
        paid_total=P.ZERO,
        credited_total=P.ZERO,
    )
    session.add(invoice)
    session.flush()
    _apply_available_credits(session, [invoice])
    _publish_issued(session, invoice)
    return invoice


# -- credit notes ---------------------------------------------------------------------------


def issue_credit_note(
    session: Session,
    *,
    source_key: str,
    reason_kind: str,
    reason: str,
    plan: BillingPlan,
    version: int,
    lines: list[dict],
    subtotal: Decimal,
    taxes: list[P.TaxAmount],
    invoice_id: int | None,
    issued_on: date | None = None,
) -> CreditNote | None:
    """Issue a credit note once per ``source_key`` and apply it to open invoices."""
    if session.scalar(select(CreditNote.id).where(CreditNote.source_key == source_key)):
        return None
    total = subtotal + sum((t.amount for t in taxes), P.ZERO)
    if total <= P.ZERO:
        return None
    issued_on = issued_on or clock.today()
    year = fiscal_year(issued_on)
    key = (plan.institution_id, year, COUNTER_CREDIT)
    counter = lock_counters(session, [key])[key]
    institution = party_snapshot(session, plan.institution_id)
    employer = party_snapshot(session, plan.employer_id)
    sequence = take_number(counter)
    credit = CreditNote(
        number=document_number(institution["code"], year, sequence, COUNTER_CREDIT),
        reason_kind=reason_kind,
        reason=reason,
        source_key=source_key,
        institution_id=plan.institution_id,
        employer_id=plan.employer_id,
        plan_id=plan.plan_id,
        plan_reference=plan.reference,
        invoice_id=invoice_id,
        fiscal_year=year,
        sequence=sequence,
        issued_on=issued_on,
        lines=lines,
        subtotal=subtotal,
        taxes=[t.as_dict() for t in taxes],
        total=total,
        parties={"institution": institution, "employer": employer},
        created_at=clock.now(),
        applied_total=P.ZERO,
    )
    session.add(credit)
    session.flush()
    open_invoices = session.scalars(
        select(Invoice)
        .where(Invoice.plan_id == plan.plan_id)
        .order_by(Invoice.issued_on, Invoice.id)
        .with_for_update()
    ).all()
    ordered = sorted(open_invoices, key=lambda i: (i.id != invoice_id, i.issued_on, i.id))
    allocate(session, credit, ordered, issued_on)
    record_event(
        session,
        CreditNoteIssued(
            credit_note_id=credit.id,
            number=credit.number,
            institution_id=credit.institution_id,
            employer_id=credit.employer_id,
            plan_id=credit.plan_id,
            plan_reference=credit.plan_reference,
            issued_on=credit.issued_on,
            total=credit.total,
            reason=credit.reason,
        ),
    )
    return credit


def allocate(session: Session, credit: CreditNote, invoices: list[Invoice], on: date) -> None:
    for invoice in invoices:
        available = Decimal(credit.total) - Decimal(credit.applied_total)
        if available <= P.ZERO:
            return
        part = min(available, invoice.balance)
        if part <= P.ZERO:
            continue
        session.add(
            CreditAllocation(
                credit_note_id=credit.id, invoice_id=invoice.id, amount=part, applied_on=on
            )
        )
        invoice.credited_total = Decimal(invoice.credited_total) + part
        credit.applied_total = Decimal(credit.applied_total) + part


def _apply_available_credits(session: Session, invoices: list[Invoice]) -> None:
    """Credit left over on a plan (e.g. an abandonment refund) pays its next invoices."""
    by_plan: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        by_plan[invoice.plan_id].append(invoice)
    credits = session.scalars(
        select(CreditNote)
        .where(
            CreditNote.plan_id.in_(list(by_plan)),
            CreditNote.total > CreditNote.applied_total,
        )
        .order_by(CreditNote.id)
        .with_for_update()
    ).all()
    for credit in credits:
        allocate(session, credit, by_plan[credit.plan_id], invoices[0].issued_on)


# -- abandonment and cancellation ---------------------------------------------------------


def contract_estimate(session: Session, plan: BillingPlan, version: int | None = None):
    version = version or plan.accepted_version
    if version is None:
        return None
    return E.find(session, plan.plan_id, version)


def record_abandonment(session: Session, payload: PlanCandidateAbandoned) -> dict:
    """Abandonment fee (after the validation interview) and pro rata credit note."""
    try:
        ratio = Decimal(str(payload.work_done_ratio))
    except Exception:  # noqa: BLE001 - a malformed contract value
        raise ValueError(f"work_done_ratio is not a decimal: {payload.work_done_ratio!r}") from None
    if not (P.ZERO <= ratio <= Decimal(1)):
        raise ValueError(f"work_done_ratio outside 0..1: {ratio}")
    plan = session.get(BillingPlan, payload.plan_id, with_for_update=True)
    if plan is None or plan.accepted_version is None:
        log.warning("abandonment on plan %s that billing never saw accepted", payload.plan_id)
        return {}
    if plan.status == PLAN_CANCELLED:
        return {}
    if session.scalar(
        select(Abandonment.id).where(
            Abandonment.plan_id == payload.plan_id,
            Abandonment.candidate_id == payload.candidate_id,
        )
    ):
        return {}
    estimate = contract_estimate(session, plan)
    abandonment = Abandonment(
        plan_id=plan.plan_id,
        candidate_id=payload.candidate_id,
        abandoned_on=payload.abandoned_on,
        after_validation_interview=payload.after_validation_interview,
        work_done_ratio=ratio,
    )
    session.add(abandonment)
    if estimate is None:
        return {}
    rates = [P.Rate(t["name"], Decimal(t["rate"]), date.min) for t in estimate.taxes]
    today = clock.today()
    # Lock both counters in the global order before taking any number.
    lock_counters(
        session,
        [
            (plan.institution_id, fiscal_year(today), COUNTER_CREDIT),
            (plan.institution_id, fiscal_year(today), COUNTER_INVOICE),
        ],
    )
    result: dict = {}
    fee = Decimal(estimate.abandonment_fee)
    if payload.after_validation_interview and fee > P.ZERO:
        current_rates = P.rates_on(E.load_rates(session), today)
        taxes = P.compute_taxes(fee if estimate.abandonment_fee_taxable else P.ZERO, current_rates)
        invoice = issue_invoice(
            session,
            kind=KIND_ABANDONMENT,
            plan=plan,
            version=estimate.version,
            lines=[
                {
                    "description": "Frais d'abandon de la démarche de RAC après l'entrevue de "
                    f"validation (candidat-travailleur n° {payload.candidate_id}, le "
                    f"{long_date(payload.abandoned_on)})",
                    "detail": f"Selon l'estimation des coûts du plan {plan.reference}",
                    "quantity": "1",
                    "unit_price": str(fee),
                    "amount": str(fee),
                }
            ],
            subtotal=fee,
            taxes=taxes,
            payment_term_days=estimate.payment_term_days,
        )
        abandonment.fee_invoice_id = invoice.id
        result["invoice"] = invoice
    credit_lines = P.pro_rata_lines(E.pricing_of(estimate).lines, estimate.candidate_count, ratio)
    if credit_lines:
        pricing = P.price_lines(credit_lines, rates)
        credit = issue_credit_note(
            session,
            source_key=f"abandonment:{plan.plan_id}:{payload.candidate_id}",
            reason_kind="abandonment",
            reason=(
                f"Abandon d'un candidat-travailleur le {long_date(payload.abandoned_on)} : "
                f"remboursement au prorata de l'accompagnement et des évaluations non réalisés "
                f"({E.rate_label(Decimal(1) - ratio)} du travail prévu pour cette personne)."
            ),
            plan=plan,
            version=estimate.version,
            lines=[
                {
                    "description": line.description,
                    "quantity": "1",
                    "unit_price": str(line.amount),
                    "amount": str(line.amount),
                }
                for line in pricing.lines
            ],
            subtotal=pricing.subtotal,
            taxes=pricing.taxes,
            invoice_id=None,
        )
        if credit is not None:
            abandonment.credit_note_id = credit.id
            result["credit_note"] = credit
    session.flush()
    return result


def cancel_plan(session: Session, payload: PlanCancelled) -> dict:
    """Installments not due by the cancellation date are cancelled; those due by then are
    the costs incurred and stay to be invoiced; invoices issued for installments due after
    it are credited (applied to what is still owed, the rest owed back to the employer)."""
    plan = session.get(BillingPlan, payload.plan_id, with_for_update=True)
    if plan is None:
        plan = BillingPlan(
            plan_id=payload.plan_id,
            reference=payload.reference,
            institution_id=payload.institution_id,
            employer_id=payload.employer_id,
            status=PLAN_ACTIVE,
        )
        session.add(plan)
    if plan.status == PLAN_CANCELLED:
        return {}
    plan.status = PLAN_CANCELLED
    plan.cancelled_on = payload.cancelled_on
    plan.cancellation_reason = payload.reason
    cancelled_on = payload.cancelled_on
    installments = session.scalars(
        select(Installment).where(Installment.plan_id == plan.plan_id).with_for_update()
    ).all()
    cancelled = 0
    for installment in installments:
        if installment.status != SCHEDULED:
            continue
        if installment.due_on is None or installment.due_on > cancelled_on:
            installment.status = CANCELLED
            installment.cancelled_reason = (
                f"Plan annulé le {long_date(cancelled_on)} : versement non engagé."
            )
            cancelled += 1
    not_incurred = [
        i
        for i in installments
        if i.status == INVOICED and i.due_on is not None and i.due_on > cancelled_on
    ]
    credits = []
    for installment in sorted(not_incurred, key=lambda i: i.id):
        invoice = session.get(Invoice, installment.invoice_id)
        credit = issue_credit_note(
            session,
            source_key=f"cancellation:{invoice.id}",
            reason_kind="cancellation",
            reason=(
                f"Annulation du plan le {long_date(cancelled_on)} : le versement « "
                f"{installment.label} » (exigible le {long_date(installment.due_on)}) ne "
                "correspond à aucun coût engagé."
            ),
            plan=plan,
            version=invoice.version,
            lines=[
                {
                    "description": f"Crédit de la facture {invoice.number} — {installment.label}",
                    "quantity": "1",
                    "unit_price": str(invoice.subtotal),
                    "amount": str(invoice.subtotal),
                }
            ],
            subtotal=Decimal(invoice.subtotal),
            taxes=[P.TaxAmount.from_dict(t) for t in invoice.taxes],
            invoice_id=invoice.id,
        )
        if credit is not None:
            credits.append(credit)
    session.flush()
    return {"cancelled_installments": cancelled, "credit_notes": credits}
