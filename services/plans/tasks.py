"""Work a person waits for, done off the request: issuing a version and rendering a preview.

Rendering a plan's PDF takes seconds (more on a busy machine), so the page does not wait for
it. The request checks what it can at once (a refusal is shown on the form as before) and
records a task; the service's worker (a nameko timer, ``PlansService.run_tasks``) does the
rest, and the plan page shows the task's state, which its status region polls.

- **Issuing stays one local transaction.** The worker renders the PDF, then commits the frozen
  version with ``plan.issued`` exactly as the ``issue`` RPC does (``lifecycle.commit_issue``),
  and marks the task done in that same transaction. The draft's hash when the person asked is
  kept: a draft changed since is refused, never issued unseen.
- **Two replicas.** A request inserts under the unique key (plan, kind), so two clicks make one
  task; the worker claims a due task with ``FOR UPDATE SKIP LOCKED`` and marks it running with
  a lease, so another replica skips it, and takes it over only if the lease ran out (a replica
  killed mid-render). A worker finishes or fails a task only while its claim is the task's
  (``started_at``), and ``commit_issue`` refuses a version already issued: issued once.
- **Failures.** A technical failure (the renderer) is retried with back-off
  (``RETRY_SECONDS`` doubling) up to ``MAX_ATTEMPTS``, then the task is failed; a refusal (the
  draft changed, the estimate no longer matches) fails at once. Either way the page says why,
  in French, and the person may ask again (« Réessayer »).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import aware, clock
from rac_shared.contracts.plans import TaskKind, TaskStatus
from rac_shared.errors import DomainError, not_found
from services.plans import access
from services.plans.drafts import canonical_hash
from services.plans.models import DRAFT, Plan, PlanTask

log = logging.getLogger(__name__)

ISSUE, PREVIEW = TaskKind.ISSUE.value, TaskKind.PREVIEW.value
QUEUED, RUNNING, DONE, FAILED = (s.value for s in TaskStatus)
PENDING = (QUEUED, RUNNING)
MAX_ATTEMPTS = 3
RETRY_SECONDS = 5  # then 10: a renderer that failed twice in a row is not retried at once
LEASE_SECONDS = 600  # far above a render; a replica killed mid-render is taken over after it

RUNNING_TEXT = {
    ISSUE: "Émission de la version {version} en cours…",
    PREVIEW: "Production de l'aperçu PDF de la version {version} en cours…",
}
QUEUED_TEXT = {
    ISSUE: "Émission de la version {version} demandée : elle commencera dans un instant.",
    PREVIEW: "Aperçu PDF de la version {version} demandé : il sera produit dans un instant.",
}
DONE_TEXT = {
    ISSUE: "La version {version} est émise.",
    PREVIEW: "L'aperçu PDF de la version {version} est prêt.",
}
# The issue freezes the version with its document's HTML (its PDF is rendered after the
# commit: ``lifecycle.render_pending``), so what fails it is not the PDF.
FAILED_WORK = {
    ISSUE: "Une erreur technique a empêché l'émission",
    PREVIEW: "Le PDF n'a pas pu être produit",
}
RETRYING_TEXT = (
    "{work} (essai {attempts} sur {max}) : nouvel essai automatique dans quelques secondes."
)
GAVE_UP_TEXT = (
    "{work} après {max} essais. Réessayez dans quelques minutes; si l'échec se répète, "
    "écrivez au soutien de la plateforme."
)


def _draft_hash(plan: Plan) -> str:
    return canonical_hash(plan.current.content)


def request(session: Session, actor: Actor, plan: Plan, kind: str) -> PlanTask:
    """Record the person's request (the checks are the caller's). A task already pending
    for this plan and kind is returned as it is: asking twice does the work once."""
    now = clock.now()
    fields = {
        "version": plan.current_version,
        "draft_hash": _draft_hash(plan),
        "actor": actor.model_dump(mode="json"),
        "status": QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_until": None,
        "error": None,
        "requested_at": now,
        "started_at": None,
        "finished_at": None,
        "result": None,
    }
    task = _locked(session, plan.id, kind)
    if task is None:
        try:
            with session.begin_nested():
                task = PlanTask(plan_id=plan.id, kind=kind, **fields)
                session.add(task)
                session.flush()
            return task
        except IntegrityError:  # another request inserted it first: that one stands
            task = _locked(session, plan.id, kind)
    if task.status in PENDING:
        return task
    for name, value in fields.items():
        setattr(task, name, value)
    session.flush()
    return task


def _locked(session: Session, plan_id: int, kind: str) -> PlanTask | None:
    return session.scalar(
        select(PlanTask).where(PlanTask.plan_id == plan_id, PlanTask.kind == kind).with_for_update()
    )


def claim(session: Session) -> PlanTask | None:
    """The next due task, marked running with a lease (the caller commits at once).
    Rows another replica holds are skipped; a running task whose lease ran out is due."""
    now = clock.now()
    task = session.scalar(
        select(PlanTask)
        .where(
            or_(
                and_(PlanTask.status == QUEUED, PlanTask.next_attempt_at <= now),
                and_(PlanTask.status == RUNNING, PlanTask.lease_until < now),
            )
        )
        .order_by(PlanTask.next_attempt_at, PlanTask.id)
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


def _still_mine(session: Session, task_id: int, claimed_at: datetime) -> PlanTask | None:
    task = session.scalar(select(PlanTask).where(PlanTask.id == task_id).with_for_update())
    if task is None or task.status != RUNNING or aware(task.started_at) != aware(claimed_at):
        return None  # another replica took it over (lease ran out): its outcome stands
    return task


def finish(
    session: Session,
    task_id: int,
    claimed_at: datetime,
    result: bytes | None = None,
    draft_hash: str | None = None,
) -> bool:
    """Mark the claimed task done (in the transaction that commits its work); a preview
    records the hash of the draft it rendered."""
    task = _still_mine(session, task_id, claimed_at)
    if task is None:
        return False
    if draft_hash is not None:
        task.draft_hash = draft_hash
    task.status = DONE
    task.finished_at = clock.now()
    task.lease_until = None
    task.error = None
    task.result = result
    session.flush()
    return True


def fail(session: Session, task_id: int, claimed_at: datetime, error: Exception) -> None:
    """A refusal fails the task at once with its message; anything else is retried with
    back-off, then failed."""
    task = _still_mine(session, task_id, claimed_at)
    if task is None:
        return
    now = clock.now()
    task.lease_until = None
    if isinstance(error, DomainError):
        task.status, task.error, task.finished_at = FAILED, error.message, now
    elif task.attempts < MAX_ATTEMPTS:
        task.status = QUEUED
        task.next_attempt_at = now + timedelta(seconds=RETRY_SECONDS * 2 ** (task.attempts - 1))
        task.error = RETRYING_TEXT.format(
            work=FAILED_WORK[task.kind], attempts=task.attempts, max=MAX_ATTEMPTS
        )
    else:
        task.status, task.finished_at = FAILED, now
        task.error = GAVE_UP_TEXT.format(work=FAILED_WORK[task.kind], max=MAX_ATTEMPTS)
    session.flush()


@dataclass(frozen=True)
class Claimed:
    """A claimed task, as the worker reads it outside the claim's transaction."""

    id: int
    plan_id: int
    kind: str
    version: int
    draft_hash: str
    actor: dict
    claimed_at: datetime

    def done(self, session: Session, result: bytes | None = None, draft_hash=None) -> bool:
        """Mark it done, in the transaction that commits the work."""
        return finish(session, self.id, self.claimed_at, result, draft_hash)


def run_one(db, work: Callable[[Claimed], None]) -> bool:
    """Claim one due task and do it: ``work(claimed)`` does the task's work and calls
    ``claimed.done(session, …)`` inside the transaction that commits it. A failure is
    recorded on the task (retried if it may be). False: nothing was due."""
    with db.begin():
        task = claim(db)
        if task is None:
            return False
        claimed = Claimed(
            task.id,
            task.plan_id,
            task.kind,
            task.version,
            task.draft_hash,
            dict(task.actor),
            task.started_at,
        )
    try:
        work(claimed)
    except Exception as error:  # recorded on the task, shown on the page, retried if it may
        if not isinstance(error, DomainError):
            log.exception(
                "plan task %s (%s of plan %s) failed", claimed.id, claimed.kind, claimed.plan_id
            )
        with db.begin():
            fail(db, claimed.id, claimed.claimed_at, error)
    return True


# -- what the page shows ---------------------------------------------------------------------


def view(task: PlanTask, plan: Plan) -> dict:
    status = TaskStatus(task.status)
    values = {"version": task.version}
    if task.status == RUNNING:
        message = RUNNING_TEXT[task.kind].format(**values)
    elif task.status == QUEUED:
        message = task.error or QUEUED_TEXT[task.kind].format(**values)
    elif task.status == DONE:
        message = DONE_TEXT[task.kind].format(**values)
    else:
        message = task.error or GAVE_UP_TEXT.format(work=FAILED_WORK[task.kind], max=MAX_ATTEMPTS)
    current = True
    if task.kind == PREVIEW:
        current = (
            plan.current_version == task.version
            and plan.current.status == DRAFT
            and _draft_hash(plan) == task.draft_hash
        )
    return {
        "kind": task.kind,
        "status": status,
        "status_label": status.label,
        "version": task.version,
        "attempts": task.attempts,
        "max_attempts": MAX_ATTEMPTS,
        "message": message,
        "requested_at": aware(task.requested_at),
        "finished_at": aware(task.finished_at),
        "pending": task.status in PENDING,
        "ready": task.status == DONE,
        "failed": task.status == FAILED,
        "current": current,
    }


def views_of(session: Session, plan: Plan) -> list[dict]:
    tasks = session.scalars(
        select(PlanTask).where(PlanTask.plan_id == plan.id).order_by(PlanTask.kind)
    )
    return [view(task, plan) for task in tasks]


def plan_tasks(session: Session, actor: Actor, plan_id: int) -> list[dict]:
    plan = access.load_for_institution(session, actor, plan_id)
    return views_of(session, plan)


def preview_of(session: Session, actor: Actor, plan_id: int) -> tuple[Plan, PlanTask]:
    plan = access.load_for_institution(session, actor, plan_id)
    task = session.scalar(
        select(PlanTask).where(
            PlanTask.plan_id == plan_id, PlanTask.kind == PREVIEW, PlanTask.status == DONE
        )
    )
    if task is None or task.result is None:
        raise not_found(
            "Aucun aperçu PDF n'a été produit pour ce plan : demandez-le depuis la page du plan."
        )
    return plan, task
