"""The four admissibility rules of seed 000, as pure functions of plain facts.

1. submitted by an authorised institution;
2. signed by the direction générale and, for a cégep, the direction des études or of
   formation continue; for a school service centre, the direction du service de la
   formation professionnelle or another manager designated by the DG (designation attached);
3. every section completed, with letters of support and official documents attached;
4. deposited electronically and on paper no later than the deadline (end of that day,
   America/Montreal).

Each rule gives a result and its reason in French. The analyst then confirms or overrides
each one (see ``review.review_rule``); nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from rac_shared.actor import OrganisationKind, Role
from rac_shared.clock import is_on_or_before_deadline
from rac_shared.contracts.applications import AdmissibilityRule
from rac_shared.formatting import long_date, long_datetime
from rac_shared.french import plural

RULE_INSTITUTION = "institution"
RULE_SIGNATURES = "signatures"
RULE_COMPLETENESS = "completeness"
RULE_DEPOSIT = "deposit"

RULES = AdmissibilityRule.labels()

# Education order of each kind of institution.
ORDER_OF_KIND = {
    OrganisationKind.CEGEP.value: "collégial",
    OrganisationKind.SCHOOL_SERVICE_CENTRE.value: "secondaire",
}
INSTITUTION_KINDS = frozenset(ORDER_OF_KIND)

# Signature capacities.
DIRECTOR_GENERAL = "director_general"
SECOND_SIGNATORY = "second_signatory"
DESIGNATED_MANAGER = "designated_manager"

CEGEP_SECOND = frozenset({Role.DIRECTOR_OF_STUDIES.value, Role.DIRECTOR_CONTINUING_EDUCATION.value})
CSS_SECOND = frozenset({Role.DIRECTOR_VOCATIONAL_TRAINING.value})


@dataclass(frozen=True)
class SignatureFact:
    role: str
    capacity: str
    full_name: str = ""


@dataclass(frozen=True)
class Facts:
    """Everything the rules need about one application, read from the database."""

    organisation_kind: str
    education_order: str | None
    call_orders: tuple[str, ...]
    deadline_date: date
    signatures: tuple[SignatureFact, ...] = ()
    designation_attached: bool = False
    incomplete_sections: tuple[str, ...] = ()
    refused_commitments: tuple[str, ...] = ()
    support_letters: int = 0
    official_documents: int = 0
    submitted_at: datetime | None = None
    paper_received_on: date | None = None


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    reason: str
    label: str = field(default="")

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "label": self.label or RULES[self.rule],
            "passed": self.passed,
            "reason": self.reason,
        }


# -- who may sign ------------------------------------------------------------------------


def signing_capacity(kind: str, role: str, designation_attached: bool) -> str:
    """The capacity in which a user of this role signs for this kind of institution.

    Raises ``ValueError`` with the French reason when the role may not sign.
    """
    if role == Role.DIRECTOR_GENERAL.value:
        return DIRECTOR_GENERAL
    if kind == OrganisationKind.CEGEP.value:
        if role in CEGEP_SECOND:
            return SECOND_SIGNATORY
        raise ValueError(
            "Seules la direction générale et la direction des études ou de la formation "
            "continue peuvent signer la demande d'un cégep."
        )
    if kind == OrganisationKind.SCHOOL_SERVICE_CENTRE.value:
        if role in CSS_SECOND:
            return SECOND_SIGNATORY
        if role in {
            r.value
            for r in (
                Role.RAC_COORDINATOR,
                Role.DIRECTOR_OF_STUDIES,
                Role.DIRECTOR_CONTINUING_EDUCATION,
            )
        }:
            if designation_attached:
                return DESIGNATED_MANAGER
            raise ValueError(
                "Un gestionnaire autre que la direction du service de la formation "
                "professionnelle ne peut signer que si sa désignation par la direction "
                "générale est jointe à la demande."
            )
        raise ValueError("Ce rôle ne peut pas signer la demande.")
    raise ValueError("Seul un établissement d'enseignement peut signer une demande.")


def signatures_status(
    kind: str, signatures: tuple[SignatureFact, ...] | list, designation_attached: bool
) -> tuple[bool, str]:
    """Whether the required signatures are present, and the French explanation."""
    capacities = {s.capacity for s in signatures}
    has_dg = DIRECTOR_GENERAL in capacities
    if kind == OrganisationKind.CEGEP.value:
        has_second = any(s.role in CEGEP_SECOND for s in signatures)
        if has_dg and has_second:
            return True, (
                "Signée par la direction générale et par la direction des études ou de la "
                "formation continue."
            )
        missing = []
        if not has_dg:
            missing.append("la direction générale")
        if not has_second:
            missing.append("la direction des études ou de la formation continue")
        return False, "Signature manquante : " + " et ".join(missing) + "."
    if kind == OrganisationKind.SCHOOL_SERVICE_CENTRE.value:
        has_fp = any(s.role in CSS_SECOND for s in signatures)
        has_designated = DESIGNATED_MANAGER in capacities
        if has_dg and has_fp:
            return True, (
                "Signée par la direction générale et par la direction du service de la "
                "formation professionnelle."
            )
        if has_dg and has_designated and designation_attached:
            return True, (
                "Signée par la direction générale et par un gestionnaire désigné par la "
                "direction générale (désignation jointe)."
            )
        missing = []
        if not has_dg:
            missing.append("la direction générale")
        if not has_fp and not has_designated:
            missing.append(
                "la direction du service de la formation professionnelle ou un gestionnaire "
                "désigné par la direction générale"
            )
        elif has_designated and not designation_attached:
            return False, (
                "La désignation du gestionnaire signataire par la direction générale n'est "
                "pas jointe."
            )
        return False, "Signature manquante : " + " et ".join(missing) + "."
    return False, "Ce type d'organisation ne peut pas présenter de demande."


# -- the four rules ------------------------------------------------------------------------


def rule_institution(facts: Facts) -> RuleResult:
    order = ORDER_OF_KIND.get(facts.organisation_kind)
    if order is None:
        return RuleResult(
            RULE_INSTITUTION,
            False,
            "L'organisation n'est ni un cégep ni un centre de services scolaire : elle n'est "
            "pas autorisée à présenter une demande.",
        )
    if (facts.education_order or order) not in facts.call_orders:
        return RuleResult(
            RULE_INSTITUTION,
            False,
            f"L'appel ne vise pas l'ordre d'enseignement {facts.education_order or order}.",
        )
    kind_label = "Cégep" if order == "collégial" else "Centre de services scolaire"
    return RuleResult(
        RULE_INSTITUTION,
        True,
        f"{kind_label} de l'ordre {facts.education_order or order}, visé par l'appel.",
    )


def rule_signatures(facts: Facts) -> RuleResult:
    passed, reason = signatures_status(
        facts.organisation_kind, facts.signatures, facts.designation_attached
    )
    return RuleResult(RULE_SIGNATURES, passed, reason)


def rule_completeness(facts: Facts) -> RuleResult:
    problems = []
    if facts.incomplete_sections:
        problems.append("sections incomplètes : " + ", ".join(facts.incomplete_sections))
    if facts.refused_commitments:
        problems.append("engagement non souscrit : " + ", ".join(facts.refused_commitments))
    if facts.support_letters < 1:
        problems.append("aucune lettre d'appui jointe")
    if facts.official_documents < 1:
        problems.append("aucun document officiel joint")
    if problems:
        reason = "; ".join(problems)
        return RuleResult(RULE_COMPLETENESS, False, reason[0].upper() + reason[1:] + ".")
    letters = plural(facts.support_letters, "lettre d'appui", "lettres d'appui")
    documents = plural(facts.official_documents, "document officiel")
    return RuleResult(
        RULE_COMPLETENESS,
        True,
        f"Toutes les sections sont complétées; {letters} et {documents} "
        f"{plural(facts.support_letters + facts.official_documents, 'joint', with_count=False)}.",
    )


def rule_deposit(facts: Facts) -> RuleResult:
    deadline = long_date(facts.deadline_date)
    if facts.submitted_at is None:
        return RuleResult(RULE_DEPOSIT, False, "La demande n'a pas été déposée électroniquement.")
    if not is_on_or_before_deadline(facts.submitted_at, facts.deadline_date):
        return RuleResult(
            RULE_DEPOSIT,
            False,
            f"Dépôt électronique le {long_datetime(facts.submitted_at)}, après la date limite "
            f"du {deadline} à 23 h 59.",
        )
    electronic = f"Dépôt électronique le {long_datetime(facts.submitted_at)}"
    if facts.paper_received_on is None:
        return RuleResult(RULE_DEPOSIT, False, f"{electronic}; la copie papier n'a pas été reçue.")
    if facts.paper_received_on > facts.deadline_date:
        return RuleResult(
            RULE_DEPOSIT,
            False,
            f"{electronic}; copie papier reçue le {long_date(facts.paper_received_on)}, après "
            f"la date limite du {deadline}.",
        )
    return RuleResult(
        RULE_DEPOSIT,
        True,
        f"{electronic} et copie papier reçue le {long_date(facts.paper_received_on)}, au plus "
        f"tard le {deadline}.",
    )


def evaluate(facts: Facts) -> list[RuleResult]:
    """The four rules, in the seed's order, each with its label."""
    results = [
        rule_institution(facts),
        rule_signatures(facts),
        rule_completeness(facts),
        rule_deposit(facts),
    ]
    return [RuleResult(r.rule, r.passed, r.reason, RULES[r.rule]) for r in results]
