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
    """A column of a figure's table: its header, how its cells read (``kind``), the item's
    attribute or the function that gives its cell, and whether the chart draws it as a
    series (``plot``: under its header, or the shorter label given)."""

    header: str
    kind: str = "text"  # text | count | money | date
    value: str | Callable[[Any], Any] = ""
    plot: bool | str = False

    def of(self, item) -> Any:
        return getattr(item, self.value) if isinstance(self.value, str) else self.value(item)


# The first column of the figures by month.
MONTH = Column("Mois", value=lambda m: charts.month_label(m.month))


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

    def tabulate(self, items, *columns: Column) -> None:
        """The table: a row per item, a cell per column."""
        self.columns = list(columns)
        self.rows = [[c.of(item) for c in columns] for item in items]

    def draw(self, description: str, *, title=None, categories=None, series=None, **options):
        """The chart (``graphique-{slug}``, titled as the section unless ``title``): by
        default a category per row of the table (its first cell) and a series per column
        the chart draws (``Column.plot``), so that the chart and its table agree."""
        if categories is None:
            categories = [row[0] for row in self.rows]
        if series is None:
            series = [
                charts.Series(c.header if c.plot is True else c.plot, [r[i] for r in self.rows])
                for i, c in enumerate(self.columns)
                if c.plot
            ]
        self.chart = charts.Chart(
            f"graphique-{self.slug}",
            title or self.title,
            description,
            categories,
            series,
            **options,
        )

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
        """Semicolon-separated, decimal comma (amounts are the contracts' Decimals): what a
        French spreadsheet opens."""
        return csv_text([c.header for c in self.columns], self.rows)

    def json(self) -> dict:
        return {
            "title": self.title,
            "service": self.service,
            "available": self.available,
            "columns": [{"header": c.header, "kind": c.kind} for c in self.columns],
            "rows": self.rows,  # Decimals and dates: text in the JSON (``json_response``)
            **({"summary": self.summary} if self.summary else {}),
        }


# How a cell of each kind reads on the page (text as it is).
HTML_CELLS = {
    "count": charts.fr_number,
    "money": money,
    "date": long_date,
}


def _html_cell(value, kind: str) -> str:
    return "—" if value is None or value == "" else HTML_CELLS.get(kind, str)(value)


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
    section.tabulate(
        calls,
        Column("Appel d'intérêt", value="call_title"),
        *(
            Column(s.label, "count", lambda c, key=s.key: c.counts.get(key, 0), s in shown)
            for s in statuses
        ),
        Column("Total", "count", "total"),
    )
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

    section.draw(
        "Barres empilées, une par appel d'intérêt. "
        + ("; ".join(described(c) for c in calls) or "Aucune demande."),
        title="Demandes de reconnaissance par appel d'intérêt et par statut",
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
    section.tabulate(
        orders,
        Column("Ordre d'enseignement", value="label"),
        Column("CERAC désignés", "count", "count", plot=True),
    )
    section.facts = [("CERAC désignés", charts.fr_number(data.total))]
    section.summary = {"max_per_order": maximum}
    section.draw(
        "Barres verticales. "
        + "; ".join(f"{o.label} : {charts.fr_number(o.count)}" for o in orders)
        + f". Ligne pointillée : maximum de {maximum} par ordre.",
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
    section.tabulate(
        months,
        MONTH,
        Column("Offres émises", "count", "issued", plot="Émises"),
        Column("Acceptées", "count", "accepted", plot=True),
        Column("Caduques", "count", "lapsed", plot=True),
    )
    rate_text = (
        f"{charts.fr_percent(acceptance.rate)} ({_plural(acceptance.accepted, 'acceptée')}, "
        f"{_plural(acceptance.lapsed, 'caduque')}, {_plural(acceptance.declined, 'refusée')})"
        if acceptance.rate is not None
        else "aucune offre échue pour le moment"
    )
    section.facts = [("Taux d'acceptation", rate_text)]
    section.notes = [ACCEPTANCE_DEFINITION]
    section.summary = {"acceptance": acceptance.model_dump()}
    section.draw(
        "Barres groupées par mois (émises, acceptées, caduques). "
        + "; ".join(
            f"{charts.month_label(m.month)} : {_plural(m.issued, 'émise')}, "
            f"{_plural(m.accepted, 'acceptée')}, {_plural(m.lapsed, 'caduque')}"
            for m in months
        )
        + f". Taux d'acceptation : {rate_text}.",
        title="Offres de plans émises, acceptées et caduques par mois",
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
    section.tabulate(
        programs,
        Column("Code du programme", value="program_code"),
        Column("Programme", value="program_title"),
        Column("Plans acceptés", "count", "plans"),
        Column("Candidats-travailleurs", "count", "candidates"),
        Column("Abandons", "count", "abandoned"),
    )
    section.facts = [
        ("Candidats-travailleurs", charts.fr_number(sum(p.candidates for p in programs)))
    ]
    top = programs[:TOP_PROGRAMS]  # the chart's; the table has them all
    section.draw(
        "Barres horizontales, une par programme"
        + (
            f" (les {TOP_PROGRAMS} premiers; le tableau les donne tous)"
            if len(programs) > len(top)
            else ""
        )
        + ". "
        + "; ".join(f"{p.program_code} {p.program_title} : {p.candidates}" for p in top),
        categories=[f"{p.program_code} — {p.program_title}"[:60] for p in top],
        series=[charts.Series("Candidats-travailleurs", [p.candidates for p in top])],
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
    section.tabulate(
        months,
        MONTH,
        Column("Facturé", "money", "invoiced", plot=True),
        Column("Crédité", "money", "credited"),
        Column("Payé", "money", "paid", plot=True),
    )
    section.facts = [
        ("Total facturé", money(totals.invoiced)),
        ("Total payé", money(totals.paid)),
        ("Solde à recevoir", money(data.outstanding)),
    ]
    section.summary = {
        "totals": totals.model_dump(mode="json"),
        "outstanding": str(data.outstanding),
    }
    section.draw(
        "Courbes par mois : facturé (trait plein) et payé (tirets). "
        + "; ".join(
            f"{charts.month_label(m.month)} : facturé {money(m.invoiced)}, payé {money(m.paid)}"
            for m in months
        ),
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
    section.tabulate(
        data.ceracs,
        Column("CERAC", value="name"),
        Column("Plafond de fonctionnement", "money", "cap"),
        Column("Fonctionnement alloué", "money", "operating_allocated", plot=True),
        Column("Projets approuvés (hors plafond)", "money", "projects_approved", plot=True),
        Column("Versé", "money", "paid"),
        Column("Retenu jusqu'à une reddition acceptée", "money", "held"),
        Column("Reste à verser", "money", "remaining"),
    )
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
    section.draw(
        "Barres horizontales empilées, une par CERAC : fonctionnement alloué, puis projets "
        "de développement approuvés hors plafond. "
        + "; ".join(
            f"{c.name} : fonctionnement {money(c.operating_allocated)} sur {money(c.cap)}, "
            f"projets {money(c.projects_approved)}"
            for c in data.ceracs
        )
        + (f". Ligne pointillée : plafond de {money(cap)}." if cap else "."),
        title=f"Financement alloué par CERAC par rapport au plafond annuel ({year})",
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
    section.tabulate(
        late,
        Column("CERAC", value="organisation_name"),
        Column("Période ou mandat spécial", value="period_label"),
        Column("Date d'échéance", "date", "due_date"),
        Column("Jours de retard", "count", "days_late"),
    )
    statuses = [(s.label, s.count) for s in data.reports_by_status]
    statuses.append(("En retard (non déposées à l'échéance)", len(late)))
    section.facts = [("Redditions en retard", charts.fr_number(len(late)))]
    section.empty = "Aucune reddition de comptes en retard."
    section.summary = {
        "by_status": [s.model_dump(mode="json") for s in data.reports_by_status],
        "late": [r.model_dump(mode="json") for r in late],
        "support": [s.model_dump(mode="json") for s in data.support_requests],
    }
    section.draw(  # the states, of which the table details the late ones
        "Barres verticales, une par état. "
        + "; ".join(f"{label} : {charts.fr_number(n)}" for label, n in statuses)
        + ".",
        title="Redditions de comptes par état",
        categories=[label for label, _ in statuses],
        series=[charts.Series("Redditions", [n for _, n in statuses])],
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
    section.tabulate(
        rows,
        Column("CERAC", value="organisation_name"),
        Column("Demandes reçues", "count", "received", plot="Reçues"),
        Column("Demandes répondues", "count", "answered", plot="Répondues"),
    )
    section.facts = [
        ("Demandes reçues", charts.fr_number(totals.received)),
        ("Demandes répondues", charts.fr_number(totals.answered)),
    ]
    section.empty = "Aucun CERAC désigné pour le moment."
    section.summary = {"totals": totals.model_dump()}
    section.draw(
        "Barres horizontales groupées, deux par CERAC (reçues, répondues). "
        + "; ".join(
            f"{r.organisation_name} : {_plural(r.received, 'reçue')}, "
            f"{_plural(r.answered, 'répondue')}"
            for r in rows
        ),
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
