"""Payments recorded by the institution, by hand or from a bank file (CSV).

A payment never exceeds the invoice's balance (no overpayment); the invoice row is locked
``FOR UPDATE`` while the balance is checked, so two simultaneous payments cannot both pass.
A bank file is imported all or nothing: any invalid line refuses the whole file with a
message per line; lines already imported (same invoice, date, amount and reference) are
recognised and skipped, so importing the same file twice records nothing more.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import date, datetime
from decimal import Decimal

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.contracts.base import Money, error_details
from rac_shared.contracts.billing import PaymentIn, PaymentMethod
from rac_shared.errors import invalid, not_found
from rac_shared.events import PaymentRecorded
from rac_shared.formatting import long_date, money
from rac_shared.french import plural
from rac_shared.outbox import record_event
from services.billing.access import ensure_institution, visible_invoice
from services.billing.models import Invoice, Payment

MAX_IMPORT_LINES = 5000
MAX_IMPORT_CHARS = 2_000_000
AMOUNT = TypeAdapter(Money)


def _amount(text: str) -> Decimal:
    """A bank file's amount, read as the contract reads a typed one (``1 234,56``)."""
    try:
        return AMOUNT.validate_python(text)
    except ValidationError as exc:
        raise ValueError(next(iter(error_details(exc).values()))) from None


def _check(
    invoice: Invoice, payment: PaymentIn, pending: Decimal = Decimal("0")
) -> tuple[str, str] | None:
    """Why ``payment`` cannot be recorded on ``invoice``: (field, French message), or None."""
    if payment.paid_on > clock.today():
        return "paid_on", "La date du paiement ne peut pas être dans le futur."
    if payment.paid_on < invoice.issued_on:
        return "paid_on", (
            f"La date du paiement précède la date d'émission de la facture "
            f"({long_date(invoice.issued_on)})."
        )
    balance = invoice.balance - pending
    if balance <= 0:
        return "amount", f"La facture {invoice.number} est déjà entièrement réglée."
    if payment.amount > balance:
        return "amount", (
            f"Le paiement de {money(payment.amount)} dépasse le solde de la facture "
            f"{invoice.number} ({money(balance)}) : les trop-payés ne sont pas acceptés."
        )
    return None


def _record(
    session: Session,
    actor: Actor,
    invoice: Invoice,
    payment: PaymentIn,
    source: str,
    import_key: str | None = None,
) -> Payment:
    row = Payment(
        invoice_id=invoice.id,
        institution_id=invoice.institution_id,
        employer_id=invoice.employer_id,
        paid_on=payment.paid_on,
        amount=payment.amount,
        method=payment.method,
        reference=payment.reference,
        source=source,
        import_key=import_key,
        recorded_by_user_id=actor.user_id,
        created_at=clock.now(),
    )
    session.add(row)
    invoice.paid_total = Decimal(invoice.paid_total) + payment.amount
    session.flush()
    record_event(
        session,
        PaymentRecorded(
            payment_id=row.id,
            invoice_id=invoice.id,
            number=invoice.number,
            institution_id=invoice.institution_id,
            employer_id=invoice.employer_id,
            paid_on=row.paid_on,
            amount=row.amount,
            method=row.method,
            balance=invoice.balance,
        ),
    )
    return row


def record_payment(session: Session, actor: Actor, invoice_id: int, payment: PaymentIn) -> Payment:
    ensure_institution(actor)
    invoice = visible_invoice(session, actor, invoice_id, lock=True)
    if invoice.institution_id != actor.organisation_id:
        raise not_found("Facture introuvable.")
    problem = _check(invoice, payment)
    if problem:
        field, message = problem
        raise invalid(message, {field: message})
    return _record(session, actor, invoice, payment, "manual")


# -- bank file ------------------------------------------------------------------------------

COLUMNS = {
    "date": "paid_on",
    "date_paiement": "paid_on",
    "date_de_paiement": "paid_on",
    "montant": "amount",
    "amount": "amount",
    "facture": "number",
    "numero_facture": "number",
    "numero_de_facture": "number",
    "no_facture": "number",
    "n_facture": "number",
    "no_de_facture": "number",
    "n_de_facture": "number",
    "numero": "number",
    "invoice": "number",
    "reference": "reference",
    "description": "reference",
    "mode": "method",
    "mode_de_paiement": "method",
}
METHOD_WORDS = {
    "virement": "transfer",
    "transfer": "transfer",
    "depot": "deposit",
    "depot_direct": "deposit",
    "cheque": "cheque",
    "carte": "card",
    "card": "card",
    "autre": "other",
}


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return "_".join(text.replace("°", "").replace(".", " ").replace("-", " ").split())


def _parse_date(text: str) -> date:
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"« {text[:30]} » n'est pas une date (AAAA-MM-JJ ou JJ/MM/AAAA).")


def _rows(content: str) -> tuple[list[str], list[list[str]]]:
    content = content.lstrip("\ufeff")
    sample = content[:4096]
    first_line = sample.splitlines()[0] if sample.strip() else ""
    delimiter = max((";", ",", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(content), delimiter=delimiter)
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        raise invalid("Le fichier est vide.")
    return rows[0], rows[1:]


def import_payments(session: Session, actor: Actor, content: str) -> dict:
    """Record every line of a bank file, or none (a message per invalid line)."""
    ensure_institution(actor)
    if len(content) > MAX_IMPORT_CHARS:
        raise invalid("Le fichier est trop volumineux (2 Mo au plus).")
    header, rows = _rows(content)
    columns = {}
    for index, name in enumerate(header):
        field = COLUMNS.get(_key(name))
        if field and field not in columns:
            columns[field] = index
    missing = [
        label
        for field, label in (("paid_on", "date"), ("amount", "montant"), ("number", "facture"))
        if field not in columns
    ]
    if missing:
        raise invalid(
            "La première ligne du fichier doit nommer les colonnes date, montant et facture "
            f"(colonnes manquantes : {', '.join(missing)}).",
            {"fichier": "Colonnes attendues : date;montant;facture;reference;mode"},
        )
    if len(rows) > MAX_IMPORT_LINES:
        raise invalid(f"Le fichier compte plus de {MAX_IMPORT_LINES} lignes.")

    def cell(row: list[str], field: str) -> str:
        index = columns.get(field)
        return row[index].strip() if index is not None and index < len(row) else ""

    numbers = {cell(row, "number") for row in rows}
    invoices = {
        invoice.number: invoice
        for invoice in session.scalars(
            select(Invoice)
            .where(Invoice.number.in_(numbers), Invoice.institution_id == actor.organisation_id)
            .order_by(Invoice.id)
            .with_for_update()
        )
    }
    errors: dict[str, str] = {}
    report, planned = [], []
    pending: dict[int, Decimal] = {}
    seen_keys: set[str] = set()
    for line_number, row in enumerate(rows, start=2):
        label = f"ligne {line_number}"
        number = cell(row, "number")
        entry = {"line": line_number, "number": number, "amount": cell(row, "amount")}
        try:
            paid_on = _parse_date(cell(row, "paid_on"))
            amount = _amount(cell(row, "amount"))
        except ValueError as exc:
            errors[label] = str(exc)
            report.append({**entry, "status": "error", "message": str(exc)})
            continue
        method = METHOD_WORDS.get(_key(cell(row, "method")), "transfer")
        reference = cell(row, "reference")[:120]
        invoice = invoices.get(number)
        if invoice is None:
            message = f"Aucune facture de votre établissement ne porte le numéro « {number} »."
            errors[label] = message
            report.append({**entry, "status": "error", "message": message})
            continue
        if amount <= 0:
            message = "Le montant doit être supérieur à zéro."
            errors[label] = message
            report.append({**entry, "status": "error", "message": message})
            continue
        key = f"{invoice.institution_id}|{number}|{paid_on.isoformat()}|{amount}|{reference}"
        if key in seen_keys or session.scalar(select(Payment.id).where(Payment.import_key == key)):
            report.append({**entry, "status": "skipped", "message": "Déjà importé."})
            continue
        seen_keys.add(key)
        payment = PaymentIn(paid_on=paid_on, amount=amount, method=method, reference=reference)
        problem = _check(invoice, payment, pending.get(invoice.id, Decimal("0")))
        if problem:
            errors[label] = problem[1]
            report.append({**entry, "status": "error", "message": problem[1]})
            continue
        pending[invoice.id] = pending.get(invoice.id, Decimal("0")) + amount
        planned.append((invoice, payment, key))
        report.append({**entry, "status": "recorded", "message": ""})
    if errors:
        raise invalid(
            f"Le fichier n'a pas été importé : {plural(len(errors), 'ligne')} à corriger. Aucun "
            "paiement n'a été enregistré.",
            errors,
        )
    for invoice, payment, key in planned:
        _record(session, actor, invoice, payment, "import", key)
    return {
        "recorded": len(planned),
        "skipped": sum(1 for r in report if r["status"] == "skipped"),
        "lines": report,
    }


def method_label(method: str) -> str:
    return PaymentMethod.label_of(method)
