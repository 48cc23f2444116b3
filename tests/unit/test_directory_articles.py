"""The article and gender of an organisation's name in the directory: derived from its first
word until the ministry's administrator or the organisation's direction sets them; refused to
anyone else; what every service's running text then reads (``OrganisationView``)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gateway import directory
from gateway.models import Base, Organisation
from rac_shared.actor import OrganisationKind, Role
from rac_shared.contracts.base import parse
from rac_shared.contracts.directory import OrganisationArticleIn, OrganisationView
from rac_shared.errors import DomainError
from rac_shared.french import named
from services.applications.testing import actor

K = OrganisationKind
MINISTRY = actor(Role.MINISTRY_ADMIN, 1, K.MINISTRY, 1, "Hélène Tremblay")
ANALYST = actor(Role.MINISTRY_ANALYST, 1, K.MINISTRY, 2, "François Côté")
LEVIS_DG = actor(Role.DIRECTOR_GENERAL, 2, K.CEGEP, 4, "Isabelle Bégin")
LEVIS_RAC = actor(Role.RAC_COORDINATOR, 2, K.CEGEP, 5, "Sophie Bélanger")
BAKERY_REP = actor(Role.EMPLOYER_REPRESENTATIVE, 3, K.EMPLOYER, 3, "Éric Poulin")


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
