"""Every e-mail the platform sends, read as a jurist would: each composer's message for each
of its recipients (subject, text and HTML parts), over the demo's organisations and people,
has none of the forbidden patterns of ``tests/support/french_quality.py``. The pages and PDFs
are read the same way over the real platform (``tests/integration/test_french_quality.py``).
"""

from __future__ import annotations

import json

import pytest

from services.notifications import catalogue, domain
from tests.support.french_quality import (
    PATTERNS,
    SPACING,
    faults,
    plain,
    spacing_faults,
    text_of,
    written_text_of,
)
from tests.unit import (
    test_notification_catalogue as base,
)
from tests.unit import (
    test_notification_cerac_life as cerac_life,
)
from tests.unit import (
    test_notification_complements as complements,
)
from tests.unit import (
    test_notification_scoring as scoring,
)

# The demo's directory (gateway/demo.py), under the ids the composers' payloads use.
ORGANISATIONS = {
    1: {"id": 1, "kind": "ministry", "name": "Ministère de l'Enseignement supérieur"},
    2: {"id": 2, "kind": "cegep", "name": "Cégep de Lévis"},
    3: {"id": 3, "kind": "cegep", "name": "Cégep Marie-Victorin"},
    4: {"id": 4, "kind": "school_service_centre",
        "name": "Centre de services scolaire des Navigateurs"},
    5: {"id": 5, "kind": "employer", "name": "CISSS de Chaudière-Appalaches"},
}  # fmt: skip
RENAMED = {
    base.HOSTILE: "CISSS de Chaudière-Appalaches",
    "CSS des Navigateurs": "Centre de services scolaire des Navigateurs",
}
WOMEN = ("Hélène Tremblay", "Geneviève Lévesque", "Isabelle Bégin", "Sophie Bélanger",
         "Nathalie Ouellet", "Julie Morin", "Émilie Gagnon")  # fmt: skip


class DemoDirectory(cerac_life.Directory):
    def get_organisation(self, organisation_id):
        return ORGANISATIONS[organisation_id]

    def list_organisations(self, kinds=None):
        return [o for o in ORGANISATIONS.values() if not kinds or o["kind"] in kinds]


def demo_payload(payload):
    """The payload with the demo's names in place of the hostile ones of the other tests."""
    text = payload.model_dump_json()
    for before, after in RENAMED.items():
        text = text.replace(json.dumps(before)[1:-1], after)
    return type(payload).model_validate_json(text)


PAYLOADS = {
    f"{module.__name__.rsplit('_', 1)[-1]}:{key}": payload
    for module in (base, cerac_life, scoring, complements)
    for key, payload in module.PAYLOADS.items()
}


def emails(key: str) -> tuple[list[str], list[str]]:
    """The texts of ``key``'s e-mails (subject, reason, bodies), and their bodies as
    rendered (text part, and the HTML part's text without code and values)."""
    payload = demo_payload(PAYLOADS[key])
    message = catalogue.COMPOSERS[type(payload)](payload, DemoDirectory(), base.URL)
    texts, bodies = [message.subject, message.why], []
    for recipient in message.recipients:
        context = {**message.context, "full_name": recipient.full_name, "why": message.why,
                   "subject": message.subject, "link": message.link}  # fmt: skip
        text, html = domain.render_email(message.kind, context)
        texts += [plain(text), text_of(html)]
        bodies += [plain(text), written_text_of(html)]
    return texts, bodies


@pytest.mark.parametrize("key", PAYLOADS)
def test_every_email_reads_as_correct_french(key):
    texts, bodies = emails(key)
    found = [fault for text in texts for fault in faults(text, WOMEN)]
    found += [fault for body in bodies for fault in spacing_faults(body)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("une offre de service de Cégep de Lévis", "article manquant après une préposition"),
        ("doit parvenir à Cégep de Lévis", "article manquant après une préposition"),
        ("pour l'DEC", "élision devant une consonne (« l'D »)"),
        ("Calendrier de Émilie", "élision manquante (« de É »)"),
        ("au plus tard le 1 décembre 2026", "« 1 » devant un mois (1er)"),
        ("1 facture(s) émise(s)", "« (s) » après un nombre"),
        (
            "Madame la Directrice générale, / Monsieur le Directeur général,",
            "double formule d'appel",
        ),
        ("Pour la ou le ministre", "« la ou le ministre » d'une décision"),
        ("des frais d'abandon de 0,00 $ sont facturés", "frais de 0,00 $"),
        ("avant 23h59", "heure à l'anglaise (23h59)"),
    ],
)
def test_the_checker_finds_each_mistake_the_platform_once_made(text, label):
    assert label in PATTERNS
    assert any(fault.startswith(label) for fault in faults(text))


def test_the_checker_passes_correct_french_and_knows_women():
    correct = ("Julie Morin, du CISSS de Chaudière-Appalaches, a accepté le 1er décembre 2026 "
               "à 23 h 59 l'offre du Cégep de Lévis pour l'AEC d'Émilie : 2 factures émises, "
               "le DEC de la Boulangerie Saint-Méthode inc. Pour la ministre,")  # fmt: skip
    assert faults(correct, ("Julie Morin",)) == []
    assert faults("Julie Morin · Représentant de l'organisation", ("Julie Morin",))


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Date limite de dépôt : 21 décembre", "espace ordinaire devant « ; : ! ? »"),
        ("Retirer la demande ?", "espace ordinaire devant « ; : ! ? »"),
        ("la période de pointe ; reprenons", "espace ordinaire devant « ; : ! ? »"),
        ("l'appel « Soins infirmiers »", "espace ordinaire dans « »"),
    ],
)
def test_the_checker_finds_ordinary_spaces_where_french_typography_wants_no_break_ones(text, label):
    assert label in SPACING
    assert any(fault.startswith(label) for fault in spacing_faults(text))


def test_the_checker_passes_french_spacing_and_reads_code_and_values_as_typed():
    assert spacing_faults("Date\u00a0: 21 décembre\u202f; «\u00a0Soins\u00a0» ici\u202f?") == []
    assert spacing_faults("https://exemple.quebec/a?b=1 à 10:30 | : ") == []
    page = (
        "<p><strong>Date</strong>\u00a0: 21 décembre</p><textarea>Motif : typé</textarea>"
        "<pre>a ; b</pre><p>Bonjour ; <code>x ? y</code></p>"
    )
    [fault] = spacing_faults(written_text_of(page))
    assert fault.startswith("espace ordinaire devant") and "Bonjour ;" in fault
