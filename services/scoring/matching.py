"""Conflicts of interest and the bulk assignment of evaluators: pure functions (no session,
no clock), so that the same facts always give the same answer.

A conflict holds between an evaluator and an application when the evaluator's organisation
is the applicant, when the evaluator declared a link with the applicant (a former employer,
a partner), or when a conflict was recorded on the committee (declared by the evaluator or
recorded by the ministry's administrator). Institutions are named by their key
(``records.org_key``: the directory id, or ``nom:…`` for a record kept outside the
platform).

The bulk assignment gives every application ``per_application`` evaluators in all (the
ones already assigned count), never one in conflict, and keeps the committee's load as even
as it can: the most constrained applications are served first, each by the least loaded
evaluators free of conflict, then assignments move from the most to the least loaded while
their loads differ by more than one. When an application cannot be served, nothing is
proposed and each reason is given in French.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rac_shared.french import named, plural


@dataclass(frozen=True)
class Evaluator:
    user_id: int
    name: str
    organisation_key: str | None = None  # None: the ministry's own, or unknown
    organisation_name: str = ""


@dataclass(frozen=True)
class Link:
    """A link an evaluator declared with an institution (« ancien employeur »)."""

    user_id: int
    organisation_key: str
    organisation_name: str
    kind_label: str


@dataclass(frozen=True)
class Declared:
    """A conflict recorded on the committee, with its nature."""

    user_id: int
    organisation_key: str
    reason: str


@dataclass(frozen=True)
class Application:
    id: int
    reference: str
    organisation_key: str
    organisation_name: str
    assigned: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Proposal:
    per_application: int
    pairs: tuple[tuple[int, int], ...] = ()  # (application id, evaluator user id), new ones
    loads_before: Mapping[int, int] = field(default_factory=dict)
    loads: Mapping[int, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def feasible(self) -> bool:
        return not self.problems

    @property
    def fingerprint(self) -> str:
        """What the preview showed, so that saving refuses a proposal that changed since."""
        text = ";".join(f"{a}:{u}" for a, u in sorted(self.pairs))
        return hashlib.sha256(f"{self.per_application}|{text}".encode()).hexdigest()[:16]


def conflict_reason(
    evaluator: Evaluator,
    organisation_key: str,
    organisation_name: str,
    links: Iterable[Link] = (),
    declared: Iterable[Declared] = (),
) -> str | None:
    """Why ``evaluator`` may not evaluate an application of that institution (None: free)."""
    institution = named(organisation_name or evaluator.organisation_name)
    if evaluator.organisation_key is not None and evaluator.organisation_key == organisation_key:
        return f"Membre du personnel {institution.du}, qui dépose la demande"
    for link in links:
        if link.user_id == evaluator.user_id and link.organisation_key == organisation_key:
            return f"Lien déclaré avec {named(link.organisation_name).le} : {link.kind_label}"
    for record in declared:
        if record.user_id == evaluator.user_id and record.organisation_key == organisation_key:
            return f"Conflit consigné : {record.reason}"
    return None


def detect(
    evaluators: Iterable[Evaluator],
    applications: Iterable[Application],
    links: Iterable[Link] = (),
    declared: Iterable[Declared] = (),
) -> dict[tuple[int, int], str]:
    """Every conflicted (evaluator user id, application id) pair, with its reason."""
    links, declared = list(links), list(declared)
    found = {}
    for application in applications:
        for evaluator in evaluators:
            reason = conflict_reason(
                evaluator,
                application.organisation_key,
                application.organisation_name,
                links,
                declared,
            )
            if reason is not None:
                found[(evaluator.user_id, application.id)] = reason
    return found


def _evaluators_text(count: int) -> str:
    return plural(count, "évaluatrice ou évaluateur", "évaluatrices ou évaluateurs")


def propose(
    evaluators: list[Evaluator],
    applications: list[Application],
    per_application: int,
    conflicts: Mapping[tuple[int, int], str],
) -> Proposal:
    """Who should evaluate what so that each application has ``per_application``
    evaluators free of conflict, with loads (assignments per evaluator, those already made
    included) as even as possible. Deterministic: same facts, same proposal."""
    people = sorted(evaluators, key=lambda e: e.user_id)
    loads = {e.user_id: 0 for e in people}
    for application in applications:
        for user_id in application.assigned:
            if user_id in loads:
                loads[user_id] += 1
    before = dict(loads)
    if not people:
        return Proposal(
            per_application,
            loads_before=before,
            loads=before,
            problems=("Le comité n'a aucun membre : ajoutez d'abord des évaluatrices ou "
                      "des évaluateurs.",),
        )  # fmt: skip
    if per_application > len(people):
        return Proposal(
            per_application,
            loads_before=before,
            loads=before,
            problems=(
                f"Le comité compte {plural(len(people), 'membre')} : chaque demande ne peut "
                f"être confiée à {_evaluators_text(per_application)}.",
            ),
        )
    problems = []
    todo = []  # (slack, application, needed, free evaluators)
    for application in sorted(applications, key=lambda a: a.id):
        needed = max(per_application - len(application.assigned), 0)
        if not needed:
            continue
        free = [
            e.user_id
            for e in people
            if e.user_id not in application.assigned
            and (e.user_id, application.id) not in conflicts
        ]
        if len(free) < needed:
            blocked = [
                f"{e.name} ({conflicts[(e.user_id, application.id)]})"
                for e in people
                if (e.user_id, application.id) in conflicts
            ]
            already = len(application.assigned)
            problems.append(
                f"La demande {application.reference} {named(application.organisation_name).du} "
                f"ne peut recevoir {_evaluators_text(per_application)}"
                + (f" ({plural(already, 'déjà affecté', 'déjà affectés')})" if already else "")
                + f" : {plural(len(free), 'membre libre', 'membres libres')} de conflit "
                "d'intérêts pour les places à pourvoir"
                + (f"; en conflit : {'; '.join(blocked)}." if blocked else ".")
            )
            continue
        todo.append((len(free) - needed, application, needed, free))
    if problems:
        return Proposal(per_application, (), before, before, tuple(problems))
    chosen: dict[int, list[int]] = {}
    free_of: dict[int, list[int]] = {}
    for _, application, needed, free in sorted(todo, key=lambda t: (t[0], t[1].id)):
        picked = sorted(free, key=lambda u: (loads[u], u))[:needed]
        for user_id in picked:
            loads[user_id] += 1
        chosen[application.id] = picked
        free_of[application.id] = free
    _even_out(chosen, free_of, loads)
    pairs = tuple(sorted((a, u) for a, users in chosen.items() for u in users))
    return Proposal(per_application, pairs, before, loads)


def _even_out(
    chosen: dict[int, list[int]], free_of: dict[int, list[int]], loads: dict[int, int]
) -> None:
    """Move proposed assignments from the most to the least loaded evaluators while their
    loads differ by two or more and a move is allowed (each move lowers the sum of the
    squared loads, so this ends)."""
    while True:
        moved = False
        heavy_first = sorted(loads, key=lambda u: (-loads[u], u))
        light_first = sorted(loads, key=lambda u: (loads[u], u))
        for heavy in heavy_first:
            for light in light_first:
                if loads[heavy] - loads[light] < 2:
                    break
                for application_id in sorted(chosen):
                    users = chosen[application_id]
                    if heavy in users and light not in users and light in free_of[application_id]:
                        users[users.index(heavy)] = light
                        loads[heavy] -= 1
                        loads[light] += 1
                        moved = True
                        break
                if moved:
                    break
            if moved:
                break
        if not moved:
            return
