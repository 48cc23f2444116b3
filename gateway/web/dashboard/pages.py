"""The ministry's network dashboard: one page, one section per figure, its CSV exports and
the same figures as JSON.

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

import logging
from datetime import date
from functools import partial
from typing import Any, ClassVar

from pydantic import BaseModel, Field
from werkzeug.wrappers import Response

from gateway.web import responses
from gateway.web.dashboard.figures import DASHBOARD, FIGURES, SERVICES, UNAVAILABLE, build
from gateway.web.framework import Ctx, HttpError, route
from rac_shared.actor import MINISTRY_ROLES
from rac_shared.clock import clock
from rac_shared.contracts.base import Strict
from rac_shared.contracts.funding import OptionalFiscalYear
from rac_shared.errors import DomainError
from rac_shared.formatting import long_date

log = logging.getLogger(__name__)


class DashboardQuery(Strict):
    """``?exercice=2025-2026``: the fiscal year of the funding figures (the current one when
    absent)."""

    refusal_headline: ClassVar[str] = "Exercice financier invalide"

    exercice: OptionalFiscalYear = Field(None, title="Exercice financier")


class FigureOut(BaseModel):
    title: str
    service: str
    available: bool
    columns: list[dict[str, str]]
    rows: list[list[Any]]
    summary: dict[str, Any] | None = None


class DashboardOut(BaseModel):
    as_of: date
    fiscal_year: str | None
    figures: dict[str, FigureOut]


def gather(ctx: Ctx, services=SERVICES) -> dict[str, Any]:
    """Each service's figures (one RPC each, all at once); None for a service that could not
    answer. A refusal (the actor is not the ministry's) is not hidden: it is raised."""
    year = ctx.query.exercice if ctx.query else None
    options = {"billing": {"fiscal_year": year} if year else {}}
    calls = {s: partial(ctx.service(s).network_figures, **options.get(s, {})) for s in services}
    results: dict[str, Any] = {}
    for service, answer in ctx.app.rpc.parallel(calls).items():
        if isinstance(answer, DomainError) and answer.code in ("forbidden", "invalid"):
            raise answer
        if isinstance(answer, Exception):
            log.warning("dashboard: %s.network_figures unavailable: %s", service, answer)
            answer = None
        results[service] = answer
    return results


@route(DASHBOARD, access=MINISTRY_ROLES, query=DashboardQuery)
def dashboard_page(ctx: Ctx) -> Response:
    return ctx.render(
        "dashboard/index.html.j2",
        sections=build(gather(ctx)),
        today=long_date(clock.today()),
        fiscal_year=ctx.query.exercice or "",
    )


@route(f"{DASHBOARD}/<figure>.csv", access=MINISTRY_ROLES, query=DashboardQuery)
def dashboard_csv(ctx: Ctx, figure: str) -> Response:
    if figure not in FIGURES:
        raise HttpError(404, "Ce tableau du tableau de bord n'existe pas.")
    [section] = build(gather(ctx, (FIGURES[figure].service,)), {figure})
    if not section.available:
        raise HttpError(503, UNAVAILABLE)
    filename = f"tableau-de-bord-{figure}-{clock.today().isoformat()}.csv"
    return responses.csv_download(ctx, section.csv(), filename)


@route("/api/dashboard", access=MINISTRY_ROLES, query=DashboardQuery)
def api_dashboard(ctx: Ctx) -> DashboardOut:
    """Tableau de bord du réseau : les chiffres de chaque figure (colonnes et lignes), avec leur
    disponibilité"""
    return {
        "as_of": clock.today().isoformat(),
        "fiscal_year": ctx.query.exercice,
        "figures": {s.slug: s.json() for s in build(gather(ctx))},
    }
