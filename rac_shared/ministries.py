"""The ministry responsible for the RAC, and its minister's title, as they were on a date.

A decision is the act of the minister in office on its date: a letter of 2013 is headed by
the Ministère de l'Éducation, du Loisir et du Sport (the seed's MELS) and signed « Pour la
ministre », not with today's name and an « la ou le ministre » of no one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Ministry:
    since: date
    name: str
    acronym: str
    minister: str  # « la ministre » / « le ministre », as the sentence and signature say it

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


def ministry_at(day: date | None) -> Ministry:
    """The ministry on ``day`` (today's when the date is unknown)."""
    if day is None:
        return MINISTRIES[-1]
    current = MINISTRIES[0]
    for ministry in MINISTRIES:
        if ministry.since <= day:
            current = ministry
    return current
