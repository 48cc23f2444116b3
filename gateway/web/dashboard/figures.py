"""The dashboard's sections, one per figure, built from the services' typed figures: an
accessible SVG chart drawn on the server, its data table, its CSV and its JSON.

Each builder reads one contract reply (``PlanFigures``, ``FundingFigures``…) — the shapes
are the contract's, checked when the reply is parsed — or None when the service could not
answer, which leaves the section saying « données indisponibles ».
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from gateway import charts
from rac_shared.contracts.applications import ApplicationsFigures
from rac_shared.contracts.billing import BillingFigures
from rac_shared.contracts.funding import FundingFigures
from rac_shared.contracts.network import ReportingFigures
from rac_shared.contracts.plans import PlanFigures
from rac_shared.contracts.scoring import ScoringFigures
from rac_shared.formatting import long_date, money
from rac_shared.tabular import csv_text

log = logging.getLogger(__name__)

DASHBOARD = "/tableau-de-bord"
SERVICES = ("applications", "scoring", "plans", "billing")
TOP_PROGRAMS = 15
UNAVAILABLE = (
    "Données indisponibles : le service qui tient ces chiffres ne répond pas pour le moment. "
    "Les autres sections du tableau de bord restent à jour; réessayez dans un instant."
)
ACCEPTANCE_DEFINITION = (
    "Taux d'acceptation : parmi les offres dont le délai d'acceptation de 30 jours est échu "
    "et celles que l'organisation a refusées, part des offres acceptées par écrit, soit "
    "acceptées ÷ (acceptées + caduques + refusées). Une offre est une version émise d'un "
    "plan (un plan modifié puis émis de nouveau compte comme une nouvelle offre); les offres "
    "retirées ou remplacées avant l'échéance ne comptent pas."
)


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | count | money | percent | date


@dataclass
class Section:
    slug: str
    title: str
    service: str  # the service whose RPC answers for it
    intro: str = ""
    available: bool = False
    unavailable_reason: str = UNAVAILABLE
    chart: charts.Chart | None = None
    columns: list[Column] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)  # (term, French value)
    notes: list[str] = field(default_factory=list)
    empty: str = "Aucune donnée pour le moment."
    summary: dict = field(default_factory=dict)  # JSON extras (rates, totals)

    @property
    def svg(self) -> Markup:
        if self.chart is None:
            return Markup("")
        try:
            return Markup(charts.render(self.chart))
        except Exception:  # the table below still gives the figures
            log.exception("dashboard: could not draw the %s chart", self.slug)
            return Markup(
                '<p class="notice">Le graphique ne peut pas être affiché; le tableau des '
                "données ci-dessous donne les mêmes chiffres.</p>"
            )

    @property
    def csv_url(self) -> str:
        return f"{DASHBOARD}/{self.slug}.csv"

    def cells(self, row: list[Any]) -> list[str]:
        return [_html_cell(v, c.kind) for v, c in zip(row, self.columns, strict=True)]

    def csv(self) -> str:
        """Semicolon-separated, decimal comma: what a French spreadsheet opens."""
        return csv_text(
            [c.header for c in self.columns],
            ([_csv_cell(v, c.kind) for v, c in zip(row, self.columns, strict=True)]
             for row in self.rows),
        )  # fmt: skip

    def json(self) -> dict:
        return {
            "title": self.title,
            "service": self.service,
            "available": self.available,
            "columns": [{"header": c.header, "kind": c.kind} for c in self.columns],
            "rows": [[_json_value(v) for v in row] for row in self.rows],
            **({"summary": self.summary} if self.summary else {}),
        }


# How a cell of each kind reads on the page (text as it is).
HTML_CELLS = {
    "count": charts.fr_number,
    "money": money,
    "percent": charts.fr_percent,
    "date": long_date,
}


def _html_cell(value, kind: str) -> str:
    return "—" if value is None or value == "" else HTML_CELLS.get(kind, str)(value)


def _csv_cell(value, kind: str):
    if value is None:
        return ""
    if kind == "money":
        return f"{value:.2f}".replace(".", ",")
    if kind == "percent":
        return str(value).replace(".", ",")
    return value


def _json_value(value):
    return str(value) if isinstance(value, Decimal | date) else value


def _plural(count: int, word: str) -> str:
    """« 1 acceptée », « 3 caduques »: the count is known, so is the plural."""
    return f"{charts.fr_number(count)} {word}{'s' if count > 1 else ''}"


@dataclass(frozen=True)
class Figure:
    title: str
    service: str  # the service whose RPC answers for it
    intro: str
    part: str | None  # the part of the service's figures it reads (``funding``), if not all
    fill: Callable[[Section, Any], None]  # the section from the figures, when they came


FIGURES: dict[str, Figure] = {}  # by slug, in the page's order


def figure(slug: str, title: str, service: str, intro: str, part: str | None = None):
    """Declare a figure of the dashboard: the function that fills its section from the
    service's figures (its chart, table, facts), called only when they came."""

    def register(fill: Callable[[Section, Any], None]) -> Callable[[Section, Any], None]:
        FIGURES[slug] = Figure(title, service, intro, part, fill)
        return fill

    return register


# -- one builder per figure ------------------------------------------------------------------


@figure(
    "demandes",
    "Demandes de reconnaissance par appel et par statut",
    "applications",
    intro="Les demandes des établissements à chaque appel d'intérêt publié, selon leur "
    "statut : en préparation, déposée, recevable ou non recevable, retirée.",
)
def applications_section(section: Section, data: ApplicationsFigures) -> None:
    statuses, calls = data.statuses, data.applications_per_call
    shown = [s for s in statuses if any(c.counts.get(s.key, 0) for c in calls)]
    section.columns = [
        Column("Appel d'intérêt"),
        *(Column(s.label, "count") for s in statuses),
        Column("Total", "count"),
    ]
    section.rows = [
        [c.call_title, *[c.counts.get(s.key, 0) for s in statuses], c.total] for c in calls
    ]
    section.facts = [("Demandes, tous appels confondus", charts.fr_number(data.total))]
    section.empty = "Aucun appel d'intérêt publié pour le moment."

    def described(call) -> str:
        parts = [
            f"{s.label.lower()} {charts.fr_number(call.counts[s.key])}"
            for s in shown
            if call.counts.get(s.key)
        ]
        return f"{call.call_title} : {_plural(call.total, 'demande')}" + (
            f" ({', '.join(parts)})" if call.total else ""
        )

    section.chart = charts.Chart(
        "graphique-demandes",
        "Demandes de reconnaissance par appel d'intérêt et par statut",
        "Barres empilées, une par appel d'intérêt. "
        + ("; ".join(described(c) for c in calls) or "Aucune demande."),
        [c.call_title for c in calls],
        [charts.Series(s.label, [c.counts.get(s.key, 0) for c in calls]) for s in shown],
        kind="stacked",
        horizontal=True,
        value_axis_label="Nombre de demandes",
    )


@figure(
    "cerac",
    "CERAC désignés par ordre d'enseignement",
    "scoring",
    intro="Les centres d'expertise désignés par la ou le ministre, par ordre "
    "d'enseignement. Au plus trois établissements sont désignés par ordre.",
)
def scoring_section(section: Section, data: ScoringFigures) -> None:
    orders, maximum = data.ceracs_per_order, data.max_per_order
    section.columns = [Column("Ordre d'enseignement"), Column("CERAC désignés", "count")]
    section.rows = [[o.label, o.count] for o in orders]
    section.facts = [("CERAC désignés", charts.fr_number(data.total))]
    section.summary = {"max_per_order": maximum}
    section.chart = charts.Chart(
        "graphique-cerac",
        "CERAC désignés par ordre d'enseignement",
        "Barres verticales. "
        + "; ".join(f"{o.label} : {charts.fr_number(o.count)}" for o in orders)
        + f". Ligne pointillée : maximum de {maximum} par ordre.",
        [o.label for o in orders],
        [charts.Series("CERAC désignés", [o.count for o in orders])],
        value_axis_label="Nombre de CERAC",
        reference_line=(maximum, f"Maximum : {maximum} par ordre"),
    )


@figure(
    "plans",
    "Plans de mise en œuvre émis, acceptés et caducs par mois",
    "plans",
    intro="Les offres de plans de mise en œuvre émises aux organisations, celles "
    "acceptées par écrit et celles résolues de plein droit faute d'acceptation dans "
    "les 30 jours, par mois.",
)
def plans_section(section: Section, data: PlanFigures) -> None:
    months, acceptance = data.per_month, data.acceptance
    section.columns = [
        Column("Mois"),
        Column("Offres émises", "count"),
        Column("Acceptées", "count"),
        Column("Caduques", "count"),
    ]
    section.rows = [[charts.month_label(m.month), m.issued, m.accepted, m.lapsed] for m in months]
    rate_text = (
        f"{charts.fr_percent(acceptance.rate)} ({_plural(acceptance.accepted, 'acceptée')}, "
        f"{_plural(acceptance.lapsed, 'caduque')}, {_plural(acceptance.declined, 'refusée')})"
        if acceptance.rate is not None
        else "aucune offre échue pour le moment"
    )
    section.facts = [("Taux d'acceptation", rate_text)]
    section.notes = [ACCEPTANCE_DEFINITION]
    section.summary = {"acceptance": acceptance.model_dump()}
    section.chart = charts.Chart(
        "graphique-plans",
        "Offres de plans émises, acceptées et caduques par mois",
        "Barres groupées par mois (émises, acceptées, caduques). "
        + "; ".join(
            f"{charts.month_label(m.month)} : {_plural(m.issued, 'émise')}, "
            f"{_plural(m.accepted, 'acceptée')}, {_plural(m.lapsed, 'caduque')}"
            for m in months
        )
        + f". Taux d'acceptation : {rate_text}.",
        [charts.month_label(m.month) for m in months],
        [
            charts.Series("Émises", [m.issued for m in months]),
            charts.Series("Acceptées", [m.accepted for m in months]),
            charts.Series("Caduques", [m.lapsed for m in months]),
        ],
        value_axis_label="Nombre d'offres",
        labels=len(months) <= 12,
    )


@figure(
    "candidats",
    "Candidats-travailleurs par programme",
    "plans",
    intro="Les candidats-travailleurs inscrits aux plans de mise en œuvre acceptés, par "
    "programme d'études (AEC ou DEC), avec les abandons. Aucun résultat individuel "
    "n'est transmis au Ministère.",
)
def candidates_section(section: Section, data: PlanFigures) -> None:
    programs = data.candidates_per_program
    section.columns = [
        Column("Code du programme"),
        Column("Programme"),
        Column("Plans acceptés", "count"),
        Column("Candidats-travailleurs", "count"),
        Column("Abandons", "count"),
    ]
    section.rows = [
        [p.program_code, p.program_title, p.plans, p.candidates, p.abandoned] for p in programs
    ]
    section.facts = [
        ("Candidats-travailleurs", charts.fr_number(sum(p.candidates for p in programs)))
    ]
    top = programs[:TOP_PROGRAMS]
    section.chart = charts.Chart(
        "graphique-candidats",
        "Candidats-travailleurs par programme",
        "Barres horizontales, une par programme"
        + (
            f" (les {TOP_PROGRAMS} premiers; le tableau les donne tous)"
            if len(programs) > len(top)
            else ""
        )
        + ". "
        + "; ".join(f"{p.program_code} {p.program_title} : {p.candidates}" for p in top),
        [f"{p.program_code} — {p.program_title}"[:60] for p in top],
        [charts.Series("Candidats-travailleurs", [p.candidates for p in top])],
        horizontal=True,
        value_axis_label="Nombre de candidats-travailleurs",
    )


@figure(
    "facturation",
    "Montants facturés et payés par mois",
    "billing",
    intro="Les factures émises par les établissements aux organisations pour les projets "
    "de RAC en milieu de travail, les notes de crédit et les paiements reçus, par mois "
    "(taxes comprises).",
)
def billing_section(section: Section, data: BillingFigures) -> None:
    months, totals = data.per_month, data.totals
    section.columns = [
        Column("Mois"),
        Column("Facturé", "money"),
        Column("Crédité", "money"),
        Column("Payé", "money"),
    ]
    section.rows = [[charts.month_label(m.month), m.invoiced, m.credited, m.paid] for m in months]
    section.facts = [
        ("Total facturé", money(totals.invoiced)),
        ("Total payé", money(totals.paid)),
        ("Solde à recevoir", money(data.outstanding)),
    ]
    section.summary = {
        "totals": totals.model_dump(mode="json"),
        "outstanding": str(data.outstanding),
    }
    section.chart = charts.Chart(
        "graphique-facturation",
        "Montants facturés et payés par mois",
        "Courbes par mois : facturé (trait plein) et payé (tirets). "
        + "; ".join(
            f"{charts.month_label(m.month)} : facturé {money(m.invoiced)}, payé {money(m.paid)}"
            for m in months
        ),
        [charts.month_label(m.month) for m in months],
        [
            charts.Series("Facturé", [m.invoiced for m in months]),
            charts.Series("Payé", [m.paid for m in months]),
        ],
        kind="line",
        unit="money",
        value_axis_label="Montant",
    )


@figure(
    "financement",
    "Financement des CERAC par rapport au plafond annuel",
    "billing",
    intro="Pour chaque CERAC et l'exercice financier (du 1er avril au 31 mars) : "
    "l'allocation de fonctionnement, plafonnée par année, et les projets de "
    "développement approuvés, qui s'ajoutent hors plafond; les montants versés et le "
    "reste à verser.",
    part="funding",
)
def funding_section(section: Section, data: FundingFigures) -> None:
    cap, year = data.cap, data.fiscal_year
    section.columns = [
        Column("CERAC"),
        Column("Plafond de fonctionnement", "money"),
        Column("Fonctionnement alloué", "money"),
        Column("Projets approuvés (hors plafond)", "money"),
        Column("Versé", "money"),
        Column("Retenu jusqu'à une reddition acceptée", "money"),
        Column("Reste à verser", "money"),
    ]
    section.rows = [
        [c.name, c.cap, c.operating_allocated, c.projects_approved, c.paid, c.held, c.remaining]
        for c in data.ceracs
    ]
    section.facts = [("Exercice financier", year)]
    if cap:
        section.facts.append(("Plafond annuel de fonctionnement par CERAC", money(cap)))
    section.facts.append(
        ("Total alloué (fonctionnement et projets)",
         money(data.totals.operating_allocated + data.totals.projects_approved))
    )  # fmt: skip
    section.summary = {
        "fiscal_year": year,
        "cap": str(cap) if cap is not None else None,
        "totals": data.totals.model_dump(mode="json"),
    }
    section.empty = "Aucun CERAC financé pour cet exercice."
    section.chart = charts.Chart(
        "graphique-financement",
        f"Financement alloué par CERAC par rapport au plafond annuel ({year})",
        "Barres horizontales empilées, une par CERAC : fonctionnement alloué, puis projets "
        "de développement approuvés hors plafond. "
        + "; ".join(
            f"{c.name} : fonctionnement {money(c.operating_allocated)} sur {money(c.cap)}, "
            f"projets {money(c.projects_approved)}"
            for c in data.ceracs
        )
        + (f". Ligne pointillée : plafond de {money(cap)}." if cap else "."),
        [c.name for c in data.ceracs],
        [
            charts.Series("Fonctionnement alloué", [c.operating_allocated for c in data.ceracs]),
            charts.Series(
                "Projets approuvés (hors plafond)", [c.projects_approved for c in data.ceracs]
            ),
        ],
        kind="stacked",
        horizontal=True,
        unit="money",
        value_axis_label="Montant",
        reference_line=(float(cap), f"Plafond de fonctionnement : {money(cap)}") if cap else None,
    )


@figure(
    "redditions",
    "Redditions de comptes : états et retards",
    "applications",
    intro="Les redditions de comptes des CERAC (par année d'expérimentation ou par mandat "
    "spécial) selon leur état, et celles qui ne sont pas déposées à la date d'échéance "
    "fixée par le Ministère.",
    part="reporting",
)
def reporting_section(section: Section, data: ReportingFigures) -> None:
    late = data.late_reports
    section.columns = [
        Column("CERAC"),
        Column("Période ou mandat spécial"),
        Column("Date d'échéance", "date"),
        Column("Jours de retard", "count"),
    ]
    section.rows = [[r.organisation_name, r.period_label, r.due_date, r.days_late] for r in late]
    statuses = [(s.label, s.count) for s in data.reports_by_status]
    statuses.append(("En retard (non déposées à l'échéance)", len(late)))
    section.facts = [("Redditions en retard", charts.fr_number(len(late)))]
    section.empty = "Aucune reddition de comptes en retard."
    section.summary = {
        "by_status": [s.model_dump(mode="json") for s in data.reports_by_status],
        "late": [r.model_dump(mode="json") for r in late],
        "support": [s.model_dump(mode="json") for s in data.support_requests],
    }
    section.chart = charts.Chart(
        "graphique-redditions",
        "Redditions de comptes par état",
        "Barres verticales, une par état. "
        + "; ".join(f"{label} : {charts.fr_number(n)}" for label, n in statuses)
        + ".",
        [label for label, _ in statuses],
        [charts.Series("Redditions", [n for _, n in statuses])],
        value_axis_label="Nombre de redditions",
    )


@figure(
    "soutien",
    "Demandes de soutien reçues et répondues par CERAC",
    "applications",
    intro="Les demandes de soutien que les établissements adressent aux CERAC (objet, "
    "programme, message) et celles auxquelles le CERAC a répondu. Ces nombres comptent "
    "dans les indicateurs du volet « accroître l'offre ».",
    part="reporting",
)
def support_section(section: Section, data: ReportingFigures) -> None:
    rows, totals = data.support_requests, data.support_totals
    section.columns = [
        Column("CERAC"),
        Column("Demandes reçues", "count"),
        Column("Demandes répondues", "count"),
    ]
    section.rows = [[r.organisation_name, r.received, r.answered] for r in rows]
    section.facts = [
        ("Demandes reçues", charts.fr_number(totals.received)),
        ("Demandes répondues", charts.fr_number(totals.answered)),
    ]
    section.empty = "Aucun CERAC désigné pour le moment."
    section.summary = {"totals": totals.model_dump()}
    section.chart = charts.Chart(
        "graphique-soutien",
        "Demandes de soutien reçues et répondues par CERAC",
        "Barres horizontales groupées, deux par CERAC (reçues, répondues). "
        + "; ".join(
            f"{r.organisation_name} : {_plural(r.received, 'reçue')}, "
            f"{_plural(r.answered, 'répondue')}"
            for r in rows
        ),
        [r.organisation_name for r in rows],
        [
            charts.Series("Reçues", [r.received for r in rows]),
            charts.Series("Répondues", [r.answered for r in rows]),
        ],
        horizontal=True,
        value_axis_label="Nombre de demandes",
    )


def build(answers: dict[str, Any], slugs=None) -> list[Section]:
    """The sections of ``slugs`` (all by default) from each service's figures (None for a
    service that could not answer; a part it left out is unavailable too)."""
    sections = []
    for slug, figure in FIGURES.items():
        if slugs is not None and slug not in slugs:
            continue
        section = Section(slug, figure.title, figure.service, figure.intro)
        data = answers.get(figure.service)
        if data is not None and figure.part is not None:
            data = getattr(data, figure.part)
        if data is not None:
            section.available = True
            figure.fill(section, data)
        sections.append(section)
    return sections
