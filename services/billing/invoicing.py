"""From an accepted plan to issued invoices and credit notes.

- ``accept_plan`` (on ``plan.accepted``): the accepted version's installment schedule becomes
  installments with due dates (a date, the acceptance date, or a milestone's date once
  ``plan.milestone_reached`` arrives).
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
remains is applied to the plan's next invoices, or is owed back to the employer.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

from sqlalchemy import JSON, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.clock import MONTREAL, clock
from rac_shared.events import (
    CreditNoteApplication,
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
    Base,
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


def reserve_numbers(session: Session, needs: dict[tuple, int]) -> dict[tuple, int]:
    """Take ``needs[key]`` consecutive numbers from each counter ``(institution_id, year,
    kind)`` with one ``UPDATE … RETURNING`` each (keys in the global order of
    ``lock_counters``: no deadlock), creating missing counters. Returns the last number taken
    per key: the range is ``last - n + 1 .. last``.

    The counter rows stay locked until the transaction ends and a rollback returns the whole
    range: numbers stay gapless as long as every number taken is used in this transaction.
    """
    table = InvoiceCounter.__table__
    last: dict[tuple, int] = {}
    for key in sorted(needs):
        institution_id, year, kind = key
        take = (
            update(table)
            .where(
                table.c.institution_id == institution_id,
                table.c.fiscal_year == year,
                table.c.kind == kind,
            )
            .values(last_number=table.c.last_number + needs[key])
            .returning(table.c.last_number)
        )
        value = session.execute(take).scalar_one_or_none()
        if value is None:
            try:
                with session.begin_nested():
                    session.execute(
                        insert(table).values(
                            institution_id=institution_id,
                            fiscal_year=year,
                            kind=kind,
                            last_number=0,
                        )
                    )
            except IntegrityError:
                pass  # created meanwhile by another transaction
            value = session.execute(take).scalar_one()
        last[key] = value
    return last


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
    events = _EventRows(
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
        writer = _PostgresqlWriter(session)
        invoice_ids = writer.mark_invoiced([row["installment_id"] for row in rows])
        for row in rows:
            row["id"] = invoice_ids[row["installment_id"]]
        for event, row in zip(events.payloads, rows, strict=True):
            event["invoice_id"] = row["id"]
        invoices = writer.encode("invoices", rows, late=("sequence", "number"))
        events.encode(writer, late="number")
        _number(rows, reserve_numbers(session, needs), counts)  # the counter is locked
        writer.write(invoices, [(row["sequence"], row["number"]) for row in rows])
        events.write_encoded(writer, [row["number"] for row in rows])
    else:
        _number(rows, reserve_numbers(session, needs), counts)
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


def _number(rows: list[dict], last: dict[tuple, int], counts: dict[int, int]) -> None:
    """Give each row its number from the ranges taken (rows in numbering order)."""
    sequence = {key[0]: value - counts[key[0]] for key, value in last.items()}
    for row in rows:
        sequence[row["institution_id"]] += 1
        row["sequence"] = sequence[row["institution_id"]]
        row["number"] = document_number(
            row["parties"]["institution"]["code"], row["fiscal_year"], row["sequence"]
        )


class _PostgresqlWriter:
    """PostgreSQL's side of the bulk path, through the session's own connection: the
    installments marked invoiced with invoice ids drawn from the sequence (so that
    everything but the numbers is written or encoded before the counter is locked), and rows
    written with ``COPY … FROM STDIN`` (much less work, in Python and in the server, than a
    multi-row INSERT of the same rows).

    psycopg2 refuses ``COPY`` while a coroutine wait callback is installed (eventlet's
    patch, in the nameko services: the « facturer » button); there the rows go through one
    multi-row ``INSERT`` (``execute_values``) instead."""

    def __init__(self, session: Session):
        from psycopg2 import extensions

        self.cursor = session.connection().connection.cursor()
        self.use_copy = extensions.get_wait_callback() is None

    def mark_invoiced(self, installment_ids: list[int]) -> dict[int, int]:
        """installment id → the id of its invoice-to-be."""
        self.cursor.execute(
            "UPDATE installments SET status = %s, "
            "invoice_id = nextval(pg_get_serial_sequence('invoices', 'id')) "
            "WHERE id = ANY(%s) RETURNING id, invoice_id",
            (INVOICED, installment_ids),
        )
        marked = dict(self.cursor.fetchall())
        if len(marked) != len(installment_ids):  # they are locked by this transaction
            raise RuntimeError("claimed installments could not all be marked invoiced")
        return marked

    def encode(
        self, table: str, rows: list[dict], late: tuple[str, ...] = (), raw: tuple[str, ...] = ()
    ) -> tuple:
        """The rows ready to write, all but the ``late`` columns (given to ``write``); the
        ``raw`` columns hold JSON text already."""
        names = [name for name in rows[0] if name not in late]
        json_names = {
            name
            for name in names
            if name not in raw and isinstance(_TABLES[table].c[name].type, JSON)
        }
        if self.use_copy:
            columns = [
                _copy_column([row[name] for row in rows], name in json_names) for name in names
            ]
            data = ["\t".join(fields) for fields in zip(*columns, strict=True)]
        else:
            data = [
                tuple(json.dumps(row[name]) if name in json_names else row[name] for name in names)
                for row in rows
            ]
        return table, [*names, *late], data

    def write(
        self,
        encoded: tuple,
        late_values: list[tuple] | None = None,
        tails: list[str] | None = None,
    ) -> None:
        """Write encoded rows, with their ``late_values``, or with ``tails`` appended to
        their last column (the end of a JSON text begun at ``encode``)."""
        table, names, data = encoded
        if tails:
            assert not late_values, "tails complete the last column: no late columns then"
            if self.use_copy:
                data = [line + _copy_escape(tail) for line, tail in zip(data, tails, strict=True)]
            else:
                data = [(*row[:-1], row[-1] + tail) for row, tail in zip(data, tails, strict=True)]
        if not self.use_copy:
            from psycopg2.extras import execute_values

            if late_values:
                data = [(*row, *late) for row, late in zip(data, late_values, strict=True)]
            execute_values(
                self.cursor,
                f"INSERT INTO {table} ({', '.join(names)}) VALUES %s",
                data,
                page_size=len(data),
            )
            return
        if late_values:
            data = [
                "\t".join([line, *(_copy_escape(str(value)) for value in late)])
                for line, late in zip(data, late_values, strict=True)
            ]
        text = "\n".join(data) + "\n"
        self.cursor.copy_expert(f"COPY {table} ({', '.join(names)}) FROM STDIN", io.StringIO(text))


def _copy_column(values: list, is_json: bool) -> list[str]:
    """One column's fields in ``COPY``'s text format. A value the rows share (the parties,
    the taxes, a date) is encoded once."""
    sample = next((value for value in values if value is not None), None)
    if not is_json and isinstance(sample, int | Decimal) and not isinstance(sample, bool):
        return ["\\N" if value is None else str(value) for value in values]
    memo: dict[int, str] = {}
    fields = []
    for value in values:
        if value is None:
            fields.append("\\N")
            continue
        field = memo.get(id(value))
        if field is None:
            field = memo[id(value)] = _copy_escape(json.dumps(value) if is_json else str(value))
        fields.append(field)
    return fields


def _copy_escape(text: str) -> str:
    """A field of ``COPY``'s text format: backslash, newline, carriage return and tab
    escaped."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if "\n" in text or "\r" in text or "\t" in text:
        text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return text


_TABLES = Base.metadata.tables


class _EventRows:
    """The outbox rows of many events of one transaction (what ``record_event`` writes, in
    one multi-row INSERT): each payload is validated by its class, the envelope is built
    once and copied with a fresh ``event_id`` (one ``occurred_at``, the batch's).
    ``payloads`` are the rows' JSON payloads, which the caller may complete before
    ``write``."""

    def __init__(self, session: Session, payloads: list):
        from rac_shared.logs import current_correlation_id

        self.session = session
        template = Envelope.wrap(payloads[0], current_correlation_id()).model_dump(mode="json")
        now = clock.now()
        self.payloads: list[dict] = []
        self.rows: list[dict] = []
        random = os.urandom(16 * len(payloads))  # one system call for all the event ids
        for index, payload in enumerate(payloads):
            data = payload.model_dump(mode="json")
            body = {
                **template,
                "event_id": str(UUID(bytes=random[16 * index : 16 * index + 16], version=4)),
                "event_type": payload.event_type,
                "version": type(payload).version,
                "source": payload.source,
                "payload": data,
            }
            self.payloads.append(data)
            self.rows.append(
                {
                    "event_id": body["event_id"],
                    "source": body["source"],
                    "event_type": body["event_type"],
                    "correlation_id": body["correlation_id"],
                    "created_at": now,
                    "attempts": 0,
                    "body": body,
                }
            )

    def write(self) -> None:
        self.session.execute(insert(_TABLES["outbox"]), self.rows)
        self.session.info["outbox_written"] = True

    def encode(self, writer: _PostgresqlWriter, late: str) -> None:
        """PostgreSQL: encode the rows before the counter is locked, all but the payload's
        ``late`` key (the number), which ``write_encoded`` puts at the end of the payload."""
        rows = []
        for row, data in zip(self.rows, self.payloads, strict=True):
            data.pop(late, None)
            text = json.dumps(row["body"])  # the payload is the body's last key
            rows.append({**row, "body": text[:-2]})  # without the closing "}}"
        self.encoded = (writer.encode("outbox", rows, raw=("body",)), late)

    def write_encoded(self, writer: _PostgresqlWriter, values: list) -> None:
        encoded, late = self.encoded
        key = json.dumps(late)
        writer.write(encoded, tails=[f", {key}: {json.dumps(value)}}}}}" for value in values])
        self.session.info["outbox_written"] = True


def record_events(session: Session, payloads: list) -> None:
    """``rac_shared.outbox.record_event`` for many events, in one multi-row INSERT."""
    if payloads:
        _EventRows(session, payloads).write()


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
    applied = allocate(session, credit, ordered, issued_on)
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
            reason_kind=credit.reason_kind,
            applications=[
                CreditNoteApplication(invoice_number=invoice.number, amount=part)
                for invoice, part in applied
            ],
            unapplied=credit.unapplied,
        ),
    )
    return credit


def allocate(
    session: Session, credit: CreditNote, invoices: list[Invoice], on: date
) -> list[tuple[Invoice, Decimal]]:
    """Apply what is left of ``credit`` to the balances of ``invoices``, in order; returns
    the parts applied."""
    applied = []
    for invoice in invoices:
        available = Decimal(credit.total) - Decimal(credit.applied_total)
        if available <= P.ZERO:
            break
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
        applied.append((invoice, part))
    return applied


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
                    f"validation ({payload.full_name or 'candidat-travailleur du plan'}, "
                    f"le {long_date(payload.abandoned_on)})",
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
                f"Abandon de la démarche par {payload.full_name or 'un candidat-travailleur'} "
                f"le {long_date(payload.abandoned_on)} : "
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
    """Installments not due by the cancellation date are cancelled; those due by then stay
    to be invoiced; invoices issued for installments due after it are credited (applied to
    what is still owed, the rest owed back to the employer). The work done since the last of
    the installments kept is billed once the institution records it
    (``cancellation.record_costs``), per candidate-worker where a line is per person: the
    candidate-workers of the version in force are kept for that."""
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
    plan.candidates = [c.model_dump() for c in payload.candidates] or None
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
