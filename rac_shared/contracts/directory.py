"""The directory's contract: users and organisations as the gateway's nameko service
(``rac serve gateway``) answers other services (notifications looks up recipients, plans
and scoring the parties they name), and as the gateway's API shows them."""

from __future__ import annotations

from typing import Annotated, Protocol

from pydantic import BeforeValidator, Field

from rac_shared.actor import OrganisationKind, Role
from rac_shared.contracts import HealthReport
from rac_shared.contracts.base import Messages, Reply, Strict, Vocabulary


class ArticleChoice(Vocabulary):
    """How running text introduces an organisation's name (« du Cégep », « de la
    Boulangerie », « de Desjardins »): the default its first word implies, or one chosen."""

    DEFAULT = "auto", "Selon le premier mot du nom (par défaut)"
    LE = "le", "le (masculin) : le, du, au"
    LA = "la", "la (féminin) : la, de la, à la"
    L = "l'", "l' (devant une voyelle ou un h muet) : l', de l', à l'"
    LES = "les", "les (pluriel) : les, des, aux"
    NONE = "aucun", "aucun (nom propre) : de, à"


class GenderChoice(Vocabulary):
    DEFAULT = "auto", "Selon le premier mot du nom (par défaut)"
    MASCULINE = "m", "masculin"
    FEMININE = "f", "féminin"


class OrganisationArticleIn(Strict):
    """The article and gender of an organisation's name, set by the ministry's
    administrator or the organisation's own (director general, employer representative)."""

    article: Annotated[
        ArticleChoice,
        Field(title="Article devant le nom"),
        Messages(missing="Choisissez l'article.", enum="Choisissez l'article dans la liste."),
    ]
    gender: Annotated[
        GenderChoice,
        BeforeValidator(lambda v: v or "auto"),
        Field(title="Genre (accord des participes et adjectifs)"),
    ] = GenderChoice.DEFAULT


class OrganisationView(Reply):
    id: int
    kind: OrganisationKind
    name: str
    code: str
    education_order: str | None
    region: str | None
    address: str | None
    article: str = ""  # le, la, l', les or "" (a proper name): rac_shared.french.named
    gender: str = "m"


class DirectoryUser(Reply):
    id: int
    email: str
    full_name: str
    title: str | None
    form_of_address: str | None = None  # Madame, Monsieur or none
    role: Role
    organisation_id: int
    organisation_name: str | None = None
    active: bool


class DirectoryRpc(Protocol):
    """For services, not users: no actor, nothing the gateway's pages call."""

    def health(self) -> HealthReport: ...
    def get_user(self, user_id: int) -> DirectoryUser: ...
    def get_organisation(self, organisation_id: int) -> OrganisationView: ...
    def list_organisations(
        self, kinds: list[OrganisationKind] | None = None
    ) -> list[OrganisationView]: ...
    def users_of_organisation(
        self, organisation_id: int, roles: list[Role] | None = None
    ) -> list[DirectoryUser]: ...
    def users_with_roles(self, roles: list[Role]) -> list[DirectoryUser]: ...
    def unsubscribe_links(self, user_ids: list[int]) -> dict[str, str]: ...
