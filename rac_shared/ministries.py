"""The ministry responsible for the RAC, and its minister's title, as they were on a date.

A decision is the act of the minister in office on its date: a letter of 2013 is headed by
the Ministère de l'Éducation, du Loisir et du Sport (the seed's MELS) and signed « Pour la
ministre », not with today's name and an « la ou le ministre » of no one.

``MINISTRIES`` is the table as the platform ships it; the ministry's administrator corrects
or completes it (the scoring service keeps those periods, ``/comites/ministeres``): a period
they record replaces the shipped one that starts on the same day (``merged``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Ministry:
    since: date
    name: str
    acronym: str
    minister: str  # « la ministre » / « le ministre », as the sentence and signature say it
    edited: bool = False  # recorded by the ministry rather than shipped with the platform

    @property
    def Minister(self) -> str:  # noqa: N802 (a sentence's start)
        return self.minister[:1].upper() + self.minister[1:]


MINISTRIES = (
    Ministry(date(2005, 2, 18), "Ministère de l'Éducation, du Loisir et du Sport", "MELS",
             "le ministre"),
    Ministry(date(2007, 4, 18), "Ministère de l'Éducation, du Loisir et du Sport", "MELS",
             "la ministre"),
    Ministry(date(2014, 4, 23),
             "Ministère de l'Éducation, de l'Enseignement supérieur et de la Recherche",
             "MEESR", "le ministre"),
    Ministry(date(2016, 2, 22), "Ministère de l'Éducation et de l'Enseignement supérieur",
             "MEES", "le ministre"),
    Ministry(date(2020, 6, 22), "Ministère de l'Enseignement supérieur", "MES", "la ministre"),
)  # fmt: skip


def merged(edited: Iterable[Ministry]) -> tuple[Ministry, ...]:
    """The shipped table with the ministry's periods, which replace a shipped period that
    starts on the same day; by starting date."""
    by_day = {m.since: m for m in MINISTRIES}
    by_day.update({m.since: m for m in edited})
    return tuple(sorted(by_day.values(), key=lambda m: m.since))


def ministry_at(day: date | None, table: Iterable[Ministry] = MINISTRIES) -> Ministry:
    """The ministry on ``day`` (today's when the date is unknown) in ``table``."""
    periods = sorted(table, key=lambda m: m.since)
    if day is None:
        return periods[-1]
    current = periods[0]
    for ministry in periods:
        if ministry.since <= day:
            current = ministry
    return current
