"""Invoice and credit-note PDFs (French), rendered on first download and kept.

Never rendered by the bulk invoicing job: WeasyPrint costs about a second per document. The
first download renders it (in a sandboxed child process, ``rac_shared.pdf``) and stores it;
the stored document is what every later download, and the e-mail, gets.
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.clock import clock
from rac_shared.pdf import render_pdf
from rac_shared.templating import make_environment
from services.billing.models import CreditNote, Document, Invoice
from services.billing.views import credit_note_view, invoice_view

templates = make_environment(Path(__file__).parent / "templates")


def invoice_html(session: Session, invoice: Invoice) -> str:
    return templates.get_template("invoice.html.j2").render(
        doc=invoice_view(session, invoice),
        title="Facture",
        as_date=date.fromisoformat,
        dec=Decimal,
    )


def credit_note_html(session: Session, credit: CreditNote) -> str:
    return templates.get_template("credit_note.html.j2").render(
        doc=credit_note_view(session, credit),
        title="Note de crédit",
        as_date=date.fromisoformat,
        dec=Decimal,
    )


def stored(session: Session, kind: str, owner_id: int) -> Document | None:
    return session.scalar(
        select(Document).where(Document.kind == kind, Document.owner_id == owner_id)
    )


def render(session: Session, kind: str, owner) -> tuple[str, bytes]:
    """(filename, pdf) of an invoice or credit note, rendering it now if never rendered.

    Call outside a transaction: the rendering (a child process) must not hold locks.
    """
    document = stored(session, kind, owner.id)
    if document is not None:
        return document.filename, document.content
    html = invoice_html(session, owner) if kind == "invoice" else credit_note_html(session, owner)
    owner_id = owner.id
    filename = f"{'facture' if kind == 'invoice' else 'note-de-credit'}-{owner.number}.pdf"
    session.rollback()  # end the read transaction before the slow part
    content = render_pdf(html)
    try:
        with session.begin():
            session.add(
                Document(
                    kind=kind,
                    owner_id=owner_id,
                    filename=filename,
                    content=content,
                    sha256=hashlib.sha256(content).hexdigest(),
                    rendered_at=clock.now(),
                )
            )
    except IntegrityError:
        # Rendered at the same time by another worker: keep the stored one.
        session.rollback()
        document = stored(session, kind, owner_id)
        return document.filename, document.content
    return filename, content
