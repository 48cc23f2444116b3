"""Who is asking: passed by the gateway with every RPC so that services scope their data."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class OrganisationKind(StrEnum):
    MINISTRY = "ministry"
    CEGEP = "cegep"
    SCHOOL_SERVICE_CENTRE = "school_service_centre"
    EMPLOYER = "employer"


class Role(StrEnum):
    MINISTRY_ADMIN = "ministry_admin"
    MINISTRY_ANALYST = "ministry_analyst"
    MINISTRY_EVALUATOR = "ministry_evaluator"
    DIRECTOR_GENERAL = "director_general"
    DIRECTOR_OF_STUDIES = "director_of_studies"
    DIRECTOR_CONTINUING_EDUCATION = "director_continuing_education"
    DIRECTOR_VOCATIONAL_TRAINING = "director_vocational_training"
    RAC_COORDINATOR = "rac_coordinator"
    EMPLOYER_REPRESENTATIVE = "employer_representative"


MINISTRY_ROLES = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST, Role.MINISTRY_EVALUATOR})
INSTITUTION_ROLES = frozenset(
    {
        Role.DIRECTOR_GENERAL,
        Role.DIRECTOR_OF_STUDIES,
        Role.DIRECTOR_CONTINUING_EDUCATION,
        Role.DIRECTOR_VOCATIONAL_TRAINING,
        Role.RAC_COORDINATOR,
    }
)
EMPLOYER_ROLES = frozenset({Role.EMPLOYER_REPRESENTATIVE})

ROLE_LABELS = {
    Role.MINISTRY_ADMIN: "Administration du Ministère",
    Role.MINISTRY_ANALYST: "Analyste du Ministère",
    Role.MINISTRY_EVALUATOR: "Évaluatrice ou évaluateur",
    Role.DIRECTOR_GENERAL: "Direction générale",
    Role.DIRECTOR_OF_STUDIES: "Direction des études",
    Role.DIRECTOR_CONTINUING_EDUCATION: "Direction de la formation continue",
    Role.DIRECTOR_VOCATIONAL_TRAINING: "Direction du service de la formation professionnelle",
    Role.RAC_COORDINATOR: "Coordination de la RAC",
    Role.EMPLOYER_REPRESENTATIVE: "Personne représentant l'organisation",
}
# Labels that follow a person's form of address (feminine, masculine); the others are
# épicène (« Direction générale », « Coordination de la RAC »).
GENDERED_ROLE_LABELS = {
    Role.MINISTRY_EVALUATOR: ("Évaluatrice", "Évaluateur"),
    Role.EMPLOYER_REPRESENTATIVE: (
        "Représentante de l'organisation",
        "Représentant de l'organisation",
    ),
}


def role_label(role: str, form_of_address: str | None = None) -> str:
    """A person's role as French writes it for them: « Représentante de l'organisation » for
    Madame, « Représentant… » for Monsieur, the épicène label when nothing is known."""
    role = Role(role)
    if role in GENDERED_ROLE_LABELS and form_of_address in ("Madame", "Monsieur"):
        feminine, masculine = GENDERED_ROLE_LABELS[role]
        return feminine if form_of_address == "Madame" else masculine
    return ROLE_LABELS[role]


KIND_LABELS = {
    OrganisationKind.MINISTRY: "Ministère",
    OrganisationKind.CEGEP: "Cégep",
    OrganisationKind.SCHOOL_SERVICE_CENTRE: "Centre de services scolaire",
    OrganisationKind.EMPLOYER: "Organisation employeuse",
}


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: int
    role: Role
    organisation_id: int
    organisation_kind: OrganisationKind
    full_name: str = ""
    form_of_address: str | None = None  # « Madame », « Monsieur » or none (labels, letters)

    @property
    def is_ministry(self) -> bool:
        return self.role in MINISTRY_ROLES

    @property
    def is_institution(self) -> bool:
        return self.role in INSTITUTION_ROLES

    @property
    def is_employer(self) -> bool:
        return self.role in EMPLOYER_ROLES

    def owns(self, organisation_id: int | None) -> bool:
        """Tenant rule: a user sees only its own organisation's data (the ministry sees all)."""
        return self.is_ministry or organisation_id == self.organisation_id
