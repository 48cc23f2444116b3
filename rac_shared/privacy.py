"""The platform's Loi 25 rule for figures shown to people who do not see the names.

An employer follows its candidate-workers' démarche as counts only; but a count of 1 or 2
next to the names in the plan says who abandoned, who is missing a training. So every
count below ``Settings.small_cell_threshold`` (5 by default) that is not zero is withheld
(shown « moins de 5 »); when a partition's total is known (the candidate-workers of a
plan), a single withheld cell could be computed from the others, so the smallest other
cell is withheld too (complementary suppression); and a partition whose total is itself
below the threshold is withheld whole, zeros included (« 0 » next to « moins de 5 » would
say where everybody is).
"""

from __future__ import annotations


def suppress_small_cells(cells: list[int], threshold: int) -> list[int | None]:
    """``cells`` (a partition of a known total) with ``None`` for every withheld count."""
    if threshold <= 1:
        return list(cells)
    if sum(cells) < threshold:
        return [None] * len(cells)
    shown: list[int | None] = [None if 0 < c < threshold else c for c in cells]
    withheld = [i for i, c in enumerate(shown) if c is None]
    if len(withheld) == 1:
        others = [i for i, c in enumerate(shown) if c is not None]
        if others:
            smallest = min(others, key=lambda i: (cells[i], i))
            shown[smallest] = None
    return shown


def withheld_label(threshold: int) -> str:
    return f"moins de {threshold}"
