"""Every page each role reaches from its home page, and every PDF those pages link to, read
as a jurist would: none of the forbidden patterns of ``tests/support/french_quality.py``
(names without their article after a preposition, « 1 décembre », « 2 facture(s) »,
« l'DEC », « de Émilie », masculine labels for women…), and on pages no ordinary space where
French typography wants a no-break one (before « ; : ! ? », inside « »).

Over the demo on the real platform, like the crawler (``test_crawl.py``), with the PDFs'
text read back by pypdf.
"""

from __future__ import annotations

import io
import re
from collections import Counter, deque
from urllib.parse import urldefrag, urlparse

import pytest
import requests
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from tests.support.crawl import LINK, ROLES, SAME_SHAPE, shape
from tests.support.french_quality import faults, plain, spacing_faults, text_of, written_text_of

PAGES_PER_ROLE = 60
PDF = re.compile(r"/pdf$|\.pdf$|/fichiers/|/pieces/")
UPLOADED = re.compile(r"/fichiers/|/pieces/")  # files people sent, not the platform's documents
SKIPPED = re.compile(r"^/(static/|deconnexion)")
# The demo's people addressed as Madame (their role labels must be feminine).
WOMEN = (
    "Hélène Tremblay",
    "Geneviève Lévesque",
    "Isabelle Bégin",
    "Sophie Bélanger",
    "Nathalie Ouellet",
    "Amélie Pelletier",
    "Chantal Fortin",
    "Julie Morin",
    "Mélanie Fournier",
)


# The plan's courtesy translation is the one document in English (its typed text, in
# French, is the plan's: checked like the French PDF's).
ENGLISH = re.compile(r"/traduction-courtoisie\.pdf$")


def untagged(reader: PdfReader, language: str = "fr-CA") -> list[str]:
    """What a screen reader would miss in a document the platform wrote (PDF/UA-1)."""
    root = reader.trailer["/Root"]
    missing = []
    if "/StructTreeRoot" not in root or not bool(root.get("/MarkInfo", {}).get("/Marked")):
        missing.append("PDF non balisé")
    if root.get("/Lang") != language:
        missing.append(f"langue {root.get('/Lang')!r} au lieu de {language}")
    if not (reader.metadata and reader.metadata.title):
        missing.append("PDF sans titre")
    if not reader.outline:
        missing.append("PDF sans signets")
    return missing


def read(
    platform, email: str, structure: dict[str, list[str]], spacing: dict[str, list[str]]
) -> dict[str, str]:
    """The text of every page and PDF ``email`` reaches (at most SAME_SHAPE of a shape);
    ``structure`` gets what each PDF the platform wrote lacks for a screen reader,
    ``spacing`` each page's ordinary spaces where French typography wants no-break ones."""
    session = requests.Session()
    session.cookies.set("rac_session", platform.session_cookie(email))
    texts, shapes = {}, Counter()
    queue = deque(["/"])
    while queue and len(texts) < PAGES_PER_ROLE:
        path = queue.popleft()
        if path in texts or shapes[shape(path)] >= SAME_SHAPE:
            continue
        shapes[shape(path)] += 1
        response = session.get(f"{platform.url}{path}", allow_redirects=False, timeout=60)
        kind = response.headers.get("Content-Type", "")
        if response.status_code != 200:
            texts[path] = ""
        elif "application/pdf" in kind:
            try:
                reader = PdfReader(io.BytesIO(response.content))
                pages = [page.extract_text() or "" for page in reader.pages]
            except PdfReadError:  # a file someone uploaded, not a document the platform wrote
                assert "/fichiers/" in path or "/pieces/" in path, f"{path}: unreadable PDF"
                pages = []
            else:
                if not UPLOADED.search(path):
                    english = ENGLISH.search(urlparse(path).path)
                    structure[path] = untagged(reader, "en-CA" if english else "fr-CA")
            texts[path] = plain(" ".join(pages))
        elif "text/html" in kind:
            texts[path] = text_of(response.text)
            spacing[path] = spacing_faults(written_text_of(response.text))
            for href in LINK.findall(response.text):
                link = urldefrag(href.replace("&amp;", "&"))[0]
                parsed = urlparse(link)
                if parsed.scheme or parsed.netloc or not link.startswith("/"):
                    continue
                if not SKIPPED.search(parsed.path) and link not in texts:
                    # PDFs first: each is a document of the demo a role can open
                    (queue.appendleft if PDF.search(parsed.path) else queue.append)(link)
        else:
            texts[path] = ""
    return texts


@pytest.mark.parametrize("email", ROLES)
def test_every_page_and_pdf_a_role_reaches_reads_as_correct_french(platform, email):
    structure: dict[str, list[str]] = {}
    spacing: dict[str, list[str]] = {}
    texts = read(platform, email, structure, spacing)
    documents = [path for path in texts if PDF.search(urlparse(path).path)]
    assert documents or email.startswith("evaluatrice"), f"{email} opened no PDF: {sorted(texts)}"
    problems = [
        f"{path} — {fault}" for path, text in texts.items() for fault in faults(text, WOMEN)
    ]
    problems += [f"{path} — {lack}" for path, lacks in structure.items() for lack in lacks]
    problems += [f"{path} — {fault}" for path, found in spacing.items() for fault in found]
    print(
        f"\n{email}: {len(texts)} pages and PDFs ({len(structure)} written by the platform, "
        f"read back as tagged PDF/UA), {len(problems)} faults"
    )
    assert not problems, "\n".join(problems)
