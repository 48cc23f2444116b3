"""The French grammar module: real names × every form a template needs, elision for people
too, plurals from the count, salutations and French spacing."""

from __future__ import annotations

import html

import pytest
from markupsafe import Markup

from rac_shared.french import (
    Article,
    Gender,
    de,
    default_article,
    french_spacing,
    gendered,
    named,
    plural,
    program,
    salutation,
)
from rac_shared.templating import make_environment

# name: (le, du, au, gender)
NAMES = {
    "Cégep de Lévis": ("le Cégep de Lévis", "du Cégep de Lévis", "au Cégep de Lévis", "m"),
    "Cégep Marie-Victorin": (
        "le Cégep Marie-Victorin",
        "du Cégep Marie-Victorin",
        "au Cégep Marie-Victorin",
        "m",
    ),
    "Collège de Maisonneuve": (
        "le Collège de Maisonneuve",
        "du Collège de Maisonneuve",
        "au Collège de Maisonneuve",
        "m",
    ),
    "Cégep à distance": ("le Cégep à distance", "du Cégep à distance", "au Cégep à distance", "m"),
    "Centre de services scolaire des Navigateurs": (
        "le Centre de services scolaire des Navigateurs",
        "du Centre de services scolaire des Navigateurs",
        "au Centre de services scolaire des Navigateurs",
        "m",
    ),
    "CSS de la Capitale": (
        "le CSS de la Capitale",
        "du CSS de la Capitale",
        "au CSS de la Capitale",
        "m",
    ),
    "Commission scolaire crie": (
        "la Commission scolaire crie",
        "de la Commission scolaire crie",
        "à la Commission scolaire crie",
        "f",
    ),
    "CISSS de Chaudière-Appalaches": (
        "le CISSS de Chaudière-Appalaches",
        "du CISSS de Chaudière-Appalaches",
        "au CISSS de Chaudière-Appalaches",
        "m",
    ),
    "CIUSSS de l'Estrie – CHUS": (
        "le CIUSSS de l'Estrie – CHUS",
        "du CIUSSS de l'Estrie – CHUS",
        "au CIUSSS de l'Estrie – CHUS",
        "m",
    ),
    "Boulangerie Saint-Méthode inc.": (
        "la Boulangerie Saint-Méthode inc.",
        "de la Boulangerie Saint-Méthode inc.",
        "à la Boulangerie Saint-Méthode inc.",
        "f",
    ),
    "Université Laval": (
        "l'Université Laval",
        "de l'Université Laval",
        "à l'Université Laval",
        "f",
    ),
    "École nationale d'administration publique": (
        "l'École nationale d'administration publique",
        "de l'École nationale d'administration publique",
        "à l'École nationale d'administration publique",
        "f",
    ),
    "Hôpital Maisonneuve-Rosemont": (
        "l'Hôpital Maisonneuve-Rosemont",
        "de l'Hôpital Maisonneuve-Rosemont",
        "à l'Hôpital Maisonneuve-Rosemont",
        "m",
    ),
    "Ministère de l'Éducation, du Loisir et du Sport": (
        "le Ministère de l'Éducation, du Loisir et du Sport",
        "du Ministère de l'Éducation, du Loisir et du Sport",
        "au Ministère de l'Éducation, du Loisir et du Sport",
        "m",
    ),
    "Le Groupe Maurice": ("le Groupe Maurice", "du Groupe Maurice", "au Groupe Maurice", "m"),
    "Les Aliments Dare": ("les Aliments Dare", "des Aliments Dare", "aux Aliments Dare", "m"),
    "Caisse Desjardins de Lévis": (
        "la Caisse Desjardins de Lévis",
        "de la Caisse Desjardins de Lévis",
        "à la Caisse Desjardins de Lévis",
        "f",
    ),
    "Desjardins": ("Desjardins", "de Desjardins", "à Desjardins", "m"),
    "Olymel": ("Olymel", "d'Olymel", "à Olymel", "m"),
    "Hydro-Québec": ("Hydro-Québec", "d'Hydro-Québec", "à Hydro-Québec", "f"),
    "HEC Montréal": ("HEC Montréal", "de HEC Montréal", "à HEC Montréal", "f"),
    "Télé-université": ("la Télé-université", "de la Télé-université", "à la Télé-université", "f"),
    "AEC en Techniques d'éducation à l'enfance": (
        "l'AEC en Techniques d'éducation à l'enfance",
        "de l'AEC en Techniques d'éducation à l'enfance",
        "à l'AEC en Techniques d'éducation à l'enfance",
        "f",
    ),
    "DEC en Soins infirmiers": (
        "le DEC en Soins infirmiers",
        "du DEC en Soins infirmiers",
        "au DEC en Soins infirmiers",
        "m",
    ),
    "DEP en Boulangerie": (
        "le DEP en Boulangerie",
        "du DEP en Boulangerie",
        "au DEP en Boulangerie",
        "m",
    ),
    "ASP en Lancement d'une entreprise": (
        "l'ASP en Lancement d'une entreprise",
        "de l'ASP en Lancement d'une entreprise",
        "à l'ASP en Lancement d'une entreprise",
        "f",
    ),
    "AEP en Pâtisserie de restauration": (
        "l'AEP en Pâtisserie de restauration",
        "de l'AEP en Pâtisserie de restauration",
        "à l'AEP en Pâtisserie de restauration",
        "f",
    ),
}


@pytest.mark.parametrize("name", NAMES)
def test_every_form_of_a_real_name(name):
    le, du, au, gender = NAMES[name]
    result = named(name)
    assert (result.le, result.du, result.au) == (le, du, au)
    assert (result.Le, result.Du, result.Au) == (
        le[0].upper() + le[1:],
        du[0].upper() + du[1:],
        au[0].upper() + au[1:],
    )
    assert result.gender == Gender(gender)
    assert str(result) == name


def test_the_directorys_article_wins_over_the_default():
    # An organisation whose administrator says it is « la Maison des jeunes » though its name
    # starts otherwise, and one that wants no article.
    assert named("Maison Dauphine", "la", "f").du == "de la Maison Dauphine"
    assert named({"name": "Centre Bell", "article": "", "gender": "m"}).au == "à Centre Bell"
    assert named("Espace Émilie", "l'", "m").du == "de l'Espace Émilie"
    assert default_article("Cégep de Lévis") == (Article.LE, Gender.MASCULINE)


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ("Émilie Gagnon", "d'Émilie Gagnon"),
        ("Julie Morin", "de Julie Morin"),
        ("Hélène Tremblay", "d'Hélène Tremblay"),
        ("Yves Roy", "d'Yves Roy"),
        ("Yannick Roy", "de Yannick Roy"),
        ("Isabelle Bégin", "d'Isabelle Bégin"),
        ("Ursule Côté", "d'Ursule Côté"),
        ("François Côté", "de François Côté"),
    ],
)
def test_people_elide_before_a_vowel_or_a_mute_h(person, expected):
    assert de(person) == expected


def test_programs_named_after_a_field_are_introduced():
    assert program("Soins infirmiers").le == "le programme Soins infirmiers"
    assert program("Soins infirmiers").du == "du programme Soins infirmiers"
    assert program("AEC en Techniques d'éducation à l'enfance").du.startswith("de l'AEC")


@pytest.mark.parametrize(
    ("count", "singular", "plural_form", "expected"),
    [
        (0, "facture émise", None, "0 facture émise"),
        (1, "facture émise", None, "1 facture émise"),
        (2, "facture émise", None, "2 factures émises"),
        (10, "heure", None, "10 heures"),
        (2, "candidat", None, "2 candidats"),
        (5, "point", None, "5 points"),
        (3, "CERAC désigné", None, "3 CERAC désignés"),
        (2, "travail", "travaux", "2 travaux"),
        (2, "journal", None, "2 journaux"),
        (1200, "jour", None, "1\xa0200 jours"),
    ],
)
def test_plurals_follow_the_count(count, singular, plural_form, expected):
    assert plural(count, singular, plural_form) == expected


def test_salutations_name_the_person_once():
    assert salutation("Madame", "directrice générale") == "Madame la Directrice générale,"
    assert salutation("Monsieur") == "Monsieur,"
    assert salutation(None) == "Madame, Monsieur,"
    assert gendered("Madame", "Représentation", "Représentante", "Représentant") == (
        "Représentante"
    )
    assert gendered(None, "Représentation", "Représentante", "Représentant") == "Représentation"


def test_french_spacing_before_high_punctuation_and_inside_quotes():
    assert french_spacing("Montant : 5 $; total: 7 ! Oui?") == (
        "Montant\u00a0: 5 $\u202f; total\u00a0: 7\u202f! Oui\u202f?"
    )
    assert french_spacing("«Soins» ") == "«\u00a0Soins\u00a0» "
    assert french_spacing("https://rac.example/a:b 10:30") == "https://rac.example/a:b 10:30"
    assert isinstance(french_spacing(Markup("<b>Oui</b> : non")), Markup)


def test_templates_have_the_filters():
    env = make_environment()
    template = env.from_string(
        "{{ org|Le }} a retenu les services {{ org|du }}, {{ n|plural('candidat') }} "
        "{{ 'Émilie'|de }}"
    )
    assert html.unescape(template.render(org="Cégep de Lévis", n=2)) == (
        "Le Cégep de Lévis a retenu les services du Cégep de Lévis, 2 candidats d'Émilie"
    )


def test_the_ministry_of_a_date_and_the_ministrys_own_periods():
    from datetime import date

    from rac_shared.ministries import Ministry, merged, ministry_at

    assert ministry_at(date(2013, 5, 31)).acronym == "MELS"
    assert ministry_at(date(2013, 5, 31)).minister == "la ministre"
    assert ministry_at(date(2026, 12, 1)).acronym == "MES"
    assert ministry_at(None).acronym == "MES"
    corrected = Ministry(date(2007, 4, 18), "Ministère de l'Éducation, du Loisir et du Sport",
                         "MELS", "le ministre", edited=True)  # fmt: skip
    added = Ministry(date(2012, 9, 19), "Ministère de l'Enseignement supérieur, de la "
                     "Recherche, de la Science et de la Technologie", "MESRST", "le ministre",
                     edited=True)  # fmt: skip
    table = merged([added, corrected])
    assert [m.acronym for m in table] == ["MELS", "MELS", "MESRST", "MEESR", "MEES", "MES"]
    assert ministry_at(date(2010, 1, 1), table).minister == "le ministre"
    assert ministry_at(date(2013, 5, 31), table).acronym == "MESRST"
    assert ministry_at(date(2013, 5, 31), table).Minister == "Le ministre"


def test_ordinals_and_enumerations():
    from rac_shared.french import enumeration, ordinal

    assert [ordinal(1), ordinal(1, feminine=True), ordinal(2), ordinal(11)] == [
        "1er", "1re", "2e", "11e",
    ]  # fmt: skip
    assert enumeration([]) == "" and enumeration(["A"]) == "A"
    assert enumeration(["A", "B"]) == "A et B" and enumeration(["A", "B", "C"]) == "A, B et C"


def test_french_spacing_of_a_document_touches_its_text_only():
    from rac_shared.french import french_spacing_html

    document = (
        '<html lang="fr-CA"><head><title>Plan : version 1</title>'
        '<style>a:hover { color: red } @page { @bottom-center { content: "Page " } }</style>'
        "</head><body><p>Objet : votre demande; merci ! « Soins infirmiers » &amp; co; "
        'l&#39;AEC à 23 h 59</p><a href="https://exemple.quebec/a?b=1;c">Lien : ici</a>'
        "<script>var a = {b: 1};</script></body></html>"
    )
    spaced = french_spacing_html(document)
    assert "<title>Plan\xa0: version 1</title>" in spaced
    assert "a:hover { color: red }" in spaced and 'content: "Page "' in spaced
    assert "Objet\xa0: votre demande\u202f; merci\u202f! «\xa0Soins infirmiers\xa0»" in spaced
    assert "&amp; co\u202f;" in spaced and "l&#39;AEC à 23\xa0h\xa059" in spaced
    assert 'href="https://exemple.quebec/a?b=1;c">Lien\xa0: ici' in spaced
    assert "<script>var a = {b: 1};</script>" in spaced
    assert french_spacing_html(spaced) == spaced  # applied twice, same text


def test_a_name_typed_with_a_typographic_apostrophe_keeps_it():
    field = named("l’éducation à l’enfance")
    assert (field.le, field.du, field.au, field.Le) == (
        "l’éducation à l’enfance",
        "de l’éducation à l’enfance",
        "à l’éducation à l’enfance",
        "L’éducation à l’enfance",
    )
    assert named("L'École Jean-XXIII").du == "de l'École Jean-XXIII"


def test_one_typographic_filter_for_every_template_never_inside_code_or_values():
    from rac_shared.french import french_spacing_html, typeset

    page = (
        '<p><strong>Date</strong> : <input name="q" value="a : b ; c ?"> « x » 6 h / semaine'
        "</p><pre>a : b</pre><code>x ? y</code><kbd>k ;</kbd><textarea>Motif : typé</textarea>"
        "<!-- note : ici --><p>&#34;Oui&#34; ? l&#39;AEC ; R&amp;D !</p>"
    )
    spaced = french_spacing_html(page)
    assert "<strong>Date</strong>\xa0: " in spaced and 'value="a : b ; c ?"' in spaced
    assert "«\xa0x\xa0» 6\xa0h / semaine" in spaced
    assert "<pre>a : b</pre><code>x ? y</code><kbd>k ;</kbd>" in spaced
    assert "<textarea>Motif : typé</textarea><!-- note : ici -->" in spaced
    assert "&#34;Oui&#34;\u202f? l&#39;AEC\u202f; R&amp;D\u202f!" in spaced
    assert french_spacing_html(spaced) == spaced
    # Plain-text e-mails get the same rules; a template in another language none.
    assert typeset("email/x.txt.j2", "Motif : <b> ; 9 h 05") == "Motif\xa0: <b> ; 9\xa0h\xa005"
    assert typeset("plan.en.html.j2", "<p>Date : 1</p>") == "<p>Date : 1</p>"
    assert typeset("plans/plan.html.j2", "<p>Date : 1</p>") == "<p>Date\xa0: 1</p>"
    assert french_spacing(": début ; « fin »") == ": début\u202f; «\xa0fin\xa0»"
