"""Billing's estimates as this service keeps them: the latest snapshot per plan version.

Billing publishes ``estimate.saved`` each time it saves an estimate (and this service keeps
the reply of ``estimate_snapshot`` when it saved one itself), so issuing a version reads
everything it needs here, in its own transaction: the estimate, its section of the document
and its hash, which ``plan.issued`` carries back to billing. A snapshot never goes back to
an earlier revision, whatever order the event and the reply arrive in.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.clock import clock
from rac_shared.contracts.billing import EstimateSnapshot
from services.plans.models import EstimateSnapshot as SnapshotRow


def find(session: Session, plan_id: int, version: int, lock: bool = False) -> SnapshotRow | None:
    query = select(SnapshotRow).where(
        SnapshotRow.plan_id == plan_id, SnapshotRow.version == version
    )
    return session.scalar(query.with_for_update() if lock else query)


def keep(session: Session, snapshot: dict) -> SnapshotRow:
    """Store ``snapshot`` (the contract's ``EstimateSnapshot``) unless a later revision of
    the same version is already here. The event and the reply of the same save may arrive
    at the same time (two workers, two replicas): the first insert wins, the other updates
    under the row's lock, and only toward a later revision."""
    parsed = EstimateSnapshot.model_validate(snapshot)
    estimate = parsed.estimate
    row = find(session, estimate.plan_id, estimate.version, lock=True)
    if row is None:
        try:
            with session.begin_nested():
                row = SnapshotRow(plan_id=estimate.plan_id, version=estimate.version)
                _fill(row, parsed)
                session.add(row)
                session.flush()
            return row
        except IntegrityError:  # kept by the other one meanwhile
            row = find(session, estimate.plan_id, estimate.version, lock=True)
    if row.revision < estimate.revision:
        _fill(row, parsed)
        session.flush()
    return row


def _fill(row: SnapshotRow, parsed: EstimateSnapshot) -> None:
    row.revision = parsed.estimate.revision
    row.estimate_hash = parsed.estimate_hash
    row.candidate_count = parsed.estimate.candidate_count
    row.estimate = parsed.estimate.model_dump(mode="json")
    row.document_html = parsed.document_html
    row.received_at = clock.now()
