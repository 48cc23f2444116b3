"""The small-cell rule (Loi 25): no count shown to an employer singles a person out."""

from __future__ import annotations

from itertools import product

from rac_shared.privacy import suppress_small_cells


def test_small_counts_are_withheld_and_zeros_and_large_ones_shown():
    assert suppress_small_cells([6, 0, 7, 5], 5) == [6, 0, 7, 5]
    assert suppress_small_cells([6, 2, 7, 3], 5) == [6, None, 7, None]


def test_a_single_withheld_cell_takes_another_with_it():
    assert suppress_small_cells([6, 1, 7, 0], 5) == [6, None, 7, None]
    assert suppress_small_cells([6, 1, 7], 5) == [None, None, 7]


def test_a_partition_whose_total_is_small_is_withheld_whole():
    assert suppress_small_cells([3, 0, 0], 5) == [None, None, None]


def test_no_withheld_cell_can_be_computed_from_the_total_and_the_shown_ones():
    """Exhaustively over small partitions: every withheld cell has at least one other
    withheld cell beside it (so the total minus the shown cells leaves an ambiguity)."""
    for cells in product(range(9), repeat=4):
        shown = suppress_small_cells(list(cells), 5)
        withheld = [i for i, c in enumerate(shown) if c is None]
        assert len(withheld) != 1, (cells, shown)
        for i, count in enumerate(cells):
            if 0 < count < 5:
                assert shown[i] is None, (cells, shown)


def test_a_threshold_of_one_withholds_nothing():
    assert suppress_small_cells([1, 2], 1) == [1, 2]
