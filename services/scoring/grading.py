"""The arithmetic of the evaluation, as pure functions over ``Decimal`` (no database).

A call's grid gives each criterion a weight in points (the grid adds up to 100) and a
passing threshold in points. Evaluators score each criterion on the criterion's own scale,
from 0 to its weight, in steps of half a point: the weighted total on 100 is then the sum
of the criterion scores.

One rounding rule (``round_score``): a consolidated criterion score is the mean of the
evaluators' scores rounded to the hundredth, half up; totals add rounded scores (exact),
and thresholds are compared with exactly the numbers that are shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from rac_shared.contracts.scoring import MAX_PER_ORDER
from rac_shared.errors import conflict, invalid
from rac_shared.french import enumeration

HUNDREDTH = Decimal("0.01")
SCORE_STEP = Decimal("0.5")
DEFAULT_MIN_EVALUATORS = 2
DEFAULT_SPREAD_GAP_PERCENT = Decimal("20")
MIN_JUSTIFICATION = 20  # characters of a ministerial or consensus justification
SCORE_PATTERN = re.compile(r"-?\d{1,4}(?:[.,]\d{1,4})?")  # 12 | 12,5 | 12.5 | -1

QUALITE, PERTINENCE = "qualite", "pertinence"
GROUP_LABELS = {
    QUALITE: "Qualité du service de RAC offert au cours des cinq dernières années",
    PERTINENCE: "Pertinence du projet d'intervention proposé",
}
ORDER_LABELS = {"secondaire": "secondaire", "collégial": "collégial"}


def round_score(value: Decimal | int | str) -> Decimal:
    """Round a score to the hundredth, half up: the only place scores are rounded."""
    if isinstance(value, float):
        raise TypeError("scores must never be floats")
    return Decimal(value).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def points(value: Decimal | None) -> str:
    """French display of a score: ``12,5`` / ``12`` / ``13,33``."""
    if value is None:
        return "—"
    text = f"{round_score(value):f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


@dataclass(frozen=True)
class GridCriterion:
    """One criterion of the grid as the scoring service keeps it."""

    id: int
    group: str
    label: str
    weight: int
    threshold: int
    position: int = 0


# -- scores ------------------------------------------------------------------------------


def parse_score(raw: object) -> Decimal | None:
    """A score typed by a person (``12,5``, ``12.5``, ``12``) as a Decimal; None when
    blank. Raises ``ValueError`` for anything that is not a finite number."""
    if raw is None:
        return None
    if isinstance(raw, float):
        raw = repr(raw)
    text = str(raw).strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    if not text:
        return None
    if not SCORE_PATTERN.fullmatch(text):
        raise ValueError(text[:40])
    return Decimal(text.replace(",", "."))


def scale_problem(criterion: GridCriterion, value: Decimal) -> str | None:
    """Why ``value`` is not a valid score for ``criterion`` (None when it is)."""
    if value < 0 or value > criterion.weight:
        return (
            f"La note doit être comprise entre 0 et {criterion.weight} points "
            f"(pondération du critère)."
        )
    if value % SCORE_STEP != 0:
        return "La note se donne par demi-point (par exemple 12 ou 12,5)."
    return None


def check_scores(
    grid: Sequence[GridCriterion],
    entries: Mapping[int, tuple[object, str]],
    complete: bool,
) -> dict[int, tuple[Decimal | None, str]]:
    """Validate an evaluator's scores ``{criterion_id: (raw score, comment)}``.

    A draft (``complete=False``) may leave criteria blank; a submission needs every
    criterion scored with a comment. Raises ``invalid`` with one French message per field
    (``note-<id>``, ``commentaire-<id>``); returns the parsed scores.
    """
    by_id = {c.id: c for c in grid}
    unknown = sorted(set(entries) - set(by_id))
    if unknown:
        raise invalid(
            "La grille de cet appel ne comporte pas ce critère.",
            {f"note-{i}": "Critère inconnu." for i in unknown},
        )
    errors: dict[str, str] = {}
    parsed: dict[int, tuple[Decimal | None, str]] = {}
    for criterion in grid:
        raw, comment = entries.get(criterion.id, (None, ""))
        comment = (comment or "").strip()
        try:
            value = parse_score(raw)
        except ValueError:
            errors[f"note-{criterion.id}"] = "Inscrivez un nombre (par exemple 12 ou 12,5)."
            continue
        if value is not None:
            problem = scale_problem(criterion, value)
            if problem:
                errors[f"note-{criterion.id}"] = problem
                continue
        if complete and value is None:
            errors[f"note-{criterion.id}"] = "Chaque critère doit être noté avant la soumission."
        if complete and not comment:
            errors[f"commentaire-{criterion.id}"] = "Un commentaire justifie chaque note."
        if len(comment) > 4000:
            errors[f"commentaire-{criterion.id}"] = "Le commentaire dépasse 4 000 caractères."
        parsed[criterion.id] = (value, comment)
    if errors:
        first = next(iter(errors.values()))
        message = (
            "Certaines notes sont hors de l'échelle de la grille ou incomplètes."
            if len(errors) > 1
            else first
        )
        raise invalid(message, errors)
    return parsed


# -- consolidation -----------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionOutcome:
    criterion: GridCriterion
    scores: tuple[Decimal, ...]  # each evaluator's score, in the evaluators' order
    mean: Decimal  # rounded
    consensus: Decimal | None
    score: Decimal  # the consensus when recorded, else the mean
    met: bool  # score >= threshold
    spread: Decimal  # highest minus lowest evaluator score
    flagged: bool  # spread above the committee's gap


@dataclass(frozen=True)
class Consolidation:
    criteria: tuple[CriterionOutcome, ...]
    total: Decimal  # weighted total on 100
    pertinence_total: Decimal
    overall_threshold: Decimal
    meets_every_criterion: bool
    meets_overall: bool

    @property
    def qualified(self) -> bool:
        return self.meets_every_criterion and self.meets_overall

    @property
    def flagged(self) -> bool:
        return any(c.flagged for c in self.criteria)

    @property
    def failed(self) -> list[GridCriterion]:
        return [c.criterion for c in self.criteria if not c.met]


def default_overall_threshold(grid: Iterable[GridCriterion]) -> Decimal:
    """Unless the committee sets another, the overall threshold is the sum of the
    criterion thresholds."""
    return Decimal(sum(c.threshold for c in grid))


def spread_gap(criterion: GridCriterion, gap_percent: Decimal) -> Decimal:
    """The largest spread tolerated between evaluators, in points of this criterion."""
    return Decimal(criterion.weight) * Decimal(gap_percent) / Decimal(100)


def consolidate(
    grid: Sequence[GridCriterion],
    evaluations: Sequence[Mapping[int, Decimal]],
    consensus: Mapping[int, Decimal] | None = None,
    overall_threshold: Decimal | None = None,
    gap_percent: Decimal = DEFAULT_SPREAD_GAP_PERCENT,
) -> Consolidation:
    """Consolidate the submitted evaluations of one application.

    ``evaluations`` is one ``{criterion_id: score}`` per evaluator (complete). The
    consolidated score of a criterion is the rounded mean, unless the committee recorded a
    consensus score for it. A criterion whose evaluators differ by more than
    ``gap_percent`` of its weight is flagged for discussion (even when a consensus exists:
    the flag says that the evaluators disagreed).
    """
    if not evaluations:
        raise ValueError("nothing to consolidate")
    consensus = consensus or {}
    outcomes = []
    for criterion in sorted(grid, key=lambda c: (c.position, c.id)):
        scores = tuple(Decimal(e[criterion.id]) for e in evaluations)
        mean = round_score(sum(scores, Decimal(0)) / len(scores))
        agreed = consensus.get(criterion.id)
        score = round_score(agreed) if agreed is not None else mean
        spread = max(scores) - min(scores)
        outcomes.append(
            CriterionOutcome(
                criterion=criterion,
                scores=scores,
                mean=mean,
                consensus=round_score(agreed) if agreed is not None else None,
                score=score,
                met=score >= criterion.threshold,
                spread=spread,
                flagged=spread > spread_gap(criterion, gap_percent),
            )
        )
    total = sum((o.score for o in outcomes), Decimal("0.00"))
    pertinence = sum(
        (o.score for o in outcomes if o.criterion.group == PERTINENCE), Decimal("0.00")
    )
    threshold = (
        Decimal(overall_threshold)
        if overall_threshold is not None
        else default_overall_threshold(grid)
    )
    return Consolidation(
        criteria=tuple(outcomes),
        total=total,
        pertinence_total=pertinence,
        overall_threshold=threshold,
        meets_every_criterion=all(o.met for o in outcomes),
        meets_overall=total >= threshold,
    )


def check_consensus(criterion: GridCriterion, raw: object, justification: str) -> Decimal:
    """A consensus score agreed by the committee: on the criterion's scale, justified."""
    try:
        value = parse_score(raw)
    except ValueError:
        value = None
        problem = "Inscrivez un nombre (par exemple 12 ou 12,5)."
    else:
        problem = None if value is not None else "Inscrivez la note de consensus."
    if value is not None:
        problem = scale_problem(criterion, value)
    errors = {}
    if problem:
        errors["score"] = problem
    if len((justification or "").strip()) < MIN_JUSTIFICATION:
        errors["justification"] = (
            f"Justifiez la note de consensus ({MIN_JUSTIFICATION} caractères au moins)."
        )
    if errors:
        raise invalid(next(iter(errors.values())), errors)
    return value


# -- ranking and designation -------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A consolidated application, as the ranking sees it."""

    key: int
    education_order: str
    name: str
    total: Decimal
    pertinence_total: Decimal
    qualified: bool


@dataclass(frozen=True)
class Placed:
    key: int
    rank: int  # 1, 2, 2, 4… (equal totals and pertinence share a rank)
    tie: bool  # same total and same pertinence as another: for the committee to settle
    broken_by_pertinence: bool  # same total as a neighbour, separated by pertinence
    proposed: bool  # among the (at most) three the service proposes
    tie_at_cut: bool  # tied across the third place: the proposal needs the committee


def rank(candidates: Iterable[Candidate]) -> dict[str, list[Placed]]:
    """Per education order, the qualified applications by weighted total, ties broken by
    the pertinence total, remaining ties flagged; the first three are proposed."""
    by_order: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        if candidate.qualified:
            by_order.setdefault(candidate.education_order, []).append(candidate)
    result: dict[str, list[Placed]] = {}
    for order, members in sorted(by_order.items()):
        members.sort(key=lambda c: (-c.total, -c.pertinence_total, c.name.casefold(), c.key))
        signature = [(c.total, c.pertinence_total) for c in members]
        placed = []
        for index, candidate in enumerate(members):
            first = signature.index(signature[index])
            tied = signature.count(signature[index]) > 1
            same_total = [c for c in members if c.total == candidate.total and c is not candidate]
            broken = any(c.pertinence_total != candidate.pertinence_total for c in same_total)
            cut = (
                tied
                and len(members) > MAX_PER_ORDER
                and first < MAX_PER_ORDER <= first + signature.count(signature[index]) - 1
            )
            placed.append(
                Placed(
                    key=candidate.key,
                    rank=first + 1,
                    tie=tied,
                    broken_by_pertinence=broken,
                    proposed=index < MAX_PER_ORDER,
                    tie_at_cut=cut,
                )
            )
        result[order] = placed
    return result


def order_phrase(order: str) -> str:
    return f"l'ordre d'enseignement {ORDER_LABELS.get(order, order)}"


def check_designation(
    education_order: str,
    designated_names: Sequence[str],
    qualified: bool,
    justification: str,
) -> None:
    """May one more application of ``education_order`` be designated?

    Never more than three per order; an application that failed a threshold only with a
    ministerial justification (which the caller logs).
    """
    if len(designated_names) >= MAX_PER_ORDER:
        raise conflict(
            f"Un maximum de trois établissements par ordre d'enseignement peut être désigné : "
            f"{order_phrase(education_order)} compte déjà trois CERAC désignés "
            f"({enumeration(designated_names)}). La désignation est refusée.",
            {"education_order": education_order, "designated": list(designated_names)},
        )
    if not qualified and len((justification or "").strip()) < MIN_JUSTIFICATION:
        raise invalid(
            "Cette demande n'atteint pas tous les seuils de réussite : sa désignation n'est "
            "possible qu'avec une justification ministérielle, qui sera consignée.",
            {
                "justification": f"Inscrivez la justification ministérielle "
                f"({MIN_JUSTIFICATION} caractères au moins)."
            },
        )


def check_recommendation(education_order: str, keys: Sequence[int]) -> None:
    if len(keys) > MAX_PER_ORDER:
        raise invalid(
            f"Le comité peut recommander au plus trois établissements pour "
            f"{order_phrase(education_order)} ({len(keys)} choisis).",
            {"evaluation_ids": "Trois établissements au maximum."},
        )
    if len(set(keys)) != len(keys):
        raise invalid("Un même établissement est choisi deux fois.")
