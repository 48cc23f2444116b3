"""Cost estimates of plan versions: save (draft), freeze, read, compare, render.

The plans service never computes money: it sends the lines and payment conditions of a
plan version here and shows what comes back. A draft estimate can be replaced as often as
needed; once the plan version is issued the estimate is frozen and never changes (an
amendment is a new plan version with its own estimate, compared with the accepted one).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from babel.numbers import format_decimal
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.contracts.billing import (
    EstimateSnapshot,
    EstimateSpec,
    EstimateStatus,
    EstimateView,
    InstallmentSpec,
    PlanRef,
    TaxTreatment,
    estimate_hash,
)
from rac_shared.errors import conflict, forbidden, invalid, not_found
from rac_shared.templating import make_environment
from services.billing import pricing as P
from services.billing.models import (
    DRAFT,
    FROZEN,
    BillingPlan,
    Estimate,
    EstimateInstallment,
    EstimateLine,
    Organisation,
    TaxRate,
)

templates = make_environment(Path(__file__).parent / "templates")

DEFAULT_INSTALLMENT = {
    "label": "Paiement unique",
    "percent": "100",
    "amount": None,
    "due": {"kind": "milestone", "milestone": "acceptance", "offset_days": 0},
}


# -- reference data ---------------------------------------------------------------------


def load_rates(session: Session) -> list[P.Rate]:
    rows = session.scalars(select(TaxRate)).all()
    if not rows:
        return list(P.DEFAULT_RATES)
    return [
        P.Rate(r.name, _clean(Decimal(r.rate)), r.valid_from, r.valid_to, bool(r.compounded))
        for r in rows
    ]


def _clean(rate: Decimal) -> Decimal:
    """``0.05000`` (a NUMERIC(8, 5) column) → ``0.05``: rates keep at least two decimals."""
    return max(
        rate.normalize(), rate.quantize(Decimal("0.01")), key=lambda d: -d.as_tuple().exponent
    )


def upsert_organisation(session: Session, view: dict) -> Organisation:
    """Keep billing's copy of a directory organisation (name, code, address) current."""
    organisation = session.get(Organisation, view["id"])
    if organisation is None:
        organisation = Organisation(id=view["id"])
        session.add(organisation)
    organisation.kind = view["kind"]
    organisation.code = view["code"]
    organisation.name = view["name"]
    organisation.address = view.get("address")
    organisation.updated_at = clock.now()
    return organisation


# -- access -----------------------------------------------------------------------------


def can_read(actor: Actor, institution_id: int, employer_id: int) -> bool:
    return actor.is_ministry or actor.organisation_id in (institution_id, employer_id)


def ensure_can_edit(actor: Actor, institution_id: int) -> None:
    if not actor.is_institution or actor.organisation_id != institution_id:
        raise forbidden(
            "Seul l'établissement qui propose le plan peut modifier son estimation des coûts."
        )


def find(session: Session, plan_id: int, version: int, lock: bool = False) -> Estimate | None:
    query = select(Estimate).where(Estimate.plan_id == plan_id, Estimate.version == version)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def visible_estimate(session: Session, actor: Actor, plan_id: int, version: int) -> Estimate:
    estimate = find(session, plan_id, version)
    if estimate is None or not can_read(actor, estimate.institution_id, estimate.employer_id):
        raise not_found("Estimation des coûts introuvable.")
    return estimate


# -- computing --------------------------------------------------------------------------


def _line_inputs(spec: EstimateSpec, candidate_count: int) -> list[P.LineIn]:
    lines, errors = [], {}
    for index, line in enumerate(spec.lines):
        quantity = line.quantity
        if line.category == "evaluation":
            quantity = Decimal(candidate_count)  # one evaluation fee per candidate-worker
        elif quantity <= 0:
            errors[f"lines.{index}.quantity"] = "La quantité doit être supérieure à zéro."
        lines.append(
            P.LineIn(
                line.category,
                line.description,
                quantity,
                line.unit or ("candidat-travailleur" if line.category == "evaluation" else ""),
                line.unit_price,
                line.tax,
            )
        )
    if errors:
        raise invalid("Certaines lignes de l'estimation sont invalides.", errors)
    return lines


def compute(
    spec: EstimateSpec, candidate_count: int, rates: list[P.Rate]
) -> tuple[P.Pricing, list[InstallmentSpec], list[P.Share]]:
    """Price the lines and split the schedule; raises ``invalid`` when they do not add up."""
    pricing = P.price_lines(_line_inputs(spec, candidate_count), rates)
    installments = spec.installments or [InstallmentSpec.model_validate(DEFAULT_INSTALLMENT)]
    shares = P.split_schedule(
        pricing, [P.InstallmentIn(i.label, i.percent, i.amount) for i in installments]
    )
    return pricing, installments, shares


def preview(session: Session, spec: EstimateSpec, candidate_count: int) -> dict:
    """The totals and installment amounts of an estimate, without saving anything."""
    rates = P.rates_on(load_rates(session), clock.today())
    pricing, installments, shares = compute(spec, candidate_count, rates)
    return {
        "lines": [_line_view(line) for line in pricing.lines],
        "subtotal": str(pricing.subtotal),
        "taxes": [_tax_view(t) for t in pricing.taxes],
        "total": str(pricing.total),
        "installments": [
            _installment_view_from_spec(spec_i, share)
            for spec_i, share in zip(installments, shares, strict=True)
        ],
    }


def pricing_of(estimate: Estimate) -> P.Pricing:
    lines = [
        P.PricedLine(
            line.category,
            line.description,
            Decimal(line.quantity),
            line.unit,
            Decimal(line.unit_price),
            line.tax,
            Decimal(line.amount),
        )
        for line in estimate.lines
    ]
    return P.Pricing(
        lines,
        Decimal(estimate.subtotal),
        Decimal(estimate.taxable_base),
        [P.TaxAmount.from_dict(t) for t in estimate.taxes],
        Decimal(estimate.total),
    )


# -- commands ---------------------------------------------------------------------------


def save_estimate(
    session: Session,
    actor: Actor,
    plan: PlanRef,
    spec: EstimateSpec,
    parties: dict | None = None,
) -> Estimate:
    """Create or replace the draft estimate of ``plan``'s version."""
    ensure_can_edit(actor, plan.institution_id)
    estimate = find(session, plan.plan_id, plan.version, lock=True)
    if estimate is not None and estimate.institution_id != plan.institution_id:
        raise not_found("Estimation des coûts introuvable.")
    if estimate is not None and estimate.status == FROZEN:
        raise conflict(
            f"L'estimation des coûts de la version {plan.version} est figée depuis l'émission "
            "du plan : elle ne peut plus être modifiée. Une modification passe par un avenant "
            "(nouvelle version du plan)."
        )
    today = clock.today()
    rates = P.rates_on(load_rates(session), today)
    pricing, installments, shares = compute(spec, plan.candidate_count, rates)
    if parties:
        for view in parties.values():
            upsert_organisation(session, view)
    now = clock.now()
    if estimate is None:
        estimate = Estimate(
            plan_id=plan.plan_id,
            version=plan.version,
            status=DRAFT,
            revision=0,
            created_at=now,
        )
        session.add(estimate)
    estimate.reference = plan.reference
    estimate.institution_id = plan.institution_id
    estimate.employer_id = plan.employer_id
    estimate.candidate_count = plan.candidate_count
    estimate.accepted_version = plan.accepted_version
    estimate.priced_on = today
    estimate.subtotal = pricing.subtotal
    estimate.taxable_base = pricing.taxable_base
    estimate.taxes = [t.as_dict() for t in pricing.taxes]
    estimate.total = pricing.total
    estimate.payment_term_days = spec.payment_term_days
    estimate.refund_conditions = spec.refund_conditions
    estimate.abandonment_fee = spec.abandonment_fee
    abandonment_lines = [line for line in spec.lines if line.category == "abandonment"]
    estimate.abandonment_fee_taxable = not abandonment_lines or any(
        line.tax == P.TAXABLE for line in abandonment_lines
    )
    estimate.revision = (estimate.revision or 0) + 1
    estimate.updated_at = now
    estimate.lines.clear()
    estimate.schedule.clear()
    session.flush()
    for position, line in enumerate(pricing.lines, start=1):
        estimate.lines.append(
            EstimateLine(
                position=position,
                category=line.category,
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                tax=line.tax,
                amount=line.amount,
            )
        )
    for position, (item, share) in enumerate(zip(installments, shares, strict=True), start=1):
        due = item.due
        estimate.schedule.append(
            EstimateInstallment(
                position=position,
                label=item.label,
                percent=item.percent,
                fixed_amount=item.amount,
                due_kind=due.kind,
                due_date=getattr(due, "date", None),
                milestone=getattr(due, "milestone", None),
                offset_days=getattr(due, "offset_days", 0),
                subtotal=share.subtotal,
                taxable_base=share.taxable_base,
                taxes=[t.as_dict() for t in share.taxes],
                amount=share.amount,
            )
        )
    try:
        session.flush()
    except IntegrityError:
        raise conflict("L'estimation vient d'être modifiée par ailleurs. Réessayez.") from None
    return estimate


def freeze_estimate(session: Session, actor: Actor, plan_id: int, version: int) -> Estimate:
    """Freeze the estimate of an issued plan version (idempotent)."""
    estimate = find(session, plan_id, version, lock=True)
    if estimate is None or not can_read(actor, estimate.institution_id, estimate.employer_id):
        raise not_found("Estimation des coûts introuvable.")
    ensure_can_edit(actor, estimate.institution_id)
    freeze(estimate)
    return estimate


def freeze(estimate: Estimate) -> None:
    if estimate.status == FROZEN:
        return
    if not any(not line.category == "abandonment" for line in estimate.lines):
        raise invalid("L'estimation des coûts ne contient aucune ligne : complétez-la d'abord.")
    estimate.status = FROZEN
    estimate.frozen_at = clock.now()


# -- views ------------------------------------------------------------------------------


def rate_label(rate: Decimal | str) -> str:
    percent = (Decimal(rate) * 100).normalize()
    return format(percent, "f").replace(".", ",") + " %"


def _tax_view(tax: P.TaxAmount) -> dict:
    return {
        "name": tax.name,
        "rate": str(tax.rate),
        "rate_label": rate_label(tax.rate),
        "base": str(tax.base),
        "amount": str(tax.amount),
    }


def quantity_text(value) -> str:
    """``Decimal('10.000')`` → ``'10'``, never ``1E+1`` (quantities in views and documents)."""
    return format(Decimal(value).normalize(), "f")


def quantity_label(value) -> str:
    """A quantity in French: ``0,5``, ``12``, ``1 250``."""
    return format_decimal(Decimal(value), format="#,##0.###", locale="fr_CA")


def _line_view(line) -> dict:
    return {
        "category": line.category,
        "category_label": P.CATEGORIES[line.category],
        "description": line.description,
        "quantity": quantity_text(line.quantity),
        "unit": line.unit,
        "unit_price": str(line.unit_price),
        "tax": line.tax,
        "amount": str(line.amount),
        "conditional": line.category in P.CONDITIONAL_CATEGORIES,
    }


def due_label(kind: str, day, milestone: str | None, offset_days: int) -> str:
    from rac_shared.formatting import long_date

    if kind == "date":
        return f"le {long_date(day)}"
    base = P.MILESTONES.get(milestone or "", milestone or "")
    if offset_days:
        return f"{offset_days} jour{'s' if offset_days > 1 else ''} après le jalon « {base} »"
    return base


def _installment_view_from_spec(item: InstallmentSpec, share: P.Share) -> dict:
    due = item.due.model_dump(mode="json")
    return {
        "label": item.label,
        "percent": str(item.percent) if item.percent is not None else None,
        "fixed_amount": str(item.amount) if item.amount is not None else None,
        "amount": str(share.amount),
        "subtotal": str(share.subtotal),
        "taxes": [_tax_view(t) for t in share.taxes],
        "due": due,
        "due_label": due_label(
            item.due.kind,
            getattr(item.due, "date", None),
            getattr(item.due, "milestone", None),
            getattr(item.due, "offset_days", 0),
        ),
    }


def _installment_view(item: EstimateInstallment) -> dict:
    if item.due_kind == "date":
        due = {"kind": "date", "date": item.due_date.isoformat()}
    else:
        due = {"kind": "milestone", "milestone": item.milestone, "offset_days": item.offset_days}
    return {
        "label": item.label,
        "percent": (
            format(Decimal(item.percent).normalize(), "f") if item.percent is not None else None
        ),
        "fixed_amount": str(item.fixed_amount) if item.fixed_amount is not None else None,
        "amount": str(item.amount),
        "subtotal": str(item.subtotal),
        "taxes": [_tax_view(P.TaxAmount.from_dict(t)) for t in item.taxes],
        "due": due,
        "due_label": due_label(item.due_kind, item.due_date, item.milestone, item.offset_days),
    }


def accepted_version_for(session: Session, estimate: Estimate) -> int | None:
    plan = session.get(BillingPlan, estimate.plan_id)
    candidates = [estimate.accepted_version]
    if plan is not None and plan.accepted_version is not None:
        candidates.append(plan.accepted_version)
    earlier = [v for v in candidates if v is not None and v < estimate.version]
    return max(earlier) if earlier else None


def difference(accepted: Estimate, revised: Estimate) -> dict:
    """Per category (conditional fees aside), subtotal and total: revised − accepted."""

    def by_category(estimate: Estimate) -> dict[str, Decimal]:
        sums: dict[str, Decimal] = {}
        for line in estimate.lines:
            if line.category in P.CONDITIONAL_CATEGORIES:
                continue
            sums[line.category] = sums.get(line.category, P.ZERO) + Decimal(line.amount)
        return sums

    before, after = by_category(accepted), by_category(revised)
    lines = []
    for category in P.CATEGORIES:
        if category not in before and category not in after:
            continue
        old, new = before.get(category, P.ZERO), after.get(category, P.ZERO)
        lines.append(
            {
                "category": category,
                "category_label": P.CATEGORIES[category],
                "accepted": str(old),
                "revised": str(new),
                "difference": str(new - old),
            }
        )
    return {
        "accepted_version": accepted.version,
        "accepted_subtotal": str(accepted.subtotal),
        "accepted_total": str(accepted.total),
        "subtotal": str(Decimal(revised.subtotal) - Decimal(accepted.subtotal)),
        "total": str(Decimal(revised.total) - Decimal(accepted.total)),
        "lines": lines,
    }


def estimate_view(session: Session, estimate: Estimate) -> dict:
    compared = None
    accepted_version = accepted_version_for(session, estimate)
    if accepted_version is not None:
        accepted = find(session, estimate.plan_id, accepted_version)
        if accepted is not None:
            compared = difference(accepted, estimate)
    return {
        "plan_id": estimate.plan_id,
        "version": estimate.version,
        "reference": estimate.reference,
        "institution_id": estimate.institution_id,
        "employer_id": estimate.employer_id,
        "candidate_count": estimate.candidate_count,
        "status": estimate.status,
        "priced_on": estimate.priced_on.isoformat(),
        "revision": estimate.revision,
        "lines": [_line_view(line) for line in estimate.lines],
        "subtotal": str(estimate.subtotal),
        "taxes": [_tax_view(P.TaxAmount.from_dict(t)) for t in estimate.taxes],
        "total": str(estimate.total),
        "installments": [_installment_view(i) for i in estimate.schedule],
        "payment_term_days": estimate.payment_term_days,
        "refund_conditions": estimate.refund_conditions,
        "abandonment_fee": str(estimate.abandonment_fee),
        "abandonment_fee_taxable": estimate.abandonment_fee_taxable,
        "difference_with_accepted": compared,
    }


def estimate_html(session: Session, estimate: Estimate, as_issued: bool = False) -> str:
    """An autoescaped ``<section>`` (French, fr_CA money) for the plan's PDF and pages;
    ``as_issued``: as the issued plan's document shows it (« Estimation figée »)."""
    view = estimate_view(session, estimate)
    if as_issued:
        view = {**view, "status": FROZEN}
    return templates.get_template("estimate.html.j2").render(
        estimate=view,
        dec=Decimal,
        as_date=date.fromisoformat,
        statuses=EstimateStatus.labels(),
        taxes=TaxTreatment.labels(),
    )


# -- the snapshot the plans service keeps (estimate.saved, plan.issued) ---------------------


def snapshot(session: Session, estimate: Estimate) -> dict:
    """The contract's ``EstimateSnapshot`` of ``estimate``, as JSON."""
    view = EstimateView.model_validate(estimate_view(session, estimate)).model_dump(mode="json")
    return EstimateSnapshot(
        estimate=view,
        document_html=estimate_html(session, estimate, as_issued=True),
        estimate_hash=estimate_hash(view),
    ).model_dump(mode="json")


def publish_saved(session: Session, estimate: Estimate) -> None:
    """``estimate.saved`` in the transaction that saved ``estimate``."""
    from rac_shared.events import EstimateSaved
    from rac_shared.outbox import record_event

    session.flush()
    record_event(
        session,
        EstimateSaved(
            plan_id=estimate.plan_id,
            version=estimate.version,
            revision=estimate.revision,
            snapshot=snapshot(session, estimate),
        ),
    )


def freeze_issued(session: Session, plan_id: int, version: int, issued_hash: str) -> bool:
    """The plan version was issued with the estimate whose hash is ``issued_hash``: freeze
    it (idempotent). From then on ``save_estimate`` refuses to change it. An estimate that
    changed after the snapshot the plan was issued with (its hash differs) is frozen all the
    same — the version is issued, nothing may change it — and the difference logged for
    the billing team. Returns whether the frozen estimate is the one issued."""
    import logging

    estimate = find(session, plan_id, version, lock=True)
    if estimate is None:
        logging.getLogger(__name__).warning(
            "plan %s v%s issued without an estimate in billing", plan_id, version
        )
        return False
    freeze(estimate)
    if not issued_hash:  # a version 1 publisher: nothing to compare
        return True
    view = EstimateView.model_validate(estimate_view(session, estimate)).model_dump(mode="json")
    same = estimate_hash(view) == issued_hash
    if not same:
        logging.getLogger(__name__).error(
            "plan %s v%s issued with another revision of its estimate than billing's "
            "(revision %s frozen)",
            plan_id,
            version,
            estimate.revision,
        )
    return same
