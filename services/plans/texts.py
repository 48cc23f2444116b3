"""Texts of the cégep's template (seed ``004``), in French, as the platform's defaults.

The clauses that are not editable (the organisation may never use RAC to evaluate or
discipline staff; the acceptance clause) are constants rendered by the document itself.
The annexes are the default of an institution's own annex template: the institution edits
its template, and each plan copies it at creation (see ``annexes.py``).

Placeholders in these texts are the seed's own bracketed ones, replaced by plain string
substitution (never a template engine): ``[nom de l’organisation]``, ``[nom du cégep]``.
"""

from __future__ import annotations

import re
from pathlib import Path

from rac_shared.french import named, program

ANNEXES = Path(__file__).resolve().parent / "templates" / "annexes"


def _annex(filename: str) -> str:
    """The seed's annex texts live in ``templates/annexes/*.txt`` (long French lines)."""
    return (ANNEXES / filename).read_text(encoding="utf-8").strip()


ORGANISATION_PLACEHOLDER = "[nom de l’organisation]"
INSTITUTION_PLACEHOLDER = "[nom du cégep]"

# The vocabularies (statuses, steps, results, modalities, annex B categories) and their
# French labels are the contract's: ``rac_shared/contracts/plans.py``.

# -- not editable -------------------------------------------------------------------------

# Seed: « Il ne peut, en aucun cas, utiliser la RAC en milieu de travail comme une mesure
# visant à évaluer son personnel, prendre des mesures disciplinaires ou autres. »
ORGANISATION_CLAUSE = (
    "En ce sens, le rôle de l’organisation est d’agir en partenariat avec {institution.le} afin "
    "d’assurer le bon déroulement de la démarche. Il ne peut, en aucun cas, utiliser la RAC en "
    "milieu de travail comme une mesure visant à évaluer son personnel, prendre des mesures "
    "disciplinaires ou autres. Il s’agit d’une démarche individuelle et personnelle dans laquelle "
    "l’employeur y retire des bénéfices puisqu’il favorise la mobilité à l’interne, accroît la "
    "performance et l’efficacité, enrichit la qualité des pratiques tout en contribuant à une "
    "conciliation travail-RAC."
)

ACCEPTANCE_CLAUSES = (
    "Aux termes des dispositions énumérées dans ce document, des conditions générales en "
    "annexe A, des éléments du contexte de réalisation de l’annexe B, de l’entente de "
    "confidentialité en annexe C et de toute autre annexe incorporée aux présentes, "
    "{employer.le} retient les services {institution.du} aux fins de la mise en œuvre du projet "
    "de Reconnaissance des acquis et des compétences (RAC) en milieu de travail pour "
    "{program.le} ({code}).",
    "L’acceptation écrite du partenaire constitue un contrat entre les parties.",
    "Cette acceptation doit parvenir {institution.au} au plus tard 30 jours suivant la date "
    "d’émission de la proposition d’intervention, à défaut de quoi le présent contrat sera "
    "résolu de plein droit.",
)

MISSING_TRAINING_NOTE = (
    "Si des éléments de compétences ne sont pas atteints, une formation manquante (semblable à "
    "une formation personnalisée) sera offerte. Le tout sera mis en place au besoin."
)

CANDIDATE_FOOTNOTE = (
    "Le candidat-travailleur est l’appellation utilisée dans le contexte de la RAC en milieu de "
    "travail pour désigner l’adulte en emploi qui souhaite entreprendre une démarche de "
    "reconnaissance des acquis et des compétences."
)

# -- editable defaults of a new plan ----------------------------------------------------

DEFAULT_CONTEXT = (
    "{representative} {employer.du} a accepté une offre de service {institution.du} en lien "
    "avec le plan de mise en œuvre d’un projet de reconnaissance des acquis et des compétences "
    "(RAC) en milieu de travail pour {target_jobs} et s’engage à en assurer le suivi. Par le "
    "fait même, il s’engage à agir en partenariat avec {institution.le} pour assurer le bon "
    "déroulement de la démarche.\n\n"
    "L’objectif poursuivi par {employer.le} est de soutenir les candidats-travailleurs en mettant "
    "en place les ressources, les modalités et les conditions facilitantes pour les soutenir "
    "selon ce qui a été convenu dans le plan de mise en œuvre pour contribuer à l’obtention "
    "{program.du} ({code}).\n\n"
    "En annexe A, vous trouverez plus de détails sur les rôles et responsabilités de chacune "
    "des parties et ce à quoi elles s’engagent."
)

DEFAULT_INSTITUTION_EXPERTISE = (
    "{institution.Le} est {strong} d’une expertise dans les divers domaines liés {field.au} "
    "et d’une "
    "expertise en RAC relative aux programmes d’études en lien avec ce projet."
)

DEFAULT_EQUIPMENT = (
    "{institution.Le} dispose de laboratoires équipés à la fine pointe de la technologie et "
    "d’équipement spécialisé dans chacun des créneaux d’expertise mentionnés ci-haut. Nous "
    "mettons à la disposition de nos partenaires nos ressources matérielles et humaines dans un "
    "souci de collaboration et de partage de l’expertise de notre équipe."
)

DEFAULT_SPECIALISTS_TEXT = (
    "L’expertise de nos spécialistes de contenu est au cœur de la démarche des personnes en "
    "RAC. L’accompagnement individualisé permet à chaque candidat de mettre en relation sa "
    "pratique professionnelle avec les notions reliées aux compétences essentielles du "
    "programme."
)

DEFAULT_ORGANISATION_EXPERTISE = (
    "{employer.Le} dispose d’une expertise dans le domaine {domain}. Valorisant le développement "
    "de carrière des personnes en emploi, {employer.le} s’engage à soutenir la démarche de RAC de "
    "ceux qui participeront à ce projet. En valorisant son personnel, {employer.le} contribue à "
    "développer le sentiment d’appartenance et l’engagement envers son organisation."
)

DEFAULT_OBJECTIVES = (
    "Reconnaître et évaluer les compétences des candidats-travailleurs {employer.du}.",
    "Mettre en œuvre le projet de RAC en milieu de travail au sein {employer.du} afin que "
    "{institution.le} et le milieu de travail puissent coordonner les actions relatives à la "
    "démarche de RAC.",
    "Soutenir les candidats-travailleurs dans leur démarche afin de leur permettre d’obtenir "
    "le diplôme ({kind} {code}).",
)

DEFAULT_PROCESS = (
    "Tout au long du projet de RAC en milieu de travail, notre équipe assurera une "
    "communication régulière avec les candidats-travailleurs pour les informer du déroulement "
    "et les soutenir à chacune des étapes de la démarche de RAC."
)

DEFAULT_IMPLEMENTATION = (
    "Lors de l’élaboration du plan de mise en œuvre, des conditions facilitantes, des moyens et "
    "des modalités, précisant la marche à suivre tout au long de la démarche de RAC, ont été "
    "déterminés par les deux parties afin de favoriser un équilibre entre les activités "
    "d’évaluation et les fonctions de travail du candidat-travailleur.\n\n"
    "{employer.Le} assurera la mise en place des modalités, des conditions facilitantes et des "
    "moyens tout au long de la réalisation des différentes étapes de la démarche (détaillé en "
    "annexe B).\n\n"
    "{institution.Le} assurera la mise en place de conditions facilitantes, de moyens "
    "d’accompagnement propres tout au long des étapes de la démarche."
)

DEFAULT_MISSING_TRAINING = (
    "Les activités de formation manquante seront offertes par {institution.le} en formule "
    "individualisée, à un moment convenu avec le gestionnaire du candidat-travailleur."
)

# -- the institution's annex template (seed's annexes A, B and C) -------------------------

DEFAULT_ANNEX_A = _annex("annexe_a.txt")

DEFAULT_ANNEX_B = _annex("annexe_b.txt")

DEFAULT_ANNEX_C = _annex("annexe_c.txt")

DEFAULT_ANNEX_B_ENTRIES = (
    (
        "accompaniment",
        "Rencontres individuelles d’accompagnement avec la spécialiste de contenu",
        "Cégep",
    ),
    (
        "facilitating",
        "Libération de trois heures par semaine sur le temps de travail pour la démarche",
        "Organisation",
    ),
    (
        "modalities",
        "Accès à un local fermé et à un poste informatique sur les lieux du travail",
        "Organisation",
    ),
)


def fill(*, institution, employer, kind: str, title: str, code: str, **more) -> dict:
    """What the ``{…}`` fields of these texts name: the parties with their article
    (``{institution.du}`` « du Cégep de Lévis », ``{employer.Le}``), the program with its
    type's article (``{program.le}`` « l'AEC en Techniques… », « le DEC en… ») and the field
    it is named after (``{field.au}`` « au programme Soins infirmiers »)."""
    institution, employer = named(institution), named(employer)
    return {
        "institution": institution,
        "employer": employer,
        "strong": institution.agree("fort", "forte"),
        "program": program(f"{kind} en {title}"),
        "field": program(title),
        "kind": kind,
        "title": title,
        "code": code,
        **more,
    }


# « du [nom du cégep] », « à [nom de l’organisation] »: the seed's words before a placeholder,
# and the form of the name they become.
_BEFORE = {
    "du": "du", "de": "du", "de la": "du", "de l’": "du", "De": "Du",
    "le": "le", "la": "le", "l’": "le", "Le": "Le", "La": "Le", "L’": "Le",
    "au": "au", "à": "au", "à la": "au", "à l’": "au",
}  # fmt: skip
_WORDS = "|".join(sorted((re.escape(w) for w in _BEFORE), key=len, reverse=True))


def substitute(text: str, *, organisation, institution) -> str:
    """Fill the seed's bracketed placeholders by plain replacement (no template engine), with
    the article and contraction the words before them call for."""
    for placeholder, name in (
        (ORGANISATION_PLACEHOLDER, named(organisation)),
        (INSTITUTION_PLACEHOLDER, named(institution)),
    ):
        pattern = re.compile(rf"(?<![\w’'])(?:({_WORDS})\s+)?{re.escape(placeholder)}")
        text = pattern.sub(lambda m, n=name: _form(m, n), text)
    return text


def _form(match: re.Match, name) -> str:
    before = match.group(1)
    if before is None:
        start = match.start() == 0 or match.string[: match.start()].rstrip()[-1:] in ".:–-\n"
        return name.Le if start else name.le
    return getattr(name, _BEFORE[before])


# -- the courtesy translation (seed 004, annex A, clause « Langue ») -----------------------
# The English PDF of a plan (``document.courtesy_translation_html``) translates what the
# platform writes: these fixed clauses, the document's headings and labels (its template,
# ``plan.en.html.j2``) and the contract's vocabularies (``Vocabulary.english``). What the
# parties typed is reproduced as written, in French; only the French version is binding.

COURTESY_NOTICE_FR = "Traduction de courtoisie — seule la version française fait foi"
COURTESY_NOTICE_EN = "Courtesy translation — only the French version is authoritative"

ENGLISH_ORGANISATION_CLAUSE = (
    "Accordingly, the role of the organisation is to act in partnership with {institution} to "
    "ensure that the process runs smoothly. It may under no circumstances use workplace RAC as "
    "a means of evaluating its staff, or of taking disciplinary or other measures. It is an "
    "individual and personal process from which the employer benefits, since it fosters "
    "internal mobility, increases performance and efficiency, and enriches the quality of "
    "practices while contributing to a balance between work and RAC."
)

ENGLISH_ACCEPTANCE_CLAUSES = (
    "Under the provisions listed in this document, the general conditions in annex A, the "
    "elements of the context of annex B, the confidentiality agreement in annex C and any other "
    "annex incorporated herein, {employer} retains the services of {institution} for the "
    "implementation of the workplace Recognition of Acquired Competencies (RAC) project for "
    "the {kind} in {title} ({code}).",
    "The written acceptance of the partner constitutes a contract between the parties.",
    "This acceptance must reach {institution} no later than 30 days after the date of issue of "
    "the proposal, failing which this contract will be void by operation of law.",
)

ENGLISH_MISSING_TRAINING_NOTE = (
    "If elements of competencies are not achieved, missing training (similar to customised "
    "training) will be offered. It will be put in place as needed."
)

ENGLISH_CANDIDATE_FOOTNOTE = (
    "Candidate-worker is the term used in the context of workplace RAC for an employed adult "
    "who wishes to undertake a process of recognition of acquired competencies."
)


def english_texts(*, institution: str, employer: str, kind: str, title: str, code: str) -> dict:
    """The fixed clauses of the courtesy translation, for these parties and program."""
    names = {
        "institution": institution,
        "employer": employer,
        "kind": kind,
        "title": title,
        "code": code,
    }
    return {
        "organisation_clause": ENGLISH_ORGANISATION_CLAUSE.format(**names),
        "acceptance_clauses": [c.format(**names) for c in ENGLISH_ACCEPTANCE_CLAUSES],
        "missing_training_note": ENGLISH_MISSING_TRAINING_NOTE,
        "candidate_footnote": ENGLISH_CANDIDATE_FOOTNOTE,
    }
