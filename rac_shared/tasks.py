"""Work a person waits for, done off the request by the service's own worker: the shape of a
task table and the helpers that claim, finish and fail its rows. Used by plans (issuing a
version, rendering a preview: ``services/plans/tasks.py``) and billing (an invoicing run, a
bank-file import: ``services/billing/tasks.py``); each service keeps its own table (a service
never reads another's) with these columns (``TaskColumns``) and the columns of its own work.

- **Asking.** The request records a queued task and answers at once; the page shows the
  task's state and its status region polls it (``gateway/static/feedback.js``).
- **Two replicas.** A request inserts under a unique key of the service's choice, so two
  clicks make one task; a worker claims a due task with ``FOR UPDATE SKIP LOCKED`` and marks
  it running with a lease, so another replica skips it.
- **A restart.** A task left running by a killed process is due again once its lease has run
  out (``LEASE_SECONDS``): another worker (or the same one restarted) takes it over. A worker
  finishes or fails a task only while its claim is the task's (``started_at``), so a late
  answer from the killed claim changes nothing. A task taken over more than ``MAX_ATTEMPTS``
  times is failed with a French message like any other.
- **Failures.** A refusal (``DomainError``) fails the task at once with its message; anything
  else is retried with back-off (``RETRY_SECONDS`` doubling) up to ``MAX_ATTEMPTS``, then
  failed. Either way the page says why, in French, and the person may ask again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import JSON, DateTime, Integer, String, Text, and_, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from rac_shared.clock import aware, clock
from rac_shared.contracts.tasks import TaskStatus
from rac_shared.errors import DomainError

log = logging.getLogger(__name__)


QUEUED, RUNNING, DONE, FAILED = (s.value for s in TaskStatus)
PENDING = (QUEUED, RUNNING)
MAX_ATTEMPTS = 3
RETRY_SECONDS = 5  # then 10: work that failed twice in a row is not retried at once
LEASE_SECONDS = 600  # far above a render or a run; a replica killed mid-task is taken over after it

RETRYING_TEXT = (
    "{work} (essai {attempts} sur {max}) : nouvel essai automatique dans quelques secondes."
)
GAVE_UP_TEXT = (
    "{work} après {max} essais. Réessayez dans quelques minutes; si l'échec se répète, "
    "écrivez au soutien de la plateforme."
)


class TaskColumns:
    """The columns every task table has (a declarative mixin)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[dict] = mapped_column(JSON)  # who asked (the worker acts for them)
    status: Mapped[str] = mapped_column(String(20))  # queued | running | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)  # French, shown to the person
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


T = TypeVar("T", bound=TaskColumns)


def fresh(actor: dict) -> dict:
    """A queued task's common values (a new row, or a finished row asked for again)."""
    now = clock.now()
    return {
        "actor": actor,
        "status": QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "error": None,
        "requested_at": now,
        "started_at": None,
        "finished_at": None,
    }


def claim(session: Session, model: type[T]) -> T | None:
    """The next due task, marked running with a lease (the caller commits at once).
    Rows another replica holds are skipped; a running task whose lease ran out is due."""
    now = clock.now()
    task = session.scalar(
        select(model)
        .where(
            or_(
                and_(model.status == QUEUED, model.next_attempt_at <= now),
                and_(model.status == RUNNING, model.lease_until < now),
            )
        )
        .order_by(model.next_attempt_at, model.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if task is None:
        return None
    task.status = RUNNING
    task.attempts += 1
    task.started_at = now
    task.lease_until = now + timedelta(seconds=LEASE_SECONDS)
    session.flush()
    return task


def still_mine(session: Session, model: type[T], task_id: int, claimed_at: datetime) -> T | None:
    """The task, locked, if the claim made at ``claimed_at`` is still its own."""
    task = session.scalar(select(model).where(model.id == task_id).with_for_update())
    if task is None or task.status != RUNNING or aware(task.started_at) != aware(claimed_at):
        return None  # another replica took it over (lease ran out): its outcome stands
    return task


def finish(session: Session, model: type[T], task_id: int, claimed_at: datetime) -> T | None:
    """Mark the claimed task done, in the transaction that commits its work; the caller sets
    its result on the returned row. None: the claim is no longer this worker's."""
    task = still_mine(session, model, task_id, claimed_at)
    if task is None:
        return None
    task.status = DONE
    task.finished_at = clock.now()
    task.lease_until = None
    task.error = None
    session.flush()
    return task


def fail(
    session: Session,
    model: type[T],
    task_id: int,
    claimed_at: datetime,
    error: Exception,
    work: str,
) -> T | None:
    """A refusal fails the task at once with its message; anything else is retried with
    back-off, then failed. ``work`` names what failed, in French (« L'import a échoué »)."""
    task = still_mine(session, model, task_id, claimed_at)
    if task is None:
        return None
    now = clock.now()
    task.lease_until = None
    if isinstance(error, DomainError):
        task.status, task.error, task.finished_at = FAILED, error.message, now
        if hasattr(task, "error_details"):  # a table that shows the refusal's details
            task.error_details = error.details or None
    elif task.attempts < MAX_ATTEMPTS:
        task.status = QUEUED
        task.next_attempt_at = now + timedelta(seconds=RETRY_SECONDS * 2 ** (task.attempts - 1))
        task.error = RETRYING_TEXT.format(work=work, attempts=task.attempts, max=MAX_ATTEMPTS)
    else:
        task.status, task.finished_at = FAILED, now
        task.error = GAVE_UP_TEXT.format(work=work, max=MAX_ATTEMPTS)
    session.flush()
    return task


def run_one(
    db,
    model: type[T],
    read: Callable[[T], object],
    work: Callable[[object], None],
    failed_work: Callable[[str], str],
) -> bool:
    """Claim one due task and do it. ``read(row)`` makes what the worker needs of it (read
    inside the claim's transaction, with the claim's ``id`` and ``claimed_at``);
    ``work(claimed)`` does the work and marks the task done inside the transaction that
    commits it. A failure is recorded on the task (retried if it may be), its text from
    ``failed_work(kind)``. False: nothing was due."""
    # A worker's session does several tasks in a row and keeps what it loaded across commits
    # (no expiry on commit): each task reads the rows afresh, never what the previous one saw
    # (a plan's PDF task, then its next version's issue, in one tick).
    db.expire_all()
    with db.begin():
        task = claim(db, model)
        if task is None:
            return False
        claimed = read(task)
        kind, attempts = task.kind, task.attempts
    try:
        if attempts > MAX_ATTEMPTS:  # taken over after killed claims, again and again
            raise _GaveUp()
        work(claimed)
    except Exception as error:  # recorded on the task, shown on the page, retried if it may
        if not isinstance(error, DomainError | _GaveUp):
            log.exception("%s %s (%s) failed", model.__tablename__, claimed.id, kind)
        with db.begin():
            fail(db, model, claimed.id, claimed.claimed_at, error, failed_work(kind))
    return True


class _GaveUp(Exception):
    """A task whose claims kept being lost (its worker killed each time): not tried again."""


def state(task: TaskColumns, running: str, queued: str, done: str, work: str) -> dict:
    """The common part of what a page shows of a task: its status and French message."""
    status = TaskStatus(task.status)
    if task.status == RUNNING:
        message = running
    elif task.status == QUEUED:
        message = task.error or queued
    elif task.status == DONE:
        message = done
    else:
        message = task.error or GAVE_UP_TEXT.format(work=work, max=MAX_ATTEMPTS)
    return {
        "kind": task.kind,
        "status": status,
        "status_label": status.label,
        "attempts": task.attempts,
        "max_attempts": MAX_ATTEMPTS,
        "message": message,
        "requested_at": aware(task.requested_at),
        "finished_at": aware(task.finished_at),
        "pending": task.status in PENDING,
        "ready": task.status == DONE,
        "failed": task.status == FAILED,
    }
