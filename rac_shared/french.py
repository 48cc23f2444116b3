"""French grammar for generated text, in one place: names with their article, elision,
contractions, plurals from a count, feminine role labels, French spacing.

A plan is a contract and a letter a ministerial decision: « du Cégep de Lévis », « à la
Boulangerie Saint-Méthode inc. », « de l'AEC », « d'Émilie », « 2 factures » are what a
jurist would write. Organisations carry their article and gender in the directory (the
ministry or the organisation's administrator corrects them); anything else — a name that
travels as text in an event, a program's title — gets the article its first word implies
(``default_article``), with a short list of exceptions.

Templates use the filters (``{{ name|du }}``, ``{{ name|Le }}``, ``{{ person|de }}``,
``{{ n|plural("facture") }}``); Python uses ``named(...)`` and ``plural(...)``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from babel.plural import PluralRule
from markupsafe import Markup


class Gender(StrEnum):
    MASCULINE = "m"
    FEMININE = "f"


class Article(StrEnum):
    """How a name is introduced in running text; ``NONE`` for proper names (« Desjardins »)."""

    LE = "le"
    LA = "la"
    L = "l'"
    LES = "les"
    NONE = ""


# First words whose gender is known. « CSS des Navigateurs » is « le Centre de services
# scolaire »; program types: le DEC, le DEP, l'AEC, l'ASP, l'AEP (attestations are feminine).
MASCULINE_HEADS = frozenset(
    "cégep collège centre cisss ciusss css cpe clsc chsld chu chum ministère groupe conseil "
    "service institut hôpital hôtel regroupement syndicat bureau musée cabinet club réseau "
    "garage restaurant magasin laboratoire atelier office mouvement dec dep programme "
    "diplôme secrétariat comité département cercle domaine village".split()
)
FEMININE_HEADS = frozenset(
    "boulangerie commission société coopérative caisse fédération ville municipalité "
    "université école entreprise association clinique fondation corporation compagnie "
    "résidence maison pharmacie agence fromagerie ferme imprimerie banque régie direction "
    "chambre fabrique quincaillerie boucherie pâtisserie brasserie microbrasserie usine "
    "manufacture scierie fonderie aec asp aep attestation polyvalente table fabrique "
    "auberge érablière".split()
)
# Names whose first word would mislead (lower case, whole name or its first words).
EXCEPTIONS: dict[str, tuple[Article, Gender]] = {
    "hec montréal": (Article.NONE, Gender.FEMININE),
    "polytechnique montréal": (Article.NONE, Gender.FEMININE),
    "télé-université": (Article.LA, Gender.FEMININE),
    "teluq": (Article.LA, Gender.FEMININE),
    "hydro-québec": (Article.NONE, Gender.FEMININE),
    "loto-québec": (Article.NONE, Gender.FEMININE),
    "investissement québec": (Article.NONE, Gender.MASCULINE),
    "centre-du-québec": (Article.LE, Gender.MASCULINE),
    "cégep à distance": (Article.LE, Gender.MASCULINE),
}
# Words with an aspirated h: no elision (« le hangar », « de Hockey Canada » reads « de »).
ASPIRATED_H = frozenset(
    "hache haie halle hameau hamac hangar hareng haricot harpe hasard haut hauteur héros "
    "hibou hockey homard honte hors hotte houblon housse huit hutte hall handicap harfang "
    "hérisson hiérarchie hec".split()
)
VOWELS = "aeiouàâäéèêëîïôöùûüœæ"
ARTICLE_WORDS = {"le": Article.LE, "la": Article.LA, "les": Article.LES}


def elides(word: str) -> bool:
    """Whether ``word`` takes « l' », « d' », « qu' » before it: a vowel, a mute h, an ``y``
    sounding as a vowel (« Yves », not « Yannick »), an acronym read letter by letter that
    starts with a vowel (« AEC », « ASP »)."""
    if not word:
        return False
    first = word[0].lower()
    head = re.split(r"[\s'’-]", word.lower(), maxsplit=1)[0]
    if first in VOWELS:
        return True
    if first == "h":
        return head not in ASPIRATED_H
    if first == "y":
        return len(word) > 1 and word[1].lower() not in VOWELS
    return False


def default_article(name: str) -> tuple[Article, Gender]:
    """The article and gender a name's first word implies; a proper name takes none."""
    lowered = " ".join(name.lower().split())
    for key, value in EXCEPTIONS.items():
        if lowered == key or lowered.startswith(key + " "):
            return value
    words = lowered.split(maxsplit=1)
    first = words[0] if words else ""
    if first in ARTICLE_WORDS and len(words) > 1:
        article = ARTICLE_WORDS[first]
        gender = Gender.FEMININE if article is Article.LA else default_article(words[1])[1]
        return article, gender
    if first.startswith(("l'", "l’")) and len(first) > 2:
        return Article.L, default_article(name[2:])[1]
    if first in MASCULINE_HEADS or first in FEMININE_HEADS:
        gender = Gender.MASCULINE if first in MASCULINE_HEADS else Gender.FEMININE
        if elides(first):
            return Article.L, gender
        return (Article.LE if gender is Gender.MASCULINE else Article.LA), gender
    return Article.NONE, Gender.MASCULINE


def capitalised(text: str) -> str:
    """The first letter in capitals, for the start of a sentence (« Le Cégep », « D'Émilie »)."""
    return text[:1].upper() + text[1:]


def de(word: str) -> str:
    """« de Julie », « d'Émilie », « d'Hélène » (people and names used without article)."""
    word = str(word)
    return ("d'" if elides(word) else "de ") + word


def que(word: str) -> str:
    word = str(word)
    return ("qu'" if elides(word) else "que ") + word


@dataclass(frozen=True)
class Named:
    """A name with its article, in every form running text needs.

    ``le`` « le Cégep de Lévis » / « la Boulangerie… » / « l'AEC… » / « Desjardins »;
    ``du`` « du Cégep », « de la Boulangerie », « de l'AEC », « des Entreprises », « de
    Desjardins », « d'Hydro-Québec »; ``au`` « au Cégep », « à la Boulangerie », « à l'AEC »,
    « aux Entreprises », « à Desjardins »; and ``Le``, ``Du``, ``Au`` to start a sentence.
    """

    name: str
    article: Article
    gender: Gender

    def __str__(self) -> str:
        return self.name

    @property
    def bare(self) -> str:
        """The name without a leading article it was written with (« Les Entreprises X »)."""
        first, _, rest = self.name.partition(" ")
        if (
            self.article in (Article.LE, Article.LA, Article.LES)
            and first.lower() in (ARTICLE_WORDS)
            and rest
        ):
            return rest
        if self.article is Article.L and self.name[:2].lower() in ("l'", "l’"):
            return self.name[2:]
        return self.name

    @property
    def le(self) -> str:
        if self.article is Article.NONE:
            return self.bare
        if self.article is Article.L:
            # the apostrophe as the name was typed (« l’éducation » stays typographic)
            typed = self.name[:2].lower() if self.name[:2].lower() in ("l'", "l’") else "l'"
            return typed + self.bare
        return f"{self.article.value} {self.bare}"

    @property
    def du(self) -> str:
        match self.article:
            case Article.LE:
                return "du " + self.bare
            case Article.LES:
                return "des " + self.bare
            case Article.NONE:
                return de(self.bare)
        return "de " + self.le

    @property
    def au(self) -> str:
        match self.article:
            case Article.LE:
                return "au " + self.bare
            case Article.LES:
                return "aux " + self.bare
        return "à " + self.le

    @property
    def Le(self) -> str:  # noqa: N802 (a sentence's start, as written in a template)
        return capitalised(self.le)

    @property
    def Du(self) -> str:  # noqa: N802
        return capitalised(self.du)

    @property
    def Au(self) -> str:  # noqa: N802
        return capitalised(self.au)

    @property
    def feminine(self) -> bool:
        return self.gender is Gender.FEMININE

    def agree(self, masculine: str, feminine: str) -> str:
        """The adjective or participle that agrees with the name (« établi » / « établie »)."""
        return feminine if self.feminine else masculine


def named(name, article: str | Article | None = None, gender: str | Gender | None = None) -> Named:
    """``name`` with its article: the one given (the directory's), else the default its
    first word implies. Accepts a ``Named`` or a directory record (``{"name", "article",
    "gender"}``) as well as text."""
    if isinstance(name, Named):
        return name
    if isinstance(name, dict):
        return named(name["name"], name.get("article"), name.get("gender"))
    if hasattr(name, "name") and hasattr(name, "article"):
        return named(name.name, name.article, getattr(name, "gender", None))
    name = str(name)
    default, default_gender = default_article(name)
    chosen = Article(article) if article is not None else default
    return Named(name, chosen, Gender(gender) if gender else default_gender)


def program(title: str) -> Named:
    """A program with its article: typed ones by their type (« le DEC en Soins infirmiers »,
    « l'AEC en Techniques… »); one named after its field is introduced (« le programme
    Soins infirmiers »)."""
    result = named(title)
    if result.article is Article.NONE:
        return Named(f"programme {title}", Article.LE, Gender.MASCULINE)
    return result


# -- plurals -------------------------------------------------------------------------------

# French (CLDR, as Babel has it): 0 and 1 are singular — « 0 facture », « 1,5 heure ».
_FRENCH = PluralRule({"one": "i = 0,1", "many": "e = 0 and i != 0 and i % 1000000 = 0 and v = 0"})


def plural(count, singular: str, plural_form: str | None = None, with_count: bool = True) -> str:
    """« 1 facture », « 2 factures », « 0 facture », « 10 heures » (Babel's French rule);
    irregular plurals are given (``plural(n, "CERAC désigné", "CERAC désignés")``)."""
    many = plural_form if plural_form is not None else _regular_plural(singular)
    word = singular if _FRENCH(abs(int(count))) == "one" else many
    if not with_count:
        return word
    return f"{_count_text(count)} {word}"


def ordinal(rank: int, feminine: bool = False) -> str:
    """« 1er » / « 1re », « 2e », « 3e » (the OQLF's abbreviations, no superscript needed)."""
    if rank == 1:
        return "1re" if feminine else "1er"
    return f"{rank}e"


def enumeration(items) -> str:
    """« A », « A et B », « A, B et C »."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " et " + items[-1]


def _regular_plural(singular: str) -> str:
    """Each word of a group (« facture émise » → « factures émises »), the regular way."""

    def one(word: str) -> str:
        if word.endswith(("s", "x", "z")) or not word[-1:].isalpha() or word.isupper():
            return word
        if word.endswith(("au", "eu")):
            return word + "x"
        if word.endswith("al") and word not in ("final", "bancal", "natal", "naval"):
            return word[:-2] + "aux"
        return word + "s"

    small = {"de", "du", "des", "d'", "à", "au", "en", "la", "le", "l'", "par", "sur", "et"}
    words = singular.split(" ")
    out, after_preposition = [], False
    for word in words:
        if after_preposition or word in small:
            out.append(word)
            after_preposition = after_preposition or word in small
        else:
            out.append(one(word))
    return " ".join(out)


def _count_text(count) -> str:
    from rac_shared.formatting import number

    if isinstance(count, int):
        return number(count, 0)
    return str(count)


# -- people --------------------------------------------------------------------------------


class FormOfAddress(StrEnum):
    MADAME = "Madame"
    MONSIEUR = "Monsieur"


def salutation(form_of_address: str | None, title: str | None = None) -> str:
    """« Madame, » / « Monsieur, »; « Madame la Directrice générale, » with a title; and
    « Madame, Monsieur, » only when nobody is known."""
    if not form_of_address:
        return "Madame, Monsieur,"
    if title:
        article = "la" if form_of_address == FormOfAddress.MADAME else "le"
        return f"{form_of_address} {article} {capitalised(title)},"
    return f"{form_of_address},"


def gendered(form_of_address: str | None, epicene: str, feminine: str, masculine: str) -> str:
    """The label that follows a person's form of address, or the épicène one."""
    if form_of_address == FormOfAddress.MADAME:
        return feminine
    if form_of_address == FormOfAddress.MONSIEUR:
        return masculine
    return epicene


# -- typography ----------------------------------------------------------------------------

NBSP = "\u00a0"
NNBSP = "\u202f"
_SPACES = " \t\r\n\u00a0\u202f"
_WORD_ENDS = "_»)]%$"  # besides letters and figures, what a mark may follow with no space
_ENTITY = re.compile(r"&#?\w+;$")


def _candidates(html: bool) -> re.Pattern:
    """Where French typography may act, as one expression whose every branch starts with
    one character (« : ; ! ? « » h <», so the scan skips everything else at C speed): a
    mark followed by a space or the end (« 10:30 », « a?b=1 », « https:// » are not
    punctuation), a guillemet, the « h » of a time after a figure; in HTML, comments and
    the elements whose text is code or a value (script, style, pre, code, kbd, samp,
    textarea) are stepped over whole."""
    branches = [rf"{re.escape(mark)}(?=[\s<]|$)" for mark in ":;!?"]
    branches += ["«", "»", r"h(?<=\d h)(?![\w'’])(?: (?=\d\d(?!\d)))?"]
    if html:
        branches.insert(
            0,
            r"<(?:!--.*?-->|(?P<raw>(?i:script|style|pre|code|kbd|samp|textarea))\b.*?"
            r"</(?P=raw)\s*>)",
        )
    return re.compile("|".join(branches), re.DOTALL)


_TEXT_CANDIDATES = _candidates(html=False)
_HTML_CANDIDATES = _candidates(html=True)


def _spaced(text: str, html: bool) -> str:
    """One pass over ``text``: each candidate is decided where it is found and the output
    is written once (a no-break space before « : » and inside « », a narrow one before
    ; ! ?, no-break spaces around the « h » of « 23 h 59 »)."""
    out, last = [], 0
    scanned, in_tag = 0, False  # whether the text up to ``scanned`` ends inside a tag
    for match in (_HTML_CANDIDATES if html else _TEXT_CANDIDATES).finditer(text):
        start, found = match.start(), match.group(0)
        first = found[0]
        if first == "<":  # a comment, a script, a style, code or a text area: as written
            scanned, in_tag = match.end(), False
            continue
        if html:  # never inside a tag (attributes, URLs, form values): each character
            opened = text.rfind("<", scanned, start)  # is looked at once, whatever the page
            closed = text.rfind(">", scanned, start)
            if opened != closed:  # both -1 when the stretch has neither
                in_tag = opened > closed
            scanned = start
            if in_tag:
                continue
        if first == "h":  # « 23 h 59 », « 6 h / semaine »
            out += (text[last : start - 1], NBSP + "h" + (NBSP if len(found) > 1 else ""))
            last = match.end()
            continue
        if first == "«":
            end = match.end()
            while end < len(text) and text[end] in _SPACES:
                end += 1
            out += (text[last:start], "«" + NBSP)
            last = end
            continue
        # A mark or a closing guillemet: the spaces before it become one no-break space.
        before = start
        while before > last and text[before - 1] in _SPACES:
            before -= 1
        if first != "»":
            previous = text[before - 1] if before else " "
            if before == start:  # no space typed: after a word, a figure, a closing mark
                if not (previous.isalnum() or previous in _WORD_ENDS):
                    continue
                if first == ";" and html and _ENTITY.search(text, max(0, start - 10), start + 1):
                    continue  # the end of a character reference (« &#39; »)
            elif not (
                previous.isalnum()
                or previous in _WORD_ENDS
                or (html and (previous == ">" or text.endswith(("&#34;", "&#39;"), 0, before)))
            ):
                continue
        out += (text[last:before], (NBSP if first in ":»" else NNBSP) + first)
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def french_spacing(text) -> str:
    """French spacing in running text (OQLF): a no-break space before « : », inside « »
    and in « 23 h 59 », a narrow no-break space before ; ! ? — one pass over the text.
    Markup stays markup (and is read as HTML: its tags are stepped over)."""
    if isinstance(text, Markup):
        return Markup(french_spacing_html(str(text)))
    return _spaced(str(text), html=False)


def french_spacing_html(markup: str) -> str:
    """``french_spacing`` on the text of an HTML document, in one pass, never inside its
    tags and attributes, comments, scripts, styles, code, preformatted text or text areas
    (« a:hover », « content: », URLs and form values stay as they are)."""
    return _spaced(markup, html=True)


# Templates in another language say so in their name (``plan.en.html.j2``): French
# typography is for French text only.
_OTHER_LANGUAGE = re.compile(r"\.(?!fr\.)[a-z]{2}\.(?:html|txt)\.j2$")


def typeset(template_name: str | None, output: str) -> str:
    """The one typographic filter, applied to everything a template renders: a page, an
    e-mail's HTML (``french_spacing_html``) or plain-text part (``french_spacing``), a
    document's HTML. E-mail headers are not templates: a subject is never touched."""
    name = template_name or ""
    if _OTHER_LANGUAGE.search(name):
        return output
    if name.endswith((".txt.j2", ".txt")):
        return french_spacing(output)
    return french_spacing_html(output)


# -- Jinja filters -------------------------------------------------------------------------


def _form(attribute: str):
    def apply(value) -> str:
        if value is None or value == "":
            return ""
        return getattr(named(value), attribute)

    apply.__name__ = attribute
    return apply


def _role_label(role, form_of_address: str | None = None) -> str:
    from rac_shared.actor import role_label

    return role_label(role, form_of_address)


JINJA_FILTERS = {
    "role_label": _role_label,
    "le": _form("le"),
    "Le": _form("Le"),
    "du": _form("du"),
    "Du": _form("Du"),
    "au": _form("au"),
    "Au": _form("Au"),
    "de": de,
    "que": que,
    "capitalised": capitalised,
    "program": lambda title: program(title).le,
    "program_du": lambda title: program(title).du,
    "plural": plural,
    "french_spacing": french_spacing,
}


def sort_key(text: str | None) -> str:
    """Accent- and case-insensitive order, as a French reader expects (Cégep < Centre <
    École): what a list stores beside a name to sort it in SQL."""
    decomposed = unicodedata.normalize("NFD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
