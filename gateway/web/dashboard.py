"""The ministry's network dashboard: one page, one section per figure, each with an
accessible SVG chart drawn on the server, its data table and a CSV export; and the same
figures as JSON.

Figures are gathered by RPC, one call per service and per page view, the four at once:
``applications.network_figures`` (applications per call and status, with the reporting
figures), ``scoring.network_figures`` (CERACs per order), ``plans.network_figures``
(offers per month, acceptance rate, candidate-workers per program) and
``billing.network_figures`` (amounts invoiced and paid, with the funding figures). A
service that is down, slow or without a part of the figures leaves its sections saying
"données indisponibles"; the rest of the page still shows. Only the ministry may open
the dashboard (the services refuse anyone else too).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from markupsafe import Markup
from pydantic import BaseModel, ConfigDict
from werkzeug.wrappers import Response

from gateway import charts
from gateway.web.framework import Ctx, HttpError, route
from rac_shared.actor import MINISTRY_ROLES
from rac_shared.clock import clock
from rac_shared.errors import DomainError
from rac_shared.formatting import long_date, money

log = logging.getLogger(__name__)

DASHBOARD = "/tableau-de-bord"
SERVICES = ("applications", "scoring", "plans", "billing")
FISCAL_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
TOP_PROGRAMS = 15
UNAVAILABLE = (
    "Données indisponibles : le service qui tient ces chiffres ne répond pas pour le moment. "
    "Les autres sections du tableau de bord restent à jour; réessayez dans un instant."
)


# -- sections ----------------------------------------------------------------------------------


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
        return [
            _html_cell(value, column.kind) for value, column in zip(row, self.columns, strict=True)
        ]


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        return Decimal("0")


def _html_cell(value, kind: str) -> str:
    if value is None or value == "":
        return "—"
    if kind == "count":
        return charts.fr_number(value)
    if kind == "money":
        return money(_decimal(value))
    if kind == "percent":
        return charts.fr_percent(value)
    if kind == "date":
        return long_date(date.fromisoformat(str(value)[:10]))
    return str(value)


def _csv_cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "money":
        return f"{_decimal(value):.2f}".replace(".", ",")
    if kind == "percent":
        return str(value).replace(".", ",")
    if kind in ("count", "date"):
        return str(value)
    text = str(value)
    # A cell starting with = + - @ would be a formula in a spreadsheet: quote it.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def section_csv(section: Section) -> str:
    """Semicolon-separated, decimal comma, UTF-8 with BOM: what a French spreadsheet opens."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.header for c in section.columns])
    for row in section.rows:
        writer.writerow([_csv_cell(v, c.kind) for v, c in zip(row, section.columns, strict=True)])
    return "\ufeff" + buffer.getvalue()


def section_json(section: Section) -> dict:
    return {
        "title": section.title,
        "service": section.service,
        "available": section.available,
        "columns": [{"header": c.header, "kind": c.kind} for c in section.columns],
        "rows": [[_json_value(v) for v in row] for row in section.rows],
        **({"summary": section.summary} if section.summary else {}),
    }


def _json_value(value):
    return str(value) if isinstance(value, Decimal | date) else value


# -- building each section from its service's answer --------------------------------------------


def applications_section(data: dict | None) -> Section:
    section = Section(
        "demandes",
        "Demandes de reconnaissance par appel et par statut",
        "applications",
        intro="Les demandes des établissements à chaque appel d'intérêt publié, selon leur "
        "statut : en préparation, déposée, recevable ou non recevable, retirée.",
    )
    if data is None:
        return section
    statuses = data.get("statuses", [])
    calls = data.get("applications_per_call", [])
    shown = [s for s in statuses if any(c["counts"].get(s["key"], 0) for c in calls)]
    section.available = True
    section.columns = [Column("Appel d'intérêt")] + [
        Column(s["label"], "count") for s in statuses
    ] + [Column("Total", "count")]  # fmt: skip
    section.rows = [
        [c["call_title"], *[c["counts"].get(s["key"], 0) for s in statuses], c["total"]]
        for c in calls
    ]
    section.facts = [("Demandes, tous appels confondus", charts.fr_number(data.get("total", 0)))]
    section.empty = "Aucun appel d'intérêt publié pour le moment."
    description = "; ".join(
        f"{c['call_title']} : {charts.fr_number(c['total'])} demande"
        f"{'s' if c['total'] > 1 else ''}"
        + (
            " (" + ", ".join(
                f"{s['label'].lower()} {charts.fr_number(c['counts'][s['key']])}"
                for s in shown if c["counts"].get(s["key"])
            ) + ")"
            if c["total"] else ""
        )
        for c in calls
    )  # fmt: skip
    section.chart = charts.Chart(
        "graphique-demandes",
        "Demandes de reconnaissance par appel d'intérêt et par statut",
        "Barres empilées, une par appel d'intérêt. " + (description or "Aucune demande."),
        [c["call_title"] for c in calls],
        [charts.Series(s["label"], [c["counts"].get(s["key"], 0) for c in calls]) for s in shown],
        kind="stacked",
        horizontal=True,
        value_axis_label="Nombre de demandes",
    )
    return section


def scoring_section(data: dict | None) -> Section:
    section = Section(
        "cerac",
        "CERAC désignés par ordre d'enseignement",
        "scoring",
        intro="Les centres d'expertise désignés par la ou le ministre, par ordre "
        "d'enseignement. Au plus trois établissements sont désignés par ordre.",
    )
    if data is None:
        return section
    orders = data.get("ceracs_per_order", [])
    maximum = data.get("max_per_order", 3)
    section.available = True
    section.columns = [Column("Ordre d'enseignement"), Column("CERAC désignés", "count")]
    section.rows = [[o["label"], o["count"]] for o in orders]
    section.facts = [("CERAC désignés", charts.fr_number(data.get("total", 0)))]
    section.summary = {"max_per_order": maximum}
    section.chart = charts.Chart(
        "graphique-cerac",
        "CERAC désignés par ordre d'enseignement",
        "Barres verticales. "
        + "; ".join(f"{o['label']} : {charts.fr_number(o['count'])}" for o in orders)
        + f". Ligne pointillée : maximum de {maximum} par ordre.",
        [o["label"] for o in orders],
        [charts.Series("CERAC désignés", [o["count"] for o in orders])],
        value_axis_label="Nombre de CERAC",
        reference_line=(maximum, f"Maximum : {maximum} par ordre"),
    )
    return section


ACCEPTANCE_DEFINITION = (
    "Taux d'acceptation : parmi les offres dont le délai d'acceptation de 30 jours est échu "
    "et celles que l'organisation a refusées, part des offres acceptées par écrit, soit "
    "acceptées ÷ (acceptées + caduques + refusées). Une offre est une version émise d'un "
    "plan (un plan modifié puis émis de nouveau compte comme une nouvelle offre); les offres "
    "retirées ou remplacées avant l'échéance ne comptent pas."
)


def _offers(count: int, adjective: str) -> str:
    """« 1 acceptée », « 3 caduques »: the count is known, so is the plural."""
    return f"{charts.fr_number(count)} {adjective}{'s' if count > 1 else ''}"


def plans_section(data: dict | None) -> Section:
    section = Section(
        "plans",
        "Plans de mise en œuvre émis, acceptés et caducs par mois",
        "plans",
        intro="Les offres de plans de mise en œuvre émises aux organisations, celles "
        "acceptées par écrit et celles résolues de plein droit faute d'acceptation dans "
        "les 30 jours, par mois.",
    )
    if data is None:
        return section
    months = data.get("per_month", [])
    acceptance = data.get("acceptance") or {}
    rate = acceptance.get("rate")
    section.available = True
    section.columns = [
        Column("Mois"),
        Column("Offres émises", "count"),
        Column("Acceptées", "count"),
        Column("Caduques", "count"),
    ]
    section.rows = [
        [charts.month_label(m["month"]), m["issued"], m["accepted"], m["lapsed"]] for m in months
    ]
    rate_text = (
        f"{charts.fr_percent(rate)} ({_offers(acceptance.get('accepted', 0), 'acceptée')}, "
        f"{_offers(acceptance.get('lapsed', 0), 'caduque')}, "
        f"{_offers(acceptance.get('declined', 0), 'refusée')})"
        if rate is not None
        else "aucune offre échue pour le moment"
    )
    section.facts = [("Taux d'acceptation", rate_text)]
    section.notes = [ACCEPTANCE_DEFINITION]
    section.summary = {"acceptance": acceptance}
    section.chart = charts.Chart(
        "graphique-plans",
        "Offres de plans émises, acceptées et caduques par mois",
        "Barres groupées par mois (émises, acceptées, caduques). "
        + "; ".join(
            f"{charts.month_label(m['month'])} : {m['issued']} émise(s), "
            f"{m['accepted']} acceptée(s), {m['lapsed']} caduque(s)"
            for m in months
        )
        + f". Taux d'acceptation : {rate_text}.",
        [charts.month_label(m["month"]) for m in months],
        [
            charts.Series("Émises", [m["issued"] for m in months]),
            charts.Series("Acceptées", [m["accepted"] for m in months]),
            charts.Series("Caduques", [m["lapsed"] for m in months]),
        ],
        value_axis_label="Nombre d'offres",
        labels=len(months) <= 12,
    )
    return section


def candidates_section(data: dict | None) -> Section:
    section = Section(
        "candidats",
        "Candidats-travailleurs par programme",
        "plans",
        intro="Les candidats-travailleurs inscrits aux plans de mise en œuvre acceptés, par "
        "programme d'études (AEC ou DEC), avec les abandons. Aucun résultat individuel "
        "n'est transmis au Ministère.",
    )
    if data is None:
        return section
    programs = data.get("candidates_per_program", [])
    section.available = True
    section.columns = [
        Column("Code du programme"),
        Column("Programme"),
        Column("Plans acceptés", "count"),
        Column("Candidats-travailleurs", "count"),
        Column("Abandons", "count"),
    ]
    section.rows = [
        [p["program_code"], p["program_title"], p["plans"], p["candidates"], p["abandoned"]]
        for p in programs
    ]
    section.facts = [
        ("Candidats-travailleurs", charts.fr_number(sum(p["candidates"] for p in programs)))
    ]
    top = programs[:TOP_PROGRAMS]
    more = len(programs) - len(top)
    section.chart = charts.Chart(
        "graphique-candidats",
        "Candidats-travailleurs par programme",
        "Barres horizontales, une par programme"
        + (f" (les {TOP_PROGRAMS} premiers; le tableau les donne tous)" if more > 0 else "")
        + ". "
        + "; ".join(f"{p['program_code']} {p['program_title']} : {p['candidates']}" for p in top),
        [f"{p['program_code']} — {p['program_title']}"[:60] for p in top],
        [charts.Series("Candidats-travailleurs", [p["candidates"] for p in top])],
        horizontal=True,
        value_axis_label="Nombre de candidats-travailleurs",
    )
    return section


def billing_section(data: dict | None) -> Section:
    section = Section(
        "facturation",
        "Montants facturés et payés par mois",
        "billing",
        intro="Les factures émises par les établissements aux organisations pour les projets "
        "de RAC en milieu de travail, les notes de crédit et les paiements reçus, par mois "
        "(taxes comprises).",
    )
    if data is None:
        return section
    months = data.get("per_month", [])
    totals = data.get("totals", {})
    section.available = True
    section.columns = [
        Column("Mois"),
        Column("Facturé", "money"),
        Column("Crédité", "money"),
        Column("Payé", "money"),
    ]
    section.rows = [
        [charts.month_label(m["month"]), m["invoiced"], m["credited"], m["paid"]] for m in months
    ]
    section.facts = [
        ("Total facturé", money(_decimal(totals.get("invoiced")))),
        ("Total payé", money(_decimal(totals.get("paid")))),
        ("Solde à recevoir", money(_decimal(data.get("outstanding")))),
    ]
    section.summary = {"totals": totals, "outstanding": data.get("outstanding")}
    section.chart = charts.Chart(
        "graphique-facturation",
        "Montants facturés et payés par mois",
        "Courbes par mois : facturé (trait plein) et payé (tirets). "
        + "; ".join(
            f"{charts.month_label(m['month'])} : facturé {money(_decimal(m['invoiced']))}, "
            f"payé {money(_decimal(m['paid']))}"
            for m in months
        ),
        [charts.month_label(m["month"]) for m in months],
        [
            charts.Series("Facturé", [m["invoiced"] for m in months]),
            charts.Series("Payé", [m["paid"] for m in months]),
        ],
        kind="line",
        unit="money",
        value_axis_label="Montant",
    )
    return section


def _pick(row: dict, *keys, default=None):
    for key in keys:
        if row.get(key) not in (None, ""):
            return row[key]
    return default


def funding_section(data: dict | None) -> Section:
    section = Section(
        "financement",
        "Financement des CERAC par rapport au plafond annuel",
        "billing",
        intro="Pour chaque CERAC et l'exercice financier (du 1er avril au 31 mars) : "
        "l'allocation de fonctionnement, plafonnée par année, et les projets de "
        "développement approuvés, qui s'ajoutent hors plafond; les montants versés et le "
        "reste à verser.",
    )
    if not data:
        return section
    rows = _pick(data, "ceracs", "per_cerac", "rows", default=[])
    totals = data.get("totals") or {}
    cap = _decimal(
        _pick(data, "cap", "operating_cap", default=_pick(totals, "cap", "operating_cap"))
    )
    fiscal_year = _pick(data, "fiscal_year", default="")
    section.available = True
    section.columns = [
        Column("CERAC"),
        Column("Plafond de fonctionnement", "money"),
        Column("Fonctionnement alloué", "money"),
        Column("Projets approuvés (hors plafond)", "money"),
        Column("Versé", "money"),
        Column("Retenu jusqu'à une reddition acceptée", "money"),
        Column("Reste à verser", "money"),
    ]
    parsed = []
    for row in rows:
        name = _pick(row, "organisation_name", "name", "cerac_name", default="CERAC")
        row_cap = _decimal(_pick(row, "cap", "operating_cap", default=cap))
        operating = _decimal(_pick(row, "operating_allocated", "allocated", "operating"))
        projects = _decimal(_pick(row, "projects_approved", "approved_projects", "projects"))
        paid = _decimal(_pick(row, "paid"))
        held = _decimal(_pick(row, "held"))
        remaining = _decimal(_pick(row, "remaining", default=operating + projects - paid))
        parsed.append((name, row_cap, operating, projects, paid, held, remaining))
    section.rows = [list(p) for p in parsed]
    if fiscal_year:
        section.facts.append(("Exercice financier", str(fiscal_year)))
    if cap:
        section.facts.append(("Plafond annuel de fonctionnement par CERAC", money(cap)))
    section.facts.append(
        ("Total alloué (fonctionnement et projets)",
         money(sum((p[2] + p[3] for p in parsed), Decimal("0"))))
    )  # fmt: skip
    section.summary = {"fiscal_year": fiscal_year, "cap": str(cap), "totals": totals}
    section.empty = "Aucun CERAC financé pour cet exercice."
    section.chart = charts.Chart(
        "graphique-financement",
        "Financement alloué par CERAC par rapport au plafond annuel"
        + (f" ({fiscal_year})" if fiscal_year else ""),
        "Barres horizontales empilées, une par CERAC : fonctionnement alloué, puis projets "
        "de développement approuvés hors plafond. "
        + "; ".join(
            f"{p[0]} : fonctionnement {money(p[2])} sur {money(p[1])}, projets {money(p[3])}"
            for p in parsed
        )
        + (f". Ligne pointillée : plafond de {money(cap)}." if cap else "."),
        [p[0] for p in parsed],
        [
            charts.Series("Fonctionnement alloué", [p[2] for p in parsed]),
            charts.Series("Projets approuvés (hors plafond)", [p[3] for p in parsed]),
        ],
        kind="stacked",
        horizontal=True,
        unit="money",
        value_axis_label="Montant",
        reference_line=(float(cap), f"Plafond de fonctionnement : {money(cap)}") if cap else None,
    )
    return section


REPORT_STATUS_LABELS = {
    "draft": "En préparation",
    "submitted": "Déposées",
    "changes_requested": "Modifications demandées",
    "accepted": "Acceptées",
    "late": "En retard",
    "not_started": "Non commencées",
}


def reporting_section(data: dict | None) -> Section:
    section = Section(
        "redditions",
        "Redditions de comptes : états et retards",
        "applications",
        intro="Les redditions de comptes des CERAC (par année d'expérimentation ou par mandat "
        "spécial) selon leur état, et celles qui ne sont pas déposées à la date d'échéance "
        "fixée par le Ministère.",
    )
    if not data:
        return section
    by_status = _pick(data, "by_status", "reports_by_status", default=[])
    if isinstance(by_status, dict):
        by_status = [{"status": k, "count": v} for k, v in by_status.items()]
    late = _pick(data, "late", "late_reports", default=[])
    section.available = True
    section.columns = [
        Column("CERAC"),
        Column("Période ou mandat spécial"),
        Column("Date d'échéance", "date"),
        Column("Jours de retard", "count"),
    ]
    today = clock.today()
    for row in late:
        due = _pick(row, "due_date", "due_on")
        days = _pick(row, "days_late")
        if days is None and due:
            days = (today - date.fromisoformat(str(due)[:10])).days
        section.rows.append(
            [_pick(row, "organisation_name", "cerac_name", "name", default="CERAC"),
             _pick(row, "period_label", "label", "period", default=""), due, days]
        )  # fmt: skip
    statuses = [
        (_pick(s, "label", default=REPORT_STATUS_LABELS.get(s.get("status"), s.get("status"))),
         int(_pick(s, "count", default=0)))
        for s in by_status
    ]  # fmt: skip
    statuses.append(("En retard (non déposées à l'échéance)", len(late)))
    section.facts = [("Redditions en retard", charts.fr_number(len(late)))]
    section.empty = "Aucune reddition de comptes en retard."
    section.summary = {"by_status": by_status, "late": late}
    for key in ("support", "support_requests"):
        if data.get(key) is not None:
            section.summary["support"] = data[key]
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
    return section


def support_section(data: dict | None) -> Section:
    section = Section(
        "soutien",
        "Demandes de soutien reçues et répondues par CERAC",
        "applications",
        intro="Les demandes de soutien que les établissements adressent aux CERAC (objet, "
        "programme, message) et celles auxquelles le CERAC a répondu. Ces nombres comptent "
        "dans les indicateurs du volet « accroître l'offre ».",
    )
    if not data or data.get("support_requests") is None:
        return section
    rows = data["support_requests"]
    section.available = True
    section.columns = [
        Column("CERAC"),
        Column("Demandes reçues", "count"),
        Column("Demandes répondues", "count"),
    ]
    section.rows = [[r["organisation_name"], r["received"], r["answered"]] for r in rows]
    totals = data.get("support_totals") or {}
    section.facts = [
        ("Demandes reçues", charts.fr_number(totals.get("received", 0))),
        ("Demandes répondues", charts.fr_number(totals.get("answered", 0))),
    ]
    section.empty = "Aucun CERAC désigné pour le moment."
    section.summary = {"totals": totals}
    section.chart = charts.Chart(
        "graphique-soutien",
        "Demandes de soutien reçues et répondues par CERAC",
        "Barres horizontales groupées, deux par CERAC (reçues, répondues). "
        + "; ".join(
            f"{r['organisation_name']} : {r['received']} reçue(s), {r['answered']} répondue(s)"
            for r in rows
        ),
        [r["organisation_name"] for r in rows],
        [
            charts.Series("Reçues", [r["received"] for r in rows]),
            charts.Series("Répondues", [r["answered"] for r in rows]),
        ],
        horizontal=True,
        value_axis_label="Nombre de demandes",
    )
    return section


# figure slug → (builder, service, key of its data in the service's answer, or None)
FIGURES: dict[str, tuple[Callable[[dict | None], Section], str, str | None]] = {
    "demandes": (applications_section, "applications", None),
    "cerac": (scoring_section, "scoring", None),
    "plans": (plans_section, "plans", None),
    "candidats": (candidates_section, "plans", None),
    "facturation": (billing_section, "billing", None),
    "financement": (funding_section, "billing", "funding"),
    "redditions": (reporting_section, "applications", "reporting"),
    "soutien": (support_section, "applications", "reporting"),
}


# -- gathering ----------------------------------------------------------------------------------


def _fiscal_year(ctx: Ctx) -> str | None:
    value = ctx.request.args.get("exercice", "").strip()
    if not value:
        return None
    match = FISCAL_YEAR.match(value)
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise HttpError(
            422,
            "L'exercice financier s'écrit sous la forme « 2025-2026 » (du 1er avril au 31 mars).",
            {"exercice": "Exercice invalide."},
        )
    return value


def gather(ctx: Ctx, services=SERVICES) -> dict[str, dict | None]:
    """Each service's figures (one RPC each, all at once); None for a service that could not
    answer. A refusal (the actor is not the ministry's) is not hidden: it is raised."""
    actor = ctx.actor.model_dump(mode="json")
    options = {"billing": {"fiscal_year": _fiscal_year(ctx)}}
    calls = {
        service: partial(
            ctx.app.rpc.call,
            service,
            "network_figures",
            correlation_id=ctx.correlation_id,
            actor=actor,
            **{k: v for k, v in options.get(service, {}).items() if v is not None},
        )
        for service in services
    }
    answers = ctx.app.rpc.parallel(calls)
    results: dict[str, dict | None] = {}
    for service, answer in answers.items():
        if isinstance(answer, DomainError) and answer.code in ("forbidden", "invalid"):
            raise answer
        if isinstance(answer, Exception):
            log.warning("dashboard: %s.network_figures unavailable: %s", service, answer)
            results[service] = None
        else:
            results[service] = answer
    return results


def build(answers: dict[str, dict | None], slugs=None) -> list[Section]:
    sections = []
    for slug, (builder, service, key) in FIGURES.items():
        if slugs is not None and slug not in slugs:
            continue
        data = answers.get(service)
        if data is not None and key is not None:
            data = data.get(key)
        try:
            sections.append(builder(data))
        except (KeyError, TypeError, ValueError, AttributeError):
            # A figure whose shape this page does not understand: say so, keep the page.
            log.exception("dashboard: could not read the %s figures", slug)
            sections.append(builder(None))
    return sections


# -- routes -------------------------------------------------------------------------------------


@route(DASHBOARD, access=MINISTRY_ROLES)
def dashboard_page(ctx: Ctx) -> Response:
    sections = build(gather(ctx))
    return ctx.render(
        "dashboard/index.html.j2",
        sections=sections,
        today=long_date(clock.today()),
        fiscal_year=_fiscal_year(ctx) or "",
    )


@route(f"{DASHBOARD}/<figure>.csv", access=MINISTRY_ROLES)
def dashboard_csv(ctx: Ctx, figure: str) -> Response:
    if figure not in FIGURES:
        raise HttpError(404, "Ce tableau du tableau de bord n'existe pas.")
    _, service, _ = FIGURES[figure]
    [section] = build(gather(ctx, (service,)), {figure})
    if not section.available:
        raise HttpError(503, UNAVAILABLE)
    filename = f"tableau-de-bord-{figure}-{clock.today().isoformat()}.csv"
    response = Response(section_csv(section).encode("utf-8"), mimetype="text/csv")
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


class DashboardOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    as_of: str
    fiscal_year: str | None
    figures: dict[str, dict]


@route(
    "/api/dashboard",
    access=MINISTRY_ROLES,
    response=DashboardOut,
    summary="Tableau de bord du réseau : les chiffres de chaque figure (colonnes et lignes), "
    "avec leur disponibilité",
)
def api_dashboard(ctx: Ctx):
    sections = build(gather(ctx))
    return {
        "as_of": clock.today().isoformat(),
        "fiscal_year": _fiscal_year(ctx),
        "figures": {s.slug: section_json(s) for s in sections},
    }
