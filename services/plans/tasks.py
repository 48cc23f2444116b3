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
The claiming, the lease, the retries and the French failure messages are the shared
mechanism's (``rac_shared/tasks.py``); this module adds the plan's own columns and texts.

- **Failures.** A technical failure (the renderer) is retried with back-off
  (``RETRY_SECONDS`` doubling) up to ``MAX_ATTEMPTS``, then the task is failed; a refusal (the
  draft changed, the estimate no longer matches) fails at once. Either way the page says why,
  in French, and the person may ask again (« Réessayer »).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared import tasks as shared
from rac_shared.actor import Actor
from rac_shared.contracts.plans import TaskKind
from rac_shared.errors import not_found
from services.plans import access
from services.plans.drafts import canonical_hash
from services.plans.models import DRAFT, Plan, PlanTask

ISSUE, PREVIEW, PDF = TaskKind.ISSUE.value, TaskKind.PREVIEW.value, TaskKind.PDF.value
QUEUED, RUNNING, DONE, FAILED = shared.QUEUED, shared.RUNNING, shared.DONE, shared.FAILED
PENDING = shared.PENDING
MAX_ATTEMPTS, LEASE_SECONDS = shared.MAX_ATTEMPTS, shared.LEASE_SECONDS

RUNNING_TEXT = {
    ISSUE: "Émission de la version {version} en cours…",
    PREVIEW: "Production de l'aperçu PDF de la version {version} en cours…",
    PDF: "Production du PDF de la version {version} émise en cours…",
}
QUEUED_TEXT = {
    ISSUE: "Émission de la version {version} demandée : elle commencera dans un instant.",
    PREVIEW: "Aperçu PDF de la version {version} demandé : il sera produit dans un instant.",
    PDF: "PDF de la version {version} émise en préparation : il sera prêt dans un instant.",
}
DONE_TEXT = {
    ISSUE: "La version {version} est émise.",
    PREVIEW: "L'aperçu PDF de la version {version} est prêt.",
    PDF: "Le PDF de la version {version} émise est prêt.",
}
# The issue freezes the version with its document's HTML; its PDF is rendered after the
# commit (``lifecycle.render_pending``) by a task of its own, so what fails it is not the PDF.
FAILED_WORK = {
    ISSUE: "Une erreur technique a empêché l'émission",
    PREVIEW: "Le PDF n'a pas pu être produit",
    PDF: "Le PDF de la version émise n'a pas pu être produit",
}


def _draft_hash(plan: Plan) -> str:
    return canonical_hash(plan.current.content)


def request(session: Session, actor: Actor, plan: Plan, kind: str) -> PlanTask:
    """Record the person's request (the checks are the caller's). A task already pending
    for this plan and kind is returned as it is: asking twice does the work once."""
    fields = {
        "version": plan.current_version,
        "draft_hash": _draft_hash(plan),
        "result": None,
        **shared.fresh(actor.model_dump(mode="json")),
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
    return shared.claim(session, PlanTask)


def finish(
    session: Session,
    task_id: int,
    claimed_at: datetime,
    result: bytes | None = None,
    draft_hash: str | None = None,
) -> bool:
    """Mark the claimed task done (in the transaction that commits its work); a preview
    records the hash of the draft it rendered."""
    task = shared.finish(session, PlanTask, task_id, claimed_at)
    if task is None:
        return False
    if draft_hash is not None:
        task.draft_hash = draft_hash
    task.result = result
    session.flush()
    return True


def fail(session: Session, task_id: int, claimed_at: datetime, error: Exception) -> None:
    """A refusal fails the task at once with its message; anything else is retried with
    back-off, then failed (``rac_shared.tasks.fail``)."""
    task = session.get(PlanTask, task_id)
    work = FAILED_WORK[task.kind] if task is not None else ""
    shared.fail(session, PlanTask, task_id, claimed_at, error, work)


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


def _read(task: PlanTask) -> Claimed:
    return Claimed(
        task.id,
        task.plan_id,
        task.kind,
        task.version,
        task.draft_hash,
        dict(task.actor),
        task.started_at,
    )


def run_one(db, work: Callable[[Claimed], None]) -> bool:
    """Claim one due task and do it: ``work(claimed)`` does the task's work and calls
    ``claimed.done(session, …)`` inside the transaction that commits it. A failure is
    recorded on the task (retried if it may be). False: nothing was due."""
    return shared.run_one(db, PlanTask, _read, work, FAILED_WORK.__getitem__)


# -- what the page shows ---------------------------------------------------------------------


def view(task: PlanTask, plan: Plan) -> dict:
    values = {"version": task.version}
    state = shared.state(
        task,
        running=RUNNING_TEXT[task.kind].format(**values),
        queued=QUEUED_TEXT[task.kind].format(**values),
        done=DONE_TEXT[task.kind].format(**values),
        work=FAILED_WORK[task.kind],
    )
    current = True
    if task.kind == PREVIEW:
        current = (
            plan.current_version == task.version
            and plan.current.status == DRAFT
            and _draft_hash(plan) == task.draft_hash
        )
    return {**state, "version": task.version, "current": current}


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
