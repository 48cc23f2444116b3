"""What a jurist or the OQLF would strike out of a generated French text.

The French-quality tests (``tests/unit/test_french_quality.py`` for e-mails and documents,
``tests/integration/test_french_quality.py`` for every page and PDF of the demo) own this
list: each pattern names a mistake the platform once made, and a text passes when none of
them matches.
"""

from __future__ import annotations

import html
import re

MONTHS = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
# Words that start the name of something that takes an article in running text (the
# directory's organisations, the types of programs): after a preposition they need one.
ARTICLE_HEADS = (
    "Cégep|Collège|Centre|CISSS|CIUSSS|CSS|Commission|Boulangerie|Ministère|École|"
    "Université|Institut|Société|DEC|DEP|AEC|ASP|AEP"
)
PREPOSITIONS = "de|à|par|pour|avec|chez|sur|entre|envers|auprès de|dans|sans|selon|contre|vers"
CONSONANT = "bcdfgjklmnpqrstvwxzBCDFGJKLMNPQRSTVWXZ"
VOWEL = "aeiouyéèêàâîïôûAEIOUYÉÈÊÀÂÎÔÛ"
# Masculine role labels: wrong next to a person addressed as Madame.
MASCULINE_LABELS = (
    "Représentant|Directeur|Coordonnateur|Évaluateur|Administrateur|Conseiller|Analyste "
    "principal|Agent|Signataire autorisé"
)

PATTERNS: dict[str, re.Pattern] = {
    "article manquant après une préposition": re.compile(
        rf"(?<![\w'’-])(?:{PREPOSITIONS})\s+(?:{ARTICLE_HEADS})(?![\w-])"
    ),
    "« 1 » devant un mois (1er)": re.compile(rf"(?<![\d,.\w])1\s+(?:{MONTHS})\b"),
    "« (s) » après un nombre": re.compile(r"\d[\d\s\u00a0\u202f]*\s+\S*\((?:s|e|es|x)\)"),
    "élision devant une consonne (« l'D »)": re.compile(rf"(?<!\w)[lLdD]['’][{CONSONANT}]"),
    "élision manquante (« de É »)": re.compile(
        rf"(?<![\w'’-])(?:de|De|le|Le|la|La|que|Que|ne|jusque)\s+(?!ou\b)[{VOWEL}]"
    ),
    "double formule d'appel": re.compile(r"Madame[^/\n]{0,60}/\s*Monsieur"),
    # A decision was taken by one minister, who signs it (a general rule may say « la ou le »).
    "« la ou le ministre » d'une décision": re.compile(
        r"Pour la ou le ministre|décision du [^.|]{0,40}, la ou le ministre"
    ),
    "frais de 0,00 $": re.compile(r"frais[^.]{0,60}de 0,00\s\$"),
    "légende répétée": re.compile(r"(Résultat critère par critère)\s*\1"),
    "heure à l'anglaise (23h59)": re.compile(r"\b\d{1,2}h\d{2}\b"),
}

TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.DOTALL | re.IGNORECASE)
# What a page shows but did not write: code and what people typed into a form.
TYPED = re.compile(
    r"<(script|style|textarea|pre|code|kbd|samp)\b.*?</\1>|<[^>]+>", re.DOTALL | re.IGNORECASE
)
# Cells, items and blocks end a sentence: « Émise le » and « Échéance » are two headers.
BLOCK = re.compile(
    r"</?(?:td|th|tr|li|p|div|h\d|br|option|dt|dd|caption|section|nav|header|footer|label"
    r"|button|legend|summary)\b[^>]*>",
    re.IGNORECASE,
)
SPACES = re.compile(r"[\s\u00a0\u202f]+")

# French typography (``rac_shared.french.typeset``): a no-break space before « : » and
# inside « », a narrow one before ; ! ?. An ordinary space there lets a line break leave
# the mark alone at the start of a line. Checked on the text of pages and e-mail bodies
# (what the platform rendered), not on subjects (headers) or PDFs read back.
SPACING: dict[str, re.Pattern] = {
    "espace ordinaire devant « ; : ! ? »": re.compile(r"(?<=[^\s|]) [;:!?](?=\s|$)"),
    "espace ordinaire dans « »": re.compile(r"« | »"),
}


def _one_space(run: re.Match) -> str:
    """A run of spaces read as one: no-break if any of it is (a tag next to a no-break
    space is no place for a line break either)."""
    text = run.group(0)
    return "\u202f" if "\u202f" in text else "\u00a0" if "\u00a0" in text else " "


def text_of(markup: str) -> str:
    """The words of an HTML page or e-mail as a reader sees them, on one line (no-break
    spaces kept as such)."""
    return SPACES.sub(_one_space, html.unescape(TAG.sub(" ", BLOCK.sub(" | ", markup))))


def written_text_of(markup: str) -> str:
    """``text_of`` without code and form values: the text the platform wrote."""
    return SPACES.sub(_one_space, html.unescape(TYPED.sub(" ", BLOCK.sub(" | ", markup))))


def plain(text: str) -> str:
    return SPACES.sub(_one_space, text)


def spacing_faults(text: str) -> list[str]:
    """Every ordinary space where French typography wants a no-break one, in ``text``
    (``written_text_of`` a page or an e-mail's HTML, ``plain`` its text part)."""
    return _found(text, SPACING)


def faults(text: str, women: tuple[str, ...] = ()) -> list[str]:
    """Every forbidden pattern found in ``text`` (already reduced to words), with its
    surroundings; ``women`` are the full names of the people addressed as Madame, whose
    role labels must not be masculine."""
    checks = dict(PATTERNS)
    for name in women:
        checks[f"libellé masculin pour {name}"] = re.compile(
            rf"{re.escape(name)}\W{{1,5}}(?:{MASCULINE_LABELS})\b"
        )
    return _found(text, checks)


def _found(text: str, checks: dict[str, re.Pattern]) -> list[str]:
    found = []
    for label, pattern in checks.items():
        for match in pattern.finditer(text):
            start, end = max(0, match.start() - 40), match.end() + 40
            found.append(f"{label}: …{text[start:end]}…")
    return found
