"""An invoicing run and a bank-file import, done off the request (the shared mechanism:
``rac_shared/tasks.py``; the worker: ``BillingService.run_tasks``).

Invoicing every installment due, or importing a bank file of thousands of lines, can take
longer than a person should wait on a page. The request records a task and answers at once;
the page shows its state and polls it; the person lands on the result.

- **One at a time.** While a task is pending its ``pending_key`` is set (unique): one
  invoicing run per institution, one import per file's content (the same file sent twice at
  once is imported once; two different files are two tasks). The key is cleared when the
  task ends, so the finished rows stay as the institution's history.
- **A run survives a restart.** The run issues the installments due in batches, each
  committed with the invoices' numbers added to the task's result, while the claim is still
  this worker's; a run taken over after its worker was killed continues with what is still
  due (an installment is invoiced once: ``invoicing.issue_due_invoices``) and its result
  counts both. An import is one transaction that also marks the task done: all or nothing.
- **Failures.** A refused file fails the task at once with its message and its lines'
  messages; a technical failure is retried, then failed (the shared rules), in French.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared import tasks as shared
from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.contracts.billing import BillingTaskKind
from rac_shared.errors import not_found
from rac_shared.french import plural
from services.billing import invoicing, payments
from services.billing.access import ensure_institution
from services.billing.models import BillingTask

INVOICING, BANK_IMPORT = BillingTaskKind.INVOICING.value, BillingTaskKind.BANK_IMPORT.value
BATCH = 200
HISTORY = 20  # the runs and imports a page lists

RUNNING_TEXT = {
    INVOICING: "Facturation des versements échus en cours…",
    BANK_IMPORT: "Importation du relevé bancaire en cours…",
}
QUEUED_TEXT = {
    INVOICING: "Facturation des versements échus demandée : elle commencera dans un instant.",
    BANK_IMPORT: "Importation du relevé demandée : elle commencera dans un instant.",
}
FAILED_WORK = {
    INVOICING: "Une erreur technique a interrompu la facturation",
    BANK_IMPORT: "Une erreur technique a empêché l'importation du relevé",
}


def _pending_key(actor: Actor, kind: str, content: str | None) -> str:
    key = f"{actor.organisation_id}:{kind}"
    if content is not None:
        key += ":" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:64]
    return key


def request(
    session: Session, actor: Actor, kind: str, content: str | None = None, filename: str = ""
) -> BillingTask:
    """Record the request; a task already pending under the same key is returned as it is."""
    ensure_institution(actor)
    key = _pending_key(actor, kind, content)
    pending = _pending(session, key)
    if pending is not None and pending.status in shared.PENDING:
        return pending
    if pending is not None:  # a task that failed keeps its key until it is asked again
        pending.pending_key = None
        session.flush()
    try:
        with session.begin_nested():
            task = BillingTask(
                kind=kind,
                institution_id=actor.organisation_id,
                pending_key=key,
                filename=filename or None,
                content=content,
                result=None,
                error_details=None,
                **shared.fresh(actor.model_dump(mode="json")),
            )
            session.add(task)
            session.flush()
        return task
    except IntegrityError:  # another request inserted it first: that one stands
        return _pending(session, key)


def _pending(session: Session, key: str) -> BillingTask | None:
    return session.scalar(
        select(BillingTask).where(BillingTask.pending_key == key).with_for_update()
    )


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    institution_id: int
    actor: dict
    claimed_at: datetime


def _read(task: BillingTask) -> Claimed:
    return Claimed(task.id, task.kind, task.institution_id, dict(task.actor), task.started_at)


def run_one(db) -> bool:
    """Claim one due task and do it (False: nothing was due)."""
    return shared.run_one(db, BillingTask, _read, lambda claimed: _work(db, claimed), _failed_work)


def _failed_work(kind: str) -> str:
    return FAILED_WORK[kind]


def _work(db, claimed: Claimed) -> None:
    if claimed.kind == INVOICING:
        _invoice(db, claimed)
    else:
        _import(db, claimed)


def _invoice(db, claimed: Claimed, batch_size: int = BATCH) -> None:
    """Issue the institution's installments due, batch after batch, each committed with the
    numbers added to the task's result; the last (empty) batch marks the task done."""
    today = clock.today()
    while True:
        with db.begin():
            task = shared.still_mine(db, BillingTask, claimed.id, claimed.claimed_at)
            if task is None:
                return  # taken over (this worker's lease ran out): the other one finishes
            issued = invoicing.issue_due_batch(
                db, today, batch_size, institution_id=claimed.institution_id
            )
            numbers = [*(task.result or {}).get("numbers", []), *(i.number for i in issued)]
            task.result = {"issued": len(numbers), "numbers": numbers}
            if not issued:
                _done(db, claimed)
                return


def _import(db, claimed: Claimed) -> None:
    actor = Actor.model_validate(claimed.actor)
    with db.begin():
        task = shared.still_mine(db, BillingTask, claimed.id, claimed.claimed_at)
        if task is None:
            return
        report = payments.import_payments(db, actor, task.content or "")
        task.result = report
        _done(db, claimed)


def _done(db, claimed: Claimed) -> None:
    task = shared.finish(db, BillingTask, claimed.id, claimed.claimed_at)
    if task is not None:
        task.pending_key = None
        db.flush()


# -- what the pages show ---------------------------------------------------------------------


def _done_text(task: BillingTask) -> str:
    result = task.result or {}
    if task.kind == INVOICING:
        issued = result.get("issued", 0)
        if not issued:
            return "Aucun versement n'était à facturer."
        return f"Facturation terminée : {plural(issued, 'facture émise', 'factures émises')}."
    recorded, skipped = result.get("recorded", 0), result.get("skipped", 0)
    text = f"Importation terminée : {plural(recorded, 'paiement enregistré')}"
    if skipped:
        text += (
            f", {plural(skipped, 'ligne déjà importée ignorée', 'lignes déjà importées ignorées')}"
        )
    return text + "."


def view(task: BillingTask) -> dict:
    state = shared.state(
        task,
        running=RUNNING_TEXT[task.kind],
        queued=QUEUED_TEXT[task.kind],
        done=_done_text(task) if task.status == shared.DONE else "",
        work=FAILED_WORK[task.kind],
    )
    kind = BillingTaskKind(task.kind)
    done = task.status == shared.DONE and task.result is not None
    return {
        **state,
        "id": task.id,
        "kind": kind,
        "kind_label": kind.label,
        "requested_by": (task.actor or {}).get("full_name", ""),
        "filename": task.filename,
        "invoiced": task.result if done and task.kind == INVOICING else None,
        "report": task.result if done and task.kind == BANK_IMPORT else None,
        "error_lines": {str(k): str(v) for k, v in (task.error_details or {}).items()}
        if isinstance(task.error_details, dict)
        else {},
    }


def visible(session: Session, actor: Actor, task_id: int) -> BillingTask:
    """The institution's own task (another's is « not found »)."""
    ensure_institution(actor)
    task = session.get(BillingTask, task_id)
    if task is None or task.institution_id != actor.organisation_id:
        raise not_found("Ce traitement n'existe pas.")
    return task


def history(session: Session, actor: Actor, limit: int = HISTORY) -> list[BillingTask]:
    ensure_institution(actor)
    return list(
        session.scalars(
            select(BillingTask)
            .where(BillingTask.institution_id == actor.organisation_id)
            .order_by(BillingTask.requested_at.desc(), BillingTask.id.desc())
            .limit(limit)
        )
    )
