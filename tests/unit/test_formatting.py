"""fr_CA formatting as Babel writes it, and the one money rounding rule."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from rac_shared.clock import MONTREAL, end_of_day
from rac_shared.formatting import (
    filesize,
    long_date,
    long_datetime,
    money,
    round_money,
    short_datetime,
    short_decimal,
)

NBSP = "\xa0"


def test_money_uses_babel_fr_ca_non_breaking_spaces():
    assert money(Decimal("250000")) == "250\xa0000,00\xa0$"
    assert money(Decimal("0")) == "0,00\xa0$"
    assert money(Decimal("1234567.891")) == "1\xa0234\xa0567,89\xa0$"
    assert money(42) == "42,00\xa0$"
    assert money("19.995") == "20,00\xa0$"
    assert money(None) == ""


def test_money_spaces_are_non_breaking_not_plain_or_narrow():
    text = money(Decimal("250000"))
    assert " " not in text
    assert "\u202f" not in text
    assert text.count(NBSP) == 2


def test_money_negative_amounts():
    assert money(Decimal("-1234.5")) == "-1\xa0234,50\xa0$"
    assert money(-5) == "-5,00\xa0$"
    assert money(Decimal("-0.005")) == "-0,01\xa0$"


def test_money_refuses_float():
    with pytest.raises(TypeError):
        money(1.5)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("0.005"), Decimal("0.01")),
        (Decimal("0.004"), Decimal("0.00")),
        (Decimal("2.675"), Decimal("2.68")),  # the float 2.675 would round to 2.67
        (Decimal("2.665"), Decimal("2.67")),  # half up, not half even
        (Decimal("-0.005"), Decimal("-0.01")),
        (Decimal("-2.675"), Decimal("-2.68")),
        ("1.125", Decimal("1.13")),
        (7, Decimal("7.00")),
        (Decimal("1E+3"), Decimal("1000.00")),
    ],
)
def test_round_money_half_up(amount, expected):
    result = round_money(amount)
    assert result == expected
    assert isinstance(result, Decimal)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize("value", [0.005, 2.675, 1.0, float("nan")])
def test_round_money_refuses_float(value):
    with pytest.raises(TypeError):
        round_money(value)


def test_long_date():
    assert long_date(date(2012, 12, 21)) == "21 décembre 2012"
    assert long_date(date(2026, 8, 1)) == "1er août 2026"  # the ordinal, as French writes it
    assert long_date(None) == ""


def test_long_date_of_a_datetime_uses_montreal_date():
    # 03:00 UTC on New Year's Day is still 22:00 on 31 December in Montréal.
    assert long_date(datetime(2013, 1, 1, 3, 0, tzinfo=UTC)) == "31 décembre 2012"


def test_long_datetime_in_montreal_time():
    expected = "12 décembre 2026 à 23 h 59"
    assert long_datetime(datetime(2026, 12, 12, 23, 59, tzinfo=MONTREAL)) == expected
    assert long_datetime(datetime(2026, 12, 13, 4, 59, tzinfo=UTC)) == expected
    assert long_datetime(end_of_day(date(2026, 12, 12))) == expected
    assert long_datetime(datetime(2026, 7, 1, 13, 5, tzinfo=UTC)) == "1er juillet 2026 à 9 h 05"
    assert long_datetime(None) == ""


def test_short_datetime_in_montreal_time():
    assert short_datetime(datetime(2026, 12, 13, 4, 59, tzinfo=UTC)) == "2026-12-12 23:59"
    assert short_datetime(None) == ""


def test_measured_values_are_written_without_trailing_zeros():
    assert short_decimal(Decimal("2.50")) == "2,5"
    assert short_decimal("1250.00") == "1\xa0250"
    assert short_decimal(Decimal("12.25")) == "12,25"
    assert short_decimal(None) == "" and short_decimal("") == ""


def test_file_sizes_in_french_units_with_real_plurals():
    assert filesize(0) == "0 octet" and filesize(1) == "1 octet" and filesize(900) == "900 octets"
    assert filesize(2048) == "2 Ko"
    assert filesize(1572864) == "1,5 Mo"


def test_english_dates_and_money_of_the_courtesy_translation_are_babel_s_en_ca():
    from rac_shared.formatting import english_date, english_money, english_number

    assert english_money(Decimal("250000")) == "$250,000.00"
    assert english_money(Decimal("1450.005")) == "$1,450.01"  # the one rounding rule
    assert english_date(date(2026, 12, 1)) == "December 1, 2026"
    # An instant is dated in Montréal: 2 a.m. UTC on 2 December is still 1 December there.
    assert english_date(datetime(2026, 12, 2, 2, 0, tzinfo=UTC)) == "December 1, 2026"
    assert english_number("1500.50") == "1,500.5" and english_date(None) == ""


def test_every_vocabulary_of_the_plans_contract_has_english_labels():
    from rac_shared.contracts import billing, plans
    from rac_shared.contracts.base import Vocabulary

    # The pages' own vocabularies (a list's sorts, background work) never reach a document.
    pages_only = {plans.PlanSort, plans.TaskKind, plans.TaskStatus}
    vocabularies = [
        value
        for value in vars(plans).values()
        if isinstance(value, type)
        and issubclass(value, Vocabulary)
        and value is not Vocabulary
        and value not in pages_only
    ]
    assert len(vocabularies) >= 10
    vocabularies += [billing.LineCategory, billing.TaxTreatment, billing.Milestone]
    missing = [f"{v.__name__}.{m.name}" for v in vocabularies for m in v if not m.english]
    assert missing == []
    assert plans.StepKind.english_of("welcome_meeting") == "Welcome meeting"
    assert plans.Modality.english_of("inconnu") == "inconnu"  # unknown: the stored value
