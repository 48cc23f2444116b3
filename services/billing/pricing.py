"""The arithmetic of estimates, schedules and credits: pure functions over ``Decimal``.

Rounding rule (the only one): each line is rounded once (quantity × unit price), each tax
once (its base × its rate); totals are exact sums of rounded amounts. An installment
schedule splits the total exactly: every installment but one is rounded, and the last one
takes the rounding remainder (the last percentage installment when the last one is a fixed
amount), so the installments always add up to the total to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from rac_shared.contracts.billing import LineCategory, Milestone, TaxTreatment
from rac_shared.errors import invalid
from rac_shared.formatting import money, round_money

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

CATEGORIES = LineCategory.labels()  # in the estimate's order
# Fees charged only if a candidate-worker abandons: shown, never in the estimated total.
CONDITIONAL_CATEGORIES = frozenset({"abandonment"})
# The work refunded pro rata when a candidate-worker abandons.
PRO_RATA_CATEGORIES = ("accompaniment", "evaluation")
TAXABLE = TaxTreatment.TAXABLE.value
EXEMPT = TaxTreatment.EXEMPT.value

MILESTONES = Milestone.labels()


@dataclass(frozen=True)
class Rate:
    name: str  # TPS | TVQ
    rate: Decimal
    valid_from: date
    valid_to: date | None = None  # exclusive
    compounded: bool = False  # on the price plus the taxes before it (TAX_ORDER)

    def applies_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


# The rates of Québec (Revenu Québec): GST 5 % since 1 January 2008; QST 7,5 % until
# 31 December 2010, 8,5 % in 2011 and 9,5 % in 2012, each on the price plus the GST, then
# 9,975 % on the price alone since 1 January 2013 (harmonisation). The billing database
# holds the same history (``tax_rates``) so that a new rate is a new row.
DEFAULT_RATES = (
    Rate("TPS", Decimal("0.05"), date(2008, 1, 1)),
    Rate("TVQ", Decimal("0.075"), date(2008, 1, 1), date(2011, 1, 1), compounded=True),
    Rate("TVQ", Decimal("0.085"), date(2011, 1, 1), date(2012, 1, 1), compounded=True),
    Rate("TVQ", Decimal("0.095"), date(2012, 1, 1), date(2013, 1, 1), compounded=True),
    Rate("TVQ", Decimal("0.09975"), date(2013, 1, 1)),
)
TAX_ORDER = ("TPS", "TVQ")


def rates_on(rates: list[Rate] | tuple[Rate, ...], day: date) -> list[Rate]:
    """The rate of each tax in force on ``day`` (TPS then TVQ)."""
    chosen: dict[str, Rate] = {}
    for rate in rates:
        if rate.applies_on(day):
            current = chosen.get(rate.name)
            if current is None or rate.valid_from > current.valid_from:
                chosen[rate.name] = rate
    missing = [name for name in TAX_ORDER if name not in chosen]
    if missing:
        raise invalid(
            f"Aucun taux de taxe en vigueur le {day.isoformat()} pour : {', '.join(missing)}."
        )
    return [chosen[name] for name in TAX_ORDER]


@dataclass(frozen=True)
class TaxAmount:
    name: str
    rate: Decimal
    base: Decimal
    amount: Decimal

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "rate": str(self.rate),
            "base": str(self.base),
            "amount": str(self.amount),
        }

    @classmethod
    def from_dict(cls, data: dict) -> TaxAmount:
        return cls(
            data["name"], Decimal(data["rate"]), Decimal(data["base"]), Decimal(data["amount"])
        )


@dataclass(frozen=True)
class LineIn:
    category: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    tax: str = TAXABLE


@dataclass(frozen=True)
class PricedLine:
    category: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    tax: str
    amount: Decimal

    @property
    def conditional(self) -> bool:
        return self.category in CONDITIONAL_CATEGORIES


@dataclass(frozen=True)
class Pricing:
    lines: list[PricedLine]
    subtotal: Decimal
    taxable_base: Decimal
    taxes: list[TaxAmount]
    total: Decimal

    @property
    def tax_total(self) -> Decimal:
        return sum((t.amount for t in self.taxes), ZERO)


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    return round_money(quantity * unit_price)


def compute_taxes(taxable_base: Decimal, rates: list[Rate]) -> list[TaxAmount]:
    """Each tax rounded once on the whole taxable base — plus the taxes before it (rounded)
    for a compounded rate, as the TVQ was on the price plus the TPS until 2012."""
    taxes: list[TaxAmount] = []
    for r in rates:
        base = taxable_base + sum((t.amount for t in taxes), ZERO) if r.compounded else taxable_base
        taxes.append(TaxAmount(r.name, r.rate, base, round_money(base * r.rate)))
    return taxes


def price_lines(lines: list[LineIn], rates: list[Rate]) -> Pricing:
    priced = [
        PricedLine(
            line.category,
            line.description,
            line.quantity,
            line.unit,
            line.unit_price,
            line.tax,
            line_amount(line.quantity, line.unit_price),
        )
        for line in lines
    ]
    counted = [p for p in priced if not p.conditional]
    subtotal = sum((p.amount for p in counted), ZERO)
    taxable_base = sum((p.amount for p in counted if p.tax == TAXABLE), ZERO)
    taxes = compute_taxes(taxable_base, rates)
    return Pricing(priced, subtotal, taxable_base, taxes, subtotal + sum(t.amount for t in taxes))


# -- installment schedules -------------------------------------------------------------


@dataclass(frozen=True)
class InstallmentIn:
    label: str
    percent: Decimal | None
    amount: Decimal | None


@dataclass
class Share:
    """An installment's part of the estimate, split into its components."""

    amount: Decimal
    subtotal: Decimal
    taxable_base: Decimal
    taxes: list[TaxAmount] = field(default_factory=list)


def _percent(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.replace(".", ",") + " %"


def split_schedule(pricing: Pricing, installments: list[InstallmentIn]) -> list[Share]:
    """The amount of each installment, adding up exactly to ``pricing.total``.

    Refused (French ``invalid`` error, nothing computed) when the percentages and amounts do
    not add up to exactly 100 % of the total.
    """
    if not installments:
        raise invalid("Indiquez au moins un versement.")
    total = pricing.total
    errors: dict[str, str] = {}
    for index, item in enumerate(installments):
        key = f"installments.{index}"
        if (item.percent is None) == (item.amount is None):
            errors[key] = "Indiquez soit un pourcentage, soit un montant."
        elif item.percent is not None and not (ZERO < item.percent <= HUNDRED):
            errors[key] = "Le pourcentage doit être supérieur à 0 et au plus 100."
        elif item.amount is not None and item.amount <= ZERO:
            errors[key] = "Le montant d'un versement doit être positif."
    if errors:
        raise invalid("Les versements sont invalides.", errors)
    percent_sum = sum((i.percent for i in installments if i.percent is not None), Decimal(0))
    amount_sum = sum((i.amount for i in installments if i.amount is not None), ZERO)
    exact = total * percent_sum / HUNDRED + amount_sum
    if exact != total:
        has_percent = any(i.percent is not None for i in installments)
        has_amount = any(i.amount is not None for i in installments)
        if has_percent and not has_amount:
            message = (
                f"Les versements totalisent {_percent(percent_sum)} : ils doivent totaliser "
                "exactement 100 %."
            )
        elif has_amount and not has_percent:
            message = (
                f"Les versements totalisent {money(amount_sum)}, alors que l'estimation s'élève "
                f"à {money(total)} (écart : {money(total - amount_sum)})."
            )
        else:
            message = (
                f"Les versements ({_percent(percent_sum)} du total et {money(amount_sum)}) ne "
                f"totalisent pas exactement le total de l'estimation, {money(total)}."
            )
        raise invalid(message, {"installments": message})

    # The installment taking the rounding remainder: the last one expressed in percent.
    percent_positions = [i for i, item in enumerate(installments) if item.percent is not None]
    remainder_at = percent_positions[-1] if percent_positions else len(installments) - 1
    amounts: list[Decimal] = []
    for item in installments:
        if item.amount is not None:
            amounts.append(round_money(item.amount))
        else:
            amounts.append(round_money(total * item.percent / HUNDRED))
    amounts[remainder_at] = total - (sum(amounts, ZERO) - amounts[remainder_at])
    return split_components(pricing, amounts)


def split_components(pricing: Pricing, amounts: list[Decimal]) -> list[Share]:
    """Split each installment amount into subtotal, taxable base and taxes.

    Each tax's share is rounded in proportion (amount / total); the subtotal absorbs the
    rounding so that subtotal + taxes is the installment amount; the last installment takes
    every component's remainder, so that shares add up to the estimate component by
    component.
    """
    total = pricing.total
    shares: list[Share] = []
    for index, amount in enumerate(amounts):
        last = index == len(amounts) - 1
        if last:
            taxes = [
                TaxAmount(
                    tax.name,
                    tax.rate,
                    tax.base - sum((s.taxes[k].base for s in shares), ZERO),
                    tax.amount - sum((s.taxes[k].amount for s in shares), ZERO),
                )
                for k, tax in enumerate(pricing.taxes)
            ]
            subtotal = pricing.subtotal - sum((s.subtotal for s in shares), ZERO)
            taxable = pricing.taxable_base - sum((s.taxable_base for s in shares), ZERO)
            shares.append(Share(amount, subtotal, taxable, taxes))
            continue
        ratio = amount / total if total else ZERO
        tax_amounts = [round_money(tax.amount * ratio) for tax in pricing.taxes]
        subtotal = amount - sum(tax_amounts, ZERO)
        if pricing.taxable_base == pricing.subtotal:
            taxable = subtotal
        else:
            taxable = min(round_money(pricing.taxable_base * ratio), subtotal)
        shares.append(
            Share(
                amount,
                subtotal,
                taxable,
                [
                    TaxAmount(
                        tax.name,
                        tax.rate,
                        # a compounded tax's base is the price plus the taxes before it
                        taxable
                        if tax.base == pricing.taxable_base
                        else taxable + sum(tax_amounts[:k], ZERO),
                        tax_amounts[k],
                    )
                    for k, tax in enumerate(pricing.taxes)
                ],
            )
        )
    return shares


def retax(share_taxable_base: Decimal, subtotal: Decimal, rates: list[Rate]) -> tuple:
    """Taxes of an installment at other rates (a rate changed between estimate and
    invoice): ``(taxes, total)``, each tax rounded once on the installment's taxable base."""
    taxes = compute_taxes(share_taxable_base, rates)
    return taxes, subtotal + sum((t.amount for t in taxes), ZERO)


def same_rates(taxes: list[TaxAmount], rates: list[Rate]) -> bool:
    return [(t.name, t.rate) for t in taxes] == [(r.name, r.rate) for r in rates]


# -- credits ---------------------------------------------------------------------------


def pro_rata_lines(
    lines: list[PricedLine], candidate_count: int, work_done_ratio: Decimal
) -> list[LineIn]:
    """The part of one candidate-worker's accompaniment and evaluation not done.

    Per estimate line: (line amount / number of candidates) × (1 − work done), rounded once
    as a credit line (quantity 1).
    """
    if candidate_count <= 0:
        return []
    not_done = Decimal(1) - work_done_ratio
    credit_lines = []
    for line in lines:
        if line.category not in PRO_RATA_CATEGORIES or line.amount == ZERO:
            continue
        amount = round_money(line.amount / candidate_count * not_done)
        if amount <= ZERO:
            continue
        credit_lines.append(
            LineIn(
                line.category,
                f"{line.description} — part non réalisée ({_percent(not_done * HUNDRED)}) "
                f"pour une personne sur {candidate_count}",
                Decimal(1),
                "forfait",
                amount,
                line.tax,
            )
        )
    return credit_lines
