"""From an accepted plan to issued invoices and credit notes.

- ``issue_due_invoices`` (the ``invoicing`` job; ``issue_due_batch`` wraps it for the
  institution's « facturer » button): claims due installments with ``SELECT … FOR UPDATE
  SKIP LOCKED`` and issues one invoice each, in bulk (a few statements per batch, whatever
  its size), numbered from a range taken on the counter row by one ``UPDATE … RETURNING`` in
  the same transaction, so that numbers are gapless per institution and fiscal year and no
  installment is invoiced twice (``invoices.installment_id`` is unique besides). A crash
  loses the uncommitted batch only (its range of numbers with it).
- ``record_abandonment`` and ``cancel_plan``: abandonment fee, pro rata credit notes, and the
  end of a cancelled plan's schedule.

Credit notes are applied to the plan's open invoices (the one they answer first); whatever
remains is applied to the plan's next invoices, or is owed back to the employer."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from rac_shared.clock import clock
from rac_shared.copy import PostgresqlWriter
from rac_shared.events import (
    InvoiceIssued,
)
from rac_shared.outbox import EventRows, record_event
from services.billing import estimates as E
from services.billing import pricing as P
from services.billing.credit_notes import allocate, apply_available_credits
from services.billing.models import (
    COUNTER_INVOICE,
    INVOICED,
    KIND_INSTALLMENT,
    SCHEDULED,
    BillingPlan,
    CreditNote,
    Estimate,
    Installment,
    Invoice,
    InvoiceCounter,
)
from services.billing.numbering import (
    document_number,
    fiscal_year,
    lock_counters,
    number_rows,
    reserve_numbers,
    take_number,
)
from services.billing.parties import party_snapshot, payment_instructions


def due_installments_query(as_of: date, institution_id: int | None = None):
    query = select(Installment).where(
        Installment.status == SCHEDULED,
        Installment.due_on.is_not(None),
        Installment.due_on <= as_of,
    )
    if institution_id is not None:
        query = query.where(Installment.institution_id == institution_id)
    return query


class IssuedInvoice(NamedTuple):
    """What the bulk path returns for each invoice it issued (no ORM object)."""

    id: int
    number: str
    installment_id: int
    plan_id: int


class InvoicingRun:
    """What a run of the invoicing job reads once, for all its batches: the tax rates of the
    issue date, each estimate's reference and payment term, the parties' snapshots (as at the
    run), and the taxes of each distinct schedule line. One run = one issue date."""

    def __init__(self, issued_on: date):
        self.issued_on = issued_on
        self.rates: list[P.Rate] | None = None
        self.estimates: dict[int, tuple[str, int]] = {}
        self.parties: dict[int, dict] = {}
        self.pairs: dict[tuple[int, int], dict] = {}
        self.taxes: dict[tuple, tuple[list[dict], Decimal]] = {}

    def prepare(self, session: Session, claimed) -> None:
        """Read, in a few queries, what the rows of ``claimed`` need and was not read yet."""
        if self.rates is None:
            self.rates = P.rates_on(E.load_rates(session), self.issued_on)
        missing = sorted({row.estimate_id for row in claimed} - self.estimates.keys())
        if missing:
            table = Estimate.__table__
            query = select(table.c.id, table.c.reference, table.c.payment_term_days).where(
                table.c.id.in_(missing)
            )
            for row in session.execute(query):
                self.estimates[row.id] = (row.reference, row.payment_term_days)
        for row in claimed:
            for organisation_id in (row.institution_id, row.employer_id):
                if organisation_id not in self.parties:
                    party_snapshot(session, organisation_id, self.parties)

    def taxes_of(self, installment) -> tuple[list[dict], Decimal]:
        """The invoice's taxes and total: the schedule's, unless a rate changed since the
        estimate (the invoice then follows the law of its date). Computed once per distinct
        (taxes, amounts)."""
        key = (
            tuple((t["name"], t["rate"], t["base"], t["amount"]) for t in installment.taxes),
            installment.taxable_base,
            installment.subtotal,
            installment.amount,
        )
        found = self.taxes.get(key)
        if found is None:
            taxes = [P.TaxAmount.from_dict(t) for t in installment.taxes]
            total = Decimal(installment.amount)
            if not P.same_rates(taxes, self.rates):
                taxes, total = P.retax(
                    Decimal(installment.taxable_base), Decimal(installment.subtotal), self.rates
                )
            found = self.taxes[key] = ([t.as_dict() for t in taxes], total)
        return found

    def pair(self, institution_id: int, employer_id: int) -> dict:
        """The parties' snapshot of an invoice (one object per pair: encoded once)."""
        key = (institution_id, employer_id)
        found = self.pairs.get(key)
        if found is None:
            found = self.pairs[key] = {
                "institution": self.parties[institution_id],
                "employer": self.parties[employer_id],
            }
        return found

    def invoice_row(self, installment, created_at: datetime, year: int) -> dict:
        """The invoice of an installment as a row to insert, all but its number (taken under
        the counter's lock, once the whole batch is ready)."""
        reference, payment_term_days = self.estimates[installment.estimate_id]
        institution = self.parties[installment.institution_id]
        subtotal = Decimal(installment.subtotal)
        taxes, total = self.taxes_of(installment)
        share = f"versement {installment.position} de {installment.count}"
        return {
            "kind": KIND_INSTALLMENT,
            "institution_id": installment.institution_id,
            "employer_id": installment.employer_id,
            "plan_id": installment.plan_id,
            "plan_reference": reference,
            "version": installment.version,
            "installment_id": installment.id,
            "issued_on": self.issued_on,
            "due_on": self.issued_on + timedelta(days=payment_term_days),
            "payment_term_days": payment_term_days,
            "lines": [
                {
                    "description": f"{installment.label} ({share})",
                    "detail": (
                        f"Selon l'estimation des coûts du plan de mise en œuvre "
                        f"{reference}, version {installment.version}"
                    ),
                    "quantity": "1",
                    "unit_price": str(subtotal),
                    "amount": str(subtotal),
                }
            ],
            "subtotal": subtotal,
            "taxes": taxes,
            "total": total,
            "parties": self.pair(installment.institution_id, installment.employer_id),
            "payment_instructions": payment_instructions(institution),
            "created_at": created_at,
            "paid_total": P.ZERO,
            "credited_total": P.ZERO,
            "fiscal_year": year,
        }


_CLAIMED = Installment.__table__.c


def _claim_query(as_of: date, batch_size: int, institution_id: int | None):
    c = _CLAIMED
    credit_left = (
        select(CreditNote.id)
        .where(CreditNote.plan_id == c.plan_id, CreditNote.total > CreditNote.applied_total)
        .exists()
    )
    query = select(
        c.id,
        c.plan_id,
        c.version,
        c.estimate_id,
        c.position,
        c.count,
        c.label,
        c.institution_id,
        c.employer_id,
        c.subtotal,
        c.taxable_base,
        c.taxes,
        c.amount,
        c.due_on,
        credit_left.label("credit_left"),
    ).where(c.status == SCHEDULED, c.due_on.is_not(None), c.due_on <= as_of)
    if institution_id is not None:
        query = query.where(c.institution_id == institution_id)
    return query.order_by(c.due_on, c.id).limit(batch_size).with_for_update(skip_locked=True)


def issue_due_invoices(
    session: Session,
    as_of: date,
    batch_size: int = 200,
    institution_id: int | None = None,
    run: InvoicingRun | None = None,
) -> list[IssuedInvoice]:
    """Claim up to ``batch_size`` due installments and invoice each one, in the caller's
    transaction, with a handful of statements whatever the batch size (the invoicing job;
    ``run`` carries what its batches share).

    1. ``SELECT … FOR UPDATE SKIP LOCKED`` of the due installments (and whether their plan
       has credit left): rows another transaction holds are skipped, never waited for, so
       replicas share the work and none is claimed twice (``invoices.installment_id`` is
       unique besides);
    2. the invoices (with their parties' snapshot) and their ``invoice.issued`` events are
       built in Python; on PostgreSQL the installments are marked invoiced (their invoice ids
       drawn from the sequence by the same ``UPDATE``) and the rows encoded for ``COPY``,
       all before the counter is locked: a replica waiting for the counter waits for two
       ``COPY`` and a commit, not for Python;
    3. one ``UPDATE invoice_counters … RETURNING`` per institution takes the batch's range of
       gapless numbers (held until the commit; a rollback gives the range back);
    4. the invoices, then their outbox rows, written in one statement each.

    Credit left on a plan is applied to its new invoices. No PDF is rendered (they are,
    lazily, when first asked for). Returns the invoices issued, empty when nothing is left.
    """
    session.flush()  # the session's pending ORM changes go before the statements below
    claimed = session.execute(_claim_query(as_of, batch_size, institution_id)).all()
    if not claimed:
        return []
    if run is None or run.issued_on != as_of:
        run = InvoicingRun(as_of)
    run.prepare(session, claimed)
    year = fiscal_year(as_of)
    claimed.sort(key=lambda row: (row.institution_id, row.due_on, row.id))
    created_at = clock.now()
    rows = [run.invoice_row(installment, created_at, year) for installment in claimed]
    events = EventRows(
        session,
        [
            InvoiceIssued(
                invoice_id=0,  # set below, with the number
                number="",
                institution_id=row["institution_id"],
                employer_id=row["employer_id"],
                plan_id=row["plan_id"],
                plan_reference=row["plan_reference"],
                issued_on=row["issued_on"],
                due_on=row["due_on"],
                total=row["total"],
            )
            for row in rows
        ],
    )
    counts: dict[int, int] = defaultdict(int)
    for row in rows:
        counts[row["institution_id"]] += 1
    needs = {(key, year, COUNTER_INVOICE): n for key, n in counts.items()}

    if session.get_bind().dialect.name == "postgresql":
        writer = PostgresqlWriter(session)
        invoice_ids = mark_invoiced(writer, [row["installment_id"] for row in rows])
        for row in rows:
            row["id"] = invoice_ids[row["installment_id"]]
        for event, row in zip(events.payloads, rows, strict=True):
            event["invoice_id"] = row["id"]
        invoices = writer.encode("invoices", rows, late=("sequence", "number"))
        events.encode(writer, late="number")
        number_rows(rows, reserve_numbers(session, needs), counts)  # the counter is locked
        writer.write(invoices, [(row["sequence"], row["number"]) for row in rows])
        events.write_encoded(writer, [row["number"] for row in rows])
    else:
        number_rows(rows, reserve_numbers(session, needs), counts)
        table = Invoice.__table__
        ids = session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        ).scalars()
        for row, invoice_id in zip(rows, ids, strict=True):
            row["id"] = invoice_id
        session.execute(
            update(Installment.__table__)
            .where(_CLAIMED.id.in_([row["installment_id"] for row in rows]))
            .where(table.c.installment_id == _CLAIMED.id)
            .values(status=INVOICED, invoice_id=table.c.id)
        )
        for event, row in zip(events.payloads, rows, strict=True):
            event["invoice_id"] = row["id"]
            event["number"] = row["number"]
        events.write()
    issued = [
        IssuedInvoice(row["id"], row["number"], row["installment_id"], row["plan_id"])
        for row in rows
    ]
    credited_plans = {row.plan_id for row in claimed if row.credit_left}
    if credited_plans:
        _apply_credits_to_new(session, credited_plans, issued, as_of)
    _expire_changed(session, {row["installment_id"] for row in rows})
    return issued


def _expire_changed(session: Session, installment_ids: set[int]) -> None:
    """The session's copies of what the bulk statements changed behind its back (claimed
    installments, counters) are expired: read again on next access, never stale."""
    for (cls, ident, *_), instance in list(session.identity_map.items()):
        if cls is InvoiceCounter or (cls is Installment and ident[0] in installment_ids):
            session.expire(instance)


def mark_invoiced(writer: PostgresqlWriter, installment_ids: list[int]) -> dict[int, int]:
    """Mark the claimed installments invoiced, each with the id of its invoice-to-be drawn
    from the sequence (so that everything but the numbers is written or encoded before the
    counter is locked): installment id → invoice id."""
    writer.cursor.execute(
        "UPDATE installments SET status = %s, "
        "invoice_id = nextval(pg_get_serial_sequence('invoices', 'id')) "
        "WHERE id = ANY(%s) RETURNING id, invoice_id",
        (INVOICED, installment_ids),
    )
    marked = dict(writer.cursor.fetchall())
    if len(marked) != len(installment_ids):  # they are locked by this transaction
        raise RuntimeError("claimed installments could not all be marked invoiced")
    return marked


def _apply_credits_to_new(
    session: Session, plan_ids: set[int], issued: list[IssuedInvoice], on: date
) -> None:
    """Credit left over on a plan (e.g. an abandonment refund) pays its next invoices."""
    credits = session.scalars(
        select(CreditNote)
        .where(
            CreditNote.plan_id.in_(sorted(plan_ids)), CreditNote.total > CreditNote.applied_total
        )
        .order_by(CreditNote.id)
        .with_for_update()
    ).all()
    if not credits:
        return
    wanted = [item.id for item in issued if item.plan_id in plan_ids]
    loaded = {
        invoice.id: invoice
        for invoice in session.scalars(select(Invoice).where(Invoice.id.in_(wanted)))
    }
    by_plan: dict[int, list[Invoice]] = defaultdict(list)
    for invoice_id in wanted:
        by_plan[loaded[invoice_id].plan_id].append(loaded[invoice_id])
    for credit in credits:
        allocate(session, credit, by_plan[credit.plan_id], on)
    session.flush()


def issue_due_batch(
    session: Session,
    as_of: date,
    batch_size: int = 200,
    institution_id: int | None = None,
) -> list[Invoice]:
    """``issue_due_invoices``, returning the issued invoices as ORM objects (the « facturer »
    button, the demo, tests)."""
    issued = issue_due_invoices(session, as_of, batch_size, institution_id)
    if not issued:
        return []
    loaded = {
        invoice.id: invoice
        for invoice in session.scalars(
            select(Invoice).where(Invoice.id.in_([item.id for item in issued]))
        )
    }
    return [loaded[item.id] for item in issued]


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
    apply_available_credits(session, [invoice])
    _publish_issued(session, invoice)
    return invoice
