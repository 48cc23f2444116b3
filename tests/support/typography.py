"""Tests read rendered text as they write it: French typography (``rac_shared.french.typeset``)
puts no-break spaces before « : », inside « » and in « 23 h 59 », and narrow ones before
; ! ?. A test that matches words compares after ``ordinary_spaces``; the typography itself
is tested in ``tests/unit/test_french.py`` and by the French-quality tests."""

from __future__ import annotations

_NO_BREAK = str.maketrans({"\u00a0": " ", "\u202f": " "})


def ordinary_spaces(text: str) -> str:
    """``text`` with its no-break spaces (U+00A0, U+202F) as ordinary spaces."""
    return text.translate(_NO_BREAK)
