"""Billing arithmetic: rounding once per line and once per tax, dated rates, schedules that
add up to the cent, pro rata credits, fiscal years and input parsing (pure functions)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest

from rac_shared.contracts.base import parse
from rac_shared.contracts.billing import EstimateSpec, PaymentIn
from rac_shared.errors import DomainError
from services.billing import pricing as P
from services.billing.numbering import document_number, fiscal_year

D = Decimal
RATES_2026 = P.rates_on(P.DEFAULT_RATES, date(2026, 9, 1))


def line(quantity: str, price: str, tax: str = "taxable", category: str = "other") -> P.LineIn:
    return P.LineIn(category, "Ligne", D(quantity), "u", D(price), tax)


def pct(value: str) -> P.InstallmentIn:
    return P.InstallmentIn("Versement", D(value), None)


def amt(value: str) -> P.InstallmentIn:
    return P.InstallmentIn("Versement", None, D(value))


# -- lines and taxes ---------------------------------------------------------------------


def test_three_times_333_33_with_both_taxes():
    pricing = P.price_lines([line("3", "333.33")], RATES_2026)
    assert pricing.lines[0].amount == D("999.99")
    assert pricing.subtotal == D("999.99")
    tps, tvq = pricing.taxes
    assert (tps.name, tps.amount) == ("TPS", D("50.00"))  # 49.9995 → 50.00
    assert (tvq.name, tvq.amount) == ("TVQ", D("99.75"))  # 99.749002… → 99.75
    assert pricing.total == D("1149.74")


def test_each_line_is_rounded_once_half_up():
    pricing = P.price_lines([line("1.5", "33.33"), line("0.333", "10.00")], RATES_2026)
    assert [p.amount for p in pricing.lines] == [D("50.00"), D("3.33")]  # 49.995 → 50.00
    assert pricing.subtotal == D("53.33")


def test_each_tax_is_rounded_once_on_the_whole_base_not_per_line():
    # Per line, 0.10 × 5 % = 0.005 would round to 0.01 three times (0.03).
    pricing = P.price_lines([line("1", "0.10")] * 3, RATES_2026)
    assert pricing.taxes[0].base == D("0.30")
    assert pricing.taxes[0].amount == D("0.02")  # 0.015 → 0.02, once
    assert pricing.taxes[1].amount == D("0.03")  # 0.029925 → 0.03


def test_exempt_lines_carry_no_tax_and_abandonment_fees_are_not_in_the_total():
    pricing = P.price_lines(
        [
            line("1", "1000.00"),
            line("3", "1200.00", tax="exempt", category="evaluation"),
            line("1", "250.00", category="abandonment"),
        ],
        RATES_2026,
    )
    assert pricing.subtotal == D("4600.00")
    assert pricing.taxable_base == D("1000.00")
    assert [t.amount for t in pricing.taxes] == [D("50.00"), D("99.75")]
    assert pricing.total == D("4749.75")
    assert pricing.lines[2].conditional and pricing.lines[2].amount == D("250.00")


def test_rates_are_chosen_by_date():
    rates = [*P.DEFAULT_RATES, P.Rate("TVQ", D("0.10"), date(2027, 1, 1))]
    assert [r.rate for r in P.rates_on(rates, date(2026, 12, 31))] == [D("0.05"), D("0.09975")]
    assert [r.rate for r in P.rates_on(rates, date(2027, 1, 1))] == [D("0.05"), D("0.10")]
    with pytest.raises(DomainError, match="Aucun taux de taxe en vigueur"):
        P.rates_on(P.DEFAULT_RATES, date(2007, 12, 31))  # the history starts in 2008


# Revenu Québec's published rates, on each side of every change since 2008: (day, TPS, TVQ,
# TVQ on the price plus the TPS).
RATE_BOUNDARIES = [
    (date(2008, 1, 1), "0.05", "0.075", True),
    (date(2010, 12, 31), "0.05", "0.075", True),
    (date(2011, 1, 1), "0.05", "0.085", True),
    (date(2011, 12, 31), "0.05", "0.085", True),
    (date(2012, 1, 1), "0.05", "0.095", True),
    (date(2012, 12, 31), "0.05", "0.095", True),
    (date(2013, 1, 1), "0.05", "0.09975", False),
]


@pytest.mark.parametrize(("day", "gst", "qst", "compounded"), RATE_BOUNDARIES)
def test_the_rates_in_force_on_each_side_of_every_change(day, gst, qst, compounded):
    tps, tvq = P.rates_on(P.DEFAULT_RATES, day)
    assert (tps.name, tps.rate, tps.compounded) == ("TPS", D(gst), False)
    assert (tvq.name, tvq.rate, tvq.compounded) == ("TVQ", D(qst), compounded)


@pytest.fixture(scope="module")
def migrated_rates(tmp_path_factory) -> list[P.Rate]:
    """The ``tax_rates`` rows billing's migrations write (the service reads them, not
    ``DEFAULT_RATES``, once they exist), on a SQLite database of their own."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from rac import registry
    from rac_shared.migrations import upgrade
    from services.billing.estimates import load_rates

    url = f"sqlite:///{tmp_path_factory.mktemp('billing') / 'billing.db'}"
    upgrade("billing", registry.service("billing").migrations, url)
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return load_rates(session)
    finally:
        engine.dispose()


def test_the_migrated_rates_are_the_published_history(migrated_rates):
    key = lambda r: (r.name, r.valid_from)  # noqa: E731
    assert sorted(migrated_rates, key=key) == sorted(P.DEFAULT_RATES, key=key)


@pytest.mark.parametrize(("day", "gst", "qst", "compounded"), RATE_BOUNDARIES)
def test_the_migrated_rates_in_force_on_each_side_of_every_change(
    migrated_rates, day, gst, qst, compounded
):
    tps, tvq = P.rates_on(migrated_rates, day)
    assert (tps.rate, tvq.rate, tvq.compounded) == (D(gst), D(qst), compounded)
    with pytest.raises(DomainError, match="Aucun taux de taxe en vigueur"):
        P.rates_on(migrated_rates, date(2007, 12, 31))


@pytest.mark.parametrize(
    ("day", "tvq_base", "tvq"),
    [
        (date(2010, 12, 31), "1050.00", "78.75"),  # 7,5 % of (1 000 + 50)
        (date(2011, 1, 1), "1050.00", "89.25"),  # 8,5 %
        (date(2012, 12, 31), "1050.00", "99.75"),  # 9,5 %
        (date(2013, 1, 1), "1000.00", "99.75"),  # 9,975 % of the price alone
    ],
)
def test_the_tvq_is_on_the_price_plus_the_tps_until_2012_then_on_the_price_alone(
    day, tvq_base, tvq
):
    pricing = P.price_lines([line("1", "1000.00")], P.rates_on(P.DEFAULT_RATES, day))
    tps, qst = pricing.taxes
    assert (tps.base, tps.amount) == (D("1000.00"), D("50.00"))
    assert (qst.base, qst.amount) == (D(tvq_base), D(tvq))
    assert pricing.total == D("1050.00") + D(tvq)


def test_a_schedule_split_at_compounded_rates_adds_up_tax_by_tax_and_base_by_base():
    pricing = P.price_lines(
        [line("3", "333.33"), line("2", "1450.00", tax="exempt", category="evaluation")],
        P.rates_on(P.DEFAULT_RATES, date(2012, 12, 21)),
    )
    shares = P.split_schedule(pricing, [pct("40"), pct("30"), pct("30")])
    assert sum(s.amount for s in shares) == pricing.total
    for k, tax in enumerate(pricing.taxes):
        assert sum(s.taxes[k].amount for s in shares) == tax.amount
        assert sum(s.taxes[k].base for s in shares) == tax.base
    for share in shares:  # the TVQ's base is the share's price plus its TPS
        tps, tvq = share.taxes
        assert tvq.base == share.taxable_base + tps.amount


def test_same_rates_and_retax():
    shares = P.split_schedule(P.price_lines([line("1", "100.00")], RATES_2026), [pct("100")])
    assert P.same_rates(shares[0].taxes, RATES_2026)
    new_rates = [P.Rate("TPS", D("0.05"), date(2008, 1, 1)), P.Rate("TVQ", D("0.10"), date.min)]
    assert not P.same_rates(shares[0].taxes, new_rates)
    taxes, total = P.retax(D("100.00"), D("100.00"), new_rates)
    assert [t.amount for t in taxes] == [D("5.00"), D("10.00")] and total == D("115.00")


# -- installment schedules ------------------------------------------------------------------


def test_thirds_in_percent_add_up_exactly_the_last_takes_the_remainder():
    pricing = P.price_lines([line("3", "333.33")], RATES_2026)  # total 1149.74
    shares = P.split_schedule(pricing, [pct("33.33"), pct("33.33"), pct("33.34")])
    assert [s.amount for s in shares] == [D("383.21"), D("383.21"), D("383.32")]
    assert sum(s.amount for s in shares) == D("1149.74")


def test_equal_percentages_of_an_odd_total():
    pricing = P.price_lines([line("1", "100.01", tax="exempt")], RATES_2026)
    shares = P.split_schedule(pricing, [pct("50"), pct("50")])
    assert [s.amount for s in shares] == [D("50.01"), D("50.00")]  # 50.005 rounds up once


def test_amounts_must_add_up_to_the_cent():
    pricing = P.price_lines([line("3", "333.33")], RATES_2026)
    shares = P.split_schedule(pricing, [amt("383.25"), amt("383.25"), amt("383.24")])
    assert [s.amount for s in shares] == [D("383.25"), D("383.25"), D("383.24")]
    with pytest.raises(DomainError) as error:
        P.split_schedule(pricing, [amt("383.25"), amt("383.25"), amt("383.25")])
    assert "1\xa0149,75\xa0$" in error.value.message
    assert "1\xa0149,74\xa0$" in error.value.message
    assert "écart" in error.value.message


@pytest.mark.parametrize(
    ("percents", "shown"),
    [(["60", "50"], "110 %"), (["33.3333", "33.3333", "33.3333"], "99,9999 %"), (["90"], "90 %")],
)
def test_percentages_not_adding_to_100_are_refused_with_the_sum(percents, shown):
    pricing = P.price_lines([line("1", "1000.00")], RATES_2026)
    with pytest.raises(DomainError) as error:
        P.split_schedule(pricing, [pct(p) for p in percents])
    assert error.value.code == "invalid"
    assert f"totalisent {shown}" in error.value.message
    assert "exactement 100 %" in error.value.message


def test_mixed_amounts_and_percentages():
    pricing = P.price_lines([line("1", "1000.00", tax="exempt")], RATES_2026)
    shares = P.split_schedule(pricing, [amt("250.00"), pct("75")])
    assert [s.amount for s in shares] == [D("250.00"), D("750.00")]
    with pytest.raises(DomainError, match="ne totalisent pas exactement"):
        P.split_schedule(pricing, [amt("250.00"), pct("80")])


def test_each_installment_is_a_percentage_or_an_amount_and_positive():
    pricing = P.price_lines([line("1", "1000.00")], RATES_2026)
    for bad in (
        [P.InstallmentIn("x", D("50"), D("10.00")), pct("50")],
        [P.InstallmentIn("x", None, None)],
        [pct("0"), pct("100")],
        [pct("-10"), pct("110")],
        [amt("-5.00")],
    ):
        with pytest.raises(DomainError):
            P.split_schedule(pricing, bad)
    with pytest.raises(DomainError, match="au moins un versement"):
        P.split_schedule(pricing, [])


def test_shares_add_up_component_by_component_on_random_estimates():
    rng = random.Random(20261123)
    for _ in range(300):
        lines = [
            line(
                str(rng.choice(["1", "2", "3", "7", "12.5", "0.333"])),
                f"{rng.randint(1, 500000) / 100:.2f}",
                tax=rng.choice(["taxable", "taxable", "exempt"]),
            )
            for _ in range(rng.randint(1, 6))
        ]
        pricing = P.price_lines(lines, RATES_2026)
        count = rng.randint(1, 7)
        cuts = sorted(rng.sample(range(1, 10000), count - 1))
        bounds = [0, *cuts, 10000]
        schedule = [pct(str(D(b - a) / 100)) for a, b in zip(bounds, bounds[1:], strict=False)]
        shares = P.split_schedule(pricing, schedule)
        assert sum(s.amount for s in shares) == pricing.total
        assert sum(s.subtotal for s in shares) == pricing.subtotal
        assert sum(s.taxable_base for s in shares) == pricing.taxable_base
        for k, tax in enumerate(pricing.taxes):
            assert sum(s.taxes[k].amount for s in shares) == tax.amount
        for share in shares:
            assert share.amount == share.subtotal + sum(t.amount for t in share.taxes)
            assert share.amount == share.amount.quantize(D("0.01"))
            assert share.subtotal >= 0


# -- credits --------------------------------------------------------------------------------


def test_pro_rata_credit_of_one_candidate_out_of_three():
    pricing = P.price_lines(
        [
            line("12", "95.00", category="advisory"),
            line("30", "85.00", category="accompaniment"),
            line("3", "1200.00", tax="exempt", category="evaluation"),
        ],
        RATES_2026,
    )
    credit = P.pro_rata_lines(pricing.lines, 3, D("0.4"))
    assert [(c.category, c.unit_price, c.tax) for c in credit] == [
        ("accompaniment", D("510.00"), "taxable"),  # 2550 / 3 × 60 %
        ("evaluation", D("720.00"), "exempt"),  # 3600 / 3 × 60 %
    ]
    priced = P.price_lines(credit, RATES_2026)
    assert [t.amount for t in priced.taxes] == [D("25.50"), D("50.87")]
    assert priced.total == D("1306.37")
    assert "60 %" in credit[0].description
    assert P.pro_rata_lines(pricing.lines, 3, D("1")) == []  # all work done: nothing back
    assert P.pro_rata_lines(pricing.lines, 0, D("0")) == []


def test_pro_rata_credit_rounds_awkward_shares_once_per_line():
    pricing = P.price_lines([line("1", "1000.00", category="accompaniment")], RATES_2026)
    [credit] = P.pro_rata_lines(pricing.lines, 3, D("0.5"))
    assert credit.unit_price == D("166.67")  # 1000 / 3 × 0.5 = 166.666…


# -- fiscal years and numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2026, 6, 30), 2025),
        (date(2026, 7, 1), 2026),
        (date(2026, 12, 31), 2026),
        (date(2027, 1, 1), 2026),
        (date(2027, 6, 30), 2026),
        (date(2027, 7, 1), 2027),
    ],
)
def test_fiscal_year_runs_from_1_july_to_30_june(day, year):
    assert fiscal_year(day) == year


def test_document_numbers():
    assert document_number("CLV", 2026, 1) == "CLV-2026-0001"
    assert document_number("CLV", 2026, 12345) == "CLV-2026-12345"
    assert document_number("CLV", 2026, 7, "credit_note") == "CLV-NC-2026-0007"


# -- inputs -----------------------------------------------------------------------------------


def _spec(**line_values) -> dict:
    base = {
        "category": "advisory",
        "description": "Conseil",
        "quantity": "1",
        "unit": "h",
        "unit_price": "10.00",
        "tax": "taxable",
    }
    return {"lines": [{**base, **line_values}]}


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"unit_price": "-10.00"}, "lines.0.unit_price", "négatif"),
        ({"unit_price": "dix dollars"}, "lines.0.unit_price", "n'est pas un montant"),
        ({"unit_price": 10.5}, "lines.0.unit_price", "jamais un nombre flottant"),
        ({"unit_price": "10.001"}, "lines.0.unit_price", "au plus 2 décimales"),
        ({"unit_price": "NaN"}, "lines.0.unit_price", "n'est pas un montant"),
        ({"quantity": "-1"}, "lines.0.quantity", "négative"),
        ({"category": "cadeau"}, "lines.0.category", "n'est pas permise"),
        ({"tax": "tvh"}, "lines.0.tax", "n'est pas permise"),
    ],
)
def test_bad_amounts_are_refused_with_french_messages(values, field, message):
    with pytest.raises(DomainError) as error:
        parse(EstimateSpec, _spec(**values))
    assert error.value.code == "invalid"
    assert message in error.value.details[field]


def test_french_amounts_are_understood():
    spec = parse(EstimateSpec, _spec(unit_price="1\u00a0234,50 $"))
    assert spec.lines[0].unit_price == D("1234.50")
    payment = parse(PaymentIn, {"paid_on": "2026-10-01", "amount": "12", "method": "cheque"})
    assert str(payment.amount) == "12.00"
    with pytest.raises(DomainError) as error:
        parse(PaymentIn, {"paid_on": "2026-10-01", "amount": "0", "method": "cheque"})
    assert "supérieur à zéro" in error.value.details["amount"]
    with pytest.raises(DomainError) as error:
        parse(PaymentIn, {"paid_on": "hier", "amount": "5", "method": "bitcoin"})
    assert set(error.value.details) == {"paid_on", "method"}
