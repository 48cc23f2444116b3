"""Issuing a plan as one local transaction, with a failure injected at each step.

The real plans and billing services run in this process (nameko's ``worker_factory``, each
on its own SQLite database; ``tests/unit/test_plans_pages.py``'s ``Site``), and events are
handed from one outbox to the other handler's entrypoint with the same JSON the bus would
carry. Issuing asks billing nothing: it reads the estimate snapshot the plans service keeps
(``estimate.saved``, or the reply when it saved the estimate), renders, and records
``plan.issued`` with the estimate's hash in one transaction; billing freezes that estimate
when it consumes ``plan.issued``. Whatever fails, plan and estimate stay consistent and the
draft stays editable.
"""

from __future__ import annotations

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from rac_shared.errors import DomainError
from services.billing.service import BillingService
from services.plans.estimates import keep
from services.plans.models import Base as PlansBase
from services.plans.models import EstimateSnapshot, PlanDocument
from services.plans.service import PlansService
from tests.unit.test_plans_pages import COORDINATOR, Directory, Site, a_plan

ESTIMATE = {
    "lines": [
        {"category": "evaluation", "description": "Frais d'évaluation", "quantity": "1",
         "unit_price": "1450.00"},
    ]
}  # fmt: skip


@pytest.fixture
def site(tmp_path, monkeypatch):
    return Site(tmp_path, monkeypatch)


def outbox_bodies(session, event_type: str) -> list[dict]:
    outbox = session.info["metadata"].tables["outbox"]
    rows = session.execute(
        select(outbox.c.body).where(outbox.c.event_type == event_type).order_by(outbox.c.id)
    )
    return [body for (body,) in rows]


def plans_events(site: Site, event_type: str) -> list[dict]:
    with site.service.sessions() as session:
        session.info["metadata"] = PlansBase.metadata
        return outbox_bodies(session, event_type)


def billing_events(site: Site, event_type: str) -> list[dict]:
    site.billing.session.commit()
    return outbox_bodies(site.billing.session, event_type)


def to_billing(site: Site, handler: str, body: dict) -> None:
    """``body`` delivered to billing's handler, committed as its entrypoint does."""
    session = site.billing.session
    worker = worker_factory(BillingService, db=session, gateway=Directory())
    session.commit()
    try:
        getattr(worker, handler)(body)
        session.commit()
    except Exception:
        session.rollback()
        raise


def to_plans(site: Site, handler: str, body: dict) -> None:
    session = site.service.sessions()
    try:
        getattr(worker_factory(PlansService, db=session), handler)(body)
    finally:
        session.close()


def estimate_status(site: Site, plan_id: int) -> str:
    return site.billing.get_estimate(
        actor=COORDINATOR.model_dump(mode="json"), plan_id=plan_id, version=1
    )["status"]


def plan_state(site: Site, plan_id: int) -> tuple[str, str, int]:
    view = site.rpc_("get_plan", plan_id=plan_id)
    with site.service.sessions() as session:
        documents = session.scalar(select(func.count(PlanDocument.id)))
    return view["plan"]["status"], view["version"]["status"], documents


class NoBilling:
    """Stands in for billing during the issue: any call is a failure of the test."""

    def __getattr__(self, method):
        raise AssertionError(f"issuing called billing.{method}")


def test_issuing_reads_the_kept_snapshot_and_billing_freezes_on_plan_issued_once(site):
    plan_id = a_plan(site)
    with pytest.raises(DomainError, match="Établissez l'estimation"):
        site.rpc_("issue", plan_id=plan_id)  # no estimate yet: nothing changes
    site.rpc_("save_estimate", plan_id=plan_id, estimate=ESTIMATE)
    [saved] = billing_events(site, "estimate.saved")
    with site.service.sessions() as session:
        kept = session.scalar(select(EstimateSnapshot))
        assert (kept.plan_id, kept.version, kept.revision) == (plan_id, 1, 1)
        assert kept.estimate_hash == saved["payload"]["snapshot"]["estimate_hash"]
        assert "estimation figée" in kept.document_html  # as the issued document reads

    site.service.billing = NoBilling()
    row = site.rpc_("issue", plan_id=plan_id)
    assert row["status"] == "issued"
    [issued] = plans_events(site, "plan.issued")
    assert issued["version"] == 2
    assert issued["payload"]["estimate_hash"] == kept.estimate_hash
    assert estimate_status(site, plan_id) == "draft"  # until billing consumes plan.issued

    to_billing(site, "on_plan_issued", issued)
    assert estimate_status(site, plan_id) == "frozen"
    to_billing(site, "on_plan_issued", issued)  # redelivered: nothing more
    assert estimate_status(site, plan_id) == "frozen"
    with pytest.raises(DomainError) as refused:  # billing refuses any later edit
        site.billing.save_estimate(
            actor=COORDINATOR.model_dump(mode="json"),
            plan={"plan_id": plan_id, "version": 1, "reference": row["reference"],
                  "institution_id": 2, "employer_id": 5, "candidate_count": 1},
            estimate=ESTIMATE,
        )  # fmt: skip
    assert refused.value.code == "conflict"


def fail(*args, **kwargs):
    raise RuntimeError("panne simulée")


@pytest.mark.parametrize(
    "step",
    ["services.plans.document.plan_html", "services.plans.lifecycle.record_event"],
    ids=["rendering", "recording-plan-issued"],
)
def test_a_failure_while_issuing_leaves_the_draft_editable_and_the_estimate_open(
    site, monkeypatch, step
):
    plan_id = a_plan(site)
    site.rpc_("save_estimate", plan_id=plan_id, estimate=ESTIMATE)
    with monkeypatch.context() as patched:
        patched.setattr(step, fail)
        with pytest.raises(RuntimeError, match="panne simulée"):
            site.rpc_("issue", plan_id=plan_id)
    assert plan_state(site, plan_id) == ("draft", "draft", 0)
    assert plans_events(site, "plan.issued") == []
    assert estimate_status(site, plan_id) == "draft"

    # Still a draft: edited, its estimate saved again, then issued.
    site.rpc_("update_draft", plan_id=plan_id, data={"closure_dates": ["2027-01-29"]})
    site.rpc_("save_estimate", plan_id=plan_id, estimate=ESTIMATE)
    assert site.rpc_("issue", plan_id=plan_id)["status"] == "issued"
    [issued] = plans_events(site, "plan.issued")
    to_billing(site, "on_plan_issued", issued)
    assert estimate_status(site, plan_id) == "frozen"


def test_a_failure_in_billing_s_handler_freezes_nothing_until_redelivered(site, monkeypatch):
    plan_id = a_plan(site)
    site.rpc_("save_estimate", plan_id=plan_id, estimate=ESTIMATE)
    site.rpc_("issue", plan_id=plan_id)
    [issued] = plans_events(site, "plan.issued")
    with monkeypatch.context() as patched:
        patched.setattr("services.billing.estimates.freeze_issued", fail)
        with pytest.raises(RuntimeError):
            to_billing(site, "on_plan_issued", issued)
    assert estimate_status(site, plan_id) == "draft"  # rolled back, event not marked
    to_billing(site, "on_plan_issued", issued)  # the retry
    assert estimate_status(site, plan_id) == "frozen"


def test_an_earlier_estimate_saved_arriving_late_does_not_replace_a_later_one(site):
    plan_id = a_plan(site)
    site.rpc_("save_estimate", plan_id=plan_id, estimate=ESTIMATE)
    later = {"lines": [{**ESTIMATE["lines"][0], "unit_price": "1500.00"}]}
    site.rpc_("save_estimate", plan_id=plan_id, estimate=later)
    first, second = billing_events(site, "estimate.saved")
    to_plans(site, "on_estimate_saved", second)
    to_plans(site, "on_estimate_saved", first)  # out of order
    with site.service.sessions() as session:
        kept = session.scalar(select(EstimateSnapshot))
    assert kept.revision == 2
    assert kept.estimate_hash == second["payload"]["snapshot"]["estimate_hash"]
    assert kept.estimate["subtotal"] == "1500.00"


def test_the_reply_and_the_event_of_one_save_kept_at_the_same_time_leave_one_snapshot(
    site, monkeypatch
):
    """``estimate.saved`` is handled while ``save_estimate`` keeps the reply of the same save
    (two workers): the second one looked before the first one's insert, so its own insert
    meets the unique key; it then finds that row and keeps it."""
    from services.plans import estimates

    plan_id = a_plan(site)
    site.rpc_("save_estimate", plan_id=plan_id, estimate=ESTIMATE)
    [saved] = billing_events(site, "estimate.saved")
    real_find, looks = estimates.find, []

    def find_before_the_other_insert(*args, **kwargs):
        looks.append(1)
        return None if len(looks) == 1 else real_find(*args, **kwargs)

    monkeypatch.setattr(estimates, "find", find_before_the_other_insert)
    with site.service.sessions() as session:
        kept = keep(session, saved["payload"]["snapshot"])
        session.commit()
        assert kept.revision == 1 and len(looks) == 2
        assert session.scalar(select(func.count(EstimateSnapshot.id))) == 1
