"""French (fr_CA) formatting for pages, e-mails and documents, and the one money rounding rule;
English (en_CA) dates and money for the plan's courtesy translation only."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from rac_shared.clock import MONTREAL

LOCALE = "fr_CA"
CENT = Decimal("0.01")


def round_money(amount: Decimal | int | str) -> Decimal:
    """Round to the cent, half up: the only place money is rounded."""
    if isinstance(amount, float):
        raise TypeError("money must never be a float")
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def money(amount: Decimal | int | str | None) -> str:
    """``Decimal('250000')`` → ``'250 000,00 $'`` (non-breaking spaces, as Babel writes fr_CA)."""
    if amount is None:
        return ""
    return format_currency(round_money(amount), "CAD", locale=LOCALE)


def number(value: Decimal | int, digits: int = 2) -> str:
    return format_decimal(
        value, format="#,##0." + "0" * digits if digits else "#,##0", locale=LOCALE
    )


def long_date(value: date | datetime | None) -> str:
    """``21 décembre 2012``, and ``1er décembre 2026`` for the first of a month (the
    ordinal, as French writes it; Babel's pattern has no such field)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(MONTREAL).date()
    if value.day == 1:
        return "1er " + format_date(value, "MMMM y", locale=LOCALE)
    return format_date(value, "d MMMM y", locale=LOCALE)


def long_datetime(value: datetime | None) -> str:
    """``21 décembre 2012 à 23 h 59`` in Montréal time."""
    if value is None:
        return ""
    local = value.astimezone(MONTREAL)
    return f"{long_date(local)} à {local.hour} h {local.minute:02d}"


def short_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_datetime(value.astimezone(MONTREAL), "yyyy-MM-dd HH:mm", locale=LOCALE)


def when(value: date | datetime | str | None) -> str:
    """A date (``21 décembre 2012``) or an instant (``21 décembre 2012 à 23 h 59``), also
    from ISO text."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return long_datetime(value)
    return long_date(value)


def short_decimal(value: Decimal | int | str | None) -> str:
    """A measured value as people write it: ``Decimal("1250.50")`` → ``1 250,5`` (no
    trailing zeros), for indicators and the fields that show them again."""
    if value is None or value == "":
        return ""
    return format_decimal(Decimal(value), format="#,##0.##", locale=LOCALE)


def filesize(size: int | None) -> str:
    """``2048`` → ``2 Ko``; ``1 572 864`` → ``1,5 Mo``."""
    if not size:
        return "0 octet"
    if size < 1024:
        return f"{size} octet" if size == 1 else f"{size} octets"
    if size < 1024 * 1024:
        return f"{number(Decimal(size) / 1024, 0)} Ko"
    return f"{number(Decimal(size) / (1024 * 1024), 1)} Mo"


# -- English (en_CA): the courtesy translation of a plan, never a page --------------------

ENGLISH = "en_CA"


def english_money(amount: Decimal | int | str | None) -> str:
    """``Decimal('250000')`` → ``'$250,000.00'`` (Babel's en_CA)."""
    if amount is None:
        return ""
    return format_currency(round_money(amount), "CAD", locale=ENGLISH)


def english_date(value: date | datetime | None) -> str:
    """``December 1, 2026`` (Babel's en_CA long date), in Montréal time for an instant."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(MONTREAL).date()
    return format_date(value, "long", locale=ENGLISH)


def english_number(value: Decimal | int | str | None) -> str:
    if value is None or value == "":
        return ""
    return format_decimal(Decimal(str(value)), locale=ENGLISH)


JINJA_FILTERS = {
    "when": when,
    "money": money,
    "long_date": long_date,
    "long_datetime": long_datetime,
    "short_datetime": short_datetime,
    "number": number,
    "short_decimal": short_decimal,
    "filesize": filesize,
    "english_money": english_money,
    "english_date": english_date,
    "english_number": english_number,
}
