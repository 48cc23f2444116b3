"""Who may do what in the evaluation area (enforced here, mirrored by the gateway routes).

- ministry_admin: forms the committee of a call (parameters, members), assigns evaluators,
  records conflicts of interest, reopens a submitted evaluation (logged), records consensus
  scores and the committee's recommendation, and records the minister's decision. Sees the
  committee view: each evaluator's scores once the application is consolidated.
- ministry_analyst: reads the committee view, the ranking and the letters (same rule for
  individual scores); may sit on a committee as an evaluator.
- ministry_evaluator (and an analyst sitting on a committee): sees only the applications
  assigned to them (never one of an institution they are in conflict with), the grid and
  their own scores; never another evaluator's scores; declares conflicts of interest and
  links with institutions (their own, never another's). The account belongs to the
  ministry or to an institution of the network: the same rights either way, and that
  institution's applications are conflicts.
- ministry_admin also records and withdraws any member's declared links, and runs the bulk
  assignment (preview, then save).
- institution users: see their own institution's applications « en évaluation » until the
  minister's decision, then the result and the letter, never an evaluator's identity.
- employers: nothing in this area.
"""

from __future__ import annotations

from rac_shared.actor import Actor, Role
from rac_shared.errors import forbidden

STAFF_ROLES = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
EVALUATOR_ROLES = frozenset({Role.MINISTRY_EVALUATOR, Role.MINISTRY_ANALYST})


def ensure_admin(actor: Actor) -> None:
    if actor.role != Role.MINISTRY_ADMIN:
        raise forbidden(
            "Seule l'administration du Ministère gère le comité d'évaluation et consigne la "
            "décision de la ou du ministre."
        )


def ensure_staff(actor: Actor) -> None:
    if actor.role not in STAFF_ROLES:
        raise forbidden(
            "La vue du comité d'évaluation est réservée à l'administration et aux analystes "
            "du Ministère."
        )


def ensure_evaluator(actor: Actor) -> None:
    if actor.role not in EVALUATOR_ROLES:
        raise forbidden("Cet espace est réservé aux évaluatrices et évaluateurs du Ministère.")


def ensure_institution(actor: Actor) -> None:
    if not actor.is_institution:
        raise forbidden("Les résultats de l'évaluation sont communiqués aux établissements.")


def is_admin(actor: Actor) -> bool:
    return actor.role == Role.MINISTRY_ADMIN
