"""The plan as a document: HTML from an autoescaped template, then PDF (WeasyPrint).

The PDF is French, on Letter pages with running headers naming both parties (taken from the
cover page with CSS ``string-set``, never by writing user text into CSS), page numbers
(« Page 3 de 14 », CSS counters) and a table of contents whose page numbers come from
``target-counter``. Rendering happens in a child process with no network or file access
(``rac_shared.pdf``): only inline ``data:`` images (the institution's checked logo).
The cost estimate is billing's own HTML fragment (``billing.estimate_html``).

The courtesy translation (seed 004, annex A, clause « Langue ») is an English PDF of the
same view, from its own template (``plan.en.html.j2``), the contract's English labels and
en_CA dates and money, marked « Traduction de courtoisie — seule la version française fait
foi »; its cost table is written from the version's frozen estimate.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from markupsafe import Markup

from rac_shared.contracts.billing import LineCategory, Milestone, TaxTreatment
from rac_shared.contracts.plans import (
    AcceptanceChannel,
    AnnexBCategory,
    Modality,
    ProgramKind,
    StepKind,
)
from rac_shared.formatting import long_date
from rac_shared.pdf import render_pdf
from rac_shared.templating import make_environment
from services.plans import texts
from services.plans.calendar import ENGLISH_HOLIDAYS

TEMPLATES = Path(__file__).resolve().parent / "templates"
templates = make_environment(TEMPLATES)

BULLETS = ("·", "•", "-", "*", "–")


def text_blocks(text: str) -> list[dict]:
    """Plain text → paragraphs and bullet lists (the only structure typed text has)."""
    blocks: list[dict] = []
    for raw in (text or "").split("\n"):
        line = raw.strip()
        if not line:
            blocks.append({"kind": "break"})
            continue
        if line.startswith(BULLETS) and len(line) > 1:
            item = line.lstrip("".join(BULLETS)).strip()
            if blocks and blocks[-1]["kind"] == "list":
                blocks[-1]["items"].append(item)
            else:
                blocks.append({"kind": "list", "items": [item]})
        else:
            heading = len(line) < 90 and line[:3].rstrip(")").isdigit() and ")" in line[:4]
            blocks.append({"kind": "heading" if heading else "para", "text": line})
    return [b for b in blocks if b["kind"] != "break"]


templates.globals["text_blocks"] = text_blocks


def plan_html(view: dict, estimate_html: str | None, draft: bool = False) -> str:
    """The whole plan (``views.plan_view``) with annexes and billing's estimate."""
    version = view["version"]
    deadline: datetime | None = version["acceptance_deadline"]
    return templates.get_template("plan.html.j2").render(
        view=view,
        plan=view["plan"],
        content=view["content"],
        computed=view["computed"],
        texts=view["texts"],
        version=version,
        issued_on=version["issued_on"],
        deadline=deadline,
        draft=draft,
        estimate_html=Markup(estimate_html) if estimate_html else None,
        evaluation_fees=_evaluation_fees(version.get("estimate")),
        annex_b_categories=AnnexBCategory.choices(),
        today=date.today(),
        long_date=long_date,
    )


def _evaluation_fees(estimate: dict | None) -> list[str]:
    if not estimate:
        return []
    return [
        line.get("unit_price")
        for line in estimate.get("lines", [])
        if line.get("category") == "evaluation" and line.get("unit_price") is not None
    ]


def render_plan_pdf(view: dict, estimate_html: str | None) -> bytes:
    return render_pdf(plan_html(view, estimate_html))


# -- the courtesy translation -----------------------------------------------------------------

ENGLISH_TAX_NAMES = {"TPS": "GST", "TVQ": "QST"}


def english_percent(rate) -> str:
    """``0.09975`` → ``9.975%``."""
    return format((Decimal(str(rate)) * 100).normalize(), "f") + "%"


templates.filters["english_percent"] = english_percent


def courtesy_translation_html(view: dict) -> str:
    """The plan (``views.plan_view`` of an issued version) in English, for information."""
    version, content = view["version"], view["content"]
    program = content["program"]
    return templates.get_template("plan.en.html.j2").render(
        view=view,
        plan=view["plan"],
        content=content,
        computed=view["computed"],
        texts=texts.english_texts(
            institution=content["institution"]["name"],
            employer=content["employer"]["name"],
            kind=ProgramKind.english_of(program["kind"]),
            title=program["title"],
            code=program["code"],
        ),
        version=version,
        issued_on=version["issued_on"],
        deadline=version["acceptance_deadline"],
        evaluation_fees=_evaluation_fees(version.get("estimate")),
        notice_fr=texts.COURTESY_NOTICE_FR,
        notice_en=texts.COURTESY_NOTICE_EN,
        holidays=ENGLISH_HOLIDAYS,
        tax_names=ENGLISH_TAX_NAMES,
        StepKind=StepKind,
        Modality=Modality,
        ProgramKind=ProgramKind,
        AnnexBCategory=AnnexBCategory,
        AcceptanceChannel=AcceptanceChannel,
        LineCategory=LineCategory,
        TaxTreatment=TaxTreatment,
        Milestone=Milestone,
    )


def render_courtesy_translation(view: dict) -> bytes:
    return render_pdf(courtesy_translation_html(view))


# -- draft previews -------------------------------------------------------------------------

PREVIEW_CACHE_BYTES = 48 * 1024 * 1024


class PreviewCache:
    """Draft previews by the hash of their HTML, least recently used out first.

    A preview is asked again and again while a coordinator checks a draft (and by each
    person they show it to); rendering it costs a second or more of CPU. Its HTML is the
    whole content of the document (the draft, billing's estimate, the parties, the
    « projet » mark), so an unchanged draft gives the same hash and the same PDF, and any
    change, however small, another hash: nothing to invalidate. Per process, bounded in
    bytes; a service restarted renders again.
    """

    def __init__(self, limit: int = PREVIEW_CACHE_BYTES):
        self.limit = limit
        self._pdfs: dict[str, bytes] = {}  # insertion order = least recently used first
        self._size = 0
        self.hits = self.misses = 0

    def pdf(self, html: str, render=None) -> bytes:
        import hashlib

        key = hashlib.sha256(html.encode("utf-8")).hexdigest()
        pdf = self._pdfs.pop(key, None)
        if pdf is not None:
            self._pdfs[key] = pdf  # most recently used now
            self.hits += 1
            return pdf
        self.misses += 1
        pdf = (render or render_pdf)(html)
        if len(pdf) <= self.limit and key not in self._pdfs:
            self._pdfs[key] = pdf
            self._size += len(pdf)
            while self._size > self.limit:
                oldest = next(iter(self._pdfs))
                self._size -= len(self._pdfs.pop(oldest))
        return pdf

    def clear(self) -> None:
        self._pdfs.clear()
        self._size = 0


previews = PreviewCache()


def render_preview_pdf(view: dict, estimate_html: str | None) -> bytes:
    """The draft marked « projet non émis », rendered once per distinct content."""
    return previews.pdf(plan_html(view, estimate_html, draft=True))
