"""The article and gender of an organisation's name in the directory: derived from its first
word until the ministry's administrator or the organisation's direction sets them; refused to
anyone else; what every service's running text then reads (``OrganisationView``)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gateway import directory
from gateway.models import Base, Organisation
from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.contracts.base import parse
from rac_shared.contracts.directory import OrganisationArticleIn, OrganisationView
from rac_shared.errors import DomainError
from rac_shared.french import named

MINISTRY = Actor(
    user_id=1,
    role=Role.MINISTRY_ADMIN,
    organisation_id=1,
    organisation_kind=OrganisationKind.MINISTRY,
    full_name="Hélène Tremblay",
)
ANALYST = Actor(
    user_id=2,
    role=Role.MINISTRY_ANALYST,
    organisation_id=1,
    organisation_kind=OrganisationKind.MINISTRY,
    full_name="François Côté",
)
BAKERY_REP = Actor(
    user_id=3,
    role=Role.EMPLOYER_REPRESENTATIVE,
    organisation_id=3,
    organisation_kind=OrganisationKind.EMPLOYER,
    full_name="Éric Poulin",
)
LEVIS_DG = Actor(
    user_id=4,
    role=Role.DIRECTOR_GENERAL,
    organisation_id=2,
    organisation_kind=OrganisationKind.CEGEP,
    full_name="Isabelle Bégin",
)
LEVIS_RAC = Actor(
    user_id=5,
    role=Role.RAC_COORDINATOR,
    organisation_id=2,
    organisation_kind=OrganisationKind.CEGEP,
    full_name="Sophie Bélanger",
)
# fmt: skip


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        for id_, kind, name in (
            (1, "ministry", "Ministère de l'Enseignement supérieur"),
            (2, "cegep", "Cégep de Lévis"),
            (3, "employer", "Boulangerie Saint-Méthode inc."),
        ):
            session.add(Organisation(id=id_, kind=kind, name=name, code=f"O{id_}"))
        session.commit()
        yield session


def form(**fields) -> OrganisationArticleIn:
    return parse(OrganisationArticleIn, fields)


def test_the_default_comes_from_the_first_word_until_someone_sets_it(session):
    levis = directory.organisation_view(session.get(Organisation, 2))
    assert (levis["article"], levis["gender"]) == ("le", "m")
    assert named(OrganisationView.model_validate(levis)).du == "du Cégep de Lévis"
    bakery = directory.set_article(session, BAKERY_REP, 3, form(article="aucun", gender="f"))
    assert (bakery["article"], bakery["gender"]) == ("", "f")
    assert named(bakery).du == "de Boulangerie Saint-Méthode inc."
    assert named(bakery).agree("établi", "établie") == "établie"
    again = directory.set_article(session, MINISTRY, 3, form(article="auto"))
    assert named(again).du == "de la Boulangerie Saint-Méthode inc."
    row = session.get(Organisation, 3)
    assert row.article is None and row.gender is None  # the default, not a copy of it
    directory.set_article(session, LEVIS_DG, 2, form(article="le", gender="m"))
    assert session.get(Organisation, 2).article == "le"


def test_only_the_ministry_admin_and_the_organisations_direction_may_set_it(session):
    with pytest.raises(DomainError) as analyst:
        directory.set_article(session, ANALYST, 2, form(article="la"))
    assert analyst.value.code == "forbidden"
    with pytest.raises(DomainError) as coordinator:
        directory.set_article(session, LEVIS_RAC, 2, form(article="la"))
    assert coordinator.value.code == "forbidden"
    with pytest.raises(DomainError) as other:
        directory.set_article(session, BAKERY_REP, 2, form(article="la"))
    assert other.value.code == "not_found"
    assert session.get(Organisation, 2).article is None
    assert directory.may_edit_article(LEVIS_DG, 2) and not directory.may_edit_article(LEVIS_DG, 3)
    assert directory.may_edit_article(MINISTRY, 3) and not directory.may_edit_article(ANALYST, 3)


def test_the_form_refuses_an_article_outside_the_list_in_french():
    with pytest.raises(DomainError) as empty:
        form(article="")
    assert empty.value.details == {"article": "Choisissez l'article dans la liste."}
    with pytest.raises(DomainError) as made_up:
        form(article="des", gender="x")
    assert set(made_up.value.details) == {"article", "gender"}
